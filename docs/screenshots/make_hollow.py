"""The README's Hollow picture: the SPL atlas in the real window, the Tools dock on Hollow (2 mm, centred) for the
segments picked below, previewed (green: gained, magenta: lost). Run from the repository root:

    xvfb-run -a -s "-screen 0 1600x1000x24" env QT_QPA_PLATFORM=xcb PYTHONPATH=$PWD .venv/bin/python \\
        docs/screenshots/make_hollow.py docs/screenshots/tools_hollow_spl.png
"""
import os
import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

tmp = tempfile.mkdtemp()
os.environ["SEGEDIT_RECOVERY_DIR"] = tmp + "/rec"
app = QApplication(["segedit"])
from app.ui.main_window import MainWindow  # noqa: E402

data = Path(__file__).resolve().parents[3] / "shared" / "data" / "spl-brain-atlas"
win = MainWindow(settings=QSettings(tmp + "/s.ini", QSettings.IniFormat), extensions=True)
win.files.open_paths([str(data / "hncma-atlas_2014-11_304labels.nrrd")],
                     labels=str(data / "hncma-atlas-lut_2014-11.ctbl"))
win.show()
win.resize(1500, 950)
for _ in range(20):
    app.processEvents()
    time.sleep(0.02)
seg = win.segmentation
ids = [s.id for s in seg.segments if any(k in s.name for k in ("caudate", "putamen", "thalamus"))]
panel = win.tools_panel
panel.dock.show()
panel.dock.raise_()
win.select_segment(ids[0])
panel.set_page(panel.tool_combo.findText("Hollow"))
panel.scope.setCurrentIndex(panel.scope.findText("Visible segments"))
for s in seg.segments:                       # show only the picked segments: the preview is about them
    if s.id not in ids:
        seg.update_segment(s.id, visible=False)
page = panel.current_page()
page.mode.setCurrentIndex(page.mode.findText("Centred on the surface"))
page.thickness.setValue(2.0)
import numpy as np  # noqa: E402

centre = tuple(float(c) for c in np.mean(np.argwhere(seg.mask(ids[0]) | seg.mask(ids[1])), axis=0))
win.display.set_cursor(centre)               # every view through the first two segments
for v in win.slice_views:
    v.view_box.scaleBy((0.45, 0.45), center=v.ijk_to_view(centre))
panel.preview()
for _ in range(30):
    app.processEvents()
    time.sleep(0.02)
print(panel.summary.text()[:200])
pix = win.screen().grabWindow(win.winId()) if app.platformName() == "xcb" else win.grab()
pix.save(sys.argv[1])
win.files.maybe_save = lambda: True
win.close()
