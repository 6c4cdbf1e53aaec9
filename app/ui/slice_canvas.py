"""The drawing surface of a SliceView: a pyqtgraph GraphicsView whose mouse and wheel events are interpreted here
(the ViewBox's own mouse handling is off, so a tool's drag never pans) and turned into SliceView calls."""
from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QLabel


class SliceCanvas(pg.GraphicsView):
    def __init__(self, owner, edge_letters) -> None:
        super().__init__(background="k")
        self.owner = owner
        self.view_box = pg.ViewBox(lockAspect=True, invertY=True, enableMouse=False, enableMenu=False,
                                   defaultPadding=0.0)
        self.setCentralItem(self.view_box)
        self.setMouseTracking(True)
        self.dragging_tool = False
        self._drag = None          # ("pan" | "wl" | "cursor", last widget position, start window/level)
        self._letters = [self._letter(t) for t in edge_letters]
        self._empty = QLabel("Open a segmentation or a reference volume\n(File menu, or drop files here)", self)
        self._empty.setStyleSheet("color: #aaa; background: transparent;")
        self._empty.setAlignment(Qt.AlignCenter)

    def _letter(self, text: str) -> QLabel:
        lab = QLabel(text, self)
        lab.setStyleSheet("color: #ffdc00; background: transparent; font-weight: bold;")
        lab.adjustSize()
        return lab

    def set_empty(self, empty: bool) -> None:
        self._empty.setVisible(empty)
        for lab in self._letters:
            lab.setVisible(not empty)

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        if not hasattr(self, "_letters"):       # pyqtgraph resizes during its own __init__
            return
        w, h = self.width(), self.height()
        left, right, top, bottom = self._letters
        left.move(4, h // 2 - left.height() // 2)
        right.move(w - right.width() - 4, h // 2 - right.height() // 2)
        top.move(w // 2 - top.width() // 2, 2)
        bottom.move(w // 2 - bottom.width() // 2, h - bottom.height() - 2)
        self._empty.setGeometry(0, 0, w, h)

    # ---------------------------------------------------------------- coordinates
    def to_view(self, pos) -> QPointF:
        """Widget position -> view (millimetre) coordinates."""
        return self.view_box.mapSceneToView(self.mapToScene(pos.toPoint()))

    # ---------------------------------------------------------------- mouse
    def mousePressEvent(self, ev) -> None:
        owner = self.owner
        owner.setFocus(Qt.MouseFocusReason)
        if owner.frame is None:
            return
        button, pos = ev.button(), ev.position()
        ijk = owner.view_to_ijk(self.to_view(pos))
        if button == Qt.MiddleButton:
            self._drag = ("pan", pos, None)
        elif button == Qt.RightButton:
            d = owner.display
            self._drag = ("wl", pos, (d.window, d.level))
        elif button == Qt.LeftButton:
            if ev.modifiers() & Qt.ControlModifier:
                owner.pick(ijk)
            elif owner.tool is not None and owner.tool.press(ijk, owner.context(ev.modifiers())):
                self.dragging_tool = True
            else:
                self._drag = ("cursor", pos, None)
                owner.display.set_cursor(ijk)
        ev.accept()

    def mouseMoveEvent(self, ev) -> None:
        owner = self.owner
        pos = ev.position()
        point = self.to_view(pos)
        owner.hover(point)
        if owner.frame is None:
            return
        if self.dragging_tool:
            owner.tool.drag(owner.view_to_ijk(point), owner.context(ev.modifiers()))
        elif self._drag is not None:
            self._continue_drag(pos, point)
        ev.accept()

    def _continue_drag(self, pos, point) -> None:
        kind, last, start = self._drag
        owner = self.owner
        if kind == "pan":
            before = self.to_view(last)
            self.view_box.translateBy(before - point)
            self._drag = (kind, pos, start)
        elif kind == "wl":
            w0, l0 = start
            dx, dy = pos.x() - last.x(), pos.y() - last.y()
            scale = max(w0, 1.0) / 250.0
            owner.display.set_window_level(max(1.0, w0 + dx * scale), l0 - dy * scale)
        elif kind == "cursor":
            owner.display.set_cursor(owner.view_to_ijk(point))

    def mouseReleaseEvent(self, ev) -> None:
        owner = self.owner
        if self.dragging_tool and ev.button() == Qt.LeftButton:
            self.dragging_tool = False
            owner.tool.release(owner.view_to_ijk(self.to_view(ev.position())), owner.context(ev.modifiers()))
        self._drag = None
        ev.accept()

    def mouseDoubleClickEvent(self, ev) -> None:
        owner = self.owner
        if ev.button() == Qt.LeftButton and owner.frame is not None and hasattr(owner.tool, "double_click"):
            owner.tool.double_click(owner.view_to_ijk(self.to_view(ev.position())), owner.context(ev.modifiers()))
        ev.accept()

    def wheelEvent(self, ev) -> None:
        owner = self.owner
        steps = ev.angleDelta().y() / 120.0
        if owner.frame is None or steps == 0:
            return
        if ev.modifiers() & Qt.ControlModifier:
            s = math.pow(0.85, steps)
            self.view_box.scaleBy((s, s), center=self.to_view(ev.position()))
        else:
            owner.step(int(math.copysign(max(1, round(abs(steps))), steps)))
        ev.accept()

    def leaveEvent(self, ev) -> None:
        self.owner.hover(None)
        super().leaveEvent(ev)
