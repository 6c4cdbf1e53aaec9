"""Slice views and the segment table, end to end through the real widgets (issue 4).

Matches /work/shared/peers/napari_bench.py: the SPL atlas (256^3, 304 labels) with every segment shown, a 512x512
canvas, 100 consecutive slices 78..177 along lattice axis 0 (napari's default slicing axis; the coronal view for this
atlas) and along the axial axis, over the peer's synthetic grey (a random grey level per label + noise). A "redraw"
is `set_slice(i)` then `QApplication.processEvents()`, which delivers the update request so Qt paints the view's
canvas (grey + labels, fill + outline); the canvas's paint events are counted to check one real paint per step.
Start-up and memory are measured in fresh processes (`python -m benchmarks.bench_view --child-load`).
Run under Xvfb with QT_QPA_PLATFORM=xcb to include the flush to an X server (default: offscreen).
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

from .common import ROOT, SPL_ATLAS, SPL_TABLE, Row, row_ms

CANVAS = 512
BROWSE_START, N_STEPS = 78, 100
RECOLOUR_LABEL = 2


def peer_grey(labels):
    """The napari peer's grey: a random level per label plus noise, int16 (napari_bench.py `_make_grey`)."""
    import numpy as np

    rng = np.random.default_rng(0)
    lut = rng.integers(200, 900, size=int(labels.max()) + 1).astype(np.int16)
    lut[0] = 20
    g = lut[labels]
    g += rng.integers(0, 60, size=g.shape, dtype=np.int16)
    return g


class PaintCounter:
    def __init__(self, widget):
        from PySide6.QtCore import QEvent, QObject

        counter = self

        class Filter(QObject):
            def eventFilter(self, obj, ev):
                if ev.type() == QEvent.Paint:
                    counter.n += 1
                return False

        self.n = 0
        self.filter = Filter()
        widget.installEventFilter(self.filter)


def _window(seg, grey):
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from app.io import Volume
    from app.ui.main_window import Layout, MainWindow

    app = QApplication.instance() or QApplication([])
    settings = QSettings(str(ROOT / "benchmarks" / "results" / "bench_view_settings.ini"), QSettings.IniFormat)
    win = MainWindow(settings=settings, extensions=False)
    win.set_document(seg, Volume(grey, seg.geometry, None) if grey is not None else None)
    win.show()
    win.set_layout(Layout.AXIAL)
    return app, win


def _browse(app, win, view, repeats):
    """Redraws per second over 100 consecutive slices, `repeats` passes; checks one paint per step."""
    vp = view.canvas.viewport()
    counter = PaintCounter(vp)
    rates, forced = [], 0
    for i in range(BROWSE_START, BROWSE_START + N_STEPS):      # warm-up pass (first touches, caches), untimed
        view.set_slice(i)
        app.processEvents()
    for _ in range(repeats):
        view.set_slice(BROWSE_START - 1)
        app.processEvents()
        t0 = time.perf_counter()
        for i in range(BROWSE_START, BROWSE_START + N_STEPS):
            before = counter.n
            view.set_slice(i)
            app.processEvents()
            if counter.n == before:          # nothing painted: force a real frame so every step counts
                forced += 1
                vp.repaint()
        rates.append(N_STEPS / (time.perf_counter() - t0))
    return rates, forced


def _show_view(app, win, plane):
    from app.ui.main_window import Layout

    win.set_layout({"axial": Layout.AXIAL, "coronal": Layout.CORONAL, "sagittal": Layout.SAGITTAL}[plane])
    view = next(v for v in win.slice_views if v.plane.value == plane)
    view.canvas.setFixedSize(CANVAS, CANVAS)
    for _ in range(20):
        app.processEvents()
    view.reset_view()
    app.processEvents()
    return view


def _browse_rows(app, win, repeats, with_grey: bool) -> list[Row]:
    rows = []
    seg = win.segmentation
    for plane in ("coronal", "axial"):
        view = _show_view(app, win, plane)
        rates, forced = _browse(app, win, view, repeats)
        what = "over grey" if with_grey else "labels alone"
        axis = f"lattice axis {view.plane_axis} ({plane})"
        peer = "napari 0.9.2: 32/s over grey" if with_grey else "napari 0.9.2: 45/s labels alone"
        med = statistics.median(rates)
        rows.append(Row("view", f"slice-change redraws, SPL atlas {len(seg)} segments, fill+outline, {what}, "
                                f"{CANVAS}x{CANVAS}, {axis}", round(med, 1), "/s", ">= 150 /s",
                        peer + "; 3D Slicer 2019: 37 -> 60 fps", med >= 150,
                        {"min": round(min(rates), 1), "max": round(max(rates), 1), "n": len(rates),
                         "forced_repaints": forced, "platform": app.platformName()}))
    return rows


def _recolour_rows(app, win, repeats) -> list[Row]:
    seg = win.segmentation
    view = _show_view(app, win, "coronal")
    view.set_slice(128)
    app.processEvents()
    sid = seg.segment_at(0, RECOLOUR_LABEL)
    colours = iter([(1.0, 0.0, 0.0), (0.0, 1.0, 0.0)] * 100)
    vis = iter([False, True] * 100)
    vp = view.canvas.viewport()
    counter = PaintCounter(vp)

    def change(**kw):
        before = counter.n
        seg.update_segment(sid, **kw)
        win.display.flush()            # the coalesced model event, as the event loop would deliver it
        app.processEvents()
        if counter.n == before:
            vp.repaint()

    out = []
    for name, fn in (("recolour one segment", lambda: change(color=next(colours))),
                     ("hide/show one segment", lambda: change(visible=next(vis)))):
        stats = _samples(fn, max(20, repeats * 8))
        out.append(row_ms("view", f"{name} (label {RECOLOUR_LABEL}, SPL atlas) -> repainted view", stats, 5,
                          "napari 0.9.2: 60 ms (recolouring one label)"))
    return out


def _dab_rows(app, win, repeats) -> list[Row]:
    """The view side of painting: one r=10 mm disc dab on the shown slice -> model event -> recoloured box ->
    repainted view (the editing benchmark measures the whole mouse-to-pixels path)."""
    from app.model.brush import ball
    from app.model.edits import EditMode, apply_mask

    seg = win.segmentation
    view = _show_view(app, win, "axial")
    k = 128
    view.set_slice(k)
    app.processEvents()
    disc = ball(10.0, seg.geometry.spacing, plane_axis=view.plane_axis)
    sids = list(seg.segment_ids[:2])                           # alternate two segments: every dab changes voxels
    centre = [128, 128, 128]
    centre[view.plane_axis] = k

    def dab():
        centre[view.frame.row_axis] = 90 + (centre[view.frame.row_axis] + 7) % 80
        lo = [c - n // 2 for c, n in zip(centre, disc.shape)]
        box = tuple(slice(a, a + n) for a, n in zip(lo, disc.shape))
        apply_mask(seg, sids[0], disc, box, EditMode.ADD)
        sids.reverse()
        win.display.flush()
        app.processEvents()

    stats = _samples(dab, max(30, repeats * 10))
    for _ in range(len(seg.history.undo_stack)):
        seg.undo()
    win.display.flush()
    app.processEvents()
    return [row_ms("view", "one brush dab (r=10 mm disc) -> model write + event -> box recoloured -> repainted view",
                   stats, 8, "napari 0.9.2: see the edit area's rows (mouse to pixels)")]


def _samples(fn, n) -> dict:
    """Back-to-back interactive samples (common.timeit runs gc.collect() before each one, which evicts the CPU
    caches and measures a cold path no user sees)."""
    fn()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return {"min": min(times), "median": statistics.median(times), "max": max(times), "n": n}


def _table_rows(app, repeats) -> list[Row]:
    from app.model.geometry import Geometry
    from app.model.segmentation import Segmentation
    from app.ui.segment_panel import SegmentPanel

    seg = Segmentation(Geometry((16, 16, 16)))
    words = ("left", "right", "anterior", "posterior", "gyrus", "nucleus", "white matter", "cortex")
    with seg.operation("make"):
        for n in range(1000):
            seg.add_segment(f"{words[n % 8]} {words[(n // 8) % 8]} structure {n}")
    panel = SegmentPanel()
    panel.resize(420, 800)
    panel.show()
    panel.set_segmentation(seg)
    app.processEvents()
    typed = ["l", "le", "lef", "left", "left ", "left g", "left gy", "left gyr", "left gyru", "left gyrus"]
    vp = panel.table.viewport()
    counter = PaintCounter(vp)
    times = []
    for _ in range(max(3, repeats)):
        for t in typed + [""]:
            before = counter.n
            t0 = time.perf_counter()
            panel.filter_edit.setText(t)
            app.processEvents()                 # the reset's repaint of the table (and the line edit)
            if counter.n == before:
                vp.repaint()
            times.append(time.perf_counter() - t0)
    stats = {"min": min(times), "median": statistics.median(times), "max": max(times), "n": len(times)}
    panel.close()
    return [row_ms("view", "segment table with 1,000 segments: filter keystroke -> repainted table", stats, 20,
                   "", worst_ms=round(max(times) * 1e3, 2))]


def _load_rows(repeats) -> list[Row]:
    rows = _load_rows_for(repeats, extensions=True)
    bare = _load_rows_for(repeats, extensions=False)[0]
    bare.name = "process start to first frame, SPL atlas + table (this window only, no extension modules)"
    return rows + [bare]


def _load_rows_for(repeats, extensions: bool) -> list[Row]:
    results = []
    flag = [] if extensions else ["--no-extensions"]
    for _ in range(repeats):
        started = time.time()          # wall clock shared with the child (psutil's create_time has 1 s resolution)
        r = subprocess.run([sys.executable, "-m", "benchmarks.bench_view", "--child-load", *flag], cwd=ROOT,
                           capture_output=True, text=True, timeout=120,
                           env=dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen")))
        line = [x for x in r.stdout.splitlines() if x.startswith("{")]
        if r.returncode != 0 or not line:
            raise RuntimeError(f"load child failed: {r.stderr[-500:]}")
        got = json.loads(line[-1])
        got["first_frame_s"] = round(got.pop("first_frame_at") - started, 3)
        results.append(got)
    first = [x["first_frame_s"] for x in results]
    rss = [x["rss_mb"] for x in results]
    vtk = any(x["vtk_imported"] for x in results)
    return [Row("view", "process start to first frame, SPL atlas + table (real window, 3 views, extensions on)",
                round(statistics.median(first), 3), "s", "<= 1.5 s", "napari 0.9.2: 2.8 s",
                statistics.median(first) <= 1.5, {"min": min(first), "max": max(first), "n": len(first),
                                                  "vtk_imported_at_start": vtk}),
            Row("view", "resident memory after load, SPL atlas", round(statistics.median(rss), 1), "MB",
                "<= 250 MB", "napari 0.9.2: 384 MB", statistics.median(rss) <= 250,
                {"min": min(rss), "max": max(rss), "n": len(rss), "vtk_imported_at_start": vtk})]


def child_load() -> int:
    """Fresh process: imports, read the atlas, window, first painted frame of a slice view; RSS after."""
    import psutil

    proc = psutil.Process()
    from PySide6.QtCore import QEvent, QObject, QSettings
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    from app.ui.main_window import MainWindow

    win = MainWindow(settings=QSettings(str(ROOT / "benchmarks" / "results" / "child.ini"), QSettings.IniFormat),
                     extensions="--no-extensions" not in sys.argv)
    painted = []

    class Filter(QObject):
        def eventFilter(self, obj, ev):
            if ev.type() == QEvent.Paint and win.segmentation is not None:
                painted.append(time.time())
            return False

    f = Filter()
    win.slice_views[0].canvas.viewport().installEventFilter(f)
    win.files.open_segmentation(SPL_ATLAS, SPL_TABLE)
    win.show()
    while not painted:
        app.processEvents()
    rss = proc.memory_info().rss / 2**20
    print(json.dumps({"first_frame_at": painted[0], "rss_mb": round(rss, 1),
                      "vtk_imported": "vtk" in sys.modules or "vtkmodules" in sys.modules}))
    win.files.maybe_save = lambda: True
    win.close()
    return 0


def run(args) -> list[Row]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if not SPL_ATLAS.exists():
        return []
    from app import io

    repeats = 2 if getattr(args, "quick", False) else 5
    seg = io.open_segmentation(SPL_ATLAS, labels=SPL_TABLE)
    grey = peer_grey(seg.layers[0])
    app, win = _window(seg, grey)
    rows = _browse_rows(app, win, repeats, with_grey=True)
    rows += _recolour_rows(app, win, repeats)
    rows += _dab_rows(app, win, repeats)
    win.set_reference(None)
    rows += _browse_rows(app, win, repeats, with_grey=False)[:1]
    rows += _table_rows(app, repeats)
    win.files.maybe_save = lambda: True
    win.close()
    rows += _load_rows(3 if getattr(args, "quick", False) else 5)
    return rows


if __name__ == "__main__":
    if "--child-load" in sys.argv:
        sys.exit(child_load())
    from types import SimpleNamespace

    for r in run(SimpleNamespace(quick="--quick" in sys.argv)):
        print(r)
