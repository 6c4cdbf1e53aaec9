"""The editor process killed by tests/ui/test_recovery.py: `python recovery_child.py OUT_DIR`.

It runs the real main window offscreen with the recovery module (SEGEDIT_RECOVERY_DIR, SEGEDIT_AUTOSAVE_SECONDS
from the environment), opens the demo atlas, paints a new segment and erases part of another (each one undo step,
as the brush does), saves the expected voxels to OUT_DIR/expected.npz, prints PAINTED; once the timer wrote the
recovery copy it prints AUTOSAVED, opens another stroke and paints half of it (left open), prints MIDSTROKE and
waits to be killed.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def stroke(seg, sid, points, radius, mode, open_=False):
    from app.model import brush
    from app.model.edits import apply_mask

    mask, box = brush.stroke_region(points, brush.ball(radius, seg.geometry.spacing), seg.geometry.shape)
    seg.begin_operation("Paint")
    apply_mask(seg, sid, mask, box, mode)
    if not open_:
        seg.end_operation()


def main(out: Path) -> int:
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication([sys.argv[0]])
    from app.io import Volume
    from app.model.demo import demo_atlas
    from app.model.edits import EditMode
    from app.ui import crash_recovery
    from app.ui.main_window import MainWindow

    win = MainWindow(settings=QSettings(str(out / "settings.ini"), QSettings.IniFormat), extensions=False)
    rec = crash_recovery.install(win)
    seg, grey = demo_atlas(shape=(64, 64, 56), n_structures=60)
    win.set_document(seg, Volume(grey, seg.geometry, None), path=out / "atlas.seg.nrrd")
    win.show()
    new = seg.add_segment("painted after the last save").id
    stroke(seg, new, [(20, 30, 28), (40, 34, 28)], 4.0, EditMode.ADD)
    stroke(seg, seg.segment_ids[3], [(32, 32, 10), (32, 32, 40)], 3.0, EditMode.REMOVE)
    ids = seg.segment_ids
    np.savez(out / "expected.npz", ids=np.array(ids), layers=np.stack(seg.layers),
             layer_of=np.array([seg.segment(i).layer for i in ids]),
             label_of=np.array([seg.segment(i).label for i in ids]), painted=seg.voxel_count(new))
    print("PAINTED", flush=True)

    def poll():
        if rec.copy is None:
            return
        timer.stop()
        print("AUTOSAVED", flush=True)
        stroke(seg, new, [(10, 10, 10), (50, 50, 50)], 5.0, EditMode.ADD, open_=True)
        print("MIDSTROKE", flush=True)

    timer = QTimer()
    timer.timeout.connect(poll)
    timer.start(50)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
