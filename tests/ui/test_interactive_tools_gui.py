"""Draw, Scissors, Level tracing and Flood fill in the real window: real mouse and key events on a slice view's
viewport (positions computed from lattice points through the view's own mapping), on a file whose axes are
permuted (as the SPL atlas's); voxels compared with independent references, marks shown before the click."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from scipy import ndimage

from app.io import Volume
from app.model.segment_editor_state import ToolKind
from app.model.geometry import Geometry
from app.model.ops.contour import ScissorsShape
from app.model.tool_options import Scope
from app.model.segmentation import Segmentation
from app.ui import segment_editor

from .helpers import grab_rgb
from .test_segment_editor import viewport_point

SHAPE = (40, 12, 36)          # k runs along L/R and i along A/P: the axial view shows (i, k), plane axis j
PERMUTED = ((0, 0, 1), (1, 0, 0), (0, 1, 0))     # columns: i -> P, j -> S, k -> L


@pytest.fixture
def window(make_window):
    seg = Segmentation(Geometry(SHAPE, (1.0, 2.0, 1.0), (0, 0, 0), PERMUTED))
    ids = [seg.add_segment(n).id for n in ("a", "b")]
    seg.layers[0][20:30, :, 10:20] = seg.segment(ids[1]).label
    seg.invalidate_statistics(0)
    seg.history.clear()
    grey = np.zeros(SHAPE, np.float32)
    grey[5:35, :, 4:30] = 100
    grey[15:18, :, 14:17] = 0                          # a hole, filled by level tracing
    win = make_window(size=(1000, 800))
    ed = segment_editor.install(win)
    win.set_document(seg, Volume(grey, seg.geometry, None))
    win.select_segment(ids[0])
    view = win.slice_views[0]
    assert view.plane_axis == 1, "the axial view slices the permuted j axis"
    view.set_slice(6)
    QApplication.processEvents()
    return win, ed, seg, ids, view, grey


def click(view, ijk, button=Qt.LeftButton):
    QTest.mouseClick(view.canvas.viewport(), button, Qt.NoModifier, viewport_point(view, ijk))
    QApplication.processEvents()


def move(view, ijk):
    QTest.mouseMove(view.canvas.viewport(), viewport_point(view, ijk))
    QApplication.processEvents()


def test_draw_with_clicks_backspace_and_enter(window):
    win, ed, seg, ids, view, _ = window
    QTest.keyClick(view, Qt.Key_3)
    assert ed.state.tool is ToolKind.DRAW and ed.panel.tool_buttons[ToolKind.DRAW].isChecked()
    assert "Enter" in ed.panel.tool_options.help.text()
    assert not ed.panel.radius_spin.isVisible() and view.brush_radius_mm is None, "no brush for Draw"
    assert view.canvas.viewport().cursor().shape() == Qt.CrossCursor
    for p in [(4, 6, 4), (4, 6, 12), (12, 6, 12), (30, 6, 30), (12, 6, 4)]:
        click(view, p)
    move(view, (8, 6, 8))
    assert view.tool_marks.path.isVisible(), "the contour is drawn before it is filled"
    QTest.keyClick(view, Qt.Key_Backspace)                # drops (12, 6, 4)
    QTest.keyClick(view, Qt.Key_Backspace)                # drops (30, 6, 30)
    click(view, (12, 6, 4))
    assert seg.voxel_count(ids[0]) == 0
    QTest.keyClick(view, Qt.Key_Return)
    exp = np.zeros(SHAPE, bool)
    exp[4:13, 6, 4:13] = True
    assert np.array_equal(seg.mask(ids[0]), exp)
    assert not view.tool_marks.path.isVisible()
    assert win.editing.undo_action.text() == "Undo Draw"
    QTest.keyClick(view, Qt.Key_Z, Qt.ControlModifier)
    assert seg.voxel_count(ids[0]) == 0


def test_draw_double_click_fills_and_escape_cancels(window):
    win, ed, seg, ids, view, _ = window
    ed.panel.tool_buttons[ToolKind.DRAW].click()
    for p in [(2, 6, 2), (2, 6, 8)]:
        click(view, p)
    QTest.keyClick(view, Qt.Key_Escape)
    assert not ed.tools[ToolKind.DRAW].active and ed.state.tool is ToolKind.DRAW
    for p in [(2, 6, 2), (2, 6, 8), (8, 6, 8)]:
        click(view, p)
    QTest.mouseDClick(view.canvas.viewport(), Qt.LeftButton, Qt.NoModifier, viewport_point(view, (8, 6, 8)))
    QApplication.processEvents()
    ii, kk = np.mgrid[0:SHAPE[0], 0:SHAPE[2]]
    tri = (ii >= 2) & (kk <= 8) & (kk >= ii)           # the triangle (2,2) (2,8) (8,8), edges included
    assert np.array_equal(seg.mask(ids[0])[:, 6, :], tri) and seg.voxel_count(ids[0]) == tri.sum()


def test_scissors_freehand_erases_visible_segments_through_the_volume(window):
    win, ed, seg, ids, view, _ = window
    seg.layers[0][0:40, :, 0:3] = seg.segment(ids[0]).label
    seg.invalidate_statistics(0)
    QTest.keyClick(view, Qt.Key_7)
    assert ed.state.tool is ToolKind.SCISSORS and ed.panel.tool_options.scissors.isVisible()
    assert not ed.panel.tool_options.depth.isEnabled(), "an unlimited cut has no depth"
    ed.panel.tool_options.scope.setCurrentIndex(ed.panel.tool_options.scope.findData(Scope.VISIBLE))
    pts = [(0, 6, 0), (25, 6, 0), (25, 6, 15), (0, 6, 15)]
    vp = view.canvas.viewport()
    QTest.mousePress(vp, Qt.LeftButton, Qt.NoModifier, viewport_point(view, pts[0]))
    for p in pts[1:]:
        QTest.mouseMove(vp, viewport_point(view, p))
    QApplication.processEvents()
    assert view.tool_marks.path.isVisible()
    QTest.mouseRelease(vp, Qt.LeftButton, Qt.NoModifier, viewport_point(view, pts[-1]))
    QApplication.processEvents()
    cut = np.zeros(SHAPE, bool)
    cut[0:26, :, 0:16] = True
    a0 = np.zeros(SHAPE, bool)
    a0[:, :, 0:3] = True
    b0 = np.zeros(SHAPE, bool)
    b0[20:30, :, 10:20] = True
    assert np.array_equal(seg.mask(ids[0]), a0 & ~cut) and np.array_equal(seg.mask(ids[1]), b0 & ~cut)
    assert win.editing.undo_action.text().startswith("Undo Scissors")
    QTest.keyClick(view, Qt.Key_Z, Qt.ControlModifier)
    assert np.array_equal(seg.mask(ids[1]), b0)


def test_scissors_rectangle_from_the_options_panel(window):
    win, ed, seg, ids, view, _ = window
    ed.panel.tool_buttons[ToolKind.SCISSORS].click()
    p = ed.panel.tool_options
    p.shape.setCurrentIndex(p.shape.findData(ScissorsShape.RECTANGLE))
    win.select_segment(ids[1])
    vp = view.canvas.viewport()
    QTest.mousePress(vp, Qt.LeftButton, Qt.NoModifier, viewport_point(view, (22, 6, 12)))
    QTest.mouseMove(vp, viewport_point(view, (27, 6, 15)))
    QTest.mouseRelease(vp, Qt.LeftButton, Qt.NoModifier, viewport_point(view, (27, 6, 15)))
    QApplication.processEvents()
    b0 = np.zeros(SHAPE, bool)
    b0[20:30, :, 10:20] = True
    b0[22:28, :, 12:16] = False
    assert np.array_equal(seg.mask(ids[1]), b0)


def level_reference(g2, seed):
    lab, _ = ndimage.label(g2 >= g2[seed], structure=np.ones((3, 3)))
    return ndimage.binary_fill_holes(lab == lab[seed])


def test_level_tracing_outline_on_hover_then_click(window):
    win, ed, seg, ids, view, grey = window
    QTest.keyClick(view, Qt.Key_4)
    assert ed.state.tool is ToolKind.LEVEL_TRACE
    move(view, (5, 6, 10))
    QApplication.processEvents()                        # the deferred preview runs on the next turn
    QApplication.processEvents()
    assert view.tool_marks.image.isVisible() and view.tool_marks.outline is not None
    outline, rows, cols = view.tool_marks.outline
    region = level_reference(grey[:, 6, :], (5, 10))
    frame = view.frame
    ref_disp = frame.orient(region)[rows, cols]           # the region in screen orientation
    inner = ndimage.binary_erosion(ref_disp, border_value=0)
    assert np.array_equal(outline, ref_disp & ~inner), "the outline is the region's border"
    rgb = grab_rgb(view)
    cyan = np.all(np.abs(rgb.astype(int) - [0, 230, 255]) < 40, axis=2)
    assert cyan.sum() >= outline.sum(), "the outline is painted on the view"
    click(view, (5, 6, 10))
    exp = np.zeros(SHAPE, bool)
    exp[:, 6, :] = region
    b = np.zeros(SHAPE, bool)
    b[20:30, :, 10:20] = True
    assert np.array_equal(seg.mask(ids[0]), exp) and np.array_equal(seg.mask(ids[1]), b & ~exp)


def test_flood_fill_3d_click_and_label_mode(window):
    win, ed, seg, ids, view, grey = window
    QTest.keyClick(view, Qt.Key_8)
    assert ed.state.tool is ToolKind.FLOOD_FILL and ed.panel.tool_options.flood.isVisible()
    ed.panel.tool_options.three_d.setChecked(True)
    move(view, (8, 6, 8))
    QApplication.processEvents()
    QApplication.processEvents()
    assert view.tool_marks.outline is not None
    click(view, (8, 6, 8))
    lab, _ = ndimage.label(np.abs(grey - 100) <= ed.options.flood_tolerance)
    assert np.array_equal(seg.mask(ids[0]), lab == lab[8, 6, 8])
    assert win.editing.undo_action.text() == "Undo Flood fill"
    QTest.keyClick(view, Qt.Key_Z, Qt.ControlModifier)
    p = ed.panel.tool_options
    from app.model.ops.region import FloodRange
    p.flood_mode.setCurrentIndex(p.flood_mode.findData(FloodRange.LABEL))
    win.select_segment(ids[0])
    click(view, (25, 6, 15))                              # inside b: the label region is b
    b = np.zeros(SHAPE, bool)
    b[20:30, :, 10:20] = True
    assert np.array_equal(seg.mask(ids[0]), b) and seg.voxel_count(ids[1]) == 0


def test_the_tool_keys_belong_to_one_action_each_in_the_whole_window(make_window):
    """Every extension installed: keys 3, 4, 7, 8 (and the brushes' 1, 2) select their tool and nothing else."""
    from PySide6.QtGui import QAction

    from app.ui.view_tools.catalog import ENTRIES

    win = make_window(extensions=True)
    owners = {}
    for a in win.findChildren(QAction):
        for seq in a.shortcuts():
            owners.setdefault(seq.toString(), []).append(a.text())
    for e in ENTRIES:
        assert owners.get(e.key) == [e.label], (e.key, owners.get(e.key))
    assert owners.get("1") == ["Paint brush"] and owners.get("2") == ["Erase brush"]


def test_scissors_erase_selected_segments_only(make_window):
    """Three segments; b and c selected in the table (Ctrl-click): a rectangle erases from them only, one step."""
    from PySide6.QtCore import QItemSelectionModel

    seg = Segmentation(Geometry((30, 8, 30), (1.0, 1.0, 1.0)))
    ids = [seg.add_segment(n).id for n in ("a", "b", "c")]
    for n, sid in enumerate(ids):
        seg.layers[0][n * 10:(n + 1) * 10, :, :] = seg.segment(sid).label
    seg.invalidate_statistics(0)
    seg.history.clear()
    win = make_window(size=(1000, 800))
    ed = segment_editor.install(win)
    win.set_document(seg, None)
    view = win.slice_views[0]
    panel = win.segment_panel
    win.select_segment(ids[1])
    sm = panel.table.selectionModel()
    sm.select(panel.index_of(ids[2]), QItemSelectionModel.Select | QItemSelectionModel.Rows)
    QApplication.processEvents()
    assert panel.selected_ids() == ids[1:]
    ed.panel.tool_buttons[ToolKind.SCISSORS].click()
    p = ed.panel.tool_options
    p.shape.setCurrentIndex(p.shape.findData(ScissorsShape.RECTANGLE))
    p.scope.setCurrentIndex(p.scope.findData(Scope.SELECTED))
    k = view.slice_index
    axis = view.plane_axis
    a_, b_ = (x for x in range(3) if x != axis)

    def pt(r, c):
        q = [0, 0, 0]
        q[axis], q[a_], q[b_] = k, r, c
        return viewport_point(view, tuple(q))

    lo, hi = [0, 0, 0], [29, 7, 29]
    vp = view.canvas.viewport()
    QTest.mousePress(vp, Qt.LeftButton, Qt.NoModifier, pt(lo[a_], lo[b_]))
    QTest.mouseMove(vp, pt(hi[a_], hi[b_]))
    QTest.mouseRelease(vp, Qt.LeftButton, Qt.NoModifier, pt(hi[a_], hi[b_]))
    QApplication.processEvents()
    assert seg.voxel_count(ids[0]) == 10 * 8 * 30, "a was not selected: untouched"
    assert seg.voxel_count(ids[1]) == 0 and seg.voxel_count(ids[2]) == 0
    assert len(seg.history.undo_stack) == 1


def _luminance(rgb) -> float:
    """WCAG relative luminance of an sRGB colour (0..255 channels)."""
    c = np.asarray(rgb, float) / 255
    c = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(c @ [0.2126, 0.7152, 0.0722])


def test_the_tool_help_line_is_readable(window):
    """The one-line help under the tool buttons was pale teal (#9cc) on the light grey panel: 1.6:1, hard to read
    in the real window. Rendered, its text must reach WCAG's 4.5:1 against its background."""
    from PySide6.QtGui import QImage

    win, ed, seg, ids, view, _ = window
    QTest.keyClick(view, Qt.Key_4)                                # Level tracing: a long help line
    label = ed.panel.tool_options.help
    assert label.isVisible() and "grey level" in label.text()
    img = label.grab().toImage().convertToFormat(QImage.Format_RGB888)
    arr = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())[:, :img.width() * 3]
    px = arr.reshape(-1, 3)
    colours, counts = np.unique(px, axis=0, return_counts=True)
    background = _luminance(colours[counts.argmax()])
    text = [_luminance(c) for c in colours]
    best = max((max(l, background) + 0.05) / (min(l, background) + 0.05) for l in text)
    assert best >= 4.5, f"help text contrast {best:.2f}:1"
