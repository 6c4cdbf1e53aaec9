"""Window factories for the GUI tests: every window gets its own throw-away settings file."""
from __future__ import annotations

import pytest


@pytest.fixture
def dialogs(monkeypatch):
    """Modal message boxes never block a test: they are recorded (kind, text) and answered from `answers`
    (default: Cancel for questions)."""
    from PySide6.QtWidgets import QMessageBox

    seen = []
    answers = {}

    def fake(kind):
        def show(parent, title, text, *args, **kwargs):
            seen.append((kind, text))
            return answers.get(kind, QMessageBox.Cancel)
        return staticmethod(show)

    for kind in ("critical", "warning", "question", "information"):
        monkeypatch.setattr(QMessageBox, kind, fake(kind))
    return type("Dialogs", (), {"seen": seen, "answers": answers})


@pytest.fixture
def make_window(qtbot, tmp_path, dialogs):
    """make_window(extensions=False) -> a shown MainWindow with private QSettings (closed after the test)."""
    from PySide6.QtCore import QSettings

    from app.ui.main_window import MainWindow

    made = []

    def make(extensions: bool = False, size=(1100, 800)):
        settings = QSettings(str(tmp_path / f"settings{len(made)}.ini"), QSettings.IniFormat)
        win = MainWindow(settings=settings, extensions=extensions)
        # pytest-qt closes its widgets BEFORE fixture finalizers run: without this, a test that leaves the
        # document modified would meet the "Save changes?" question at teardown.
        qtbot.addWidget(win, before_close_func=lambda w: setattr(w.files, "maybe_save", lambda: True))
        win.resize(*size)
        win.show()
        qtbot.waitExposed(win)
        made.append(win)
        return win

    yield make


@pytest.fixture
def demo_window(make_window, demo):
    """A window showing a private copy of the small demo atlas over its grey volume."""
    from app.io import Volume
    from app.model.segmentation import Segmentation

    seg0, grey = demo
    seg = Segmentation.from_layers(seg0.geometry, [a.copy() for a in seg0.layers], [s.copy() for s in seg0.segments])
    win = make_window()
    win.set_document(seg, Volume(grey, seg.geometry, None))
    return win
