"""The voxel lattice shared by all layers of a segmentation, and index <-> physical (LPS) transforms.

Axis convention: arrays are indexed `arr[i, j, k]` (pynrrd's default Fortran index order). `directions` holds
the LPS unit vectors of the i, j and k axes as its COLUMNS; `ijk_to_lps = [[directions * spacing, origin], [0, 1]]`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Geometry:
    shape: tuple[int, int, int]
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0)
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    directions: tuple[tuple[float, ...], ...] = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", tuple(int(s) for s in self.shape))
        object.__setattr__(self, "spacing", tuple(float(s) for s in self.spacing))
        object.__setattr__(self, "origin", tuple(float(s) for s in self.origin))
        d = np.asarray(self.directions, dtype=float).reshape(3, 3)
        object.__setattr__(self, "directions", tuple(tuple(float(x) for x in row) for row in d))
        if len(self.shape) != 3 or min(self.shape) < 0:
            raise ValueError(f"a lattice needs three non-negative sizes, got {self.shape}")
        if min(self.spacing) <= 0 or not np.all(np.isfinite(self.spacing)):
            raise ValueError(f"voxel spacing must be positive and finite, got {self.spacing}")
        if abs(np.linalg.det(d)) < 1e-6:
            raise ValueError("the axis directions are degenerate (not three independent axes)")

    @classmethod
    def from_ijk_to_lps(cls, shape, matrix) -> "Geometry":
        """Build from a 4x4 (or 3x4) index-to-LPS matrix; spacing is the length of each column."""
        m = np.asarray(matrix, dtype=float)
        cols = m[:3, :3]
        spacing = np.linalg.norm(cols, axis=0)
        if np.any(spacing <= 0):
            raise ValueError("an axis of the index-to-physical matrix has zero length")
        return cls(tuple(shape), tuple(spacing), tuple(m[:3, 3]), tuple(map(tuple, cols / spacing)))

    @property
    def direction_matrix(self) -> np.ndarray:
        return np.array(self.directions, dtype=float)

    @property
    def ijk_to_lps(self) -> np.ndarray:
        m = np.eye(4)
        m[:3, :3] = self.direction_matrix * np.array(self.spacing)[None, :]
        m[:3, 3] = self.origin
        return m

    @property
    def lps_to_ijk(self) -> np.ndarray:
        return np.linalg.inv(self.ijk_to_lps)

    @property
    def voxel_volume(self) -> float:
        return float(np.prod(self.spacing))

    @property
    def n_voxels(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def index_to_physical(self, ijk) -> np.ndarray:
        """Continuous index (..., 3) -> LPS millimetres (..., 3)."""
        p = np.asarray(ijk, dtype=float)
        m = self.ijk_to_lps
        return p @ m[:3, :3].T + m[:3, 3]

    def physical_to_index(self, lps) -> np.ndarray:
        """LPS millimetres (..., 3) -> continuous index (..., 3); round to get the voxel."""
        p = np.asarray(lps, dtype=float)
        m = self.lps_to_ijk
        return p @ m[:3, :3].T + m[:3, 3]

    def contains(self, ijk) -> bool:
        return all(0 <= int(c) < s for c, s in zip(ijk, self.shape))

    def same_lattice(self, other: "Geometry", tol: float = 1e-4) -> bool:
        return self.shape == other.shape and np.allclose(self.ijk_to_lps, other.ijk_to_lps, atol=tol)

    def box_bounds_lps(self, box) -> tuple[np.ndarray, np.ndarray]:
        """Physical axis-aligned bounds (min, max corner, LPS) of the voxel centres of an index box."""
        lo = [b.start for b in box]
        hi = [b.stop - 1 for b in box]
        corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
        pts = self.index_to_physical(corners)
        return pts.min(axis=0), pts.max(axis=0)
