"""Margin: grow or shrink segments by a distance in millimetres (Slicer's Margin effect), correct on anisotropic
lattices: a voxel joins a grown segment when its centre lies within `distance` mm (Euclidean, physical spacing) of a
voxel centre of the segment; a shrunk segment keeps the voxels further than `distance` mm from every voxel outside
it (outside the lattice counts as outside). Both use scipy's exact distance transform with `sampling=spacing`, on
each segment's bounding box grown by the distance: never a pass over the whole volume per segment.

Several segments at once: each is computed from the state before the tool runs. A growing segment never takes
voxels of another segment of the selection (the selection grows into background and unselected segments, as the
overwrite mode allows); where two grown segments meet in background, the later one in the list gets the voxel.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from ..edits import EditMode, EditPolicy
from ..segmentation import Segmentation, SegmentationError
from .plan import (Change, LabelSet, OpResult, Plan, Progress, Window, apply_plan, editable_ids, pad_box, report,
                   scaled, shrink_to_content)

_EPS = 1e-6


def margin(seg: Segmentation, segment_ids, distance_mm: float, policy: EditPolicy | None = None,
           progress: Progress = None) -> OpResult:
    """Grow (distance > 0) or shrink (distance < 0) the segments; one undo step."""
    plan = plan_margin(seg, segment_ids, distance_mm, scaled(progress, 0.0, 0.7))
    return apply_plan(seg, plan, policy, scaled(progress, 0.7, 1.0))


def plan_margin(seg: Segmentation, segment_ids, distance_mm: float, progress: Progress = None) -> Plan:
    d = float(distance_mm)
    if not math.isfinite(d):
        raise SegmentationError("the margin must be a finite number of millimetres")
    ids, locked = editable_ids(seg, segment_ids)
    word = "Grow" if d >= 0 else "Shrink"
    plan = Plan(f"{word} by {abs(d):g} mm" + (f" ({len(ids)} segments)" if len(ids) > 1 else ""), skipped=locked)
    if d == 0:
        return plan
    spacing = seg.geometry.spacing
    others = _selection_luts(seg, ids) if d > 0 else None
    for n, sid in enumerate(ids):
        box = seg.bounding_box(sid)
        if box is not None:
            change = _grow(seg, sid, box, d, spacing, others) if d > 0 else _shrink(seg, sid, box, -d, spacing)
            if change is not None:
                plan.changes.append(change)
        report(progress, (n + 1) / len(ids))
    return plan


def _grow(seg, sid, box, d, spacing, others) -> Change | None:
    pad = [int(math.floor(d / sp + _EPS)) for sp in spacing]
    lat = pad_box(box, pad, seg.geometry.shape)
    m = seg.mask(sid, lat)
    dist = ndimage.distance_transform_edt(~m, sampling=spacing)
    added = (dist <= d + _EPS) & ~m
    s = seg.segment(sid)
    for layer, lut in others.items():
        region = seg.layers[layer][lat]
        taken = lut.lookup(region)
        if layer == s.layer:
            taken &= region != s.label
        added &= ~taken
    cropped = shrink_to_content(added, lat)
    return None if cropped is None else Change(sid, cropped[1], cropped[0], EditMode.ADD)


def _shrink(seg, sid, box, d, spacing) -> Change | None:
    win = Window.read(seg, sid, box, 1)       # one voxel of background all round, also beyond the lattice
    dist = ndimage.distance_transform_edt(win.mask, sampling=spacing)
    removed = win.on_lattice(win.mask & (dist <= d + _EPS))
    cropped = shrink_to_content(removed, win.lattice_box)
    return None if cropped is None else Change(sid, cropped[1], cropped[0], EditMode.REMOVE)


def _selection_luts(seg: Segmentation, ids) -> dict[int, LabelSet]:
    """Per layer, the label values of the selected segments (nothing when one segment is selected)."""
    if len(ids) < 2:
        return {}
    by_layer: dict[int, list[int]] = {}
    for sid in ids:
        s = seg.segment(sid)
        by_layer.setdefault(s.layer, []).append(s.label)
    return {layer: LabelSet(labels, seg.layers[layer].dtype) for layer, labels in by_layer.items()}
