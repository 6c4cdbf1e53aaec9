"""Islands (Slicer's Islands effect): connected components of each segment, found on the segment's bounding box.

- keep largest: every island but the largest is removed (ties: the first in index order);
- remove small: islands of fewer than `min_size` voxels are removed;
- split: the largest island stays, every other island of at least `min_size` voxels becomes a new segment in the
  SAME layer (a free label value of that layer; name "<name> island 2", "... 3", largest first; tags copied);
  smaller islands are removed. Splitting relabels voxels, so it ignores the overwrite mode: no other segment changes;
- keep / remove the island under a voxel (a click): for each selected segment present at that voxel.
Connectivity is by faces (6 neighbours, as Slicer) or also by edges and corners (26).
"""
from __future__ import annotations

import enum

import numpy as np
from ._ndimage import ndimage

from ..edits import EditMode, EditPolicy, Overwrite
from ..segmentation import Segmentation, SegmentationError
from .plan import (Change, NewSegment, OpResult, Plan, Progress, apply_plan, editable_ids, report, scaled,
                   shrink_to_content)


class IslandMode(enum.Enum):
    KEEP_LARGEST = "keep largest"
    REMOVE_SMALL = "remove small"
    SPLIT = "split"
    KEEP_AT = "keep island at"
    REMOVE_AT = "remove island at"


def islands(seg: Segmentation, segment_ids, mode: IslandMode, min_size: int = 1, ijk=None,
            fully_connected: bool = False, policy: EditPolicy | None = None, progress: Progress = None) -> OpResult:
    plan = plan_islands(seg, segment_ids, mode, min_size, ijk, fully_connected, scaled(progress, 0.0, 0.7))
    return apply_plan(seg, plan, policy, scaled(progress, 0.7, 1.0))


def plan_islands(seg: Segmentation, segment_ids, mode: IslandMode, min_size: int = 1, ijk=None,
                 fully_connected: bool = False, progress: Progress = None) -> Plan:
    ids, locked = editable_ids(seg, segment_ids)
    if min_size < 0:
        raise SegmentationError("the minimum island size cannot be negative")
    at = _voxel(seg, ijk) if mode in (IslandMode.KEEP_AT, IslandMode.REMOVE_AT) else None
    if at is not None:
        ids = [sid for sid in ids if sid in seg.segments_at_voxel(at)]
        if not ids:
            raise SegmentationError("no selected, unlocked segment has an island at this voxel")
    plan = Plan(mode.value.capitalize() + (f" ({len(ids)} segments)" if len(ids) > 1 else ""), skipped=locked)
    if mode is IslandMode.SPLIT:
        plan.policy = EditPolicy(overwrite=Overwrite.NONE)     # a relabelling: never touches other segments
    structure = ndimage.generate_binary_structure(3, 3 if fully_connected else 1)
    for n, sid in enumerate(ids):
        box = seg.bounding_box(sid)
        if box is not None:
            plan.changes.extend(_segment_changes(seg, sid, box, mode, int(min_size), at, structure))
        report(progress, (n + 1) / len(ids))
    return plan


def _voxel(seg: Segmentation, ijk):
    if ijk is None:
        raise SegmentationError("click a voxel of the island first")
    v = tuple(int(round(float(c))) for c in ijk)
    if not seg.geometry.contains(v):
        raise SegmentationError("the clicked point is outside the image")
    return v


def _segment_changes(seg, sid, box, mode, min_size, at, structure) -> list[Change]:
    m = seg.mask(sid, box)
    lab, count = ndimage.label(m, structure=structure)
    sizes = np.bincount(lab.ravel(), minlength=count + 1)
    sizes[0] = 0
    if mode is IslandMode.KEEP_AT or mode is IslandMode.REMOVE_AT:
        hit = lab[tuple(c - b.start for c, b in zip(at, box))]
        drop = (lab != hit) & m if mode is IslandMode.KEEP_AT else lab == hit
        return _removal(sid, drop, box)
    if mode is IslandMode.REMOVE_SMALL:
        small = np.flatnonzero((sizes < min_size) & (sizes > 0))
        return _removal(sid, np.isin(lab, small), box)
    largest = int(np.argmax(sizes))
    if mode is IslandMode.KEEP_LARGEST:
        return _removal(sid, (lab != largest) & m, box)
    return _split(seg, sid, box, lab, sizes, largest, min_size)


def _removal(sid, drop, box) -> list[Change]:
    cropped = shrink_to_content(drop, box)
    return [] if cropped is None else [Change(sid, cropped[1], cropped[0], EditMode.REMOVE)]


def _split(seg, sid, box, lab, sizes, largest, min_size) -> list[Change]:
    s = seg.segment(sid)
    others = [int(i) for i in np.argsort(-sizes, kind="stable") if sizes[i] > 0 and i != largest]
    objects = ndimage.find_objects(lab)
    changes = _removal(sid, (lab != largest) & (lab > 0), box)
    for n, idx in enumerate(i for i in others if sizes[i] >= min_size):
        sub = objects[idx - 1]
        sub_box = tuple(slice(b.start + o.start, b.start + o.stop) for b, o in zip(box, sub))
        new = NewSegment(f"{s.name} island {n + 2}", s.layer, dict(s.tags))
        changes.append(Change(sid, sub_box, lab[sub] == idx, EditMode.ADD, new_segment=new))
    return changes
