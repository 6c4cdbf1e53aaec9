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


def _colours_of_segments_on(seg, plane, index, min_pixels=30):
    """{segment id: (r, g, b) 0..255} of the segments with at least `min_pixels` pixels on one displayed slice
    (computed from the model and the geometry, independently of the renderer)."""
    from app.render.view_orientation import frames_for

    frame = frames_for(seg.geometry)[plane]
    out = {}
    for layer, arr in enumerate(seg.layers):
        labels, counts = np.unique(frame.extract(arr, index), return_counts=True)
        for lab, n in zip(labels, counts):
            sid = seg.segment_at(layer, int(lab)) if lab else None
            if sid is not None and n >= min_pixels:
                out[sid] = tuple(int(round(c * 255)) for c in seg.segment(sid).color[:3])
    return out


def _colours(px) -> np.ndarray:
    """The distinct colours of a picture, packed as 0xRRGGBB."""
    p = px.astype(np.int64)
    return np.unique((p[..., 0] << 16) | (p[..., 1] << 8) | p[..., 2])


def _present(colours, rgb, tol=1) -> bool:
    """One of the packed `colours` is `rgb`, each channel within `tol`."""
    r, g, b = rgb
    near = [((r + i) << 16) | ((g + j) << 8) | (b + k) for i in range(-tol, tol + 1) for j in range(-tol, tol + 1)
            for k in range(-tol, tol + 1) if 0 <= r + i < 256 and 0 <= g + j < 256 and 0 <= b + k < 256]
    return bool(np.isin(near, colours).any())


def test_demo_screenshot(tmp_path, qapp):
    """The picture shows the axial slice asked for: the outline colour (outline opacity 1: the segment's own
    colour) of the segments on that slice appears in the view area; segments elsewhere mostly do not."""
    from app.model.demo import demo_atlas
    from app.render.view_orientation import Plane

    out = tmp_path / "demo.png"
    r = run_segedit("--demo", "--screenshot", str(out), "--slice", "axial=40", "--layout", "axial",
                    "--no-extensions", "--size", "1000x700")
    assert r.returncode == 0, r.stderr
    px = png_pixels(out)
    assert px.shape[0] >= 700 and px.shape[1] >= 1000
    view = _colours(px[:, : px.shape[1] // 2])      # the slice view; the segment table (swatches) is on the right
    seg, _ = demo_atlas()
    shown = _colours_of_segments_on(seg, Plane.AXIAL, 40)
    assert len(shown) >= 20
    found = [sid for sid, rgb in shown.items() if _present(view, rgb)]
    assert len(found) >= 0.9 * len(shown), f"{len(found)} of {len(shown)} segment colours on the slice"
    elsewhere = {sid: tuple(int(round(c * 255)) for c in seg.segment(sid).color[:3]) for sid in seg.segment_ids
                 if sid not in _colours_of_segments_on(seg, Plane.AXIAL, 40, min_pixels=1)}
    stray = [sid for sid, rgb in elsewhere.items() if _present(view, rgb, tol=0)]
    assert len(stray) <= 0.2 * len(elsewhere), f"{len(stray)} of {len(elsewhere)} absent segments' colours shown"


def test_atlas_screenshot_with_table_and_single_layout(tmp_path, qapp):
    from app import io
    from app.render.view_orientation import Plane

    out = tmp_path / "spl.png"
    atlas = shared_file("spl-brain-atlas", "hncma-atlas_2014-11_304labels.nrrd")
    table = shared_file("spl-brain-atlas", "hncma-atlas-lut_2014-11.ctbl")
    r = run_segedit(str(atlas), "--labels", str(table), "--layout", "axial", "--slice", "axial=120",
                    "--no-extensions", "--screenshot", str(out), "--size", "1000x700")
    assert r.returncode == 0, r.stderr
    px = png_pixels(out)
    assert px.shape[0] >= 700 and px.shape[1] >= 1000
    view = _colours(px[:, : px.shape[1] // 2])
    shown = _colours_of_segments_on(io.open_segmentation(atlas, labels=table), Plane.AXIAL, 120, min_pixels=60)
    assert len(shown) >= 10
    found = [sid for sid, rgb in shown.items() if _present(view, rgb)]
    assert len(found) >= 0.9 * len(shown), f"{len(found)} of {len(shown)} segment colours on the slice"


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
    px = png_pixels(out)
    assert px.std() > 10       # a real picture, not a blank
    from app.model.demo import demo_atlas
    from app.render.view_orientation import Plane, frames_for

    seg, _ = demo_atlas()
    middle = frames_for(seg.geometry)[Plane.AXIAL].n_slices // 2       # the window opens on the middle slices
    shown = _colours_of_segments_on(seg, Plane.AXIAL, middle)
    colours = _colours(px)
    found = [sid for sid, rgb in shown.items() if _present(colours, rgb)]
    assert len(found) >= 0.8 * len(shown), f"{len(found)} of {len(shown)} segment colours of the axial slice"
