"""Each group of tabbed docks shows one tab bar. Qt 6.10-6.11 leaves a copy of a group's tab bar for every
tabifyDockWidget after a window's first and for every restoreState; the copy was drawn above the real bar at the
docks' old size ("Segment editor | Tools" twice at the bottom of the left column, with empty space between, in
every screenshot). The whole window with every extension, on first launch and on the next (state restored)."""
from __future__ import annotations

import time

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QDockWidget, QTabBar


def _settle(seconds=0.3):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.processEvents()


def shown_bars(win) -> list[QTabBar]:
    """Every dock tab bar drawn in the window (the docks' bars are the main window's own children; Qt parks the
    bar of a group down to one shown dock outside the window)."""
    return [bar for bar in win.findChildren(QTabBar) if bar.parent() is win and bar.count() and bar.isVisible()
            and bar.geometry().intersects(win.rect())]


def shown_groups(win) -> list[tuple[str, ...]]:
    return sorted(tuple(bar.tabText(i) for i in range(bar.count())) for bar in shown_bars(win))


def dock(win, title) -> QDockWidget:
    return next(d for d in win.findChildren(QDockWidget) if d.windowTitle() == title)


def test_every_group_of_tabbed_docks_shows_one_tab_bar(tmp_path, qtbot, dialogs):
    from app.ui.main_window import MainWindow

    path = str(tmp_path / "settings.ini")
    for launch in ("first", "next"):
        win = MainWindow(settings=QSettings(path, QSettings.IniFormat), extensions=True)
        qtbot.addWidget(win, before_close_func=lambda w: setattr(w.files, "maybe_save", lambda: True))
        win.resize(1280, 900)
        win.show()
        qtbot.waitExposed(win)
        _settle()
        assert shown_groups(win) == [("Segment editor", "Tools")], launch
        (left,) = shown_bars(win)
        editor = dock(win, "Segment editor")
        for size in ((1280, 900), (1100, 760)):                   # the bar Qt lays out: under the docks, as wide
            win.resize(*size)
            _settle(0.2)
            assert shown_bars(win) == [left], (launch, size)
            assert left.geometry().width() == editor.width() and left.geometry().top() == editor.geometry().bottom() + 1
        left.setCurrentIndex(1)                                   # and it switches them
        _settle(0.1)
        assert dock(win, "Tools").visibleRegion().boundingRect().width() > 0
        assert editor.visibleRegion().isEmpty()
        left.setCurrentIndex(0)
        for title in ("Statistics", "Compare", "3D"):             # groups opened later: one bar each
            dock(win, title).show()
        _settle()
        groups = shown_groups(win)
        assert len(groups) == len(set(groups)) == 3, (launch, groups)
        for title in ("Statistics", "Compare", "3D"):
            dock(win, title).hide()
        win.close()                                               # saves the window state for the next launch
        _settle(0.1)
