"""Fill between slices with ITK's morphological contour interpolation: against ITK run directly on the whole plain
array (no box, no padding, no axis mapping of ours), along each axis and in every axis order of the file; drawn
slices are never changed, nothing is extrapolated; several segments, locks, one undo step."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from app.model.geometry import Geometry
from app.model.ops import fill_between_slices, plan_fill_between_slices
from app.model.ops.interpolate import MORPHOLOGICAL
from app.model.segmentation import Segmentation, SegmentationError

from .ops_cases import make_seg, masks_of, same_snapshot, snapshot

pytestmark = pytest.mark.filterwarnings("ignore:builtin type:DeprecationWarning")   # SWIG, inside itk
itk = pytest.importorskip("itk", reason="itk-morphologicalcontourinterpolation is not installed")

SHAPE = (30, 26, 18)


def _disc(shape2d, center, r):
    g = np.ogrid[0:shape2d[0], 0:shape2d[1]]
    return (g[0] - center[0]) ** 2 + (g[1] - center[1]) ** 2 <= r ** 2


def _drawn(axis, shapes):
    """A volume with 2D shapes on a few slices across `axis`: {slice index: 2D mask}."""
    vol = np.zeros(SHAPE, bool)
    mv = np.moveaxis(vol, axis, 0)
    for t, m in shapes.items():
        mv[t] = m
    return vol


def _itk_direct(vol: np.ndarray, axis: int) -> np.ndarray:
    """ITK on the whole array, then only the empty slices between the first and last drawn one are taken."""
    f = itk.MorphologicalContourInterpolator.New(itk.image_from_array(vol.astype(np.uint8)))
    f.SetAxis(2 - axis)
    f.SetLabel(1)
    f.Update()
    out = itk.array_from_image(f.GetOutput()) != 0
    mv, ov = np.moveaxis(vol, axis, 0), np.moveaxis(out, axis, 0).copy()
    drawn = np.flatnonzero(mv.reshape(mv.shape[0], -1).any(axis=1))
    keep = np.zeros(mv.shape[0], bool)
    keep[drawn.min():drawn.max() + 1] = True
    keep[drawn] = False
    ov[~keep] = False
    return np.moveaxis(mv | ov, 0, axis)


def _cases(axis):
    plane = [n for a, n in enumerate(SHAPE) if a != axis]
    c = (plane[0] // 2, plane[1] // 2)
    two = _disc(plane, (c[0] - 6, c[1]), 3) | _disc(plane, (c[0] + 6, c[1]), 3)
    return {
        "shrinking disc": {2: _disc(plane, c, 8), 9: _disc(plane, c, 3)},
        "moving disc (no overlap)": {1: _disc(plane, (c[0] - 5, c[1] - 5), 3), 8: _disc(plane, (c[0] + 5, c[1] + 5), 3)},
        "one into two": {3: _disc(plane, c, 7), 10: two},
        "three slices": {1: _disc(plane, c, 4), 5: _disc(plane, c, 8), 11: _disc(plane, c, 2)},
    }


@pytest.mark.parametrize("axis", [0, 1, 2])
@pytest.mark.parametrize("name", ["shrinking disc", "moving disc (no overlap)", "one into two", "three slices"])
def test_matches_itk_on_the_whole_array_and_keeps_drawn_slices(axis, name):
    shapes = _cases(axis)[name]
    vol = _drawn(axis, shapes)
    seg, (sid,) = make_seg({"a": vol}, (0.8, 1.1, 2.5))
    fill_between_slices(seg, [sid], axis, method=MORPHOLOGICAL)
    got = seg.mask(sid)
    assert np.array_equal(got, _itk_direct(vol, axis))
    mv = np.moveaxis(got, axis, 0)
    for t, m in shapes.items():                                   # drawn slices untouched
        assert np.array_equal(mv[t], m)
    first, last = min(shapes), max(shapes)
    assert not mv[:first].any() and not mv[last + 1:].any()        # nothing extrapolated
    assert all(mv[t].any() for t in range(first, last + 1))        # every slice between is filled


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_every_axis_order_of_the_file_gives_the_same_fill(order):
    vol0 = _drawn(2, _cases(2)["one into two"])
    out = []
    for perm in [(0, 1, 2), order]:
        shape = tuple(SHAPE[p] for p in perm)
        dirs = np.eye(3)[:, list(perm)]
        seg = Segmentation(Geometry(shape, (1.0, 1.0, 1.0), (0, 0, 0), tuple(map(tuple, dirs.T))))
        sid = seg.add_segment("a").id
        seg.layers[0][np.transpose(vol0, perm)] = 1
        seg.invalidate_statistics(0)
        fill_between_slices(seg, [sid], list(perm).index(2), method=MORPHOLOGICAL)   # the same physical axis
        out.append(np.transpose(seg.mask(sid), np.argsort(perm)))
    assert np.array_equal(out[0], out[1]) and out[0].sum() > vol0.sum()


def test_several_segments_one_undo_step_locks_and_a_bad_method():
    a = _drawn(2, {2: _disc((30, 26), (8, 8), 4), 9: _disc((30, 26), (8, 8), 2)})
    b = _drawn(2, {3: _disc((30, 26), (20, 16), 4), 12: _disc((30, 26), (20, 16), 5)})
    c = _drawn(2, {1: _disc((30, 26), (20, 6), 2), 6: _disc((30, 26), (20, 6), 2)})
    seg, (ia, ib, ic) = make_seg({"a": a, "b": b, "c": c})
    seg.update_segment(ic, locked=True)
    before, snap = masks_of(seg), snapshot(seg)
    result = fill_between_slices(seg, [ia, ib, ic], 2, method=MORPHOLOGICAL)
    assert result.skipped == [ic] and set(result.changed) == {ia, ib}
    assert np.array_equal(seg.mask(ia), _itk_direct(a, 2)) and np.array_equal(seg.mask(ib), _itk_direct(b, 2))
    assert np.array_equal(seg.mask(ic), before[ic])
    assert len(seg.history.undo_stack) == 1
    seg.undo()
    assert same_snapshot(snapshot(seg), snap)
    with pytest.raises(SegmentationError, match="method"):
        plan_fill_between_slices(seg, [ia], 2, method="cubic")
