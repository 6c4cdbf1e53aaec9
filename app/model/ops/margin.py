"""Margin: grow or shrink segments by a distance in millimetres (Slicer's Margin effect), correct on anisotropic
lattices: a voxel joins a grown segment when its centre lies within `distance` mm (Euclidean, physical spacing) of a
voxel centre of the segment; a shrunk segment keeps the voxels further than `distance` mm from every voxel outside
it (outside the lattice counts as outside). Both use scipy's exact distance transform with `sampling=spacing`, on
each segment's bounding box grown by the distance: never a pass over the whole volume per segment.

Growing several segments at once (an atlas): they grow together, like skimage's expand_labels. A voxel within the
distance of some selected segments, and not already in any selected segment, goes to the NEAREST of them (ties: the
first in the list); selected segments never take each other's voxels, and the result does not depend on the order.
Unselected segments give up grown-into voxels as the overwrite mode allows. The only full-size arrays are the
running minimum distance and its argmin on the union of the grown boxes.
"""
from __future__ import annotations

import math

import numpy as np
from ._ndimage import ndimage

from ..edits import EditMode, EditPolicy
from ..label_values import union_box
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
    members = [(sid, box) for sid in ids if (box := seg.bounding_box(sid)) is not None]
    if d == 0 or not members:
        return plan
    if d > 0:
        plan.changes = _grow(seg, members, d, progress)
        return plan
    for n, (sid, box) in enumerate(members):
        change = _shrink(seg, sid, box, -d, seg.geometry.spacing)
        if change is not None:
            plan.changes.append(change)
        report(progress, (n + 1) / len(members))
    return plan


def _grow(seg: Segmentation, members, d: float, progress: Progress) -> list[Change]:
    spacing = seg.geometry.spacing
    pad = [int(math.floor(d / sp + _EPS)) for sp in spacing]
    boxes = [pad_box(box, pad, seg.geometry.shape) for _, box in members]
    ubox = boxes[0]
    for b in boxes[1:]:
        ubox = union_box(ubox, b)
    size = tuple(b.stop - b.start for b in ubox)
    best = np.full(size, np.inf)
    arg = np.zeros(size, dtype=np.int32)
    for n, ((sid, _), b) in enumerate(zip(members, boxes)):
        local = tuple(slice(x.start - u.start, x.stop - u.start) for x, u in zip(b, ubox))
        dist = ndimage.distance_transform_edt(~seg.mask(sid, b), sampling=spacing)
        best_view, arg_view = best[local], arg[local]
        closer = dist < best_view
        best_view[closer] = dist[closer]
        arg_view[closer] = n + 1
        report(progress, 0.9 * (n + 1) / len(members))
    claimed = (best <= d + _EPS) & ~_selected(seg, [sid for sid, _ in members], ubox)
    del best
    arg[~claimed] = 0
    changes = []
    for n, obj in enumerate(ndimage.find_objects(arg, max_label=len(members))):
        if obj is None:
            continue
        box = tuple(slice(o.start + u.start, o.stop + u.start) for o, u in zip(obj, ubox))
        changes.append(Change(members[n][0], box, arg[obj] == n + 1, EditMode.ADD))
    report(progress, 1.0)
    return changes


def _selected(seg: Segmentation, ids, box) -> np.ndarray:
    """Voxels of any of the segments `ids` (any layer) inside a box: one lookup per layer, not one per segment."""
    by_layer: dict[int, list[int]] = {}
    for sid in ids:
        s = seg.segment(sid)
        by_layer.setdefault(s.layer, []).append(s.label)
    out = np.zeros([b.stop - b.start for b in box], dtype=bool)
    for layer, labels in by_layer.items():
        out |= LabelSet(labels, seg.layers[layer].dtype).lookup(seg.layers[layer][box])
    return out


def _shrink(seg, sid, box, d, spacing) -> Change | None:
    win = Window.read(seg, sid, box, 1)       # one voxel of background all round, also beyond the lattice
    dist = ndimage.distance_transform_edt(win.mask, sampling=spacing)
    removed = win.on_lattice(win.mask & (dist <= d + _EPS))
    cropped = shrink_to_content(removed, win.lattice_box)
    return None if cropped is None else Change(sid, cropped[1], cropped[0], EditMode.REMOVE)
