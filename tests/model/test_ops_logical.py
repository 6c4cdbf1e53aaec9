"""Logical operations against numpy on plain boolean arrays, for several target segments on two layers, with a
locked neighbour, overwrite modes and exact undo."""
from __future__ import annotations

import numpy as np
import pytest

from app.model.edits import EditPolicy, Overwrite
from app.model.ops import LogicalOp, logical, plan_logical
from app.model.segmentation import SegmentationError

from .ops_cases import box_mask, make_seg, masks_of, same_snapshot, sequential_reference, snapshot

SHAPE = (16, 14, 10)


def _case():
    a = box_mask(SHAPE, (1, 1, 1), (7, 7, 5))
    b = box_mask(SHAPE, (7, 1, 1), (13, 7, 5))
    m = box_mask(SHAPE, (4, 3, 2), (10, 11, 8))          # the modifier: overlaps a and b, so layer 1
    locked = box_mask(SHAPE, (5, 9, 3), (9, 13, 6))      # inside m's reach, locked
    seg, ids = make_seg({"a": a, "b": b, "m": m, "locked": locked})
    seg.update_segment(ids[3], locked=True)
    return seg, ids


def _expected(op, s, m, full):
    return {LogicalOp.COPY: m, LogicalOp.ADD: s | m, LogicalOp.SUBTRACT: s & ~m, LogicalOp.INTERSECT: s & m,
            LogicalOp.INVERT: ~s, LogicalOp.CLEAR: np.zeros_like(s), LogicalOp.FILL: full}[op]


@pytest.mark.parametrize("op", list(LogicalOp))
def test_each_operation_on_two_targets_matches_numpy(op):
    seg, (a, b, m, lk) = _case()
    before = masks_of(seg)
    snap = snapshot(seg)
    targets = [a, b]
    result = logical(seg, targets, op, m if op.needs_modifier else None)
    full = np.ones(SHAPE, bool)
    new = {t: _expected(op, before[t], before[m], full) for t in targets}
    expected = sequential_reference(before, new, locked=(lk,))
    for sid in (a, b, m, lk):
        assert np.array_equal(seg.mask(sid), expected[sid]), (op, seg.segment(sid).name)
    assert len(seg.history.undo_stack) == 1 and result.written > 0
    seg.undo()
    assert same_snapshot(snapshot(seg), snap)


def test_add_with_allow_overlap_leaves_the_modifier_and_others_intact():
    seg, (a, b, m, lk) = _case()
    before = masks_of(seg)
    logical(seg, [a], LogicalOp.ADD, m, EditPolicy(overwrite=Overwrite.NONE))
    assert np.array_equal(seg.mask(a), before[a] | (before[m] & ~before[lk]))
    for sid in (b, m, lk):
        assert np.array_equal(seg.mask(sid), before[sid])


def test_modifier_errors():
    seg, (a, b, m, lk) = _case()
    with pytest.raises(SegmentationError, match="modifier"):
        plan_logical(seg, [a], LogicalOp.ADD)
    with pytest.raises(SegmentationError, match="cannot also be"):
        plan_logical(seg, [m], LogicalOp.SUBTRACT, m)
    assert plan_logical(seg, [lk], LogicalOp.CLEAR).skipped == [lk]


def test_preview_summary_counts_what_apply_changes():
    seg, (a, b, m, lk) = _case()
    plan = plan_logical(seg, [a, b], LogicalOp.SUBTRACT, m)
    summary = plan.summary(seg)
    before = {a: seg.voxel_count(a), b: seg.voxel_count(b)}
    logical(seg, [a, b], LogicalOp.SUBTRACT, m)
    for sid in (a, b):
        assert summary[sid] == (0, before[sid] - seg.voxel_count(sid))
