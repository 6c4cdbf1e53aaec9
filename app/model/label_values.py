"""Label-value arithmetic shared by the model: dtype promotion, histograms, bounding boxes (numpy only)."""
from __future__ import annotations

import numpy as np

from .boxes import intersect_box, tight_box, union_box  # noqa: F401 (their home is boxes; kept importable here)

# Slicer's order (vtkOrientedImageDataResample::GetSmallestIntegerTypeForSegmentationScalarRange).
PROMOTION_ORDER = (np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32)


def dtype_for(dtype, value: int) -> np.dtype:
    """Smallest type of PROMOTION_ORDER that holds both `dtype`'s range and `value`; never demotes."""
    dtype = np.dtype(dtype)
    info = np.iinfo(dtype)
    if info.min <= value <= info.max:
        return dtype
    lo, hi = min(value, int(info.min)), max(value, int(info.max))
    for t in PROMOTION_ORDER:
        ti = np.iinfo(t)
        if ti.min <= lo and hi <= ti.max:
            return np.dtype(t)
    raise ValueError(f"label value {value} does not fit a 32-bit labelmap")


def histogram(arr: np.ndarray) -> dict[int, int]:
    """{label: voxel count} of the non-zero values of an integer array."""
    if arr.size == 0:
        return {}
    if arr.dtype.itemsize <= 2:
        u = arr.view(np.uint8 if arr.dtype.itemsize == 1 else np.uint16)
        flat = u.ravel(order="K")                  # "K": no copy for F-ordered layers
        if flat.size <= 1 << 16:      # a brush dab: bins only up to the largest value present
            counts = np.bincount(flat)
        else:
            counts = np.zeros(1 << (8 * arr.dtype.itemsize), np.int64)
            for start in range(0, flat.size, 1 << 20):  # chunks: bincount casts to int64 (8x the layer otherwise)
                counts += _chunk_counts(flat[start:start + (1 << 20)], counts.size)
        nz = np.flatnonzero(counts)
        signed = np.issubdtype(arr.dtype, np.signedinteger)
        half = 1 << (8 * arr.dtype.itemsize - 1)
        out = {}
        for v in nz:
            if v == 0:
                continue
            lab = int(v) - 2 * half if signed and v >= half else int(v)
            out[lab] = int(counts[v])
        return out
    vals, counts = np.unique(arr, return_counts=True)
    return {int(v): int(c) for v, c in zip(vals, counts) if v != 0}


def _chunk_counts(chunk: np.ndarray, bins: int) -> np.ndarray:
    """bincount of a contiguous uint8/uint16 chunk, except for the count of 0 (only partly counted: callers drop
    it). A labelmap is mostly background: when at most a quarter of its 8-byte words hold a label, only those words
    are counted (the body labelmap's 262M voxels: 0.15 s instead of 0.31 s)."""
    whole = chunk.size - chunk.size % (8 // chunk.itemsize)
    if whole and chunk.flags.c_contiguous:
        words = chunk[:whole].view(np.uint64)
        if 4 * np.count_nonzero(words) <= words.size:
            out = np.bincount(words[np.flatnonzero(words)].view(chunk.dtype), minlength=bins)
            if whole < chunk.size:
                out += np.bincount(chunk[whole:], minlength=bins)
            return out
    return np.bincount(chunk, minlength=bins)


def unique_labels(values: np.ndarray) -> list[int]:
    """Distinct values of a small integer array (bincount when unsigned: ~5x faster than np.unique)."""
    if values.size == 0:
        return []
    if values.dtype.kind == "u" and values.dtype.itemsize <= 2:
        return np.flatnonzero(np.bincount(values)).tolist()
    return np.unique(values).tolist()


def boxes_of(arr: np.ndarray) -> dict[int, tuple]:
    """{label: tight box} for every non-zero label of a layer (one C pass through scipy's find_objects)."""
    from scipy import ndimage

    if arr.size == 0:
        return {}
    if arr.dtype.itemsize <= 2:
        u = arr.view(np.uint8 if arr.dtype.itemsize == 1 else np.uint16)
        flip = u.flags.f_contiguous and not u.flags.c_contiguous   # find_objects is ~10x slower on F order
        u = u.T if flip else u
        objs = ndimage.find_objects(u.astype(np.int32, copy=False) if u.dtype == np.uint16 else u)
        if flip:
            objs = [None if sl is None else tuple(sl[::-1]) for sl in objs]
        signed = np.issubdtype(arr.dtype, np.signedinteger)
        half = 1 << (8 * arr.dtype.itemsize - 1)
        out = {}
        for idx, sl in enumerate(objs):
            if sl is None:
                continue
            v = idx + 1
            out[v - 2 * half if signed and v >= half else v] = tuple(sl)
        return out
    vals, inv = np.unique(arr, return_inverse=True)
    objs = ndimage.find_objects(inv.reshape(arr.shape).astype(np.int32) + 1)
    return {int(v): tuple(sl) for v, sl in zip(vals, objs) if v != 0 and sl is not None}

