"""The main window's contract (used by the editing, 3D, tools and recovery extensions) on real widgets."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QLabel, QMenu

from app.render.slicing import Plane


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


def test_extensions_install_and_a_broken_one_is_reported_not_fatal(make_window, monkeypatch, capsys):
    import importlib.machinery
    import sys
    import types

    from app.ui import main_window

    win = make_window(extensions=True)                 # whatever extension modules exist today
    assert "could not be installed" not in capsys.readouterr().err
    assert win.segmentation is None
    calls = []
    good = types.ModuleType("app.ui._fake_good")
    good.__spec__ = importlib.machinery.ModuleSpec("app.ui._fake_good", None)
    good.install = lambda w: calls.append(w)
    bad = types.ModuleType("app.ui._fake_bad")
    bad.__spec__ = importlib.machinery.ModuleSpec("app.ui._fake_bad", None)
    bad.install = lambda w: 1 / 0
    monkeypatch.setitem(sys.modules, "app.ui._fake_good", good)
    monkeypatch.setitem(sys.modules, "app.ui._fake_bad", bad)
    monkeypatch.setattr(main_window, "EXTENSIONS", ("app.ui._fake_bad", "app.ui._not_there", "app.ui._fake_good"))
    win2 = make_window(extensions=True)
    assert calls == [win2]                               # the broken one did not stop the next
    assert "app.ui._fake_bad could not be installed" in capsys.readouterr().err
