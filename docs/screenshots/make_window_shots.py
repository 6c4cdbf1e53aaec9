"""Screenshots of the segment table, the Help > Keyboard and mouse dialog and window/level (issue 12), made in a
real window. Run from the repository root under Xvfb:

    xvfb-run -a -s "-screen 0 1600x1000x24" env QT_QPA_PLATFORM=xcb PYTHONPATH=. \
        python docs/screenshots/make_window_shots.py
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QEvent, QItemSelectionModel, QPointF, QSettings, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "docs" / "screenshots"


def pump(app, n=20):
    for _ in range(n):
        app.processEvents()


def main() -> int:
    app = QApplication(sys.argv[:1])
    from app.io import open_segmentation, read_volume
    from app.ui.main_window import MainWindow
    from app.ui.segment_table import Column
    from app.ui.shortcuts import ShortcutsDialog

    settings = QSettings(str(Path(tempfile.mkdtemp()) / "s.ini"), QSettings.IniFormat)
    win = MainWindow(settings=settings)
    win.resize(1500, 950)
    win.show()
    seg = open_segmentation(DATA / "spl-brain-atlas" / "hncma-atlas_2014-11_304labels.nrrd",
                            labels=DATA / "spl-brain-atlas" / "hncma-atlas-lut_2014-11.ctbl")
    win.set_document(seg, None)
    panel = win.segment_panel
    panel.table.sortByColumn(Column.VOXELS, Qt.DescendingOrder)           # a header click: rows by volume
    model = panel.model
    for r in (1, 2):
        seg.update_segment(model.segment_id(r), visible=False)
    win.jump_to_segment(model.segment_id(0))
    sm = panel.table.selectionModel()
    for r in range(0, 4):
        sm.select(model.index(r, 0), QItemSelectionModel.Select | QItemSelectionModel.Rows)
    pump(app)
    win.segments_dock.grab().save(str(OUT / "segment-table.png"))

    dialog = ShortcutsDialog(win)
    dialog.show()
    pump(app)
    dialog.grab().save(str(OUT / "help-keyboard-and-mouse.png"))
    dialog.close()

    win.files.maybe_save = lambda: True
    win.close()
    win = MainWindow(settings=QSettings(str(Path(tempfile.mkdtemp()) / "s.ini"), QSettings.IniFormat))
    win.resize(1280, 900)
    win.show()
    ct = open_segmentation(DATA / "slicerio" / "Segmentation.seg.nrrd")
    win.set_document(ct, read_volume(DATA / "slicerio" / "CTChest4.nrrd"))
    pump(app, 60)
    win.grab().save(str(OUT / "window-level-auto-ct.png"))
    vp = win.slice_views[0].canvas.viewport()
    c = QPointF(vp.rect().center())
    for kind, pos, button, buttons in ((QEvent.MouseButtonPress, c, Qt.RightButton, Qt.RightButton),
                                       (QEvent.MouseMove, c + QPointF(-40, 25), Qt.NoButton, Qt.RightButton),
                                       (QEvent.MouseButtonRelease, c + QPointF(-40, 25), Qt.RightButton, Qt.NoButton)):
        QApplication.sendEvent(vp, QMouseEvent(kind, pos, vp.mapToGlobal(pos), button, buttons, Qt.NoModifier))
    pump(app)
    win.display_panel.grab().save(str(OUT / "window-level-custom.png"))
    win.files.maybe_save = lambda: True
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
