"""Hostile files through the window (File > Open, drag and drop): each one ends in one message box with one
sentence and the open document untouched, or opens with what the reader tolerated; never a traceback."""
from __future__ import annotations

import pytest
from PySide6.QtWidgets import QInputDialog, QMessageBox

from app.ui import crash_recovery
from tests.io import malformed_corpus as corpus
from tests.ui.helpers import copy_segmentation

PICKED = ["sizes 100000 100000 100000", "raw truncated at 60%", "ascii encoding holding words",
          "space origin with 2 components", "segment extent with inf",
          "empty segmentation whose reference geometry is 10^15 voxels", "detached header with data file '/dev/zero'",
          "bzip2 bomb: 4 KB claimed, 400 MB of zeros", "NIfTI unknown datatype", "niigz with bit flips #2",
          "header with no blank line, 300000 lines", "NUL bytes after the magic"]


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    built = {c.name: c for c in corpus.build(tmp_path_factory.mktemp("hostile"))}
    return [built[name] for name in PICKED]


def test_hostile_files_opened_in_the_window(make_window, demo, cases, monkeypatch):
    win = make_window()
    seg = copy_segmentation(demo[0])
    win.set_document(seg)
    boxes = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text, *a: boxes.append(text))
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.Discard)
    refused = 0
    for case in cases:
        before = len(boxes)
        current = win.segmentation
        ok = win.files.open_paths([case.path])
        if ok:                                   # a documented tolerant read: it opened
            assert len(boxes) == before, case.name
            continue
        refused += 1
        assert len(boxes) == before + 1, case.name                     # told once...
        text = boxes[-1]
        assert "\n" not in text and "Traceback" not in text and len(text) < 300, (case.name, text)
        assert case.path.name in text, (case.name, text)               # ...naming the file
        assert win.segmentation is current, case.name                  # and nothing else changed
    assert refused >= len(cases) - 2


def test_autosave_interval_from_the_file_menu(make_window, tmp_path, monkeypatch):
    monkeypatch.setenv(crash_recovery.ENV_FOLDER, str(tmp_path / "recovery"))
    monkeypatch.delenv(crash_recovery.ENV_SECONDS, raising=False)
    win = make_window()
    rec = crash_recovery.install(win)
    monkeypatch.setattr(QInputDialog, "getDouble", lambda *a, **k: (0.5, True))
    rec.actions["Autosave interval..."].trigger()
    assert float(win.settings.value(crash_recovery.INTERVAL_KEY)) == 0.5 and rec.timer.interval() == 30_000
    monkeypatch.setattr(QInputDialog, "getDouble", lambda *a, **k: (0.0, True))
    rec.actions["Autosave interval..."].trigger()
    assert not rec.timer.isActive() and win.statusBar().currentMessage() == "Autosave off"
    assert crash_recovery.install(make_window()).interval_seconds() == 120      # another settings file: the default
