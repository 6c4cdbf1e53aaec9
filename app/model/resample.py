"""A grey volume on the segmentation's lattice, by NEAREST neighbour through physical space.

Used wherever grey values decide which voxels may change (the Threshold tool, the editable intensity range of the
brushes): every lattice voxel takes the value of the reference voxel whose centre is nearest to its centre, so
ranges apply to the file's own grey values (no blending across a boundary) and the two tools agree voxel for voxel.
Outside the reference: NaN, which is outside every range. The same lattice returns the array itself."""
from __future__ import annotations

import numpy as np

from .geometry import Geometry


def nearest_on_lattice(array: np.ndarray, source: Geometry, target: Geometry) -> np.ndarray:
    if source.same_lattice(target):
        return array
    m = source.lps_to_ijk @ target.ijk_to_lps          # target ijk -> source ijk (affine)
    out = np.empty(target.shape, dtype=np.float32)
    nj, nk = target.shape[1], target.shape[2]
    j, k = np.meshgrid(np.arange(nj, dtype=np.float64), np.arange(nk, dtype=np.float64), indexing="ij")
    base = m[:3, 1, None, None] * j + m[:3, 2, None, None] * k + m[:3, 3, None, None]   # (3, nj, nk)
    src_shape = np.array(source.shape)[:, None, None]
    for i in range(target.shape[0]):                   # one slab at a time: no 3 x N float64 index array
        idx = np.rint(base + m[:3, 0, None, None] * i).astype(np.int64)
        inside = np.all((idx >= 0) & (idx < src_shape), axis=0)
        slab = np.full((nj, nk), np.nan, dtype=np.float32)
        slab[inside] = array[idx[0][inside], idx[1][inside], idx[2][inside]]
        out[i] = slab
    return out


class LatticeCache:
    """Keeps the last resampling while neither the volume (anything with `.array` and `.geometry`) nor the
    target lattice changes."""

    def __init__(self) -> None:
        self._key = None
        self._keep = None          # the volume, kept alive so its id() in the key stays meaningful
        self._grey: np.ndarray | None = None

    def _key_of(self, volume, target):
        return (id(volume), id(volume.array), volume.geometry, target)

    def cached(self, volume, target: Geometry | None) -> bool:
        return volume is not None and self._key == self._key_of(volume, target)

    def get(self, volume, target: Geometry | None) -> np.ndarray | None:
        if volume is None or target is None:
            return None
        key = self._key_of(volume, target)
        if key != self._key:
            self._grey = nearest_on_lattice(volume.array, volume.geometry, target)
            self._key, self._keep = key, volume
        return self._grey

    def clear(self) -> None:
        self._key = self._keep = self._grey = None


def aligned_map(source: Geometry, target: Geometry, tol: float = 1e-3):
    """How `source`'s voxels sit on `target`'s lattice when every source voxel centre IS a target voxel centre
    (same spacing, axes equal up to order and sign, whole-voxel offset): `(perm, signs, offset)` with
    target index[a] = signs[a] * source index[perm[a]] + offset[a]; None otherwise."""
    m = target.lps_to_ijk @ source.ijk_to_lps
    r = m[:3, :3]
    rounded = np.rint(r)
    if not np.allclose(r, rounded, atol=tol) or not np.array_equal(np.abs(rounded).sum(axis=0), [1, 1, 1]) \
            or not np.array_equal(np.abs(rounded).sum(axis=1), [1, 1, 1]):
        return None
    offset = np.rint(m[:3, 3])
    if not np.allclose(m[:3, 3], offset, atol=tol):
        return None
    perm = tuple(int(np.flatnonzero(rounded[a])[0]) for a in range(3))
    signs = tuple(int(rounded[a, perm[a]]) for a in range(3))
    return perm, signs, tuple(int(o) for o in offset)


def embed_aligned(array: np.ndarray, source: Geometry, target: Geometry) -> tuple[np.ndarray, int] | None:
    """`array` (on `source`) copied voxel for voxel onto `target`'s lattice, zeros elsewhere, and the number of its
    non-zero voxels that fall outside `target`; None when the lattices are not aligned (see `aligned_map`).
    Nothing is interpolated: this is an exact re-indexing."""
    if source.same_lattice(target):
        return array, 0
    found = aligned_map(source, target)
    if found is None:
        return None
    perm, signs, offset = found
    moved = np.transpose(array, perm)
    starts = []
    for a in range(3):
        if signs[a] < 0:
            moved = np.flip(moved, axis=a)
            starts.append(offset[a] - (moved.shape[a] - 1))
        else:
            starts.append(offset[a])
    out = np.zeros(target.shape, dtype=array.dtype)
    src_sl, dst_sl = [], []
    for a in range(3):
        lo, hi = max(0, starts[a]), min(target.shape[a], starts[a] + moved.shape[a])
        if hi <= lo:
            return out, int(np.count_nonzero(array))
        dst_sl.append(slice(lo, hi))
        src_sl.append(slice(lo - starts[a], hi - starts[a]))
    inside = moved[tuple(src_sl)]
    out[tuple(dst_sl)] = inside
    return out, int(np.count_nonzero(array)) - int(np.count_nonzero(inside))
