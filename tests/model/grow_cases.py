"""The chest-CT case of Grow from seeds, shared by tests/model/test_ops_grow.py and benchmarks/bench_grow.py: seeds
are each segment of Slicer's `Segmentation.seg.nrrd` (and the background) eroded to a few strokes, as a user would
draw them: on four axial slices through the segment, the skeleton of the segment eroded by two voxels."""
from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.morphology import skeletonize


def strokes_of(mask: np.ndarray, n_slices: int = 4, axis: int = 2) -> np.ndarray:
    """A few strokes inside `mask`: on `n_slices` evenly spread slices across `axis`, the skeleton of the mask
    eroded by two voxels (the slice itself when the erosion empties it)."""
    mv = np.moveaxis(mask, axis, 0)
    out = np.zeros_like(mv)
    drawn = np.flatnonzero(mv.reshape(mv.shape[0], -1).any(axis=1))
    if drawn.size == 0:
        return np.moveaxis(out, 0, axis)
    picks = np.unique(drawn[np.linspace(len(drawn) // 8, len(drawn) - 1 - len(drawn) // 8, n_slices).astype(int)])
    for k in picks:
        e = ndimage.binary_erosion(mv[k], iterations=2)
        out[k] = skeletonize(e if e.any() else mv[k])
    return np.moveaxis(out, 0, axis)


def dice(a: np.ndarray, b: np.ndarray) -> float:
    s = int(a.sum()) + int(b.sum())
    return 1.0 if s == 0 else 2.0 * int(np.count_nonzero(a & b)) / s


def chest_case(data_dir):
    """(segmentation, CT grey array on its lattice, {segment id or BACKGROUND: seed mask}) for the chest CT."""
    from app.io import open_segmentation, read_volume
    from app.model.ops.grow import BACKGROUND

    seg = open_segmentation(data_dir / "Segmentation.seg.nrrd")
    ct = read_volume(data_dir / "CTChest4.nrrd")
    assert ct.geometry.same_lattice(seg.geometry)
    union = np.zeros(seg.geometry.shape, bool)
    seeds = {}
    for s in seg.segments:
        m = seg.mask(s.id)
        union |= m
        seeds[s.id] = strokes_of(m)
    seeds[BACKGROUND] = strokes_of(~union)
    return seg, ct.array, seeds
