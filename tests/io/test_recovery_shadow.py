"""The autosave shadow: after any sequence of edits, undo/redo and segment operations, a snapshot equals the live
document voxel for voxel (the live layers are the reference), and between structure changes it reuses its arrays,
copying only the boxes that changed (O(edit) on the GUI thread)."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st

from app.io.recovery_copies import Shadow
from app.model.edits import EditMode, EditPolicy, Overwrite, apply_mask
from app.model.geometry import Geometry
from app.model.segmentation import Segmentation

OPS = st.lists(st.tuples(st.sampled_from(["paint", "erase", "undo", "redo", "add", "overlap", "snapshot"]),
                         st.integers(0, 11), st.integers(0, 9), st.integers(0, 7), st.integers(1, 4)),
               min_size=1, max_size=25)


def _seg() -> Segmentation:
    seg = Segmentation(Geometry((12, 10, 8), (1.0, 0.8, 2.0)))
    for name in ("a", "b", "c"):
        seg.add_segment(name)
    seg.history.clear()
    return seg


def _check(seg: Segmentation, snap: Segmentation) -> None:
    assert len(snap.layers) == len(seg.layers)
    for a, b in zip(seg.layers, snap.layers):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    assert [(s.id, s.layer, s.label, s.name) for s in snap.segments] == \
        [(s.id, s.layer, s.label, s.name) for s in seg.segments]


@settings(max_examples=60, deadline=None)
@given(ops=OPS)
def test_snapshots_equal_the_document_after_any_edits(ops):
    seg = _seg()
    shadow = Shadow(seg)
    _check(seg, shadow.snapshot())
    for op, i, j, k, r in ops:
        ids = seg.segment_ids
        box = (slice(max(0, i - r), i + r), slice(max(0, j - r), j + r), slice(max(0, k - r), k + r))
        shape = tuple(min(s.stop, n) - s.start for s, n in zip(box, seg.geometry.shape))
        box = tuple(slice(s.start, s.start + n) for s, n in zip(box, shape))
        mask = np.ones(shape, bool)
        if op == "paint":
            apply_mask(seg, ids[i % len(ids)], mask, box, EditMode.ADD, EditPolicy())
        elif op == "erase":
            apply_mask(seg, ids[j % len(ids)], mask, box, EditMode.REMOVE, EditPolicy())
        elif op == "overlap":           # forces a new layer (a structure change)
            apply_mask(seg, ids[k % len(ids)], mask, box, EditMode.ADD, EditPolicy(overwrite=Overwrite.NONE))
        elif op == "undo" and seg.history.undo_stack:
            seg.undo()
        elif op == "redo" and seg.history.redo_stack:
            seg.redo()
        elif op == "add":
            seg.add_segment(f"s{len(ids)}")
        elif op == "snapshot":
            _check(seg, shadow.snapshot())
    _check(seg, shadow.snapshot())


def test_between_structure_changes_the_arrays_are_reused():
    seg = _seg()
    shadow = Shadow(seg)
    first = shadow.snapshot().layers[0]
    apply_mask(seg, seg.segment_ids[0], np.ones((3, 3, 3), bool), (slice(2, 5),) * 3, EditMode.ADD, EditPolicy())
    second = shadow.snapshot().layers[0]
    assert second is first                           # updated in place, box by box
    assert np.array_equal(second, seg.layers[0])
    apply_mask(seg, seg.segment_ids[1], np.ones((3, 3, 3), bool), (slice(3, 6),) * 3, EditMode.ADD,
               EditPolicy(overwrite=Overwrite.NONE))  # a new layer: the next snapshot copies everything again
    third = shadow.snapshot()
    assert len(third.layers) == 2 and third.layers[0] is not first
    _check(seg, third)
    shadow.close()
