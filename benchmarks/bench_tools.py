"""Whole-atlas tools on the SPL atlas (304 segments, 256³, 1 mm): each tool applied to ALL 304 segments at once
(plan + apply, one undo step), with the time per segment; joint smoothing is checked for gaps and overlaps.

Target: "practical" for the whole atlas, set here as <= 100 ms per segment (30 s for 304) for every tool.
Peer: Slicer runs these effects one segment at a time on the whole lattice and users script loops (peers.md §3
ask 20, §5 item 7); its segment update alone took ~5 s per segment in Slicer/Slicer#5719.
After each tool, undo restores the atlas (checked) so every row starts from the same state."""
from __future__ import annotations

import time

import numpy as np

from .common import SPL_ATLAS, SPL_TABLE, Row

TARGET_MS_PER_SEGMENT = 100.0
PEER = "Slicer: one segment per run, ~5 s/segment update (Slicer#5719)"


def load_atlas():
    from app.io import open_segmentation

    return open_segmentation(SPL_ATLAS, labels=SPL_TABLE)


def _synthetic_grey(seg) -> np.ndarray:
    """A grey volume for the threshold rows (the atlas has none): per-label tissue values, blurred."""
    from scipy import ndimage

    arr = seg.layers[0]
    rng = np.random.default_rng(1)
    table = rng.normal(100, 30, int(arr.max()) + 1).astype(np.float32)
    table[0] = 0
    return ndimage.gaussian_filter(table[arr.astype(np.int64)], 1.0)


def _time_tool(seg, name, fn, n_segments, check_restore=True, **extra) -> Row:
    before = [a.copy() for a in seg.layers] if check_restore else None
    t0 = time.perf_counter()
    result = fn()
    dt = time.perf_counter() - t0
    t1 = time.perf_counter()
    seg.undo()
    undo_s = time.perf_counter() - t1
    restored = None if before is None else all(np.array_equal(a, b) for a, b in zip(before, seg.layers))
    per = dt * 1e3 / n_segments
    return Row("tools", f"{name}: all {n_segments} segments, per segment", round(per, 2), "ms",
               f"<= {TARGET_MS_PER_SEGMENT:g} ms", PEER, per <= TARGET_MS_PER_SEGMENT and restored is not False,
               {"total_s": round(dt, 2), "voxels_written": result.written, "segments_changed": len(result.changed),
                "created": len(result.created), "undo_s": round(undo_s, 2), "undo_restored_exactly": restored,
                **extra})


def _joint_check(seg, ids, std_mm) -> dict:
    """Run joint smoothing and count gaps and overlaps (definitions in app/model/ops/joint.py)."""
    from scipy import ndimage

    from app.model.ops import joint_smoothing
    from app.model.ops.smoothing import gaussian_sigma

    union = seg.layers[0] != 0
    g_union = ndimage.gaussian_filter(union.astype(np.float32), gaussian_sigma(std_mm, seg.geometry.spacing),
                                      mode="constant")
    t0 = time.perf_counter()
    result = joint_smoothing(seg, ids, std_mm)
    dt = time.perf_counter() - t0
    after = seg.layers[0] != 0
    covered = np.zeros(seg.geometry.shape, np.uint16)
    for arr in seg.layers:
        covered += arr != 0
    gaps = int(np.count_nonzero(union & ~after & (g_union >= 0.5 + 1e-4)))
    labelled_missing = int(np.count_nonzero(~after & (g_union >= 0.5 + 1e-4)))
    return {"result": result, "seconds": dt, "gaps": gaps, "unlabelled_where_union_kept": labelled_missing,
            "overlaps": int(np.count_nonzero(covered > 1)), "layers": len(seg.layers),
            "boundary_removed": int(np.count_nonzero(union & ~after))}


def _sparse_copy(seg, every: int):
    """The atlas with only every `every`-th slice across k kept (sparsely drawn), as a new Segmentation."""
    from app.model.segmentation import Segmentation

    arr = seg.layers[0].copy()
    keep = np.zeros(arr.shape[2], bool)
    keep[::every] = True
    arr[:, :, ~keep] = 0
    return Segmentation.from_layers(seg.geometry, [arr], [s.copy() for s in seg.segments])


def run(args) -> list[Row]:
    from app.model import ops

    if not SPL_ATLAS.exists():
        return []
    seg = load_atlas()
    ids = seg.segment_ids
    n = len(ids)
    grey = _synthetic_grey(seg)
    rows = []
    tools = [
        ("margin grow 1 mm", lambda: ops.margin(seg, ids, 1.0)),
        ("margin shrink 1 mm", lambda: ops.margin(seg, ids, -1.0)),
        ("islands keep largest", lambda: ops.islands(seg, ids, ops.IslandMode.KEEP_LARGEST)),
        ("islands remove < 50 voxels", lambda: ops.islands(seg, ids, ops.IslandMode.REMOVE_SMALL, 50)),
        ("islands split into segments", lambda: ops.islands(seg, ids, ops.IslandMode.SPLIT, 10)),
        ("smoothing median 3 mm", lambda: ops.smooth(seg, ids, ops.SmoothingMethod.MEDIAN, 3.0)),
        ("smoothing opening 2 mm", lambda: ops.smooth(seg, ids, ops.SmoothingMethod.OPENING, 2.0)),
        ("smoothing closing 2 mm", lambda: ops.smooth(seg, ids, ops.SmoothingMethod.CLOSING, 2.0)),
        ("smoothing Gaussian 1 mm", lambda: ops.smooth(seg, ids, ops.SmoothingMethod.GAUSSIAN, 1.0)),
        ("logical subtract a segment", lambda: ops.logical(seg, ids, ops.LogicalOp.SUBTRACT, ids[0])),
        ("logical intersect with a segment", lambda: ops.logical(seg, ids[1:], ops.LogicalOp.INTERSECT, ids[0])),
        ("logical clear", lambda: ops.logical(seg, ids, ops.LogicalOp.CLEAR)),
        ("threshold keep 60..140", lambda: ops.threshold(seg, ids, grey, 60, 140, ops.ThresholdMode.KEEP)),
    ]
    if getattr(args, "quick", False):
        tools = tools[::3]
    for name, fn in tools:
        rows.append(_time_tool(seg, name, fn, n))
    rows.append(_joint_row(seg, ids))
    rows.append(_fill_row(seg, n))
    return rows


def _joint_row(seg, ids) -> Row:
    before = [a.copy() for a in seg.layers]
    chk = _joint_check(seg, ids, 1.0)
    seg.undo()
    restored = all(np.array_equal(a, b) for a, b in zip(before, seg.layers))
    per = chk["seconds"] * 1e3 / len(ids)
    ok = per <= TARGET_MS_PER_SEGMENT and chk["gaps"] == 0 and chk["overlaps"] == 0 and restored
    return Row("tools", f"joint smoothing 1 mm: all {len(ids)} segments, per segment (gaps/overlaps checked)",
               round(per, 2), "ms", f"<= {TARGET_MS_PER_SEGMENT:g} ms, 0 gaps, 0 overlaps", PEER, ok,
               {"total_s": round(chk["seconds"], 2), "gaps": chk["gaps"], "overlaps": chk["overlaps"],
                "unlabelled_where_union_kept": chk["unlabelled_where_union_kept"],
                "outer_boundary_voxels_removed": chk["boundary_removed"], "layers_after": chk["layers"],
                "voxels_written": chk["result"].written, "undo_restored_exactly": restored})


def _fill_row(seg, n) -> Row:
    from app.model import ops

    sparse = _sparse_copy(seg, 5)
    return _time_tool(sparse, "fill between slices (every 5th k slice drawn)",
                      lambda: ops.fill_between_slices(sparse, sparse.segment_ids, 2), n)
