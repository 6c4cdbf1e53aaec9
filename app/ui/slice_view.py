"""One slice view (axial, coronal or sagittal) on a pyqtgraph ViewBox: grey + one ARGB32 image per labelmap layer.

Pixels come from app.render (lookup tables, no per-segment work); this widget only places images, converts mouse
positions to lattice indices, forwards them to the active tool and redraws what the model says changed.
Mouse: left = tool (or move the linked cursor), Ctrl+left = select the segment under the cursor, middle-drag =
pan, right-drag = window/level, wheel = next/previous slice, Ctrl+wheel = zoom. Keys: arrows and Page Up/Down
step slices, R resets the view, Escape cancels a tool's stroke.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import shiboken6
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QTransform
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from app.render.lut import to_rgba
from app.render.overlay import LabelImages
from app.render.view_orientation import EDGE_LETTERS, Plane, forward_step
from app.ui.view_tools.base import ViewContext

from .display import Display
from .raster_item import RasterItem
from .qt_signals import with_blocked
from .slice_canvas import SliceCanvas
from .view_marks import BrushOutline, Crosshair, ToolMarksItem

pg.setConfigOptions(imageAxisOrder="row-major", useOpenGL=False, antialias=False)

PLANE_COLOURS = {Plane.AXIAL: "#c0504d", Plane.CORONAL: "#6fae4f", Plane.SAGITTAL: "#e5c440"}   # Slicer's R, G, Y
_NORMAL = {Plane.AXIAL: (2, "S"), Plane.CORONAL: (1, "P"), Plane.SAGITTAL: (0, "L")}   # LPS axis shown, letter


class SliceView(QWidget):
    _under_mouse: "SliceView | None" = None      # the view the mouse is over (keys go there, as the wheel does)
    slice_changed = Signal(int)
    segment_picked = Signal(str)       # Ctrl+click on a segment
    hover_text = Signal(str)           # what is under the mouse, for the status bar

    def __init__(self, display: Display, plane: Plane, parent=None) -> None:
        super().__init__(parent)
        self.display = display
        self.plane = plane
        self.frame = None
        self._index = 0
        self._forward = 1             # lattice step of "next slice" (see step)
        self._hover_point = None      # where the mouse is (view coordinates), None when it is elsewhere
        self._tool = None
        self._labels = LabelImages()
        self._label_items: list[RasterItem] = []
        self._stale = False           # a hidden view skips work and redraws when shown
        self._build()
        self.setFocusPolicy(Qt.StrongFocus)
        display.document_changed.connect(self._on_document)
        display.labels_recoloured.connect(self._on_recoloured)
        display.style_changed.connect(self._render_labels)
        display.voxels_changed.connect(self._on_voxels)
        display.grey_changed.connect(self._render_grey)
        display.cursor_changed.connect(self._on_cursor)
        self._on_document()

    # ---------------------------------------------------------------- construction
    def _build(self) -> None:
        self.canvas = SliceCanvas(self, EDGE_LETTERS[self.plane])
        self.view_box = self.canvas.view_box
        self.grey_item = RasterItem(premultiplied_alpha=False)
        self.view_box.addItem(self.grey_item)
        self.crosshair = Crosshair(self.view_box)
        self.brush_outline = BrushOutline(self.view_box)
        self.tool_marks = ToolMarksItem(self.view_box)
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setFocusPolicy(Qt.NoFocus)
        self.slider.valueChanged.connect(self.set_slice)
        self.title = QLabel(self.plane.value.capitalize())
        self.title.setStyleSheet(f"background:{PLANE_COLOURS[self.plane]}; color:black; padding:0 6px;")
        self.position_label = QLabel("")
        self.position_label.setMinimumWidth(90)
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.title)
        bar.addWidget(self.slider, 1)
        bar.addWidget(self.position_label)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(1, 1, 1, 1)
        lay.setSpacing(1)
        lay.addLayout(bar)
        lay.addWidget(self.canvas, 1)

    # ---------------------------------------------------------------- the contract
    @property
    def plane_axis(self) -> int:
        return self.frame.plane_axis if self.frame is not None else 2

    @property
    def slice_index(self) -> int:
        return self._index

    def set_slice(self, index: int) -> None:
        if self.frame is None:
            return
        index = int(min(max(int(index), 0), self.frame.n_slices - 1))
        if index == self._index:
            return
        self._show_slice(index)
        self.display.set_cursor_axis(self.frame.plane_axis, index)
        self.slice_changed.emit(index)

    def set_tool(self, tool) -> None:
        if self._tool is not None and self.canvas.dragging_tool:
            self._tool.cancel()
            self.canvas.dragging_tool = False
        self._tool = tool

    @property
    def tool(self):
        return self._tool

    def set_brush_outline(self, radius_mm) -> None:
        self.brush_outline.set_radius(radius_mm)

    @property
    def brush_radius_mm(self) -> float | None:
        """The radius of the brush outline shown (None: no outline)."""
        return self.brush_outline.radius_mm

    _brush_mm = brush_radius_mm          # the name the editing tests first used

    def step(self, n: int) -> None:
        """n slices on: positive = towards superior / anterior / right (Slicer's direction), in every file."""
        self.set_slice(self._index + n * self._forward)

    def reset_view(self) -> None:
        if self.frame is not None:
            h, w = self._size_mm()
            self.view_box.setRange(QRectF(0, 0, w, h), padding=0.01)

    def centre_on(self, ijk) -> None:
        """Pan (same zoom) so that the lattice point `ijk` is in the middle of the view."""
        if self.frame is None:
            return
        p = self.ijk_to_view(ijk)
        (x0, x1), (y0, y1) = self.view_box.viewRange()
        w, h = x1 - x0, y1 - y0
        self.view_box.setRange(QRectF(p.x() - w / 2, p.y() - h / 2, w, h), padding=0)

    def context(self, modifiers=Qt.NoModifier) -> ViewContext:
        return ViewContext(self.plane_axis, self._index, bool(modifiers & Qt.ShiftModifier),
                           bool(modifiers & Qt.ControlModifier))

    def label_image(self, layer: int = 0) -> np.ndarray:
        """The straight RGBA (rows, cols, 4) currently shown for a layer (screen orientation), for tests/tools."""
        return to_rgba(self._labels.images[layer])

    # ---------------------------------------------------------------- coordinates
    def _size_mm(self) -> tuple[float, float]:
        rmm, cmm = self.frame.pixel_mm
        return self.frame.rows * rmm, self.frame.cols * cmm

    def view_to_ijk(self, point: QPointF):
        """A point in view (millimetre) coordinates -> continuous lattice index, or None without a document."""
        if self.frame is None:
            return None
        rmm, cmm = self.frame.pixel_mm
        return self.frame.to_ijk(point.x() / cmm, point.y() / rmm, self._index)

    def ijk_to_view(self, ijk) -> QPointF:
        rmm, cmm = self.frame.pixel_mm
        x, y = self.frame.to_display(ijk)
        return QPointF(x * cmm, y * rmm)

    # ---------------------------------------------------------------- rendering
    def _on_document(self) -> None:
        self.frame = self.display.frames.get(self.plane)
        self.canvas.set_empty(self.frame is None)
        if self.frame is None:
            self.grey_item.set_image(None)
            self._sync_label_items(0)
            self._labels = LabelImages()
            self.slider.setRange(0, 0)
            return
        self._ijk_to_lps = self.display.geometry.ijk_to_lps
        self._forward = forward_step(self.display.geometry, self.plane)
        self.crosshair.reset()
        for item in [self.grey_item, *self._label_items]:
            self._place(item)
        with_blocked(self.slider, lambda: self.slider.setRange(0, self.frame.n_slices - 1))
        self._index = -1
        self._show_slice(int(round(self.display.cursor[self.frame.plane_axis])))
        self.reset_view()

    def _show_slice(self, index: int) -> None:
        self._index = index
        with_blocked(self.slider, lambda: self.slider.setValue(index))
        self._render_grey()
        self._render_labels()
        self._update_cursor_lines()
        self._update_position_label()
        self._rehover()

    def _skip(self) -> bool:
        """Hidden (single-view layout, closed dock): remember to redraw on show instead of drawing now."""
        if self.isVisible():
            return False
        self._stale = True
        return True

    def showEvent(self, ev) -> None:
        super().showEvent(ev)
        if self._stale and self.frame is not None:
            self._stale = False
            self._render_grey()
            self._render_labels()
            self._update_cursor_lines()

    def _render_grey(self) -> None:
        d = self.display
        if self.frame is None or d.ref is None:
            self.grey_item.set_image(None)
            return
        if self._skip():
            return
        self.grey_item.set_image(d.grey_lut().apply(d.ref.slice(self.frame, self._index)))

    def _sync_label_items(self, n: int) -> None:
        while len(self._label_items) < n:
            item = RasterItem(premultiplied_alpha=True)
            item.setZValue(10 + len(self._label_items))
            self.view_box.addItem(item)
            self._label_items.append(item)
        while len(self._label_items) > n:
            self.view_box.removeItem(self._label_items.pop())
        if self.frame is not None:
            for item in self._label_items:
                self._place(item)

    def _place(self, item) -> None:
        """Image pixels -> millimetres: every image of this view covers the same physical rectangle."""
        rmm, cmm = self.frame.pixel_mm
        item.setTransform(QTransform.fromScale(cmm, rmm))

    def _render_labels(self) -> None:
        d = self.display
        seg = d.segmentation
        if self.frame is None or seg is None or d.luts is None:
            self._sync_label_items(0)
            self._labels = LabelImages()
            return
        self._sync_label_items(seg.n_layers)
        if self._skip():
            return
        images = self._labels.render(seg.layers, d.luts.luts, self.frame, self._index, d.style)
        for item, img in zip(self._label_items, images):
            item.set_image(img)

    def _labels_current(self) -> bool:
        d = self.display
        return (self.frame is not None and d.segmentation is not None and not self._stale
                and len(self._labels.images) == d.segmentation.n_layers == len(self._label_items)
                and self._labels.index == self._index)

    def _on_recoloured(self, layers) -> None:
        if layers is None or not self._labels_current():
            self._render_labels()
            return
        if self._skip():
            return
        for n in layers:
            self._labels.recolour(n, self.display.luts.luts, self.display.style)
            self._label_items[n].update()

    def _on_voxels(self, changes) -> None:
        d = self.display
        self._labels.note_voxels(changes)
        if self.frame is None or d.segmentation is None:
            return
        if not self._labels_current():
            self._render_labels()
            return
        if self._skip():
            return
        touched = self._labels.update_voxels(changes, d.segmentation.layers, d.luts.luts, self.frame, d.style)
        for n, regions in touched.items():
            for rows, cols in regions:
                self._label_items[n].update_region(rows, cols)

    # ---------------------------------------------------------------- cursor, brush, hover
    def _on_cursor(self, ijk) -> None:
        if self.frame is None:
            return
        index = int(round(ijk[self.frame.plane_axis]))
        if index != self._index:
            self._show_slice(index)
            self.slice_changed.emit(index)
        else:
            self._update_cursor_lines()

    def _update_cursor_lines(self) -> None:
        p = self.ijk_to_view(self.display.cursor)
        self.crosshair.move(p.x(), p.y())

    def _update_position_label(self) -> None:
        c = np.array(self.display.cursor, dtype=float)
        c[self.frame.plane_axis] = self._index
        lps = self._ijk_to_lps[:3, :3] @ c + self._ijk_to_lps[:3, 3]
        axis, letter = _NORMAL[self.plane]
        self.position_label.setText(f"{letter}: {lps[axis]:.1f} mm")

    def hover(self, point: QPointF | None) -> None:
        """The mouse is over `point` (view coordinates), or left the view (None)."""
        self._hover_point = point
        if point is not None:
            SliceView._under_mouse = self
        elif SliceView._under_mouse is self:
            SliceView._under_mouse = None
        self.brush_outline.follow(None if self.frame is None else point)
        if point is not None and self.frame is not None:
            ijk = self.view_to_ijk(point)
            self.hover_text.emit(self.describe(ijk))
            if hasattr(self._tool, "hover") and not self.canvas.dragging_tool:
                self._tool.hover(ijk, self.context())

    def show_marks(self, marks) -> None:
        """Draw a tool's marks (app.ui.view_tools.common.Marks, or None) where they meet this view's slice."""
        item = self.tool_marks
        item.clear()
        # the marks' items change size and place: repaint the whole viewport, or a moved outline can stay
        # off screen (seen under X11, where only the items' old rectangles were repainted)
        self.canvas.viewport().update()
        if marks is None or self.frame is None:
            return
        if marks.points and marks.plane_axis == self.plane_axis and marks.index == self._index:
            item.set_polyline([self.ijk_to_view(p) for p in marks.points], marks.closed)
        if marks.region is not None:
            mask, box = marks.region
            if not self.frame.crosses(box, self._index):
                return
            sub = np.take(mask, self._index - box[self.plane_axis].start, axis=self.plane_axis)
            if self.frame.row_axis > self.frame.col_axis:
                sub = sub.T
            sub = sub[::-1 if self.frame.row_flip else 1, ::-1 if self.frame.col_flip else 1]
            inner = np.zeros_like(sub)            # outline = the region's pixels with a 4-neighbour outside it
            inner[1:-1, 1:-1] = sub[1:-1, 1:-1] & sub[:-2, 1:-1] & sub[2:, 1:-1] & sub[1:-1, :-2] & sub[1:-1, 2:]
            rows, cols = self.frame.display_range(box)
            item.set_outline(sub & ~inner, rows, cols, self.frame.pixel_mm)

    def _rehover(self) -> None:
        """The slice changed under a still mouse: the status bar describes the new voxel under it."""
        if self._hover_point is not None and self.frame is not None:
            self.hover_text.emit(self.describe(self.view_to_ijk(self._hover_point)))

    def describe(self, ijk) -> str:
        return self.display.describe(ijk)

    def pick(self, ijk) -> None:
        """Ctrl+click: select the segment under the cursor (the top-most layer's, if several)."""
        seg = self.display.segmentation
        if seg is None or ijk is None:
            return
        ids = seg.segments_at_voxel(tuple(int(round(c)) for c in ijk))
        if ids:
            self.segment_picked.emit(max(ids, key=lambda s: seg.segment(s).layer))

    # ---------------------------------------------------------------- keys
    def keyPressEvent(self, ev) -> None:
        key = ev.key()
        steps = {Qt.Key_Up: 1, Qt.Key_Right: 1, Qt.Key_Down: -1, Qt.Key_Left: -1,
                 Qt.Key_PageUp: 10, Qt.Key_PageDown: -10}
        if key in steps:
            self._key_target().step(steps[key])
        elif hasattr(self._tool, "key") and self._tool.key(_KEY_NAMES.get(key, ev.text())):
            pass                                            # the tool took it (Enter, Backspace, x, a ...)
        elif key == Qt.Key_R and not ev.modifiers():
            self._key_target().reset_view()
        elif key == Qt.Key_Escape and self._tool is not None:
            self._tool.cancel()
            self.canvas.dragging_tool = False
        else:
            super().keyPressEvent(ev)

    def _key_target(self) -> "SliceView":
        """Keys act on the view the wheel would: the one under the mouse, else this one (the last clicked)."""
        other = SliceView._under_mouse
        if other is None or other is self or not shiboken6.isValid(other):   # a closed window's view
            return self
        if other.isVisible() and other.window() is self.window():
            return other
        return self

    def event(self, ev) -> bool:
        if ev.type() == QEvent.Leave:
            self.hover(None)
        return super().event(ev)


_KEY_NAMES = {Qt.Key_Return: "Return", Qt.Key_Enter: "Enter", Qt.Key_Backspace: "Backspace",
              Qt.Key_Escape: "Escape"}
