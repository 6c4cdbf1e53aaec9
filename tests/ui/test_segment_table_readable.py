"""Issue 12 items 12 and 13 (Layer column): the segment table on real widgets. Long names elided in the middle,
Volume in one unit, shown/hidden unmistakable on selected rows, header clicks order the rows only, jump to a
segment (double-click on its volume, context menu, Ctrl+J) centring every view, Layer numbered as the saved file.
References: numpy counts, sorted() on names, pynrrd's reading of the saved header."""
from __future__ import annotations

import numpy as np
import nrrd
from PySide6.QtCore import QItemSelectionModel, QPoint, Qt
from PySide6.QtGui import QColor

from app.ui.segment_table import Column


def _row_texts(model, col):
    return [model.index(r, col).data() for r in range(model.rowCount())]


def _click_header(qtbot, table, col):
    h = table.horizontalHeader()
    x = h.sectionViewportPosition(col) + h.sectionSize(col) // 2
    qtbot.mouseClick(h.viewport(), Qt.LeftButton, pos=QPoint(x, h.height() // 2))


def test_long_names_are_elided_in_the_middle_and_shown_whole_in_the_tooltip(demo_window):
    seg = demo_window.segmentation
    panel = demo_window.segment_panel
    long = "white_matter_of_left_cerebral_hemisphere_posterior_limb_of_internal_capsule"
    seg.update_segment(seg.segment_ids[0], name=long)
    assert panel.table.textElideMode() == Qt.ElideMiddle
    assert long in panel.model.index(0, Column.NAME).data(Qt.ToolTipRole)


def test_volume_column_is_in_one_unit(demo_window):
    seg = demo_window.segmentation
    model = demo_window.segment_panel.model
    assert "mL" in model.headerData(Column.VOXELS, Qt.Horizontal)
    voxel_ml = float(np.prod(seg.geometry.spacing)) / 1000
    for row, sid in enumerate(seg.segment_ids):
        s = seg.segment(sid)
        n = int(np.count_nonzero(seg.layers[s.layer] == s.label))
        text = model.index(row, Column.VOXELS).data()
        assert text.replace(",", "").replace(".", "", 1).isdigit(), text          # a number, no unit mixed in
        value = float(text.replace(",", ""))
        assert abs(value - n * voxel_ml) <= max(0.0005, 0.0005 * n * voxel_ml)   # >= 4 significant digits
        assert len(text) <= 7                                                    # fits the column, no eliding


def _cell_image(table, row, col):
    rect = table.visualRect(table.model().index(row, col))
    img = table.viewport().grab(rect).toImage()
    return np.array([[QColor(img.pixel(x, y)).getRgb()[:3] for x in range(img.width())]
                     for y in range(img.height())], dtype=int)


def test_shown_and_hidden_differ_unmistakably_on_selected_rows(demo_window, qtbot):
    seg = demo_window.segmentation
    panel = demo_window.segment_panel
    table = panel.table
    seg.update_segment(seg.segment_ids[1], visible=False)
    sm = table.selectionModel()
    for r in (0, 1):
        sm.select(panel.model.index(r, 0), QItemSelectionModel.Select | QItemSelectionModel.Rows)
    table.setFocus()
    qtbot.wait(50)
    shown, hidden = _cell_image(table, 0, Column.VISIBLE), _cell_image(table, 1, Column.VISIBLE)
    highlight = np.array(table.palette().highlight().color().getRgb()[:3])
    # many pixels differ strongly between the two marks, and the shown mark stands out from the highlight
    strong = np.linalg.norm(shown - hidden, axis=-1) > 120
    assert strong.sum() >= 25
    assert (np.linalg.norm(shown - highlight, axis=-1) > 150).sum() >= 25


def test_header_clicks_order_the_rows_not_the_segments(demo_window, qtbot):
    seg = demo_window.segmentation
    panel = demo_window.segment_panel
    model = panel.model
    order = list(seg.segment_ids)
    seg.update_segment(order[0], name="zzz last by name")
    _click_header(qtbot, panel.table, Column.NAME)
    names = _row_texts(model, Column.NAME)
    assert names == sorted((s.name for s in seg.segments), key=str.casefold)
    assert seg.segment_ids == order                          # the segments' own order is untouched
    _click_header(qtbot, panel.table, Column.VOXELS)
    counts = {s.id: int(np.count_nonzero(seg.layers[s.layer] == s.label)) for s in seg.segments}
    rows = [model.segment_id(r) for r in range(model.rowCount())]
    got = [counts[i] for i in rows]
    assert got == sorted(got) or got == sorted(got, reverse=True)
    _click_header(qtbot, panel.table, Column.VOXELS)
    again = [counts[model.segment_id(r)] for r in range(model.rowCount())]
    assert again == list(reversed(got)) or sorted(again) == sorted(got)
    assert again != got
    panel.list_order()
    assert [model.segment_id(r) for r in range(model.rowCount())] == order
    # selection follows segments, not rows
    win = demo_window
    win.select_segment(order[7])
    _click_header(qtbot, panel.table, Column.NAME)
    assert win.current_segment_id() == order[7]
    assert panel.selected_ids() == [order[7]]


def _check_jumped(win, sid):
    seg = win.segmentation
    s = seg.segment(sid)
    mask = seg.layers[s.layer] == s.label
    cur = tuple(int(round(c)) for c in win.display.cursor)
    assert mask[cur]                                           # inside the segment
    where = np.argwhere(mask)
    d2 = (((where - where.mean(axis=0)) * np.array(seg.geometry.spacing)) ** 2).sum(axis=1)
    assert np.isclose(d2.min(), (((np.array(cur) - where.mean(axis=0)) * np.array(seg.geometry.spacing)) ** 2).sum())
    for v in win.slice_views:
        assert v.slice_index == cur[v.plane_axis]
        (x0, x1), (y0, y1) = v.view_box.viewRange()
        p = v.ijk_to_view(cur)
        assert abs((x0 + x1) / 2 - p.x()) < 1e-6 * max(1, abs(p.x())) + 1e-3
        assert abs((y0 + y1) / 2 - p.y()) < 1e-6 * max(1, abs(p.y())) + 1e-3
    assert win.current_segment_id() == sid


def test_jump_to_segment_by_double_click_menu_and_key(demo_window, qtbot):
    win = demo_window
    seg = win.segmentation
    panel = win.segment_panel
    table = panel.table
    for v in win.slice_views:                                   # zoomed in, somewhere else
        v.view_box.scaleBy((0.4, 0.4))
    sid = seg.segment_ids[12]
    idx = panel.model.index(panel.model.row_of(sid), Column.VOXELS)
    table.scrollTo(idx)
    rect = table.visualRect(idx)
    qtbot.mouseClick(table.viewport(), Qt.LeftButton, pos=rect.center())     # a real double-click: press first
    qtbot.mouseDClick(table.viewport(), Qt.LeftButton, pos=rect.center())
    _check_jumped(win, sid)
    menu_texts = [a.text() for a in panel.context_menu().actions()]
    assert "Jump to segment" in menu_texts
    other = seg.segment_ids[30]
    win.select_segment(other)
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow)
    win.slice_views[2].setFocus()
    qtbot.keyClick(win.slice_views[2], Qt.Key_J, Qt.ControlModifier)
    _check_jumped(win, other)


def test_layer_column_numbers_layers_as_the_saved_file(make_window, tmp_path):
    from app.io import save_segmentation
    from app.model.edits import EditMode, EditPolicy, Overwrite, apply_mask
    from app.model.geometry import Geometry
    from app.model.segmentation import Segmentation

    seg = Segmentation(Geometry((12, 10, 8)))
    a = seg.add_segment("a").id
    b = seg.add_segment("b").id
    box = (slice(0, 12), slice(0, 10), slice(0, 8))
    m = np.zeros((12, 10, 8), bool)
    m[2:6, 2:6, 2:6] = True
    apply_mask(seg, a, m, box, EditMode.ADD, EditPolicy())
    c = seg.add_segment("c", new_layer=True).id                 # model layer 1
    apply_mask(seg, c, m, box, EditMode.ADD, EditPolicy(overwrite=Overwrite.NONE))
    seg.reorder([c, a, b])                                      # the file numbers c's layer first
    path = tmp_path / "x.seg.nrrd"
    save_segmentation(seg, path)
    header = nrrd.read_header(str(path))
    in_file = {header[f"Segment{n}_Name"]: int(header[f"Segment{n}_Layer"]) for n in range(3)}
    win = make_window()
    win.set_document(seg, None)
    model = win.segment_panel.model
    shown = {model.index(r, Column.NAME).data(): model.index(r, Column.LAYER).data() for r in range(3)}
    assert shown == in_file and in_file["c"] == 0
