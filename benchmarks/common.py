"""Shared pieces of the benchmark suite: rows, timing, the SPL atlas location."""
from __future__ import annotations

import gc
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SPL_ATLAS = SHARED / "data" / "spl-brain-atlas" / "hncma-atlas_2014-11_304labels.nrrd"
SPL_TABLE = SHARED / "data" / "spl-brain-atlas" / "hncma-atlas-lut_2014-11.ctbl"


@dataclass
class Row:
    area: str              # model / io / view / edit / 3d / tools
    name: str              # what was measured, in words
    value: float           # the median
    unit: str              # "ms", "s", "MB", "/s", ...
    target: str = ""       # e.g. "<= 5 ms"
    peer: str = ""         # e.g. "napari 0.9.2: 17.9 ms" or "slicerio: 0.21 s"
    ok: bool | None = None  # target met?
    extra: dict = field(default_factory=dict)   # min/max/n and anything else worth keeping

    def as_dict(self) -> dict:
        return asdict(self)


def timeit(fn, repeats: int = 5, setup=None) -> dict:
    """Run fn() `repeats` times (setup() before each, untimed); seconds as min/median/max."""
    times = []
    for _ in range(repeats):
        if setup is not None:
            setup()
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return {"min": min(times), "median": statistics.median(times), "max": max(times), "n": len(times)}


def row_ms(area, name, stats, target_ms=None, peer="", **extra) -> Row:
    med = stats["median"] * 1e3
    return Row(area, name, round(med, 3), "ms", f"<= {target_ms:g} ms" if target_ms is not None else "", peer,
               None if target_ms is None else med <= target_ms,
               {"min_ms": round(stats["min"] * 1e3, 3), "max_ms": round(stats["max"] * 1e3, 3), "n": stats["n"],
                **extra})


def stroke_across(seg, radius_mm: float):
    """The 3D benchmarks' stroke: the real PaintTool, 50 dabs across the middle segment of the list and its
    neighbours on the axial slice through its centre. Returns (tool, ctx, points); `paint(tool, ctx, points)`."""
    from app.model.segment_editor_state import EditorState
    from app.ui.view_tools.base import ViewContext
    from app.ui.view_tools.paint import PaintTool

    sid = seg.segment_ids[len(seg.segment_ids) // 2]
    box = seg.bounding_box(sid)                   # also warms the model's per-label boxes (first time ~0.5 s)
    centre = [(b.start + b.stop) / 2 for b in box]
    state = EditorState()
    state.active_segment = sid
    state.brush_radius_mm = radius_mm
    tool = PaintTool(state, lambda: seg)
    ctx = ViewContext(2, int(centre[2]))
    pts = [(centre[0] - 25 + t, centre[1] - 12 + t / 2, centre[2]) for t in range(50)]
    return tool, ctx, pts


def paint(tool, ctx, pts) -> None:
    tool.press(pts[0], ctx)
    for p in pts[1:]:
        tool.drag(p, ctx)
    tool.release(pts[-1], ctx)


def pump_until(cond, timeout: float = 120.0) -> bool:
    """Run Qt's event loop until `cond()` holds, as the application does: the GUI thread waits in the event loop
    (GIL released) and looks at `cond` every millisecond. (A processEvents + sleep loop keeps taking the GIL and
    slowed the meshing threads' numpy work by up to 2x: each GIL hand-back waits for the switch interval.)"""
    from PySide6.QtCore import QEventLoop, QTimer

    if cond():
        return True
    loop = QEventLoop()
    end = time.perf_counter() + timeout
    result = [False]

    def check():
        if cond():
            result[0] = True
            loop.quit()
        elif time.perf_counter() > end:
            loop.quit()
    poll = QTimer(interval=1, timeout=check)
    poll.start()
    loop.exec()
    poll.stop()
    return result[0]
