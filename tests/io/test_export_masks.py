"""One binary mask file per segment (TotalSegmentator's layout, Slicer's "Export to files"): names, voxels and
placement against nibabel/pynrrd reading the files, and against the folder imported before."""
from __future__ import annotations

import os

import nibabel as nib
import nrrd
import numpy as np
import pytest

from app import io
from app.io.mask_export import file_names
from tests.conftest import shared_file


def _masks_folder(tmp_path):
    """slicerio's overlapping file (two layers) written as TotalSegmentator would: one .nii.gz per structure, plus
    an empty one."""
    src = io.open_segmentation(shared_file("slicerio", "SegmentationOverlapping.seg.nrrd"))
    ras = np.diag([-1.0, -1.0, 1.0, 1.0]) @ src.geometry.ijk_to_lps
    folder = tmp_path / "segmentations"
    folder.mkdir()
    for s in src.segments:
        nib.save(nib.Nifti1Image((src.layers[s.layer] == s.label).astype(np.uint8), ras),
                 str(folder / f"{s.name.replace(' ', '_')}.nii.gz"))
    nib.save(nib.Nifti1Image(np.zeros(src.geometry.shape, np.uint8), ras), str(folder / "adrenal_gland_left.nii.gz"))
    return src, folder


def test_a_folder_imported_then_exported_gives_back_its_files(tmp_path):
    src, folder = _masks_folder(tmp_path)
    seg = io.open_segmentation(folder)
    assert seg.n_layers == 2                                       # the sphere overlaps the ribs
    out = tmp_path / "fixed"
    written = io.export_masks(seg, out)
    assert sorted(p.name for p in written) == sorted(p.name for p in folder.iterdir())
    for p in written:
        a, b = nib.load(str(folder / p.name)), nib.load(str(p))
        assert np.array_equal(np.asarray(a.dataobj), np.asarray(b.dataobj)), p.name
        assert np.allclose(a.affine, b.affine, atol=1e-4) and b.get_data_dtype() == np.uint8
    assert io.is_mask_folder(out)
    back = io.open_segmentation(out)
    assert [s.name for s in back.segments] == [s.name for s in seg.segments]


def test_nrrd_masks_and_a_chosen_subset(tmp_path):
    seg = io.open_segmentation(shared_file("slicerio", "Segmentation.seg.nrrd"))
    ids = [s.id for s in seg.segments if "lung" in s.name]
    written = io.export_masks(seg, tmp_path / "lungs", segment_ids=ids, suffix=".nrrd", compression_level=0)
    assert [p.name for p in written] == ["right lung.nrrd", "left lung.nrrd"]
    for p, sid in zip(written, ids):
        data, header = nrrd.read(str(p))
        s = seg.segment(sid)
        assert data.dtype == np.uint8 and np.array_equal(data, (seg.layers[s.layer] == s.label).astype(np.uint8))
        assert np.allclose(header["space origin"], seg.geometry.origin)


def test_names_a_file_cannot_hold_and_names_met_twice(tmp_path):
    seg = io.open_segmentation(shared_file("slicerio", "Segmentation.seg.nrrd"))
    ids = seg.segment_ids
    for sid, name in zip(ids, ["a/b: c?", "Liver", "liver", " .. ", "x\ty", "LIVER", "ok"]):
        seg.update_segment(sid, name=name)
    names = list(file_names(seg).values())
    assert names == ["a_b_ c_.nii.gz", "Liver.nii.gz", "liver_2.nii.gz", f"Segment_{seg.segment(ids[3]).label}.nii.gz",
                     "x_y.nii.gz", "LIVER_3.nii.gz", "ok.nii.gz"]
    assert len(io.export_masks(seg, tmp_path / "m")) == 7 and len(os.listdir(tmp_path / "m")) == 7


def test_refusals_write_nothing(tmp_path):
    seg = io.open_segmentation(shared_file("slicerio", "Segmentation.seg.nrrd"))
    out = tmp_path / "m"
    out.mkdir()
    (out / "ribs.nii.gz").write_bytes(b"old")
    os.chmod(out / "ribs.nii.gz", 0o444)
    try:
        with pytest.raises(io.FileFormatError, match="ribs.nii.gz: the file is read-only"):
            io.export_masks(seg, out)
    finally:
        os.chmod(out / "ribs.nii.gz", 0o644)
    assert os.listdir(out) == ["ribs.nii.gz"] and (out / "ribs.nii.gz").read_bytes() == b"old"
    (tmp_path / "f").write_text("a file")
    with pytest.raises(io.FileFormatError, match="is a file"):
        io.export_masks(seg, tmp_path / "f")
    with pytest.raises(io.FileFormatError, match="not '.png'"):
        io.export_masks(seg, tmp_path / "x", suffix=".png")
    assert not (tmp_path / "x").exists()
