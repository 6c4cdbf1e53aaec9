"""PaintTool without Qt: press/drag/release over ijk sequences, then voxels, undo steps and messages."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from app.model.edits import Editable, Overwrite
from app.model.segment_editor_state import EditorState
from app.model.geometry import Geometry
from app.model.segmentation import Segmentation
from app.ui.view_tools.base import ViewContext
from app.ui.view_tools.paint import PaintTool


class Ref:
    """Stand-in for app.io.Volume: an array on a lattice."""

    def __init__(self, array, geometry):
        self.array, self.geometry = array, geometry


def make(shape=(48, 40, 10), spacing=(1.0, 1.0, 1.0), names=("a", "b", "c")):
    seg = Segmentation(Geometry(shape, spacing))
    ids = [seg.add_segment(n).id for n in names]
    seg.history.clear()
    state = EditorState()
    state.active_segment = ids[0]
    return seg, ids, state


def stroke(tool, points, ctx):
    assert tool.press(points[0], ctx)
    for p in points[1:-1]:
        tool.drag(p, ctx)
    assert tool.release(points[-1], ctx)


def distance_to_segment(shape2, p0, p1):
    """Distance (voxels) of every pixel of a 2D grid to the segment p0-p1."""
    yy, xx = np.indices(shape2)
    p = np.stack([yy, xx], -1).astype(float)
    a, b = np.asarray(p0, float), np.asarray(p1, float)
    t = np.clip(((p - a) @ (b - a)) / ((b - a) @ (b - a)), 0, 1)
    return np.linalg.norm(p - (a + t[..., None] * (b - a)), axis=-1)


def test_fast_diagonal_stroke_has_no_gaps_and_is_one_undo_step():
    seg, ids, state = make()
    state.brush_radius_mm = 4.0
    tool = PaintTool(state, lambda: seg)
    ctx = ViewContext(plane_axis=2, slice_index=5)
    stroke(tool, [(3.2, 2.9, 5.0), (44.0, 36.0, 5.0)], ctx)    # one jump across the whole slice
    painted = seg.layers[0][:, :, 5] == seg.segment(ids[0]).label
    d = distance_to_segment(painted.shape, (3, 3), (44, 36))
    assert painted[d <= 2.0].all(), "voxels close to the stroke's path were left unpainted"
    assert not painted[d > 4.0 + 0.75].any()     # dab centres are rounded to voxels
    assert ndimage.label(painted)[1] == 1
    assert seg.voxel_count(ids[0]) == painted.sum(), "a disc brush paints only the view's slice"
    assert len(seg.history.undo_stack) == 1 and seg.history.undo_name == "Paint"
    seg.undo()
    assert not seg.layers[0].any()


def test_radius_is_in_millimetres_on_an_anisotropic_lattice():
    seg, ids, state = make(spacing=(0.5, 2.0, 1.0))
    state.brush_radius_mm = 4.0
    PaintTool(state, lambda: seg).press((20, 20, 3), ViewContext(2, 3))
    box = seg.bounding_box(ids[0])
    assert [b.stop - b.start for b in box] == [17, 5, 1]      # 2*4/0.5+1, 2*4/2+1, one slice


def test_sphere_brush_reaches_neighbouring_slices():
    seg, ids, state = make()
    state.brush_radius_mm, state.brush_sphere = 3.0, True
    tool = PaintTool(state, lambda: seg)
    stroke(tool, [(20, 20, 5), (20, 20, 5)], ViewContext(2, 5))
    box = seg.bounding_box(ids[0])
    assert (box[2].start, box[2].stop) == (2, 9)
    assert seg.voxel_count(ids[0]) == int((np.indices((7, 7, 7)) - 3).__pow__(2).sum(0).__le__(9).sum())


def test_cancel_rolls_the_stroke_back_without_an_undo_step():
    seg, ids, state = make()
    tool = PaintTool(state, lambda: seg)
    ctx = ViewContext(0, 10)
    tool.press((10, 5, 2), ctx)
    tool.drag((10, 30, 8), ctx)
    assert seg.voxel_count(ids[0]) > 0
    tool.cancel()
    assert not seg.layers[0].any() and not seg.history.can_undo and not tool.active
    assert not tool.drag((10, 10, 5), ctx)       # no stroke any more


def test_live_events_during_a_stroke():
    seg, ids, state = make()
    seen = []
    seg.events.voxels_changed.connect(lambda changes: seen.append(changes))
    tool = PaintTool(state, lambda: seg)
    ctx = ViewContext(2, 4)
    tool.press((5, 5, 4), ctx)
    assert len(seen) == 1, "the first dab is visible before the button is released"
    tool.drag((15, 5, 4), ctx)
    assert len(seen) == 2
    box = seen[-1][0].box
    assert box[2] == slice(4, 5) and box[0].stop <= 5 + 15 and box[0].start >= 3
    tool.release((15, 5, 4), ctx)


def test_erase_removes_the_active_segment_only_and_erase_all_every_layer():
    seg, ids, state = make()
    arr = seg.layers[0]
    a, b = (seg.segment(i).label for i in ids[:2])
    with seg.operation("fill"):
        from app.model.edits import EditMode, apply_mask
        apply_mask(seg, ids[0], np.ones((10, 10, 1), bool), (slice(0, 10), slice(0, 10), slice(5, 6)), EditMode.ADD)
        apply_mask(seg, ids[1], np.ones((10, 10, 1), bool), (slice(10, 20), slice(0, 10), slice(5, 6)), EditMode.ADD)
        # overlap: c on its own layer over both
        apply_mask(seg, ids[2], np.ones((20, 10, 1), bool), (slice(0, 20), slice(0, 10), slice(5, 6)), EditMode.ADD,
                   __import__("app.model.edits", fromlist=["EditPolicy"]).EditPolicy(overwrite=Overwrite.NONE))
    assert seg.n_layers == 2
    state.brush_radius_mm = 30
    eraser = PaintTool(state, lambda: seg, erase=True)
    stroke(eraser, [(10, 5, 5), (10, 5, 5)], ViewContext(2, 5))
    assert seg.voxel_count(ids[0]) == 0 and seg.voxel_count(ids[1]) == 100 and seg.voxel_count(ids[2]) == 200
    assert seg.history.undo_name == "Erase"
    state.erase_all = True
    stroke(eraser, [(10, 5, 5), (10, 5, 5)], ViewContext(2, 5))
    assert all(not layer.any() for layer in seg.layers)
    assert (arr == b).sum() == 0 and a != b


@pytest.mark.parametrize("setup, text", [
    (lambda seg, ids, st: seg.update_segment(ids[0], locked=True), "locked"),
    (lambda seg, ids, st: seg.update_segment(ids[0], visible=False), "hidden"),
    (lambda seg, ids, st: setattr(st, "active_segment", None), "Select a segment"),
    (lambda seg, ids, st: setattr(st, "editable", Editable.INSIDE_SEGMENT), "segment to paint over"),
    (lambda seg, ids, st: setattr(st, "intensity_masking", True), "reference volume"),
])
def test_refused_edits_say_why_and_change_nothing(setup, text):
    seg, ids, state = make()
    setup(seg, ids, state)
    said = []
    state.message.connect(lambda text: said.append(text))
    tool = PaintTool(state, lambda: seg)
    assert tool.press((10, 10, 5), ViewContext(2, 5)) is True      # swallowed, not a pan
    tool.drag((20, 10, 5), ViewContext(2, 5))
    tool.release((20, 10, 5), ViewContext(2, 5))
    assert not seg.layers[0].any() and not seg.history.can_undo
    assert len(said) == 1 and text in said[0]


def test_no_document_means_the_tool_does_not_take_the_drag():
    state = EditorState()
    assert PaintTool(state, lambda: None).press((1, 1, 1), ViewContext(0, 1)) is False


def test_inside_one_segment_paints_only_over_it_and_erase_still_works():
    seg, ids, state = make()
    from app.model.edits import EditMode, apply_mask
    apply_mask(seg, ids[1], np.ones((10, 40, 10), bool), (slice(0, 10), slice(0, 40), slice(0, 10)), EditMode.ADD)
    state.editable, state.mask_segment = Editable.INSIDE_SEGMENT, ids[1]
    state.brush_radius_mm = 100
    tool = PaintTool(state, lambda: seg)
    stroke(tool, [(20, 20, 4), (20, 20, 4)], ViewContext(2, 4))
    assert seg.voxel_count(ids[0]) == 400 and seg.voxel_count(ids[1]) == 3600
    stroke(PaintTool(state, lambda: seg, erase=True), [(5, 5, 4), (5, 5, 4)], ViewContext(2, 4))
    assert seg.voxel_count(ids[0]) == 0


def test_intensity_range_uses_the_reference_and_resamples_another_lattice():
    seg, ids, state = make(shape=(20, 20, 4))
    grey = np.tile(np.arange(20, dtype=np.int16)[:, None, None], (1, 20, 4))     # grey = i
    state.intensity_masking, state.intensity_range = True, (5, 9)
    state.brush_radius_mm = 50
    ref = Ref(grey, seg.geometry)
    tool = PaintTool(state, lambda: seg, lambda: ref)
    stroke(tool, [(10, 10, 1), (10, 10, 1)], ViewContext(2, 1))
    painted = np.argwhere(seg.layers[0] != 0)
    assert set(painted[:, 0]) == set(range(5, 10)) and seg.voxel_count(ids[0]) == 5 * 20
    # a reference at half the resolution, shifted 0.25 mm: its voxel n (centre at 0.25 + 2n mm) holds 2n. Each
    # segmentation voxel i (centre at i mm) takes its NEAREST reference voxel, as the Threshold tool does:
    # 2n in [5, 9] -> n in {3, 4} -> centres 6.25 and 8.25 mm -> i in 6..9 (5 is nearer 4.25, 10 nearer 10.25)
    coarse = Ref(np.tile((np.arange(10, dtype=np.int16) * 2)[:, None, None], (1, 10, 2)),
                 Geometry((10, 10, 2), (2.0, 2.0, 2.0), (0.25, 0.0, 0.0)))
    seg.undo()
    tool2 = PaintTool(state, lambda: seg, lambda: coarse)
    stroke(tool2, [(10, 10, 1), (10, 10, 1)], ViewContext(2, 1))
    rows = sorted(set(np.argwhere(seg.layers[0] != 0)[:, 0]))
    assert rows == [6, 7, 8, 9]


@pytest.mark.parametrize("mode, hidden, expect_layers, b_left", [
    (Overwrite.ALL, False, 1, 100 - 21),
    (Overwrite.VISIBLE, False, 1, 100 - 21),
    (Overwrite.VISIBLE, True, 2, 100),
    (Overwrite.NONE, False, 2, 100),
])
def test_overwrite_modes_on_a_shared_layer(mode, hidden, expect_layers, b_left):
    seg, ids, state = make()
    from app.model.edits import EditMode, apply_mask
    apply_mask(seg, ids[1], np.ones((10, 10, 1), bool), (slice(20, 30), slice(20, 30), slice(5, 6)), EditMode.ADD)
    if hidden:
        seg.update_segment(ids[1], visible=False)
    state.overwrite, state.brush_radius_mm = mode, 2.5
    stroke(PaintTool(state, lambda: seg), [(25, 25, 5), (25, 25, 5)], ViewContext(2, 5))
    assert seg.voxel_count(ids[0]) == 21 and seg.voxel_count(ids[1]) == b_left     # r=2.5 disc: 21 voxels
    assert seg.n_layers == expect_layers


def test_deferred_moves_become_one_edit_at_the_next_flush():
    seg, ids, state = make()
    queued = []
    tool = PaintTool(state, lambda: seg, defer=queued.append)
    writes = []
    seg.events.voxels_changed.connect(lambda changes: writes.append(changes))
    ctx = ViewContext(2, 5)
    tool.press((5, 5, 5), ctx)                 # the first dab is immediate
    first = seg.voxel_count(ids[0])
    assert first > 0 and len(writes) == 1
    for x in range(7, 40, 2):
        tool.drag((x, 5, 5), ctx)
    assert seg.voxel_count(ids[0]) == first and len(queued) == 1, "moves wait for one scheduled flush"
    queued.pop()()
    assert seg.voxel_count(ids[0]) > first and len(writes) == 2, "all queued moves land as one edit"
    tool.drag((40, 30, 5), ctx)
    tool.release((40, 30, 5), ctx)             # release applies what is still queued
    assert seg.mask(ids[0])[40, 30, 5] and len(seg.history.undo_stack) == 1
    tool.press((5, 36, 5), ctx)
    tool.drag((30, 36, 5), ctx)
    tool.cancel()
    queued.pop()()                             # a flush after cancel does nothing
    assert not seg.mask(ids[0])[30, 36, 5] and len(seg.history.undo_stack) == 1


def test_erase_all_ignores_background_only_which_would_erase_nothing():
    seg, ids, state = make()
    from app.model.edits import EditMode, apply_mask
    apply_mask(seg, ids[1], np.ones((10, 10, 1), bool), (slice(0, 10), slice(0, 10), slice(5, 6)), EditMode.ADD)
    state.editable, state.erase_all, state.brush_radius_mm = Editable.BACKGROUND, True, 3.0
    stroke(PaintTool(state, lambda: seg, erase=True), [(5, 5, 5), (5, 5, 5)], ViewContext(2, 5))
    assert seg.voxel_count(ids[1]) == 100 - 29


def test_the_tool_and_the_editor_state_import_no_qt():
    import subprocess
    import sys
    code = ("import sys, app.ui.view_tools.paint, app.model.segment_editor_state; "
            "print(any(m.split('.')[0] in ('PySide6', 'pyqtgraph') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
