"""A scene item showing a uint32 image (opaque RGB32 or premultiplied ARGB32) without conversion: the QImage wraps
the numpy buffer, so an in-place change of the array only needs `update(rows, cols)` to reach the screen.
(pyqtgraph's ImageItem hands Qt straight RGBA, which Qt converts on every paint: twice slower for our use.)"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QGraphicsObject


class RasterItem(QGraphicsObject):
    def __init__(self, premultiplied_alpha: bool, parent=None) -> None:
        super().__init__(parent)
        self._format = QImage.Format_ARGB32_Premultiplied if premultiplied_alpha else QImage.Format_RGB32
        self._array: np.ndarray | None = None
        self._qimage: QImage | None = None
        self.setFlag(QGraphicsObject.ItemUsesExtendedStyleOption, False)

    @property
    def array(self) -> np.ndarray | None:
        return self._array

    def set_image(self, array: np.ndarray | None) -> None:
        """Show a C-contiguous (rows, cols) uint32 array (kept by reference; None clears)."""
        if array is None:
            resized = self._array is not None
            self._array = self._qimage = None
        else:
            if array.dtype != np.uint32 or array.ndim != 2 or not array.flags.c_contiguous:
                raise ValueError("RasterItem needs a C-contiguous 2D uint32 array")
            resized = self._array is None or self._array.shape != array.shape
            self._array = array
            h, w = array.shape
            self._qimage = QImage(array, w, h, 4 * w, self._format)
        if resized:
            self.prepareGeometryChange()
        self.update()

    def update_region(self, rows: slice, cols: slice) -> None:
        """The array changed in place inside (rows, cols): repaint that part only."""
        self.update(QRectF(cols.start, rows.start, cols.stop - cols.start, rows.stop - rows.start))

    def boundingRect(self) -> QRectF:
        if self._array is None:
            return QRectF()
        h, w = self._array.shape
        return QRectF(0, 0, w, h)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        if self._qimage is not None:
            painter.drawImage(self.boundingRect(), self._qimage)
