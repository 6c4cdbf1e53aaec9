"""label_values.histogram against np.unique: dense and mostly-background layers (the sparse path counts only
the 8-byte words that hold a label), uint8/int8/uint16/int16, C and Fortran order, sizes not a multiple of 8."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from app.model import label_values as lb


def _truth(arr):
    vals, counts = np.unique(arr, return_counts=True)
    return {int(v): int(c) for v, c in zip(vals, counts) if v != 0}


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), dtype=st.sampled_from([np.uint8, np.int8, np.uint16, np.int16]),
       fill=st.sampled_from([0.0, 0.001, 0.05, 0.3, 0.9]), order=st.sampled_from(["C", "F"]),
       shape=st.tuples(st.integers(60, 130), st.integers(60, 110), st.integers(1, 37)))
def test_histogram_matches_unique(seed, dtype, fill, order, shape):
    rng = np.random.default_rng(seed)
    info = np.iinfo(dtype)
    arr = np.zeros(shape, dtype, order=order)
    mask = rng.random(shape) < fill
    arr[mask] = rng.integers(max(info.min, -300), min(info.max, 1200) + 1, int(mask.sum())).astype(dtype)
    assert lb.histogram(arr) == _truth(arr)
    view = arr[1:, ::2, :]                       # a non-contiguous view
    assert lb.histogram(view) == _truth(view)
