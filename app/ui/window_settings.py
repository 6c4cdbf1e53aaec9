"""What the main window remembers between sessions (QSettings): geometry and dock state, view layout, display
options. Recent files live with the File menu (app.ui.file_actions)."""
from __future__ import annotations

from PySide6.QtCore import QByteArray

from .view_layout import Layout


def restore(window) -> None:
    """Window geometry and docks, layout, display options (recent files are read where they are shown)."""
    s = window.settings
    geom, state = s.value("window/geometry"), s.value("window/state")
    if isinstance(geom, QByteArray):
        window.restoreGeometry(geom)
    if isinstance(state, QByteArray):
        window.restoreState(state)

    layout = s.value("window/layout", "")
    if layout in Layout.__members__:
        window.set_layout(Layout[layout])
        action = getattr(window, "layout_actions", {}).get(Layout[layout])
        if action is not None:
            action.setChecked(True)
    d = window.display
    d.set_style(fill=_bool(s.value("display/fill", True)), outline=_bool(s.value("display/outline", True)),
                fill_opacity=float(s.value("display/fill_opacity", 0.5)),
                outline_opacity=float(s.value("display/outline_opacity", 1.0)))


def save(window) -> None:
    s = window.settings
    s.setValue("window/geometry", window.saveGeometry())
    s.setValue("window/state", window.saveState())
    s.setValue("window/layout", window.layout_mode.name)
    d = window.display
    s.setValue("display/fill", d.style.fill)
    s.setValue("display/outline", d.style.outline)
    s.setValue("display/fill_opacity", d.fill_opacity)
    s.setValue("display/outline_opacity", d.outline_opacity)
    s.sync()


def _bool(v) -> bool:
    return v if isinstance(v, bool) else str(v).lower() in ("1", "true", "yes")
