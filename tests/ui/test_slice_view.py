"""Slice views on real widgets: stepping, linked cursor, hover text, Ctrl+click, tools, partial redraws,
window/level, pan and zoom, the demo atlas's orientation, a reference on another lattice."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent

from app.io import Volume
from app.model.edits import EditMode, EditPolicy, Overwrite, apply_mask
from app.model.geometry import Geometry
from app.render.overlay import colour_labels
from app.render.view_orientation import Plane

from .helpers import colour_pixels, grab_rgb, settle, widget_xy


def point_of(view, ijk) -> QPoint:
    x, y = widget_xy(view, ijk)
    return QPoint(int(x), int(y))


def test_keys_wheel_and_slider_step_slices_and_move_the_linked_cursor(demo_window, qtbot):
    ax, co, sa = demo_window.slice_views
    start = ax.slice_index
    ax.setFocus()
    qtbot.keyClick(ax, Qt.Key_Up)
    qtbot.keyClick(ax, Qt.Key_PageUp)
    assert ax.slice_index == start + 11
    qtbot.keyClick(ax, Qt.Key_Down)
    assert ax.slice_index == start + 10
    assert demo_window.display.cursor[ax.plane_axis] == start + 10
    ev = QWheelEvent(QPointF(50, 50), QPointF(ax.canvas.mapToGlobal(QPoint(50, 50))), QPoint(0, 0),
                     QPoint(0, -240), Qt.NoButton, Qt.NoModifier, Qt.NoScrollPhase, False)
    ax.canvas.wheelEvent(ev)
    assert ax.slice_index == start + 8
    ax.slider.setValue(3)
    assert ax.slice_index == 3
    ax.set_slice(10_000)
    assert ax.slice_index == ax.frame.n_slices - 1


def test_click_moves_the_cursor_and_the_other_views_follow(demo_window, qtbot):
    ax, co, sa = demo_window.slice_views
    target = (10, 20, ax.slice_index)
    qtbot.mouseClick(ax.canvas.viewport(), Qt.LeftButton, Qt.NoModifier, point_of(ax, target))
    settle()
    assert co.slice_index == 20 and sa.slice_index == 10
    voxel_mm = co.frame.pixel_mm[1]
    assert abs(co.crosshair.lines[0].value() - co.ijk_to_view((10, 20, ax.slice_index)).x()) < voxel_mm / 2


def test_hover_names_every_segment_under_the_cursor_in_every_layer(demo_window, qtbot):
    seg = demo_window.segmentation
    ax = demo_window.slice_views[0]
    ijk = (32, 32, ax.slice_index)
    under = seg.segments_at_voxel(ijk)
    assert len(under) == 1
    extra = seg.add_segment("overlapping blob", new_layer=True)
    box = tuple(slice(c - 2, c + 3) for c in ijk)
    apply_mask(seg, extra.id, np.ones((5, 5, 5), bool), box, EditMode.ADD, EditPolicy(overwrite=Overwrite.NONE))
    assert seg.n_layers == 2
    settle()
    texts = []
    ax.hover_text.connect(texts.append)
    qtbot.mouseMove(ax.canvas.viewport(), point_of(ax, ijk))
    qtbot.waitUntil(lambda: bool(texts))
    assert seg.segment(under[0]).name in texts[-1] and "overlapping blob" in texts[-1]
    assert "ijk (32, 32," in texts[-1] and "grey" in texts[-1]
    assert demo_window.hover_label.text() == texts[-1]


def test_ctrl_click_selects_the_segment_under_the_cursor(demo_window, qtbot):
    seg = demo_window.segmentation
    ax = demo_window.slice_views[0]
    ijk = (40, 25, ax.slice_index)
    sid = seg.segments_at_voxel(ijk)[0]
    qtbot.mouseClick(ax.canvas.viewport(), Qt.LeftButton, Qt.ControlModifier, point_of(ax, ijk))
    assert demo_window.current_segment_id() == sid


class RecordingTool:
    name = "recorder"

    def __init__(self, take=True):
        self.take = take
        self.calls = []

    def press(self, ijk, ctx):
        self.calls.append(("press", ijk, ctx))
        return self.take

    def drag(self, ijk, ctx):
        self.calls.append(("drag", ijk, ctx))
        return True

    def release(self, ijk, ctx):
        self.calls.append(("release", ijk, ctx))
        return True

    def cancel(self):
        self.calls.append(("cancel",))


def test_left_button_goes_to_the_tool_as_continuous_ijk(demo_window, qtbot):
    ax, co, sa = demo_window.slice_views
    tool = RecordingTool()
    co.set_tool(tool)
    cursor_before = demo_window.display.cursor.copy()
    a, b = (20, co.slice_index, 30), (24, co.slice_index, 26)
    vp = co.canvas.viewport()
    qtbot.mousePress(vp, Qt.LeftButton, Qt.ShiftModifier, point_of(co, a))
    qtbot.mouseMove(vp, point_of(co, b))
    qtbot.mouseRelease(vp, Qt.LeftButton, Qt.NoModifier, point_of(co, b))
    kinds = [c[0] for c in tool.calls]
    assert kinds[0] == "press" and kinds[-1] == "release" and "drag" in kinds
    press = tool.calls[0]
    assert np.allclose(press[1], a, atol=0.6) and press[2].plane_axis == co.plane_axis == 1
    assert press[2].slice_index == co.slice_index and press[2].shift
    assert np.allclose(tool.calls[-1][1], b, atol=0.6)
    assert np.array_equal(demo_window.display.cursor, cursor_before)      # the tool took the drag
    co.set_tool(None)
    qtbot.mouseClick(vp, Qt.LeftButton, Qt.NoModifier, point_of(co, a))
    assert len(tool.calls) == len(kinds)


def test_escape_cancels_a_stroke(demo_window, qtbot):
    ax = demo_window.slice_views[0]
    tool = RecordingTool()
    ax.set_tool(tool)
    vp = ax.canvas.viewport()
    qtbot.mousePress(vp, Qt.LeftButton, Qt.NoModifier, point_of(ax, (30, 30, ax.slice_index)))
    qtbot.keyClick(ax, Qt.Key_Escape)
    assert tool.calls[-1] == ("cancel",)


def test_brush_outline_follows_the_cursor(demo_window, qtbot):
    ax = demo_window.slice_views[0]
    ax.set_brush_outline(5.0)
    qtbot.mouseMove(ax.canvas.viewport(), point_of(ax, (30, 30, ax.slice_index)))
    qtbot.waitUntil(ax.brush_outline.item.isVisible)
    r = ax.brush_outline.item.rect()
    assert abs(r.width() - 10.0) < 1e-6
    centre = ax.view_to_ijk(r.center())
    assert np.allclose(centre[:2], (30, 30), atol=0.6)
    ax.set_brush_outline(None)
    assert not ax.brush_outline.item.isVisible()


def test_painting_redraws_only_the_box_and_equals_a_full_render(demo_window, qtbot):
    seg = demo_window.segmentation
    views = demo_window.slice_views
    sid = seg.segment_ids[10]
    k = views[0].slice_index
    box = (slice(20, 30), slice(12, 19), slice(k - 1, k + 2))
    settle()
    image = views[0]._labels.images[0]
    POISON = np.uint32(0x01020304)         # alpha 1 under colour 2..4: never produced by a premultiplied table
    image[...] = POISON                    # every pixel the edit's redraw writes loses the poison
    apply_mask(seg, sid, np.ones((10, 7, 3), bool), box, EditMode.ADD)
    settle()
    d = demo_window.display
    written = np.argwhere(views[0]._labels.images[0] != POISON)
    rows, cols = views[0].frame.display_range(box)
    n_box = (rows.stop - rows.start) * (cols.stop - cols.start)
    assert n_box <= len(written) <= (rows.stop - rows.start + 2) * (cols.stop - cols.start + 2)   # box + outline ring
    assert written[:, 0].min() >= rows.start - 1 and written[:, 0].max() <= rows.stop
    assert written[:, 1].min() >= cols.start - 1 and written[:, 1].max() <= cols.stop
    full0 = colour_labels(views[0].frame.extract(seg.layers[0], k), d.luts.luts[0], d.style)
    w = tuple(written.T)
    assert np.array_equal(views[0]._labels.images[0][w], full0[w])         # what was written is right
    for v in views[1:]:
        full = colour_labels(v.frame.extract(seg.layers[0], v.slice_index), d.luts.luts[0], d.style)
        assert np.array_equal(v._labels.images[0], full), v.plane
    lab = seg.segment(sid).label
    assert (views[0].frame.extract(seg.layers[0], k)[views[0].frame.display_range(box)] == lab).all()


def test_right_drag_changes_window_level_and_middle_drag_pans(demo_window, qtbot):
    ax = demo_window.slice_views[0]
    d = demo_window.display
    w0, l0 = d.window, d.level
    vp = ax.canvas.viewport()
    qtbot.mousePress(vp, Qt.RightButton, Qt.NoModifier, QPoint(100, 100))
    qtbot.mouseMove(vp, QPoint(160, 80))
    qtbot.mouseRelease(vp, Qt.RightButton, Qt.NoModifier, QPoint(160, 80))
    assert d.window > w0 and d.level > l0
    before = ax.view_box.viewRange()
    qtbot.mousePress(vp, Qt.MiddleButton, Qt.NoModifier, QPoint(100, 100))
    qtbot.mouseMove(vp, QPoint(140, 100))
    qtbot.mouseRelease(vp, Qt.MiddleButton, Qt.NoModifier, QPoint(140, 100))
    after = ax.view_box.viewRange()
    assert after[0][0] < before[0][0] and abs(after[1][0] - before[1][0]) < 1e-6
    ax.setFocus()
    qtbot.keyClick(ax, Qt.Key_R)
    assert np.allclose(ax.view_box.viewRange(), before, atol=1e-3)


def test_demo_atlas_left_structures_on_the_viewers_right(demo_window):
    """Radiological convention: segments named "Left ..." (at +i, patient left in LPS) on the screen's right."""
    seg = demo_window.segmentation
    left = [s.id for s in seg.segments if s.name.startswith("Left")]
    right = [s.id for s in seg.segments if s.name.startswith("Right")]
    seg.update_segments(left, color=(1, 0, 0))
    seg.update_segments(right, color=(0, 0, 1))
    seg.update_segments([s.id for s in seg.segments[:2]], visible=False)       # skin, skull
    demo_window.display.set_style(outline=False, fill_opacity=1.0)
    demo_window.set_reference(None)
    settle()
    for plane in (Plane.AXIAL, Plane.CORONAL):
        rgb = grab_rgb(demo_window.view(plane))
        (_, rx), (_, bx) = colour_pixels(rgb, (255, 0, 0)), colour_pixels(rgb, (0, 0, 255))
        assert len(rx) > 100 and len(bx) > 100
        assert rx.mean() > bx.mean() + 10, plane


def test_reference_on_another_lattice_is_aligned_in_physical_space(make_window, demo):
    seg0, grey = demo
    from .helpers import copy_segmentation

    seg = copy_segmentation(seg0)
    g = seg.geometry
    # the same grey, stored with permuted axes and its own origin: must look identical under the segmentation
    perm = np.transpose(grey, (1, 2, 0))
    directions = np.array(g.directions)[:, [1, 2, 0]]
    ref_geo = Geometry(perm.shape, tuple(np.array(g.spacing)[[1, 2, 0]]), g.origin, directions)
    win = make_window()
    win.set_document(seg, Volume(perm, ref_geo, None))
    assert not win.display.ref.same_lattice
    for v in win.slice_views:
        shown = win.display.ref.slice(v.frame, v.slice_index)
        assert np.array_equal(shown, v.frame.extract(grey, v.slice_index))


def test_new_segmentation_on_the_reference_lattice(make_window, demo):
    _, grey = demo
    geo = Geometry(grey.shape, (1.0, 1.2, 1.4), (5.0, 6.0, 7.0))
    win = make_window()
    win.set_reference(Volume(grey, geo, None))
    assert win.segmentation is None and win.slice_views[0].frame is not None
    win.files.actions["New segmentation"].trigger()
    assert win.segmentation is not None and win.segmentation.geometry == geo and len(win.segmentation) == 0
    assert not win.is_modified()


def test_fill_and_outline_toggles_and_window_presets_from_the_panel(demo_window):
    from app.render.overlay import boundary
    from app.ui.display import WINDOW_PRESETS

    win = demo_window
    ax = win.slice_views[0]
    labels = ax.frame.extract(win.segmentation.layers[0], ax.slice_index)
    edge = boundary(labels) & (labels > 0)
    inside = ~boundary(labels) & (labels > 0)
    alpha = ax.label_image()[..., 3]
    assert (alpha[inside] == round(0.5 * 255)).all() and (alpha[edge] == 255).all()
    win.display_panel.fill_box.setChecked(False)
    alpha = ax.label_image()[..., 3]
    assert (alpha[inside] == 0).all() and (alpha[edge] == 255).all() and not win.fill_action.isChecked()
    win.display_panel.outline_slider.setValue(40)
    assert (ax.label_image()[..., 3][edge] == round(0.4 * 255)).all()
    win.outline_action.trigger()                            # View > Outline off: nothing left
    assert not ax.label_image()[..., 3].any() and not win.display_panel.outline_box.isChecked()
    grey_before = ax.grey_item.array.copy()
    win.display_panel.preset_box.setCurrentIndex(3)
    win.display_panel.preset_box.activated.emit(3)
    assert (win.display.window, win.display.level) == WINDOW_PRESETS[2][1:]
    assert not np.array_equal(ax.grey_item.array, grey_before)


def test_a_hidden_view_catches_up_with_edits_when_shown(demo_window):
    """Single-view layout: the other views skip drawing; edits made meanwhile (on their slice or a neighbour of it)
    show when the layout brings them back."""
    from app.ui.main_window import Layout

    win, seg = demo_window, demo_window.segmentation
    d = win.display
    win.set_layout(Layout.AXIAL)
    sag = win.view(Plane.SAGITTAL)
    assert not sag.isVisible()
    i = sag.slice_index
    sid = seg.segment_ids[12]
    box = (slice(i - 1, i + 2), slice(10, 20), slice(10, 20))
    apply_mask(seg, sid, np.ones((3, 10, 10), bool), box, EditMode.ADD)
    settle()
    win.set_layout(Layout.ONE_PLUS_TWO)
    settle()
    for index in (i, i + 1):
        sag.set_slice(index)
        full = colour_labels(sag.frame.extract(seg.layers[0], index), d.luts.luts[0], d.style)
        assert np.array_equal(sag._labels.images[0], full)
        assert (sag.frame.extract(seg.layers[0], index) == seg.segment(sid).label).sum() >= 100
