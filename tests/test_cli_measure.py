"""`segedit stats` and `segedit compare` as real subprocesses, checked against numpy on the files they read."""
from __future__ import annotations

import csv
import json
import os
import pty
import subprocess
import sys

import nrrd
import numpy as np
import pytest

from app.model.stats import columns
from app.model.compare import COLUMNS
from tests.conftest import ROOT, shared_file
from tests.test_cli import assert_user_error, run


def write_labelmap(path, arr, spacing=(1.0, 1.0, 1.0), origin=(0.0, 0.0, 0.0)):
    nrrd.write(str(path), arr, {"space": "left-posterior-superior", "space directions": np.diag(spacing),
                                "space origin": np.array(origin)})
    return path


@pytest.fixture
def pair(tmp_path):
    a = np.zeros((12, 10, 8), np.uint8)
    a[1:6, 1:6, 1:6] = 1
    a[6:11, 2:8, 2:7] = 2
    b = a.copy()
    b[1:6, 1:6, 1:6] = 0
    b[3:8, 1:6, 1:6] = 1            # label 1 shifted by 2 voxels along i
    grey = np.arange(a.size, dtype=np.int16).reshape(a.shape) % 50
    return (write_labelmap(tmp_path / "a.nrrd", a, (0.5, 1.0, 2.0)), write_labelmap(tmp_path / "b.nrrd", b, (0.5, 1.0, 2.0)),
            write_labelmap(tmp_path / "grey.nrrd", grey, (0.5, 1.0, 2.0)), a, b, grey)


def test_stats_json_with_reference(pair):
    pa, _, pg, a, _, grey = pair
    res = run("stats", pa, "--reference", pg, "--json", "--percentiles", "10,90")
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    assert [list(r) for r in rows] == [columns((10, 90), grey=True)] * 2
    for r in rows:
        m = a == r["label_value"]
        g = grey[m].astype(float)
        assert r["voxels"] == m.sum() and r["volume_mm3"] == pytest.approx(m.sum() * 1.0)
        assert r["grey_mean"] == pytest.approx(g.mean()) and r["grey_p90"] == pytest.approx(np.percentile(g, 90))
        idx = np.argwhere(m)
        assert (r["bbox_i_min"], r["bbox_i_max"]) == (idx[:, 0].min(), idx[:, 0].max())
        assert r["centroid_p_mm"] == pytest.approx(idx[:, 1].mean() * 1.0)     # LPS: j runs along P here


def test_stats_csv_and_surface(pair, tmp_path):
    pa = pair[0]
    out = tmp_path / "stats.csv"
    res = run("stats", pa, "--surface", "--csv", out)
    assert res.returncode == 0, res.stderr
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == columns(surface=True)
    assert float(rows[0]["surface_mm2"]) > 0 and int(rows[1]["voxels"]) == 150
    text = run("stats", pa)
    assert text.returncode == 0 and "Segment_1" in text.stdout and "Segment_2" in text.stdout


def test_compare_json_worst_first(pair):
    pa, pb, *_ , a, b, _ = pair
    res = run("compare", pa, pb, "--json")
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    assert [list(r) for r in rows] == [COLUMNS] * 2
    dice = {v: 2 * ((a == v) & (b == v)).sum() / ((a == v).sum() + (b == v).sum()) for v in (1, 2)}
    assert rows[0]["label_a"] == 1 and dice[1] < dice[2]                # the shifted one first
    assert [r["dice"] for r in rows] == pytest.approx([dice[1], dice[2]])
    m1, m2 = a == 1, b == 1
    assert rows[0]["hausdorff_mm"] == pytest.approx(1.0)                 # 2 voxels of 0.5 mm
    assert rows[0]["only_a"] == (m1 & ~m2).sum()


def test_compare_with_a_mapping_csv(pair, tmp_path):
    pa, pb, *_ = pair
    mp = tmp_path / "map.csv"
    mp.write_text("A,B\n1,2\n2,1\n")
    res = run("compare", pa, pb, "--map", mp, "--csv", "-", "--no-distances")
    assert res.returncode == 0, res.stderr
    rows = list(csv.DictReader(res.stdout.splitlines()))
    assert {(r["label_a"], r["label_b"]) for r in rows} == {("1", "2"), ("2", "1")}
    assert all(r["hausdorff_mm"] == "" for r in rows)


def test_bad_input_is_one_line_exit_2_and_no_file(pair, tmp_path):
    pa, pb, *_ = pair
    out = tmp_path / "x.csv"
    assert_user_error(run("stats", tmp_path / "missing.nrrd", "--csv", out), "missing.nrrd")
    assert not out.exists()
    (tmp_path / "junk.nrrd").write_bytes(b"NRRD0004\ngarbage\n")
    assert_user_error(run("compare", pa, tmp_path / "junk.nrrd", "--csv", out), "junk.nrrd")
    assert not out.exists()
    mp = tmp_path / "map.csv"
    mp.write_text("1,nothing\n")
    assert_user_error(run("compare", pa, pb, "--map", mp), "nothing")
    mp.write_text("1\n")
    assert_user_error(run("compare", pa, pb, "--map", mp), "map.csv")
    assert_user_error(run("stats", pa, "--percentiles", "5,x"), "percentiles")
    assert_user_error(run("stats", pa, "--csv", tmp_path / "no" / "dir.csv"), "does not exist")
    assert_user_error(run("compare", pa), "")
    assert list(tmp_path.glob("*.tmp")) == [] and list(tmp_path.glob(".x.csv*")) == []


def test_progress_bar_on_a_terminal_and_no_display(pair):
    pa, pb, *_ = pair
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    proc = subprocess.Popen([sys.executable, "-m", "app", "compare", pa, pb, "--json"], stdout=subprocess.PIPE,
                            stderr=slave, cwd=ROOT, env=env)
    os.close(slave)
    err = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        err += chunk
    out, _ = proc.communicate(timeout=120)
    os.close(master)
    assert proc.returncode == 0, err
    assert b"comparing" in err and b"100%" in err
    assert len(json.loads(out)) == 2


def test_stats_on_the_atlas_matches_info_counts():
    atlas = shared_file("spl-brain-atlas", "hncma-atlas_2014-11_304labels.nrrd")
    table = shared_file("spl-brain-atlas", "hncma-atlas-lut_2014-11.ctbl")
    res = run("stats", atlas, "--labels", table, "--json")
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    arr, _ = nrrd.read(str(atlas))
    counts = np.bincount((arr.astype(np.int64)).ravel())
    assert len(rows) == 304
    assert all(r["voxels"] == counts[r["label_value"]] for r in rows)


def test_stats_reference_on_another_lattice_is_sampled_by_nearest_voxel(tmp_path):
    # segmentation: 1 mm lattice; reference: 0.5 mm lattice shifted by a fraction of a voxel, values = its own flat index
    a = np.zeros((10, 8, 6), np.uint8)
    a[2:7, 1:6, 1:5] = 3
    pa = write_labelmap(tmp_path / "seg.nrrd", a)
    ref = np.arange(22 * 18 * 14, dtype=np.int32).reshape(22, 18, 14)
    pr = write_labelmap(tmp_path / "ref.nrrd", ref, (0.5, 0.5, 0.5), (-0.2, -0.3, -0.1))
    res = run("stats", pa, "--reference", pr, "--json")
    assert res.returncode == 0, res.stderr
    (row,) = json.loads(res.stdout)
    # independent nearest lookup (no ties): voxel centre x mm -> reference index round((x - origin) / 0.5)
    idx = np.argwhere(a == 3)
    near = np.floor((idx + np.array([0.2, 0.3, 0.1])) / 0.5 + 0.5).astype(int)
    values = ref[near[:, 0], near[:, 1], near[:, 2]].astype(float)
    assert row["grey_voxels"] == len(values)
    assert row["grey_mean"] == pytest.approx(values.mean()) and row["grey_p95"] == pytest.approx(np.percentile(values, 95))


def test_compare_slicer_files_pairs_a_value_in_two_layers_of_b_by_its_layer():
    """slicerio's two files: the same seven segments in layer 0 (values 1-7), and in the second file a sphere with
    value 1 in layer 1, overlapping the ribs. Value 1 is unique in A and in two layers of B: A's ribs pair with B's
    ribs (same layer), not with nothing (they were reported as two unmatched rows, Dice 0), and the sphere is B's
    alone. Checked against the files' arrays."""
    pa = shared_file("slicerio", "Segmentation.seg.nrrd")
    pb = shared_file("slicerio", "SegmentationOverlapping.seg.nrrd")
    res = run("compare", pa, pb, "--json", "--no-distances")
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    a, _ = nrrd.read(str(pa))
    b, _ = nrrd.read(str(pb))
    b0 = b[0]                                              # B's layer 0 (4D: layers first)
    a = a if a.ndim == 3 else a[0]
    paired = [r for r in rows if r["name_a"] and r["name_b"]]
    assert len(paired) == 7 and all(r["name_a"] == r["name_b"] for r in paired)
    for r in paired:
        v = r["label_a"]
        both = int(((a == v) & (b0 == v)).sum())
        assert r["dice"] == pytest.approx(2 * both / ((a == v).sum() + (b0 == v).sum()))
    ribs = next(r for r in paired if r["name_a"] == "ribs")
    assert ribs["dice"] == pytest.approx(1.0) and ribs["only_b"] == 0
    alone = [(r["name_a"], r["name_b"]) for r in rows if not (r["name_a"] and r["name_b"])]
    assert alone == [(None, "overlapping sphere")]
