"""The SPL brain atlas (304 labels, permuted axes) in the real window: open with its table, filter, hide,
layer column, collapse, and the anatomical (radiological) orientation of the three views."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.render.view_orientation import Plane
from app.ui.segment_table import Column
from tests.conftest import shared_file

from .helpers import best_slice, colour_pixels, copy_segmentation, grab_rgb, settle, widget_xy

ATLAS = ("spl-brain-atlas", "hncma-atlas_2014-11_304labels.nrrd")
TABLE = ("spl-brain-atlas", "hncma-atlas-lut_2014-11.ctbl")
RED, BLUE = (255, 0, 0), (0, 0, 255)


@pytest.fixture(scope="module")
def spl():
    from app import io

    return io.open_segmentation(shared_file(*ATLAS), labels=shared_file(*TABLE))


@pytest.fixture
def spl_window(make_window, spl):
    win = make_window(size=(1200, 900))
    win.set_document(copy_segmentation(spl), None)
    settle()
    return win


def by_name(seg, name):
    s = seg.segment_by_name(name)
    assert s is not None, name
    return s


def test_open_the_atlas_with_its_table_through_the_file_actions(make_window, qtbot):
    win = make_window()
    assert win.files.open_segmentation(shared_file(*ATLAS), shared_file(*TABLE)), win.files.last_error
    seg = win.segmentation
    assert len(seg) == 304 and seg.n_layers == 1
    assert win.segment_panel.model.rowCount() == 304
    assert by_name(seg, "left_hippocampus").label == 17
    assert win.layers_panel.layers_label.text() == "1" and win.layers_panel.segments_label.text() == "304"
    assert "hncma-atlas" in win.windowTitle()


def test_filter_to_a_name(spl_window, qtbot):
    panel = spl_window.segment_panel
    qtbot.keyClicks(panel.filter_edit, "hippocampus")
    names = [panel.model.index(r, Column.NAME).data() for r in range(panel.model.rowCount())]
    assert sorted(names) == ["left_hippocampus", "right_hippocampus"]
    panel.filter_edit.clear()
    qtbot.keyClicks(panel.filter_edit, "17")                     # a label value
    assert panel.model.index(0, Column.NAME).data() == "left_hippocampus"
    panel.filter_edit.clear()
    assert panel.model.rowCount() == 304


def test_hiding_a_segment_removes_its_pixels_and_keeps_the_others(spl_window, qtbot):
    win, seg = spl_window, spl_window.segmentation
    left, right = by_name(seg, "left_hippocampus"), by_name(seg, "right_hippocampus")
    view = win.view(Plane.AXIAL)
    view.set_slice(best_slice(view.frame, seg.layers[0], [left.label, right.label]))
    settle()
    labels = view.frame.extract(seg.layers[0], view.slice_index)
    alpha = view.label_image()[..., 3]
    assert (alpha[labels == left.label] > 0).all() and (alpha[labels == right.label] > 0).all()
    # one pixel deep inside each, as painted on screen
    inside = lambda lab: tuple(np.argwhere(labels == lab)[len(np.argwhere(labels == lab)) // 2])  # noqa: E731
    pix = {s.id: widget_xy(view, view.frame.to_ijk(inside(s.label)[1] + 0.5, inside(s.label)[0] + 0.5,
                                                 view.slice_index)) for s in (left, right)}
    before = grab_rgb(view)
    panel = win.segment_panel
    qtbot.keyClicks(panel.filter_edit, "left_hippocampus")
    index = panel.model.index(0, Column.VISIBLE)
    assert panel.model.setData(index, Qt.Unchecked, Qt.CheckStateRole)
    assert not seg.segment(left.id).visible
    qtbot.waitUntil(lambda: (view.label_image()[..., 3][labels == left.label] == 0).all(), timeout=2000)
    assert (view.label_image()[..., 3][labels == right.label] > 0).all()
    settle()
    after = grab_rgb(view)
    (xl, yl), (xr, yr) = pix[left.id], pix[right.id]
    assert not np.array_equal(before[int(yl), int(xl)], after[int(yl), int(xl)])
    assert np.array_equal(before[int(yr), int(xr)], after[int(yr), int(xr)])
    assert index.data(Qt.CheckStateRole) == Qt.Unchecked


def test_layer_column_hidden_by_default_and_shown_from_the_context_menu(spl_window):
    panel = spl_window.segment_panel
    assert panel.table.isColumnHidden(Column.LAYER)
    action = next(a for a in panel.context_menu().actions() if a.text() == "Show layer column")
    action.trigger()
    assert not panel.table.isColumnHidden(Column.LAYER)
    assert panel.model.index(0, Column.LAYER).data() == 0
    action.trigger()
    assert panel.table.isColumnHidden(Column.LAYER)


def test_collapse_layers_after_separating(spl_window, qtbot):
    win, seg = spl_window, spl_window.segmentation
    for name in ("left_hippocampus", "right_hippocampus", "pons"):
        assert seg.separate(by_name(seg, name).id)
    settle()
    assert win.layers_panel.layers_label.text() == "4"
    counts = {s.id: seg.voxel_count(s.id) for s in seg.segments}
    qtbot.mouseClick(win.layers_panel.collapse_button, Qt.LeftButton)
    settle()
    assert seg.n_layers == 1 and win.layers_panel.layers_label.text() == "1"
    assert {s.id: seg.voxel_count(s.id) for s in seg.segments} == counts
    assert not win.layers_panel.collapse_button.isEnabled()


def _two_colour(win, red_name, blue_name):
    """Show only two segments, opaque red and blue, no outline, no grey: their pixels are unambiguous."""
    seg = win.segmentation
    red, blue = by_name(seg, red_name), by_name(seg, blue_name)
    seg.update_segments([s.id for s in seg.segments if s.id not in (red.id, blue.id)], visible=False)
    seg.update_segment(red.id, color=(1, 0, 0))
    seg.update_segment(blue.id, color=(0, 0, 1))
    win.display.set_style(fill=True, outline=False, fill_opacity=1.0)
    return red, blue


def _centroids(win, plane, red, blue):
    view = win.view(plane)
    view.set_slice(best_slice(view.frame, win.segmentation.layers[0], [red.label, blue.label]))
    settle()
    rgb = grab_rgb(view)
    (ry, rx), (by, bx) = colour_pixels(rgb, RED), colour_pixels(rgb, BLUE)
    assert len(rx) > 20 and len(bx) > 20, (plane, len(rx), len(bx))
    return (rx.mean(), ry.mean()), (bx.mean(), by.mean())


@pytest.mark.parametrize("plane", [Plane.AXIAL, Plane.CORONAL])
def test_radiological_left_labels_on_the_viewers_right(spl_window, plane):
    red, blue = _two_colour(spl_window, "left_hippocampus", "right_hippocampus")
    (rx, _), (bx, _) = _centroids(spl_window, plane, red, blue)
    assert rx > bx + 20          # patient's left (red) on the right of the screen


def test_axial_nose_up_and_sagittal_nose_left(spl_window):
    red, blue = _two_colour(spl_window, "anterior_part_of_left_middle_frontal_gyrus", "left_superior_parietal_lobule")
    (_, ry), (_, by) = _centroids(spl_window, Plane.AXIAL, red, blue)
    assert ry < by - 20          # frontal (anterior) above parietal (posterior): nose up
    (rx, _), (bx, _) = _centroids(spl_window, Plane.SAGITTAL, red, blue)
    assert rx < bx - 20          # sagittal: anterior on the left


@pytest.mark.parametrize("plane", [Plane.CORONAL, Plane.SAGITTAL])
def test_head_up(spl_window, plane):
    red, blue = _two_colour(spl_window, "left_superior_parietal_lobule", "left_lingual_gyrus")
    (_, ry), (_, by) = _centroids(spl_window, plane, red, blue)
    assert ry < by - 20          # superior above inferior
