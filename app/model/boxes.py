"""Index boxes on a lattice: a box is a tuple of three slices with non-negative starts (`arr[box]`).

The one home of box arithmetic; labels, edits, history, the operations (`ops.plan`) and `render.surfaces` use it.
"""
from __future__ import annotations

import numpy as np


def full_box(shape):
    """The box covering a whole lattice of `shape`."""
    return tuple(slice(0, int(n)) for n in shape)


def box_size(box) -> int:
    """Number of voxels in a box (int64 arithmetic: a 2048^3 box does not overflow)."""
    return int(np.prod([s.stop - s.start for s in box], dtype=np.int64))


def tight_box(mask: np.ndarray, offset=(0, 0, 0)):
    """Tight index box (tuple of slices, shifted by offset) of a boolean array, or None when empty."""
    out = []
    for axis in range(3):
        other = tuple(a for a in range(3) if a != axis)
        hit = np.flatnonzero(mask.any(axis=other))
        if hit.size == 0:
            return None
        out.append(slice(int(hit[0]) + offset[axis], int(hit[-1]) + 1 + offset[axis]))
    return tuple(out)


def union_box(a, b):
    """The smallest box holding both (either may be None)."""
    if a is None:
        return b
    if b is None:
        return a
    return tuple(slice(min(x.start, y.start), max(x.stop, y.stop)) for x, y in zip(a, b))


def union_of(boxes):
    """The smallest box holding every box of an iterable (Nones skipped), or None when there is none."""
    out = None
    for b in boxes:
        out = union_box(out, b)
    return out


def intersect_box(a, b):
    """The common part of two boxes, or None when they do not overlap."""
    out = tuple(slice(max(x.start, y.start), min(x.stop, y.stop)) for x, y in zip(a, b))
    return None if any(s.start >= s.stop for s in out) else out


def pad_box(box, pad, shape):
    """`box` grown by `pad` voxels per axis (int or 3 ints), clipped to the lattice."""
    pad = (pad,) * 3 if np.isscalar(pad) else tuple(pad)
    return tuple(slice(max(0, b.start - p), min(n, b.stop + p)) for b, p, n in zip(box, pad, shape))


def shrink_to_content(mask: np.ndarray, box):
    """(mask, box) cropped to the tight box of the mask's true voxels, or None when it has none."""
    tb = tight_box(mask)
    if tb is None:
        return None
    return mask[tb], tuple(slice(b.start + t.start, b.start + t.stop) for b, t in zip(box, tb))


def clip_to_lattice(mask: np.ndarray, offset, shape):
    """Clip a mask placed with its [0,0,0] at index `offset` to a lattice. Returns (mask, box) or None."""
    lo = [max(0, int(o)) for o in offset]
    hi = [min(int(s), int(o) + m) for o, m, s in zip(offset, mask.shape, shape)]
    if any(h <= l for l, h in zip(lo, hi)):
        return None
    sub = mask[tuple(slice(l - int(o), h - int(o)) for l, h, o in zip(lo, hi, offset))]
    return sub, tuple(slice(l, h) for l, h in zip(lo, hi))
