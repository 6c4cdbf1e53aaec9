"""Threshold of a grey-value volume (on the segmentation lattice) into segments (Slicer's Threshold effect).

The in-range voxels are those with lo <= value <= hi (inclusive). Modes:
- SET: the segment becomes the in-range voxels (Slicer's behaviour; one segment);
  as every tool here, only changed voxels are written, so the segment keeps its overlaps with other layers;
- ADD: the segment gains them (one segment);
- KEEP: each selected segment keeps only its in-range voxels (many segments: e.g. drop CSF from cortical labels);
- REMOVE: each selected segment loses its in-range voxels.
SET/ADD work on the tight box of the in-range voxels (one pass over the volume); KEEP/REMOVE on each segment's box.
Resampling a reference volume from another lattice is the caller's job (the UI does it by nearest neighbour).
"""
from __future__ import annotations

import enum
import math

import numpy as np

from ..edits import EditMode, EditPolicy
from ..segmentation import Segmentation, SegmentationError
from ..label_values import union_box
from .plan import (Change, OpResult, Plan, Progress, apply_plan, editable_ids, full_box, report, scaled,
                   set_changes, shrink_to_content)


class ThresholdMode(enum.Enum):
    SET = "set"
    ADD = "add"
    KEEP = "keep in range"
    REMOVE = "remove in range"


def threshold(seg: Segmentation, segment_ids, intensity: np.ndarray, lo: float, hi: float,
              mode: ThresholdMode = ThresholdMode.SET, policy: EditPolicy | None = None,
              progress: Progress = None) -> OpResult:
    plan = plan_threshold(seg, segment_ids, intensity, lo, hi, mode, scaled(progress, 0.0, 0.5))
    return apply_plan(seg, plan, policy, scaled(progress, 0.5, 1.0))


def in_range(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return (values >= lo) & (values <= hi)


def plan_threshold(seg: Segmentation, segment_ids, intensity: np.ndarray, lo: float, hi: float,
                   mode: ThresholdMode = ThresholdMode.SET, progress: Progress = None) -> Plan:
    if intensity is None or tuple(intensity.shape) != seg.geometry.shape:
        raise SegmentationError("the grey-value volume is not on the segmentation's lattice")
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
        raise SegmentationError("the threshold range needs a finite minimum no greater than its maximum")
    ids, locked = editable_ids(seg, segment_ids)
    if mode in (ThresholdMode.SET, ThresholdMode.ADD) and len(list(dict.fromkeys(segment_ids))) > 1:
        raise SegmentationError("threshold into a segment works on one segment at a time; select only one")
    plan = Plan(f"Threshold {lo:g}..{hi:g} ({mode.value})" + (f", {len(ids)} segments" if len(ids) > 1 else ""),
                skipped=locked)
    if mode in (ThresholdMode.SET, ThresholdMode.ADD):
        for sid in ids:
            plan.changes.extend(_into(seg, sid, intensity, lo, hi, mode))
        report(progress, 1.0)
        return plan
    for n, sid in enumerate(ids):
        box = seg.bounding_box(sid)
        if box is not None:
            inside = in_range(intensity[box], lo, hi)
            drop = seg.mask(sid, box) & (~inside if mode is ThresholdMode.KEEP else inside)
            cropped = shrink_to_content(drop, box)
            if cropped is not None:
                plan.changes.append(Change(sid, cropped[1], cropped[0], EditMode.REMOVE))
        report(progress, (n + 1) / len(ids))
    return plan


def _into(seg, sid, intensity, lo, hi, mode) -> list[Change]:
    """SET / ADD as changed voxels only (the segment keeps its overlaps with other layers)."""
    whole = full_box(seg.geometry.shape)
    cropped = shrink_to_content(in_range(intensity, lo, hi), whole)
    old_box = seg.bounding_box(sid)
    box = union_box(old_box, None if cropped is None else cropped[1])
    if box is None:
        return []
    old = seg.mask(sid, box)
    new = in_range(intensity[box], lo, hi)
    return set_changes(sid, old, new if mode is ThresholdMode.SET else old | new, box)
