"""Editing benchmarks on the SPL atlas (304 segments, 256³): brush dabs and strokes, undo, undo memory.

Model rows drive the Qt-free PaintTool directly. View rows go through the real MainWindow (offscreen, all segments
visible, a 512×512 slice view): real mouse events on the viewport, timed until the view has repainted.
Peer figures: napari 0.9.2 measured on these machines on the same atlas (issue 5)."""
from __future__ import annotations

import gc
import sys
import time

import numpy as np

from .common import SPL_ATLAS, SPL_TABLE, Row, row_ms, timeit

RADIUS_MM = 5.0              # a 10 mm brush: a typical correction brush on a 1 mm atlas
AXIS, SLICE = 2, 128         # lattice axis k (the atlas's permuted directions make this a sagittal-ish plane)
PEER_DAB = "napari 0.9.2: 17.9 ms"
PEER_STROKE_EACH = "napari 0.9.2: 905 ms"
PEER_STROKE_ONCE = "napari 0.9.2: 21.8 ms"
PEER_UNDO = "napari 0.9.2: 20.5 ms"


def load_atlas():
    """The SPL atlas as a Segmentation, through the io facade (with its colour table)."""
    from app.io import open_segmentation

    return open_segmentation(SPL_ATLAS, labels=SPL_TABLE)


def stroke_points(n: int, start=(70.0, 100.0), step: float = 2.0):
    """n points along a diagonal in the plane AXIS=SLICE, `step` voxels apart: one dab per mouse event."""
    pts = []
    for t in range(n):
        p = [0.0, 0.0, 0.0]
        inplane = [a for a in range(3) if a != AXIS]
        p[inplane[0]] = start[0] + t * step
        p[inplane[1]] = start[1] + t * step * 0.5
        p[AXIS] = SLICE
        pts.append(tuple(p))
    return pts


def make_tool(seg, erase=False):
    from app.model.segment_editor_state import EditorState
    from app.ui.view_tools.paint import PaintTool

    state = EditorState()
    state.active_segment = seg.segment_ids[len(seg.segment_ids) // 2]
    state.brush_radius_mm = RADIUS_MM
    return PaintTool(state, lambda: seg, erase=erase), state


def model_rows(seg, repeats: int) -> list[Row]:
    from app.ui.view_tools.base import ViewContext

    ctx = ViewContext(AXIS, SLICE)
    tool, _ = make_tool(seg)
    rows = []
    pts = stroke_points(50)

    def dab():
        tool.press(pts[0], ctx)
        tool.release(pts[0], ctx)

    rows.append(row_ms("edit", "one dab, model only (apply + events, no view)", timeit(dab, repeats, seg.undo)))

    def stroke():
        tool.press(pts[0], ctx)
        for p in pts[1:]:
            tool.drag(p, ctx)
        tool.release(pts[-1], ctx)

    rows.append(row_ms("edit", "50-dab stroke, model only (50 mouse events)", timeit(stroke, repeats, seg.undo)))
    stroke()
    rows.append(row_ms("edit", "undo of a 50-dab stroke, model only",
                       timeit(seg.undo, repeats, lambda: (seg.redo() if seg.history.can_redo else stroke()))))
    seg.undo()
    rows.append(memory_row(seg))
    return rows


def memory_row(seg) -> Row:
    """1,000 strokes of 50 dabs (50 mouse events 2 voxels apart) at random places, planes and segments: the bytes
    the history really holds (a walk over its objects) and its own accounting (what the budget counts)."""
    from app.ui.view_tools.base import ViewContext

    rng = np.random.default_rng(1)
    tool, state = make_tool(seg)
    ids = seg.segment_ids
    seg.history.clear()
    t0 = time.perf_counter()
    for _ in range(1000):
        state.active_segment = ids[int(rng.integers(len(ids)))]
        ctx = ViewContext(int(rng.integers(3)), int(rng.integers(60, 196)))
        p = rng.uniform(60, 196, 3)
        d = rng.normal(0, 1, 3)
        d *= 2.0 / max(1e-6, np.abs(d).max())
        tool.press(tuple(p), ctx)
        for t in range(1, 50):
            tool.drag(tuple(p + t * d), ctx)
        tool.release(tuple(p + 49 * d), ctx)
    elapsed = time.perf_counter() - t0
    steps = len(seg.history.undo_stack)
    real = deep_bytes(seg.history.undo_stack) / 2**20
    counted = seg.history.total_bytes / 2**20
    while seg.undo():
        pass
    return Row("edit", "undo memory of 1,000 50-dab strokes (bytes held)", round(real, 2), "MB", "<= 50 MB",
               "Slicer: full layer copies per step (#6982: >100 GB)", real <= 50,
               {"history_accounting_MB": round(counted, 2), "steps": steps,
                "seconds_for_1000_strokes": round(elapsed, 2)})


def deep_bytes(obj, seen=None) -> int:
    """Bytes held by an object graph: numpy buffers, bytes, containers, dataclass/plain objects (shared once)."""
    seen = set() if seen is None else seen
    if id(obj) in seen or obj is None or isinstance(obj, (int, float, str, bool, type)):
        return 0
    seen.add(id(obj))
    size = sys.getsizeof(obj)
    if isinstance(obj, np.ndarray):
        return size + (0 if obj.base is None else obj.nbytes)
    if isinstance(obj, dict):
        return size + sum(deep_bytes(k, seen) + deep_bytes(v, seen) for k, v in obj.items())
    if isinstance(obj, (list, tuple, set, frozenset)):
        return size + sum(deep_bytes(x, seen) for x in obj)
    if isinstance(obj, slice):
        return size
    fields = getattr(obj, "__dict__", None)
    if fields is None and hasattr(obj, "__slots__"):
        fields = {k: getattr(obj, k) for k in obj.__slots__ if hasattr(obj, k)}
    return size + (deep_bytes(fields, seen) if fields else 0)


def _window(seg):
    """The real MainWindow, offscreen, one 512x512 axial view, every segment visible, the editing extension on."""
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from app.ui.main_window import Layout, MainWindow

    app = QApplication.instance() or QApplication([])
    win = MainWindow(settings=QSettings("/tmp/segedit-bench-edit.ini", QSettings.IniFormat), extensions=False)
    from app.ui import segment_editor

    ed = segment_editor.install(win)
    win.set_layout(Layout.AXIAL)
    win.set_document(seg, None)
    view = win.slice_views[0]
    view.canvas.setFixedSize(512, 512)
    win.show()
    app.processEvents()
    view.reset_view()
    win.select_segment(seg.segment_ids[len(seg.segment_ids) // 2])
    ed.state.brush_radius_mm = RADIUS_MM
    ed.set_tool(__import__("app.model.segment_editor_state", fromlist=["ToolKind"]).ToolKind.PAINT)
    app.processEvents()
    return app, win, ed, view


def view_rows(seg, repeats: int) -> list[Row]:
    """Mouse events on the viewport -> tool -> model -> Qt bridge -> view re-render -> viewport repaint."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    app, win, ed, view = _window(seg)
    vp = view.canvas.viewport()
    k = view.slice_index
    axis = view.plane_axis
    inplane = [a for a in range(3) if a != axis]

    def at(t):
        p = [0.0, 0.0, 0.0]
        p[axis], p[inplane[0]], p[inplane[1]] = k, 70 + 2.0 * t, 100 + 1.0 * t
        return view.canvas.mapFromScene(view.view_box.mapViewToScene(view.ijk_to_view(p)))

    pos = [at(t) for t in range(50)]

    def redraw():
        app.processEvents()          # the tool's queued dabs (one edit per event-loop turn)
        win.display.flush()          # the model's events reach the view now, not at the next turn
        vp.repaint()

    def dab():
        QTest.mousePress(vp, Qt.LeftButton, Qt.NoModifier, pos[0])
        redraw()

    def after_dab():
        QTest.mouseRelease(vp, Qt.LeftButton, Qt.NoModifier, pos[0])
        app.processEvents()
        seg.undo()
        app.processEvents()

    rows = [row_ms("edit", "one dab: mouse press -> redrawn 512x512 view (SPL, 304 segments)",
                   _timed(dab, after_dab, repeats), 8, PEER_DAB,
                   visible_segments=sum(s.visible for s in seg.segments), view_px=[vp.width(), vp.height()])]

    def stroke(each: bool):
        QTest.mousePress(vp, Qt.LeftButton, Qt.NoModifier, pos[0])
        if each:
            redraw()
        for p in pos[1:]:
            QTest.mouseMove(vp, p)
            if each:
                redraw()
        QTest.mouseRelease(vp, Qt.LeftButton, Qt.NoModifier, pos[-1])
        redraw()

    def undo_after():
        seg.undo()
        app.processEvents()

    rows.append(row_ms("edit", "50-dab stroke, view redrawn after every dab", _timed(lambda: stroke(True), undo_after,
                       repeats), 300, PEER_STROKE_EACH))
    rows.append(row_ms("edit", "50-dab stroke, one redraw at the end", _timed(lambda: stroke(False), undo_after,
                       repeats), 15, PEER_STROKE_ONCE))
    stroke(False)

    def undo_key():
        QTest.keyClick(view, Qt.Key_Z, Qt.ControlModifier)
        redraw()

    def redo():
        seg.redo()
        app.processEvents()

    rows.append(row_ms("edit", "undo of the 50-dab stroke (Ctrl+Z -> redrawn view)", _timed(undo_key, redo, repeats),
                       10, PEER_UNDO))
    seg.undo()
    win.files.maybe_save = lambda: True
    win.close()
    return rows


def _timed(fn, after, repeats):
    """Like common.timeit but with an untimed clean-up after each run (undo the edit)."""
    times = []
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        after()
    times.sort()
    return {"min": times[0], "median": times[len(times) // 2], "max": times[-1], "n": len(times)}


def run(args) -> list[Row]:
    if not SPL_ATLAS.exists():
        return [Row("edit", "SPL atlas absent: editing benchmarks skipped", 0, "", "", "", None)]
    repeats = 3 if getattr(args, "quick", False) else 9
    seg = load_atlas()
    rows = view_rows(seg, repeats)
    rows.extend(model_rows(seg, repeats))
    return rows
