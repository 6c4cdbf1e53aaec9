"""The View, Segmentation and Help menus of the main window (File is app.ui.file_actions; Edit and Tools are
filled by the editing and tools extensions)."""
from __future__ import annotations

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QInputDialog, QMessageBox

from .display import WINDOW_PRESETS
from .view_layout import Layout

def _action(window, menu, text, slot, shortcut=None, checkable=False, checked=False) -> QAction:
    a = QAction(text, window, checkable=checkable)
    if checkable:
        a.setChecked(checked)
    if shortcut:
        a.setShortcut(QKeySequence(shortcut))
    a.triggered.connect(slot)
    menu.addAction(a)
    return a


def build_view_menu(window) -> None:

    m = window.menu("View")
    layouts = m.addMenu("Layout")
    group = QActionGroup(window)
    window.layout_actions = {}
    for n, mode in enumerate(Layout):
        a = _action(window, layouts, mode.value, lambda _=False, md=mode: window.set_layout(md),
                    f"Ctrl+Alt+{n + 1}", checkable=True, checked=mode == window.layout_mode)
        group.addAction(a)
        window.layout_actions[mode] = a
    _action(window, m, "Reset views", window.reset_views, "Ctrl+R")
    m.addSeparator()
    d = window.display
    window.fill_action = _action(window, m, "Fill", lambda on: d.set_style(fill=on), "Ctrl+Shift+F", True,
                                 d.style.fill)
    window.outline_action = _action(window, m, "Outline", lambda on: d.set_style(outline=on), "Ctrl+Shift+L",
                                    True, d.style.outline)

    def sync() -> None:
        for a, on in ((window.fill_action, d.style.fill), (window.outline_action, d.style.outline)):
            was = a.blockSignals(True)
            a.setChecked(on)
            a.blockSignals(was)

    d.style_changed.connect(sync)
    _action(window, m, "Fill opacity...", lambda: _ask_opacity(window, "fill"))
    _action(window, m, "Outline opacity...", lambda: _ask_opacity(window, "outline"))
    wl = m.addMenu("Window/level")
    _action(window, wl, "Auto (1st–99th percentile)", lambda: d.set_window_level(*d.auto_window_level))
    for name, w, lev in WINDOW_PRESETS:
        _action(window, wl, f"{name}: W {w:g} L {lev:g}", lambda _=False, w=w, lev=lev: d.set_window_level(w, lev))
    m.addSeparator()


def _ask_opacity(window, which: str) -> None:
    d = window.display
    start = d.fill_opacity if which == "fill" else d.outline_opacity
    value, ok = QInputDialog.getDouble(window, f"{which.capitalize()} opacity", "Opacity (0 to 1):", start, 0, 1, 2)
    if ok:
        d.set_style(**{f"{which}_opacity": value})


def build_segmentation_menu(window) -> None:
    m = window.menu("Segmentation")
    window.segment_panel.fill_menu(m, ("add", "remove", None, "rename", "colour", "opacity", None, "only", "all",
                                       "lock", "unlock", None, "up", "down", "filter", "jump"))
    _action(window, m, "Collapse labelmap layers", window.layers_panel.collapse)


def build_help_menu(window) -> None:
    from .shortcuts import ShortcutsDialog

    m = window.menu("Help")
    window.help_action = _action(window, m, "Keyboard and mouse", lambda: ShortcutsDialog(window).exec(), "F1")
    window.about_action = _action(window, m, "About segedit", lambda: QMessageBox.about(
        window, "About segedit", about_text()))


def about_text() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        number = version("segedit")
    except PackageNotFoundError:
        number = "(not installed: version unknown)"
    return (f"<b>segedit {number}</b><br>An editor for 3D medical segmentations with shared labelmap layers "
            "(3D Slicer .seg.nrrd, ITK-SNAP labelmaps).<br>Slice views use the radiological convention: the "
            "patient's right is on the left of the axial and coronal views.")
