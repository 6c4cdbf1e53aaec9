"""Issue 12 items 5 and 13 (hover, keys vs wheel): the same gesture moves the same anatomical way in every file
whatever its storage order (as Slicer: wheel up / Up arrow = towards superior, anterior, the patient's right);
the status bar's hover text follows a slice change under a still mouse; arrow keys act on the view the wheel
would (under the mouse, else the last clicked). Positions are checked in LPS through the geometry (numpy)."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from app.model.geometry import Geometry
from app.model.segmentation import Segmentation
from app.render.view_orientation import Plane

# storage orders of one 20x18x16 mm box: identity, every axis reversed, and permuted (like the SPL atlas)
GEOMETRIES = {
    "identity": Geometry((20, 18, 16), (1.0, 1.0, 1.0), (0.0, 0.0, 0.0)),
    "reversed": Geometry((20, 18, 16), (1.0, 1.0, 1.0), (19.0, 17.0, 15.0),
                         ((-1.0, 0.0, 0.0), (0.0, -1.0, 0.0), (0.0, 0.0, -1.0))),
    "permuted": Geometry((16, 20, 18), (1.0, 1.0, 1.0), (0.0, 0.0, 15.0),
                         ((0.0, 1.0, 0.0), (0.0, 0.0, 1.0), (-1.0, 0.0, 0.0))),
}
# LPS axis and the sign of "forward": superior = +z, anterior = -y, right = -x
FORWARD = {Plane.AXIAL: (2, 1), Plane.CORONAL: (1, -1), Plane.SAGITTAL: (0, -1)}


def _lps_of_view(win, view):
    return win.segmentation.geometry.index_to_physical(tuple(int(round(c)) for c in win.display.cursor))


def _wheel(widget, steps):
    pos = QPointF(widget.rect().center())
    ev = QWheelEvent(pos, QPointF(widget.mapToGlobal(pos.toPoint())), QPoint(0, 0), QPoint(0, 120 * steps),
                     Qt.NoButton, Qt.NoModifier, Qt.NoScrollPhase, False)
    QApplication.sendEvent(widget, ev)


@pytest.mark.parametrize("name", list(GEOMETRIES))
def test_wheel_up_and_up_arrow_move_superior_anterior_right_in_every_storage_order(make_window, qtbot, name):
    seg = Segmentation(GEOMETRIES[name])
    seg.add_segment("x")
    win = make_window()
    win.set_document(seg, None)
    for view in win.slice_views:
        axis, sign = FORWARD[view.plane]
        before = _lps_of_view(win, view)[axis]
        _wheel(view.canvas.viewport(), 1)
        after_wheel = _lps_of_view(win, view)[axis]
        assert np.sign(after_wheel - before) == sign, (name, view.plane)
        view.setFocus()
        qtbot.keyClick(view, Qt.Key_Up)
        after_key = _lps_of_view(win, view)[axis]
        assert np.sign(after_key - after_wheel) == sign, (name, view.plane)
        qtbot.keyClick(view, Qt.Key_PageDown)
        assert np.sign(_lps_of_view(win, view)[axis] - after_key) == -sign


def test_hover_text_follows_the_slice_under_a_still_mouse(demo_window, qtbot):
    win = demo_window
    view = win.slice_views[0]
    vp = view.canvas.viewport()
    centre = vp.rect().center()
    qtbot.mouseMove(vp, centre)
    qtbot.waitUntil(lambda: "ijk" in win.hover_label.text())
    first = win.hover_label.text()
    _wheel(vp, 2)                                        # the mouse does not move
    text = win.hover_label.text()
    assert text != first
    ijk = view.view_to_ijk(view.canvas.to_view(QPointF(centre)))
    vox = tuple(int(round(c)) for c in ijk)
    assert f"ijk ({vox[0]}, {vox[1]}, {vox[2]})" in text
    assert vox[view.plane_axis] == view.slice_index


def test_arrow_keys_act_on_the_view_under_the_mouse_else_the_last_clicked(demo_window, qtbot):
    win = demo_window
    axial, coronal = win.slice_views[0], win.slice_views[1]
    qtbot.mouseClick(axial.canvas.viewport(), Qt.LeftButton, pos=axial.canvas.viewport().rect().center())
    assert axial.hasFocus()
    a0, c0 = axial.slice_index, coronal.slice_index
    qtbot.mouseMove(coronal.canvas.viewport(), coronal.canvas.viewport().rect().center())
    qtbot.keyClick(axial, Qt.Key_Up)                     # focus on axial, mouse over coronal: coronal moves
    assert coronal.slice_index != c0 and axial.slice_index == a0
    coronal.hover(None)                                  # the mouse left the views: the last clicked again
    c1 = coronal.slice_index
    qtbot.keyClick(axial, Qt.Key_Up)
    assert axial.slice_index != a0 and coronal.slice_index == c1
