"""Issue 12 item 8: auto window/level from the image's own values (the padding spike left out), and the preset box
says "Custom" with the current W and L after a right-drag. References computed here with numpy."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from app.render.overlay import auto_window
from tests.conftest import shared_file


def _padded_ct(seed=0):
    rng = np.random.default_rng(seed)
    a = np.full((60, 60, 30), -3024, np.int16)                       # outside the field of view
    body = np.zeros(a.shape, bool)
    body[8:52, 8:52] = True
    a[body] = rng.normal(40, 30, body.sum()).astype(np.int16)        # soft tissue
    a[8:52, 8:20] = -1000                                            # air inside the field of view
    a[25:35, 25:35] = 1200                                           # bone
    return a


def test_auto_window_ignores_the_padding_spike():
    a = _padded_ct()
    real = a[a != -3024]
    lo, hi = np.percentile(real, [1, 99])
    w, lev = auto_window(a, sample=a.size)
    assert (w, lev) == (float(hi - lo), float((hi + lo) / 2))
    assert lev - w / 2 >= -1000.5                       # air at the dark end, not mid-grey


def test_auto_window_keeps_a_two_valued_image_and_a_plain_one():
    mask = np.zeros((20, 20, 20), np.uint8)
    mask[5:9] = 1
    w, lev = auto_window(mask, sample=mask.size)
    assert lev - w / 2 <= 0 and lev + w / 2 >= 1        # both values inside the window
    ramp = np.arange(1000, dtype=np.float32).reshape(10, 10, 10)
    lo, hi = np.percentile(ramp, [1, 99])
    assert auto_window(ramp, sample=ramp.size) == (float(hi - lo), float((hi + lo) / 2))


def test_chest_ct_air_is_dark(make_window):
    from app.io import read_volume

    vol = read_volume(shared_file("slicerio", "CTChest4.nrrd"))
    win = make_window()
    win.set_reference(vol)
    d = win.display
    a = vol.array
    assert (a == -3024).mean() > 0.1                     # the file does have padding
    lo, hi = np.percentile(a[a != a.min()][:: max(1, a.size // 200_000)], [1, 99])
    assert abs(d.window - (hi - lo)) < 0.05 * (hi - lo)
    air = float(np.median(a[(a > -1100) & (a < -900)]))
    grey = d.grey_lut().apply(np.array([[air]], dtype=a.dtype))
    assert (int(grey[0, 0]) & 0xFF) < 40                # the blue byte of RGB32: near black
    assert win.display_panel.preset_box.currentIndex() == 0


def _send(widget, kind, pos, button, buttons):
    ev = QMouseEvent(kind, QPointF(pos), widget.mapToGlobal(QPointF(pos)), button, buttons, Qt.NoModifier)
    QApplication.sendEvent(widget, ev)


def test_right_drag_shows_custom_with_w_and_l(demo_window, qtbot):
    win = demo_window
    box = win.display_panel.preset_box
    d = win.display
    assert box.currentIndex() == 0
    start = (d.window, d.level)
    vp = win.slice_views[0].canvas.viewport()
    c = vp.rect().center()
    _send(vp, QEvent.MouseButtonPress, c, Qt.RightButton, Qt.RightButton)
    _send(vp, QEvent.MouseMove, c + type(c)(60, -30), Qt.NoButton, Qt.RightButton)
    _send(vp, QEvent.MouseButtonRelease, c + type(c)(60, -30), Qt.RightButton, Qt.NoButton)
    assert (d.window, d.level) != start
    assert box.currentText() == f"Custom (W {d.window:.0f} / L {d.level:.0f})"
    box.activated.emit(2)                                 # a preset again: named again
    assert box.currentIndex() == 2 and box.currentText().startswith("CT abdomen")
