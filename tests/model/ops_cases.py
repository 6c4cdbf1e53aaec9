"""Small builders shared by the whole-atlas tool tests (tests/model/test_ops_*.py): segmentations made from
plain boolean arrays, snapshots for exact undo checks, and the plain-array view of a segmentation."""
from __future__ import annotations

import numpy as np

from app.model.edits import EditMode, EditPolicy, Overwrite, apply_mask
from app.model.geometry import Geometry
from app.model.segmentation import Segmentation


def make_seg(masks: dict, spacing=(1.0, 1.0, 1.0), new_layer=()) -> tuple[Segmentation, list[str]]:
    """A segmentation with one segment per (name -> bool array); names in `new_layer` start a layer of their
    own; overlapping masks end up on separate layers (allow-overlap painting). History is cleared."""
    shape = next(iter(masks.values())).shape
    seg = Segmentation(Geometry(shape, spacing, (3.0, -2.0, 1.0)))
    ids = []
    for name, m in masks.items():
        s = seg.add_segment(name, new_layer=name in new_layer)
        ids.append(s.id)
        box = tuple(slice(0, n) for n in shape)
        apply_mask(seg, s.id, np.asarray(m, bool), box, EditMode.ADD, EditPolicy(overwrite=Overwrite.NONE))
    seg.history.clear()
    return seg, ids


def masks_of(seg: Segmentation) -> dict[str, np.ndarray]:
    return {sid: seg.mask(sid) for sid in seg.segment_ids}


def snapshot(seg: Segmentation):
    """Everything undo must restore: layer arrays (values and dtype) and the segment table in order."""
    layers = [(a.dtype.str, a.copy()) for a in seg.layers]
    table = [(s.id, s.name, s.color, s.layer, s.label, dict(s.tags)) for s in seg.segments]
    return layers, table


def same_snapshot(a, b) -> bool:
    (la, ta), (lb, tb) = a, b
    return ta == tb and len(la) == len(lb) and all(
        da == db and np.array_equal(x, y) for (da, x), (db, y) in zip(la, lb))


def box_mask(shape, lo, hi) -> np.ndarray:
    m = np.zeros(shape, bool)
    m[tuple(slice(a, b) for a, b in zip(lo, hi))] = True
    return m


def ball_mask(shape, center, radius_mm, spacing=(1.0, 1.0, 1.0)) -> np.ndarray:
    grids = np.ogrid[tuple(slice(0, n) for n in shape)]
    d2 = sum(((g - c) * sp) ** 2 for g, c, sp in zip(grids, center, spacing))
    return d2 <= radius_mm ** 2


def sequential_reference(masks: dict, new: dict, locked=()) -> dict:
    """Plain-array semantics of "each segment becomes new[sid]", all computed from the state before, applied in
    order with overwrite all: segment sid loses masks[sid] & ~new[sid] and gains new[sid] & ~masks[sid]; a gain
    takes the voxel from every other unlocked segment (any layer) and never a locked segment's voxel; voxels a
    segment already had are not written, so its overlaps with other layers stay."""
    cur = {k: v.copy() for k, v in masks.items()}
    lock = np.zeros_like(next(iter(masks.values())))
    for k in locked:
        lock |= masks[k]
    for sid, m in new.items():
        loss, gain = masks[sid] & ~m, m & ~masks[sid] & ~lock
        cur[sid] = (cur[sid] & ~loss) | gain
        for k in cur:
            if k != sid and k not in locked:
                cur[k] &= ~gain
    return cur
