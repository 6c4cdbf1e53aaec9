"""Undo/redo property tests: random brush strokes (through the Qt-free PaintTool) and segment operations; undo all
must give back the start bit for bit (arrays, dtypes, segment table), redo all the end; a small byte budget is
respected and keeps exactly the newest steps."""
from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st

from app.model.edits import Editable, EditMode, EditPolicy, Overwrite, apply_mask
from app.model.segment_editor_state import EditorState
from app.model.geometry import Geometry
from app.model.history import History, VoxelPatch
from app.model.segmentation import Segmentation
from app.ui.view_tools.base import ViewContext
from app.ui.view_tools.paint import PaintTool

SHAPE = (16, 14, 10)
OPS = ("paint", "erase", "erase_all", "add", "add_layer", "remove", "rename", "recolour", "reorder", "collapse",
       "separate", "single_layer", "hide", "lock")


def snapshot(seg: Segmentation):
    """Everything undo must restore: layer arrays with dtypes, and the table without display state."""
    layers = tuple((a.dtype.str, a.tobytes()) for a in seg.layers)
    table = tuple((s.id, s.name, s.color, s.layer, s.label, tuple(s.tags.items()), s.name_auto_generated,
                   s.color_auto_generated, tuple(s.extra.items())) for s in seg.segments)
    return layers, table


def start_document(history: History | None = None) -> Segmentation:
    seg = Segmentation(Geometry(SHAPE, (1.0, 1.25, 2.0)), history)
    for n in range(3):
        seg.add_segment(f"s{n}")
    arr = seg.layers[0]
    arr[1:6, 1:6, 1:4], arr[6:12, 3:9, 2:7], arr[3:9, 8:13, 5:9] = 1, 2, 3
    seg.invalidate_statistics(0)      # written directly above: statistics are recomputed lazily
    seg.history.clear()
    return seg


def random_stroke(seg, state, data, erase):
    state.active_segment = data.draw(st.sampled_from(seg.segment_ids))
    seg.update_segment(state.active_segment, locked=False, visible=True)
    state.brush_radius_mm = data.draw(st.sampled_from([0.6, 1.5, 3.0]))
    state.brush_sphere = data.draw(st.booleans())
    state.overwrite = data.draw(st.sampled_from(list(Overwrite)))
    state.editable = data.draw(st.sampled_from([Editable.EVERYWHERE, Editable.BACKGROUND, Editable.INSIDE_SEGMENT]))
    state.mask_segment = data.draw(st.sampled_from(seg.segment_ids))
    axis = data.draw(st.integers(0, 2))
    ctx = ViewContext(axis, data.draw(st.integers(0, SHAPE[axis] - 1)))
    pts = data.draw(st.lists(st.tuples(*(st.floats(-2, s + 1) for s in SHAPE)), min_size=1, max_size=4))
    tool = PaintTool(state, lambda: seg, erase=erase)
    tool.press(pts[0], ctx)
    for p in pts[1:]:
        tool.drag(p, ctx)
    if data.draw(st.integers(0, 9)) == 0:
        tool.cancel()
    else:
        tool.release(pts[-1], ctx)


def random_op(seg: Segmentation, state: EditorState, data) -> None:
    op = data.draw(st.sampled_from(OPS if len(seg) else ("add",)))
    ids = seg.segment_ids
    pick = lambda: data.draw(st.sampled_from(ids))       # noqa: E731
    if op in ("paint", "erase", "erase_all"):
        state.erase_all = op == "erase_all"
        random_stroke(seg, state, data, erase=op != "paint")
    elif op in ("add", "add_layer"):
        label = data.draw(st.sampled_from([None, 300, 70000]))      # 300 / 70000 promote the layer's dtype
        layer = None if op == "add_layer" else 0 if seg.n_layers else None
        if layer is not None and seg.segment_at(layer, label or 0) is not None:
            label = None
        seg.add_segment(label=label, layer=layer, new_layer=op == "add_layer")
    elif op == "remove":
        seg.remove_segment(pick())
    elif op == "rename":
        seg.update_segment(pick(), name=data.draw(st.text(min_size=1, max_size=5)))
    elif op == "recolour":
        seg.update_segment(pick(), color=data.draw(st.tuples(*[st.floats(0, 1)] * 3)))
    elif op == "reorder":
        seg.reorder(data.draw(st.permutations(ids)))
    elif op == "collapse":
        seg.collapse()
    elif op == "separate":
        seg.separate(pick())
    elif op == "single_layer":
        seg.force_single_layer()
    elif op == "hide":
        seg.update_segment(pick(), visible=data.draw(st.booleans()))
    elif op == "lock":
        seg.update_segment(pick(), locked=data.draw(st.booleans()))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_undo_all_gives_the_start_and_redo_all_the_end(data):
    seg = start_document()
    state = EditorState()
    start = snapshot(seg)
    for _ in range(data.draw(st.integers(1, 14))):
        random_op(seg, state, data)
    end = snapshot(seg)
    n = len(seg.history.undo_stack)
    while seg.undo():
        pass
    assert snapshot(seg) == start
    redone = 0
    while seg.redo():
        redone += 1
    assert redone == n
    assert snapshot(seg) == end


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), budget=st.integers(2_000, 30_000))
def test_a_small_budget_is_respected_and_keeps_the_newest_steps(data, budget):
    history = History(budget_bytes=budget, min_steps=2)
    seg = start_document(history)
    state = EditorState()
    states = [snapshot(seg)]            # states[k]: after the k-th committed step
    for _ in range(data.draw(st.integers(1, 16))):
        top = history.undo_stack[-1] if history.undo_stack else None
        random_op(seg, state, data)
        if history.undo_stack and history.undo_stack[-1] is not top:
            states.append(snapshot(seg))
        assert history.total_bytes <= budget or len(history.undo_stack) <= history.min_steps
        assert history.total_bytes == sum(s.nbytes for s in history.undo_stack)
    kept = len(history.undo_stack)
    while seg.undo():
        pass
    assert snapshot(seg) == states[len(states) - 1 - kept]
    while seg.redo():
        pass
    assert snapshot(seg) == states[-1]


def test_a_stroke_is_stored_as_a_compressed_box_delta_not_a_layer_copy():
    seg = Segmentation(Geometry((256, 256, 256)))
    sid = seg.add_segment("big").id
    seg.history.clear()
    state = EditorState()
    state.active_segment, state.brush_radius_mm = sid, 20.0
    tool = PaintTool(state, lambda: seg)
    ctx = ViewContext(2, 128)
    tool.press((40, 40, 128), ctx)
    for x in range(40, 220, 9):
        tool.drag((x, x, 128), ctx)
    tool.release((220, 220, 128), ctx)
    (step,) = seg.history.undo_stack
    assert all(isinstance(r, VoxelPatch) for r in step.records)
    assert sum(r.nbytes for r in step.records) < step.nbytes < 64 * 1024       # the layer is 16 MB
    assert len(step.records) == 1, "a stroke's patches are merged at commit"
    painted = seg.voxel_count(sid)
    assert painted > 10_000
    seg.undo()
    assert seg.voxel_count(sid) == 0
    seg.redo()
    assert seg.voxel_count(sid) == painted


def test_apply_mask_with_a_policy_is_one_step_and_undoes_exactly():
    seg = start_document()
    a, b, _ = seg.segment_ids
    before = snapshot(seg)
    apply_mask(seg, a, np.ones((8, 8, 4), bool), (slice(4, 12), slice(2, 10), slice(2, 6)), EditMode.ADD,
               EditPolicy(overwrite=Overwrite.NONE))
    assert seg.n_layers == 2 and len(seg.history.undo_stack) == 1
    seg.undo()
    assert snapshot(seg) == before


@settings(max_examples=80, deadline=None)
@given(writes=st.lists(st.tuples(st.integers(0, 12), st.integers(0, 10), st.integers(1, 6), st.integers(0, 3)),
                       min_size=1, max_size=12))
def test_a_steps_voxel_patches_merge_into_one_that_undoes_and_redoes_exactly(writes):
    """Overlapping writes on one layer (a voxel may change several times) -> one patch; far ones stay apart."""
    seg = start_document()
    before = snapshot(seg)
    with seg.operation("several writes"):
        for i, j, size, value in writes:
            box = (slice(i, min(SHAPE[0], i + size)), slice(j, min(SHAPE[1], j + size)), slice(2, 5))
            shape = tuple(s.stop - s.start for s in box)
            seg.write_voxels(0, box, np.ones(shape, bool), value)
    after = snapshot(seg)
    if seg.history.can_undo:
        patches = [r for r in seg.history.undo_stack[-1].records if isinstance(r, VoxelPatch)]
        assert len(patches) <= len(writes)
        seg.undo()
    assert snapshot(seg) == before
    if seg.history.can_redo:
        seg.redo()
    assert snapshot(seg) == after


def test_far_apart_patches_are_not_merged_into_a_huge_box():
    seg = Segmentation(Geometry((200, 200, 4)))
    sid = seg.add_segment("a").id
    seg.history.clear()
    lab = seg.segment(sid).label
    with seg.operation("two corners"):
        seg.write_voxels(0, (slice(0, 4), slice(0, 4), slice(0, 1)), np.ones((4, 4, 1), bool), lab)
        seg.write_voxels(0, (slice(196, 200), slice(196, 200), slice(0, 1)), np.ones((4, 4, 1), bool), lab)
    assert len(seg.history.undo_stack[-1].records) == 2
    with seg.operation("a row of dabs"):
        for x in range(0, 100, 2):
            seg.write_voxels(0, (slice(x, x + 5), slice(50, 55), slice(1, 2)), np.ones((5, 5, 1), bool), lab)
    (patch,) = seg.history.undo_stack[-1].records
    assert patch.box == (slice(0, 103), slice(50, 55), slice(1, 2))
    seg.undo()
    assert seg.voxel_count(sid) == 32
