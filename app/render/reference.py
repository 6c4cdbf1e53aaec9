"""The reference (grey) volume under a segmentation's slice, aligned in physical space.

When the reference shares the segmentation's lattice the slice is a view. Otherwise every displayed pixel centre
(a voxel centre of the segmentation lattice) is mapped to the reference's continuous index through LPS and the
nearest reference voxel is taken (nearest neighbour, no interpolation: the grey is what the file holds). Pixels
outside the reference get `fill` (its minimum). Resampled slices are cached per (plane axis, index).
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from app.model.geometry import Geometry

from .plane_slabs import PlaneSlicer
from .view_orientation import SliceFrame


def resample_plane(array: np.ndarray, ref_geometry: Geometry, display_geometry: Geometry, frame: SliceFrame,
                   index: int, fill) -> np.ndarray:
    """The reference sampled on the pixel centres of `frame`'s slice `index` of `display_geometry`."""
    m = ref_geometry.lps_to_ijk @ display_geometry.ijk_to_lps
    origin, d_row, d_col = frame.pixel_ijk_grid(index)
    a, t = m[:3, :3], m[:3, 3]
    o = a @ origin + t
    dr, dc = a @ d_row, a @ d_col
    rows = np.arange(frame.rows, dtype=np.float64)
    cols = np.arange(frame.cols, dtype=np.float64)
    out = np.full((frame.rows, frame.cols), fill, dtype=array.dtype)
    inside = np.ones(out.shape, dtype=bool)
    idx = []
    for ax in range(3):
        v = np.rint(o[ax] + rows[:, None] * dr[ax] + cols[None, :] * dc[ax])
        inside &= (v >= 0) & (v <= array.shape[ax] - 1)
        idx.append(v)
    if inside.any():
        out[inside] = array[tuple(v[inside].astype(np.intp) for v in idx)]
    return out


class ReferenceSlicer:
    """Grey slices of one reference volume for one display lattice."""

    def __init__(self, array: np.ndarray, geometry: Geometry, display_geometry: Geometry, cache_size: int = 48):
        self.array = array
        self.geometry = geometry
        self.display_geometry = display_geometry
        self.same_lattice = geometry.same_lattice(display_geometry)
        self.fill = array.min() if array.size else 0
        self._cache: OrderedDict = OrderedDict()
        self._planes: dict = {}             # per view plane (same lattice): cache-friendly plane gathering
        self._cache_size = cache_size

    def slice(self, frame: SliceFrame, index: int) -> np.ndarray:
        if self.same_lattice:
            ps = self._planes.get(frame.plane)
            if ps is None:
                ps = self._planes[frame.plane] = PlaneSlicer(self.array, frame.plane_axis)
            return frame.orient(ps.plane(index))
        key = (frame.plane, int(index))
        got = self._cache.get(key)
        if got is None:
            got = resample_plane(self.array, self.geometry, self.display_geometry, frame, index, self.fill)
            self._cache[key] = got
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        return got

    def value_at(self, ijk_display) -> float | None:
        """Grey value at a (continuous) display-lattice index, nearest reference voxel; None outside."""
        p = self.display_geometry.index_to_physical(ijk_display)
        r = np.rint(self.geometry.physical_to_index(p)).astype(int)
        if not all(0 <= c < s for c, s in zip(r, self.array.shape)):
            return None
        return self.array[tuple(r)].item()
