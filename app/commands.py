"""`segedit info | convert | import-masks | export-masks`: the Qt-free sub-commands.

User errors print one line on stderr and exit with code 2 (no traceback, no partial output file); warnings about
tolerated oddities in a file print one line each. A progress bar goes to stderr only when it is a terminal."""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

USER_ERROR = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):           # one line, exit code 2 (argparse prints the whole usage otherwise)
        print(f"segedit: error: {message} (see `{self.prog} --help`)", file=sys.stderr)
        sys.exit(USER_ERROR)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="segedit", description="Segmentation files from 3D Slicer and ITK-SNAP: "
                                "inspect, convert, import masks. Without a sub-command, segedit starts the editor.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    info = sub.add_parser("info", help="geometry and per-segment facts of a segmentation or labelmap "
                                       "(a DICOM folder: its series)")
    info.add_argument("file", type=Path, help=".seg.nrrd, .seg.nhdr, .nrrd, .nhdr, .nii, .nii.gz, a DICOM SEG, "
                                              "or a DICOM folder (lists its series)")
    _labels(info, "label table (.label/.txt/.ctbl/.csv)")
    _dicom_reference(info)
    info.add_argument("--json", action="store_true", help="print JSON instead of text")
    conv = sub.add_parser("convert", help="convert between .seg.nrrd and labelmaps (+ label tables)")
    conv.add_argument("input", type=Path, metavar="IN")
    conv.add_argument("output", type=Path, metavar="OUT",
                      help=".seg.nrrd/.seg.nhdr (segmentation), .nrrd/.nhdr/.nii/.nii.gz (labelmap + tables) "
                           "or .dcm (DICOM SEG; needs --reference)")
    _labels(conv, "label table for a labelmap input")
    _dicom_reference(conv)
    how = conv.add_mutually_exclusive_group()
    how.add_argument("--collapse", action="store_true",
                     help="first merge layers where no voxel would change (Slicer's collapse)")
    how.add_argument("--single-layer", action="store_true",
                     help="first force all segments into one layer; where they overlap, later segments win")
    conv.add_argument("--renumber-large-labels", action="store_true",
                      help="give segments whose label value is above 2147483647 (which 3D Slicer cannot read) the "
                           "smallest free value of their layer")
    _level(conv)
    imp = sub.add_parser("import-masks", help="binary mask files (or folders) -> one segment each")
    imp.add_argument("output", type=Path, metavar="OUT", help=".seg.nrrd (or a labelmap name)")
    imp.add_argument("masks", type=Path, nargs="+", metavar="MASK_OR_FOLDER")
    _level(imp)
    exp = sub.add_parser("export-masks", help="one binary mask file per segment (TotalSegmentator's layout)")
    exp.add_argument("input", type=Path, metavar="IN")
    exp.add_argument("folder", type=Path, metavar="FOLDER", help="written into (made when missing)")
    _labels(exp, "label table for a labelmap input")
    exp.add_argument("--format", choices=("nii.gz", "nii", "nrrd"), default="nii.gz",
                     help="file type of the masks (default nii.gz)")
    _level(exp)
    return p


def _labels(p: argparse.ArgumentParser, text: str) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument("--labels", type=Path, metavar="TABLE", help=text)
    group.add_argument("--no-labels", dest="labels", action="store_false", default=None,
                       help="use no label table, not even one found beside the image (segments named by value)")


def _dicom_reference(p: argparse.ArgumentParser) -> None:
    p.add_argument("--reference", type=Path, metavar="DICOM",
                   help="the DICOM image series (folder or one of its files) a DICOM SEG is placed on or references")
    p.add_argument("--series", metavar="UID", help="which series of the --reference folder (default: the largest)")


def _level(p: argparse.ArgumentParser) -> None:
    p.add_argument("--compression-level", type=int, default=1, metavar="N",
                   help="0 = none, 1-3 = fast gzip (ISA-L, default 1), 4-9 = smaller and slower (zlib)")


class ProgressBar:
    """A one-line bar on stderr, drawn only when stderr is a terminal."""

    def __init__(self, label: str, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.label = label
        self.enabled = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last = -1

    def __call__(self, fraction) -> None:
        if not self.enabled or fraction is None:
            return
        pct = int(max(0.0, min(1.0, float(fraction))) * 100)
        if pct == self._last:
            return
        self._last = pct
        filled = pct * 30 // 100
        self.stream.write(f"\r{self.label:<10} [{'#' * filled}{' ' * (30 - filled)}] {pct:3d}%")
        self.stream.flush()

    def done(self) -> None:
        if self.enabled and self._last >= 0:
            self.stream.write("\n")
            self.stream.flush()
        self._last = -1


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return guarded(lambda: {"info": cmd_info, "convert": cmd_convert, "import-masks": cmd_import,
                            "export-masks": cmd_export_masks}[args.command](args))


def guarded(run, user_errors: tuple = ()) -> int:
    """Run a sub-command: the user's errors (bad files, and `user_errors`) become one line on stderr and exit code 2,
    warnings about their files one line each, never a traceback. Every sub-command module runs through here."""
    from app.io import FileFormatError
    from app.model.segmentation import SegmentationError

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            code = run()
        except (FileFormatError, SegmentationError, *user_errors) as exc:
            _flush_warnings(caught)
            print(f"segedit: error: {exc}", file=sys.stderr)
            return USER_ERROR
        except BrokenPipeError:            # `segedit info ... | head`
            sys.stdout = open(__import__("os").devnull, "w")
            return 0
        except OSError as exc:
            _flush_warnings(caught)
            print(f"segedit: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
            return USER_ERROR
        except KeyboardInterrupt:
            print("segedit: interrupted", file=sys.stderr)
            return 130
    _flush_warnings(caught)
    return code


def _flush_warnings(caught) -> None:
    """Warnings about the user's files, one line each (library chatter such as ResourceWarning is not shown)."""
    for w in caught:
        if issubclass(w.category, UserWarning):
            print(f"segedit: warning: {w.message}", file=sys.stderr)
    caught.clear()


def _open(path: Path, labels, label: str = "reading", reference=None):
    from app import io

    bar = ProgressBar(label)
    try:
        return io.open_segmentation(path, labels=labels, progress=bar, reference=reference)
    finally:
        bar.done()


def _reference(args):
    """The --reference DICOM series' lattice and headers (pixels are not needed to place or write a SEG)."""
    if getattr(args, "reference", None) is None:
        if getattr(args, "series", None):
            raise _usage("--series needs --reference")
        return None
    from app.io.dicom_series import read_series_lattice

    bar = ProgressBar("scanning")
    try:
        return read_series_lattice(args.reference, args.series, bar)
    finally:
        bar.done()


def _usage(message: str):
    from app.io import FileFormatError

    return FileFormatError(message)


def cmd_info(args) -> int:
    from app import io

    if args.file.is_dir() and not io.is_mask_folder(args.file):
        return _list_series(args)
    seg = _open(args.file, args.labels, reference=_reference(args))
    facts = describe(seg)
    if args.json:
        import json

        print(json.dumps(facts, indent=1))
    else:
        print(format_facts(args.file, facts))
    return 0


def describe(seg) -> dict:
    """The JSON facts of `segedit info --json`."""
    from app.io.seg_nrrd_writer import common_dtype, layer_order
    from app.model.review import facts as review_facts

    g = seg.geometry
    order = layer_order(seg)
    dtype = common_dtype(seg, order) if order else (seg.layers[0].dtype if seg.layers else None)
    return {
        "shape": list(g.shape),
        "spacing": list(g.spacing),
        "origin": list(g.origin),
        "directions": [list(g.direction_matrix[:, a]) for a in range(3)],
        "layers": len(order),
        "scalar_type": str(dtype) if dtype is not None else "uint8",
        "segments": [{"id": s.id, "name": s.name, "color": [round(c, 6) for c in s.color],
                      "layer": order.index(s.layer), "label_value": s.label, "voxels": seg.voxel_count(s.id),
                      "volume_mm3": round(seg.volume_mm3(s.id), 6), **review_facts(s)} for s in seg.segments],
    }


def format_facts(path: Path, f: dict) -> str:
    vec = lambda v: "(" + ", ".join(f"{x:g}" for x in v) + ")"  # noqa: E731
    lines = [f"{path}",
             f"  lattice    {' x '.join(map(str, f['shape']))} voxels, spacing {vec(f['spacing'])} mm",
             f"  origin     {vec(f['origin'])} mm (LPS, centre of voxel 0,0,0)",
             f"  axes       i {vec(f['directions'][0])}  j {vec(f['directions'][1])}  k {vec(f['directions'][2])}",
             f"  layers     {f['layers']} ({f['scalar_type']})",
             f"  segments   {len(f['segments'])}"]
    if f["segments"]:
        width = max(len(s["name"]) for s in f["segments"])
        lines.append(f"  {'layer':>5} {'label':>6}  {'name':<{width}}  {'voxels':>10} {'volume mm3':>12}  colour   "
                     f"{'status':<10}  group")
        for s in f["segments"]:
            rgb = "#" + "".join(f"{round(c * 255):02x}" for c in s["color"])
            lines.append(f"  {s['layer']:>5} {s['label_value']:>6}  {s['name']:<{width}}  {s['voxels']:>10} "
                         f"{s['volume_mm3']:>12.1f}  {rgb}  {s.get('status', ''):<10}  {s.get('group', '')}".rstrip())
    return "\n".join(lines)


def _list_series(args) -> int:
    from app import io

    bar = ProgressBar("scanning")
    try:
        series = io.list_dicom_series(args.file, progress=bar)
    finally:
        bar.done()
    if not series:
        raise _usage(f"{args.file} holds no DICOM files")
    if args.json:
        import json

        print(json.dumps([{"series_uid": s.uid, "modality": s.modality, "number": s.number,
                           "description": s.description, "images": s.frames, "files": len(s.files),
                           "rows": s.rows, "columns": s.columns, "segmentation": s.is_segmentation}
                          for s in series], indent=1))
    else:
        print(f"{args.file}: {len(series)} DICOM series")
        for s in series:
            print(f"  {s.uid}  {s.label()}")
    return 0


def cmd_convert(args) -> int:
    reference = _reference(args)
    if args.output.name.lower().endswith(".dcm") and reference is None:
        raise _usage(f"writing the DICOM SEG {args.output.name} needs --reference DICOM_FOLDER (the images it "
                     f"was drawn on)")
    seg = _open(args.input, args.labels, reference=reference)
    if args.collapse:
        seg.collapse()
    elif args.single_layer:
        seg.force_single_layer()
    if args.renumber_large_labels:
        from app.io.seg_nrrd_writer import renumber_large_labels

        for name, label in renumber_large_labels(seg):
            print(f"segedit: renumbered {name!r} to label {label}", file=sys.stderr)
    _save(seg, args.output, args.compression_level, reference)
    return 0


def cmd_import(args) -> int:
    from app import io

    bar = ProgressBar("importing")
    try:
        seg = io.import_masks(args.masks, progress=bar)
    finally:
        bar.done()
    _save(seg, args.output, args.compression_level)
    return 0


def cmd_export_masks(args) -> int:
    from app import io

    seg = _open(args.input, args.labels)
    bar = ProgressBar("writing")
    try:
        written = io.export_masks(seg, args.folder, suffix="." + args.format, compression_level=args.compression_level,
                                  progress=bar)
    finally:
        bar.done()
    print(f"wrote {len(written)} masks into {args.folder}", file=sys.stderr)
    return 0


def _save(seg, out: Path, level: int, reference=None) -> None:
    from app import io

    bar = ProgressBar("writing")
    try:
        if out.name.lower().endswith(".dcm"):
            io.write_dicom_seg(seg, reference, out, progress=bar)
            written = [out]
        elif out.name.lower().endswith((".seg.nrrd", ".seg.nhdr")):
            io.save_segmentation(seg, out, level, progress=bar)
            written = [out]
        else:
            written = io.export_labelmap(seg, out, progress=bar, compression_level=level)
    finally:
        bar.done()
    for p in written:
        print(f"wrote {p}", file=sys.stderr)
