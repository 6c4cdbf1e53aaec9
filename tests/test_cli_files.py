"""Issue 11 on the command line (a real subprocess): --no-labels, tables beside an image as help, refusals in one
line with exit code 2 and nothing written, import-masks with empty masks, --renumber-large-labels."""
from __future__ import annotations

import json

import nibabel as nib
import nrrd
import numpy as np

from tests.test_cli import assert_user_error, run


def _labelmap(tmp_path):
    arr = np.zeros((5, 5, 5), np.uint8)
    arr[1:3, 1:3, 1:3] = 1
    arr[3:5, 0:2, 0:5] = 2
    nrrd.write(str(tmp_path / "img.nrrd"), arr)
    return tmp_path / "img.nrrd", arr


def test_no_labels_and_an_unreadable_table_beside_the_image(tmp_path):
    img, _ = _labelmap(tmp_path)
    (tmp_path / "img.label").write_bytes(bytes(range(256)) * 4)
    res = run("info", img, "--json")
    assert res.returncode == 0, res.stderr
    warnings = [ln for ln in res.stderr.splitlines() if ln.startswith("segedit: warning:")]
    assert len(warnings) == 1 and "img.label" in warnings[0], res.stderr
    res = run("info", img, "--json", "--no-labels")
    assert res.returncode == 0 and res.stderr == "", res.stderr
    assert [s["name"] for s in json.loads(res.stdout)["segments"]] == ["Segment_1", "Segment_2"]
    res = run("info", img, "--labels", tmp_path / "img.label", "--no-labels")
    assert_user_error(res, "not allowed with")


def test_refusals_are_one_line_exit_2_and_nothing_written(tmp_path):
    img, arr = _labelmap(tmp_path)
    bad = tmp_path / "space.nrrd"
    assert b"space:" not in img.read_bytes()
    bad.write_bytes(img.read_bytes().replace(b"dimension: 3\n", b"dimension: 3\nspace: scanner-xyz\n"))
    nan = tmp_path / "nan.nii"
    nib.save(nib.Nifti1Image(arr, np.eye(4)), nan)
    hdr = nib.load(nan).header.copy()
    hdr["srow_x"] = [1, 0, 0, np.nan]
    with open(nan, "r+b") as fh:
        hdr.write_to(fh)
    for src, match in ((bad, "space 'scanner-xyz'"), (nan, "sform, which places the image, holds NaN")):
        out = tmp_path / "out" / "o.seg.nrrd"
        out.parent.mkdir(exist_ok=True)
        assert_user_error(run("convert", src, out), match)
        assert list(out.parent.iterdir()) == []


def test_import_masks_with_empty_masks(tmp_path):
    folder = tmp_path / "masks"
    folder.mkdir()
    truth = {}
    for n, name in enumerate(["aorta", "brain", "colon", "duodenum"]):
        m = np.zeros((6, 6, 6), np.uint8)
        if name in ("aorta", "colon"):
            m[n:n + 2, 1:4, 1:5] = 1
        truth[name] = m
        nib.save(nib.Nifti1Image(m, np.eye(4)), folder / f"{name}.nii.gz")
    res = run("import-masks", tmp_path / "out.seg.nrrd", folder)
    assert res.returncode == 0, res.stderr
    data, h = nrrd.read(str(tmp_path / "out.seg.nrrd"))
    names = [h[f"Segment{n}_Name"] for n in range(4)]
    assert names == ["aorta", "brain", "colon", "duodenum"]
    pairs = {(h[f"Segment{n}_Layer"], h[f"Segment{n}_LabelValue"]) for n in range(4)}
    assert len(pairs) == 4
    for n, name in enumerate(names):            # voxel-exact (LPS flip of nibabel's RAS: same index order)
        assert np.array_equal(data == int(h[f"Segment{n}_LabelValue"]), truth[name] == 1), name


def test_labels_beyond_int32_refused_then_renumbered_on_request(tmp_path):
    arr = np.zeros((3, 3, 3), np.uint32)
    arr[1, 1, 1] = 4_000_000_000
    nrrd.write(str(tmp_path / "big.nrrd"), arr)
    out = tmp_path / "big.seg.nrrd"
    assert_user_error(run("convert", tmp_path / "big.nrrd", out), "segment 'Segment_4000000000' has label value")
    assert not out.exists()
    res = run("convert", tmp_path / "big.nrrd", out, "--renumber-large-labels")
    assert res.returncode == 0, res.stderr
    data, h = nrrd.read(str(out))
    assert h["Segment0_LabelValue"] == "1" and np.array_equal(data == 1, arr == 4_000_000_000)
