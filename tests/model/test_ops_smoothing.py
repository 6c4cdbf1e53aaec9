"""Per-segment smoothing (median, opening, closing, Gaussian) against scipy.ndimage on plain boolean arrays padded
with background (outside the lattice counts as background), on an anisotropic lattice; locks, layers, undo."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from app.model.brush import ball
from app.model.ops import SmoothingMethod, plan_smoothing, smooth
from app.model.ops.smoothing import gaussian_sigma, median_kernel
from app.model.segmentation import SegmentationError

from .ops_cases import ball_mask, box_mask, make_seg, masks_of, same_snapshot, sequential_reference, snapshot

SPACING = (0.8, 1.2, 2.0)
SHAPE = (28, 20, 12)
PAD = 12


def _rough(seed=3):
    rng = np.random.default_rng(seed)
    m = ball_mask(SHAPE, (10, 9, 5), 6.0, SPACING) | box_mask(SHAPE, (0, 0, 0), (6, 20, 3))   # touches borders
    m ^= rng.random(SHAPE) < 0.06                       # salt-and-pepper noise
    return m


def _reference(m, method, size):
    p = np.pad(m, PAD)
    if method is SmoothingMethod.MEDIAN:
        out = ndimage.median_filter(p.astype(np.uint8), size=median_kernel(size, SPACING), mode="constant") > 0
    elif method is SmoothingMethod.OPENING:
        out = ndimage.binary_opening(p, structure=ball(size / 2, SPACING))
    elif method is SmoothingMethod.CLOSING:
        out = ndimage.binary_closing(p, structure=ball(size / 2, SPACING))
    else:
        out = ndimage.gaussian_filter(p.astype(np.float64), gaussian_sigma(size, SPACING), mode="constant") >= 0.5
    return out[PAD:-PAD, PAD:-PAD, PAD:-PAD]


@pytest.mark.parametrize("method,size", [(SmoothingMethod.MEDIAN, 3.0), (SmoothingMethod.MEDIAN, 5.0),
                                         (SmoothingMethod.OPENING, 3.0), (SmoothingMethod.CLOSING, 3.0),
                                         (SmoothingMethod.CLOSING, 5.0), (SmoothingMethod.GAUSSIAN, 1.5)])
def test_each_method_matches_scipy_on_a_padded_plain_array(method, size):
    m = _rough()
    seg, (sid,) = make_seg({"a": m}, SPACING)
    before = snapshot(seg)
    smooth(seg, [sid], method, size)
    assert np.array_equal(seg.mask(sid), _reference(m, method, size))
    assert seg.voxel_count(sid) != m.sum()            # the noise did change something
    seg.undo()
    assert same_snapshot(snapshot(seg), before)


def test_median_kernel_is_per_axis_on_anisotropic_spacing():
    assert median_kernel(3.0, SPACING) == (3, 3, 1)
    assert median_kernel(5.0, SPACING) == (7, 5, 3)


def test_several_segments_on_two_layers_with_a_locked_one():
    a, b = _rough(1), _rough(2) & box_mask(SHAPE, (8, 0, 0), (28, 20, 12))
    c = box_mask(SHAPE, (20, 2, 2), (26, 8, 8))
    c[22, 4, 4] = False
    seg, ids = make_seg({"a": a, "b": b, "c": c}, SPACING)
    assert len(seg.layers) >= 2
    seg.update_segment(ids[2], locked=True)
    before = masks_of(seg)
    result = smooth(seg, ids, SmoothingMethod.MEDIAN, 3.0)
    assert result.skipped == [ids[2]]
    assert np.array_equal(seg.mask(ids[2]), before[ids[2]])      # the locked hole stays a hole
    # a and b overlap (two layers): each median is computed from the state before, then applied in order
    new = {sid: _reference(before[sid], SmoothingMethod.MEDIAN, 3.0) for sid in ids[:2]}
    expected = sequential_reference(before, new, locked=(ids[2],))
    for sid in ids:
        assert np.array_equal(seg.mask(sid), expected[sid])


def test_bad_size_is_refused():
    seg, ids = make_seg({"a": _rough()}, SPACING)
    with pytest.raises(SegmentationError, match="positive"):
        plan_smoothing(seg, ids, SmoothingMethod.GAUSSIAN, 0.0)
