"""Issue 12 items 1, 6, 11: every key of the whole window (every extension installed) does one thing, window-wide
keys work wherever the focus is, and Help lists every shortcut from the actions themselves.

The clash rule is Qt's own (QShortcutMap): two shortcuts can fire together when their contexts can be active for
the same focus widget: Window/Application contexts cover the whole window; WidgetWithChildren covers a widget and
its descendants; Widget only the widget itself. Written here from that definition, not from app code."""
from __future__ import annotations

import itertools

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QMenu, QWidget


def _regions(context, widgets, window):
    """(kind, widget) pairs where a shortcut may fire: ("all", window), ("tree", w) or ("only", w)."""
    if context in (Qt.WindowShortcut, Qt.ApplicationShortcut):
        return [("all", window)]
    kind = "tree" if context == Qt.WidgetWithChildrenShortcut else "only"
    # an action in a menu is triggered through the menu only while the menu has the focus (it never does
    # for a menubar menu): the panel it was added to is what counts
    return [(kind, w) for w in widgets if isinstance(w, QWidget) and not isinstance(w, QMenu)]


def _is_ancestor(a: QWidget, b: QWidget) -> bool:
    while b is not None:
        if b is a:
            return True
        b = b.parentWidget()
    return False


def _overlap(r1, r2) -> bool:
    (k1, w1), (k2, w2) = r1, r2
    if "all" in (k1, k2):
        return True
    if k1 == "tree" and k2 == "tree":
        return _is_ancestor(w1, w2) or _is_ancestor(w2, w1)
    if k1 == "tree":
        return _is_ancestor(w1, w2)
    if k2 == "tree":
        return _is_ancestor(w2, w1)
    return w1 is w2


def _all_shortcuts(window):
    out = []
    for a in window.findChildren(QAction):
        for k in a.shortcuts():
            if not k.isEmpty():
                out.append((a.text() or "?", k.toString(), _regions(a.shortcutContext(), a.associatedObjects(),
                                                                     window), a))
    for s in window.findChildren(QShortcut):
        if not s.key().isEmpty():
            out.append((s.whatsThis() or "QShortcut", s.key().toString(), _regions(s.context(), [s.parent()],
                                                                                    window), s))
    return out


def clashes(window):
    found = []
    for (t1, k1, r1, o1), (t2, k2, r2, o2) in itertools.combinations(_all_shortcuts(window), 2):
        if o1 is o2 or k1 != k2:
            continue
        if any(_overlap(a, b) for a in r1 for b in r2):
            found.append((k1, t1, t2))
    return found


def _activate(win, qtbot):
    """Window-wide shortcuts fire only in the active window."""
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow)


def test_no_two_actions_share_a_key_in_overlapping_contexts(make_window):
    win = make_window(extensions=True)
    assert len(_all_shortcuts(win)) > 30           # the whole window, every extension
    assert clashes(win) == []


def test_the_clash_rule_sees_a_clash(make_window):
    """The checker itself: a window-wide key added twice (or inside a panel with the same key) is reported."""
    win = make_window(extensions=True)
    extra = QAction("Extra", win)
    extra.setShortcut(QKeySequence("Ctrl+Shift+O"))
    win.segment_panel.addAction(extra)
    extra.setShortcutContext(Qt.WidgetWithChildrenShortcut)
    assert any(k == "Ctrl+Shift+O" for k, *_ in clashes(win))


def test_ctrl3_shows_3d_and_layout_keys_switch_layouts(make_window, qtbot):
    from app.ui.main_window import Layout

    win = make_window(extensions=True)
    dock = next(d for d in win.findChildren(QWidget) if d.objectName() == "dock_3d")
    _activate(win, qtbot)
    win.slice_views[0].setFocus()
    qtbot.keyClick(win.slice_views[0], Qt.Key_3, Qt.ControlModifier)
    qtbot.waitUntil(dock.isVisible)
    qtbot.keyClick(win.slice_views[0], Qt.Key_2, Qt.ControlModifier | Qt.AltModifier)
    assert win.layout_mode == Layout.ROW
    qtbot.keyClick(win.slice_views[0], Qt.Key_3, Qt.ControlModifier | Qt.AltModifier)
    assert win.layout_mode == Layout.AXIAL


def test_only_selected_and_open_labelmap_have_their_own_keys(make_window, demo_window, qtbot, monkeypatch):
    win = demo_window
    seg = win.segmentation
    keep = seg.segment_ids[3]
    win.select_segment(keep)
    opened = []
    monkeypatch.setattr(win.files, "ask_open_labelmap", lambda: opened.append(1))
    win.files.actions["Open labelmap with label table..."].triggered.disconnect()
    win.files.actions["Open labelmap with label table..."].triggered.connect(win.files.ask_open_labelmap)
    _activate(win, qtbot)
    win.segment_panel.table.setFocus()
    qtbot.keyClick(win.segment_panel.table, Qt.Key_H, Qt.ControlModifier | Qt.ShiftModifier)
    assert [s.id for s in seg.segments if s.visible] == [keep]
    qtbot.keyClick(win.segment_panel.table, Qt.Key_O, Qt.ControlModifier | Qt.ShiftModifier)
    assert opened == [1]


def test_ctrl_f_after_clicking_a_view_focuses_the_filter(demo_window, qtbot):
    win = demo_window
    view = win.slice_views[1]
    _activate(win, qtbot)
    qtbot.mouseClick(view.canvas.viewport(), Qt.LeftButton, pos=view.canvas.viewport().rect().center())
    assert view.hasFocus()
    qtbot.keyClick(view, Qt.Key_F, Qt.ControlModifier)
    qtbot.waitUntil(lambda: win.segment_panel.filter_edit.hasFocus())


def test_help_lists_every_shortcut_of_the_window(make_window):
    from app.ui.shortcuts import ShortcutsDialog

    win = make_window(extensions=True)
    dialog = ShortcutsDialog(win)
    text = dialog.browser.toPlainText()
    for title, key, _regions_, _obj in _all_shortcuts(win):
        native = QKeySequence(key).toString(QKeySequence.NativeText)
        assert native in text, (title, key)
        assert title.replace("&", "").rstrip(".…") in text, title
    # a key added later appears without touching the help text
    extra = QAction("Frobnicate the atlas", win)
    extra.setShortcut(QKeySequence("Ctrl+Alt+K"))
    win.menu("Tools").addAction(extra)
    assert "Frobnicate the atlas" in ShortcutsDialog(win).browser.toPlainText()


def test_about_names_the_version(make_window, monkeypatch):
    from importlib.metadata import version

    from PySide6.QtWidgets import QMessageBox

    seen = []
    monkeypatch.setattr(QMessageBox, "about", staticmethod(lambda parent, title, text: seen.append(text)))
    win = make_window()
    win.about_action.trigger()
    assert seen and version("segedit") in seen[0]
