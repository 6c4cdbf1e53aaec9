"""The `segedit` command line, run as a real subprocess (`python -m app ...`)."""
from __future__ import annotations

import gzip
import json
import os
import pty
import subprocess
import sys

import numpy as np
import nrrd
import pytest

from app import io
from tests.conftest import ROOT, shared_file

JSON_KEYS = {"shape", "spacing", "origin", "directions", "layers", "scalar_type", "segments"}
SEGMENT_KEYS = {"id", "name", "color", "layer", "label_value", "voxels", "volume_mm3", "group", "status", "comment",
                "terminology"}


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "app", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=120)


def assert_user_error(res, match):
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("segedit: error:"), res.stderr
    assert "Traceback" not in res.stderr and match in lines[0]


def test_info_json_on_the_atlas():
    res = run("info", shared_file("spl-brain-atlas", "hncma-atlas_2014-11_304labels.nrrd"),
              "--labels", shared_file("spl-brain-atlas", "hncma-atlas-lut_2014-11.ctbl"), "--json")
    assert res.returncode == 0, res.stderr
    facts = json.loads(res.stdout)
    assert set(facts) == JSON_KEYS
    assert facts["shape"] == [256, 256, 256] and facts["spacing"] == [1.0, 1.0, 1.0]
    assert facts["origin"] == [-128.0, -128.0, 128.0]
    assert facts["directions"] == [[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]]   # i, j, k in LPS
    assert facts["layers"] == 1 and facts["scalar_type"] == "int16"
    assert len(facts["segments"]) == 304
    first = facts["segments"][0]
    assert set(first) == SEGMENT_KEYS
    assert first["name"] == "white_matter_of_left_cerebral_hemisphere" and first["label_value"] == 2
    assert first["color"] == pytest.approx([250 / 255, 250 / 255, 225 / 255], abs=1e-6)
    assert first["volume_mm3"] == first["voxels"] > 0


def test_info_json_counts_match_the_file():
    path = shared_file("slicerio", "SegmentationOverlapping.seg.nrrd")
    facts = json.loads(run("info", path, "--json").stdout)
    data, _ = nrrd.read(str(path))
    assert facts["layers"] == 2 and facts["scalar_type"] == "uint8"
    for s in facts["segments"]:
        assert s["voxels"] == int((data[s["layer"]] == s["label_value"]).sum())
        assert s["volume_mm3"] == pytest.approx(s["voxels"] * 3.04687595367432 ** 2 * 10.0, rel=1e-6)


def test_info_text():
    res = run("info", shared_file("itksnap", "MRIcrop-seg.nii.gz"))
    assert res.returncode == 0 and res.stderr == ""
    assert "78 x 110 x 64 voxels" in res.stdout and "hippo-R" in res.stdout and "segments   8" in res.stdout


def test_convert_seg_to_seg_and_to_labelmap(tmp_path):
    src = shared_file("slicerio", "Segmentation.seg.nrrd")
    res = run("convert", src, tmp_path / "a.seg.nrrd", "--compression-level", "6")
    assert res.returncode == 0, res.stderr
    a, b = io.open_segmentation(src), io.open_segmentation(tmp_path / "a.seg.nrrd")
    assert [s.name for s in a.segments] == [s.name for s in b.segments]
    assert np.array_equal(a.layers[0], b.layers[0])
    res = run("convert", src, tmp_path / "l.nii.gz")
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.seg.nrrd", "l.ctbl", "l.label", "l.nii.gz"]


def test_convert_onto_a_read_only_file_is_refused_and_keeps_it(tmp_path):
    src = shared_file("slicerio", "Segmentation.seg.nrrd")
    out = tmp_path / "a.seg.nrrd"
    out.write_bytes(b"the user's own file")
    os.chmod(out, 0o444)
    try:
        assert_user_error(run("convert", src, out), "a.seg.nrrd: the file is read-only")
        for name in ("l.nii.gz", "l.label"):               # one file of an export's three: none is written
            (tmp_path / name).write_bytes(b"kept")
        os.chmod(tmp_path / "l.label", 0o444)
        assert_user_error(run("convert", src, tmp_path / "l.nii.gz"), "l.label: the file is read-only")
        assert out.read_bytes() == b"the user's own file" and (tmp_path / "l.nii.gz").read_bytes() == b"kept"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["a.seg.nrrd", "l.label", "l.nii.gz"]
    finally:
        for p in tmp_path.iterdir():
            os.chmod(p, 0o644)


def test_a_folder_of_masks_is_read_by_info_compare_and_convert(tmp_path):
    """A TotalSegmentator-style folder (one mask file per structure) is a segmentation for every command: `info`
    took it for a DICOM folder ("holds no DICOM files")."""
    import nibabel as nib

    src = io.open_segmentation(shared_file("slicerio", "Segmentation.seg.nrrd"))
    ras = np.diag([-1.0, -1.0, 1.0, 1.0]) @ src.geometry.ijk_to_lps
    folder = tmp_path / "masks"
    folder.mkdir()
    for s in src.segments:
        nib.save(nib.Nifti1Image((src.layers[0] == s.label).astype(np.uint8), ras),
                 str(folder / f"{s.name.replace(' ', '_')}.nii.gz"))
    facts = json.loads(run("info", folder, "--json").stdout)
    assert sorted(x["name"] for x in facts["segments"]) == sorted(s.name.replace(" ", "_") for s in src.segments)
    assert {x["name"]: x["voxels"] for x in facts["segments"]}["left_lung"] == src.voxel_count(
        src.segment_by_name("left lung").id)
    rows = json.loads(run("compare", shared_file("slicerio", "Segmentation.seg.nrrd"), folder, "--by", "name",
                          "--json", "--no-distances").stdout)
    assert len(rows) == 7 and all(r["dice"] == 1.0 for r in rows)
    res = run("convert", folder, tmp_path / "m.seg.nrrd")
    assert res.returncode == 0, res.stderr
    assert len(io.open_segmentation(tmp_path / "m.seg.nrrd").segments) == 7
    empty = tmp_path / "nothing"
    empty.mkdir()
    assert_user_error(run("info", empty), "holds no DICOM files")


def test_export_masks_then_read_the_folder_back(tmp_path):
    src = shared_file("slicerio", "SegmentationOverlapping.seg.nrrd")
    res = run("export-masks", src, tmp_path / "masks")
    assert res.returncode == 0, res.stderr
    assert "wrote 8 masks" in res.stderr
    seg = io.open_segmentation(src)
    assert sorted(p.name for p in (tmp_path / "masks").iterdir()) == sorted(f"{s.name}.nii.gz" for s in seg.segments)
    facts = json.loads(run("info", tmp_path / "masks", "--json").stdout)
    assert {x["name"]: x["voxels"] for x in facts["segments"]} == {s.name: seg.voxel_count(s.id) for s in seg.segments}
    res = run("export-masks", src, tmp_path / "nrrd", "--format", "nrrd", "--compression-level", "0")
    assert res.returncode == 0 and len(list((tmp_path / "nrrd").glob("*.nrrd"))) == 8
    assert_user_error(run("export-masks", tmp_path / "missing.seg.nrrd", tmp_path / "m2"), "missing.seg.nrrd")
    assert not (tmp_path / "m2").exists()


def test_convert_overlapping_to_labelmap_is_refused_with_options_and_no_output(tmp_path):
    src = shared_file("slicerio", "SegmentationOverlapping.seg.nrrd")
    res = run("convert", src, tmp_path / "l.nii.gz")
    assert_user_error(res, "segments overlap")
    assert "--single-layer" in res.stderr and ".seg.nrrd" in res.stderr
    assert list(tmp_path.iterdir()) == []
    res = run("convert", src, tmp_path / "l.nii.gz", "--single-layer")
    assert res.returncode == 0, res.stderr
    seg = io.open_segmentation(tmp_path / "l.nii.gz")
    assert seg.n_layers == 1 and len(seg) == 8


def test_convert_collapse_keeps_layers_it_cannot_merge(tmp_path):
    src = shared_file("slicerio", "SegmentationOverlapping.seg.nrrd")
    assert run("convert", src, tmp_path / "c.seg.nrrd", "--collapse").returncode == 0
    assert io.open_segmentation(tmp_path / "c.seg.nrrd").n_layers == 2


def test_convert_labelmap_with_table_to_seg(tmp_path):
    res = run("convert", shared_file("spl-brain-atlas", "hncma-atlas_2014-11_304labels.nrrd"), tmp_path / "a.seg.nrrd",
              "--labels", shared_file("spl-brain-atlas", "hncma-atlas-lut_2014-11.ctbl"))
    assert res.returncode == 0, res.stderr
    seg = io.open_segmentation(tmp_path / "a.seg.nrrd")
    assert len(seg) == 304 and seg.segments[1].name == "left_lateral_ventricle"


def test_import_masks(tmp_path):
    masks = tmp_path / "masks"
    masks.mkdir()
    for n, name in enumerate(("kidney", "cyst")):
        m = np.zeros((6, 5, 4), np.uint8)
        m[n:n + 3, 1:4, 1:3] = 1
        nrrd.write(str(masks / f"{name}.nrrd"), m)
    res = run("import-masks", tmp_path / "out.seg.nrrd", masks)
    assert res.returncode == 0, res.stderr
    seg = io.open_segmentation(tmp_path / "out.seg.nrrd")
    assert [s.name for s in seg.segments] == ["cyst", "kidney"] and seg.n_layers == 2


@pytest.mark.parametrize("case", ["missing", "truncated", "fractional", "level", "folder"])
def test_user_errors_are_one_line_exit_2_and_leave_nothing(tmp_path, case):
    out = tmp_path / "out" / "x.seg.nrrd"
    out.parent.mkdir()
    src = tmp_path / "in.nrrd"
    if case == "truncated":
        payload = gzip.compress(bytes(range(256)) * 4)
        src.write_bytes(b"NRRD0004\ntype: uchar\ndimension: 3\nsizes: 8 8 16\nencoding: gzip\n\n" + payload[:200])
    elif case == "fractional":
        nrrd.write(str(src), np.full((2, 2, 2), 0.5, np.float32))
    elif case in ("level", "folder"):
        nrrd.write(str(src), np.ones((2, 2, 2), np.uint8))
    args = ["convert", src, out]
    if case == "level":
        args += ["--compression-level", "12"]
    if case == "folder":
        args[2] = tmp_path / "nowhere" / "x.seg.nrrd"
    res = run(*args)
    expected = {"missing": "does not exist", "truncated": "ends after", "fractional": "fractional values",
                "level": "compression level", "folder": "does not exist"}[case]
    assert_user_error(res, expected)
    assert list(out.parent.iterdir()) == []


def test_bad_arguments_are_one_line_exit_2(tmp_path):
    res = run("convert", "a", "b", "--collapse", "--single-layer")
    assert_user_error(res, "not allowed with")


def test_warnings_print_one_line_each(tmp_path):
    data = np.zeros((3, 3, 3), np.uint8)
    data[0] = 1
    data[2, 2, 2] = 4
    nrrd.write(str(tmp_path / "o.seg.nrrd"), data, {"Segment0_ID": "a", "Segment0_LabelValue": "1",
                                                     "Segment0_Layer": "0"})
    (tmp_path / "t.txt").write_text("1 a 1 2 3\njunk\n")
    res = run("info", tmp_path / "o.seg.nrrd")
    assert res.returncode == 0
    warn = [ln for ln in res.stderr.splitlines() if ln.startswith("segedit: warning:")]
    assert len(warn) == 1 and "no segment claims" in warn[0]


def test_progress_bar_only_on_a_terminal(tmp_path):
    src = shared_file("spl-brain-atlas", "hncma-atlas_2014-11_304labels.nrrd")
    res = run("convert", src, tmp_path / "a.seg.nrrd")
    assert res.returncode == 0 and "\r" not in res.stderr and "%" not in res.stderr
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "app", "convert", str(src), str(tmp_path / "b.seg.nrrd")],
                            stdout=subprocess.DEVNULL, stderr=slave, cwd=ROOT)
    os.close(slave)
    chunks = []
    while True:                      # read while it runs: a full pty buffer would block the child
        try:
            data = os.read(master, 65536)
        except OSError:              # EIO once the child has exited and closed its end
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    err = b"".join(chunks).decode()
    assert proc.wait(timeout=120) == 0
    assert "\r" in err and "100%" in err and "writing" in err


def test_version_and_help():
    res = run("--version")
    assert res.returncode == 0 and res.stdout.startswith("segedit ")
    res = run("info", "--help")
    assert res.returncode == 0 and "--json" in res.stdout
