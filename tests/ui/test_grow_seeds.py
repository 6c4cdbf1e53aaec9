"""Grow from seeds in the real window: seed strokes are real mouse drags on a slice view; the preview overlay shows
the partition while the document stays untouched; Apply writes it as one undo step; Shift+drag erases seeds, Esc
cancels a stroke, a locked segment cannot be seeded, and without a grey volume the tool says why."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.io import Volume
from app.model.segment_editor_state import ToolKind
from app.model.geometry import Geometry
from app.model.segmentation import Segmentation
from app.ui import segment_editor

from .test_segment_editor import drag, viewport_point

SHAPE = (60, 50, 12)
EDGE = 30                  # the grey volume steps from 0 to 100 between i = 29 and i = 30


@pytest.fixture
def grow_window(make_window):
    geo = Geometry(SHAPE, (1.0, 1.0, 2.0))
    seg = Segmentation(geo)
    ids = [seg.add_segment(n).id for n in ("left", "right", "other")]
    seg.layers[0][40:50, 5:15, :] = seg.segment(ids[2]).label          # "other" sits where "right" will grow
    seg.invalidate_statistics(0)
    seg.history.clear()
    rng = np.random.default_rng(0)
    grey = np.where(np.arange(SHAPE[0])[:, None, None] < EDGE, 0.0, 100.0) + rng.normal(0, 2, SHAPE)
    win = make_window(size=(1100, 800))
    ed = segment_editor.install(win)
    win.set_document(seg, Volume(grey.astype(np.float32), geo, None))
    view = win.slice_views[0]
    assert view.plane_axis == 2
    view.set_slice(6)
    ed.state.brush_radius_mm = 1.0
    ed.panel.tool_buttons[ToolKind.GROW].click()
    QApplication.processEvents()
    return win, ed, seg, ids, view


def seed(win, view, sid, points):
    win.select_segment(sid)
    k = view.slice_index
    drag(view, [(i, j, k) for i, j in points])


def test_seeds_preview_apply_undo(grow_window, qtbot):
    win, ed, seg, ids, view = grow_window
    grow = ed.grow
    assert grow.panel.isVisible()
    layers0 = [a.copy() for a in seg.layers]
    seed(win, view, ids[0], [(10, 20), (15, 25), (20, 30)])
    assert grow.session.seeds.any() and grow.session.box is None        # one class: no partition yet
    assert "at least two" in grow.panel.status.text()
    seed(win, view, ids[1], [(40, 20), (45, 25), (50, 30)])
    qtbot.waitUntil(lambda: grow.session.box is not None)
    box = grow.session.box
    # the seeds' box grown by the 10 mm margin (spacing 1, 1, 2 mm: 10, 10, 5 voxels), clipped
    seeds = np.argwhere(grow.session.seeds)
    lo, hi = seeds.min(0), seeds.max(0) + 1
    pad = (10, 10, 5)
    assert box == tuple(slice(max(0, a - p), min(n, b + p)) for a, b, p, n in zip(lo, hi, pad, SHAPE))
    # the preview: the left class up to the edge, the right class after it (independent: the grey step)
    img = grow.overlay.image(0)
    assert img is not None and img[..., 3].any()
    assert all(np.array_equal(a, b) for a, b in zip(layers0, seg.layers))     # the document is untouched
    assert not seg.history.can_undo
    grow.panel.apply_button.click()
    QApplication.processEvents()
    i = np.arange(SHAPE[0])[:, None, None]
    inbox = np.zeros(SHAPE, bool)
    inbox[box] = True
    assert np.array_equal(seg.mask(ids[0]), inbox & (i < EDGE))
    assert np.array_equal(seg.mask(ids[1]), inbox & (i >= EDGE))
    other = layers0[0] == seg.segment(ids[2]).label
    assert np.array_equal(seg.mask(ids[2]), other & ~inbox)               # overwrite all: "right" took its voxels
    assert len(seg.history.undo_stack) == 1 and ed.undo_action.text() == "Undo Grow from seeds (2 segments)"
    assert grow.session is None and grow.overlay.image(0) is None      # seeds and preview are gone
    ed.undo_action.trigger()
    assert all(np.array_equal(a, b) for a, b in zip(layers0, seg.layers))     # undo is bit-exact


def test_local_update_after_a_stroke_and_shift_drag_erases_seeds(grow_window, qtbot):
    win, ed, seg, ids, view = grow_window
    grow = ed.grow
    seed(win, view, ids[0], [(10, 20), (20, 30)])
    seed(win, view, ids[1], [(40, 20), (50, 30)])
    qtbot.waitUntil(lambda: grow.session.box is not None)
    seed(win, view, ids[0], [(25, 22), (28, 26)])          # inside the seeds' box: only adds seeds
    assert grow.session.last_update == "local"
    n = int(np.count_nonzero(grow.session.seeds))
    k = view.slice_index
    drag(view, [(10, 20, k), (20, 30, k)], Qt.ShiftModifier)
    assert 0 < np.count_nonzero(grow.session.seeds) < n
    assert grow.session.last_update == "full"


def test_escape_cancels_a_seed_stroke(grow_window, qtbot):
    win, ed, seg, ids, view = grow_window
    grow = ed.grow
    win.select_segment(ids[0])
    k = view.slice_index
    vp = view.canvas.viewport()
    QTest.mousePress(vp, Qt.LeftButton, Qt.NoModifier, viewport_point(view, (10, 10, k)))
    QTest.mouseMove(vp, viewport_point(view, (20, 20, k)))
    assert grow.session.seeds.any() and grow.tool.active
    QTest.keyClick(view, Qt.Key_Escape)
    assert not grow.session.seeds.any() and not grow.tool.active
    QTest.mouseRelease(vp, Qt.LeftButton, Qt.NoModifier, viewport_point(view, (20, 20, k)))


def test_locked_segment_cannot_be_seeded_and_background_seeds_work(grow_window, qtbot):
    win, ed, seg, ids, view = grow_window
    grow = ed.grow
    seg.update_segment(ids[0], locked=True)
    seed(win, view, ids[0], [(10, 20), (20, 30)])
    assert grow.session is None or not grow.session.seeds.any()
    assert "locked" in ed.panel.message.text()
    seed(win, view, ids[1], [(40, 20), (50, 30)])
    grow.panel.seed_mode.setCurrentIndex(grow.panel.seed_mode.findText("Background"))
    seed(win, view, ids[1], [(10, 20), (20, 30)])
    qtbot.waitUntil(lambda: grow.session.box is not None)
    grow.panel.apply_button.click()
    i = np.arange(SHAPE[0])[:, None, None]
    assert seg.voxel_count(ids[1]) > 0 and not np.any(seg.mask(ids[1]) & (i < EDGE))


def test_without_a_grey_volume_the_tool_says_why(make_window):
    seg = Segmentation(Geometry(SHAPE, (1.0, 1.0, 2.0)))
    sid = seg.add_segment("a").id
    win = make_window()
    ed = segment_editor.install(win)
    win.set_document(seg, None)
    win.select_segment(sid)
    ed.set_tool(ToolKind.GROW)
    view = win.slice_views[0]
    drag(view, [(10, 10, 6), (20, 20, 6)])
    assert "grey" in ed.panel.message.text() and ed.grow.session is None


def test_g_key_picks_the_tool_and_no_other_action_uses_it(grow_window):
    win, ed, seg, ids, view = grow_window
    ed.set_tool(ToolKind.NONE)
    view.setFocus()
    QTest.keyClick(view, Qt.Key_G)
    assert ed.state.tool is ToolKind.GROW
    from PySide6.QtGui import QAction, QKeySequence

    keys = [s.toString() for a in win.findChildren(QAction) for s in a.shortcuts()]
    assert keys.count(QKeySequence("G").toString()) == 1
