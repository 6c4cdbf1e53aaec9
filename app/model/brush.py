"""Brush shapes and strokes (pure numpy): discs and balls in voxel units for an anisotropic lattice,
and gap-free interpolation between stroke points."""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .boxes import clip_to_lattice


@lru_cache(maxsize=64)
def ball(radius_mm: float, spacing: tuple[float, float, float], plane_axis: int | None = None) -> np.ndarray:
    """Boolean ellipsoid of voxels whose centres lie within radius_mm of the centre voxel's centre.

    plane_axis=None gives a sphere; plane_axis=a gives a disc one voxel thick across axis a.
    The array has odd sizes; its centre voxel is the brush centre. Cached and read-only: do not modify."""
    half = [max(0, int(np.floor(radius_mm / sp + 1e-9))) for sp in spacing]
    if plane_axis is not None:
        half[plane_axis] = 0
    grids = np.ogrid[tuple(slice(-h, h + 1) for h in half)]
    d2 = sum((g * sp) ** 2 for g, sp in zip(grids, spacing))
    out = d2 <= radius_mm ** 2 + 1e-9
    out.setflags(write=False)
    return out


def ball_voxels(radius_vox: float) -> np.ndarray:
    """Sphere of radius `radius_vox` voxels on an isotropic lattice."""
    return ball(float(radius_vox), (1.0, 1.0, 1.0))


def interpolate(p0, p1, max_step: float) -> np.ndarray:
    """Integer points from p0 to p1 (both included) no further apart than max_step voxels (>= 0.5).
    Used between mouse events so fast strokes leave no gaps (Slicer, ITK-SNAP and napari all do this)."""
    p0 = np.asarray(p0, dtype=float)
    p1 = np.asarray(p1, dtype=float)
    dist = float(np.max(np.abs(p1 - p0)))
    n = max(1, int(np.ceil(dist / max(0.5, max_step))))
    t = np.linspace(0.0, 1.0, n + 1)[:, None]
    pts = np.rint(p0 + (p1 - p0) * t).astype(int)
    keep = np.ones(len(pts), dtype=bool)
    keep[1:] = np.any(pts[1:] != pts[:-1], axis=1)
    return pts[keep]


def dab_region(center, shape_mask: np.ndarray, lattice_shape):
    """Place a brush mask centred at integer `center`; returns (mask, box) clipped to the lattice, or None."""
    offset = [int(c) - s // 2 for c, s in zip(center, shape_mask.shape)]
    return clip_to_lattice(shape_mask, offset, lattice_shape)


def stroke_region(points, shape_mask: np.ndarray, lattice_shape):
    """Union of brush dabs at every point, as one (mask, box) clipped to the lattice, or None."""
    pts = np.asarray(points, dtype=int).reshape(-1, 3)
    half = np.array(shape_mask.shape) // 2
    lo = pts.min(axis=0) - half
    hi = pts.max(axis=0) + half + 1
    mask = np.zeros(tuple(hi - lo), dtype=bool)
    for p in pts:
        o = p - half - lo
        mask[o[0]:o[0] + shape_mask.shape[0], o[1]:o[1] + shape_mask.shape[1], o[2]:o[2] + shape_mask.shape[2]] |= shape_mask
    return clip_to_lattice(mask, lo, lattice_shape)
