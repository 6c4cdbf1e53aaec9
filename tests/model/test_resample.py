"""Nearest-neighbour resampling of the reference onto the segmentation lattice (Threshold, intensity range), against a
voxel-by-voxel computation through physical space."""
from __future__ import annotations

import numpy as np

from app.model.geometry import Geometry
from app.model.resample import LatticeCache, nearest_on_lattice


def _brute(array, source: Geometry, target: Geometry):
    out = np.full(target.shape, np.nan, np.float32)
    for ijk in np.ndindex(*target.shape):
        src = np.rint(source.physical_to_index(target.index_to_physical(ijk))).astype(int)
        if all(0 <= c < n for c, n in zip(src, source.shape)):
            out[ijk] = array[tuple(src)]
    return out


def test_same_lattice_is_the_array_itself():
    g = Geometry((4, 5, 6), (1.0, 2.0, 3.0))
    a = np.arange(120).reshape(4, 5, 6)
    assert nearest_on_lattice(a, g, g) is a


def test_permuted_shifted_and_coarser_source_matches_brute_force():
    rng = np.random.default_rng(0)
    source = Geometry((9, 8, 7), (2.0, 1.5, 3.0), (-4.0, 2.0, 5.0), ((0, 1, 0), (0, 0, -1), (1, 0, 0)))
    target = Geometry((12, 10, 9), (1.0, 1.2, 1.7), (-9.0, -3.0, -6.0))
    a = rng.integers(-1000, 1000, source.shape).astype(np.int16)
    got = nearest_on_lattice(a, source, target)
    want = _brute(a, source, target)
    assert np.array_equal(np.isnan(got), np.isnan(want)) and np.isnan(got).any() and (~np.isnan(got)).any()
    assert np.array_equal(got[~np.isnan(got)], want[~np.isnan(want)])
    values = got[~np.isnan(got)]
    assert set(np.unique(values)).issubset(set(np.unique(a).astype(np.float32)))   # no blending


def test_cache_keeps_the_result_until_the_volume_or_lattice_changes():
    from app.io import Volume

    source = Geometry((3, 3, 3), (2.0, 2.0, 2.0))
    target = Geometry((5, 5, 5))
    v = Volume(np.ones((3, 3, 3), np.int16), source, None)
    cache = LatticeCache()
    first = cache.get(v, target)
    assert cache.get(v, target) is first
    assert cache.get(v, Geometry((4, 4, 4))) is not first
    assert cache.get(None, target) is None
