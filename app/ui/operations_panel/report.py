"""What the Tools panel tells the user about a plan's effect (before Apply) and a result (after)."""
from __future__ import annotations


def describe_effect(seg, plan, effect, max_names: int = 6) -> str:
    """What Apply will do, from a dry run: every segment that gains or loses voxels, named, with its counts."""
    counts = sorted(effect.counts.items(), key=lambda kv: -(kv[1][0] + kv[1][1]))
    text = (f"{plan.name}: +{effect.voxels_gained:,} / −{effect.voxels_lost:,} voxels in {len(counts)} "
            f"segment(s)")
    if effect.created:
        text += f" ({len(effect.created)} new)"
    if counts:
        parts = [f"{effect.names[sid]} +{g:,}/−{l:,}" for sid, (g, l) in counts[:max_names]]
        more = len(counts) - max_names
        text += ": " + "; ".join(parts) + (f"; and {more} more" if more > 0 else "")
    if effect.skipped:
        names = ", ".join(seg.segment(s).name for s in effect.skipped[:3]) + ("…" if len(effect.skipped) > 3 else "")
        text += f"; locked, left alone: {names}"
    return text + ". Press Apply to apply it."


def describe_result(result) -> str:
    text = f"{result.name}: {result.written:,} voxels changed in {len(result.changed)} segment(s)"
    if result.created:
        text += f", {len(result.created)} new segment(s)"
    if result.skipped:
        text += f"; {len(result.skipped)} locked segment(s) left alone"
    return text + "."
