"""Fill between slices (Slicer's Fill between slices, ITK-SNAP's Interpolate labels): segments drawn on a few
slices across one lattice axis are filled in on the empty slices between them.

A slice is "drawn" when the segment has a voxel on it. Between two consecutive drawn slices a and b (b > a + 1),
each empty slice t gets the voxels where the linear blend of the two slices' signed distance maps is positive:
    (1 - w) * sd_a + w * sd_b > 0,   w = (t - a) / (b - a),
with sd = distance to the nearest outside voxel (inside) or minus the distance to the nearest inside voxel
(outside), in millimetres with the in-plane spacing (scipy's exact distance transform). Drawn slices are never
changed, nothing is extrapolated past the first or last drawn slice, and each segment is handled on its own
bounding box. Interpolated voxels are added through the overwrite mode.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..edits import EditMode, EditPolicy
from ..segmentation import Segmentation, SegmentationError
from .plan import Change, OpResult, Plan, Progress, apply_plan, editable_ids, report, scaled, shrink_to_content


def fill_between_slices(seg: Segmentation, segment_ids, axis: int, policy: EditPolicy | None = None,
                        progress: Progress = None) -> OpResult:
    plan = plan_fill_between_slices(seg, segment_ids, axis, scaled(progress, 0.0, 0.7))
    return apply_plan(seg, plan, policy, scaled(progress, 0.7, 1.0))


def plan_fill_between_slices(seg: Segmentation, segment_ids, axis: int, progress: Progress = None) -> Plan:
    if axis not in (0, 1, 2):
        raise SegmentationError("the slice axis must be 0 (i), 1 (j) or 2 (k)")
    ids, locked = editable_ids(seg, segment_ids)
    plan = Plan("Fill between slices" + (f" ({len(ids)} segments)" if len(ids) > 1 else ""), skipped=locked)
    spacing = [sp for a, sp in enumerate(seg.geometry.spacing) if a != axis]
    for n, sid in enumerate(ids):
        box = seg.bounding_box(sid)
        if box is not None:
            filled = _fill(seg.mask(sid, box), axis, spacing)
            cropped = shrink_to_content(filled, box)
            if cropped is not None:
                plan.changes.append(Change(sid, cropped[1], cropped[0], EditMode.ADD))
        report(progress, (n + 1) / len(ids))
    return plan


def signed_distance(mask2d: np.ndarray, spacing) -> np.ndarray:
    """Signed distance (mm) of a 2D mask: > 0 inside, < 0 outside; the array is padded by one outside voxel
    all round so the border counts as outside."""
    m = np.pad(mask2d, 1)
    sd = ndimage.distance_transform_edt(m, sampling=spacing) - ndimage.distance_transform_edt(~m, sampling=spacing)
    return sd[1:-1, 1:-1]


def _fill(m: np.ndarray, axis: int, spacing) -> np.ndarray:
    """The voxels to add to a segment's box mask `m`: the empty slices between drawn ones, interpolated."""
    mv = np.moveaxis(m, axis, 0)
    drawn = np.flatnonzero(mv.reshape(mv.shape[0], -1).any(axis=1))
    out = np.zeros_like(mv)
    for a, b in zip(drawn[:-1], drawn[1:]):
        if b - a < 2:
            continue
        sd_a, sd_b = signed_distance(mv[a], spacing), signed_distance(mv[b], spacing)
        for t in range(a + 1, b):
            w = (t - a) / (b - a)
            out[t] = (1.0 - w) * sd_a + w * sd_b > 0
    return np.moveaxis(out, 0, axis)
