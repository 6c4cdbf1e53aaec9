"""Whole-atlas tools, Qt-free: threshold, islands, margin, smoothing (incl. joint), logical operations, fill
between slices, hollow (and grow from seeds, interactive: `grow.GrowSession`), each on one or many segments at once, on the shared layers directly.

Each tool is a plain function `tool(seg, segment_ids, <parameters>, policy=None, progress=None) -> OpResult` that runs
as ONE undo step, changes voxels only through `app.model.edits.apply_mask` (so overwrite modes and locks are
honoured; selected locked segments are skipped and reported) and works per segment on its bounding box. Each has a
`plan_<tool>` twin that computes the edits without applying them (previews); `apply_plan` applies such a plan.

    from app.model.ops import margin
    margin(seg, seg.segment_ids, 2.0)          # grow every segment by 2 mm
"""
from .contour import (ScissorsOperation, ScissorsShape, SliceCut, draw, plan_draw, plan_scissors,
                      scissors)
from .grow import BACKGROUND, GrowSession, grow_from_seeds, plan_grow
from .hollow import HollowMode, hollow, plan_hollow
from .interpolate import fill_between_slices, plan_fill_between_slices
from .islands import IslandMode, islands, plan_islands
from .joint import plan_joint_smoothing
from .logical import LogicalOp, logical, plan_logical
from .margin import margin, plan_margin
from .plan import Change, OpResult, Plan, apply_plan
from .smoothing import SmoothingMethod, plan_smoothing, smooth
from .region import FloodRange, flood_fill, level_trace, plan_flood_fill, plan_level_trace
from .threshold import ThresholdMode, plan_threshold, threshold


def joint_smoothing(seg, segment_ids, std_mm: float, policy=None, progress=None) -> OpResult:
    """Smooth many segments together: no gaps, no overlaps between them (see joint.py)."""
    return smooth(seg, segment_ids, SmoothingMethod.JOINT, std_mm, policy, progress)


__all__ = [
    "BACKGROUND", "GrowSession", "HollowMode", "grow_from_seeds", "hollow", "plan_grow", "plan_hollow",
    "Change", "IslandMode", "LogicalOp", "OpResult", "Plan", "SmoothingMethod", "ThresholdMode", "apply_plan",
    "fill_between_slices", "islands", "joint_smoothing", "logical", "margin", "plan_fill_between_slices",
    "plan_islands", "plan_joint_smoothing", "plan_logical", "plan_margin", "plan_smoothing", "plan_threshold",
    "smooth", "threshold",
    # interactive tools (issue 14): Draw, Scissors, Level tracing, Flood fill
    "FloodRange", "ScissorsOperation", "ScissorsShape", "SliceCut", "draw", "flood_fill", "level_trace",
    "plan_draw", "plan_flood_fill", "plan_level_trace", "plan_scissors", "scissors",
]
