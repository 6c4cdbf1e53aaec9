"""The reference volume's grey values on the segmentation lattice, for the editable intensity range (Qt-free).

Slicer masks edits with the source volume resampled to the segmentation's geometry; we do the same, once per
(reference, segmentation lattice) pair, and keep the result until either changes."""
from __future__ import annotations

import numpy as np

from app.model.geometry import Geometry


def resample_to_lattice(array: np.ndarray, source: Geometry, target: Geometry) -> np.ndarray:
    """`array` (on `source`) sampled at the voxel centres of `target`: the array itself when the lattices are
    the same, else trilinear float32 with NaN outside the source (NaN is outside every intensity range)."""
    if source.same_lattice(target):
        return array
    from scipy import ndimage

    m = source.lps_to_ijk @ target.ijk_to_lps      # target ijk -> source ijk
    return ndimage.affine_transform(np.asarray(array, dtype=np.float32), m[:3, :3], offset=m[:3, 3],
                                    output_shape=target.shape, order=1, mode="constant", cval=np.nan,
                                    prefilter=False)


class IntensityCache:
    """Remembers the last resampling: `get(volume, geometry)` is free while neither changes."""

    def __init__(self) -> None:
        self._key = None
        self._volume = None        # kept alive so its id() in the key stays meaningful
        self._grey: np.ndarray | None = None

    def get(self, volume, target: Geometry) -> np.ndarray | None:
        """`volume` has `.array` and `.geometry` (app.io.Volume) or is None."""
        if volume is None:
            return None
        key = (id(volume), id(volume.array), volume.geometry, target)
        if key != self._key:
            self._grey = resample_to_lattice(volume.array, volume.geometry, target)
            self._key, self._volume = key, volume
        return self._grey

    def clear(self) -> None:
        self._key = self._volume = self._grey = None
