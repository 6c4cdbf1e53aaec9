"""Editing in the real window: strokes made of real mouse events on a slice view's viewport, at positions computed
from lattice coordinates through the view's own mapping; overwrite modes, locks, editable area, erase-all, undo."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.io import Volume
from app.model.edits import Editable, Overwrite
from app.model.segment_editor_state import BRUSH_SCALE_STEP, ToolKind
from app.model.geometry import Geometry
from app.model.segmentation import Segmentation
from app.ui import segment_editor
from app.ui.segment_table import Column

SHAPE = (60, 50, 12)
B = 20 * 20 * 12          # voxels of segment b (a block through every slice)


def viewport_point(view, ijk) -> QPoint:
    scene = view.view_box.mapViewToScene(view.ijk_to_view(ijk))
    return view.canvas.mapFromScene(scene)


def drag(view, points, modifiers=Qt.NoModifier):
    """Press at the first lattice point, one mouse move per further point, release at the last."""
    vp = view.canvas.viewport()
    pos = [viewport_point(view, p) for p in points]
    QTest.mousePress(vp, Qt.LeftButton, modifiers, pos[0])
    for p in pos[1:]:
        QTest.mouseMove(vp, p)
    QTest.mouseRelease(vp, Qt.LeftButton, modifiers, pos[-1])
    QApplication.processEvents()


@pytest.fixture
def edit_window(make_window):
    """A window with the editing extension on a 60x50x12 segmentation: a, b, c in one layer, b a 20x20 block."""
    seg = Segmentation(Geometry(SHAPE, (1.0, 1.0, 2.0)))
    ids = [seg.add_segment(n).id for n in ("a", "b", "c")]
    seg.layers[0][30:50, 10:30, :] = seg.segment(ids[1]).label
    seg.invalidate_statistics(0)      # written directly: statistics recomputed on demand
    seg.history.clear()
    win = make_window(size=(1000, 800))
    ed = segment_editor.install(win)
    win.set_document(seg, None)
    win.select_segment(ids[0])
    view = win.slice_views[0]
    assert view.plane_axis == 2
    view.set_slice(6)
    QApplication.processEvents()
    return win, ed, seg, ids, view


def paint_line(ed, view, p0, p1, tool=ToolKind.PAINT, radius=3.0):
    ed.state.brush_radius_mm = radius
    ed.panel.tool_buttons[tool].click()
    k = view.slice_index
    drag(view, [(p0[0], p0[1], k), ((p0[0] + p1[0]) / 2, (p0[1] + p1[1]) / 2, k), (p1[0], p1[1], k)])


def test_fast_diagonal_stroke_has_no_gaps_undo_and_redo_by_keyboard(edit_window, qtbot):
    win, ed, seg, ids, view = edit_window
    win.select_segment(ids[2])
    paint_line(ed, view, (3, 3), (56, 46), radius=2.0)       # three mouse events ~37 voxels apart
    a = seg.layers[0][:, :, 6] == seg.segment(ids[2]).label
    t = np.linspace(0, 1, 400)[:, None]
    path = np.rint(np.array([3, 3]) + t * np.array([53, 43])).astype(int)
    assert a[path[:, 0], path[:, 1]].all(), "the stroke has gaps"
    assert seg.voxel_count(ids[2]) == a.sum() > 53 * 3
    assert win.editing.undo_action.isEnabled() and win.editing.undo_action.text() == "Undo Paint"
    before = seg.voxel_count(ids[1])
    assert before < B                                  # the stroke went through b (overwrite all)
    QTest.keyClick(view, Qt.Key_Z, Qt.ControlModifier)
    assert seg.voxel_count(ids[2]) == 0 and seg.voxel_count(ids[1]) == B
    assert win.editing.redo_action.text() == "Redo Paint"
    QTest.keyClick(view, Qt.Key_Y, Qt.ControlModifier)
    assert seg.voxel_count(ids[1]) == before and seg.voxel_count(ids[2]) == a.sum()
    QTest.keyClick(view, Qt.Key_Z, Qt.ControlModifier)
    QTest.keyClick(view, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert seg.voxel_count(ids[2]) == a.sum() and not win.editing.redo_action.isEnabled()
    rgba = view.label_image(0)
    assert (rgba[..., 3] > 0).sum() >= a.sum(), "the view shows the painted voxels"


def _shared_layer_case(ed, view, seg, ids, mode, hide_b=False, lock_b=False):
    if hide_b:
        seg.update_segment(ids[1], visible=False)
    if lock_b:
        seg.update_segment(ids[1], locked=True)
    ed.panel.overwrite.setCurrentIndex(ed.panel.overwrite.findData(mode))
    assert ed.state.overwrite is mode
    paint_line(ed, view, (20, 20), (45, 20), radius=4.0)   # from empty space into b
    mask = seg.mask(ids[0])
    inside_b = np.zeros(SHAPE, bool)
    inside_b[30:50, 10:30, :] = True
    return int(mask.sum()), int((mask & inside_b).sum())


def _layer_column(win, sid):
    model = win.segment_panel.model
    row = next(r for r in range(model.rowCount()) if model.segment_id(r) == sid)
    return model.data(model.index(row, Column.LAYER), Qt.DisplayRole)


@pytest.mark.parametrize("mode, hide_b, b_protected", [
    (Overwrite.ALL, False, False), (Overwrite.VISIBLE, False, False), (Overwrite.VISIBLE, True, True),
    (Overwrite.NONE, False, True)])
def test_overwrite_modes_on_a_shared_layer(edit_window, mode, hide_b, b_protected):
    win, ed, seg, ids, view = edit_window
    painted, in_b = _shared_layer_case(ed, view, seg, ids, mode, hide_b=hide_b)
    assert in_b > 50 and painted > in_b
    b_count = seg.voxel_count(ids[1])
    if b_protected:      # b keeps every voxel, a overlaps it from a second layer
        assert b_count == B and seg.n_layers == 2
        # the Layer column numbers layers as the saved file does (first appearance in the list): a comes first
        assert seg.segment(ids[0]).layer == 1 and str(_layer_column(win, ids[0])) == "0"
        assert _layer_column(win, ids[0]) != _layer_column(win, ids[1])
    else:                # b loses exactly what a took, all in one layer
        assert b_count == B - in_b and seg.n_layers == 1
    assert seg.voxel_count(ids[2]) == 0


def test_a_locked_segment_is_never_painted_over(edit_window):
    win, ed, seg, ids, view = edit_window
    painted, in_b = _shared_layer_case(ed, view, seg, ids, Overwrite.ALL, lock_b=True)
    assert seg.voxel_count(ids[1]) == B and in_b == 0 and painted > 0 and seg.n_layers == 1


def test_editing_a_locked_or_hidden_segment_says_why(edit_window):
    win, ed, seg, ids, view = edit_window
    seg.update_segment(ids[0], locked=True)
    paint_line(ed, view, (10, 10), (20, 10))
    assert seg.voxel_count(ids[0]) == 0 and "locked" in ed.panel.message.text()
    assert "locked" in win.statusBar().currentMessage()
    seg.update_segment(ids[0], locked=False, visible=False)
    paint_line(ed, view, (10, 10), (20, 10))
    assert seg.voxel_count(ids[0]) == 0 and "hidden" in ed.panel.message.text()
    assert not seg.history.can_undo


@pytest.mark.parametrize("area", [Editable.BACKGROUND, Editable.INSIDE_SEGMENT])
def test_paint_only_over(edit_window, area):
    win, ed, seg, ids, view = edit_window
    ed.panel.area.setCurrentIndex(ed.panel.area.findData(area))
    ed.panel.mask_segment.setCurrentIndex(ed.panel.mask_segment.findData(ids[1]))
    assert ed.state.editable is area and ed.panel.mask_segment.isEnabled() == (area is Editable.INSIDE_SEGMENT)
    painted, in_b = _shared_layer_case(ed, view, seg, ids, Overwrite.ALL)
    if area is Editable.BACKGROUND:
        assert in_b == 0 and painted > 0 and seg.voxel_count(ids[1]) == B
    else:
        assert painted == in_b > 0 and seg.voxel_count(ids[1]) == B - in_b
    assert seg.n_layers == 1


def test_erase_and_erase_all_segments(edit_window):
    win, ed, seg, ids, view = edit_window
    ed.panel.overwrite.setCurrentIndex(ed.panel.overwrite.findData(Overwrite.NONE))
    paint_line(ed, view, (25, 20), (45, 20), radius=4.0)        # a overlaps b: second layer
    assert seg.n_layers == 2
    k = view.slice_index
    both = (seg.mask(ids[0]) & seg.mask(ids[1]))[:, :, k].sum()
    assert both > 0
    win.select_segment(ids[1])
    paint_line(ed, view, (40, 20), (40, 20), tool=ToolKind.ERASE, radius=3.0)
    assert seg.voxel_count(ids[1]) == B - 29 and (seg.mask(ids[0])[:, :, k].sum() > both)   # r=3 disc: 29
    a_before = seg.voxel_count(ids[0])
    ed.panel.erase_all.setChecked(True)
    paint_line(ed, view, (32, 20), (32, 20), tool=ToolKind.ERASE, radius=3.0)
    for layer in seg.layers:
        assert not layer[29:36, 17:24, k][np.hypot(*np.mgrid[-3:4, -3:4]) <= 3].any()
    assert seg.voxel_count(ids[0]) < a_before and seg.history.undo_name == "Erase"


def test_shortcuts_tools_brush_segments(edit_window, qtbot):
    win, ed, seg, ids, view = edit_window
    view.setFocus()
    QTest.keyClick(view, Qt.Key_1)
    assert ed.state.tool is ToolKind.PAINT and all(v.tool is ed.tools[ToolKind.PAINT] for v in win.slice_views)
    assert view.brush_radius_mm == ed.state.brush_radius_mm
    QTest.keyClick(view, Qt.Key_2)
    assert view.tool is ed.tools[ToolKind.ERASE] and ed.panel.tool_buttons[ToolKind.ERASE].isChecked()
    r = ed.state.brush_radius_mm
    QTest.keyClick(view, Qt.Key_BracketRight)
    assert ed.state.brush_radius_mm == pytest.approx(r * BRUSH_SCALE_STEP)
    assert ed.panel.radius_spin.value() == pytest.approx(r * BRUSH_SCALE_STEP, abs=0.01)
    QTest.keyClick(view, Qt.Key_BracketLeft)
    assert ed.state.brush_radius_mm == pytest.approx(r)
    QTest.keyClick(view, Qt.Key_Minus)
    assert ed.state.brush_radius_mm == pytest.approx(r / BRUSH_SCALE_STEP)
    QTest.keyClick(view, Qt.Key_Plus)
    assert ed.state.brush_radius_mm == pytest.approx(r)
    vp = view.canvas.viewport()
    centre = QPointF(vp.width() / 2, vp.height() / 2)
    wheel = QWheelEvent(centre, vp.mapToGlobal(centre), QPoint(), QPoint(0, 120), Qt.NoButton, Qt.ShiftModifier,
                        Qt.NoScrollPhase, False)
    index = view.slice_index
    QApplication.sendEvent(vp, wheel)
    assert ed.state.brush_radius_mm == pytest.approx(r * BRUSH_SCALE_STEP) and view.slice_index == index
    QTest.keyClick(view, Qt.Key_W)
    assert win.current_segment_id() == ids[1] and ed.state.active_segment == ids[1]
    QTest.keyClick(view, Qt.Key_Q)
    QTest.keyClick(view, Qt.Key_Q)
    assert ed.state.active_segment == ids[2]                  # wraps around
    QTest.keyClick(view, Qt.Key_Escape)
    assert ed.state.tool is ToolKind.NONE and view.tool is None and view.brush_radius_mm is None


def test_escape_cancels_a_stroke_in_progress(edit_window):
    win, ed, seg, ids, view = edit_window
    ed.panel.tool_buttons[ToolKind.PAINT].click()
    vp = view.canvas.viewport()
    QTest.mousePress(vp, Qt.LeftButton, Qt.NoModifier, viewport_point(view, (10, 10, 6)))
    QTest.mouseMove(vp, viewport_point(view, (20, 12, 6)))
    assert seg.voxel_count(ids[0]) > 0
    QApplication.processEvents()
    live = seg.voxel_count(ids[0])
    assert live > 29 and seg.mask(ids[0])[20, 12, 6], "painting shows before the button is released"
    QTest.keyClick(view, Qt.Key_Escape)
    assert seg.voxel_count(ids[0]) == 0 and not seg.history.can_undo
    assert ed.state.tool is ToolKind.PAINT          # the first Esc only cancels the stroke
    QTest.mouseRelease(vp, Qt.LeftButton, Qt.NoModifier, viewport_point(view, (20, 12, 6)))
    assert seg.voxel_count(ids[0]) == 0


def test_intensity_range_from_the_panel(make_window):
    seg = Segmentation(Geometry((40, 40, 6)))
    sid = seg.add_segment("a").id
    seg.history.clear()
    grey = np.tile(np.arange(40, dtype=np.int16)[:, None, None] * 10, (1, 40, 6))
    win = make_window(size=(1000, 800))
    ed = segment_editor.install(win)
    win.set_document(seg, Volume(grey, seg.geometry, None))
    win.select_segment(sid)
    view = win.slice_views[0]
    ed.panel.intensity.setChecked(True)
    assert (ed.panel.lo.value(), ed.panel.hi.value()) == (0.0, 390.0)
    ed.panel.lo.setValue(100)
    ed.panel.hi.setValue(190)
    assert ed.state.intensity_range == (100.0, 190.0) and ed.state.intensity_masking
    paint_line(ed, view, (5, 20), (35, 20), radius=4.0)
    rows = np.unique(np.argwhere(seg.layers[0])[:, 0])
    assert list(rows) == list(range(10, 20))


def test_undo_memory_setting(make_window):
    win = make_window()
    ed = segment_editor.install(win)
    assert ed.undo_memory_mb() == segment_editor.DEFAULT_UNDO_MB
    ed.set_undo_memory_mb(64)
    assert win.settings.value(segment_editor.UNDO_MEMORY_KEY) in (64, "64")
    seg = Segmentation(Geometry((8, 8, 8)))
    win.set_document(seg, None)
    assert seg.history.budget_bytes == 64 * 2**20


def test_single_key_shortcuts_do_not_steal_typing(edit_window):
    win, ed, seg, ids, view = edit_window
    r, current = ed.state.brush_radius_mm, win.current_segment_id()
    box = win.segment_panel.filter_edit
    box.setFocus()
    QTest.keyClicks(box, "w1q2-[")
    assert box.text() == "w1q2-["
    ed.panel.intensity.setChecked(True)
    ed.panel.lo.setFocus()
    ed.panel.lo.lineEdit().selectAll()
    QTest.keyClicks(ed.panel.lo, "-5")
    assert ed.panel.lo.value() == -5.0
    assert ed.state.brush_radius_mm == r and ed.state.tool is ToolKind.NONE and win.current_segment_id() == current
