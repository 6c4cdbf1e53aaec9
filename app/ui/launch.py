"""GUI entry point: `segedit [FILE ...] [--labels TABLE] [--reference VOLUME] [--demo] [--screenshot OUT.png]
[--slice AXIS=N ...] [--layout LAYOUT] [--size WxH] [--no-extensions]`."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

LAYOUTS = {"1+2": "ONE_PLUS_TWO", "row": "ROW", "axial": "AXIAL", "coronal": "CORONAL", "sagittal": "SAGITTAL",
           "four-up": "FOUR_UP", "3d": "THREE_D"}
PLANES = ("axial", "coronal", "sagittal")


class _Parser(argparse.ArgumentParser):
    def error(self, message):          # one sentence, exit code 2 (argparse's own behaviour, minus the usage dump)
        print(f"segedit: {message}", file=sys.stderr)
        sys.exit(2)


def parse_args(argv):
    p = _Parser(prog="segedit", description="Open the segmentation editor.")
    p.add_argument("files", nargs="*", help="segmentations (.seg.nrrd), labelmaps, reference volumes, label tables")
    labels = p.add_mutually_exclusive_group()
    labels.add_argument("--labels", help="label table for a labelmap (ITK-SNAP .label/.txt, Slicer .ctbl/.csv)")
    labels.add_argument("--no-labels", dest="labels", action="store_false", default=None,
                        help="use no label table, not even one found beside the image")
    p.add_argument("--reference", help="grey-value reference volume shown under the segmentation")
    p.add_argument("--demo", action="store_true", help="open the synthetic demo atlas")
    p.add_argument("--screenshot", metavar="OUT.png", help="lay out the window, render, write a PNG and exit")
    p.add_argument("--slice", action="append", default=[], metavar="AXIS=N",
                   help="show slice N (or N%% of the way) in a view: axial=120, coronal=50%%, sagittal=...")
    p.add_argument("--layout", choices=sorted(LAYOUTS), help="view layout")
    p.add_argument("--size", default="1280x900", help="window size for --screenshot (WxH)")
    p.add_argument("--no-extensions", action="store_true",
                   help="start without the editing, 3D, tools and recovery extensions (troubleshooting)")
    return p.parse_args(argv)


def parse_slice(text: str) -> tuple[str, float, bool]:
    """'axial=120' -> ('axial', 120, False); 'coronal=50%' -> ('coronal', 50, True)."""
    name, sep, value = text.partition("=")
    name = name.strip().lower()
    if not sep or name not in PLANES:
        raise ValueError(f"--slice expects AXIS=N with AXIS one of {', '.join(PLANES)}, got {text!r}")
    pct = value.strip().endswith("%")
    try:
        number = float(value.strip().rstrip("%"))
    except ValueError:
        raise ValueError(f"--slice {text!r}: {value!r} is not a number") from None
    return name, number, pct


def _display_ready(screenshot: bool) -> bool:
    """Qt aborts the process when it finds no display; say so in one sentence instead. A --screenshot run
    needs no display at all: it renders offscreen."""
    if os.environ.get("QT_QPA_PLATFORM") or not sys.platform.startswith("linux"):
        return True
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return True
    if screenshot:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        return True
    return False


def main(argv=None) -> int:
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        slices = [parse_slice(s) for s in args.slice]
        width, height = (int(x) for x in args.size.lower().split("x"))
    except ValueError as exc:
        print(f"segedit: {exc}", file=sys.stderr)
        return 2
    for f in [*args.files, args.labels, args.reference]:
        if f is not None and not Path(f).exists():
            print(f"segedit: {f}: no such file.", file=sys.stderr)
            return 2
    if not _display_ready(bool(args.screenshot)):
        print("segedit: there is no display to open a window on (DISPLAY is not set): run it on a desktop, "
              "under `xvfb-run -a segedit ...`, or make a picture with --screenshot OUT.png.", file=sys.stderr)
        return 2
    reads = _start_reads(args)
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("segedit")
    app.setOrganizationName("segedit")
    app.setDesktopFileName("segedit")                 # ties the window to the installed segedit.desktop entry
    from PySide6.QtGui import QIcon

    from app.resources import ICON, resource_path

    app.setWindowIcon(QIcon(str(resource_path(ICON))))
    from .main_window import MainWindow
    from .view_layout import Layout

    import tempfile

    # a screenshot run must not depend on (or change) the user's saved layout: throw-away settings
    scratch = tempfile.TemporaryDirectory(prefix="segedit-") if args.screenshot else None
    settings = QSettings(str(Path(scratch.name) / "settings.ini"), QSettings.IniFormat) if scratch else None
    if scratch:     # ... and no restore prompt for (nor autosave into) the user's recovery copies
        from .crash_recovery import ENV_FOLDER

        os.environ[ENV_FOLDER] = str(Path(scratch.name) / "recovery")
    win = MainWindow(settings=settings, extensions=not args.no_extensions)
    if args.layout:
        win.set_layout(Layout[LAYOUTS[args.layout]])
    if not _open(win, args, reads):
        print(f"segedit: {getattr(win.files, 'last_error', 'could not open the files.')}", file=sys.stderr)
        return 2
    win.show()
    if args.screenshot:
        win.resize(width, height)
        app.processEvents()
        win.resize(width, height)
    _apply_slices(win, slices)
    if args.screenshot:
        return _screenshot(app, win, Path(args.screenshot))
    return app.exec()


def _start_reads(args):
    """Start decoding the image files (a labelmap, its CT) now, each on its own thread, so that they decode while
    Qt is imported and the window is built (about a second of the first frame of a CT-size pair). Errors wait
    for the window, which reports them as an open from the menu would."""
    if not (args.files or args.reference):
        return None
    from app.io import parallel_reads

    return parallel_reads.start(args.files, args.reference, at_least=1)


def _open(win, args, reads=None) -> bool:
    if args.demo:
        from app.model.demo import demo_atlas
        from app.io import Volume

        seg, grey = demo_atlas()
        win.set_document(seg, Volume(grey, seg.geometry, None), path=None, unsaved=False)
    if args.files or args.reference:
        return win.files.open_paths(args.files, labels=args.labels, reference=args.reference, reads=reads)
    return True


def _apply_slices(win, slices) -> None:
    from app.render.view_orientation import Plane

    for name, number, pct in slices:
        view = win.view(Plane(name))
        if view.frame is None:
            continue
        n = view.frame.n_slices
        view.set_slice(round((n - 1) * number / 100) if pct else int(number))


def _screenshot(app, win, out: Path) -> int:
    import time

    end = time.perf_counter() + 0.5
    while time.perf_counter() < end:          # let the layout settle and every view paint
        app.processEvents()
        time.sleep(0.01)
    view_3d = getattr(win, "view_3d", None)
    if view_3d is not None and view_3d.isVisible():       # the 3D view in the picture: its surfaces built, drawn
        end = time.perf_counter() + 120
        while not view_3d.is_idle() and time.perf_counter() < end:
            app.processEvents()
            time.sleep(0.01)
        view_3d.canvas.request_render() if view_3d.canvas is not None else None
        for _ in range(20):
            app.processEvents()
    screen = win.screen()
    pixmap = screen.grabWindow(win.winId()) if app.platformName() == "xcb" else win.grab()
    if pixmap.isNull() or not pixmap.save(str(out)):
        print(f"segedit: could not write the screenshot {out}.", file=sys.stderr)
        return 2
    win.files.maybe_save = lambda: True     # nothing to ask: the screenshot run edits nothing
    win.close()
    return 0
