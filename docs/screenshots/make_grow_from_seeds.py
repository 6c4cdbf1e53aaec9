"""The README's Grow-from-seeds picture: the chest CT in the real window, seeds painted with real mouse drags on
three axial slices, the live preview shown. Run from the repository root:

    xvfb-run -a -s "-screen 0 1600x1000x24" env QT_QPA_PLATFORM=xcb PYTHONPATH=$PWD .venv/bin/python \
        docs/screenshots/make_grow_from_seeds.py docs/screenshots/grow_from_seeds_chest.png
"""
import os, sys, tempfile, time
from pathlib import Path
import numpy as np
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

tmp = tempfile.mkdtemp()
os.environ["SEGEDIT_RECOVERY_DIR"] = tmp + "/rec"
app = QApplication(["segedit"])
from app.ui.main_window import MainWindow
from app.io import read_volume
from app.model.segmentation import Segmentation
from app.model.segment_editor_state import ToolKind


def viewport_point(view, ijk):
    return view.canvas.mapFromScene(view.view_box.mapViewToScene(view.ijk_to_view(ijk)))

ct = read_volume(Path(__file__).resolve().parents[3] / "shared/data/slicerio/CTChest4.nrrd")
seg = Segmentation(ct.geometry)
colours = {"right lung": (0.5, 0.68, 0.5), "left lung": (0.0, 0.59, 0.78), "tissue": (0.9, 0.6, 0.4)}
ids = {}
for name, c in colours.items():
    s = seg.add_segment(name)
    seg.update_segment(s.id, color=c)
    ids[name] = s.id
seg.history.clear()
win = MainWindow(settings=QSettings(tmp + "/s.ini", QSettings.IniFormat), extensions=True)
win.set_document(seg, ct)
win.show()
win.resize(1500, 950)
for _ in range(20):
    app.processEvents(); time.sleep(0.02)
ed = win.editing
ed.state.brush_radius_mm = 3.0
ed.set_tool(ToolKind.GROW)
view = win.slice_views[0]
view.set_slice(22)
app.processEvents()

def drag(points, mods=Qt.NoModifier):
    vp = view.canvas.viewport()
    pos = [viewport_point(view, (i, j, view.slice_index)) for i, j in points]
    QTest.mousePress(vp, Qt.LeftButton, mods, pos[0])
    for p in pos[1:]:
        QTest.mouseMove(vp, p)
    QTest.mouseRelease(vp, Qt.LeftButton, mods, pos[-1])
    app.processEvents()

# seeds on three axial slices: the patient's right is at high i (LPS, direction -1)
g = ed.grow
for k in (14, 22, 28):
    view.set_slice(k); app.processEvents()
    g.panel.seed_mode.setCurrentIndex(0)
    win.select_segment(ids["right lung"]); drag([(82, 50), (86, 62), (88, 75), (85, 85)])
    win.select_segment(ids["left lung"]); drag([(42, 50), (38, 62), (37, 75), (40, 85)])
    win.select_segment(ids["tissue"]); drag([(64, 40), (64, 52)]); drag([(54, 58), (66, 70)]); drag([(106, 68), (110, 80)]); drag([(20, 68), (16, 80)])
    g.panel.seed_mode.setCurrentIndex(g.panel.seed_mode.findText("Background"))
    drag([(5, 20), (120, 20)]); drag([(5, 110), (120, 110)])
view.set_slice(22)
win.select_segment(ids["right lung"])
g.panel.seed_mode.setCurrentIndex(0)
g.update()
for _ in range(30):
    app.processEvents(); time.sleep(0.02)
print(g.panel.status.text())
pix = win.screen().grabWindow(win.winId()) if app.platformName() == "xcb" else win.grab()
pix.save(sys.argv[1])
win.files.maybe_save = lambda: True
win.close()
