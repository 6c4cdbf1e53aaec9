"""Groups in the Segments dock (issue 16), through the real widgets: the tree of 1,000 segments in 20 groups (build,
filter keystroke) and hiding a group of 300 segments of the SPL atlas until the three slice views have repainted.
A step is the call plus `QApplication.processEvents()` (the repaint it queued); a view that did not paint is
repainted by force, so every step includes a real frame. `cpu_ms` in each row's extra is the GUI thread's CPU time
per step (time.thread_time), which the machine's load disturbs far less than the wall time."""
from __future__ import annotations

import statistics
import time

from .bench_view import PaintCounter
from .common import ROOT, SPL_ATLAS, SPL_TABLE, Row, row_ms


def _stats(times):
    return {"min": min(times), "median": statistics.median(times), "max": max(times), "n": len(times)}


def _cpu_ms(times) -> float:
    """Median CPU time of the GUI thread per step: what the step costs, less sensitive than wall time to the
    other jobs sharing the machine's cores."""
    return round(statistics.median(times) * 1e3, 2)


def _window(seg):
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from app.ui import organise
    from app.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    settings = QSettings(str(ROOT / "benchmarks" / "results" / "bench_organise_settings.ini"), QSettings.IniFormat)
    win = MainWindow(settings=settings, extensions=False)
    org = organise.install(win)
    win.resize(1400, 900)
    win.show()
    win.set_document(seg, None)
    org.set_tree_shown(True)
    for _ in range(10):
        app.processEvents()
    return app, win, org


def _tree_rows(repeats) -> list[Row]:
    from app.model import groups as gr
    from app.model.geometry import Geometry
    from app.model.segmentation import Segmentation

    seg = Segmentation(Geometry((16, 16, 16)))
    words = ("left", "right", "anterior", "posterior", "gyrus", "nucleus", "white matter", "cortex")
    with seg.history.paused():
        for n in range(1000):
            g = n // 50
            seg.add_segment(f"{words[n % 8]} {words[(n // 8) % 8]} structure {n}",
                            tags={gr.GROUP_TAG: f"Region {g // 5}/Group {g:02d}"})
    app, win, org = _window(seg)
    org.tree.expandAll()
    vp = org.tree.viewport()
    counter = PaintCounter(vp)

    cpu = []

    def frame(fn):
        before = counter.n
        c0, t0 = time.thread_time(), time.perf_counter()
        fn()
        app.processEvents()
        if counter.n == before:
            vp.repaint()
        cpu.append(time.thread_time() - c0)
        return time.perf_counter() - t0

    frame(org.model.rebuild)
    cpu.clear()
    build = [frame(org.model.rebuild) for _ in range(max(5, repeats * 3))]
    build_cpu, cpu[:] = list(cpu), []
    typed = ["l", "le", "lef", "left", "left ", "left g", "left gy", "left gyr", "left gyru", "left gyrus"]
    keys = []
    for _ in range(max(3, repeats)):
        for t in typed + [""]:
            keys.append(frame(lambda t=t: win.segment_panel.filter_edit.setText(t)))
    win.close()
    return [row_ms("organise", "group tree, 1,000 segments in 20 groups: build -> repainted tree", _stats(build), 100,
                   cpu_ms=_cpu_ms(build_cpu)),
            row_ms("organise", "group tree, 1,000 segments: filter keystroke -> repainted tree", _stats(keys), 20,
                   worst_ms=round(max(keys) * 1e3, 2), cpu_ms=_cpu_ms(cpu))]


def _hide_rows(repeats) -> list[Row]:
    from PySide6.QtCore import Qt

    from app import io
    from app.model import groups as gr
    from app.ui.segment_tree import TreeColumn

    seg = io.open_segmentation(SPL_ATLAS, labels=SPL_TABLE)
    ids = seg.segment_ids[:300]
    gr.set_group(seg, ids, "Three hundred")
    app, win, org = _window(seg)
    views = [v.canvas.viewport() for v in win.slice_views]
    counters = [PaintCounter(vp) for vp in views]
    index = org.model.index_of_group("Three hundred", TreeColumn.VISIBLE)
    times, cpu = [], []
    for n in range(max(6, repeats * 4)):
        state = Qt.Unchecked if n % 2 == 0 else Qt.Checked
        before = [c.n for c in counters]
        c0, t0 = time.thread_time(), time.perf_counter()
        org.model.setData(index, state, Qt.CheckStateRole)
        win.display.flush()
        app.processEvents()
        for vp, c, b in zip(views, counters, before):
            if c.n == b:
                vp.repaint()
        times.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
        assert all(s.visible == (state == Qt.Checked) for s in seg.segments[:300])
    win.close()
    return [row_ms("organise", "hide/show a group of 300 segments (SPL atlas) -> 3 slice views redrawn",
                   _stats(times), 10, cpu_ms=_cpu_ms(cpu))]


def run(args) -> list[Row]:
    repeats = 2 if getattr(args, "quick", False) else 5
    rows = _tree_rows(repeats)
    if SPL_ATLAS.exists():
        rows += _hide_rows(repeats)
    return rows
