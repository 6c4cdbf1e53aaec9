"""Sanity rules for a file's lattice, shared by the readers and the writers: a spacing must be a sensible length,
the origin and directions finite numbers. A writer checks the same rules, so segedit never writes a file that it
would then refuse to read."""
from __future__ import annotations

import numpy as np

from app.model.geometry import Geometry

from .errors import FileFormatError

# A voxel edge outside 1 pm .. 1000 km (in mm) is a broken header, not an image; numbers beyond these limits
# also overflow or vanish in the products that volumes and transforms need.
MIN_SPACING = 1e-9
MAX_SPACING = 1e9


def column_lengths(cols: np.ndarray) -> np.ndarray:
    """Euclidean length of each column, without the overflow of a naive sum of squares (1e200 stays 1e200)."""
    cols = np.asarray(cols, dtype=float)
    scale = np.max(np.abs(cols), axis=0)
    safe = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
    with np.errstate(all="ignore"):
        lengths = safe * np.sqrt(np.sum((cols / safe) ** 2, axis=0))
    return np.where(np.isfinite(scale) & (scale > 0), lengths, scale)


def check_spacing(spacing, what: str) -> None:
    """One sentence saying what is wrong with a spacing: not a number, infinite, too large, too small, zero."""
    for axis, value in zip("ijk", np.asarray(spacing, dtype=float).reshape(-1)):
        if np.isnan(value):
            raise FileFormatError(f"{what}: the voxel spacing along {axis} is not a number")
        if np.isinf(value):
            raise FileFormatError(f"{what}: the voxel spacing along {axis} is infinite")
        if value == 0:
            raise FileFormatError(f"{what}: the voxel spacing along {axis} is zero")
        if abs(value) > MAX_SPACING:
            raise FileFormatError(f"{what}: the voxel spacing along {axis} ({abs(value):.3g} mm) is too large "
                                  f"(at most {MAX_SPACING:g} mm)")
        if abs(value) < MIN_SPACING:
            raise FileFormatError(f"{what}: the voxel spacing along {axis} ({abs(value):.3g} mm) is too small "
                                  f"(at least {MIN_SPACING:g} mm)")


def check_writable(geometry: Geometry, what: str) -> None:
    """Refuse to write a lattice the readers would refuse (before any byte is written)."""
    check_spacing(geometry.spacing, what)
    if not (np.all(np.isfinite(geometry.origin)) and np.all(np.isfinite(geometry.directions))):
        raise FileFormatError(f"{what}: the lattice origin or directions are not finite numbers, so no reader "
                              f"could place the file; it was not written")
