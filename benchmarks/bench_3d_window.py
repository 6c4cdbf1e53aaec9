"""The 3D view as a user meets it: the real View3D in a window, driven by mouse events, on this machine's software
OpenGL (Mesa llvmpipe). Run by `bench_3d` in two child processes with the same script: under Xvfb with GLX
(`QT_QPA_PLATFORM=xcb`: VTK's own Qt interactor in a native window, as on a laptop without a GPU or a remote
desktop) and under Qt's offscreen platform (the EGL canvas the tests use). A child process each: resident memory
is the process's own, and a GLX and an EGL context never meet.

    xvfb-run -a -s "-screen 0 1920x1080x24" env QT_QPA_PLATFORM=xcb python -m benchmarks.bench_3d_window
    QT_QPA_PLATFORM=offscreen python -m benchmarks.bench_3d_window

prints one JSON list of rows (see `common.Row`) on its last line.
"""
from __future__ import annotations

import json
import os
import sys
import time

from .common import SPL_ATLAS, SPL_TABLE, Row, paint, pump_until, row_ms, stroke_across

SHOW_TARGET_MS = 1500         # issue 17: Show 3D -> all 304 surfaces drawn
VIEW_SIZE = (900, 700)        # the 3D view's size in pixels (a four-up quarter of a 1920x1080 screen is ~950x500)
ORBIT_STEPS = 90              # mouse moves for one 360-degree orbit
RADIUS_MM = 5.0


def rss_mb() -> float:
    import psutil
    return psutil.Process().memory_info().rss / 2**20


def rss_parts_mb() -> dict:
    """Resident memory split (Linux): "anonymous" is the process's own (heap, buffers: what GNOME's System Monitor
    calls its memory), "file" is pages of mapped files, mostly shared libraries (LLVM, VTK, Mesa), shared with
    any other process using them and dropped by the kernel under pressure. Empty elsewhere."""
    try:
        with open("/proc/self/smaps_rollup") as f:
            kb = {line.split()[0].rstrip(":"): int(line.split()[1]) for line in f if line.split()[1:2] != []
                  and line.split()[1].isdigit()}
    except OSError:
        return {}
    return {"anonymous": kb.get("Anonymous", 0) / 1024, "file": (kb.get("Rss", 0) - kb.get("Anonymous", 0)) / 1024}


def parts_added(before: dict, after: dict) -> dict:
    return {f"{k}_added_mb": round(after[k] - before[k], 1) for k in before if k in after}


def target_widget(view):
    """The widget that receives the mouse: VTK's interactor widget natively, the canvas offscreen."""
    return getattr(view.canvas, "vtk_widget", view.canvas)


def send_mouse(widget, kind, x, y, button, buttons) -> None:
    from PySide6.QtCore import QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication
    local = QPointF(x, y)
    ev = QMouseEvent(kind, local, widget.mapToGlobal(local), button, buttons, Qt.NoModifier)
    QApplication.sendEvent(widget, ev)


def orbit_fps(view, lod: bool) -> tuple[float, dict]:
    """One full turn with the left button held: frames per second as the user sees them (each mouse move is
    followed by a drawn frame before the next one is sent)."""
    from PySide6.QtCore import QEvent, Qt
    from PySide6.QtWidgets import QApplication
    w = target_widget(view)
    scene = view.scene
    saved = dict(scene._lod)
    if not lod:
        scene._lod.clear()
    frames = [0]
    win = view.canvas.render_window
    tag = win.AddObserver("EndEvent", lambda *_: frames.__setitem__(0, frames[0] + 1))
    y = w.height() // 2
    x0 = w.width() // 4
    # back and forth by `step` pixels (the pointer stays in the view): ~360 degrees of travel in all
    from app.ui import vtk_canvas
    if hasattr(view.canvas, "vtk_widget"):
        deg_per_px = 200.0 / w.width()     # vtkInteractorStyleTrackballCamera: 20 / width * MotionFactor 10
    else:
        deg_per_px = vtk_canvas.DEGREES_PER_PIXEL
    step = max(1, round(360.0 / ORBIT_STEPS / deg_per_px))
    send_mouse(w, QEvent.MouseButtonPress, x0, y, Qt.LeftButton, Qt.LeftButton)
    QApplication.processEvents()
    t0 = time.perf_counter()
    x = x0
    for n in range(ORBIT_STEPS):
        x = x0 + step if n % 2 == 0 else x0        # back and forth: the pointer stays inside the view
        send_mouse(w, QEvent.MouseMove, x, y, Qt.NoButton, Qt.LeftButton)
        QApplication.processEvents()              # the offscreen canvas paints here
    seconds = time.perf_counter() - t0
    send_mouse(w, QEvent.MouseButtonRelease, x, y, Qt.LeftButton, Qt.NoButton)
    QApplication.processEvents()
    win.RemoveObserver(tag)
    scene._lod.update(saved)
    triangles = scene.drawn_triangles()
    return frames[0] / seconds, {"frames": frames[0], "moves": ORBIT_STEPS, "degrees_per_move": step * deg_per_px,
                                 "seconds": round(seconds, 2), "triangles_drawn_at_rest": triangles}


def stroke_rows(view, seg, where, smoothing: bool) -> list[Row]:
    """A 50-dab stroke with the real PaintTool across a segment and its neighbours (white matter among them);
    from the release to every touched segment's surface current in the scene (the UPDATE_MS coalescing delay is
    skipped; the frame drawn after it is not counted: see the rotation rows for frame times)."""
    times, touched_counts = [], []
    tool, ctx, pts = stroke_across(seg, RADIUS_MM)
    touched: set = set()

    def note(changes):
        for c in changes:
            touched.update(c.segment_ids)
    seg.events.voxels_changed.connect(note)
    stitched0 = len(getattr(view, "stitched", []))
    for _ in range(5):
        touched.clear()
        paint(tool, ctx, pts)
        t0 = time.perf_counter()
        view._bridge.flush()
        view.updates.timer.stop()
        view.updates.submit()
        pump_until(lambda: all(view.cache.is_current(s) for s in touched if s in seg), 30)
        times.append(time.perf_counter() - t0)
        touched_counts.append(len(touched))
        seg.undo()
        view._bridge.flush()
        view.updates.timer.stop()
        view.updates.submit()
        pump_until(view.is_idle, 60)
    seg.events.voxels_changed.disconnect(note)
    times.sort()
    how = "smoothing on (default)" if smoothing else "smoothing off: stitched sub-box re-meshes"
    return [row_ms("3d-window", f"[{where}] 50-dab stroke -> every touched segment's surface current, {how}",
                   {"min": times[0], "median": times[2], "max": times[-1], "n": 5}, 50, "",
                   segments_touched=max(touched_counts),
                   stitched=len(getattr(view, "stitched", [])) - stitched0,
                   names=sorted(seg.segment(s).name for s in touched if s in seg))]


def draw_a_frame(view) -> None:
    """Ask the view for a frame and wait, in Qt's event loop, for the end of a frame begun after the request."""
    from PySide6.QtWidgets import QApplication

    frames = {"begun": 0, "ended": 0}
    win = view.canvas.render_window
    tags = [win.AddObserver("StartEvent", lambda *_: frames.__setitem__("begun", frames["begun"] + 1)),
            win.AddObserver("EndEvent", lambda *_: frames.__setitem__("ended", frames["ended"] + 1))]
    view.canvas.request_render()
    if QApplication.platformName() != "xcb":
        view.canvas.image()              # offscreen: a paint event draws only when the widget is exposed
    pump_until(lambda: frames["ended"] >= 1 and frames["begun"] >= 1)
    for tag in tags:
        win.RemoveObserver(tag)


def restore_row(view, where: str, drawn_at_show: int) -> Row:
    """The strokes (each undone) left their segments re-meshed apart from their neighbours, which draw their faces
    toward them again; once the view is quiet (no frame, no edit for QUIET_MS) the layer is meshed again in one
    pass, on a thread of its own, and its surfaces replaced. Value: that pass's seconds (worker side)."""
    before = view.scene.drawn_triangles()
    got: dict = {}
    view.updates._restored.connect(lambda payload: got.setdefault("seconds", payload[-1]))
    pump_until(lambda: "seconds" in got and view.is_idle(), 60)
    after = view.scene.drawn_triangles()
    return Row("3d-window", f"[{where}] after the strokes, the view quiet: culling restored by one layer pass on its "
                            "own thread (seconds of the pass)", round(got.get("seconds", float("nan")), 2), "s", "", "",
               None, {"triangles_drawn_before": before, "triangles_drawn_after": after,
                      "triangles_drawn_at_show": drawn_at_show})


def show_seconds(view, platform: str) -> float:
    """View3D.show() -> the end of the first frame that begins with every shown surface meshed and in the scene:
    the moment they are all on screen (coarse copies for moving the camera come after, measured apart). The view
    draws that frame itself; asking for another one would count a second frame."""
    complete = lambda: bool(view.scene.actors) and not view.updates.needed()
    t0 = time.perf_counter()
    view.show()
    if platform == "xcb":
        on_screen = first_complete_frame(view, complete)
        pump_until(lambda: on_screen["ended"] is not None)
        for tag in on_screen["tags"]:
            view.canvas.render_window.RemoveObserver(tag)
        return on_screen["ended"] - t0
    # offscreen, a frame is drawn for a paint event only when Qt sees the widget exposed: asked for
    pump_until(lambda: view.canvas is not None and complete())
    draw_a_frame(view)
    return time.perf_counter() - t0


def first_complete_frame(view, complete) -> dict:
    """Watch the view's frames (its canvas is made by show()): {"ended": perf_counter time} is filled at the end of
    the first frame whose start saw `complete()` hold; "tags" are the observers to remove after."""
    seen = {"ended": None, "counts": False}

    def start(*_):
        if seen["ended"] is None:
            seen["counts"] = complete()

    def end(*_):
        if seen["ended"] is None and seen["counts"]:
            seen["ended"] = time.perf_counter()

    win = view.canvas.render_window
    seen["tags"] = [win.AddObserver("StartEvent", start), win.AddObserver("EndEvent", end)]
    return seen


def floor_rows(view, seg, where) -> list[Row]:
    """The 3D view shown with every segment hidden in it: VTK's rendering libraries, the OpenGL context and an
    empty frame, what any surface comes on top of (on llvmpipe: LLVM's JIT, the software framebuffers)."""
    import gc

    for sid in seg.segment_ids:
        view.hidden_in_3d.add(sid)
    rss0, parts0 = rss_mb(), rss_parts_mb()
    view.show()
    pump_until(lambda: view.canvas is not None and view.is_idle())
    draw_a_frame(view)
    gc.collect()
    added = rss_mb() - rss0
    return [Row("3d-window", f"[{where}] resident memory of the 3D view shown with nothing drawn (VTK rendering, "
                             "OpenGL context, one empty frame)", round(added, 1), "MB", "", "",
                None, {"surfaces_shown": len(view.scene.actors), **parts_added(parts0, rss_parts_mb())})]


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if os.environ["QT_QPA_PLATFORM"] == "offscreen":
        os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
    from PySide6.QtWidgets import QApplication
    app = QApplication.instance() or QApplication([])
    platform = QApplication.platformName()
    where = "Xvfb+GLX window" if platform == "xcb" else "offscreen EGL"
    from app.io import open_segmentation
    from app.ui.view_3d import View3D

    seg = open_segmentation(SPL_ATLAS, labels=SPL_TABLE)
    for sid in seg.segment_ids[:1]:
        seg.bounding_box(sid)                     # the model's per-label boxes, as after a few slice views
    view = View3D()
    view.resize(*VIEW_SIZE)
    view.set_segmentation(seg)
    app.processEvents()
    if "--floor" in sys.argv:
        print(json.dumps([r.as_dict() for r in floor_rows(view, seg, where)]))
        sys.stdout.flush()
        os._exit(0)
    import gc
    gc.collect()
    rss0, parts0 = rss_mb(), rss_parts_mb()
    rows: list[Row] = []

    # ---- Show 3D -> all surfaces drawn
    shown = show_seconds(view, platform)
    n = len(view.scene.actors)
    drawn = view.scene.drawn_triangles()
    triangles = sum(view.scene.mesh(sid).GetNumberOfCells() for sid in view.scene.actors)
    show_row = row_ms("3d-window", f"[{where}] Show 3D -> all {n} surfaces drawn",
                      {"min": shown, "median": shown, "max": shown, "n": 1}, SHOW_TARGET_MS, "", surfaces=n,
                      triangles=triangles, triangles_drawn=drawn)
    if "--show" in sys.argv:         # one more sample of the first row (bench_3d runs several: it varies ~30 %)
        print(json.dumps([show_row.as_dict()]))
        sys.stdout.flush()
        os._exit(0)
    rows.append(show_row)
    rss_shown = rss_mb()

    # ---- coarse copies (built after the surfaces, at low priority)
    t0 = time.perf_counter()
    pump_until(lambda: view.is_idle() and not view.busy, 120)
    coarse_s = time.perf_counter() - t0
    time.sleep(0.3)
    pump_until(lambda: view.is_idle(), 60)

    # ---- rotation (BENCH_3D_SKIP_ROTATION=1: a quick run of the other rows)
    for lod in (() if os.environ.get("BENCH_3D_SKIP_ROTATION") else (False, True)):
        fps, extra = orbit_fps(view, lod)
        what = "coarse copies while moving" if lod else "full surfaces while moving"
        rows.append(Row("3d-window", f"[{where}] rotate, scripted 360-degree mouse orbit, {what}: frames/s",
                        round(fps, 2), "/s", ">= 15 /s", "", fps >= 15, extra))
    rss_rot = rss_mb()

    # ---- pick
    w = target_widget(view)
    ratio = w.devicePixelRatioF()
    picks, got = [], None
    for _ in range(5):
        t0 = time.perf_counter()
        pick = getattr(view, "segment_at", view.scene.segment_at)     # older View3D: VTK's cell picker
        got = pick(int(w.width() * ratio / 2), int(w.height() * ratio / 2))
        picks.append(time.perf_counter() - t0)
    picks.sort()
    rows.append(row_ms("3d-window", f"[{where}] click pick at the view's centre (View3D.segment_at)",
                       {"min": picks[0], "median": picks[2], "max": picks[-1], "n": 5}, 50, "",
                       picked=seg.segment(got).name if got else None))

    # ---- 50-dab stroke -> surfaces current (smoothing on: the default; off: stitched sub-box re-meshes)
    rows.extend(stroke_rows(view, seg, where, smoothing=True))
    rows.append(restore_row(view, where, drawn))
    if hasattr(view, "stitched"):
        view.set_smoothing(False)
        pump_until(view.is_idle, 300)
        rows.extend(stroke_rows(view, seg, where, smoothing=False))
        view.set_smoothing(True)
        pump_until(view.is_idle, 300)

    gc.collect()
    rss_edited = rss_mb()
    # then the view goes quiet (no frame, no edit for View3D.QUIET_MS) and gives the freed heap back
    trimmed = []
    view.quiet_timer.timeout.connect(lambda: trimmed.append(view.updates._restoring is None))   # (after the
    pump_until(lambda: bool(trimmed) and trimmed[-1] and view.is_idle(), 60)    # view's own slot: a trim, no restore)
    rss1 = rss_mb()
    rows.append(Row("3d-window", f"[{where}] resident memory added by 3D (surfaces shown, rotated, edited; then "
                                 "the view quiet for 1.5 s)",
                    round(rss1 - rss0, 1), "MB", "<= 250 MB", "", rss1 - rss0 <= 250,
                    {"before_mb": round(rss0, 1), "after_show_mb": round(rss_shown, 1),
                     "after_rotation_mb": round(rss_rot, 1), "right_after_edits_mb": round(rss_edited, 1),
                     "after_mb": round(rss1, 1), "coarse_copies_s": round(coarse_s, 2),
                     **parts_added(parts0, rss_parts_mb())}))
    view.shutdown()
    print(json.dumps([r.as_dict() for r in rows]))
    sys.stdout.flush()
    os._exit(0)      # skip VTK/Qt teardown order problems: the figures are out


if __name__ == "__main__":
    sys.exit(main())
