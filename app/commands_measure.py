"""`segedit stats` and `segedit compare`: the Qt-free measuring sub-commands (issue 15).

Same conventions as `app.commands`: one line on stderr and exit code 2 for bad input, no partial output file
(CSV is written atomically), a progress bar on stderr only when it is a terminal, never a display."""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from app.commands import ProgressBar, _open, _Parser, guarded

COMMANDS = ("stats", "compare")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="segedit", description="Measure segments, or compare two segmentations.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    st = sub.add_parser("stats", help="per-segment volume, box, centroid, grey statistics, surface area")
    st.add_argument("seg", type=Path, metavar="SEG", help=".seg.nrrd or labelmap (.nrrd/.nhdr/.nii/.nii.gz)")
    st.add_argument("--reference", type=Path, metavar="IMG",
                    help="grey volume: min/max/mean/std/median/percentiles inside each segment (any lattice: "
                         "sampled onto the segmentation's by nearest voxel)")
    st.add_argument("--labels", type=Path, metavar="TABLE", help="label table for a labelmap")
    st.add_argument("--percentiles", default="5,25,75,95", metavar="P,P,...",
                    help="grey percentiles to report (default 5,25,75,95)")
    st.add_argument("--surface", action="store_true", help="also the surface area (mm², smoothed SurfaceNets mesh)")
    _outputs(st)
    cmp_ = sub.add_parser("compare", help="Dice, Jaccard, volumes and surface distances of matched segments")
    cmp_.add_argument("a", type=Path, metavar="A", help="first segmentation (its lattice is used)")
    cmp_.add_argument("b", type=Path, metavar="B", help="second segmentation (resampled onto A's lattice)")
    cmp_.add_argument("--labels", type=Path, nargs="+", metavar="TABLE",
                      help="label table(s) for labelmaps: one for both, or one for A and one for B")
    how = cmp_.add_mutually_exclusive_group()
    how.add_argument("--by", choices=("label", "name"), default="label", help="match segments by (default label)")
    how.add_argument("--map", type=Path, metavar="CSV", help="explicit pairs: rows `A,B` (names or label values)")
    cmp_.add_argument("--no-distances", action="store_true", help="overlap only: skip the surface distances")
    _outputs(cmp_)
    return p


def _outputs(p) -> None:
    out = p.add_mutually_exclusive_group()
    out.add_argument("--csv", type=Path, metavar="OUT", help="write a CSV file (`-` for standard output)")
    out.add_argument("--json", action="store_true", help="print JSON instead of a text table")


def main(argv) -> int:
    args = build_parser().parse_args(argv)
    from app.model.compare import CompareError

    return guarded(lambda: {"stats": cmd_stats, "compare": cmd_compare}[args.command](args), (CompareError,))


def _percentiles(text: str) -> tuple[float, ...]:
    from app.model.compare import CompareError

    try:
        values = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        values = ()
    if not values or any(not 0 <= v <= 100 for v in values):
        raise CompareError(f"--percentiles needs numbers between 0 and 100 separated by commas, not {text!r}")
    return values


# ------------------------------------------------------------------------------------------------ stats
def cmd_stats(args) -> int:
    from app import io
    from app.model.resample import nearest_on_lattice
    from app.model.stats import as_row, columns, segmentation_statistics

    pcts = _percentiles(args.percentiles)
    if args.csv is not None and str(args.csv) != "-" and not args.csv.parent.is_dir():
        raise OSError(2, "the output folder does not exist", str(args.csv.parent))
    seg = _open(args.seg, args.labels, "reading")
    grey = None
    if args.reference is not None:
        bar = ProgressBar("reference")
        try:
            ref = io.read_volume(args.reference, progress=bar)
        finally:
            bar.done()
        grey = nearest_on_lattice(ref.array, ref.geometry, seg.geometry)
    bar = ProgressBar("measuring")
    try:
        found = segmentation_statistics(seg, grey, pcts, progress=bar)
        if args.surface:
            from app.render.surface_area import surface_areas

            areas = surface_areas(seg, progress=bar)
            for s in found:
                s.surface_mm2 = areas.get(s.segment_id)
    finally:
        bar.done()
    cols = columns(pcts, grey is not None, args.surface)
    rows = [as_row(s, pcts, grey is not None, args.surface) for s in found]
    _emit(args, cols, rows, _stats_text(rows, grey is not None, args.surface))
    return 0


def _stats_text(rows, grey: bool, surface: bool) -> str:
    if not rows:
        return "no segments"
    width = max(4, *(len(r["name"]) for r in rows))
    head = f"{'name':<{width}} {'label':>6} {'voxels':>10} {'volume mL':>10}  {'centroid LPS mm':<24}"
    if grey:
        head += f" {'mean':>9} {'std':>8} {'median':>9} {'min':>8} {'max':>8}"
    if surface:
        head += f" {'area mm2':>10}"
    lines = [head]
    for r in rows:
        cen = "" if r["centroid_l_mm"] is None else \
            f"({r['centroid_l_mm']:.1f}, {r['centroid_p_mm']:.1f}, {r['centroid_s_mm']:.1f})"
        line = f"{r['name']:<{width}} {r['label_value']:>6} {r['voxels']:>10} {r['volume_ml']:>10.3f}  {cen:<24}"
        if grey:
            line += "".join(f" {_num(r[k]):>{w}}" for k, w in (("grey_mean", 9), ("grey_std", 8),
                                                              ("grey_median", 9), ("grey_min", 8), ("grey_max", 8)))
        if surface:
            line += f" {_num(r['surface_mm2']):>10}"
        lines.append(line)
    return "\n".join(lines)


def _num(v) -> str:
    return "-" if v is None else f"{v:.1f}"


# ------------------------------------------------------------------------------------------------ compare
def cmd_compare(args) -> int:
    from app.model.compare import COLUMNS, as_row, compare, parse_mapping, worst_first

    tables = args.labels or []
    if len(tables) > 2:
        from app.model.compare import CompareError

        raise CompareError("--labels takes one table (for both) or two (for A, then B)")
    if args.csv is not None and str(args.csv) != "-" and not args.csv.parent.is_dir():
        raise OSError(2, "the output folder does not exist", str(args.csv.parent))
    mapping = None
    if args.map is not None:
        try:
            mapping = parse_mapping(args.map.read_text(encoding="utf-8-sig"))
        except UnicodeDecodeError:
            from app.model.compare import CompareError

            raise CompareError(f"{args.map} is not a text (CSV) file") from None
        except Exception as exc:       # CompareError from parse_mapping: name the file
            if type(exc).__name__ == "CompareError":
                raise type(exc)(f"{args.map}: {exc}") from None
            raise
    a = _open(args.a, tables[0] if tables else None, "reading A")
    b = _open(args.b, tables[-1] if tables else None, "reading B")
    bar = ProgressBar("comparing")
    try:
        results = compare(a, b, by=args.by, mapping=mapping, distances=not args.no_distances, progress=bar)
    finally:
        bar.done()
    rows = [as_row(r) for r in worst_first(results)]
    _emit(args, COLUMNS, rows, _compare_text(rows))
    return 0


def _compare_text(rows) -> str:
    if not rows:
        return "no segments"
    names = [r["name_a"] if r["name_a"] == r["name_b"] or r["name_b"] is None else
             f"{r['name_a'] or '-'} / {r['name_b']}" for r in rows]
    width = max(len("segment (A / B)"), *(len(n) for n in names))
    lines = [f"{'segment (A / B)':<{width}} {'dice':>6} {'jaccard':>7} {'vol A mL':>9} {'vol B mL':>9} "
             f"{'only A':>8} {'only B':>8} {'mean mm':>8} {'HD mm':>7} {'HD95 mm':>8}"]
    for n, r in zip(names, rows):
        lines.append(f"{n:<{width}} {r['dice']:>6.3f} {r['jaccard']:>7.3f} {r['volume_a_mm3'] / 1000:>9.3f} "
                     f"{r['volume_b_mm3'] / 1000:>9.3f} {r['only_a']:>8} {r['only_b']:>8} "
                     f"{_num2(r['mean_surface_mm']):>8} {_num2(r['hausdorff_mm']):>7} {_num2(r['hd95_mm']):>8}")
    return "\n".join(lines)


def _num2(v) -> str:
    return "-" if v is None else f"{v:.2f}"


# ------------------------------------------------------------------------------------------------ output
def _clean(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _emit(args, cols, rows, text: str) -> None:
    if args.json:
        print(json.dumps([{c: _clean(r[c]) for c in cols} for r in rows], indent=1))
    elif args.csv is not None:
        from app.model.stats import csv_text

        data = csv_text(cols, rows)
        if str(args.csv) == "-":
            sys.stdout.write(data)
        else:
            from app.io.atomic import atomic_write

            with atomic_write(args.csv, "w") as fh:
                fh.write(data)
            print(f"wrote {args.csv}", file=sys.stderr)
    else:
        print(text)
