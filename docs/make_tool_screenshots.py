"""Screenshots of the Segment editor's tools beyond the brush, made on a real window (run under Xvfb):

    xvfb-run -a -s "-screen 0 1600x1000x24" env QT_QPA_PLATFORM=xcb PYTHONPATH=. .venv/bin/python \
        docs/make_tool_screenshots.py docs/screenshots

(1) the chest CT of ../shared/data/slicerio with its segmentation: Level tracing hovers the edge of a vertebra (the
outline shows what a click adds); (2) the demo atlas: a Draw contour was filled, Scissors (erase inside, all
segments) are being dragged (the freehand shape shows before the release)."""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication


def settle(app, seconds=0.4):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.01)


def main(out_dir: str) -> int:
    from app.io import Volume
    from app.model.demo import demo_atlas
    from app.model.segment_editor_state import ToolKind
    from app.ui.main_window import MainWindow

    from app.io import open_segmentation, read_volume
    from app.model.tool_options import Scope

    app = QApplication.instance() or QApplication(sys.argv[:1])
    scratch = tempfile.TemporaryDirectory(prefix="segedit-shots-")
    win = MainWindow(settings=QSettings(str(Path(scratch.name) / "s.ini"), QSettings.IniFormat), extensions=True)
    shots = Path(out_dir)
    data = Path(__file__).resolve().parents[2] / "shared" / "data" / "slicerio"
    ct = read_volume(str(data / "CTChest4.nrrd"))
    seg = open_segmentation(str(data / "Segmentation.seg.nrrd"))
    win.set_document(seg, ct, path=None, unsaved=False)
    win.show()
    win.resize(1500, 950)
    settle(app)
    ed = win.editing
    view = win.slice_views[0]
    view.set_slice(14)
    vp = view.canvas.viewport()

    def at(r, c):
        k = view.slice_index
        axis = view.plane_axis
        a, b = (x for x in range(3) if x != axis)
        p = [0.0, 0.0, 0.0]
        p[axis], p[a], p[b] = k, r, c
        return view.canvas.mapFromScene(view.view_box.mapViewToScene(view.ijk_to_view(p)))

    sid = seg.add_segment("traced").id
    settle(app, 0.2)
    win.select_segment(sid)
    ed.set_tool(ToolKind.LEVEL_TRACE)
    settle(app, 0.2)
    QTest.mouseMove(vp, at(69, 35))                 # the edge of a thoracic vertebra (i, j) = (69, 35)
    settle(app)
    grab(app, win).save(str(shots / "tools_level_tracing.png"))
    ed.set_tool(ToolKind.NONE)
    win.files.maybe_save = lambda: True
    win.close()

    win = MainWindow(settings=QSettings(str(Path(scratch.name) / "t.ini"), QSettings.IniFormat), extensions=True)
    seg, grey = demo_atlas()
    win.set_document(seg, Volume(grey, seg.geometry, None), path=None, unsaved=False)
    win.show()
    win.resize(1500, 950)
    settle(app)
    ed = win.editing
    view = win.slice_views[0]
    vp = view.canvas.viewport()
    sid = seg.add_segment("drawn").id
    settle(app, 0.2)
    win.select_segment(sid)
    ed.set_tool(ToolKind.DRAW)
    for r, c in [(20, 30), (20, 50), (35, 58), (45, 45), (38, 28)]:
        QTest.mouseClick(vp, Qt.LeftButton, Qt.NoModifier, at(r, c))
    QTest.keyClick(view, Qt.Key_Return)
    settle(app)
    ed.set_tool(ToolKind.SCISSORS)
    ed.options.set("scissors_scope", Scope.ALL)
    settle(app, 0.2)
    QTest.mousePress(vp, Qt.LeftButton, Qt.NoModifier, at(70, 60))
    for r, c in [(72, 80), (85, 95), (100, 90), (105, 70), (95, 55), (80, 52)]:
        QTest.mouseMove(vp, at(r, c))
        settle(app, 0.05)
    settle(app)
    grab(app, win).save(str(shots / "tools_scissors.png"))
    QTest.keyClick(view, Qt.Key_Escape)
    win.files.maybe_save = lambda: True
    win.close()
    return 0


def grab(app, win):
    return win.screen().grabWindow(win.winId()) if app.platformName() == "xcb" else win.grab()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots"))
