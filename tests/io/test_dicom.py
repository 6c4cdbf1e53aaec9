"""DICOM image series and DICOM SEG, on files the tests make with pydicom / highdicom (tests/io/dicom_maker.py).

Every expectation is computed independently of segedit's readers: voxel values from the numpy volume the files were
made from, positions from the DICOM attributes by the standard's formula, SEG contents through highdicom's own
reader."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest

from app import io
from app.model.edits import EditMode, EditPolicy, Overwrite, apply_mask
from app.model.geometry import Geometry
from app.model.segmentation import Segmentation
from tests.io.dicom_maker import rotation, write_ct_series, write_enhanced_ct

hd = pytest.importorskip("highdicom")

GEOMETRY = Geometry((40, 36, 12), (0.7, 0.9, 2.5), (-30.0, 12.0, 55.0), tuple(map(tuple, rotation(0.3, -0.2, 0.5))))


def ct_values(geometry: Geometry = GEOMETRY, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(-500, 1500, geometry.shape).astype(np.int32) * 2 - 1024     # slope 2, intercept -1024


@pytest.fixture
def series(tmp_path):
    real = ct_values()
    info = write_ct_series(tmp_path / "ct", real, GEOMETRY, slope=2, intercept=-1024)
    return tmp_path / "ct", real, info


def lps_of_pixel(ds, col: int, row: int) -> np.ndarray:
    """DICOM PS3.3 C.7.6.2.1.1: position of pixel (column c, row r) of an image, straight from its attributes."""
    ipp = np.asarray(ds.ImagePositionPatient, float)
    iop = np.asarray(ds.ImageOrientationPatient, float)
    dr, dc = (float(v) for v in ds.PixelSpacing)          # row spacing, column spacing
    return ipp + iop[:3] * dc * col + iop[3:] * dr * row


# --- image series ------------------------------------------------------------------------------------------------

def test_series_read_voxel_exact_and_placed_by_the_standards_formula(series):
    folder, real, info = series
    vol = io.read_volume(folder)
    assert vol.array.dtype == np.int16                  # rescaled values fit: kept small, never float64
    assert np.array_equal(vol.array, real)
    # every file's pixel (c, r) is the volume's voxel (c, r, k) at the position the standard gives
    rng = np.random.default_rng(1)
    for path in info["paths"]:
        ds = pydicom.dcmread(path)
        pixels = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
        c, r = int(rng.integers(0, ds.Columns)), int(rng.integers(0, ds.Rows))
        ijk = np.rint(vol.geometry.physical_to_index(lps_of_pixel(ds, c, r))).astype(int)
        assert ijk[0] == c and ijk[1] == r
        assert vol.array[tuple(ijk)] == pixels[r, c]
        assert np.allclose(vol.geometry.index_to_physical(ijk), lps_of_pixel(ds, c, r), atol=1e-4)
    assert np.linalg.det(vol.geometry.direction_matrix) > 0
    assert vol.source.series_uid == info["series"] and vol.source.study_uid == info["study"]
    assert len(vol.source.sop_uids) == GEOMETRY.shape[2]


def test_enhanced_multiframe_reads_like_the_series(tmp_path):
    real = ct_values(seed=3)
    write_enhanced_ct(tmp_path / "e" / "ct.dcm", real, GEOMETRY, slope=2, intercept=-1024)
    vol = io.read_volume(tmp_path / "e" / "ct.dcm")
    assert np.array_equal(vol.array, real)
    assert np.allclose(vol.geometry.ijk_to_lps, GEOMETRY.ijk_to_lps, atol=1e-5)
    assert vol.source.frame_numbers == list(range(12, 0, -1))      # stored in reverse slice order


@pytest.mark.parametrize("syntax", ["RLELossless", "JPEG2000Lossless"])
def test_compressed_series(tmp_path, syntax):
    import pydicom.uid as uids

    real = ct_values(seed=4)
    write_ct_series(tmp_path / "c", real, GEOMETRY, slope=2, intercept=-1024, transfer_syntax=getattr(uids, syntax))
    assert pydicom.dcmread(next((tmp_path / "c").iterdir())).file_meta.TransferSyntaxUID == getattr(uids, syntax)
    assert np.array_equal(io.read_volume(tmp_path / "c").array, real)


def test_float_rescale_is_float32(tmp_path):
    g = Geometry((8, 6, 3), (1.0, 1.0, 2.0))
    stored = np.arange(np.prod(g.shape)).reshape(g.shape)
    write_ct_series(tmp_path / "f", stored * 0.5 + 0.25, g, slope=0.5, intercept=0.25)
    vol = io.read_volume(tmp_path / "f")
    assert vol.array.dtype == np.float32
    assert np.allclose(vol.array, stored * 0.5 + 0.25)


def test_largest_series_by_default_and_by_uid(tmp_path):
    big, small = ct_values(), ct_values(Geometry((40, 36, 5), GEOMETRY.spacing, GEOMETRY.origin, GEOMETRY.directions))
    a = write_ct_series(tmp_path / "mixed", big, GEOMETRY, 2, -1024)
    b = write_ct_series(tmp_path / "mixed" / "sub", small,
                        Geometry((40, 36, 5), GEOMETRY.spacing, GEOMETRY.origin, GEOMETRY.directions), 2, -1024)
    assert [s.uid for s in io.list_dicom_series(tmp_path / "mixed")] == [a["series"], b["series"]]
    assert io.read_volume(tmp_path / "mixed").array.shape == (40, 36, 12)
    assert io.read_volume(tmp_path / "mixed", series=b["series"]).array.shape == (40, 36, 5)
    # a file of the small series opens the small series
    assert io.read_volume(b["paths"][0]).array.shape == (40, 36, 5)


def one_sentence(exc) -> str:
    text = str(exc.value)
    assert text and "\n" not in text and len(text) < 400
    return text


def test_bad_series_one_sentence_each(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("not dicom")
    with pytest.raises(io.FileFormatError) as e:
        io.read_volume(tmp_path / "empty")
    assert "no DICOM images" in one_sentence(e)
    # two series of the same size: no silent choice
    write_ct_series(tmp_path / "two" / "a", ct_values(), GEOMETRY, 2, -1024)
    write_ct_series(tmp_path / "two" / "b", ct_values(), GEOMETRY, 2, -1024, seed=5)
    with pytest.raises(io.FileFormatError) as e:
        io.read_volume(tmp_path / "two")
    assert "choose one" in one_sentence(e) and "--series" in str(e.value)
    # a missing slice
    write_ct_series(tmp_path / "gap", ct_values(), GEOMETRY, 2, -1024, skip=(5,))
    with pytest.raises(io.FileFormatError) as e:
        io.read_volume(tmp_path / "gap")
    assert "not uniform" in one_sentence(e) and "missing slices" in str(e.value)
    # an unknown series UID
    with pytest.raises(io.FileFormatError) as e:
        io.read_volume(tmp_path / "gap", series="1.2.3")
    assert "no image series 1.2.3" in one_sentence(e)


def test_gantry_tilt_is_refused(tmp_path):
    info = write_ct_series(tmp_path / "tilt", ct_values(), GEOMETRY, 2, -1024)
    d = GEOMETRY.direction_matrix
    for path in info["paths"]:       # shift each slice along the column direction in proportion to its height
        ds = pydicom.dcmread(path)
        ipp = np.asarray(ds.ImagePositionPatient, float)
        k = float((ipp - np.asarray(GEOMETRY.origin)) @ d[:, 2]) / GEOMETRY.spacing[2]
        ds.ImagePositionPatient = [f"{v:.8f}" for v in ipp + d[:, 1] * 0.3 * k * GEOMETRY.spacing[2]]
        ds.save_as(path)
    with pytest.raises(io.FileFormatError) as e:
        io.read_volume(tmp_path / "tilt")
    assert "gantry tilt" in one_sentence(e)


def test_two_images_at_one_position_are_refused(tmp_path):
    info = write_ct_series(tmp_path / "dup", ct_values(), GEOMETRY, 2, -1024)
    ds = pydicom.dcmread(info["paths"][3])
    ds.ImagePositionPatient = pydicom.dcmread(info["paths"][4]).ImagePositionPatient
    ds.save_as(info["paths"][3])
    with pytest.raises(io.FileFormatError) as e:
        io.read_volume(tmp_path / "dup")
    assert "several images at the position" in one_sentence(e)


# --- DICOM SEG ---------------------------------------------------------------------------------------------------

def painted(geometry: Geometry, overlap: bool = False) -> Segmentation:
    seg = Segmentation(geometry)
    liver, kidney = seg.add_segment("liver"), seg.add_segment("kidney")
    liver.tags["TerminologyEntry"] = ("Segmentation category and type - 3D Slicer General Anatomy list~SCT^123037004^"
                                      "Anatomical Structure~SCT^10200004^Liver~^^~Anatomic codes - DICOM master "
                                      "list~^^~^^")
    kidney.tags["TerminologyEntry"] = ("Segmentation category and type - 3D Slicer General Anatomy list~SCT^123037004^"
                                       "Anatomical Structure~SCT^64033007^Kidney~SCT^7771000^Left~Anatomic codes - "
                                       "DICOM master list~^^~^^")
    policy = EditPolicy(overwrite=Overwrite.NONE)
    apply_mask(seg, liver.id, np.ones((15, 15, 6), bool), (slice(5, 20), slice(5, 20), slice(2, 8)), EditMode.ADD,
               policy)
    apply_mask(seg, kidney.id, np.ones((8, 20, 7), bool), (slice(22, 30), slice(10, 30), slice(4, 11)), EditMode.ADD,
               policy)
    if overlap:
        tumour = seg.add_segment("tumour")
        apply_mask(seg, tumour.id, np.ones((10, 10, 4), bool), (slice(10, 20), slice(10, 20), slice(3, 7)),
                   EditMode.ADD, policy)
        assert seg.n_layers == 2
    return seg


def lps_points(mask: np.ndarray, geometry: Geometry) -> set:
    return {tuple(np.round(p, 3)) for p in geometry.index_to_physical(np.argwhere(mask))}


def highdicom_points(path: Path, number: int) -> set:
    """The LPS voxel centres highdicom itself finds for one segment (its own volume and affine)."""
    dcm = hd.seg.segread(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vol = dcm.get_volume(segment_numbers=[number], combine_segments=True, relabel=True)
    idx = np.argwhere(vol.array > 0)
    pts = idx @ vol.affine[:3, :3].T + vol.affine[:3, 3]
    return {tuple(np.round(p, 3)) for p in pts}


@pytest.mark.parametrize("overlap", [False, True])
def test_seg_written_then_read_by_highdicom_and_by_segedit(series, overlap):
    folder, _, info = series
    vol = io.read_volume(folder)
    seg = painted(vol.geometry, overlap)
    out = folder.parent / "seg.dcm"
    io.write_dicom_seg(seg, vol, out)
    dcm = hd.seg.segread(out)
    assert str(dcm.SegmentationType) == ("BINARY" if overlap else "LABELMAP")
    assert dcm.PatientID == "SEGEDIT-TEST-1" and dcm.StudyInstanceUID == info["study"]
    assert dcm.ReferencedSeriesSequence[0].SeriesInstanceUID == info["series"]
    assert dcm.SeriesInstanceUID != info["series"]
    assert list(dcm.segment_numbers) == list(range(1, len(seg.segments) + 1))
    for n, s in enumerate(seg.segments, start=1):
        d = dcm.get_segment_description(n)
        assert d.segment_label == s.name
        assert str(d.algorithm_type.value if hasattr(d.algorithm_type, "value") else d.algorithm_type) == "MANUAL"
        lab = hd.color.CIELabColor.from_dicom_value(list(d.RecommendedDisplayCIELabValue))
        assert np.allclose(np.array(lab.to_rgb(clip=True)) / 255.0, s.color, atol=1.5 / 255)
        assert highdicom_points(out, n) == lps_points(seg.layers[s.layer] == s.label, seg.geometry)
    liver = dcm.get_segment_description(1)
    assert liver.segmented_property_type.value == "10200004"
    assert liver.segmented_property_category.value == "123037004"
    kidney = dcm.SegmentSequence[[int(x.SegmentNumber) for x in dcm.SegmentSequence].index(2)]
    assert kidney.SegmentedPropertyTypeCodeSequence[0].SegmentedPropertyTypeModifierCodeSequence[0].CodeValue == \
        "7771000"
    # segedit reads it back onto the series' lattice (found beside the SEG), same voxels, names, codes
    back = io.open_segmentation(out)
    assert back.geometry.same_lattice(vol.geometry)
    assert [s.name for s in back.segments] == [s.name for s in seg.segments]
    assert back.n_layers == (2 if overlap else 1)
    for s0, s1 in zip(seg.segments, back.segments):
        assert np.array_equal(seg.layers[s0.layer] == s0.label, back.layers[s1.layer] == s1.label)
        assert np.allclose(s0.color, s1.color, atol=1.5 / 255)
        codes = s1.tags["TerminologyEntry"].split("~")[1:4]
        if "TerminologyEntry" in s0.tags:
            assert codes == s0.tags["TerminologyEntry"].split("~")[1:4]
        else:                                             # the generic tissue code
            assert codes == ["SCT^85756007^Tissue", "SCT^85756007^Tissue", "^^"]


def test_seg_on_its_own_frames_without_the_images(series, tmp_path):
    folder, _, _ = series
    vol = io.read_volume(folder)
    seg = painted(vol.geometry)
    alone = tmp_path / "alone"
    alone.mkdir()
    io.write_dicom_seg(seg, vol, alone / "seg.dcm")
    with pytest.warns(io.FileFormatWarning, match="not beside it"):
        back = io.open_segmentation(alone / "seg.dcm")
    for s0, s1 in zip(seg.segments, back.segments):     # same voxels in physical space, on a smaller lattice
        assert lps_points(back.layers[s1.layer] == s1.label, back.geometry) == \
            lps_points(seg.layers[s0.layer] == s0.label, seg.geometry)


def test_multiframe_source_frames_pair_with_the_right_slices(tmp_path):
    real = ct_values(seed=7)
    write_enhanced_ct(tmp_path / "e" / "ct.dcm", real, GEOMETRY, slope=2, intercept=-1024)
    vol = io.read_volume(tmp_path / "e")
    seg = painted(vol.geometry)
    io.write_dicom_seg(seg, vol, tmp_path / "e" / "seg.dcm")
    for n, s in enumerate(seg.segments, start=1):
        assert highdicom_points(tmp_path / "e" / "seg.dcm", n) == lps_points(seg.layers[s.layer] == s.label,
                                                                              seg.geometry)
    back = io.open_segmentation(tmp_path / "e" / "seg.dcm", reference=vol)
    assert np.array_equal(back.layers[0] != 0, seg.layers[0] != 0)


def test_cropped_segmentation_on_the_series_lattice_is_placed_exactly(series):
    folder, _, _ = series
    vol = io.read_volume(folder)
    full = painted(vol.geometry)
    g = vol.geometry      # a lattice cropped to [3:33, 2:34, 1:12], as Slicer writes .seg.nrrd extents
    crop = Geometry((30, 32, 11), g.spacing, tuple(g.index_to_physical((3, 2, 1))), g.directions)
    seg = Segmentation.from_layers(crop, [full.layers[0][3:33, 2:34, 1:12].copy()], [s.copy() for s in full.segments])
    out = folder.parent / "crop.dcm"
    io.write_dicom_seg(seg, vol, out)
    back = io.open_segmentation(out, reference=vol)
    assert np.array_equal(back.layers[0], full.layers[0])


def test_seg_write_refusals_write_nothing(series, tmp_path):
    folder, _, _ = series
    vol = io.read_volume(folder)
    seg = painted(vol.geometry)
    out = tmp_path / "x.dcm"
    with pytest.raises(io.FileFormatError) as e:
        io.write_dicom_seg(seg, io.Volume(vol.array, vol.geometry), out)
    assert "did not come from a DICOM series" in one_sentence(e)
    shifted = Geometry(vol.geometry.shape, vol.geometry.spacing,
                       tuple(np.asarray(vol.geometry.origin) + 0.3), vol.geometry.directions)
    moved = Segmentation.from_layers(shifted, [a.copy() for a in seg.layers], [s.copy() for s in seg.segments])
    with pytest.raises(io.FileFormatError) as e:
        io.write_dicom_seg(moved, vol, out)
    assert "not on the lattice" in one_sentence(e)
    assert not out.exists() and not list(tmp_path.glob(".x.dcm*"))


def test_seg_against_another_frame_of_reference_is_refused(series, tmp_path):
    folder, _, _ = series
    vol = io.read_volume(folder)
    io.write_dicom_seg(painted(vol.geometry), vol, tmp_path / "seg.dcm")
    other = io.read_volume(write_ct_series(tmp_path / "other", ct_values(), GEOMETRY, 2, -1024)["paths"][0].parent)
    with pytest.raises(io.FileFormatError) as e:
        io.open_segmentation(tmp_path / "seg.dcm", reference=other)
    assert "another frame of reference" in one_sentence(e)


def test_image_file_is_not_a_segmentation(series):
    folder, _, info = series
    with pytest.raises(io.FileFormatError) as e:
        io.open_segmentation(info["paths"][0])
    assert "not a segmentation" in one_sentence(e)
