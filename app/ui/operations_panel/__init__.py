"""The Tools dock and Tools menu: whole-atlas tools (threshold, islands, margin, smoothing, logical operations,
fill between slices, hollow) on one or many segments, with a preview before Apply. Shortcuts: Ctrl+Shift+P preview,
Ctrl+Shift+Return apply, Esc (in the dock) clears the preview, Ctrl+Alt+H shows Hollow. `install(window)` is called by the
MainWindow at the end of its __init__; the algorithms live in app.model.ops (usable without the GUI)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut

from .panel import Scope, ToolsPanel

__all__ = ["Scope", "ToolsPanel", "install"]


def install(window) -> ToolsPanel:
    panel = ToolsPanel(window)
    window.tools_panel = panel
    panel.dock = window.add_dock(panel, "Tools", Qt.LeftDockWidgetArea)
    panel.dock.visibilityChanged.connect(panel.dock_visibility_changed)
    menu = window.menu("Tools")
    for n, page in enumerate(panel.pages):
        action = QAction(f"{page.title}...", window)
        action.setStatusTip(f"Show the {page.title.lower()} tool in the Tools panel")
        action.triggered.connect(lambda _=False, n=n: _show(panel, n))
        if getattr(page, "shortcut", None):
            action.setShortcut(QKeySequence(page.shortcut))
        menu.addAction(action)
    menu.addSeparator()
    panel.actions = {}
    for text, slot, keys in (("Preview tool result", panel.preview, "Ctrl+Shift+P"),
                             ("Apply tool", panel.apply, "Ctrl+Shift+Return"),
                             ("Clear tool preview", panel.clear_preview, None)):
        action = QAction(text, window)
        if keys:
            action.setShortcut(QKeySequence(keys))
        action.triggered.connect(lambda _=False, f=slot: _run(panel, f))
        menu.addAction(action)
        panel.actions[text] = action
    escape = QShortcut(QKeySequence(Qt.Key_Escape), panel)
    escape.setContext(Qt.WidgetWithChildrenShortcut)
    escape.setWhatsThis("Clear the tool preview")
    escape.activated.connect(panel.clear_preview)
    return panel


def _run(panel: ToolsPanel, fn) -> None:
    if not panel.dock.isVisible():
        panel.dock.show()
        panel.dock.raise_()
    fn()


def _show(panel: ToolsPanel, index: int) -> None:
    panel.dock.show()
    panel.dock.raise_()
    panel.set_page(index)
