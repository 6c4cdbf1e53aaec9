"""3D view benchmarks on the SPL atlas (304 segments, 256³): surfaces from load, update after a brush stroke,
rendering speed on this machine's software OpenGL (Mesa llvmpipe through EGL, no GPU).

Peer figures: toolchain.md (vtkSurfaceNets3D on a 256³ 300-label volume) and peers.md (ITK-SNAP re-meshes every
label after an edit, Slicer every modified segment)."""
from __future__ import annotations

import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

from .common import SPL_ATLAS, SPL_TABLE, Row, paint, pump_until, row_ms, stroke_across, timeit  # noqa: E402
from .bench_3d_window import SHOW_TARGET_MS  # noqa: E402

PEER_FULL = "vtkSurfaceNets3D alone (toolchain.md): 0.40 s smoothed, 0.19 s unsmoothed; ITK-SNAP: minutes"
PEER_UPDATE = "ITK-SNAP: re-meshes every label; Slicer: every modified segment after the stroke"
RADIUS_MM = 5.0


def load_atlas():
    from app.io import open_segmentation

    return open_segmentation(SPL_ATLAS, labels=SPL_TABLE)


def wait_idle(view) -> None:
    """Until every shown surface is current, waiting in Qt's event loop (see common.pump_until)."""
    pump_until(view.is_idle)


def core_rows(seg, repeats: int) -> list[Row]:
    """Meshing alone (what the worker thread does), no Qt."""
    from app.render.surfaces import plan_jobs

    rows = []
    for smoothing, target in ((True, 1500), (False, None)):
        def full():
            jobs, _ = plan_jobs(seg, seg.segment_ids, smoothing)
            return sum(len([m for m in job.run().values() if m is not None]) for job in jobs)
        n = full()
        rows.append(row_ms("3d", f"mesh all {n} surfaces, one pass, smoothing {'on' if smoothing else 'off'} "
                                 "(worker thread's work)", timeit(full, repeats), target, PEER_FULL))
    return rows


def view_rows(seg, repeats: int) -> list[Row]:
    """The real View3D (offscreen canvas): from a document to all surfaces shown, then a stroke's update."""
    from PySide6.QtWidgets import QApplication

    from app.ui.view_3d import View3D

    from app.ui import surface_updates

    QApplication.instance() or QApplication([])
    lod_min = surface_updates.LOD_MIN_TRIANGLES
    surface_updates.LOD_MIN_TRIANGLES = 10**12          # coarse copies later, measured on their own
    view = View3D()
    view.resize(700, 560)
    view.show()
    times, ready = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        view.set_segmentation(seg)
        wait_idle(view)
        ready.append(time.perf_counter() - t0)
        view.canvas.image()                       # the first frame drawn
        times.append(time.perf_counter() - t0)
    stats = {"min": min(times), "median": sorted(times)[len(times) // 2], "max": max(times), "n": len(times)}
    n = len(view.scene.actors)
    rows = [row_ms("3d", f"document -> all {n} surfaces shown and drawn, smoothing on (View3D, llvmpipe)",
                   stats, 1500, PEER_FULL, surfaces=n,
                   surfaces_in_scene_ms=round(1e3 * sorted(ready)[len(ready) // 2], 1),
                   triangles=view.scene.drawn_triangles())]
    rows.extend(stroke_rows(seg, view, repeats))
    surface_updates.LOD_MIN_TRIANGLES = lod_min
    t0 = time.perf_counter()
    view.updates.submit()
    wait_idle(view)
    lod_s = time.perf_counter() - t0
    rows.extend(render_rows(view, lod_s))
    view.shutdown()
    return rows


def stroke_rows(seg, view, repeats: int) -> list[Row]:
    """A 50-dab stroke with the real PaintTool over a segment and its neighbours; then (1) the update itself: the
    touched segments re-meshed, each on its bounding box, and their actors updated, no drawing (a GPU draws in a
    few ms); (2) the same inside View3D on llvmpipe, where each partial result is also drawn (the UPDATE_MS
    coalescing delay is skipped: the timer is fired at once)."""
    from PySide6.QtWidgets import QApplication

    from app.render.surfaces import plan_jobs

    tool, ctx, pts = stroke_across(seg, RADIUS_MM)
    touched: set = set()
    seg.events.voxels_changed.connect(lambda changes: touched.update(*(c.segment_ids for c in changes)))
    from app.ui.surface_updates import BIG_BLOCK

    core, live, per_segment, in_view = [], [], {}, []

    def stroke():
        touched.clear()
        paint(tool, ctx, pts)
        t0 = time.perf_counter()
        jobs, _ = plan_jobs(seg, sorted(touched), True)
        small = 0.0
        for job in sorted(jobs, key=lambda jb: jb.block.size):
            t1 = time.perf_counter()
            for s_id, mesh in job.run().items():
                view.scene.set_mesh(s_id, mesh)
                per_segment.setdefault(seg.segment(s_id).name, []).append(time.perf_counter() - t1)
            small = time.perf_counter() - t0 if job.block.size <= BIG_BLOCK else small
        core.append(time.perf_counter() - t0)
        live.append(small)
        QApplication.processEvents()              # no frame pending: llvmpipe would take both cores
        view._bridge.flush()
        view.updates.timer.stop()
        t0 = time.perf_counter()
        view.updates.submit()
        wait_idle(view)
        in_view.append(time.perf_counter() - t0)

    for _ in range(repeats):
        stroke()
        seg.undo()
        view._bridge.flush()
        view.updates.timer.stop()
        view.updates.submit()
        wait_idle(view)

    def med(xs):
        return sorted(xs)[len(xs) // 2]
    ms = {name: round(1e3 * med(v), 1) for name, v in per_segment.items()}
    stats = {"min": min(live), "median": med(live), "max": max(live), "n": len(live)}
    rows = [row_ms("3d", "update after a 50-dab stroke: painted segment + small neighbours re-meshed, actors "
                         "updated (shown during the stroke)", stats, 50, PEER_UPDATE, per_segment_ms=ms,
                   painted_segment_ms=ms.get(seg.segment(tool.state.active_segment).name), brush_radius_mm=RADIUS_MM,
                   deferred_if_box_over_voxels=BIG_BLOCK)]
    stats = {"min": min(core), "median": med(core), "max": max(core), "n": len(core)}
    rows.append(row_ms("3d", "update after a 50-dab stroke, every touched segment re-meshed whole on its box (white "
                             "matter among them; no stitching: the comparison for the window rows)", stats, None,
                       PEER_UPDATE, segments=len(ms)))
    stats = {"min": min(in_view), "median": med(in_view), "max": max(in_view), "n": len(in_view)}
    rows.append(row_ms("3d", "same stroke inside View3D (stitched), until idle: partial results drawn as they come",
                       stats, None, PEER_UPDATE))
    return rows


def render_rows(view, lod_seconds: float, frames: int = 8) -> list[Row]:
    """Frames per second while rotating the whole atlas (700x560, offscreen llvmpipe): full surfaces, and the
    coarse copies the view draws while the camera moves."""
    rows = []
    scene = view.scene
    for interactive in (False, True):
        scene.reset_camera()
        scene.set_interactive(interactive)
        view.canvas.image()
        t0 = time.perf_counter()
        for _ in range(frames):
            scene.rotate(3.0, 0.0)
            view.canvas.image()
        fps = frames / (time.perf_counter() - t0)
        triangles = scene.drawn_triangles()
        what = "coarse copies while the camera moves" if interactive else "full surfaces"
        rows.append(Row("3d", f"rotating the full atlas, {what}: frames/s (llvmpipe, no GPU)", round(fps, 2), "/s",
                        ">= 10 /s" if interactive else "", "llvmpipe, 2.5 M triangles: ~0.7 fps (toolchain.md)",
                        fps >= 10 if interactive else None,
                        {"triangles": triangles, **({"coarse_copies_built_s": round(lod_seconds, 2)}
                                                    if interactive else {})}))
    scene.set_interactive(False)
    return rows


SHOW_SAMPLES = 5              # first shows measured per platform (each in its own process)


def window_rows() -> list[Row]:
    """bench_3d_window in two child processes: a real window under Xvfb with GLX, and Qt's offscreen platform."""
    import json
    import shutil
    import subprocess
    import sys

    from .common import ROOT

    rows = []
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("VTK_DEFAULT_OPENGL_WINDOW", None)
    runs = [("offscreen", [sys.executable, "-m", "benchmarks.bench_3d_window"])]
    if shutil.which("xvfb-run"):
        runs.insert(0, ("xcb", ["xvfb-run", "-a", "-s", "-screen 0 1920x1080x24", sys.executable, "-m",
                                "benchmarks.bench_3d_window"]))
    else:
        rows.append(Row("3d-window", "xvfb-run absent: real-window rows skipped", 0, "", "", "", None))
    full = list(runs)
    runs += [(platform, cmd + ["--floor"]) for platform, cmd in full]     # the view with nothing drawn
    runs += [(platform, cmd + ["--show"]) for platform, cmd in full for _ in range(SHOW_SAMPLES - 1)]
    samples: dict[str, list[Row]] = {}
    for platform, cmd in runs:
        out = subprocess.run(cmd, env=dict(env, QT_QPA_PLATFORM=platform), cwd=ROOT, capture_output=True,
                             text=True, timeout=3600)
        lines = [ln for ln in out.stdout.splitlines() if ln.startswith("[{")]
        if not lines:
            rows.append(Row("3d-window", f"{platform} run failed: {out.stderr.strip()[-200:]}", 0, "", "", "",
                            False))
            continue
        got = [Row(**d) for d in json.loads(lines[-1])]
        if "--show" in cmd:
            samples.setdefault(got[0].name, []).extend(got)
        else:
            rows.extend(got)
    return [merged_show(row, samples.get(row.name, [])) for row in rows]


def merged_show(row: Row, more: list[Row]) -> Row:
    """The Show 3D row over every process's sample: its median, min and max (one first show per process; on this
    VM one sample varies by 30 % or more)."""
    if not more:
        return row
    values = sorted([row.value] + [r.value for r in more])
    extra = dict(row.extra or {}, min_ms=values[0], max_ms=values[-1], n=len(values), samples_ms=values)
    median = values[len(values) // 2]
    return Row(row.area, row.name + f" (median of {len(values)} processes)", median, row.unit, row.target,
               row.peer, median <= SHOW_TARGET_MS, extra)


def run(args) -> list[Row]:
    if not SPL_ATLAS.exists():
        return [Row("3d", "SPL atlas absent: 3D benchmarks skipped", 0, "", "", "", None)]
    repeats = 3 if getattr(args, "quick", False) else 5
    rows = window_rows()
    seg = load_atlas()
    return rows + core_rows(seg, repeats) + view_rows(seg, repeats)
