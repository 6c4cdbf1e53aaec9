"""I/O benchmarks on the SPL atlas (304 labels, 256³ int16), ours and slicerio side by side in one run.

Targets (issue 3), 3D Slicer 2019 in brackets: open labelmap + table as a segmentation <= 0.5 s [4.55 s]; load the
.seg.nrrd <= 0.15 s [< 0.3 s] and faster than slicerio; save <= 0.3 s [5.86 s] and >= 3x faster than slicerio's
default (gzip level 9); peak memory of `segedit convert` on the atlas <= 250 MB [1344 MB]."""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from .common import ROOT, SPL_ATLAS, SPL_TABLE, Row, row_ms, timeit

SLICER_OPEN = "3D Slicer 2019: 4.55 s"
SLICER_LOAD = "3D Slicer 2019: < 0.3 s"
SLICER_SAVE = "3D Slicer 2019: 5.86 s"
SLICER_MEM = "3D Slicer 2019: 1344 MB"


def _slicerio():
    try:
        import slicerio
    except ImportError:
        return None
    return slicerio


def run(args) -> list[Row]:
    if not SPL_ATLAS.exists():
        return [Row("io", "SPL atlas absent: I/O benchmarks skipped", 0, "", "", "", None)]
    from app import io

    repeats = 3 if getattr(args, "quick", False) else 7
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        seg_path = tmp / "atlas.seg.nrrd"
        stats = timeit(lambda: io.open_segmentation(SPL_ATLAS, labels=SPL_TABLE), repeats)
        rows.append(row_ms("io", "open atlas labelmap + .ctbl as a segmentation (304 segments)", stats, 500,
                           SLICER_OPEN))
        seg = io.open_segmentation(SPL_ATLAS, labels=SPL_TABLE)
        io.save_segmentation(seg, seg_path)
        rows += _load_rows(io, seg_path, repeats)
        rows += _save_rows(io, seg, seg_path, tmp, repeats)
        rows.append(_convert_memory(tmp))
    return rows


def _load_rows(io, seg_path: Path, repeats: int) -> list[Row]:
    ours = timeit(lambda: io.open_segmentation(seg_path), repeats)
    sio = _slicerio()
    theirs = timeit(lambda: sio.read_segmentation(str(seg_path)), repeats) if sio else None
    peer = f"slicerio {_version()}: {theirs['median'] * 1e3:.0f} ms; " \
        if theirs else ""
    row = row_ms("io", "load atlas .seg.nrrd (written by segedit)", ours, 150, peer + SLICER_LOAD)
    if theirs:
        row.ok = bool(row.ok and ours["median"] < theirs["median"])
        row.target = "<= 150 ms and faster than slicerio"
        row.extra["slicerio_ms"] = round(theirs["median"] * 1e3, 3)
    out = [row]
    if theirs:
        out.append(row_ms("io", "  slicerio read_segmentation of the same file", theirs, None, "(peer row)"))
    return out


def _save_rows(io, seg, seg_path: Path, tmp: Path, repeats: int) -> list[Row]:
    target = tmp / "save.seg.nrrd"
    ours = timeit(lambda: io.save_segmentation(seg, target), repeats)
    size = target.stat().st_size
    sio = _slicerio()
    theirs = None
    if sio:
        data = sio.read_segmentation(str(seg_path))
        theirs = timeit(lambda: sio.write_segmentation(str(tmp / "sio.seg.nrrd"), data), max(1, repeats // 2))
    peer = f"slicerio default (gzip 9): {theirs['median'] * 1e3:.0f} ms; " if theirs else ""
    row = row_ms("io", "save atlas .seg.nrrd (default: ISA-L gzip level 1)", ours, 300, peer + SLICER_SAVE,
                 bytes=size)
    if theirs:
        ratio = theirs["median"] / ours["median"]
        row.ok = bool(row.ok and ratio >= 3)
        row.target = "<= 300 ms and >= 3x faster than slicerio"
        row.extra.update(slicerio_ms=round(theirs["median"] * 1e3, 3), speedup=round(ratio, 1),
                         slicerio_bytes=(tmp / "sio.seg.nrrd").stat().st_size)
    out = [row]
    if theirs:
        out.append(row_ms("io", "  slicerio write_segmentation (its default, gzip 9)", theirs, None, "(peer row)"))
    fresh = {}
    cold = timeit(lambda: io.save_segmentation(fresh["seg"], target), max(1, repeats // 2),
                  setup=lambda: fresh.update(seg=io.open_segmentation(seg_path)))
    out.append(row_ms("io", "save right after opening (voxel statistics not yet computed)", cold, 300, ""))
    level6 = timeit(lambda: io.save_segmentation(seg, target, compression_level=6), 1)
    out.append(row_ms("io", "save atlas .seg.nrrd at --compression-level 6 (smaller)", level6, None, "",
                      bytes=target.stat().st_size))
    return out


_MEASURE = """
import json, resource, subprocess, sys
res = subprocess.run(sys.argv[1:], capture_output=True)
print(json.dumps({"rc": res.returncode, "maxrss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
                  "stderr": res.stderr.decode()[-300:]}))
"""


def _convert_memory(tmp: Path) -> Row:
    """Peak RSS of `segedit convert atlas.nrrd --labels table out.seg.nrrd`, measured in a wrapper whose only
    child is that command (RUSAGE_CHILDREN would otherwise include earlier children)."""
    cmd = [sys.executable, "-c", _MEASURE, sys.executable, "-m", "app", "convert", str(SPL_ATLAS),
           str(tmp / "cli.seg.nrrd"), "--labels", str(SPL_TABLE)]
    out = json.loads(subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=True).stdout)
    mb = out["maxrss_kb"] / 1024
    return Row("io", "peak memory of `segedit convert` atlas labelmap -> .seg.nrrd", round(mb, 1), "MB",
               "<= 250 MB", SLICER_MEM, out["rc"] == 0 and mb <= 250, {"exit_code": out["rc"]})


def _version() -> str:
    from importlib.metadata import version

    return version("slicerio")
