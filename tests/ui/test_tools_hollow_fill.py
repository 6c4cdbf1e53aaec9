"""Hollow and the morphological Fill between slices through the real Tools dock: menu and shortcut, parameters,
Preview (overlay, nothing changed), Apply (one undo step) against scipy / ITK run independently, Undo."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from scipy import ndimage

from app.ui.operations_panel.overlay import COLOURS, LOST

pytestmark = pytest.mark.filterwarnings("ignore:builtin type:DeprecationWarning")   # SWIG, inside itk


@pytest.fixture
def tools_window(demo_window):
    from app.ui import segment_editor, operations_panel

    segment_editor.install(demo_window)
    operations_panel.install(demo_window)
    return demo_window


def test_hollow_from_its_shortcut_preview_apply_undo(tools_window, qtbot):
    win = tools_window
    seg = win.segmentation
    panel = win.tools_panel
    sid = max(seg.segment_ids, key=seg.voxel_count)
    win.select_segment(sid)
    panel.scope.setCurrentIndex(0)                          # current segment
    keys = [s.toString() for a in win.findChildren(QAction) for s in a.shortcuts()]
    assert keys.count(QKeySequence("Ctrl+Alt+H").toString()) == 1
    view = win.slice_views[0]
    view.setFocus()
    qtbot.keyClick(view, Qt.Key_H, Qt.ControlModifier | Qt.AltModifier)
    page = panel.current_page()
    assert page.title == "Hollow" and panel.dock.isVisible()
    page.mode.setCurrentIndex(page.mode.findText("Inside the surface"))
    page.thickness.setValue(2.0)
    before = [a.copy() for a in seg.layers]
    m = seg.mask(sid)
    qtbot.mouseClick(panel.preview_button, Qt.LeftButton)
    assert all(np.array_equal(a, b) for a, b in zip(before, seg.layers))
    assert sum(int(np.all(panel.overlay.image(n) == COLOURS[LOST], axis=-1).sum())
               for n in range(3) if panel.overlay.image(n) is not None) > 0           # the core shows as lost
    qtbot.mouseClick(panel.apply_button, Qt.LeftButton)
    depth = ndimage.distance_transform_edt(np.pad(m, 1), sampling=seg.geometry.spacing)[1:-1, 1:-1, 1:-1]
    assert np.array_equal(seg.mask(sid), m & (depth <= 2.0 + 1e-6))
    assert seg.history.undo_name == "Hollow 2 mm inside" and len(seg.history.undo_stack) == 1
    win.editing.undo_action.trigger()
    assert all(np.array_equal(a, b) for a, b in zip(before, seg.layers))


def test_fill_between_slices_with_the_morphological_method(tools_window, qtbot):
    itk = pytest.importorskip("itk")
    win = tools_window
    seg = win.segmentation
    panel = win.tools_panel
    from app.model.edits import EditMode, apply_mask

    sid = seg.add_segment("drawn", new_layer=True).id
    axis = win.slice_views[0].plane_axis
    g = np.ogrid[0:30, 0:30]
    shapes = {10: (g[0] - 12) ** 2 + (g[1] - 12) ** 2 <= 36, 20: (g[0] - 18) ** 2 + (g[1] - 16) ** 2 <= 9}
    vol = np.zeros(seg.geometry.shape, bool)
    for t, disc in shapes.items():
        box = [slice(10, 40), slice(10, 40), slice(10, 40)]
        box[axis] = slice(t, t + 1)
        region = np.expand_dims(disc, axis)
        apply_mask(seg, sid, region, tuple(box), EditMode.ADD)
        vol[tuple(box)] = region
    seg.history.clear()
    qtbot.waitUntil(lambda: win.segment_panel.model.row_of(sid) is not None)
    win.select_segment(sid)
    panel.scope.setCurrentIndex(0)
    panel.set_page(panel.tool_combo.findText("Fill between slices"))
    page = panel.current_page()
    page.axis.setCurrentIndex(page.axis.findData(axis))
    page.method.setCurrentIndex(page.method.findText("Morphological contour (ITK)"))
    assert panel.preview(), panel.summary.text()
    assert panel.apply(), panel.summary.text()
    f = itk.MorphologicalContourInterpolator.New(itk.image_from_array(vol.astype(np.uint8)))
    f.SetAxis(2 - axis)
    f.SetLabel(1)
    f.Update()
    expect = (itk.array_from_image(f.GetOutput()) != 0)
    ev, vv = np.moveaxis(expect, axis, 0), np.moveaxis(vol, axis, 0)
    ev[:11] = vv[:11]
    ev[20:] = vv[20:]
    assert np.array_equal(seg.mask(sid), expect)
    assert np.moveaxis(seg.mask(sid), axis, 0)[11:20].reshape(9, -1).any(axis=1).all()
