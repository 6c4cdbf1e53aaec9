"""Threshold into segments against numpy comparisons on the grey array: set / add into one segment, keep / remove
in-range voxels of many segments on two layers, locks and undo."""
from __future__ import annotations

import numpy as np
import pytest

from app.model.ops import ThresholdMode, plan_threshold, threshold
from app.model.segmentation import SegmentationError

from .ops_cases import box_mask, make_seg, masks_of, same_snapshot, sequential_reference, snapshot

SHAPE = (20, 16, 10)


@pytest.fixture
def grey():
    return np.random.default_rng(5).normal(100, 40, SHAPE).astype(np.float32)


def _case():
    a = box_mask(SHAPE, (1, 1, 1), (9, 9, 6))
    b = box_mask(SHAPE, (9, 1, 1), (17, 9, 6))
    c = box_mask(SHAPE, (5, 5, 3), (13, 13, 9))           # overlaps a and b: layer 1
    lk = box_mask(SHAPE, (1, 10, 1), (6, 15, 9))
    seg, ids = make_seg({"a": a, "b": b, "c": c, "locked": lk})
    seg.update_segment(ids[3], locked=True)
    return seg, ids


def test_set_replaces_one_segment_with_the_in_range_voxels_and_undo_is_exact(grey):
    seg, (a, b, c, lk) = _case()
    before, snap = masks_of(seg), snapshot(seg)
    threshold(seg, [a], grey, 80.0, 130.0)
    inside = (grey >= 80) & (grey <= 130)
    expected = sequential_reference(before, {a: inside}, locked=(lk,))
    for sid in (a, b, c, lk):
        assert np.array_equal(seg.mask(sid), expected[sid])
    assert len(seg.history.undo_stack) == 1
    seg.undo()
    assert same_snapshot(snapshot(seg), snap)


def test_add_keeps_what_the_segment_had(grey):
    seg, (a, b, c, lk) = _case()
    before = masks_of(seg)
    threshold(seg, [a], grey, 150.0, 1e9, ThresholdMode.ADD)
    inside = grey >= 150
    expected = sequential_reference(before, {a: before[a] | inside}, locked=(lk,))
    for sid in (a, b, c, lk):
        assert np.array_equal(seg.mask(sid), expected[sid])


@pytest.mark.parametrize("mode", [ThresholdMode.KEEP, ThresholdMode.REMOVE])
def test_keep_or_remove_on_many_segments_of_two_layers(grey, mode):
    seg, (a, b, c, lk) = _case()
    before = masks_of(seg)
    result = threshold(seg, [a, b, c, lk], grey, 60.0, 140.0, mode)
    assert result.skipped == [lk]
    inside = (grey >= 60) & (grey <= 140)
    for sid in (a, b, c):
        assert np.array_equal(seg.mask(sid), before[sid] & (inside if mode is ThresholdMode.KEEP else ~inside))
    assert np.array_equal(seg.mask(lk), before[lk])


def test_empty_range_empties_the_segment_with_set(grey):
    seg, (a, b, c, lk) = _case()
    threshold(seg, [a], grey, 1e6, 2e6)
    assert seg.voxel_count(a) == 0 and seg.voxel_count(b) > 0


def test_refusals(grey):
    seg, (a, b, c, lk) = _case()
    with pytest.raises(SegmentationError, match="one segment"):
        plan_threshold(seg, [a, b], grey, 0, 1)
    with pytest.raises(SegmentationError, match="lattice"):
        plan_threshold(seg, [a], grey[:5], 0, 1)
    with pytest.raises(SegmentationError, match="minimum"):
        plan_threshold(seg, [a], grey, 5, 1)
