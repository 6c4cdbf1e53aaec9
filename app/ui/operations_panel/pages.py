"""One page of parameters per tool. A page reads its widgets on the GUI thread and returns a job: a plain function
(segmentation, segment ids, progress) -> Plan that the panel runs off the GUI thread (preview) and applies."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QPushButton,
                               QSpinBox, QWidget)

from app.model import ops
from app.model.segmentation import SegmentationError


class Page(QWidget):
    """Base: `title`, `changed` (a parameter changed: the preview is stale), `job()`."""

    title = ""
    changed = Signal()

    def __init__(self, panel) -> None:
        super().__init__()
        self.panel = panel
        self.form = QFormLayout(self)
        self.form.setContentsMargins(0, 0, 0, 0)

    def job(self):
        raise NotImplementedError

    def activated(self) -> None:
        """The page became the current one."""

    def deactivated(self) -> None:
        """Another page became current (stop any picking / live preview)."""

    def _spin(self, lo, hi, value, step, suffix="", decimals=2) -> QDoubleSpinBox:
        s = QDoubleSpinBox()
        s.setRange(lo, hi)
        s.setDecimals(decimals)
        s.setSingleStep(step)
        s.setValue(value)
        s.setSuffix(suffix)
        s.setKeyboardTracking(False)
        s.valueChanged.connect(self.changed)
        return s

    def _combo(self, items) -> QComboBox:
        c = QComboBox()
        for text, data in items:
            c.addItem(text, data)
        c.currentIndexChanged.connect(self.changed)
        return c


class MarginPage(Page):
    title = "Margin"

    def __init__(self, panel) -> None:
        super().__init__(panel)
        self.direction = self._combo([("Grow", 1), ("Shrink", -1)])
        self.distance = self._spin(0.01, 100.0, 2.0, 0.5, " mm")
        self.form.addRow("Operation:", self.direction)
        self.form.addRow("Distance:", self.distance)
        self.form.addRow(QLabel("Exact Euclidean distance with the voxel spacing.\nSelected segments grow together: "
                                "never into each other;\nwhere they meet, each voxel goes to the nearest."))

    def job(self):
        d = self.distance.value() * self.direction.currentData()
        return lambda seg, ids, p: ops.plan_margin(seg, ids, d, p)


class SmoothingPage(Page):
    title = "Smoothing"
    METHODS = [("Median", ops.SmoothingMethod.MEDIAN), ("Opening (remove extrusions)", ops.SmoothingMethod.OPENING),
               ("Closing (fill holes)", ops.SmoothingMethod.CLOSING), ("Gaussian", ops.SmoothingMethod.GAUSSIAN),
               ("Joint smoothing (no gaps, no overlaps)", ops.SmoothingMethod.JOINT)]

    def __init__(self, panel) -> None:
        super().__init__(panel)
        self.method = self._combo(self.METHODS)
        self.size = self._spin(0.05, 50.0, 3.0, 0.5, " mm")
        self.size_label = QLabel("Kernel size:")
        self.form.addRow("Method:", self.method)
        self.form.addRow(self.size_label, self.size)
        self.method.currentIndexChanged.connect(self._relabel)
        self._relabel()

    def _relabel(self) -> None:
        gaussian = self.method.currentData() in (ops.SmoothingMethod.GAUSSIAN, ops.SmoothingMethod.JOINT)
        self.size_label.setText("Standard deviation:" if gaussian else "Kernel size:")

    def job(self):
        method, size = self.method.currentData(), self.size.value()
        return lambda seg, ids, p: ops.plan_smoothing(seg, ids, method, size, p)


class IslandsPage(Page):
    title = "Islands"
    MODES = [("Keep largest island", ops.IslandMode.KEEP_LARGEST),
             ("Remove small islands", ops.IslandMode.REMOVE_SMALL),
             ("Split islands into segments", ops.IslandMode.SPLIT),
             ("Keep the island under a click", ops.IslandMode.KEEP_AT),
             ("Remove the island under a click", ops.IslandMode.REMOVE_AT)]

    def __init__(self, panel) -> None:
        super().__init__(panel)
        self.mode = self._combo(self.MODES)
        self.min_size = QSpinBox()
        self.min_size.setRange(1, 10 ** 9)
        self.min_size.setValue(100)
        self.min_size.setSuffix(" voxels")
        self.min_size.valueChanged.connect(self.changed)
        self.fully = QCheckBox("Corners and edges connect (26 neighbours)")
        self.fully.toggled.connect(self.changed)
        self.pick_button = QPushButton("Pick island in a view")
        self.pick_button.setCheckable(True)
        self.pick_button.toggled.connect(self._picking)
        self.ijk = None
        self.ijk_label = QLabel("no voxel picked")
        row = QHBoxLayout()
        row.addWidget(self.pick_button)
        row.addWidget(self.ijk_label, 1)
        self.form.addRow("Operation:", self.mode)
        self.form.addRow("Minimum size:", self.min_size)
        self.form.addRow(self.fully)
        self.form.addRow(row)
        self.mode.currentIndexChanged.connect(self._enable)
        self._enable()

    def _enable(self) -> None:
        at = self.mode.currentData() in (ops.IslandMode.KEEP_AT, ops.IslandMode.REMOVE_AT)
        self.pick_button.setEnabled(at)
        self.min_size.setEnabled(self.mode.currentData() in (ops.IslandMode.REMOVE_SMALL, ops.IslandMode.SPLIT))
        if not at:
            self.pick_button.setChecked(False)

    def _picking(self, on: bool) -> None:
        self.panel.set_picker(self.picked if on else None)

    def picked(self, ijk) -> None:
        """A voxel clicked in a slice view (continuous ijk)."""
        self.ijk = tuple(int(round(c)) for c in ijk)
        self.ijk_label.setText("voxel ({}, {}, {})".format(*self.ijk))
        self.pick_button.setChecked(False)
        self.changed.emit()
        self.panel.preview()

    def deactivated(self) -> None:
        self.pick_button.setChecked(False)

    def job(self):
        mode, n, fully, ijk = self.mode.currentData(), self.min_size.value(), self.fully.isChecked(), self.ijk
        if mode in (ops.IslandMode.KEEP_AT, ops.IslandMode.REMOVE_AT) and ijk is None:
            raise SegmentationError("pick the island first: press 'Pick island in a view' and click it")
        return lambda seg, ids, p: ops.plan_islands(seg, ids, mode, n, ijk, fully, p)


class LogicalPage(Page):
    title = "Logical operations"
    OPS = [("Copy the modifier", ops.LogicalOp.COPY), ("Add the modifier", ops.LogicalOp.ADD),
           ("Subtract the modifier", ops.LogicalOp.SUBTRACT), ("Intersect with the modifier", ops.LogicalOp.INTERSECT),
           ("Invert", ops.LogicalOp.INVERT), ("Clear", ops.LogicalOp.CLEAR), ("Fill the whole image", ops.LogicalOp.FILL)]

    def __init__(self, panel) -> None:
        super().__init__(panel)
        self.op = self._combo(self.OPS)
        self.modifier = QComboBox()
        self.modifier.setMinimumContentsLength(16)
        self.modifier.currentIndexChanged.connect(self.changed)
        self.form.addRow("Operation:", self.op)
        self.form.addRow("Modifier segment:", self.modifier)
        self.op.currentIndexChanged.connect(lambda: self.modifier.setEnabled(self.op.currentData().needs_modifier))

    def set_segments(self, seg) -> None:
        keep = self.modifier.currentData()
        was = self.modifier.blockSignals(True)
        self.modifier.clear()
        for s in (seg.segments if seg is not None else []):
            self.modifier.addItem(s.name, s.id)
        idx = self.modifier.findData(keep)
        self.modifier.setCurrentIndex(max(0, idx))
        self.modifier.blockSignals(was)

    def job(self):
        op, mod = self.op.currentData(), self.modifier.currentData()
        return lambda seg, ids, p: ops.plan_logical(seg, ids, op, mod if op.needs_modifier else None, p)


class HollowPage(Page):
    title = "Hollow"
    shortcut = "Ctrl+Alt+H"
    MODES = [("Inside the surface", ops.HollowMode.INSIDE), ("Centred on the surface", ops.HollowMode.CENTRED),
             ("Outside the surface", ops.HollowMode.OUTSIDE)]

    def __init__(self, panel) -> None:
        super().__init__(panel)
        self.mode = self._combo(self.MODES)
        self.thickness = self._spin(0.05, 100.0, 3.0, 0.5, " mm")
        self.form.addRow("Shell:", self.mode)
        self.form.addRow("Thickness:", self.thickness)
        self.form.addRow(QLabel("Turns each segment into a shell of this thickness (exact Euclidean distance "
                                "with the voxel spacing, as Margin)."))

    def job(self):
        t, mode = self.thickness.value(), self.mode.currentData()
        return lambda seg, ids, p: ops.plan_hollow(seg, ids, t, mode, p)


class FillPage(Page):
    title = "Fill between slices"
    METHODS = [("Signed distance", "signed_distance"), ("Morphological contour (ITK)", "morphological")]

    def __init__(self, panel) -> None:
        super().__init__(panel)
        self.axis = self._combo([])
        self.method = self._combo(self.METHODS)
        self.method.setToolTip("Signed distance: blends the shapes of the drawn slices. Morphological (ITK, as "
                               "Slicer and ITK-SNAP): also follows a shape that splits or moves; loads ITK on "
                               "first use (about 10 s on a 2-core machine, in the background)")
        self.form.addRow("Slices across:", self.axis)
        self.form.addRow("Method:", self.method)
        self.form.addRow(QLabel("Draw the segment on a few slices of one view, then fill the\n"
                                "empty slices between them."))

    def set_views(self, views) -> None:
        was = self.axis.blockSignals(True)
        self.axis.clear()
        for v in views:
            self.axis.addItem(f"{v.plane.value.capitalize()} view (axis {'ijk'[v.plane_axis]})", v.plane_axis)
        self.axis.blockSignals(was)

    def job(self):
        axis, method = self.axis.currentData(), self.method.currentData()
        if axis is None:
            raise SegmentationError("open a segmentation first")
        return lambda seg, ids, p: ops.plan_fill_between_slices(seg, ids, axis, p, method)


class IslandPicker:
    """A Qt-free tool for the slice views: a click (press, then release) reports the pressed voxel on release,
    when the view no longer routes the drag to it (so the callback may swap the views' tools)."""

    name = "pick island"

    def __init__(self, callback) -> None:
        self.callback = callback
        self.ijk = None

    def press(self, ijk, ctx) -> bool:
        self.ijk = ijk
        return True

    def drag(self, ijk, ctx) -> bool:
        return True

    def release(self, ijk, ctx) -> bool:
        self.callback(self.ijk if self.ijk is not None else ijk)
        return True

    def cancel(self) -> None:
        self.ijk = None
