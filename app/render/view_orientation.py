"""Slices of a lattice shown in anatomical orientation: views of the arrays (transpose/flip, never resampling).

Convention: RADIOLOGICAL, as in 3D Slicer's and most PACS default views. LPS axes: x = patient Left, y = Posterior,
z = Superior. On screen, columns grow to the right and rows grow downwards:

    axial     (normal S/I)  columns -> patient Left (patient's right on the viewer's left), rows -> Posterior (nose up)
    coronal   (normal A/P)  columns -> patient Left, rows -> Inferior (head up)
    sagittal  (normal L/R)  columns -> Posterior (nose on the left), rows -> Inferior (head up)

The lattice axis closest to each anatomical axis is found from the geometry's direction matrix (the assignment that
maximises the alignment, so oblique or permuted lattices such as the SPL atlas's work), and a slice is
`arr[..., index, ...]`, transposed and flipped as needed: a numpy view, no copy.

Display coordinates are continuous pixel units: (x, y) = (column, row), pixel (r, c) covers [c, c+1] x [r, r+1].
"""
from __future__ import annotations

import enum
import itertools
from dataclasses import dataclass

import numpy as np

from app.model.geometry import Geometry


class Plane(enum.Enum):
    AXIAL = "axial"
    CORONAL = "coronal"
    SAGITTAL = "sagittal"


# plane -> (normal LPS axis, (row LPS axis, sign), (column LPS axis, sign)): radiological convention
_LAYOUT = {
    Plane.AXIAL: (2, (1, +1), (0, +1)),
    Plane.CORONAL: (1, (2, -1), (0, +1)),
    Plane.SAGITTAL: (0, (2, -1), (1, +1)),
}
# the letter at each screen edge (left, right, top, bottom), for orientation markers
EDGE_LETTERS = {
    Plane.AXIAL: ("R", "L", "A", "P"),
    Plane.CORONAL: ("R", "L", "S", "I"),
    Plane.SAGITTAL: ("A", "P", "S", "I"),
}


def anatomical_axes(directions) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """For each LPS axis d (x, y, z): the lattice axis closest to it and the sign (+1 if the lattice axis runs
    towards +d). `directions` has the LPS unit vectors of i, j, k as COLUMNS (Geometry.directions)."""
    d = np.abs(np.asarray(directions, dtype=float).reshape(3, 3))
    best = max(itertools.permutations(range(3)), key=lambda p: sum(d[lps, p[lps]] for lps in range(3)))
    m = np.asarray(directions, dtype=float).reshape(3, 3)
    signs = tuple(1 if m[lps, best[lps]] >= 0 else -1 for lps in range(3))
    return tuple(best), signs


@dataclass(frozen=True)
class SliceFrame:
    """How one plane of one lattice is put on screen."""

    plane: Plane
    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]
    plane_axis: int       # lattice axis constant across the slice
    row_axis: int         # lattice axis along screen rows (downwards)
    col_axis: int         # lattice axis along screen columns (rightwards)
    row_flip: bool        # True: screen row 0 is the LAST lattice index along row_axis
    col_flip: bool

    @classmethod
    def for_geometry(cls, geometry: Geometry, plane: Plane) -> "SliceFrame":
        axis_of, sign_of = anatomical_axes(geometry.directions)
        normal, (row_lps, row_sign), (col_lps, col_sign) = _LAYOUT[plane]
        return cls(plane, geometry.shape, geometry.spacing, axis_of[normal], axis_of[row_lps], axis_of[col_lps],
                   sign_of[row_lps] != row_sign, sign_of[col_lps] != col_sign)

    # ---------------------------------------------------------------- sizes
    @property
    def n_slices(self) -> int:
        return self.shape[self.plane_axis]

    @property
    def rows(self) -> int:
        return self.shape[self.row_axis]

    @property
    def cols(self) -> int:
        return self.shape[self.col_axis]

    @property
    def pixel_mm(self) -> tuple[float, float]:
        """(row height, column width) of a screen pixel in millimetres."""
        return self.spacing[self.row_axis], self.spacing[self.col_axis]

    # ---------------------------------------------------------------- slicing (views)
    def extract(self, arr: np.ndarray, index: int) -> np.ndarray:
        """The displayed slice of a lattice array: a (rows, cols) view, no copy."""
        sl = [slice(None)] * 3
        sl[self.plane_axis] = int(index)
        return self.orient(arr[tuple(sl)])

    def orient(self, plane: np.ndarray) -> np.ndarray:
        """A lattice plane (the two other axes in ascending order) -> screen orientation (a view)."""
        if self.row_axis > self.col_axis:
            plane = plane.T
        return plane[::-1 if self.row_flip else 1, ::-1 if self.col_flip else 1]

    def display_range(self, box) -> tuple[slice, slice]:
        """The (row, column) slices of the screen covered by a lattice box (see `crosses` for the plane)."""
        return self._flip_range(box[self.row_axis], self.rows, self.row_flip), \
            self._flip_range(box[self.col_axis], self.cols, self.col_flip)

    def crosses(self, box, index: int) -> bool:
        s = box[self.plane_axis]
        return (s.start or 0) <= index < (self.n_slices if s.stop is None else s.stop)

    @staticmethod
    def _flip_range(s: slice, n: int, flip: bool) -> slice:
        start, stop = s.start or 0, n if s.stop is None else s.stop
        return slice(n - stop, n - start) if flip else slice(start, stop)

    # ---------------------------------------------------------------- coordinates
    def to_ijk(self, x: float, y: float, index: float) -> tuple[float, float, float]:
        """Continuous display position -> continuous lattice index (voxel centres at integers)."""
        ijk = [0.0, 0.0, 0.0]
        ijk[self.plane_axis] = float(index)
        ijk[self.row_axis] = (self.rows - y - 0.5) if self.row_flip else (y - 0.5)
        ijk[self.col_axis] = (self.cols - x - 0.5) if self.col_flip else (x - 0.5)
        return tuple(ijk)

    def to_display(self, ijk) -> tuple[float, float]:
        """Continuous lattice index -> display (x, y) (a voxel centre lands on a pixel centre)."""
        r, c = float(ijk[self.row_axis]), float(ijk[self.col_axis])
        y = (self.rows - r - 0.5) if self.row_flip else (r + 0.5)
        x = (self.cols - c - 0.5) if self.col_flip else (c + 0.5)
        return x, y

    def pixel_ijk_grid(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Lattice index of pixel (0, 0)'s centre, and the lattice steps of one screen row and one column."""
        origin = np.array(self.to_ijk(0.5, 0.5, index))
        d_row = np.zeros(3)
        d_row[self.row_axis] = -1.0 if self.row_flip else 1.0
        d_col = np.zeros(3)
        d_col[self.col_axis] = -1.0 if self.col_flip else 1.0
        return origin, d_row, d_col


# the anatomical direction "next slice" moves to, as Slicer's slice offset grows (its slice normals are +S for
# axial, +A for coronal, +R for sagittal), as (LPS axis, sign): S = +z, A = -y, R = -x
_FORWARD = {Plane.AXIAL: (2, +1), Plane.CORONAL: (1, -1), Plane.SAGITTAL: (0, -1)}


def forward_step(geometry: Geometry, plane: Plane) -> int:
    """+1 or -1: the lattice index step along the plane's axis that moves towards superior (axial), anterior
    (coronal) or the patient's right (sagittal), whatever the file's storage order."""
    axis_of, sign_of = anatomical_axes(geometry.directions)
    lps, sign = _FORWARD[plane]
    return sign_of[lps] * sign


def frames_for(geometry: Geometry) -> dict[Plane, SliceFrame]:
    return {p: SliceFrame.for_geometry(geometry, p) for p in Plane}
