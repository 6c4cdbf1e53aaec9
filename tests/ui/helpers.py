"""Helpers for GUI tests: widget pixels of a slice view, and copies of shared segmentations."""
from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QApplication

from app.model.segmentation import Segmentation


def settle(qtbot=None, ms: int = 0) -> None:
    """Deliver pending model events and paint."""
    QApplication.processEvents()
    if qtbot is not None and ms:
        qtbot.wait(ms)
    QApplication.processEvents()


def grab_rgb(view) -> np.ndarray:
    """The canvas of a SliceView as painted: (height, width, 3) uint8."""
    img = view.canvas.grab().toImage().convertToFormat(view.canvas.grab().toImage().Format.Format_RGB888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), dtype=np.uint8, count=h * bpl).reshape(h, bpl)
    return buf[:, : w * 3].reshape(h, w, 3).copy()


def widget_xy(view, ijk):
    """Canvas widget pixel (x, y) showing the centre of lattice voxel ijk."""
    scene = view.view_box.mapViewToScene(view.ijk_to_view(ijk))
    p = view.canvas.mapFromScene(scene)
    return p.x(), p.y()


def colour_pixels(rgb: np.ndarray, colour) -> tuple[np.ndarray, np.ndarray]:
    """(ys, xs) of the pixels of exactly this colour."""
    ys, xs = np.nonzero(np.all(rgb == np.array(colour, dtype=np.uint8), axis=2))
    return ys, xs


def copy_segmentation(seg) -> Segmentation:
    return Segmentation.from_layers(seg.geometry, [a.copy() for a in seg.layers], [s.copy() for s in seg.segments])


def best_slice(frame, layer, labels) -> int:
    """The slice of a view showing the most of the rarest of `labels` (so every one of them is on screen)."""
    counts = []
    for n in range(frame.n_slices):
        s = frame.extract(layer, n)
        counts.append(min(int(np.count_nonzero(s == v)) for v in labels))
    return int(np.argmax(counts))
