"""The Tools dock driven through its real widgets: select segments in the table (Ctrl+click), set parameters,
Preview (overlay on the slice views, nothing changed), Apply (one undo step, same result as the model function),
Undo; threshold's live histogram preview; picking an island with a click; locks and errors reported in words."""
from __future__ import annotations

import traceback

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.model import ops
from app.model.segmentation import Segmentation
from app.ui.operations_panel.overlay import COLOURS, GAINED, IN_RANGE


@pytest.fixture
def tools_window(demo_window):
    from app.ui import segment_editor, operations_panel

    segment_editor.install(demo_window)
    operations_panel.install(demo_window)
    return demo_window


def _copy(seg):
    return Segmentation.from_layers(seg.geometry, [a.copy() for a in seg.layers], [s.copy() for s in seg.segments])


def _ctrl_click_rows(qtbot, win, ids):
    sp = win.segment_panel
    win.select_segment(ids[0])
    for sid in ids[1:]:
        idx = sp.index_of(sid, 0)
        sp.table.scrollTo(idx)
        qtbot.mouseClick(sp.table.viewport(), Qt.LeftButton, Qt.ControlModifier, sp.table.visualRect(idx).center())
    assert sorted(sp.selected_ids()) == sorted(ids)


def _colour_pixels(img, code):
    return 0 if img is None else int(np.all(img == COLOURS[code], axis=-1).sum())


def test_install_adds_the_dock_and_the_tools_menu(tools_window):
    win = tools_window
    panel = win.tools_panel
    texts = [a.text() for a in win.menu("Tools").actions()]
    assert texts[:6] == ["Threshold...", "Islands...", "Margin...", "Smoothing...", "Logical operations...",
                         "Fill between slices..."]
    win.menu("Tools").actions()[2].trigger()
    assert panel.dock.isVisible() and panel.current_page().title == "Margin"
    assert panel.tool_combo.currentText() == "Margin"
    assert panel.actions["Preview tool result"].shortcut().toString() == "Ctrl+Shift+P"
    assert panel.actions["Apply tool"].shortcut().toString() == "Ctrl+Shift+Return"


def test_preview_and_apply_from_the_keyboard(tools_window, qtbot):
    win = tools_window
    seg = win.segmentation
    panel = win.tools_panel
    sid = seg.segment_ids[7]
    win.select_segment(sid)
    panel.set_page(2)
    panel.current_page().distance.setValue(5.0)
    view = win.slice_views[0]
    view.setFocus()
    qtbot.keyClick(view, Qt.Key_P, Qt.ControlModifier | Qt.ShiftModifier)
    assert panel._plan is not None and panel.overlay.shown
    panel.preview_button.setFocus()
    qtbot.keyClick(panel.preview_button, Qt.Key_Escape)
    assert panel._plan is None and not panel.overlay.shown
    n = seg.voxel_count(sid)
    qtbot.keyClick(view, Qt.Key_Return, Qt.ControlModifier | Qt.ShiftModifier)
    assert seg.voxel_count(sid) > n and seg.history.undo_name == "Grow by 5 mm"


def test_margin_on_selected_segments_preview_apply_undo(tools_window, qtbot):
    win = tools_window
    seg = win.segmentation
    panel = win.tools_panel
    ids = seg.segment_ids[5:9]
    _ctrl_click_rows(qtbot, win, ids)
    panel.set_page(2)
    page = panel.current_page()
    page.distance.setValue(4.0)
    before = [a.copy() for a in seg.layers]
    qtbot.mouseClick(panel.preview_button, Qt.LeftButton)
    assert all(np.array_equal(a, b) for a, b in zip(before, seg.layers))      # a preview changes nothing
    assert "Press Apply" in panel.summary.text() and "Grow by 4 mm (4 segments)" in panel.summary.text()
    shown = [_colour_pixels(panel.overlay.image(n), GAINED) for n in range(3)]
    assert sum(shown) > 0
    expected = _copy(seg)
    ops.margin(expected, ids, 4.0)
    qtbot.mouseClick(panel.apply_button, Qt.LeftButton)
    assert all(np.array_equal(a, b) for a, b in zip(expected.layers, seg.layers))
    assert seg.history.undo_name.startswith("Grow by 4 mm") and len(seg.history.undo_stack) == 1
    assert panel.overlay.image(0) is None and "voxels changed" in panel.summary.text()
    win.editing.undo_action.trigger()                      # Edit > Undo
    assert all(np.array_equal(a, b) for a, b in zip(before, seg.layers))


def test_a_parameter_change_makes_the_preview_stale(tools_window, qtbot):
    win = tools_window
    panel = win.tools_panel
    win.select_segment(win.segmentation.segment_ids[4])
    panel.set_page(3)
    page = panel.current_page()
    page.method.setCurrentIndex(3)          # Gaussian
    page.size.setValue(3.0)
    assert panel.preview()
    assert panel._plan is not None
    page.size.setValue(4.0)
    assert panel._plan is None and "out of date" in panel.summary.text()
    assert panel.preview()
    win.select_segment(win.segmentation.segment_ids[6])       # another segment: that preview is stale too
    assert panel._plan is None and "out of date" in panel.summary.text()


def test_threshold_live_preview_follows_the_range_and_applies_into_the_current_segment(tools_window, qtbot):
    win = tools_window
    seg = win.segmentation
    panel = win.tools_panel
    sid = seg.segment_ids[3]
    win.select_segment(sid)
    panel.set_page(0)
    page = panel.current_page()
    grey = panel.grey()
    assert grey is win.reference.array                       # same lattice: no resampling
    page.lo.setValue(320.0)
    page.hi.setValue(360.0)
    assert page.region.getRegion() == (320.0, 360.0)
    page.live_preview()
    n = int(np.count_nonzero((grey >= 320) & (grey <= 360)))
    assert f"{n:,} voxels in range" in page.count_label.text()
    view = win.slice_views[0]
    expected = view.frame.extract((grey >= 320) & (grey <= 360), view.slice_index)
    assert _colour_pixels(panel.overlay.image(0), IN_RANGE) == int(expected.sum()) > 0
    page.region.setRegion((330.0, 350.0))                   # dragging the histogram range moves the spin boxes
    assert (page.lo.value(), page.hi.value()) == (330.0, 350.0)
    assert panel.apply()
    assert np.array_equal(seg.mask(sid), (grey >= 330) & (grey <= 350))


def test_pick_an_island_with_a_click_in_a_view(tools_window, qtbot):
    win = tools_window
    seg = win.segmentation
    panel = win.tools_panel
    sid = seg.segment_ids[10]
    box = seg.bounding_box(sid)
    island = seg.mask(sid, box).copy()
    from app.model.edits import EditMode, apply_mask

    far = tuple(slice(0, 2) for _ in range(3))             # a second island of the segment, far away
    apply_mask(seg, sid, np.ones((2, 2, 2), bool), far, EditMode.ADD)
    seg.history.clear()
    win.select_segment(sid)
    panel.set_page(1)
    page = panel.current_page()
    page.mode.setCurrentIndex(3)                            # keep the island under a click
    view = win.slice_views[0]
    old_tool = view.tool
    qtbot.mouseClick(page.pick_button, Qt.LeftButton)
    assert view.tool is not old_tool and view.tool.name == "pick island"
    ijk = np.argwhere(seg.mask(sid, box))[0] + [b.start for b in box]
    view.set_slice(int(ijk[view.plane_axis]))
    pos = view.canvas.mapFromScene(view.view_box.mapViewToScene(view.ijk_to_view(tuple(ijk))))
    qtbot.mouseClick(view.canvas.viewport(), Qt.LeftButton, Qt.NoModifier, pos)
    assert view.tool is old_tool                           # the views' tools are back
    assert page.ijk == tuple(int(c) for c in ijk)
    assert panel._plan is not None and "Keep island at" in panel.summary.text()
    assert panel.apply()
    assert seg.voxel_count(sid) == int(island.sum())
    assert not seg.mask(sid, far).any()


def test_locked_segments_are_left_alone_and_reported(tools_window, qtbot):
    win = tools_window
    seg = win.segmentation
    panel = win.tools_panel
    ids = seg.segment_ids[2:6]
    seg.update_segment(ids[1], locked=True)
    locked_before = seg.mask(ids[1]).copy()
    _ctrl_click_rows(qtbot, win, ids)
    panel.set_page(3)
    page = panel.current_page()
    page.method.setCurrentIndex(4)                          # joint smoothing
    page.size.setValue(3.0)
    assert panel.preview() and "locked, left alone" in panel.summary.text()
    assert panel.apply() and "locked segment(s) left alone" in panel.summary.text()
    assert np.array_equal(seg.mask(ids[1]), locked_before)


def test_the_segment_editor_overwrite_mode_is_honoured(tools_window, qtbot):
    from app.model.edits import Overwrite

    win = tools_window
    seg = win.segmentation
    panel = win.tools_panel
    win.editing.state.overwrite = Overwrite.NONE          # "Allow overlap": grow over neighbours on a new layer
    sid = seg.segment_ids[20]
    others = {s: seg.mask(s).copy() for s in seg.segment_ids if s != sid}
    win.select_segment(sid)
    panel.set_page(2)
    panel.current_page().distance.setValue(6.0)
    assert panel.apply()
    assert all(np.array_equal(seg.mask(s), m) for s, m in others.items())
    assert seg.segment(sid).layer == 1


def test_errors_are_one_sentence_and_change_nothing(make_window, qtbot):
    from app.ui import operations_panel

    win = make_window()
    panel = operations_panel.install(win)
    assert not panel.preview()
    assert "open or create a segmentation" in panel.summary.text()
    from app.model.demo import demo_atlas

    seg, _ = demo_atlas((32, 32, 28), 10, with_grey=False)
    win.set_document(seg, None)
    win.select_segment(seg.segment_ids[0])
    panel.set_page(0)
    assert not panel.apply()
    assert "needs a reference volume" in panel.summary.text()
    panel.set_page(4)
    panel.current_page().op.setCurrentIndex(2)              # subtract the modifier ...
    panel.current_page().modifier.setCurrentIndex(0)        # ... from itself
    assert not panel.apply() and "cannot also be" in panel.summary.text()
    assert not seg.history.undo_stack


def test_a_bug_in_a_tool_run_is_shown_and_logged_with_its_traceback(tools_window, monkeypatch, caplog):
    win = tools_window
    panel = win.tools_panel
    win.select_segment(win.segmentation.segment_ids[4])
    panel.set_page(3)
    page = panel.current_page()

    def broken_job():
        def job(seg, ids, progress):
            return {}["no such key"]                 # a bug, not a refusal
        return job

    monkeypatch.setattr(page, "job", broken_job)
    with caplog.at_level("ERROR", logger="app.ui.operations_panel.panel"):
        assert not panel.preview()
    assert f"{page.title} failed" in panel.summary.text()
    rec = next(r for r in caplog.records if r.name == "app.ui.operations_panel.panel")
    assert rec.exc_info and rec.exc_info[0] is KeyError
    trace = "".join(traceback.format_exception(*rec.exc_info))
    assert "in job" in trace and "no such key" in trace                 # the frame where the bug is
    assert not win.segmentation.history.undo_stack


def test_fill_between_slices_along_the_axis_of_a_view(tools_window, qtbot):
    win = tools_window
    seg = win.segmentation
    panel = win.tools_panel
    from app.model.edits import EditMode, apply_mask

    sid = seg.add_segment("drawn", new_layer=True).id
    axis = win.slice_views[0].plane_axis
    for t in (10, 20):
        box = [slice(20, 30), slice(20, 30), slice(20, 30)]
        box[axis] = slice(t, t + 1)
        apply_mask(seg, sid, np.ones([b.stop - b.start for b in box], bool), tuple(box), EditMode.ADD)
    seg.history.clear()
    qtbot.waitUntil(lambda: win.segment_panel.model.row_of(sid) is not None)   # the table heard of it
    win.select_segment(sid)
    panel.set_page(5)
    page = panel.current_page()
    page.axis.setCurrentIndex(page.axis.findData(axis))
    expected = _copy(seg)
    ops.fill_between_slices(expected, [sid], axis)
    assert panel.preview(), panel.summary.text()
    assert panel.apply()
    assert np.array_equal(seg.mask(sid), expected.mask(sid))
    assert seg.voxel_count(sid) == 11 * 100


def test_threshold_with_a_reference_on_another_lattice_uses_nearest_neighbour(tools_window, qtbot):
    from app.io import Volume
    from app.model.geometry import Geometry
    from app.model.resample import nearest_on_lattice

    win = tools_window
    seg = win.segmentation
    panel = win.tools_panel
    g = seg.geometry
    coarse = Geometry(tuple(n // 2 for n in g.shape), tuple(2 * s for s in g.spacing), g.origin)
    grey = np.random.default_rng(3).integers(0, 100, coarse.shape).astype(np.int16)
    win.set_reference(Volume(grey, coarse, None))
    sid = seg.segment_ids[3]
    win.select_segment(sid)
    panel.set_page(0)
    page = panel.current_page()
    on_lattice = panel.grey()
    assert on_lattice.shape == g.shape
    assert np.array_equal(on_lattice, nearest_on_lattice(grey, coarse, g), equal_nan=True)
    page.lo.setValue(10.0)
    page.hi.setValue(30.0)
    assert panel.apply()
    assert np.array_equal(seg.mask(sid), (on_lattice >= 10) & (on_lattice <= 30))


def test_the_threshold_preview_leaves_the_views_when_another_tab_is_in_front(tools_window, qtbot):
    """The default layout puts Tools and the Segment editor in one tabbed dock: a live threshold tint must not
    stay on the views while the user paints from the other tab."""
    win = tools_window
    panel = win.tools_panel
    panel.set_page(0)
    page = panel.current_page()
    page.lo.setValue(320.0)
    page.hi.setValue(360.0)
    page.live_preview()
    assert panel.overlay.shown
    win.tabifyDockWidget(panel.dock, win.editing.dock)
    win.editing.dock.raise_()
    qtbot.waitUntil(lambda: not panel.overlay.shown)
    assert _colour_pixels(panel.overlay.image(0), IN_RANGE) == 0
    panel.dock.raise_()
    qtbot.waitUntil(lambda: panel.overlay.shown)
    assert _colour_pixels(panel.overlay.image(0), IN_RANGE) > 0
