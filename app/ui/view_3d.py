"""The 3D view: a surface per visible segment, kept current while editing ("Show 3D", as in 3D Slicer).

`install(window)` adds a "3D" dock (hidden), a "Show 3D" toggle in the View menu (and the main toolbar when
there is one), "Show current segment in 3D" in the Segmentation menu and "Export surfaces..." in the File menu.
VTK is imported only when the view is first shown, so a window that never shows 3D never pays for it.

Meshing is `SurfaceUpdates`' (app/ui/surface_updates.py): one worker thread, at most one batch in flight. After an
edit only the touched segments are re-meshed (stitched in on the edited part when it is small), at most every
UPDATE_MS while a stroke goes on and once at its end; hidden segments are meshed when shown; colour, opacity and
visibility only change actor properties (and which faces are drawn). This module: the widgets, the scene and
camera, and the document's events.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QMenu, QProgressBar, QSizePolicy, QToolButton, QVBoxLayout,
                               QWidget)

from app.ui.model_bridge import ModelBridge
from app.ui.heap import release_freed_memory
from app.ui.surface_updates import SurfaceUpdates

SLOW_FRAME_S = 0.1            # a frame slower than this makes redraws wait for a pause in the updates
QUIET_MS = 1500               # no frame and no edit this long: the heap 3D work freed goes back to the system

VIEW_BUTTONS = (("A", "ANTERIOR"), ("P", "POSTERIOR"), ("L", "LEFT"), ("R", "RIGHT"), ("S", "SUPERIOR"),
                ("I", "INFERIOR"))


class View3D(QWidget):
    """Shows the surfaces of one Segmentation. Public state used by tests: `scene` (actors), `updates` (and
    through it `cache`, `busy`, `stitched`, `is_idle()`)."""

    segment_clicked = Signal(str)
    idle = Signal()                   # every shown segment has a current surface again
    message = Signal(str)             # for the window's status bar (a big build finished)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.segmentation = None
        self.smoothing = True
        self.hidden_in_3d: set[str] = set()
        self.scene = None              # Scene3D, created with the canvas on first show
        self.canvas = None
        self.showing = False           # shown: surfaces are kept current (edits while hidden wait for the next show)
        self._fit_pending = True
        self._bridge: ModelBridge | None = None
        self.updates = SurfaceUpdates(self)
        self.updates.idle.connect(self.idle)
        self.updates.message.connect(self.message)
        self._render_timer = QTimer(self, singleShot=True, timeout=lambda: self.canvas.request_render())
        # frames (llvmpipe's buffers), meshing and stitching leave freed memory with glibc; trimming it costs
        # 10-20 ms, so it waits until the view has been quiet a while (not between the dabs of a stroke)
        self.quiet_timer = QTimer(self, singleShot=True, interval=QUIET_MS, timeout=self._on_quiet)
        self.updates.restored.connect(self.quiet_timer.start)     # (the heap a restore freed, trimmed after it)
        self._build_ui()

    # ---------------------------------------------------------------- widgets
    def _build_ui(self) -> None:
        bar = QHBoxLayout()
        bar.setContentsMargins(2, 2, 2, 2)
        self.smooth_button = self._tool_button("Smooth", "Smooth the surfaces (off: voxel-exact, faster)", bar)
        self.smooth_button.setCheckable(True)
        self.smooth_button.setChecked(True)
        self.smooth_button.toggled.connect(self.set_smoothing)
        reset = self._tool_button("Reset", "Reset the camera: anterior view, superior up (R)", bar)
        reset.clicked.connect(lambda: self.reset_camera())
        for text, name in VIEW_BUTTONS:
            b = self._tool_button(text, f"View from {name.lower()}", bar)
            b.clicked.connect(lambda _=False, n=name: self.reset_camera(n))
        self.progress = QProgressBar(maximumWidth=90, maximumHeight=14, textVisible=False, visible=False)
        self.progress.setRange(0, 0)
        self.status = QLabel("", alignment=Qt.AlignLeft | Qt.AlignVCenter)     # cut at its end when narrow
        self.status.setWordWrap(False)        # one line, taking the room left: cut, not wrapped, in a four-up quarter
        self.status.setProperty("one_line", True)     # (the window wraps the labels of its docks otherwise)
        self.status.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        bar.addWidget(self.progress)
        bar.addWidget(self.status, 1)
        self._body = QVBoxLayout(self)
        self._body.setContentsMargins(0, 0, 0, 0)
        self._body.setSpacing(0)
        self._body.addLayout(bar)
        self._placeholder = QLabel("The 3D view starts when shown.", alignment=Qt.AlignCenter)
        self._body.addWidget(self._placeholder, 1)

    def _tool_button(self, text: str, tip: str, bar) -> QToolButton:
        b = QToolButton(text=text, toolTip=tip, autoRaise=True)
        bar.addWidget(b)
        return b

    def _ensure_canvas(self) -> None:
        """First show: import VTK, build the scene and the canvas for this Qt platform."""
        if self.canvas is not None:
            return
        from app.ui.scene_3d import Scene3D
        from app.ui.vtk_canvas import make_canvas

        self.updates.start()
        self.scene = Scene3D()
        self.canvas = make_canvas(self.scene, self)
        self.canvas.render_window.AddObserver("EndEvent", lambda *_: self.quiet_timer.start())
        self.canvas.clicked.connect(self._on_click)
        self.canvas.context_menu.connect(self._context_menu)
        self._body.replaceWidget(self._placeholder, self.canvas)
        self._placeholder.deleteLater()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.showing = True
        if self.canvas is None:
            # the first batch is meshed on the worker while VTK's rendering side and the OpenGL context are made
            # here (~0.2-0.5 s; measured on the SPL atlas: Show 3D 0.2 s sooner)
            self.updates.start()
            if self.updates.needed():
                self.updates.submit()
        self._ensure_canvas()
        self.updates.schedule(0)

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        self.showing = False          # edits keep bumping versions; the view catches up when shown again
        if self.scene is not None:
            self.scene.free_lod()     # coarse copies only while shown: rebuilt (a few hundred ms) when next needed
            self.quiet_timer.start()  # (and given back to the system)

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key_R and not event.modifiers():
            self.reset_camera()
        else:
            super().keyPressEvent(event)

    # ---------------------------------------------------------------- what tests and benchmarks read
    @property
    def cache(self):
        return self.updates.cache

    @property
    def busy(self) -> bool:
        return self.updates.busy

    @property
    def stitched(self) -> list[str]:
        return self.updates.stitched

    def is_idle(self) -> bool:
        return self.updates.is_idle()

    # ---------------------------------------------------------------- document
    def set_segmentation(self, seg) -> None:
        """Show another document (or none); everything is re-meshed for it."""
        if self._bridge is not None:
            self._bridge.detach()
            self._bridge.deleteLater()
            self._bridge = None
        self.segmentation = seg
        self._fit_pending = True        # the camera is fitted on the new document's surfaces once meshed
        self.hidden_in_3d.clear()
        self.updates.reset()
        if self.scene is not None:
            self.scene.clear()
        if seg is not None:
            self._bridge = ModelBridge(seg, self)
            self._bridge.structure_changed.connect(self._on_structure)
            self._bridge.segments_changed.connect(self._on_segments)
            self._bridge.voxels_changed.connect(self._on_voxels)
        self.updates.schedule(0)
        self.render()

    def shown_ids(self) -> list[str]:
        """Segments that have a surface in 3D: visible, and not hidden in 3D."""
        seg = self.segmentation
        if seg is None:
            return []
        return [s.id for s in seg.segments if s.visible and s.id not in self.hidden_in_3d]

    def set_shown_in_3d(self, segment_id: str, shown: bool) -> None:
        (self.hidden_in_3d.discard if shown else self.hidden_in_3d.add)(segment_id)
        self._on_segments(frozenset([segment_id]))

    def set_smoothing(self, on: bool) -> None:
        if bool(on) == self.smoothing:
            return
        self.smoothing = bool(on)
        self.smooth_button.setChecked(self.smoothing)
        self.updates.smoothing_changed()

    def _on_quiet(self) -> None:
        """No frame and no edit for QUIET_MS: culling that edits gave up is restored (a layer meshed again in one
        pass, on its own thread: its frame starts the quiet clock again), else the heap is given back."""
        if not self.updates.restore_shared():
            release_freed_memory()

    # ---------------------------------------------------------------- model events
    def _on_voxels(self, changes) -> None:
        if self.quiet_timer.isActive():
            self.quiet_timer.start()
        if self._render_timer.isActive():      # a slow frame waits until the edit's surfaces are in: a frame drawn
            self._render_timer.start()         # meanwhile would hold up their delivery on this thread
        self.updates.edited(changes)

    def _on_segments(self, ids) -> None:
        if self.scene is None or self.segmentation is None:
            return
        seg = self.segmentation
        ids = [sid for sid in ids if sid in seg]
        self.updates.moved(ids)
        for sid in ids:
            self._apply_display(sid)
        self.updates.display_changed()
        self.updates.schedule(0)
        self.render()

    def _on_structure(self) -> None:
        if self.scene is None or self.segmentation is None:
            return
        gone = [sid for sid in self.scene.actors if sid not in self.segmentation]
        for sid in gone:
            self.scene.remove(sid)
        self.updates.removed(gone)
        self._on_segments(frozenset(self.segmentation.segment_ids))

    # ---------------------------------------------------------------- what SurfaceUpdates tells
    def surfaces_arrived(self, segment_ids, seconds: float, last: bool, background: bool = False) -> None:
        """New surfaces are in the scene: their display, the camera on a new document, the status line (not for a
        quiet moment's background work: no one waited for it), a frame."""
        for sid in segment_ids:
            self._apply_display(sid)
        if last:
            self.progress.setVisible(False)
        if self._fit_pending and self.scene.actors:
            self.scene.reset_camera()        # a new document: framed on its surfaces as they come, whole at the end
            self._fit_pending = not last
        self.scene.ensure_camera()
        if not background:
            self.status.setText(f"{len(self.scene.actors)} surfaces · {seconds:.2f} s")
            self.status.setToolTip(f"{len(self.scene.actors)} surfaces shown; the last update took {seconds:.2f} s")
        self.render()

    def show_progress(self, text: str) -> None:
        self.progress.setVisible(True)
        self.status.setText(text)

    def meshing_failed(self, error: Exception) -> None:
        self.progress.setVisible(False)
        self.status.setText("3D: meshing failed")
        self.status.setToolTip(str(error))

    def _apply_display(self, sid: str) -> None:
        s = self.segmentation.segment(sid)
        self.scene.set_display(sid, s.color, s.opacity, s.visible and sid not in self.hidden_in_3d)

    def render(self) -> None:
        """Redraw. When a frame is slow (software OpenGL, a big atlas: ~1 s), redraws wait until updates pause,
        so a brush stroke is never held up by the 3D view; the camera still moves at once (coarse copies)."""
        if self.canvas is None or not self.showing:
            return
        last = max(self.scene.last_render_seconds(), getattr(self.canvas, "last_frame_seconds", 0.0))
        if last > SLOW_FRAME_S:
            self._render_timer.start(int(max(200, 2000 * last)))     # restarted by each update: a debounce
        else:
            self.canvas.request_render()

    # ---------------------------------------------------------------- camera, picking, menu
    def reset_camera(self, direction: str = "ANTERIOR") -> None:
        if self.scene is None:
            return
        from app.ui.scene_3d import ViewDirection
        self.scene.reset_camera(ViewDirection[direction])
        self.render()

    def segment_at(self, x: float, y: float) -> str | None:
        """The shown segment under display pixel (x, y) (VTK convention, origin bottom-left): the first of its
        voxels on the camera ray (app.render.ray_pick; about 1 ms, where VTK's cell picker takes 0.5 s on the
        SPL atlas's 3 M triangles)."""
        if self.scene is None or self.segmentation is None:
            return None
        from app.render.ray_pick import first_segment_on_ray
        origin, direction = self.scene.ray(x, y)
        return first_segment_on_ray(self.segmentation, origin, direction, self.scene.visible_ids())

    def _on_click(self, x: int, y: int) -> None:
        sid = self.segment_at(x, y)
        if sid is not None:
            self.segment_clicked.emit(sid)

    def _context_menu(self, pos) -> None:
        self.context_menu_at(pos).exec(self.canvas.mapToGlobal(pos))

    def context_menu_at(self, pos) -> QMenu:
        """The right-click menu for a canvas position (widget pixels): hide the surface under it, show all..."""
        menu = QMenu(self)
        ratio = self.canvas.devicePixelRatioF()
        sid = self.segment_at(int(pos.x() * ratio), int((self.canvas.height() - 1 - pos.y()) * ratio))
        if sid is not None:
            name = self.segmentation.segment(sid).name
            menu.addAction(f"Hide '{name}' in 3D", lambda: self.set_shown_in_3d(sid, False))
        if self.hidden_in_3d:
            menu.addAction("Show all segments in 3D", self.show_all_in_3d)
        menu.addAction("Reset camera", lambda: self.reset_camera())
        menu.addAction("Export surfaces...", self.export_dialog)
        return menu

    def show_all_in_3d(self) -> None:
        ids, self.hidden_in_3d = frozenset(self.hidden_in_3d), set()
        self._on_segments(ids)

    # ---------------------------------------------------------------- export
    def export_surfaces(self, path, fmt: str = "stl", one_file_per_segment: bool = False) -> list:
        """Write the shown surfaces in LPS millimetres (see surface_export.export_shown)."""
        from app.ui.surface_export import export_shown
        return export_shown(self, path, fmt, one_file_per_segment)

    def export_dialog(self) -> None:
        from app.ui.surface_export import export_dialog
        export_dialog(self)

    # ---------------------------------------------------------------- screenshot
    def screenshot(self, path, width: int | None = None, height: int | None = None) -> None:
        """Write the 3D view as a PNG of `width` x `height` pixels (default: the view's size): rendered at an
        integer multiple of the view's size (VTK draws it in tiles), then scaled down and cropped to the size
        asked, so a poster-size picture is as sharp as the screen. OSError when it cannot be written."""
        from PySide6.QtCore import Qt as _Qt
        from PySide6.QtGui import QImage
        from vtkmodules.util.numpy_support import vtk_to_numpy
        from vtkmodules.vtkRenderingCore import vtkWindowToImageFilter
        import numpy as np

        self._ensure_canvas()
        win = self.canvas.render_window
        if not self.isVisible():
            win.SetSize(max(1, self.canvas.width()), max(1, self.canvas.height()))
        win.Render()
        w0, h0 = win.GetSize()
        width, height = (w0 if width is None else int(width)), (h0 if height is None else int(height))
        if width < 1 or height < 1 or width * height > 16384 * 16384:
            raise ValueError(f"a screenshot of {width}x{height} pixels is not possible")
        scale = max(1, -(-width // w0), -(-height // h0))
        grab = vtkWindowToImageFilter()
        grab.SetInput(win)
        grab.SetScale(scale, scale)
        grab.SetInputBufferTypeToRGB()
        grab.ReadFrontBufferOff()
        grab.Update()
        img = grab.GetOutput()
        w, h, _ = img.GetDimensions()
        rgb = np.ascontiguousarray(vtk_to_numpy(img.GetPointData().GetScalars()).reshape(h, w, 3)[::-1])
        qimg = QImage(rgb.data, w, h, 3 * w, QImage.Format_RGB888)
        qimg = qimg.scaled(width, height, _Qt.KeepAspectRatioByExpanding, _Qt.SmoothTransformation)
        qimg = qimg.copy((qimg.width() - width) // 2, (qimg.height() - height) // 2, width, height)
        from PySide6.QtCore import QBuffer, QByteArray, QIODevice
        from app.io.atomic import atomic_write
        data = QByteArray()
        buf = QBuffer(data)
        buf.open(QIODevice.WriteOnly)
        if not qimg.save(buf, "PNG"):
            raise OSError(f"could not encode {path}")
        with atomic_write(path) as fh:
            fh.write(bytes(data))
        win.Render()

    def screenshot_dialog(self) -> None:
        from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox
        if self.canvas is None:
            return
        size, ok = QInputDialog.getText(self.window(), "3D screenshot", "Size in pixels (W x H):",
                                        text=f"{self.canvas.width()}x{self.canvas.height()}")
        if not ok:
            return
        try:
            width, height = (int(v) for v in size.lower().replace(" ", "").split("x"))
        except ValueError:
            QMessageBox.warning(self.window(), "3D screenshot", f"'{size}' is not a size such as 1920x1080.")
            return
        path, _ = QFileDialog.getSaveFileName(self.window(), "3D screenshot", "3d.png", "PNG image (*.png)")
        if not path:
            return
        try:
            self.screenshot(path, width, height)
        except (OSError, ValueError) as exc:
            QMessageBox.warning(self.window(), "3D screenshot", f"The screenshot was not written: {exc}.")
            return
        self.status.setText(f"Screenshot written: {width}x{height}")

    def shutdown(self) -> None:
        self.quiet_timer.stop()
        self._render_timer.stop()
        self.updates.shutdown()


def install(window) -> View3D:
    """Add the 3D dock and its actions to the main window (see the UI contract in the README)."""
    view = View3D()
    dock = window.add_dock(view, "3D", Qt.RightDockWidgetArea)
    dock = dock if dock is not None else view.parentWidget()
    dock.setObjectName("dock_3d")
    layers = getattr(window, "layers_dock", None)
    if layers is not None:
        window.tabifyDockWidget(layers, dock)     # share the right column's lower half with the Layers panel
    dock.hide()
    show = dock.toggleViewAction()
    show.toggled.connect(lambda on: QTimer.singleShot(0, lambda: _on_dock_shown(window, dock)) if on else None)
    show.setText("Show 3D")
    show.setToolTip("Show the segments' surfaces in a 3D view, updated while editing")
    show.setShortcut(QKeySequence("Ctrl+3"))
    window.menu("View").addAction(show)
    _add_to_toolbar(window, show)
    export = QAction("Export surfaces (STL/OBJ/PLY/VTP)...", window, triggered=view.export_dialog)
    window.menu("File").addAction(export)
    window.menu("File").addAction(QAction("3D screenshot (PNG)...", window, triggered=view.screenshot_dialog))
    in_3d = QAction("Show current segment in 3D", window, checkable=True, checked=True)
    in_3d.toggled.connect(lambda on: _set_current_shown(window, view, on))
    window.menu("Segmentation").addAction(in_3d)
    window.current_segment_changed.connect(
        lambda sid: in_3d.setChecked(sid not in view.hidden_in_3d) if sid else None)
    window.segmentation_changed.connect(view.set_segmentation)
    view.segment_clicked.connect(window.select_segment)
    view.message.connect(window.status_message)
    view.set_segmentation(window.segmentation)
    window.view_3d = view
    window.grid_3d = (lambda: _take_into_grid(window, dock, view), lambda: _back_to_dock(dock, view))
    window.destroyed.connect(lambda *_: view.shutdown())
    return view


def _take_into_grid(window, dock, view: View3D) -> View3D:
    """The four-up and 3D-only layouts: the view leaves its dock for the window's view grid (the caller places
    it); the empty dock hides. The same widget and VTK window: no second scene, nothing re-meshed."""
    if dock.widget() is view:
        dock.setWidget(None)
        dock.hide()
    window.view_grid.removeWidget(view)
    view.show()
    return view


def _back_to_dock(dock, view: View3D) -> None:
    """Leaving a layout with 3D in the grid: the view goes back into its dock, as it was (hidden unless shown)."""
    if dock.widget() is not view:
        view.parentWidget().layout().removeWidget(view) if view.parentWidget() is not None else None
        dock.setWidget(view)
        dock.hide()


def _on_dock_shown(window, dock) -> None:
    """Bring the 3D view in front of its tab group; the first time, give it about half the window's height."""
    dock.raise_()
    if dock.property("sized"):
        return
    dock.setProperty("sized", True)
    window.resizeDocks([dock], [max(300, window.height() // 2)], Qt.Vertical)


def _set_current_shown(window, view: View3D, on: bool) -> None:
    sid = window.current_segment_id()
    if sid and (sid in view.hidden_in_3d) == on:
        view.set_shown_in_3d(sid, on)


def _add_to_toolbar(window, action) -> None:
    from PySide6.QtWidgets import QToolBar

    bars = window.findChildren(QToolBar)
    if bars:
        bars[0].addAction(action)
