"""Hollow against brute-force distances (every voxel pair, in mm) on tiny volumes and scipy morphology with an
ellipsoid on larger ones, in every axis order of the file; locks, box and exact undo as properties."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from scipy import ndimage

from app.model.brush import ball
from app.model.edits import EditPolicy, Overwrite
from app.model.geometry import Geometry
from app.model.ops import HollowMode, hollow, plan_hollow
from app.model.segmentation import Segmentation, SegmentationError

from .ops_cases import ball_mask, box_mask, make_seg, masks_of, same_snapshot, sequential_reference, snapshot

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def brute_shell(m: np.ndarray, spacing, inward: float, outward: float) -> np.ndarray:
    """Every voxel against every other: depth = distance to the nearest voxel outside the mask (outside the lattice
    counts, so the array is padded by one), distance = to the nearest voxel of the mask."""
    p = np.pad(m, 1)
    pts = np.argwhere(np.ones(p.shape, bool)) * np.asarray(spacing)
    inside = p.ravel()
    d = np.sqrt(((pts[:, None, :] - pts[None, :, :]) ** 2).sum(-1))
    depth = np.where(inside[:, None] & ~inside[None, :], d, np.inf).min(1)
    dist = np.where(~inside[:, None] & inside[None, :], d, np.inf).min(1) if inside.any() else np.full(len(d), np.inf)
    shell = (inside & (depth <= inward + 1e-6)) | (~inside & (dist <= outward + 1e-6))
    return shell.reshape(p.shape)[1:-1, 1:-1, 1:-1]


SPLIT = {HollowMode.INSIDE: (1.0, 0.0), HollowMode.CENTRED: (0.5, 0.5), HollowMode.OUTSIDE: (0.0, 1.0)}


@SETTINGS
@given(st.integers(0, 10 ** 6), st.sampled_from(list(HollowMode)), st.floats(0.5, 4.0),
       st.sampled_from([(1.0, 1.0, 1.0), (0.7, 1.3, 2.2)]))
def test_shell_equals_brute_force_distances_on_tiny_volumes(seed, mode, t, spacing):
    rng = np.random.default_rng(seed)
    shape = (6, 5, 4)
    m = ndimage.binary_closing(rng.random(shape) < 0.5) & (rng.random(shape) < 0.9)
    if not m.any():
        m[2, 2, 2] = True
    seg, (sid,) = make_seg({"a": m}, spacing)
    hollow(seg, [sid], t, mode)
    fi, fo = SPLIT[mode]
    assert np.array_equal(seg.mask(sid), brute_shell(m, spacing, fi * t, fo * t))


SPACING = (0.7, 1.3, 2.1)
SHAPE = (34, 26, 16)


@pytest.mark.parametrize("mode", list(HollowMode))
@pytest.mark.parametrize("t", [1.5, 3.2])
def test_shell_equals_scipy_morphology_with_an_ellipsoid(mode, t):
    m = ball_mask(SHAPE, (16, 12, 8), 7.0, SPACING) | box_mask(SHAPE, (0, 0, 0), (6, 6, 16))   # touches the border
    seg, (sid,) = make_seg({"a": m}, SPACING)
    hollow(seg, [sid], t, mode)
    fi, fo = SPLIT[mode]
    expect = np.zeros_like(m)
    if fi:     # inside part: the segment minus its erosion by an ellipsoid of radius < t (depth <= t)
        eroded = ndimage.binary_erosion(m, structure=ball(fi * t, SPACING), border_value=0)
        expect |= m & ~eroded
    if fo:
        expect |= ndimage.binary_dilation(m, structure=ball(fo * t, SPACING)) & ~m
    assert np.array_equal(seg.mask(sid), expect)


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_every_axis_order_of_the_file_gives_the_same_shell(order):
    shape0, spacing0 = (20, 16, 12), (0.8, 1.2, 2.0)
    m0 = ball_mask(shape0, (10, 8, 6), 5.0, spacing0)
    out = []
    for perm in [(0, 1, 2), order]:
        shape = tuple(shape0[p] for p in perm)
        spacing = tuple(spacing0[p] for p in perm)
        dirs = np.eye(3)[:, list(perm)]
        seg = Segmentation(Geometry(shape, spacing, (0.0, 0.0, 0.0), tuple(map(tuple, dirs.T))))
        sid = seg.add_segment("a").id
        seg.layers[0][np.transpose(m0, perm)] = 1
        seg.invalidate_statistics(0)
        hollow(seg, [sid], 2.0, HollowMode.CENTRED)
        out.append(np.transpose(seg.mask(sid), np.argsort(perm)))
    assert np.array_equal(out[0], out[1]) and out[0].any()


@st.composite
def atlases(draw):
    shape = (12, 10, 8)
    lab = np.zeros(shape, np.int16)
    n = draw(st.integers(2, 5))
    for v in range(1, n + 1):
        lo = [draw(st.integers(0, s - 2)) for s in shape]
        hi = [draw(st.integers(l + 1, s)) for l, s in zip(lo, shape)]
        lab[tuple(slice(a, b) for a, b in zip(lo, hi))] = v
    return {f"s{v}": lab == v for v in range(1, n + 1) if (lab == v).any()}


@SETTINGS
@given(atlases(), st.sampled_from(list(HollowMode)), st.floats(0.8, 3.0), st.data())
def test_many_segments_match_a_sequential_reference_spare_locks_stay_in_their_box_and_undo_exactly(
        masks, mode, t, data):
    spacing = (1.0, 1.5, 2.0)
    seg, ids = make_seg(masks, spacing)
    locked = data.draw(st.sets(st.sampled_from(ids), max_size=1))
    for sid in locked:
        seg.update_segment(sid, locked=True)
    before, snap = masks_of(seg), snapshot(seg)
    free = [i for i in ids if i not in locked]
    fi, fo = SPLIT[mode]
    new = {i: brute_or_scipy(before[i], spacing, fi * t, fo * t) for i in free}
    result = hollow(seg, ids, t, mode)
    assert set(result.skipped) == set(locked)
    expect = sequential_reference(before, new, locked)
    reach = [int(np.floor(fo * t / sp + 1e-6)) for sp in spacing]
    for sid in ids:
        assert np.array_equal(seg.mask(sid), expect[sid]), sid
    for sid in free:      # nothing changes beyond a segment's box grown by the outward reach
        box = seg.bounding_box(sid)
        if box is not None:
            ob = [np.flatnonzero(before[sid].any(axis=tuple(a for a in range(3) if a != ax))) for ax in range(3)]
            assert all(b.start >= o.min() - r and b.stop <= o.max() + 1 + r for b, o, r in zip(box, ob, reach))
    if seg.history.undo_stack:
        seg.undo()
    assert same_snapshot(snapshot(seg), snap)


def brute_or_scipy(m, spacing, inward, outward):
    """Shell with scipy's full-volume distance transforms (outside the lattice = outside: pad by one)."""
    p = np.pad(m, 1)
    depth = ndimage.distance_transform_edt(p, sampling=spacing)
    dist = ndimage.distance_transform_edt(~p, sampling=spacing)
    s = (p & (depth <= inward + 1e-6)) | (~p & (dist <= outward + 1e-6))
    return s[1:-1, 1:-1, 1:-1]


def test_hollow_follows_the_overwrite_mode_and_refuses_a_bad_thickness():
    a = box_mask((20, 20, 10), (4, 4, 2), (10, 10, 8))
    b = box_mask((20, 20, 10), (10, 4, 2), (16, 10, 8))          # touches a
    seg, (ia, ib) = make_seg({"a": a, "b": b})
    hollow(seg, [ia], 1.0, HollowMode.OUTSIDE, EditPolicy(overwrite=Overwrite.NONE))
    assert np.array_equal(seg.mask(ib), b)                   # allow overlap: b keeps its voxels
    assert np.any(seg.mask(ia) & seg.mask(ib))
    seg.undo()
    hollow(seg, [ia], 1.0, HollowMode.OUTSIDE)               # overwrite all: b gives up the touching layer
    assert not np.any(seg.mask(ia) & seg.mask(ib)) and seg.voxel_count(ib) < b.sum()
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(SegmentationError):
            plan_hollow(seg, [ia], bad)
