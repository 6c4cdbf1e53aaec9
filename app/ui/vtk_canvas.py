"""Widgets that show a Scene3D: VTK's native Qt interactor on real displays, an offscreen renderer elsewhere.

`QVTKRenderWindowInteractor` needs a native window (xcb, Windows, macOS); under Qt's offscreen platform (tests,
headless machines) `OffscreenCanvas` renders VTK into its own offscreen window (EGL when there is no display) and
paints the pixels. Both emit `clicked(x, y)` in VTK display coordinates (origin bottom-left) for a click that did
not drag, `context_menu(pos)` for a right click that did not drag (a right drag zooms), and offer
`request_render()` and `image()`.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPoint, Qt, Signal
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtWidgets import QVBoxLayout, QWidget
from vtkmodules.vtkCommonCore import vtkUnsignedCharArray
from vtkmodules.vtkRenderingCore import vtkRenderWindow

from .scene_3d import Scene3D

NATIVE_PLATFORMS = {"xcb", "windows", "cocoa"}
CLICK_SLOP = 4            # pixels a press may move and still count as a click
DEGREES_PER_PIXEL = 0.4


def native_platform() -> bool:
    return QGuiApplication.platformName() in NATIVE_PLATFORMS


def _time_frames(canvas) -> None:
    """`canvas.last_frame_seconds`: the wall time of the last frame, whoever asked for it (VTK's own renderer time
    leaves out the software rasteriser's work, which happens when the frame is finished)."""
    import time

    canvas.last_frame_seconds = 0.0
    start = [0.0]

    def begin(*_):
        start[0] = time.perf_counter()

    def end(*_):
        canvas.last_frame_seconds = time.perf_counter() - start[0]
    canvas.render_window.AddObserver("StartEvent", begin)
    canvas.render_window.AddObserver("EndEvent", end)


def make_canvas(scene: Scene3D, parent=None) -> "NativeCanvas | OffscreenCanvas":
    """The right canvas for this Qt platform."""
    return NativeCanvas(scene, parent) if native_platform() else OffscreenCanvas(scene, parent)


class OffscreenCanvas(QWidget):
    """Renders offscreen and paints the image; mouse: left drag rotates, right drag or wheel zooms, middle or
    Shift+left drag pans."""

    clicked = Signal(int, int)
    context_menu = Signal(QPoint)     # a right click that did not drag (a right drag zooms)

    def __init__(self, scene: Scene3D, parent=None) -> None:
        super().__init__(parent)
        self.setContextMenuPolicy(Qt.PreventContextMenu)
        self.scene = scene
        self.render_window = vtkRenderWindow()
        self.render_window.SetOffScreenRendering(1)
        self.render_window.SetMultiSamples(0)
        scene.attach(self.render_window)
        _time_frames(self)
        self.setMinimumSize(120, 120)
        self.setFocusPolicy(Qt.StrongFocus)
        self._press: QPoint | None = None
        self._last: QPoint | None = None
        self._dragged = False
        self._buttons = Qt.NoButton
        self._frame: QImage | None = None      # the last rendered frame, repainted as is until something changes

    def request_render(self) -> None:
        self._frame = None
        self.update()

    def image(self) -> QImage:
        """Render now at the widget's size and return the pixels (top row first)."""
        self._frame = self._render()
        return self._frame

    def _render(self) -> QImage:
        ratio = self.devicePixelRatioF()
        w, h = max(1, int(self.width() * ratio)), max(1, int(self.height() * ratio))
        self.render_window.SetSize(w, h)
        self.render_window.Render()
        data = vtkUnsignedCharArray()
        self.render_window.GetRGBACharPixelData(0, 0, w - 1, h - 1, 0, data)
        from vtkmodules.util.numpy_support import vtk_to_numpy
        rgba = np.ascontiguousarray(vtk_to_numpy(data).reshape(h, w, 4)[::-1])
        img = QImage(rgba.data, w, h, 4 * w, QImage.Format_RGBA8888).copy()
        img.setDevicePixelRatio(ratio)
        return img

    def paintEvent(self, _event) -> None:
        frame = self._frame
        if frame is None or frame.deviceIndependentSize().toSize() != self.size():
            frame = self.image()
        painter = QPainter(self)
        painter.drawImage(0, 0, frame)
        painter.end()

    # ---------------------------------------------------------------- mouse
    def mousePressEvent(self, event) -> None:
        self._press = self._last = event.position().toPoint()
        self._buttons = event.buttons()
        self._dragged = False

    def mouseMoveEvent(self, event) -> None:
        if self._last is None:
            return
        pos = event.position().toPoint()
        dx, dy = pos.x() - self._last.x(), pos.y() - self._last.y()
        if not self._dragged and (pos - self._press).manhattanLength() > CLICK_SLOP:
            self._dragged = True
            self.scene.set_interactive(True)
        self._last = pos
        pan = self._buttons & Qt.MiddleButton or (self._buttons & Qt.LeftButton
                                                    and event.modifiers() & Qt.ShiftModifier)
        if pan:
            self.scene.pan(dx, -dy, self.height())
        elif self._buttons & Qt.LeftButton:
            self.scene.rotate(-dx * DEGREES_PER_PIXEL, dy * DEGREES_PER_PIXEL)
        elif self._buttons & Qt.RightButton:
            self.scene.zoom(1.01 ** (-dy))
        else:
            return
        self.request_render()

    def mouseReleaseEvent(self, event) -> None:
        if self._press is not None and not self._dragged:
            pos = event.position().toPoint()
            if event.button() == Qt.LeftButton:
                self.clicked.emit(pos.x(), self.height() - 1 - pos.y())
            elif event.button() == Qt.RightButton:
                self.context_menu.emit(pos)
        if self.scene.interactive:
            self.scene.set_interactive(False)
            self.request_render()
        self._press = self._last = None

    def wheelEvent(self, event) -> None:
        self.scene.zoom(1.1 ** (event.angleDelta().y() / 120.0))
        self.request_render()


class NativeCanvas(QWidget):
    """VTK's own Qt interactor (trackball camera) in a plain container, with the same small interface."""

    clicked = Signal(int, int)
    context_menu = Signal(QPoint)

    def __init__(self, scene: Scene3D, parent=None) -> None:
        super().__init__(parent)
        import vtkmodules.qt
        vtkmodules.qt.PyQtImpl = "PySide6"
        from vtkmodules.qt.QVTKRenderWindowInteractor import QVTKRenderWindowInteractor
        from vtkmodules.vtkInteractionStyle import vtkInteractorStyleTrackballCamera

        self.scene = scene
        self.vtk_widget = QVTKRenderWindowInteractor(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.vtk_widget)
        self.render_window = self.vtk_widget.GetRenderWindow()
        # no multisampling: GLX asks for 4x by default, and on software OpenGL (Mesa llvmpipe, the laptop without a
        # GPU or the remote desktop) that costs 4x per frame (measured on the SPL atlas: 9 s -> 2.4 s a frame)
        self.render_window.SetMultiSamples(0)
        scene.attach(self.render_window)
        _time_frames(self)
        self._style = vtkInteractorStyleTrackballCamera()
        interactor = self.render_window.GetInteractor()
        interactor.SetInteractorStyle(self._style)
        interactor.RemoveObservers("CharEvent")     # VTK's own keys: e/q quit, w wireframe, 3 stereo... not here
        self._style.AddObserver("StartInteractionEvent", lambda *_: scene.set_interactive(True))
        self._style.AddObserver("EndInteractionEvent", self._on_end_interaction)
        self._press_at = None
        self.vtk_widget.setContextMenuPolicy(Qt.PreventContextMenu)
        self.vtk_widget.installEventFilter(self)       # clicks are seen at the Qt level, before VTK
        self.vtk_widget.Initialize()

    def request_render(self) -> None:
        """Draw on the next turn of the event loop, once however many updates asked for it (each meshing result
        of a stroke asks; on llvmpipe one frame of the SPL atlas takes a second or more)."""
        if not self._pending:
            self._pending = True
            from PySide6.QtCore import QTimer
            QTimer.singleShot(0, self._render_now)

    _pending = False

    def _render_now(self) -> None:
        self._pending = False
        self.render_window.Render()

    def image(self) -> QImage:
        from vtkmodules.util.numpy_support import vtk_to_numpy
        self.render_window.Render()
        w, h = self.render_window.GetSize()
        data = vtkUnsignedCharArray()
        self.render_window.GetRGBACharPixelData(0, 0, w - 1, h - 1, 1, data)
        rgba = np.ascontiguousarray(vtk_to_numpy(data).reshape(h, w, 4)[::-1])
        return QImage(rgba.data, w, h, 4 * w, QImage.Format_RGBA8888).copy()

    def _on_end_interaction(self, *_args) -> None:
        self.scene.set_interactive(False)
        self.render_window.Render()

    def eventFilter(self, obj, event) -> bool:
        kind = event.type()
        if kind == QEvent.MouseButtonPress:
            self._press_at = event.position().toPoint()
        elif kind == QEvent.MouseButtonRelease and self._press_at is not None:
            pos, press = event.position().toPoint(), self._press_at
            self._press_at = None
            if (pos - press).manhattanLength() > CLICK_SLOP:
                return False
            if event.button() == Qt.LeftButton:
                ratio = self.vtk_widget.devicePixelRatioF()
                self.clicked.emit(int(pos.x() * ratio), int((self.vtk_widget.height() - 1 - pos.y()) * ratio))
            elif event.button() == Qt.RightButton:
                self.context_menu.emit(pos)
        return False
