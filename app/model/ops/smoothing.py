"""Smoothing, one segment at a time (Slicer's Smoothing effect): median, opening, closing, Gaussian.

Sizes are in millimetres and become per-axis voxel sizes on anisotropic lattices:
- median: a box kernel of `size_mm` (per axis: the odd voxel count nearest to size/spacing, at least 1), majority
  vote of the segment's indicator (scipy median_filter);
- opening / closing: binary opening / closing with the ellipsoid of radius size/2 mm (voxel centres within it);
- Gaussian: the segment's indicator blurred with a Gaussian of standard deviation `size_mm` (truncated at 4 sigma)
  and thresholded at 0.5.
Outside the lattice counts as background. Each segment works on its bounding box grown by the kernel's reach.
Several segments: each from the state before the tool runs; where results overlap, the later one in the list wins
(overwrite mode permitting). Use joint smoothing (joint.py) to smooth neighbours without gaps or overlaps.
"""
from __future__ import annotations

import enum
import math

import numpy as np
from ._ndimage import ndimage

from ..brush import ball
from ..edits import EditPolicy
from ..segmentation import Segmentation, SegmentationError
from .joint import gaussian_sigma, plan_joint_smoothing
from .plan import OpResult, Plan, Progress, Window, apply_plan, editable_ids, report, scaled, set_changes


class SmoothingMethod(enum.Enum):
    MEDIAN = "median"
    OPENING = "opening"
    CLOSING = "closing"
    GAUSSIAN = "gaussian"
    JOINT = "joint"          # see joint.py


def smooth(seg: Segmentation, segment_ids, method: SmoothingMethod, size_mm: float,
           policy: EditPolicy | None = None, progress: Progress = None) -> OpResult:
    plan = plan_smoothing(seg, segment_ids, method, size_mm, scaled(progress, 0.0, 0.7))
    return apply_plan(seg, plan, policy, scaled(progress, 0.7, 1.0))


def plan_smoothing(seg: Segmentation, segment_ids, method: SmoothingMethod, size_mm: float,
                   progress: Progress = None) -> Plan:
    if method is SmoothingMethod.JOINT:
        return plan_joint_smoothing(seg, segment_ids, size_mm, progress)
    if not (math.isfinite(size_mm) and size_mm > 0):
        raise SegmentationError("the smoothing size must be a positive number of millimetres")
    ids, locked = editable_ids(seg, segment_ids)
    plan = Plan(f"Smooth ({method.value}, {size_mm:g} mm)" + (f", {len(ids)} segments" if len(ids) > 1 else ""),
                skipped=locked)
    spacing = seg.geometry.spacing
    filt, pad = _filter(method, float(size_mm), spacing)
    for n, sid in enumerate(ids):
        box = seg.bounding_box(sid)
        if box is not None:
            win = Window.read(seg, sid, box, pad)
            new = win.on_lattice(filt(win.mask))
            plan.changes.extend(set_changes(sid, win.on_lattice(win.mask), new, win.lattice_box))
        report(progress, (n + 1) / len(ids))
    return plan


def median_kernel(size_mm: float, spacing) -> tuple[int, ...]:
    """Odd voxel counts per axis nearest to size/spacing (Slicer's rule), at least 1."""
    return tuple(max(1, int(round((size_mm / sp + 1) / 2)) * 2 - 1) for sp in spacing)


def _filter(method: SmoothingMethod, size: float, spacing):
    """(function bool array -> bool array, padding in voxels per axis) for a method."""
    if method is SmoothingMethod.MEDIAN:
        k = median_kernel(size, spacing)
        return (lambda m: ndimage.median_filter(m.view(np.uint8), size=k, mode="constant").astype(bool),
                [h // 2 + 1 for h in k])
    if method is SmoothingMethod.GAUSSIAN:
        sigma = gaussian_sigma(size, spacing)
        return (lambda m: ndimage.gaussian_filter(m.astype(np.float32), sigma, mode="constant") >= 0.5,
                [int(math.ceil(4.0 * s)) + 1 for s in sigma])
    se = ball(size / 2.0, tuple(spacing))
    r = [h // 2 for h in se.shape]
    if method is SmoothingMethod.OPENING:
        return lambda m: ndimage.binary_opening(m, structure=se), [x + 1 for x in r]
    return lambda m: ndimage.binary_closing(m, structure=se), [2 * x + 1 for x in r]
