"""Logical operations (Slicer's Logical operators effect), applied to each selected segment S, with a modifier
segment M where the operation needs one:

- COPY: S becomes M;             - ADD: S gains M;           - SUBTRACT: S loses M;
- INTERSECT: S keeps only M;     - INVERT: S becomes the lattice minus S;
- CLEAR: S becomes empty;        - FILL: S becomes the whole lattice.
Gains go through the overwrite mode (ADD / SET), losses only touch S. Work is on the boxes of S and M; INVERT and
FILL are whole-lattice by nature.
"""
from __future__ import annotations

import enum

import numpy as np

from ..edits import EditMode, EditPolicy
from ..label_values import intersect_box, union_box
from ..segmentation import Segmentation, SegmentationError
from .plan import Change, OpResult, Plan, Progress, apply_plan, editable_ids, full_box, report, scaled, set_changes


class LogicalOp(enum.Enum):
    COPY = "copy"
    ADD = "add"
    SUBTRACT = "subtract"
    INTERSECT = "intersect"
    INVERT = "invert"
    CLEAR = "clear"
    FILL = "fill"

    @property
    def needs_modifier(self) -> bool:
        return self in (LogicalOp.COPY, LogicalOp.ADD, LogicalOp.SUBTRACT, LogicalOp.INTERSECT)


def logical(seg: Segmentation, segment_ids, op: LogicalOp, modifier_id: str | None = None,
            policy: EditPolicy | None = None, progress: Progress = None) -> OpResult:
    plan = plan_logical(seg, segment_ids, op, modifier_id, scaled(progress, 0.0, 0.5))
    return apply_plan(seg, plan, policy, scaled(progress, 0.5, 1.0))


def plan_logical(seg: Segmentation, segment_ids, op: LogicalOp, modifier_id: str | None = None,
                 progress: Progress = None) -> Plan:
    ids, locked = editable_ids(seg, segment_ids)
    mod_box = mod_mask = None
    if op.needs_modifier:
        if modifier_id is None:
            raise SegmentationError(f"'{op.value}' needs a modifier segment")
        seg.segment(modifier_id)
        ids = [i for i in ids if i != modifier_id]
        if not ids:
            raise SegmentationError("the modifier segment cannot also be the segment it modifies")
        mod_box = seg.bounding_box(modifier_id)
        mod_mask = None if mod_box is None else seg.mask(modifier_id, mod_box)
    name = op.value.capitalize() + (f" ({len(ids)} segments)" if len(ids) > 1 else "")
    plan = Plan(name, skipped=locked)
    for n, sid in enumerate(ids):
        plan.changes.extend(_changes(seg, sid, op, mod_box, mod_mask))
        report(progress, (n + 1) / len(ids))
    return plan


def _changes(seg, sid, op, mod_box, mod_mask) -> list[Change]:
    """S becomes op(S, M) through set_changes: only changed voxels are written (S keeps its overlaps)."""
    box = seg.bounding_box(sid)
    if op is LogicalOp.CLEAR:
        return [] if box is None else [Change(sid, box, seg.mask(sid, box), EditMode.REMOVE)]
    if op in (LogicalOp.FILL, LogicalOp.INVERT):
        old = seg.mask(sid)
        new = np.ones_like(old) if op is LogicalOp.FILL else ~old
        return set_changes(sid, old, new, full_box(seg.geometry.shape))
    if op in (LogicalOp.SUBTRACT, LogicalOp.INTERSECT) and (box is None or mod_box is None):
        return _changes(seg, sid, LogicalOp.CLEAR, None, None) if op is LogicalOp.INTERSECT else []
    if op is LogicalOp.SUBTRACT:
        common = intersect_box(box, mod_box)
        if common is None:
            return []
        return [Change(sid, common, seg.mask(sid, common) & _mod_on(common, mod_box, mod_mask), EditMode.REMOVE)]
    if op is LogicalOp.INTERSECT:
        return [Change(sid, box, seg.mask(sid, box) & ~_mod_on(box, mod_box, mod_mask), EditMode.REMOVE)]
    both = union_box(box, mod_box) if box is not None else mod_box
    if both is None:                     # COPY or ADD of an empty modifier onto an empty segment
        return []
    old = seg.mask(sid, both)
    mod = _mod_on(both, mod_box, mod_mask) if mod_box is not None else np.zeros_like(old)
    return set_changes(sid, old, mod if op is LogicalOp.COPY else old | mod, both)


def _mod_on(box, mod_box, mod_mask) -> np.ndarray:
    """The modifier's mask on another box (False outside the modifier's box)."""
    out = np.zeros([b.stop - b.start for b in box], dtype=bool)
    common = intersect_box(box, mod_box)
    if common is not None:
        dst = tuple(slice(c.start - b.start, c.stop - b.start) for c, b in zip(common, box))
        src = tuple(slice(c.start - m.start, c.stop - m.start) for c, m in zip(common, mod_box))
        out[dst] = mod_mask[src]
    return out

