"""The segment table: model/view wiring, filtering (against a reference), bulk edits, reorder, rename,
row-only repaints, lazy voxel counts."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QColorDialog, QInputDialog

from app.model.edits import EditMode, apply_mask
from app.model.geometry import Geometry
from app.model.segmentation import Segmentation
from app.ui.segment_table import COUNT_REFRESH_MS, Column, SegmentTableModel

from .helpers import settle


def select_rows(panel, rows):
    sm = panel.table.selectionModel()
    sm.clearSelection()
    for r in rows:
        sm.select(panel.model.index(r, 0), QItemSelectionModel.Select | QItemSelectionModel.Rows)


def many_segments(n):
    seg = Segmentation(Geometry((8, 8, 8)))
    names = ["alpha", "beta", "Gamma ray", "delta 12", "left thing", "right thing"]
    for i in range(n):
        seg.add_segment(f"{names[i % len(names)]} {i}")
    seg.history.clear()
    return seg


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet="abgmxyz 1290-LR", max_size=4))
def test_filter_matches_a_reference(qapp, text):
    seg = many_segments(40)
    model = SegmentTableModel()
    model.set_segmentation(seg)
    model.set_filter(text)
    got = [model.index(r, Column.NAME).data() for r in range(model.rowCount())]
    t = text.strip().casefold()
    want = [s.name for s in seg.segments
            if not t or t in s.name.casefold() or (t.lstrip("-").isdigit() and s.label == int(t))]
    assert got == want


def test_bulk_visibility_colour_lock_and_show_only_selected(demo_window, monkeypatch):
    seg = demo_window.segmentation
    panel = demo_window.segment_panel
    select_rows(panel, [2, 3, 4])
    ids = panel.selected_ids()
    assert ids == seg.segment_ids[2:5]
    panel.model.setData(panel.model.index(3, Column.VISIBLE), Qt.Unchecked, Qt.CheckStateRole)
    assert [seg.segment(i).visible for i in seg.segment_ids[1:6]] == [True, False, False, False, True]
    panel.actions_["lock"].trigger()
    assert all(seg.segment(i).locked for i in ids) and not seg.segment(seg.segment_ids[5]).locked
    panel.actions_["only"].trigger()
    assert [s.id for s in seg.segments if s.visible] == ids
    panel.actions_["all"].trigger()
    assert all(s.visible for s in seg.segments)
    monkeypatch.setattr(QColorDialog, "getColor", staticmethod(lambda *a, **k: QColor(10, 200, 30)))
    monkeypatch.setattr(QInputDialog, "getDouble", staticmethod(lambda *a, **k: (0.25, True)))
    panel.actions_["colour"].trigger()
    panel.actions_["opacity"].trigger()
    for i in ids:
        assert np.allclose(seg.segment(i).color, (10 / 255, 200 / 255, 30 / 255)) and seg.segment(i).opacity == 0.25


def test_rename_in_place_add_remove_and_move(demo_window, qtbot):
    seg = demo_window.segmentation
    panel = demo_window.segment_panel
    index = panel.model.index(1, Column.NAME)
    assert panel.model.setData(index, "bone", Qt.EditRole)
    assert seg.segments[1].name == "bone"
    settle()
    assert panel.model.index(1, Column.NAME).data() == "bone"
    demo_window.select_segment(seg.segment_ids[1])
    n = len(seg)
    panel.actions_["add"].trigger()
    settle()
    assert len(seg) == n + 1 and panel.model.rowCount() == n + 1
    new_id = demo_window.current_segment_id()
    assert seg.position(new_id) == 2
    panel.actions_["up"].trigger()
    settle()
    assert seg.position(new_id) == 1 and demo_window.current_segment_id() == new_id
    panel.actions_["remove"].trigger()
    settle()
    assert new_id not in seg and panel.model.rowCount() == n


def test_property_change_repaints_only_its_row(demo_window, qtbot):
    seg = demo_window.segmentation
    model = demo_window.segment_panel.model
    spans = []
    model.dataChanged.connect(lambda a, b, *_: spans.append((a.row(), b.row())))
    resets = []
    model.modelReset.connect(lambda: resets.append(1))
    seg.update_segment(seg.segment_ids[7], visible=False)
    settle()
    assert spans == [(7, 7)] and not resets


def test_voxel_counts_refresh_lazily_once_per_burst(demo_window, qtbot):
    seg = demo_window.segmentation
    model = demo_window.segment_panel.model
    sid = seg.segment_ids[4]
    row = model.row_of(sid)
    before = model.index(row, Column.VOXELS).data()
    spans = []
    model.dataChanged.connect(lambda a, b, *_: spans.append((a.row(), a.column())))
    for z in range(5):                                   # a burst of dabs
        apply_mask(seg, sid, np.ones((2, 2, 1), bool), (slice(30, 32), slice(30, 32), slice(20 + z, 21 + z)),
                   EditMode.ADD)
        settle()
    assert not [s for s in spans if s[1] == Column.VOXELS]
    qtbot.waitUntil(lambda: any(s[1] == Column.VOXELS for s in spans), timeout=COUNT_REFRESH_MS + 5000)
    assert model.index(row, Column.VOXELS).data() != before
    assert model.index(row, Column.VOXELS).data(Qt.ToolTipRole).startswith(f"{seg.voxel_count(sid):,} voxels")


def test_filtering_keeps_the_current_segment_and_visible_selection(demo_window, qtbot):
    panel = demo_window.segment_panel
    seg = demo_window.segmentation
    current = []
    demo_window.current_segment_changed.connect(current.append)
    demo_window.select_segment(seg.segment_ids[5])
    select_rows(panel, [1, 5, 6])
    qtbot.keyClicks(panel.filter_edit, seg.segments[5].name[:6])      # "Left s" or "Right "
    assert panel.model.rowCount() < len(seg)
    assert demo_window.current_segment_id() == seg.segment_ids[5] and current == [seg.segment_ids[5]]
    assert set(panel.selected_ids()) <= {seg.segment_ids[i] for i in (5, 6)}
    panel.filter_edit.clear()
    assert demo_window.current_segment_id() == seg.segment_ids[5]


def test_selecting_a_filtered_out_segment_clears_the_filter(demo_window, qtbot):
    panel = demo_window.segment_panel
    qtbot.keyClicks(panel.filter_edit, "skull")
    assert panel.model.rowCount() == 1
    sid = demo_window.segmentation.segment_ids[20]
    demo_window.select_segment(sid)
    assert panel.filter_edit.text() == "" and demo_window.current_segment_id() == sid
