"""NIfTI orientation exactly as ITK/Slicer read it, checked on files built with known affines."""
from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from app import io
from app.io import nifti
from app.model.geometry import Geometry

FLIP = np.diag([-1.0, -1.0, 1.0, 1.0])


def _rotation(deg_z=30.0, deg_x=-20.0):
    a, b = np.radians(deg_z), np.radians(deg_x)
    rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    return rz @ rx


def _affine(spacing=(0.8, 1.2, 2.5), origin=(-30.0, 12.5, 40.0), rot=None):
    m = np.eye(4)
    m[:3, :3] = (np.eye(3) if rot is None else rot) * np.array(spacing)[None, :]
    m[:3, 3] = origin
    return m


def _save(tmp_path, name, affine, qcode=1, scode=1, qaffine=None, data=None, dtype=np.uint8):
    data = np.arange(4 * 5 * 6, dtype=dtype).reshape(4, 5, 6) % 7 if data is None else data
    img = nib.Nifti1Image(data, affine)
    img.header.set_qform(affine if qaffine is None else qaffine, code=qcode)
    img.header.set_sform(affine, code=scode)
    if qcode == 0:
        img.header["qform_code"] = 0
    if scode == 0:
        img.header["sform_code"] = 0
    path = tmp_path / name
    nib.save(img, str(path))
    return path, data


def _lps_positions(geometry: Geometry, ijk):
    return geometry.index_to_physical(ijk)


CORNERS = np.array([[0, 0, 0], [3, 0, 0], [0, 4, 0], [0, 0, 5], [3, 4, 5], [1, 2, 3]], float)


@pytest.mark.parametrize("name", ["a.nii", "a.nii.gz"])
def test_oblique_sform_and_qform_place_every_voxel(tmp_path, name):
    aff = _affine(rot=_rotation())
    path, data = _save(tmp_path, name, aff)
    vol = io.read_volume(path)
    assert np.array_equal(vol.array, data)
    expect = (FLIP @ aff @ np.c_[CORNERS, np.ones(len(CORNERS))].T).T[:, :3]
    assert np.allclose(_lps_positions(vol.geometry, CORNERS), expect, atol=1e-4)
    assert vol.geometry.spacing == pytest.approx((0.8, 1.2, 2.5))


def test_sform_only(tmp_path):
    aff = _affine(rot=_rotation(10, 5))
    path, _ = _save(tmp_path, "s.nii.gz", aff, qcode=0, scode=2)
    g = io.read_volume(path).geometry
    assert np.allclose(g.ijk_to_lps, FLIP @ aff, atol=1e-5)


def test_qform_only(tmp_path):
    aff = _affine(rot=_rotation(-40, 15))
    path, _ = _save(tmp_path, "q.nii.gz", aff, qcode=1, scode=0)
    g = io.read_volume(path).geometry
    assert np.allclose(g.ijk_to_lps, FLIP @ aff, atol=1e-4)


def test_qform_wins_when_the_sform_is_another_space_and_they_disagree(tmp_path):
    """ITK: sform code 2 (aligned) + a qform that differs -> the qform."""
    s_aff = _affine(origin=(100.0, 0.0, 0.0))
    q_aff = _affine(rot=_rotation(25, 0))
    path, _ = _save(tmp_path, "d.nii.gz", s_aff, qcode=1, scode=2, qaffine=q_aff)
    g = io.read_volume(path).geometry
    assert np.allclose(g.ijk_to_lps, FLIP @ q_aff, atol=1e-4)


def test_sform_wins_when_its_code_is_scanner_anat(tmp_path):
    s_aff = _affine(origin=(100.0, 0.0, 0.0))
    q_aff = _affine(rot=_rotation(25, 0))
    path, _ = _save(tmp_path, "w.nii.gz", s_aff, qcode=1, scode=1, qaffine=q_aff)
    g = io.read_volume(path).geometry
    assert np.allclose(g.ijk_to_lps, FLIP @ s_aff, atol=1e-5)


def test_no_orientation_is_identity_lps_at_the_origin(tmp_path):
    """Neither code set: ITK uses pixdim along the LPS axes, origin 0 (a documented, not refused, reading)."""
    img = nib.Nifti1Image(np.zeros((4, 5, 6), np.uint8), None)
    img.header.set_zooms((2.0, 3.0, 4.0))
    nib.save(img, str(tmp_path / "n.nii"))
    assert int(img.header["qform_code"]) == 0 == int(img.header["sform_code"])
    g = io.read_volume(tmp_path / "n.nii").geometry
    assert g.spacing == (2.0, 3.0, 4.0) and g.origin == (0.0, 0.0, 0.0)
    assert np.allclose(g.direction_matrix, np.eye(3))


def test_sheared_sform_without_qform_is_refused(tmp_path):
    aff = _affine()
    aff[0, 1] = 0.9                                     # shear
    path, _ = _save(tmp_path, "sh.nii.gz", aff, qcode=0, scode=1)
    with pytest.raises(io.FileFormatError, match="sheared"):
        io.read_volume(path)


def test_itksnap_file_matches_nibabel_affine():
    from tests.conftest import shared_file

    path = shared_file("itksnap", "MRIcrop-seg.nii.gz")
    img = nib.load(str(path))
    g = io.read_volume(path).geometry
    assert np.allclose(g.ijk_to_lps, FLIP @ img.affine, atol=1e-5)
    assert np.array_equal(io.read_volume(path).array, np.asarray(img.dataobj))


def test_labelmap_round_trip_through_our_writer(tmp_path):
    g = Geometry((5, 6, 7), (0.5, 0.7, 1.1), (1.0, -2.0, 3.0), tuple(map(tuple, _rotation(15, 30))))
    arr = (np.arange(5 * 6 * 7).reshape(5, 6, 7) % 5).astype(np.int16) - 1
    out = tmp_path / "r.nii.gz"
    nifti.write(out, arr, g)
    vol = io.read_volume(out)
    assert vol.geometry.same_lattice(g, tol=1e-4)
    assert np.array_equal(vol.array, arr) and vol.array.dtype == np.int16
    img = nib.load(str(out))
    assert int(img.header["qform_code"]) == 1 and int(img.header["sform_code"]) == 1
    assert np.allclose(FLIP @ img.affine, g.ijk_to_lps, atol=1e-4)


def test_big_endian_and_scaled_data(tmp_path):
    data = np.arange(24, dtype=">i2").reshape(2, 3, 4)
    img = nib.Nifti1Image(data, np.eye(4))
    img.header.set_data_dtype(">i2")
    path = tmp_path / "be.nii"
    nib.save(img, str(path))
    assert np.array_equal(io.read_volume(path).array, data.astype(np.int16))
    img = nib.Nifti1Image(data.astype(np.int16), np.eye(4))
    img.header.set_slope_inter(0.5, 10)
    nib.save(img, str(tmp_path / "sc.nii"))
    assert np.allclose(io.read_volume(tmp_path / "sc.nii").array, data * 0.5 + 10)


def test_labelmap_nifti_with_negative_and_float_labels(tmp_path):
    data = np.zeros((4, 4, 4), np.float32)
    data[0] = 3
    data[1] = -2
    _save(tmp_path, "f.nii.gz", np.eye(4), data=data)
    with pytest.warns(io.FileFormatWarning, match="floating point"):
        seg = io.open_segmentation(tmp_path / "f.nii.gz")
    assert sorted(s.label for s in seg.segments) == [-2, 3]
    assert seg.layers[0].dtype == np.int8
    data[2, 0, 0] = 1.5
    _save(tmp_path, "g.nii.gz", np.eye(4), data=data)
    with pytest.raises(io.FileFormatError, match="fractional"):
        io.open_segmentation(tmp_path / "g.nii.gz")


def test_4d_nifti_is_refused_but_trailing_unit_axes_are_fine(tmp_path):
    nib.save(nib.Nifti1Image(np.zeros((3, 3, 3, 2), np.uint8), np.eye(4)), str(tmp_path / "t.nii"))
    with pytest.raises(io.FileFormatError, match="4-dimensional"):
        io.read_volume(tmp_path / "t.nii")
    nib.save(nib.Nifti1Image(np.ones((3, 3, 3, 1), np.uint8), np.eye(4)), str(tmp_path / "u.nii"))
    assert io.read_volume(tmp_path / "u.nii").array.shape == (3, 3, 3)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.uint16, np.int32, np.uint32, np.float32,
                                   np.float64])
@pytest.mark.parametrize("order", ["C", "F"])
def test_the_writer_gives_the_bytes_nibabel_gives(tmp_path, dtype, order):
    """The writer streams the header and the array itself (no copy of the volume) where it used nibabel's
    to_bytes(): the same bytes, for every type it writes and either memory order."""
    rng = np.random.default_rng(7)
    arr = np.asarray(rng.integers(0, 90, size=(5, 6, 7)), dtype=dtype, order=order)
    g = Geometry(arr.shape, (0.8, 1.2, 2.5), (-30.0, 12.5, 40.0), _rotation())
    nifti.write(tmp_path / "x.nii", arr, g)
    affine = nifti.RAS_TO_LPS @ g.ijk_to_lps
    img = nib.Nifti1Image(arr, affine)
    img.header.set_qform(affine, code=1)
    img.header.set_sform(affine, code=1)
    img.header.set_xyzt_units("mm")
    assert (tmp_path / "x.nii").read_bytes() == img.to_bytes()
    nifti.write(tmp_path / "x.nii.gz", arr, g)
    import gzip
    assert gzip.decompress((tmp_path / "x.nii.gz").read_bytes()) == img.to_bytes()
    swapped = arr.astype(arr.dtype.newbyteorder(">" if arr.dtype.byteorder != ">" else "<"))
    nifti.write(tmp_path / "s.nii", swapped, g)                        # the other byte order: the same values
    assert np.array_equal(nifti.read(tmp_path / "s.nii")[0], arr)
    ext = b"<CaretExtension>a label table of 37 bytes</CaretExtension>"          # and with an extension
    nifti.write(tmp_path / "e.nii", arr, g, extensions=[(0, ext)])
    img.header.extensions.append(nib.nifti1.Nifti1Extension(0, ext))
    assert (tmp_path / "e.nii").read_bytes() == img.to_bytes()


@pytest.mark.parametrize("big", [False, True])
def test_a_zero_data_offset_after_an_extension_is_found_in_either_byte_order(tmp_path, big):
    """vox_offset 0 (old writers): the data starts after the header's extensions, walked by their sizes. The
    sizes were read as the larger of both byte orders (a 32-byte extension of a little-endian file read as
    536 MB), and with nothing marking the last extension the data after it was taken for one more: the file was
    called truncated. Sizes are read in the header's order, as the label tables' reader reads them, and a code past
    the registered ones ends the walk."""
    import struct

    arr = (np.arange(24).reshape(2, 3, 4) % 5).astype(np.int16)
    img = nib.Nifti1Image(arr, np.eye(4))
    if big:
        img = nib.Nifti1Image(arr, img.affine, img.header.as_byteswapped(">"))
    img.header.extensions.append(nib.nifti1.Nifti1Extension(0, b"<x>an extension</x>"))
    raw = bytearray(img.to_bytes())
    struct.pack_into(">f" if big else "<f", raw, 108, 0.0)
    (tmp_path / "v.nii").write_bytes(bytes(raw))
    got, _ = nifti.read(tmp_path / "v.nii")
    assert np.array_equal(got, arr)
    assert [code for code, _ in nifti.extensions(tmp_path / "v.nii")] == [0]
