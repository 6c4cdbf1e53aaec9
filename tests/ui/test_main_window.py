"""The main window's contract (used by the editing, 3D, tools and recovery extensions) on real widgets."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QLabel, QMenu

from app.render.view_orientation import Plane
from app.resources import resource_path


def test_contract_attributes_and_menus(make_window):
    win = make_window()
    assert win.segmentation is None and win.reference is None
    assert [v.plane for v in win.slice_views] == [Plane.AXIAL, Plane.CORONAL, Plane.SAGITTAL]
    for title in ("File", "Edit", "View", "Segmentation", "Tools", "Help"):
        m = win.menu(title)
        assert isinstance(m, QMenu) and win.menu(title) is m
    dock = win.add_dock(QLabel("x"), "Extra", Qt.LeftDockWidgetArea)
    assert isinstance(dock, QDockWidget) and win.dockWidgetArea(dock) == Qt.LeftDockWidgetArea
    assert win.run_long(lambda progress: (progress(0.5), 42)[1], "Working") == 42


def test_segmentation_changed_and_current_segment(make_window, demo, qtbot):
    win = make_window()
    seg, _ = demo
    got = []
    win.segmentation_changed.connect(got.append)
    current = []
    win.current_segment_changed.connect(current.append)
    win.set_document(seg, None)
    assert got == [seg] and win.segmentation is seg
    sid = seg.segment_ids[5]
    win.select_segment(sid)
    assert win.current_segment_id() == sid and current[-1] == sid
    assert win.slice_views[0].plane_axis == 2 and 0 <= win.slice_views[0].slice_index < seg.geometry.shape[2]


def test_extensions_are_installed_explicitly_and_a_broken_one_is_not_hidden(make_window, monkeypatch):
    from PySide6.QtWidgets import QDockWidget

    from app.ui import extensions

    win = make_window(extensions=True)
    docks = {d.windowTitle() for d in win.findChildren(QDockWidget)}
    assert {"Segments", "Layers", "Segment editor", "3D", "Tools"} <= docks, docks
    edit = [a.text() for a in win.menu("Edit").actions()]
    assert any(t.startswith("Undo") for t in edit) and any(t.startswith("Redo") for t in edit), edit
    assert win.menu("Tools").actions() and hasattr(win, "recovery")
    bare = make_window(extensions=False)
    assert {d.windowTitle() for d in bare.findChildren(QDockWidget)} == {"Segments", "Layers"}
    assert not [a for a in bare.menu("Edit").actions() if a.text().startswith("Undo")]

    calls = []

    def broken(window):
        raise RuntimeError("a bug in an extension")

    monkeypatch.setattr(extensions, "INSTALLERS", (("good", calls.append), ("broken", broken)))
    with pytest.raises(RuntimeError, match="a bug in an extension"):     # loud, with its traceback
        make_window(extensions=True)
    assert len(calls) == 1


def test_the_window_and_about_box_use_the_icon(make_window):
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QMessageBox

    win = make_window()
    ref = QIcon(str(resource_path("segedit.svg"))).pixmap(32, 32).toImage()
    assert win.windowIcon().pixmap(32, 32).toImage() == ref
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    shown = []

    def close_the_box():                   # the static QMessageBox.about runs its own modal loop
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            shown.append(box.iconPixmap().toImage())
            box.accept()
        else:
            QTimer.singleShot(20, close_the_box)

    QTimer.singleShot(0, close_the_box)
    next(a for a in win.menu("Help").actions() if a.text().startswith("About")).trigger()
    assert len(shown) == 1 and not shown[0].isNull()
    big = QIcon(str(resource_path("segedit.svg"))).pixmap(shown[0].size()).toImage()
    assert shown[0].convertToFormat(big.format()) == big          # the About box shows the application icon
