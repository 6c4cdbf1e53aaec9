"""Statistics and comparison rows (issue 15) on the SPL atlas (304 segments, 256³) with a synthetic grey volume.

Peers: Slicer's Segment Statistics and SlicerRT's Segment Comparison measure one segment / one pair per run."""
from __future__ import annotations

import numpy as np

import gc
import statistics
import time

from .common import SPL_ATLAS, SPL_TABLE, Row, row_ms

PEER_STATS = "Slicer Segment Statistics: one pass per segment"
PEER_COMPARE = "SlicerRT Segment Comparison: one pair per run"


def load_atlas():
    from app.io import open_segmentation

    return open_segmentation(SPL_ATLAS, labels=SPL_TABLE)


def synthetic_grey(seg, dtype=np.int16) -> np.ndarray:
    """Per-label tissue values, blurred, with noise: an MR-like integer volume on the atlas lattice."""
    from scipy import ndimage

    arr = seg.layers[0]
    rng = np.random.default_rng(1)
    table = rng.normal(300, 80, int(arr.max()) + 1).astype(np.float32)
    table[0] = 20
    grey = ndimage.gaussian_filter(table[arr.astype(np.int64)], 1.0) + rng.normal(0, 10, arr.shape)
    return grey.astype(dtype)


def perturbed_copy(seg, seed: int = 0):
    """Every segment grown (even positions) or shrunk (odd) by one voxel somewhere on its surface."""
    from app.model.segmentation import Segmentation

    rng = np.random.default_rng(seed)
    arr = seg.layers[0].copy(order="K")
    for n, s in enumerate(seg.segments):
        box = seg.bounding_box(s.id)
        if box is None:
            continue
        m = arr[box] == s.label
        pts = np.argwhere(m)
        lo = np.array([b.start for b in box])
        for _ in range(50):
            p = pts[rng.integers(len(pts))] + lo
            q = p.copy()
            q[rng.integers(3)] += rng.choice([-1, 1])
            if not all(0 <= q[a] < arr.shape[a] for a in range(3)) or arr[tuple(q)] == s.label:
                continue
            if n % 2 == 0:
                arr[tuple(q)] = s.label        # grow: a face neighbour outside joins
            elif len(pts) > 1:
                arr[tuple(p)] = 0              # shrink: a surface voxel leaves
            break
    return Segmentation.from_layers(seg.geometry, [arr], [s.copy() for s in seg.segments])


def timeit(fn, repeats: int = 5, setup=None) -> dict:
    """common.timeit plus the process CPU time of each run: with 8 engineers on 2 cores the wall time is mostly
    waiting for a core, the CPU time is what the work costs (close to the wall time on a quiet machine)."""
    wall, cpu = [], []
    for _ in range(repeats):
        if setup is not None:
            setup()
        gc.collect()
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return {"min": min(wall), "median": statistics.median(wall), "max": max(wall), "n": len(wall),
            "cpu_ms": round(statistics.median(cpu) * 1e3, 1)}


def row(name, stats, target=None, peer="", **extra) -> Row:
    r = row_ms("stats", name, stats, target, peer, cpu_ms=stats["cpu_ms"], **extra)
    r.name += f" [CPU {stats['cpu_ms']:g} ms]"
    return r


def run(args) -> list[Row]:
    from app.model.brush import ball_voxels
    from app.model.compare import compare
    from app.model.edits import EditMode, EditPolicy, apply_stroke
    from app.model.stats import segmentation_statistics

    if not SPL_ATLAS.exists():
        return []
    repeats = 2 if args.quick else 5
    seg = load_atlas()
    grey = synthetic_grey(seg)
    grey_f = synthetic_grey(seg, np.float32) + np.float32(0.25)
    n = len(seg)
    rows = [row(f"all statistics, {n} segments, no grey, no surfaces",
                timeit(lambda: segmentation_statistics(seg), repeats), 500, PEER_STATS),
            row(f"all statistics with grey (int16) incl. median + 4 percentiles, {n} segments",
                timeit(lambda: segmentation_statistics(seg, grey), repeats), 1000, PEER_STATS),
            row(f"all statistics with grey (float32, sort-based percentiles), {n} segments",
                timeit(lambda: segmentation_statistics(seg, grey_f), repeats), 1000, PEER_STATS)]
    # a 50-dab stroke of a 5 mm ball across a mid-size segment and its neighbours, then only those recomputed
    target = seg.segment_by_name("left_hippocampus") or seg.segments[len(seg) // 2]
    box = seg.bounding_box(target.id)
    c = np.array([(b.start + b.stop) // 2 for b in box])
    pts = np.array([c + np.array([d - 25, (d % 7) - 3, 0]) // 2 for d in range(50)])
    changed: set = set()
    seg.events.voxels_changed.connect(lambda ch: changed.update(i for x in ch for i in x.segment_ids))
    apply_stroke(seg, target.id, pts, ball_voxels(5), EditMode.ADD, EditPolicy(), "Paint")
    ids = set(changed)
    rows.append(row(f"recompute after a brush stroke ({len(ids)} segments changed), with grey",
                    timeit(lambda: segmentation_statistics(seg, grey, segment_ids=ids), repeats), 20,
                    segments=sorted(seg.segment(i).name for i in ids)))
    seg.undo()
    wm = max(seg.segments, key=lambda s: seg.voxel_count(s.id))
    rows.append(row(f"recompute the largest segment alone ({wm.name}, {seg.voxel_count(wm.id)} vox)",
                    timeit(lambda: segmentation_statistics(seg, grey, segment_ids={wm.id}), repeats)))
    # B is a fresh copy for every run (its caches cold, as when it has just been opened)
    fresh = {}
    res = compare(seg, perturbed_copy(seg), distances=False)
    changed_pairs = sum(r.dice < 1 for r in res)

    def new_b():
        fresh["b"] = perturbed_copy(seg, seed=len(fresh))

    rows.append(row(f"compare with a perturbed copy: Dice for all {len(res)} pairs",
                    timeit(lambda: compare(seg, fresh["b"], distances=False), repeats, new_b), 500, PEER_COMPARE,
                    pairs_differing=changed_pairs))
    rows.append(row(f"compare with a perturbed copy: Dice + mean/HD/HD95 for all {len(res)} pairs",
                    timeit(lambda: compare(seg, fresh["b"]), repeats, new_b), 5000, PEER_COMPARE))
    rows.append(dock_row(repeats))
    try:
        from app.render.surface_area import surface_areas
    except ImportError:
        return rows
    rows.append(row(f"surface areas of all {n} segments (SurfaceNets, smoothed)",
                    timeit(lambda: surface_areas(seg), max(1, repeats // 2))))
    return rows


def dock_row(repeats: int) -> Row:
    """End to end in the real window (offscreen): a 50-dab stroke, then the Statistics dock's update (the model's
    recompute of the changed segments plus the table rows), as when the stroke pauses."""
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import tempfile

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from app.io import Volume
    from app.model.brush import ball_voxels
    from app.model.edits import EditMode, EditPolicy, apply_stroke
    from app.ui import measure
    from app.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    scratch = tempfile.TemporaryDirectory()
    win = MainWindow(settings=QSettings(os.path.join(scratch.name, "s.ini"), QSettings.IniFormat), extensions=False)
    stats, _ = measure.install(win)
    seg = load_atlas()
    win.set_document(seg, Volume(synthetic_grey(seg), seg.geometry, None))
    win.show()
    stats.dock.show()
    app.processEvents()
    stats.update_now()
    target = seg.segment_by_name("left_hippocampus") or seg.segments[len(seg) // 2]
    box = seg.bounding_box(target.id)
    c = np.array([(b.start + b.stop) // 2 for b in box])
    pts = np.array([c + np.array([d - 25, (d % 7) - 3, 0]) // 2 for d in range(50)])

    def stroke():
        seg.undo()
        apply_stroke(seg, target.id, pts, ball_voxels(5), EditMode.ADD, EditPolicy(), "Paint")

    apply_stroke(seg, target.id, pts, ball_voxels(5), EditMode.ADD, EditPolicy(), "Paint")
    stats.update_now()
    result = row("Statistics dock: stroke -> changed segments re-measured and their rows updated",
                 timeit(stats.update_now, repeats, stroke), 20)
    win.files.maybe_save = lambda: True
    win.close()
    return result
