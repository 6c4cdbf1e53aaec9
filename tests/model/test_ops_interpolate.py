"""Fill between slices against an independent full-slice signed-distance computation on plain arrays, along each
axis, on an anisotropic lattice; drawn slices are kept, nothing is extrapolated; several segments, locks, undo."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from app.model.edits import EditPolicy, Overwrite
from app.model.ops import fill_between_slices, plan_fill_between_slices
from app.model.segmentation import SegmentationError

from .ops_cases import make_seg, same_snapshot, snapshot

SPACING = (0.8, 1.1, 2.5)
SHAPE = (30, 26, 16)


def _disc(shape2d, center, r_mm, spacing2d):
    g = np.ogrid[0:shape2d[0], 0:shape2d[1]]
    return ((g[0] - center[0]) * spacing2d[0]) ** 2 + ((g[1] - center[1]) * spacing2d[1]) ** 2 <= r_mm ** 2


def _sd_full(m2d, spacing2d):
    """Signed distance on the whole (unpadded) slice: an independent computation (no box, no padding trick)."""
    big = np.pad(m2d, 40)
    sd = ndimage.distance_transform_edt(big, sampling=spacing2d) - ndimage.distance_transform_edt(~big, sampling=spacing2d)
    return sd[40:-40, 40:-40]


def _reference(vol, axis, spacing):
    sp2 = [s for a, s in enumerate(spacing) if a != axis]
    mv = np.moveaxis(vol, axis, 0)
    out = mv.copy()
    drawn = [t for t in range(mv.shape[0]) if mv[t].any()]
    for a, b in zip(drawn, drawn[1:]):
        sa, sb = _sd_full(mv[a], sp2), _sd_full(mv[b], sp2)
        for t in range(a + 1, b):
            w = (t - a) / (b - a)
            out[t] = (1 - w) * sa + w * sb > 0
    return np.moveaxis(out, 0, axis)


def _sparse(axis, slices_and_radii, center=(14, 12)):
    vol = np.zeros(SHAPE, bool)
    mv = np.moveaxis(vol, axis, 0)
    sp2 = [s for a, s in enumerate(SPACING) if a != axis]
    for t, r in slices_and_radii:
        mv[t] = _disc(mv.shape[1:], center, r, sp2)
    return vol


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_interpolation_matches_the_full_slice_reference_along_each_axis(axis):
    vol = _sparse(axis, [(2, 4.0), (7, 9.0), (8, 9.0), (13, 3.0)])
    seg, (sid,) = make_seg({"a": vol}, SPACING)
    before = snapshot(seg)
    fill_between_slices(seg, [sid], axis)
    got = seg.mask(sid)
    assert np.array_equal(got, _reference(vol, axis, SPACING))
    mv, gv = np.moveaxis(vol, axis, 0), np.moveaxis(got, axis, 0)
    for t in (2, 7, 8, 13):
        assert np.array_equal(gv[t], mv[t])                     # drawn slices are kept
    assert not gv[:2].any() and not gv[14:].any()               # no extrapolation
    assert all(gv[t].any() for t in range(2, 14))
    seg.undo()
    assert same_snapshot(snapshot(seg), before)


def test_identical_slices_give_a_prism_and_shrinking_discs_shrink_monotonically():
    vol = _sparse(2, [(1, 6.0), (9, 6.0)])
    seg, (sid,) = make_seg({"a": vol}, SPACING)
    fill_between_slices(seg, [sid], 2)
    m = seg.mask(sid)
    assert all(np.array_equal(m[:, :, t], vol[:, :, 1]) for t in range(1, 10))
    vol = _sparse(2, [(0, 10.0), (10, 2.0)])
    seg, (sid,) = make_seg({"a": vol}, SPACING)
    fill_between_slices(seg, [sid], 2)
    areas = seg.mask(sid).sum(axis=(0, 1))[:11]
    assert all(x >= y for x, y in zip(areas, areas[1:])) and areas[5] > areas[10]


def test_several_segments_on_two_layers_and_a_locked_one():
    a = _sparse(2, [(1, 4.0), (6, 4.0)], center=(7, 7))
    b = _sparse(2, [(1, 5.0), (12, 5.0)], center=(9, 9))           # overlaps a: on layer 1
    c = _sparse(2, [(3, 3.0), (9, 3.0)], center=(7, 20))
    seg, ids = make_seg({"a": a, "b": b, "c": c}, SPACING)
    assert seg.segment(ids[1]).layer == 1
    seg.update_segment(ids[2], locked=True)
    result = fill_between_slices(seg, ids, 2, EditPolicy(overwrite=Overwrite.NONE))    # allow overlap
    assert result.skipped == [ids[2]] and set(result.changed) == {ids[0], ids[1]}
    assert np.array_equal(seg.mask(ids[0]), _reference(a, 2, SPACING))
    assert np.array_equal(seg.mask(ids[1]), _reference(b, 2, SPACING))
    assert np.array_equal(seg.mask(ids[2]), c)
    with pytest.raises(SegmentationError, match="axis"):
        plan_fill_between_slices(seg, ids, 3)


def test_an_oblique_tube_keeps_its_calibre_and_stays_connected():
    """Two discs that do not overlap (a tilted vessel drawn on two slices): each slice between them is the same disc
    at the linearly interpolated centre (up to voxel rounding), and the result is one connected tube."""
    sp2 = SPACING[:2]
    vol = np.zeros(SHAPE, bool)
    vol[:, :, 1] = _disc(SHAPE[:2], (7, 6), 3.5, sp2)
    vol[:, :, 11] = _disc(SHAPE[:2], (21, 18), 3.5, sp2)
    assert not (vol[:, :, 1] & vol[:, :, 11]).any()
    seg, (sid,) = make_seg({"a": vol}, SPACING)
    fill_between_slices(seg, [sid], 2)
    m = seg.mask(sid)
    for t in range(2, 11):
        w = (t - 1) / 10
        centre = (7 + w * 14, 6 + w * 12)
        want = _disc(SHAPE[:2], centre, 3.5, sp2)
        got = m[:, :, t]
        iou = (got & want).sum() / (got | want).sum()
        assert iou >= 0.75, (t, iou)
        assert abs(int(got.sum()) - int(want.sum())) <= 0.25 * want.sum()
    _, n = ndimage.label(m, ndimage.generate_binary_structure(3, 3))
    assert n == 1
