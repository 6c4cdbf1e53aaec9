"""Issue 11 in the window: File > Open labelmap with label table offers "no table", and a table beside the image
that cannot be read does not stop the image from opening."""
from __future__ import annotations

import nrrd
import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox


def _files(tmp_path):
    arr = np.zeros((5, 5, 5), np.uint8)
    arr[1:3, 1:3, 1:3] = 1
    arr[3:5, 0:2, :] = 2
    nrrd.write(str(tmp_path / "img.nrrd"), arr)
    (tmp_path / "img.ctbl").write_text("1 liver 255 0 0 255\n2 spleen 0 255 0 255\n")
    return tmp_path / "img.nrrd"


def _answer(qtbot, text):
    """Click the button `text` of the modal table question when it shows up."""
    def click():
        box = next((w for w in QApplication.topLevelWidgets()
                    if isinstance(w, QMessageBox) and w.objectName() == "table_choice" and w.isVisible()), None)
        if box is None:
            QTimer.singleShot(20, click)
            return
        seen.append([b.text() for b in box.buttons()])
        next(b for b in box.buttons() if b.text() == text).click()
    seen = []
    QTimer.singleShot(0, click)
    return seen


def test_open_labelmap_offers_no_table(make_window, tmp_path, monkeypatch, qtbot):
    img = _files(tmp_path)
    win = make_window()
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(img), "")))
    seen = _answer(qtbot, "No table")
    win.files.ask_open_labelmap()
    assert "No table" in seen[0] and "Use img.ctbl" in seen[0]
    assert [s.name for s in win.segmentation.segments] == ["Segment_1", "Segment_2"]
    seen = _answer(qtbot, "Use img.ctbl")
    win.files.ask_open_labelmap()
    assert [s.name for s in win.segmentation.segments] == ["liver", "spleen"]


def test_an_unreadable_table_beside_the_image_opens_it_with_one_warning(make_window, tmp_path, dialogs):
    img = _files(tmp_path)
    (tmp_path / "img.ctbl").write_bytes(bytes(range(256)) * 4)
    win = make_window()
    assert win.files.open_paths([img])
    assert [s.name for s in win.segmentation.segments] == ["Segment_1", "Segment_2"]
    assert [kind for kind, _ in dialogs.seen if kind == "critical"] == []
    warned = [text for kind, text in dialogs.seen if kind == "warning"]
    assert len(warned) == 1 and "img.nrrd was opened, but" in warned[0] and "img.ctbl" in warned[0]
    assert len(win.files.last_warnings) == 1
