"""Issue 12 item 10: the docks keep the width they were given during a session (the left dock grew 320 -> 375 px
and the slice views shrank). The whole window with every extension, driven through what changes texts: a long
segment name selected, every Tools page, a preview naming segments, Apply, the paint tool."""
from __future__ import annotations

from PySide6.QtWidgets import QApplication

from app.model.segment_editor_state import ToolKind


def _widths(win):
    for _ in range(3):
        QApplication.processEvents()
    return {"left": win.editing.dock.width(), "right": win.segments_dock.width(),
            "views": win.view_area.width(), "axial": win.slice_views[0].width()}


def test_docks_and_views_keep_their_widths_through_a_session(make_window, demo, qtbot):
    from app.io import Volume
    from app.model.segmentation import Segmentation

    seg0, grey = demo
    seg = Segmentation.from_layers(seg0.geometry, [a.copy() for a in seg0.layers], [s.copy() for s in seg0.segments])
    win = make_window(extensions=True, size=(1280, 900))
    win.set_document(seg, Volume(grey, seg.geometry, None))
    start = _widths(win)
    long_name = "white_matter_of_left_cerebral_hemisphere_" * 5           # no spaces to wrap at
    seg.update_segment(seg.segment_ids[0], name=long_name)
    win.select_segment(seg.segment_ids[0])
    assert _widths(win) == start
    panel = win.tools_panel
    panel.dock.raise_()
    for n in range(len(panel.pages)):
        panel.set_page(n)
        assert _widths(win) == start, panel.current_page().title
    panel.set_page(3)
    panel.scope.setCurrentIndex(3)                      # all segments
    panel.current_page().method.setCurrentIndex(4)      # joint smoothing: the summary names segments
    assert panel.preview()
    assert _widths(win) == start
    assert panel.apply()
    assert _widths(win) == start
    win.editing.dock.raise_()
    win.editing.set_tool(ToolKind.PAINT)
    assert _widths(win) == start
