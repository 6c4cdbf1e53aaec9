"""Marks drawn over a slice view's images: the linked crosshair and the brush outline (view millimetres)."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsEllipseItem

CURSOR_COLOUR = QColor(255, 220, 0, 140)
BRUSH_COLOUR = QColor(255, 255, 0, 220)


class Crosshair:
    def __init__(self, view_box) -> None:
        pen = pg.mkPen(CURSOR_COLOUR, width=1)
        self.lines = [pg.InfiniteLine(angle=90, movable=False, pen=pen),
                      pg.InfiniteLine(angle=0, movable=False, pen=pen)]
        for line in self.lines:
            line.setZValue(50)
            view_box.addItem(line, ignoreBounds=True)
        self._xy = None

    def move(self, x: float, y: float) -> None:
        if (x, y) != self._xy:           # moving along the view's normal leaves its crosshair in place
            self._xy = (x, y)
            self.lines[0].setValue(x)
            self.lines[1].setValue(y)

    def reset(self) -> None:
        self._xy = None


class BrushOutline:
    """A circle of the brush radius following the pointer (shown only while a radius is set)."""

    def __init__(self, view_box) -> None:
        self.item = QGraphicsEllipseItem()
        pen = QPen(BRUSH_COLOUR)
        pen.setCosmetic(True)
        self.item.setPen(pen)
        self.item.setZValue(60)
        self.item.hide()
        view_box.addItem(self.item, ignoreBounds=True)
        self.radius_mm: float | None = None

    def set_radius(self, radius_mm) -> None:
        self.radius_mm = None if radius_mm is None else float(radius_mm)
        if self.radius_mm is None:
            self.item.hide()

    def follow(self, point) -> None:
        """The pointer is at `point` (view coordinates), or left the view (None)."""
        if point is None or self.radius_mm is None:
            self.item.hide()
            return
        r = self.radius_mm
        self.item.setRect(QRectF(point.x() - r, point.y() - r, 2 * r, 2 * r))
        self.item.show()


MARK_COLOUR = QColor(0, 230, 255, 230)


class ToolMarksItem:
    """What a tool beyond the brush will do, drawn over one view: the contour being drawn (a polyline, closed when
    it is a polygon) and the outline of a region about to be filled (its cross-section on this view's slice)."""

    def __init__(self, view_box) -> None:
        from PySide6.QtWidgets import QGraphicsPathItem

        self.path = QGraphicsPathItem()
        pen = QPen(MARK_COLOUR)
        pen.setCosmetic(True)
        pen.setWidth(2)
        self.path.setPen(pen)
        self.path.setZValue(61)
        self.path.hide()
        view_box.addItem(self.path, ignoreBounds=True)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setZValue(59)
        self.image.hide()
        view_box.addItem(self.image, ignoreBounds=True)
        self.outline: "object | None" = None      # the last outline image (display orientation), for tests

    def clear(self) -> None:
        self.path.hide()
        self.image.hide()
        self.outline = None

    def set_polyline(self, points_view, closed: bool) -> None:
        from PySide6.QtGui import QPainterPath

        if len(points_view) == 0:
            self.path.hide()
            return
        path = QPainterPath(points_view[0])
        for p in points_view[1:]:
            path.lineTo(p)
        if closed:
            path.closeSubpath()
        self.path.setPath(path)
        self.path.show()

    def set_outline(self, outline, rows: slice, cols: slice, pixel_mm) -> None:
        """`outline`: bool (rows, cols) image in display orientation covering screen rows/cols given."""
        import numpy as np
        from PySide6.QtGui import QTransform

        rgba = np.zeros(outline.shape + (4,), dtype=np.uint8)
        rgba[outline] = (MARK_COLOUR.red(), MARK_COLOUR.green(), MARK_COLOUR.blue(), 255)
        rmm, cmm = pixel_mm
        self.image.setImage(rgba, autoLevels=False, levels=None)
        t = QTransform()
        t.translate(cols.start * cmm, rows.start * rmm)
        t.scale(cmm, rmm)
        self.image.setTransform(t)
        self.image.show()
        self.outline = (outline, rows, cols)
