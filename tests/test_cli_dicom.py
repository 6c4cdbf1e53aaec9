"""`segedit info / convert` with DICOM: real subprocesses on DICOM files the test makes."""
from __future__ import annotations

import json

import numpy as np
import pytest

from app import io
from tests.io.dicom_maker import write_ct_series
from tests.io.test_dicom import GEOMETRY, ct_values, lps_points, painted
from tests.test_cli import assert_user_error, run

hd = pytest.importorskip("highdicom")


@pytest.fixture
def ct(tmp_path):
    info = write_ct_series(tmp_path / "ct", ct_values(), GEOMETRY, slope=2, intercept=-1024)
    return tmp_path / "ct", info


def test_info_lists_the_series_of_a_folder(ct):
    folder, info = ct
    res = run("info", folder.parent, "--json")
    assert res.returncode == 0, res.stderr
    series = json.loads(res.stdout)
    assert [(s["series_uid"], s["images"], s["rows"], s["columns"]) for s in series] == [(info["series"], 12, 36, 40)]


def test_convert_seg_nrrd_to_dicom_seg_and_back(ct, tmp_path):
    folder, info = ct
    vol = io.read_volume(folder)
    seg = painted(vol.geometry, overlap=True)
    io.save_segmentation(seg, tmp_path / "a.seg.nrrd")
    res = run("convert", tmp_path / "a.seg.nrrd", tmp_path / "a.dcm", "--reference", folder)
    assert res.returncode == 0, res.stderr
    dcm = hd.seg.segread(tmp_path / "a.dcm")
    assert dcm.ReferencedSeriesSequence[0].SeriesInstanceUID == info["series"]
    assert [dcm.get_segment_description(n).segment_label for n in dcm.segment_numbers] == ["liver", "kidney", "tumour"]
    res = run("info", tmp_path / "a.dcm", "--reference", folder, "--json")
    assert res.returncode == 0, res.stderr
    facts = json.loads(res.stdout)
    assert facts["shape"] == list(GEOMETRY.shape) and facts["layers"] == 2
    assert [s["voxels"] for s in facts["segments"]] == [seg.voxel_count(s.id) for s in seg.segments]
    res = run("convert", tmp_path / "a.dcm", tmp_path / "b.seg.nrrd", "--reference", folder)
    assert res.returncode == 0, res.stderr
    back = io.open_segmentation(tmp_path / "b.seg.nrrd")
    for s0, s1 in zip(seg.segments, back.segments):
        assert lps_points(back.layers[s1.layer] == s1.label, back.geometry) == \
            lps_points(seg.layers[s0.layer] == s0.label, seg.geometry)


def test_convert_labelmap_to_dicom_seg(ct, tmp_path):
    folder, _ = ct
    vol = io.read_volume(folder)
    labels = np.zeros(vol.geometry.shape, np.uint16)
    labels[2:10, 3:9, 1:5] = 7
    labels[20:30, 3:9, 1:5] = 4100          # sparse atlas-style values: the SEG numbers segments 1..N
    import nibabel as nib

    affine = vol.geometry.ijk_to_lps.copy()
    affine[:2] *= -1                         # LPS -> RAS for NIfTI
    nib.save(nib.Nifti1Image(labels, affine), tmp_path / "l.nii.gz")
    res = run("convert", tmp_path / "l.nii.gz", tmp_path / "l.dcm", "--reference", folder)
    assert res.returncode == 0, res.stderr
    back = io.open_segmentation(tmp_path / "l.dcm", reference=vol)
    assert [s.label for s in back.segments] == [1, 2]
    assert np.array_equal(back.layers[0] == 1, labels == 7) and np.array_equal(back.layers[0] == 2, labels == 4100)


def test_bad_dicom_input_one_sentence_exit_2_nothing_written(ct, tmp_path):
    folder, _ = ct
    vol = io.read_volume(folder)
    io.save_segmentation(painted(vol.geometry), tmp_path / "a.seg.nrrd")
    (tmp_path / "empty").mkdir()
    assert_user_error(run("convert", tmp_path / "a.seg.nrrd", tmp_path / "x.dcm"), "needs --reference")
    assert_user_error(run("convert", tmp_path / "a.seg.nrrd", tmp_path / "x.dcm", "--reference", tmp_path / "empty"),
                      "no DICOM images")
    assert_user_error(run("convert", tmp_path / "a.seg.nrrd", tmp_path / "x.dcm", "--reference", folder,
                          "--series", "1.2.3"), "no image series 1.2.3")
    write_ct_series(tmp_path / "gap", ct_values(), GEOMETRY, 2, -1024, skip=(4,))
    assert_user_error(run("convert", tmp_path / "a.seg.nrrd", tmp_path / "x.dcm", "--reference", tmp_path / "gap"),
                      "missing slices")
    assert not (tmp_path / "x.dcm").exists()
    # a SEG whose images are absent from the given reference folder
    io.write_dicom_seg(painted(vol.geometry), vol, tmp_path / "s.dcm")
    write_ct_series(tmp_path / "other", ct_values(), GEOMETRY, 2, -1024)
    assert_user_error(run("convert", tmp_path / "s.dcm", tmp_path / "y.seg.nrrd", "--reference", tmp_path / "other"),
                      "another frame of reference")
    assert not (tmp_path / "y.seg.nrrd").exists()
