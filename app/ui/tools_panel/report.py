"""What the Tools panel tells the user about a plan (before Apply) and a result (after), and the code volume the
preview overlay shows."""
from __future__ import annotations

import numpy as np

from app.model.edits import EditMode

from .overlay import GAINED, LOST


def plan_codes(plan, shape) -> np.ndarray:
    """A uint8 lattice volume: GAINED where the plan adds, LOST where it removes (what the overlay shows)."""
    codes = np.zeros(shape, dtype=np.uint8)
    for c in plan.changes:
        region = codes[c.box]
        region[c.mask] = LOST if c.mode is EditMode.REMOVE else GAINED
    return codes


def describe_plan(seg, plan, summary) -> str:
    """One line: what Apply would do (counts before the overwrite mode and locks of unselected segments)."""
    gained = sum(g for k, (g, _) in summary.items() if not k.endswith("+new"))
    lost = sum(l for _, (_, l) in summary.items())
    new = sum(1 for c in plan.changes if c.new_segment is not None)
    touched = len({k for k, (g, l) in summary.items() if g or l})
    text = f"{plan.name}: +{gained:,} / −{lost:,} voxels in {touched} segment(s)"
    if new:
        text += f", {new} new segment(s)"
    if plan.skipped:
        names = ", ".join(seg.segment(s).name for s in plan.skipped[:3]) + ("…" if len(plan.skipped) > 3 else "")
        text += f"; locked, left alone: {names}"
    return text + ". Press Apply to apply it."


def describe_result(result) -> str:
    text = f"{result.name}: {result.written:,} voxels changed in {len(result.changed)} segment(s)"
    if result.created:
        text += f", {len(result.created)} new segment(s)"
    if result.skipped:
        text += f"; {len(result.skipped)} locked segment(s) left alone"
    return text + "."
