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


# --- exact re-indexing between aligned lattices (a cropped or reoriented copy of the same voxels) -----------------

from hypothesis import given, settings, strategies as st  # noqa: E402

from app.model.resample import embed_aligned  # noqa: E402


def _signed_permutation(perm, signs) -> np.ndarray:
    m = np.zeros((3, 3))
    for a in range(3):
        m[perm[a], a] = signs[a]
    return m


@settings(max_examples=60, deadline=None)
@given(perm=st.permutations([0, 1, 2]), signs=st.tuples(*[st.sampled_from([-1, 1])] * 3),
       offset=st.tuples(*[st.integers(-4, 4)] * 3), seed=st.integers(0, 1000))
def test_embed_aligned_matches_brute_force_through_physical_space(perm, signs, offset, seed):
    rng = np.random.default_rng(seed)
    target = Geometry((7, 6, 5), (0.5, 0.8, 1.5), (3.0, -2.0, 1.0), ((0, 1, 0), (0, 0, -1), (1, 0, 0)))
    # the source's axes are the target's, permuted and flipped, on the same voxel centres shifted by whole voxels
    m = target.direction_matrix @ np.diag(target.spacing) @ _signed_permutation(perm, signs)
    spacing = np.linalg.norm(m, axis=0)
    src_shape = tuple(int(x) for x in rng.integers(2, 8, 3))
    origin = target.index_to_physical(np.asarray(offset, float))
    source = Geometry(src_shape, tuple(spacing), tuple(origin), tuple(map(tuple, m / spacing)))
    arr = rng.integers(0, 4, src_shape).astype(np.uint8)
    out, lost = embed_aligned(arr, source, target)
    expected = np.zeros(target.shape, np.uint8)
    outside = 0
    for ijk in np.ndindex(*src_shape):
        t = np.rint(target.physical_to_index(source.index_to_physical(ijk))).astype(int)
        if all(0 <= c < n for c, n in zip(t, target.shape)):
            expected[tuple(t)] = arr[ijk]
        elif arr[ijk]:
            outside += 1
    assert np.array_equal(out, expected) and lost == outside


def test_embed_aligned_refuses_lattices_that_do_not_share_voxel_centres():
    target = Geometry((6, 6, 6), (1.0, 1.0, 1.0))
    assert embed_aligned(np.ones((2, 2, 2), np.uint8), Geometry((2, 2, 2), (1.0, 1.0, 1.0), (0.5, 0, 0)), target) is None
    assert embed_aligned(np.ones((2, 2, 2), np.uint8), Geometry((2, 2, 2), (2.0, 1.0, 1.0)), target) is None
