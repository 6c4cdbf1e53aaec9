"""Every keyboard shortcut of a window, read from its QActions and QShortcuts (so Help > Keyboard and mouse can
never go stale), and the Help dialog that lists them with the mouse gestures of the slice views."""
from __future__ import annotations

import html
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QMenu, QMenuBar, QTextBrowser, QVBoxLayout, QWidget

# what the slice views do with the mouse and with keys they handle themselves (not actions)
MOUSE_AND_VIEW_KEYS = (
    ("Mouse wheel, Up/Down, Left/Right", "next / previous slice: up goes superior, anterior, right (as in Slicer)"),
    ("Page Up / Page Down", "10 slices"),
    ("Ctrl+wheel, middle-drag, R", "zoom, pan, reset the view"),
    ("Left click / drag", "move the linked cursor (or use the active tool)"),
    ("Ctrl+click", "select the segment under the cursor"),
    ("Right-drag", "window (horizontal) and level (vertical)"),
    ("Shift+wheel", "brush size (with a brush)"),
    ("Double-click a Volume cell", "jump to the segment (centre every view on it)"),
)


@dataclass(frozen=True)
class Entry:
    text: str                   # what the key does (the action's text, without '&' and '...')
    keys: tuple[str, ...]       # native text of each key sequence
    where: str                  # "" = anywhere in the window, else where the focus must be
    group: str = ""             # the menu-bar menu it is in ("File", "Edit", ...), else ""


def _menu_title(action) -> str:
    """The title of the menu-bar menu an action sits in (through submenus), or ""."""
    seen = set()
    todo = [w for w in action.associatedObjects() if isinstance(w, QMenu)]
    while todo:
        menu = todo.pop()
        if id(menu) in seen:
            continue
        seen.add(id(menu))
        owners = menu.menuAction().associatedObjects()
        if any(isinstance(w, QMenuBar) for w in owners):
            return menu.title().replace("&", "")
        todo.extend(w for w in owners if isinstance(w, QMenu))
    return ""


def _clean(text: str) -> str:
    return text.replace("&", "").rstrip(".…").strip()


def _where(context, widgets) -> str:
    if context in (Qt.WindowShortcut, Qt.ApplicationShortcut):
        return ""
    names = []
    for w in widgets:
        if isinstance(w, QMenu):
            continue
        name = w.accessibleName() or w.objectName() or type(w).__name__
        dock = w.parentWidget()
        while dock is not None and not hasattr(dock, "toggleViewAction"):
            dock = dock.parentWidget()
        names.append(dock.windowTitle() if dock is not None and not w.accessibleName() else name)
    return ", ".join(dict.fromkeys(names)) or "its panel"


def collect(window: QWidget) -> list[Entry]:
    """Every action and shortcut object of the window that has a key, sorted by where then text."""
    out = []
    for a in window.findChildren(QAction):
        keys = tuple(k.toString(QKeySequence.NativeText) for k in a.shortcuts() if not k.isEmpty())
        if keys and a.text():
            widgets = [w for w in a.associatedObjects() if isinstance(w, QWidget)]
            out.append(Entry(_clean(a.text()), keys, _where(a.shortcutContext(), widgets), _menu_title(a)))
    for s in window.findChildren(QShortcut):
        if s.key().isEmpty():
            continue
        text = s.whatsThis() or s.objectName() or "shortcut"
        out.append(Entry(_clean(text), (s.key().toString(QKeySequence.NativeText),),
                         _where(s.context(), [s.parent()])))
    unique = {(e.text, e.keys, e.where): e for e in out}
    menus = [m.title().replace("&", "") for m in window.menuBar().findChildren(QMenu)] \
        if hasattr(window, "menuBar") else []
    rank = {t: n for n, t in enumerate(dict.fromkeys(["File", "Edit", "View", "Segmentation", "Tools", *menus]))}
    return sorted(unique.values(), key=lambda e: (e.group == "", rank.get(e.group, 99), e.group, e.where,
                                                  e.text.casefold()))


def help_html(window: QWidget) -> str:
    rows = []
    group = None
    for e in collect(window):
        title = (f"{e.group} menu" if e.group else "In a panel or over the views")
        if title != group:
            rows.append(("</table>" if group is not None else "") +
                        f"<h3>{html.escape(title)}</h3><table cellspacing='0' cellpadding='2'>")
            group = title
        where = f" <i>(in {html.escape(e.where)})</i>" if e.where else ""
        rows.append(f"<tr><td width='190'><b>{html.escape(' or '.join(e.keys))}</b></td>"
                    f"<td>{html.escape(e.text)}{where}</td></tr>")
    rows.append("</table><h3>Mouse and keys in a slice view</h3><table cellspacing='0' cellpadding='2'>")
    for k, what in MOUSE_AND_VIEW_KEYS:
        rows.append(f"<tr><td width='190'><b>{html.escape(k)}</b></td><td>{html.escape(what)}</td></tr>")
    rows.append("</table>")
    return "".join(rows)


class ShortcutsDialog(QDialog):
    """Help > Keyboard and mouse: the list, generated when it opens."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.setWindowTitle("Keyboard and mouse")
        self.browser = QTextBrowser()
        self.browser.setHtml(help_html(window))
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.browser)
        lay.addWidget(buttons)
        self.resize(620, 680)
