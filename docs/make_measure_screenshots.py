"""Make the README's Statistics and Compare screenshots (run under Xvfb, see README "Statistics and comparison").

    xvfb-run -a -s "-screen 0 1600x1000x24" env QT_QPA_PLATFORM=xcb PYTHONPATH=. python docs/make_measure_screenshots.py

The demo atlas over its grey volume; B for the comparison is a copy in which every 4th segment is shifted by
2 voxels and every 7th is eroded by one voxel (a stand-in for a second rater or an AI model)."""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication

OUT = Path(__file__).resolve().parent / "screenshots"


def settle(app, seconds=0.6):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.01)


def grab(app, win, name):
    settle(app)
    pix = win.screen().grabWindow(win.winId()) if app.platformName() == "xcb" else win.grab()
    pix.save(str(OUT / name))
    print("wrote", OUT / name)


def other_rater(seg):
    from scipy import ndimage

    from app.model.segmentation import Segmentation

    arr = seg.layers[0].copy()
    for n, s in enumerate(seg.segments):
        m = arr == s.label
        if n % 4 == 0:
            arr[m] = 0
            arr[np.roll(m, 2, axis=0) & (arr == 0)] = s.label
        elif n % 7 == 0:
            arr[m & ~ndimage.binary_erosion(m)] = 0
    return Segmentation.from_layers(seg.geometry, [arr], [s.copy() for s in seg.segments])


def main() -> int:
    from app.io import Volume
    from app.model.demo import demo_atlas
    from app.ui import measure
    from app.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv)
    scratch = tempfile.TemporaryDirectory()
    win = MainWindow(settings=QSettings(str(Path(scratch.name) / "s.ini"), QSettings.IniFormat), extensions=False)
    stats, compare = measure.install(win)
    seg, grey = demo_atlas()
    win.set_document(seg, Volume(grey, seg.geometry, None))
    win.resize(1500, 950)
    win.show()
    win.stats_panel.show_action.trigger()
    win.resizeDocks([stats.dock], [330], Qt.Vertical)
    settle(app)
    stats.view.sortByColumn(stats.model.cols.index("volume_ml"), Qt.DescendingOrder)
    stats.view.selectRow(6)
    stats.jump_to_segment(stats.row_segment(6))
    grab(app, win, "stats-dock.png")
    win.compare_panel.show_action.trigger()
    compare.set_other(other_rater(seg))
    compare.show_box.setCurrentText("Difference")
    rows = compare.model.rows
    row = next(n for n, r in enumerate(rows) if 0 < r["dice"] < 0.85 and r["name"].startswith(("Left", "Right")))
    compare.view.selectRow(compare.proxy.mapFromSource(compare.model.index(row, 0)).row())
    compare.jump_to_pair(row)
    grab(app, win, "compare-difference.png")
    compare.show_box.setCurrentText("Outlines of B")
    grab(app, win, "compare-outlines.png")
    win.files.maybe_save = lambda: True
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
