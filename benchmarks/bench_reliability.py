"""Reliability costs on the SPL atlas (304 labels, 256³ int16): what autosave costs the GUI thread (the snapshot:
copy the layers and the table) and the worker (writing the recovery copy), and how long restoring takes.

Targets (issue 7): the snapshot must not be felt by the brush: <= 30 ms on the GUI thread (one frame at 30 fps);
the background write <= 0.5 s; restoring <= 0.5 s. Peers: 3D Slicer has no autosave of segmentations (its
"Application settings > General" crash recovery is not in 5.x); ITK-SNAP has none either."""
from __future__ import annotations

import tempfile
from pathlib import Path

from .common import SPL_ATLAS, SPL_TABLE, Row, row_ms, timeit

PEER = "3D Slicer 5 / ITK-SNAP 4: no autosave"


def run(args) -> list[Row]:
    if not SPL_ATLAS.exists():
        return [Row("reliability", "SPL atlas absent: reliability benchmarks skipped", 0, "", "", "", None)]
    from app import io
    from app.io import recovery_copies as store

    repeats = 3 if getattr(args, "quick", False) else 7
    seg = io.open_segmentation(SPL_ATLAS, labels=SPL_TABLE)
    rows = [row_ms("reliability", "autosave snapshot on the GUI thread (copy layers + table)",
                   timeit(lambda: store.snapshot(seg), repeats), 30, PEER,
                   layer_mb=round(sum(a.nbytes for a in seg.layers) / 2**20, 1))]
    snap = store.snapshot(seg)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rows.append(row_ms("reliability", "recovery copy written by the worker (data + manifest)",
                           timeit(lambda: store.write_copy(folder, "bench", snap, name="atlas"), repeats), 500, PEER))
        copy = store.copies(folder)[0]
        rows.append(row_ms("reliability", "restore a recovery copy (read it back)",
                           timeit(lambda: store.read_copy(copy), repeats), 500, PEER))
        rows.append(Row("reliability", "recovery copy size", round(copy.data_path.stat().st_size / 2**20, 2), "MB"))
    return rows
