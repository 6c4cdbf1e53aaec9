"""The GUI command line: --screenshot writes a real PNG of the laid-out window and exits 0; bad arguments are
one sentence and exit code 2."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from app.ui.launch import parse_slice
from tests.conftest import ROOT, shared_file


def run_segedit(*args, timeout=120):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def png_pixels(path):
    from PySide6.QtGui import QImage

    img = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB888)
    assert not img.isNull()
    buf = np.frombuffer(img.constBits(), dtype=np.uint8, count=img.height() * img.bytesPerLine())
    return buf.reshape(img.height(), img.bytesPerLine())[:, : img.width() * 3].reshape(img.height(), img.width(), 3).copy()


def test_demo_screenshot(tmp_path, qapp):
    out = tmp_path / "demo.png"
    r = run_segedit("--demo", "--screenshot", str(out), "--slice", "axial=60%", "--size", "1000x700")
    assert r.returncode == 0, r.stderr
    px = png_pixels(out)
    assert px.shape[0] >= 700 and px.shape[1] >= 1000      # extensions' docks may need more room
    assert len(np.unique(px.reshape(-1, 3)[::7], axis=0)) > 200     # grey + hundreds of segment colours


def test_atlas_screenshot_with_table_and_single_layout(tmp_path, qapp):
    out = tmp_path / "spl.png"
    r = run_segedit(str(shared_file("spl-brain-atlas", "hncma-atlas_2014-11_304labels.nrrd")), "--labels",
                    str(shared_file("spl-brain-atlas", "hncma-atlas-lut_2014-11.ctbl")), "--layout", "axial",
                    "--screenshot", str(out), "--size", "800x600")
    assert r.returncode == 0, r.stderr
    px = png_pixels(out)
    assert px.shape[0] >= 600 and px.shape[1] >= 800
    assert len(np.unique(px.reshape(-1, 3)[::5], axis=0)) > 100


@pytest.mark.parametrize("args,words", [
    (("--slice", "diagonal=3", "--demo", "--screenshot", "x.png"), "--slice"),
    (("does-not-exist.seg.nrrd",), "no such file"),
    (("--layout", "cubist"), "invalid choice"),
])
def test_bad_arguments_are_one_sentence_and_exit_2(args, words):
    r = run_segedit(*args)
    assert r.returncode == 2
    assert words in r.stderr and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_unreadable_file_exits_2(tmp_path):
    bad = tmp_path / "bad.seg.nrrd"
    bad.write_text("not a nrrd file at all")
    r = run_segedit(str(bad), "--screenshot", str(tmp_path / "x.png"))
    assert r.returncode == 2 and "Traceback" not in r.stderr and not (tmp_path / "x.png").exists()


def test_parse_slice():
    assert parse_slice("axial=120") == ("axial", 120.0, False)
    assert parse_slice("Coronal=50%") == ("coronal", 50.0, True)
    with pytest.raises(ValueError):
        parse_slice("axial")


def test_no_display_is_one_sentence_and_a_screenshot_needs_none(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    r = subprocess.run([sys.executable, "-m", "app", "--demo"], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "no display" in r.stderr, r.stderr
    out = tmp_path / "headless.png"
    r = subprocess.run([sys.executable, "-m", "app", "--demo", "--screenshot", str(out), "--size", "640x480"],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert png_pixels(out).std() > 10       # a real picture, not a blank
