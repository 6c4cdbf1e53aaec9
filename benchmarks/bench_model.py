"""Model rows (issue 2): a 50-dab stroke of a radius-10-voxel sphere through the model's edit path.

Two ways to apply a stroke: whole (the union of its dabs rasterised once and applied in one call, as Slicer's
delayed paint does at mouse release: `edits.apply_stroke`), and live (one `apply_mask` per dab, as the brush does
while the button is held so painting is visible as it happens).

Volumes are block atlases (n segments tiling the lattice in one shared layer), so every dab crosses several
segments. Scaling rows show the per-dab cost does not grow with volume size or segment count."""
from __future__ import annotations

import numpy as np

from app.model.brush import ball_voxels, dab_region
from app.model.edits import EditMode, EditPolicy, Overwrite, apply_mask, apply_stroke
from app.model.geometry import Geometry
from app.model.segment import Segment
from app.model.segmentation import Segmentation

from .common import Row, row_ms, timeit

N_DABS = 50
RADIUS = 10
SLICER_2019 = "3D Slicer 2019: 3.73 s -> < 0.1 s per stroke"


def block_atlas(n: int, n_segments: int) -> Segmentation:
    """n^3 lattice tiled by ~n_segments boxes, all in one uint16 layer (label = 1..n_segments)."""
    per_axis = int(np.ceil(n_segments ** (1 / 3)))
    edges = np.linspace(0, n, per_axis + 1).astype(int)
    idx = np.searchsorted(edges, np.arange(n), side="right") - 1
    cell = (idx[:, None, None] * per_axis + idx[None, :, None]) * per_axis + idx[None, None, :]
    labels = np.where(cell < n_segments, cell + 1, 0).astype(np.uint16)    # one compact block per segment
    segs = [Segment(f"s{v}", f"structure {v}", (0.5, 0.5, 0.5), 0, v) for v in range(1, n_segments + 1)]
    return Segmentation.from_layers(Geometry((n, n, n)), [labels], segs)


def centres(n: int) -> np.ndarray:
    start = np.array([n // 2 - 60, n // 2 - 40, n // 2])
    return np.array([start + np.array([2 * d, d, 0]) * 120 // (2 * N_DABS) for d in range(N_DABS)])


def stroke(seg: Segmentation, sid: str, overwrite: Overwrite, live: bool = False) -> None:
    b = ball_voxels(RADIUS)
    pts = centres(seg.geometry.shape[0])
    if not live:
        apply_stroke(seg, sid, pts, b, EditMode.ADD, EditPolicy(overwrite=overwrite), "Paint")
        return
    seg.begin_operation("Paint")
    for centre in pts:
        m, box = dab_region(centre, b, seg.geometry.shape)
        apply_mask(seg, sid, m, box, EditMode.ADD, EditPolicy(overwrite=overwrite))
    seg.end_operation()


def measure(n: int, n_segments: int, overwrite: Overwrite, repeats: int, live: bool = False) -> dict:
    seg = block_atlas(n, n_segments)
    sid = seg.segment_ids[0]
    seg.voxel_count(sid), seg.bounding_box(sid)            # statistics are lazy: take them out of the timing

    def undo():
        while seg.undo():
            pass
    return timeit(lambda: stroke(seg, sid, overwrite, live), repeats=repeats, setup=undo)


def run(args) -> list[Row]:
    reps = 3 if args.quick else 9
    rows = []
    for mode, label in ((Overwrite.ALL, "overwrite all"), (Overwrite.NONE, "allow overlap, forces a separate")):
        for live in (False, True):
            st = measure(256, 300, mode, reps, live)
            how = "live, one apply per dab" if live else "whole stroke"
            rows.append(row_ms("model", f"50-dab stroke r=10 sphere, 256^3, 300 segments, {label}, {how}", st,
                               None if live else 5.0, SLICER_2019, per_dab_us=round(st["median"] / N_DABS * 1e6, 1)))
    for n, k in ((128, 300), (512, 300), (256, 30), (256, 1000)):
        for live in (False, True):
            st = measure(n, k, Overwrite.ALL, reps, live)
            how = "live per dab" if live else "whole stroke"
            rows.append(row_ms("model", f"scaling: {n}^3, {k} segments, 50-dab stroke, {how}", st,
                               None if live else 5.0, "", per_dab_us=round(st["median"] / N_DABS * 1e6, 1)))
    return rows
