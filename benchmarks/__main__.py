"""One command for every benchmark: `python -m benchmarks [--only AREA ...] [--json PATH]`.

Each `benchmarks/bench_<area>.py` defines `run(args) -> list[Row]`. Prints one table, writes JSON
(default benchmarks/results/latest.json)."""
from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument("--only", nargs="*", help="areas to run (file names bench_<area>.py); default all")
    p.add_argument("--json", default=str(HERE / "results" / "latest.json"), help="where to write the JSON")
    p.add_argument("--quick", action="store_true", help="fewer repeats (for a smoke run)")
    args = p.parse_args(argv)
    areas = sorted(f.stem[6:] for f in HERE.glob("bench_*.py"))
    if args.only:
        areas = [a for a in areas if a in args.only]
    rows = []
    for area in areas:
        mod = importlib.import_module(f"benchmarks.bench_{area}")
        t0 = time.perf_counter()
        try:
            got = mod.run(args)
        except Exception as exc:  # one area failing must not hide the others' figures
            print(f"[{area}] failed: {exc!r}", file=sys.stderr)
            continue
        rows.extend(got)
        print(f"[{area}] {len(got)} rows in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    _print_table(rows)
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"when": time.strftime("%Y-%m-%d %H:%M:%S"), "python": platform.python_version(),
            "machine": platform.machine(), "cpus": __import__("os").cpu_count()}
    out.write_text(json.dumps({"meta": meta, "rows": [r.as_dict() for r in rows]}, indent=1))
    print(f"\nJSON written to {out}")
    return 0


def _print_table(rows) -> None:
    head = ("area", "measure", "value", "target", "ok", "peer")
    cells = [(r.area, r.name, f"{r.value:g} {r.unit}", r.target, {True: "yes", False: "NO", None: ""}[r.ok], r.peer)
             for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(head)]
    line = "  ".join(h.ljust(w) for h, w in zip(head, widths))
    print(line)
    print("-" * len(line))
    for c in cells:
        print("  ".join(x.ljust(w) for x, w in zip(c, widths)))


if __name__ == "__main__":
    sys.exit(main())
