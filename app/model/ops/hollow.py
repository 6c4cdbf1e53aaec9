"""Hollow (Slicer's Hollow effect): turn segments into shells of a given thickness in millimetres, inside, centred
on, or outside their surface. Distances are exact Euclidean distances with the voxel spacing (scipy's distance
transform with `sampling=spacing`), with the same conventions as Margin:

- a voxel of the segment is at depth d = the distance from its centre to the nearest voxel centre outside it
  (a border voxel is one spacing deep); a voxel outside is at distance d = the distance to the nearest voxel of it;
- INSIDE:  the shell is the segment's voxels with depth <= T (the segment minus its shrink by T);
- OUTSIDE: the shell is the voxels outside with distance <= T (its grow by T minus the segment);
- CENTRED: depth <= T/2 inside plus distance <= T/2 outside.

Each segment is computed on its bounding box grown by the reach (never a pass over the whole volume per segment),
from the state before the run; the shell replaces the segment (only changed voxels are written) and what it gains
outside follows the overwrite mode. Outside the lattice counts as outside.
"""
from __future__ import annotations

import enum
import math

import numpy as np
from ._ndimage import ndimage

from ..edits import EditPolicy
from ..segmentation import Segmentation, SegmentationError
from .plan import OpResult, Plan, Progress, Window, apply_plan, editable_ids, report, scaled, set_changes

_EPS = 1e-6


class HollowMode(enum.Enum):
    INSIDE = "inside"
    CENTRED = "centred"
    OUTSIDE = "outside"


def hollow(seg: Segmentation, segment_ids, thickness_mm: float, mode: HollowMode = HollowMode.INSIDE,
           policy: EditPolicy | None = None, progress: Progress = None) -> OpResult:
    """Replace each segment by its shell; one undo step."""
    plan = plan_hollow(seg, segment_ids, thickness_mm, mode, scaled(progress, 0.0, 0.7))
    return apply_plan(seg, plan, policy, scaled(progress, 0.7, 1.0))


def plan_hollow(seg: Segmentation, segment_ids, thickness_mm: float, mode: HollowMode = HollowMode.INSIDE,
                progress: Progress = None) -> Plan:
    t = float(thickness_mm)
    if not math.isfinite(t) or t <= 0:
        raise SegmentationError("the shell thickness must be a positive number of millimetres")
    mode = HollowMode(mode)
    ids, locked = editable_ids(seg, segment_ids)
    plan = Plan(f"Hollow {t:g} mm {mode.value}" + (f" ({len(ids)} segments)" if len(ids) > 1 else ""),
                skipped=locked)
    spacing = seg.geometry.spacing
    outward = {HollowMode.INSIDE: 0.0, HollowMode.CENTRED: t / 2, HollowMode.OUTSIDE: t}[mode]
    inward = t - outward
    pad = [int(math.floor(outward / sp + _EPS)) + 1 for sp in spacing]
    for n, sid in enumerate(ids):
        box = seg.bounding_box(sid)
        if box is not None:
            win = Window.read(seg, sid, box, pad)
            shell = shell_mask(win.mask, spacing, inward, outward)
            plan.changes.extend(set_changes(sid, win.on_lattice(win.mask), win.on_lattice(shell), win.lattice_box))
        report(progress, (n + 1) / len(ids))
    return plan


def shell_mask(mask: np.ndarray, spacing, inward: float, outward: float) -> np.ndarray:
    """The shell of a mask padded by at least one background voxel all round: voxels inside at depth <= inward,
    and voxels outside at distance <= outward (both in mm, exact Euclidean with the spacing)."""
    out = np.zeros_like(mask)
    if inward > 0:
        depth = ndimage.distance_transform_edt(mask, sampling=spacing)
        out |= mask & (depth <= inward + _EPS)
    if outward > 0:
        dist = ndimage.distance_transform_edt(~mask, sampling=spacing)
        out |= ~mask & (dist <= outward + _EPS)
    return out
