"""A reference volume on another lattice is sampled in physical space (nearest voxel), per displayed pixel."""
from __future__ import annotations

import numpy as np

from app.model.geometry import Geometry
from app.render.reference import ReferenceSlicer
from app.render.view_orientation import Plane, SliceFrame


def _brute_force(array, ref_geo, disp_geo, frame, index, fill):
    out = np.full((frame.rows, frame.cols), fill, dtype=array.dtype)
    for r in range(frame.rows):
        for c in range(frame.cols):
            lps = disp_geo.index_to_physical(frame.to_ijk(c + 0.5, r + 0.5, index))
            ijk = np.rint(ref_geo.physical_to_index(lps)).astype(int)
            if all(0 <= v < n for v, n in zip(ijk, array.shape)):
                out[r, c] = array[tuple(ijk)]
    return out


def test_cropped_segmentation_over_a_permuted_reference_with_other_spacing():
    ref_geo = Geometry((20, 18, 16), (1.0, 1.0, 2.0), (-10.0, -9.0, -16.0),
                       ((0, 1, 0), (0, 0, -1), (1, 0, 0)))          # permuted like the SPL atlas
    array = np.arange(np.prod(ref_geo.shape), dtype=np.int32).reshape(ref_geo.shape)
    seg_geo = Geometry((9, 11, 7), (1.5, 0.75, 2.5), (-6.0, -4.0, -14.0))
    slicer = ReferenceSlicer(array, ref_geo, seg_geo)
    assert not slicer.same_lattice
    for plane in Plane:
        frame = SliceFrame.for_geometry(seg_geo, plane)
        for index in (0, frame.n_slices // 2, frame.n_slices - 1):
            got = slicer.slice(frame, index)
            assert np.array_equal(got, _brute_force(array, ref_geo, seg_geo, frame, index, slicer.fill))
            assert slicer.slice(frame, index) is got          # cached


def test_same_lattice_is_a_view():
    geo = Geometry((4, 5, 6))
    array = np.zeros(geo.shape, dtype=np.int16)
    slicer = ReferenceSlicer(array, geo, geo)
    s = slicer.slice(SliceFrame.for_geometry(geo, Plane.CORONAL), 2)
    assert np.shares_memory(s, array)
    assert slicer.value_at((1, 2, 3)) == 0 and slicer.value_at((10, 0, 0)) is None
