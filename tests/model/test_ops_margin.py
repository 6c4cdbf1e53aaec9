"""Margin (grow/shrink in mm) against scipy.ndimage morphology on plain boolean arrays, anisotropic spacing,
several segments on different layers, locks, and exact undo."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy import ndimage

from app.model.brush import ball
from app.model.edits import EditPolicy, Overwrite
from app.model.ops import margin, plan_margin
from app.model.segmentation import SegmentationError

from .ops_cases import ball_mask, box_mask, make_seg, masks_of, same_snapshot, snapshot

SPACING = (0.7, 1.3, 2.1)
SHAPE = (30, 22, 14)


def _blob():
    m = ball_mask(SHAPE, (12, 10, 6), 5.0, SPACING)
    m |= box_mask(SHAPE, (18, 4, 3), (26, 9, 6))       # a second, touching lobe
    return m


@pytest.mark.parametrize("d", [0.6, 1.4, 2.5, 4.2])
def test_grow_equals_dilation_by_an_ellipsoid_on_an_anisotropic_lattice(d):
    m = _blob()
    seg, (sid,) = make_seg({"a": m}, SPACING)
    margin(seg, [sid], d)
    expected = ndimage.binary_dilation(m, structure=ball(d, SPACING))
    assert np.array_equal(seg.mask(sid), expected)


@pytest.mark.parametrize("d", [0.6, 1.4, 2.5])
def test_shrink_equals_erosion_with_outside_of_the_lattice_as_background(d):
    m = _blob() | box_mask(SHAPE, (0, 0, 0), (8, 6, 14))    # touches three lattice faces
    seg, (sid,) = make_seg({"a": m}, SPACING)
    margin(seg, [sid], -d)
    expected = ndimage.binary_erosion(m, structure=ball(d, SPACING), border_value=0)
    assert np.array_equal(seg.mask(sid), expected)


def test_grow_stops_at_the_lattice_border_and_undo_is_exact():
    m = box_mask(SHAPE, (0, 0, 0), (3, 3, 3))
    seg, (sid,) = make_seg({"a": m}, SPACING)
    before = snapshot(seg)
    result = margin(seg, [sid], 3.0)
    assert result.written == seg.voxel_count(sid) - m.sum() > 0
    assert len(seg.history.undo_stack) == 1
    seg.undo()
    assert same_snapshot(snapshot(seg), before)
    seg.redo()
    assert np.array_equal(seg.mask(sid), ndimage.binary_dilation(m, structure=ball(3.0, SPACING)))


def _reference_multi_grow(masks: dict, ids, d, spacing, locked=()):
    """Plain-array semantics, full-volume distance maps: a voxel within d of some selected segment and in none of
    them goes to the nearest one (ties: first in the list), unless it is locked; others lose what is taken."""
    selected = [i for i in ids if i not in locked]
    dist = np.stack([ndimage.distance_transform_edt(~masks[i], sampling=spacing) for i in selected])
    nearest = np.argmin(dist, axis=0)
    union = np.any([masks[i] for i in selected], axis=0)
    lock = np.any([masks[i] for i in locked], axis=0) if locked else np.zeros_like(union)
    claimed = (dist.min(axis=0) <= d + 1e-6) & ~union & ~lock
    cur = {k: v.copy() for k, v in masks.items()}
    for n, sid in enumerate(selected):
        gain = claimed & (nearest == n)
        for k in cur:
            if k not in locked:
                cur[k] = (cur[k] | gain) if k == sid else (cur[k] & ~gain)
    return cur


def test_many_segments_on_two_layers_grow_to_the_nearest_without_eating_each_other_and_respect_a_lock():
    a = box_mask(SHAPE, (2, 2, 2), (10, 10, 6))
    b = box_mask(SHAPE, (10, 2, 2), (18, 10, 6))          # touches a
    c = box_mask(SHAPE, (6, 6, 4), (14, 14, 9))           # overlaps a and b: lands on layer 1
    lockd = box_mask(SHAPE, (20, 2, 2), (24, 10, 6))      # a locked, unselected neighbour of b
    free = box_mask(SHAPE, (2, 12, 2), (8, 18, 6))        # an unselected neighbour: may be overwritten
    seg, ids = make_seg({"a": a, "b": b, "c": c, "locked": lockd, "free": free}, SPACING)
    assert len(seg.layers) == 2 and seg.segment(ids[2]).layer == 1
    seg.update_segment(ids[3], locked=True)
    before = masks_of(seg)
    margin(seg, ids[:3], 2.2)
    expected = _reference_multi_grow(before, ids[:3], 2.2, SPACING, locked=(ids[3],))
    for sid in ids:
        assert np.array_equal(seg.mask(sid), expected[sid]), seg.segment(sid).name
    assert np.array_equal(seg.mask(ids[3]), lockd)
    # the order of the selection does not matter
    seg.undo()
    margin(seg, [ids[2], ids[0], ids[1]], 2.2)
    for sid in (ids[0], ids[1]):
        assert seg.voxel_count(sid) == int(expected[sid].sum())


def test_two_segments_meet_halfway_in_the_background_gap_between_them():
    a, b = box_mask(SHAPE, (2, 2, 2), (6, 10, 8)), box_mask(SHAPE, (16, 2, 2), (20, 10, 8))
    seg, ids = make_seg({"a": a, "b": b}, SPACING)
    margin(seg, ids, 20.0)
    ma, mb = seg.mask(ids[0]), seg.mask(ids[1])
    assert not (ma & mb).any()
    assert ma[:11].any() and not ma[11:].any() and mb[11:].any() and not mb[:11].any()   # i = 6..15: split at 10.5


def test_a_locked_selected_segment_is_skipped_and_reported():
    seg, ids = make_seg({"a": box_mask(SHAPE, (2, 2, 2), (6, 6, 6)), "b": box_mask(SHAPE, (12, 2, 2), (16, 6, 6))},
                        SPACING)
    seg.update_segment(ids[0], locked=True)
    result = margin(seg, ids, 1.5)
    assert result.skipped == [ids[0]] and result.changed == [ids[1]]
    assert np.array_equal(seg.mask(ids[0]), box_mask(SHAPE, (2, 2, 2), (6, 6, 6)))


def test_overwrite_none_moves_a_grown_segment_to_a_new_layer_instead_of_painting_over_a_neighbour():
    a, b = box_mask(SHAPE, (2, 2, 2), (8, 8, 6)), box_mask(SHAPE, (8, 2, 2), (14, 8, 6))
    seg, ids = make_seg({"a": a, "b": b}, SPACING)
    margin(seg, [ids[0]], 1.5, EditPolicy(overwrite=Overwrite.NONE))
    assert np.array_equal(seg.mask(ids[1]), b)
    assert seg.segment(ids[0]).layer != seg.segment(ids[1]).layer
    assert np.array_equal(seg.mask(ids[0]), ndimage.binary_dilation(a, structure=ball(1.5, SPACING)))


def test_bad_input_is_one_clear_error():
    seg, ids = make_seg({"a": box_mask(SHAPE, (2, 2, 2), (6, 6, 6))}, SPACING)
    with pytest.raises(SegmentationError, match="finite"):
        plan_margin(seg, ids, float("nan"))
    with pytest.raises(SegmentationError, match="select"):
        plan_margin(seg, [], 1.0)
    assert plan_margin(seg, ids, 0.0).empty


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 9), st.integers(0, 7), st.integers(0, 5)), min_size=1, max_size=12),
       st.floats(-2.5, 2.5).filter(lambda d: abs(d) > 0.05),
       st.sampled_from([(1.0, 1.0, 1.0), (0.5, 1.0, 2.0), (1.7, 0.8, 1.1)]))
def test_property_single_segment_margin_is_morphology_and_undo_restores(points, d, spacing):
    shape = (10, 8, 6)
    m = np.zeros(shape, bool)
    for p in points:
        m[p] = True
    seg, (sid,) = make_seg({"a": m}, spacing)
    before = snapshot(seg)
    margin(seg, [sid], d)
    se = ball(abs(d), spacing)
    expected = (ndimage.binary_dilation(m, structure=se) if d > 0
                else ndimage.binary_erosion(m, structure=se, border_value=0))
    assert np.array_equal(seg.mask(sid), expected)
    seg.undo()
    assert same_snapshot(snapshot(seg), before)
