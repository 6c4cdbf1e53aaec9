"""Statistics and Compare docks (issue 15): `install(window)` adds both, their View menu actions and shortcuts
(Ctrl+Shift+T statistics, Ctrl+Shift+D compare). The numbers come from app.model.stats / app.model.compare."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence

from .compare_dock import ComparePanel
from .stats_dock import StatsPanel

__all__ = ["ComparePanel", "StatsPanel", "install"]


def install(window):
    stats = StatsPanel(window)
    compare = ComparePanel(window)
    window.stats_panel, window.compare_panel = stats, compare
    for panel, title, keys in ((stats, "Statistics", "Ctrl+Shift+T"), (compare, "Compare", "Ctrl+Shift+D")):
        panel.dock = window.add_dock(panel, title, Qt.BottomDockWidgetArea)
        panel.dock.hide()                       # opened on demand: nothing is computed until then
        panel.dock.visibilityChanged.connect(panel.dock_visibility_changed)
        action = QAction(f"Show {title.lower()}", window)
        action.setShortcut(QKeySequence(keys))
        action.setStatusTip(f"Show the {title} dock")
        action.triggered.connect(lambda _=False, p=panel: (p.dock.show(), p.dock.raise_()))
        window.menu("View").addAction(action)
        panel.show_action = action
    window.tabifyDockWidget(stats.dock, compare.dock)
    window.segmentation_changed.connect(stats.set_segmentation)
    window.segmentation_changed.connect(compare.set_segmentation)
    return stats, compare
