"""Fill between slices (Slicer's Fill between slices, ITK-SNAP's Interpolate labels): segments drawn on a few
slices across one lattice axis are filled in on the empty slices between them.

A slice is "drawn" when the segment has a voxel on it. Between two consecutive drawn slices a and b (b > a + 1),
each empty slice t gets the voxels where the linear blend of the two slices' signed distance maps is positive:
    (1 - w) * sd_a(x - w d) + w * sd_b(x + (1 - w) d) > 0,   w = (t - a) / (b - a),
with sd = distance to the nearest outside voxel (inside) or minus the distance to the nearest inside voxel
(outside), in millimetres with the in-plane spacing (scipy's exact distance transform), and d the shift between the
two shapes' centroids: both are moved to the interpolated centroid before blending (the alignment step of ITK's
morphological contour interpolator), so an oblique tube keeps its calibre instead of pinching or breaking. Drawn
slices are never changed, nothing is extrapolated past the first or last drawn slice, and the result stays inside
the segment's bounding box. Interpolated voxels are added through the overwrite mode.

`method="morphological"` uses ITK's morphological contour interpolation instead (Albu et al. 2008; the
`itk-morphologicalcontourinterpolation` package, what Slicer, ITK-SNAP and OHIF use): it matches the shapes of
neighbouring drawn slices, handles a region that splits in two or merges, and does not need the slices to overlap.
It runs on the segment's box padded by 2 voxels in the plane, along the chosen axis only; its output is kept only on
empty slices, so drawn slices are never changed. ITK is imported on first use (seconds; planning runs off the GUI
thread).
"""
from __future__ import annotations

import numpy as np
from ._ndimage import ndimage

from ..edits import EditMode, EditPolicy
from ..segmentation import Segmentation, SegmentationError
from .plan import (Change, OpResult, Plan, Progress, apply_plan, editable_ids, pad_box, report, scaled,
                   shrink_to_content)


SIGNED_DISTANCE, MORPHOLOGICAL = "signed_distance", "morphological"


def fill_between_slices(seg: Segmentation, segment_ids, axis: int, policy: EditPolicy | None = None,
                        progress: Progress = None, method: str = SIGNED_DISTANCE) -> OpResult:
    plan = plan_fill_between_slices(seg, segment_ids, axis, scaled(progress, 0.0, 0.7), method)
    return apply_plan(seg, plan, policy, scaled(progress, 0.7, 1.0))


def plan_fill_between_slices(seg: Segmentation, segment_ids, axis: int, progress: Progress = None,
                             method: str = SIGNED_DISTANCE) -> Plan:
    if axis not in (0, 1, 2):
        raise SegmentationError("the slice axis must be 0 (i), 1 (j) or 2 (k)")
    if method not in (SIGNED_DISTANCE, MORPHOLOGICAL):
        raise SegmentationError(f"unknown interpolation method {method!r}")
    ids, locked = editable_ids(seg, segment_ids)
    plan = Plan("Fill between slices" + (f" ({len(ids)} segments)" if len(ids) > 1 else ""), skipped=locked)
    spacing = [sp for a, sp in enumerate(seg.geometry.spacing) if a != axis]
    for n, sid in enumerate(ids):
        box = seg.bounding_box(sid)
        if box is not None and method == MORPHOLOGICAL:
            box = pad_box(box, [0 if a == axis else 2 for a in range(3)], seg.geometry.shape)
            filled = morphological_fill(seg.mask(sid, box), axis)
            cropped = shrink_to_content(filled, box)
            if cropped is not None:
                plan.changes.append(Change(sid, cropped[1], cropped[0], EditMode.ADD))
        elif box is not None:
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
        if b - a >= 2:
            out[a + 1:b] = _between(mv[a], mv[b], spacing, b - a)
    return np.moveaxis(out, 0, axis)


def _between(ma: np.ndarray, mb: np.ndarray, spacing, n: int) -> np.ndarray:
    """The n - 1 slices between two drawn ones: both signed distance maps are first moved so the shapes' centroids
    meet at the interpolated centroid (so a tilted or shifted structure keeps its size), then blended."""
    delta = np.mean(np.argwhere(mb), axis=0) - np.mean(np.argwhere(ma), axis=0)
    pad = int(np.ceil(np.abs(delta).max())) + 1
    sa = signed_distance(np.pad(ma, pad), spacing)
    sb = signed_distance(np.pad(mb, pad), spacing)
    inner = (slice(pad, pad + ma.shape[0]), slice(pad, pad + ma.shape[1]))
    out = np.zeros((n - 1, *ma.shape), dtype=bool)
    moving = bool(np.any(np.abs(delta) > 1e-9))
    for t in range(1, n):
        w = t / n
        if moving:
            a = ndimage.shift(sa, w * delta, order=1, mode="nearest")
            b = ndimage.shift(sb, -(1.0 - w) * delta, order=1, mode="nearest")
        else:
            a, b = sa, sb
        out[t - 1] = ((1.0 - w) * a + w * b > 0)[inner]
    return out


def morphological_fill(m: np.ndarray, axis: int) -> np.ndarray:
    """The voxels ITK's morphological contour interpolator adds to the box mask `m` along lattice `axis`, on the
    slices that are empty in `m` (drawn slices are left alone)."""
    import itk     # heavy (seconds on first use): only when this method is chosen

    image = itk.image_from_array(np.ascontiguousarray(m, dtype=np.uint8))
    f = itk.MorphologicalContourInterpolator.New(image)
    f.SetAxis(2 - axis)          # ITK's index order is numpy's reversed
    f.SetLabel(1)
    f.Update()
    out = itk.array_from_image(f.GetOutput()) != 0
    mv, ov = np.moveaxis(m, axis, 0), np.moveaxis(out, axis, 0)
    empty = ~mv.reshape(mv.shape[0], -1).any(axis=1)
    ov &= empty[:, None, None]
    return np.moveaxis(ov, 0, axis)
