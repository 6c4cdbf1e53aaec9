"""The "Segment editor" dock: tool buttons, brush size and shape, who may be overwritten, where editing is allowed
(editable area, intensity range), erase-all. A thin view of app.model.segment_editor_state.EditorState: widgets write to
the state; the state's signals update the widgets with their signals blocked (napari's habit)."""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGridLayout,
                               QHBoxLayout, QLabel, QSlider, QToolButton, QVBoxLayout, QWidget)

from app.model.edits import Editable, Overwrite
from app.model.segment_editor_state import MAX_RADIUS_MM, MIN_RADIUS_MM, EditorState, ToolKind
from app.model.tool_options import ToolOptions
from app.ui.view_tools.catalog import ENTRIES

from .qt_signals import with_blocked

TOOL_LABELS = ((ToolKind.NONE, "None", "Esc"), (ToolKind.PAINT, "Paint", "1"), (ToolKind.ERASE, "Erase", "2")) + \
    tuple((e.kind, e.label, e.key) for e in ENTRIES) + ((ToolKind.GROW, "Grow", "G"),)
TOOL_COLUMNS = 4
OVERWRITE_LABELS = ((Overwrite.ALL, "Overwrite all"), (Overwrite.VISIBLE, "Overwrite visible"),
                    (Overwrite.NONE, "Allow overlap"))
AREA_LABELS = ((Editable.EVERYWHERE, "Everywhere"), (Editable.BACKGROUND, "Background only"),
               (Editable.INSIDE_SEGMENT, "Inside one segment:"))
SLIDER_STEPS = 1000


def radius_to_slider(r: float) -> int:
    """Logarithmic slider: fine control for small brushes, still reaching 100 mm."""
    lo, hi = math.log(MIN_RADIUS_MM), math.log(MAX_RADIUS_MM)
    return int(round((math.log(r) - lo) / (hi - lo) * SLIDER_STEPS))


def slider_to_radius(v: int) -> float:
    lo, hi = math.log(MIN_RADIUS_MM), math.log(MAX_RADIUS_MM)
    return math.exp(lo + (hi - lo) * v / SLIDER_STEPS)


class EditorPanel(QWidget):
    """Widgets bound to an EditorState. `set_segmentation` / `set_reference` refresh the segment and grey ranges."""

    mask_segments_wanted = Signal()       # the segment chooser needs its list (re)filled

    def __init__(self, state: EditorState, options: ToolOptions | None = None, parent=None) -> None:
        super().__init__(parent)
        self.state = state
        self._items: list = []
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        self.active_label = QLabel("No segment selected")
        self.active_label.setTextFormat(Qt.RichText)
        lay.addWidget(self.active_label)
        lay.addLayout(self._tool_row())
        from .tool_options_panel import ToolOptionsPanel
        self.tool_options = ToolOptionsPanel(state, options or ToolOptions())
        lay.addWidget(self.tool_options)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.WrapLongRows)       # a narrow dock puts labels above their fields
        self.form = form
        form.addRow("Brush radius:", self._brush_row())
        self.sphere = QCheckBox("Sphere brush")
        self.sphere.setToolTip("Paint a ball that reaches across slices, instead of a disc in the slice")
        self.sphere.toggled.connect(lambda on: setattr(state, "brush_sphere", on))
        form.addRow("", self.sphere)
        self.overwrite = self._combo(OVERWRITE_LABELS, lambda v: setattr(state, "overwrite", v))
        self.overwrite.setToolTip("Which other segments a paint stroke may take voxels from. Locked segments are "
                                  "never changed. 'Allow overlap' moves the painted segment to a new layer when needed.")
        form.addRow("Modify other segments:", self.overwrite)
        form.addRow("Editable area:", self._area_row())
        form.addRow("Editable intensity:", self._intensity_row())
        self.erase_all = QCheckBox("Erase all segments")
        self.erase_all.setToolTip("Erase removes every (unlocked) segment under the brush, not only the selected one")
        self.erase_all.toggled.connect(lambda on: setattr(state, "erase_all", on))
        form.addRow("", self.erase_all)
        lay.addLayout(form)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #d04030; font-weight: bold;")
        lay.addWidget(self.message)
        lay.addStretch(1)
        self._clear_timer = QTimer(self, singleShot=True, interval=8000, timeout=lambda: self.message.setText(""))
        state.tool_changed.connect(self._on_tool)
        state.brush_changed.connect(self._on_brush)
        state.policy_changed.connect(self._on_policy)
        state.message.connect(self.show_message)
        self._on_tool(state.tool)
        self._on_brush()
        self._on_policy()

    # ---------------------------------------------------------------- construction
    def _tool_row(self) -> QGridLayout:
        row = QGridLayout()
        self.tool_group = QButtonGroup(self)
        self.tool_buttons: dict[ToolKind, QToolButton] = {}
        for n, (kind, text, key) in enumerate(TOOL_LABELS):
            b = QToolButton()
            b.setText(text)
            b.setCheckable(True)
            b.setToolTip(f"{text} ({key})")
            b.setToolButtonStyle(Qt.ToolButtonTextOnly)
            b.clicked.connect(lambda _=False, k=kind: setattr(self.state, "tool", k))
            self.tool_group.addButton(b)
            self.tool_buttons[kind] = b
            row.addWidget(b, n // TOOL_COLUMNS, n % TOOL_COLUMNS)
        row.setColumnStretch(TOOL_COLUMNS, 1)
        return row

    def _brush_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.radius_slider = QSlider(Qt.Horizontal)
        self.radius_slider.setRange(0, SLIDER_STEPS)
        self.radius_slider.valueChanged.connect(lambda v: setattr(self.state, "brush_radius_mm", slider_to_radius(v)))
        self.radius_spin = QDoubleSpinBox()
        self.radius_spin.setRange(MIN_RADIUS_MM, MAX_RADIUS_MM)
        self.radius_spin.setDecimals(2)
        self.radius_spin.setSingleStep(0.5)
        self.radius_spin.setSuffix(" mm")
        self.radius_spin.setToolTip("Brush radius in millimetres ([ and ], or Shift+wheel over a view)")
        self.radius_spin.valueChanged.connect(lambda v: setattr(self.state, "brush_radius_mm", v))
        row.addWidget(self.radius_slider, 1)
        row.addWidget(self.radius_spin)
        return row

    @staticmethod
    def _combo(items, on_change) -> QComboBox:
        c = QComboBox()
        for value, text in items:
            c.addItem(text, value)
        c.currentIndexChanged.connect(lambda i: on_change(c.itemData(i)))
        return c

    def _area_row(self) -> QVBoxLayout:
        col = QVBoxLayout()
        self.area = self._combo(AREA_LABELS, lambda v: setattr(self.state, "editable", v))
        self.area.setToolTip("Where a stroke may change voxels (ITK-SNAP's 'draw over')")
        self.mask_segment = QComboBox()
        self.mask_segment.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.mask_segment.setMinimumContentsLength(14)      # 300 long names must not widen the dock
        self.mask_segment.setToolTip("The segment to paint over")
        self.mask_segment.currentIndexChanged.connect(
            lambda i: setattr(self.state, "mask_segment", self.mask_segment.itemData(i)))
        col.addWidget(self.area)
        col.addWidget(self.mask_segment)
        return col

    def _intensity_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.intensity = QCheckBox()
        self.intensity.setToolTip("Edit only where the reference volume is inside [min, max]")
        self.intensity.toggled.connect(self._intensity_toggled)
        self.lo, self.hi = QDoubleSpinBox(), QDoubleSpinBox()
        for box in (self.lo, self.hi):
            box.setRange(-1e9, 1e9)
            box.setDecimals(1)
            box.setEnabled(False)
            box.valueChanged.connect(self._range_edited)
        row.addWidget(self.intensity)
        row.addWidget(self.lo, 1)
        row.addWidget(QLabel("to"))
        row.addWidget(self.hi, 1)
        return row

    # ---------------------------------------------------------------- widgets -> state
    def _intensity_toggled(self, on: bool) -> None:
        if on and self.state.intensity_range == (0.0, 0.0) and self.hi.maximum() < 1e9:
            self.state.intensity_range = (self.lo.minimum(), self.hi.maximum())     # start with the whole range
        self.state.intensity_masking = on

    def _range_edited(self, _=None) -> None:
        self.state.intensity_range = (self.lo.value(), self.hi.value())

    # ---------------------------------------------------------------- state -> widgets
    def _on_tool(self, kind: ToolKind) -> None:
        b = self.tool_buttons[kind]
        with_blocked(b, lambda: b.setChecked(True))
        brush = kind in (ToolKind.NONE, ToolKind.PAINT, ToolKind.ERASE)     # the brush rows only for brushes
        for row in (0, 1):
            self.form.setRowVisible(row, brush)

    def _on_brush(self) -> None:
        r = self.state.brush_radius_mm
        with_blocked(self.radius_slider, lambda: self.radius_slider.setValue(radius_to_slider(r)))
        with_blocked(self.radius_spin, lambda: self.radius_spin.setValue(r))
        with_blocked(self.sphere, lambda: self.sphere.setChecked(self.state.brush_sphere))

    def _on_policy(self) -> None:
        st = self.state
        with_blocked(self.overwrite, lambda: self.overwrite.setCurrentIndex(self.overwrite.findData(st.overwrite)))
        with_blocked(self.area, lambda: self.area.setCurrentIndex(self.area.findData(st.editable)))
        self.mask_segment.setEnabled(st.editable is Editable.INSIDE_SEGMENT)
        i = self.mask_segment.findData(st.mask_segment)
        with_blocked(self.mask_segment, lambda: self.mask_segment.setCurrentIndex(i))
        with_blocked(self.intensity, lambda: self.intensity.setChecked(st.intensity_masking))
        for box, v in zip((self.lo, self.hi), st.intensity_range):
            box.setEnabled(st.intensity_masking)
            with_blocked(box, lambda b=box, x=v: b.setValue(x))
        with_blocked(self.erase_all, lambda: self.erase_all.setChecked(st.erase_all))

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self._clear_timer.start()

    def set_active(self, seg, segment_id: str | None) -> None:
        """Show which segment the brush edits (name and colour swatch)."""
        if seg is None or not segment_id or segment_id not in seg:
            self.active_label.setText("No segment selected")
            return
        s = seg.segment(segment_id)
        rgb = "#%02x%02x%02x" % tuple(int(round(c * 255)) for c in s.color)
        flags = (" (hidden)" if not s.visible else "") + (" (locked)" if s.locked else "")
        self.active_label.setText(f"Editing: <span style='background:{rgb}'>&nbsp;&nbsp;&nbsp;&nbsp;</span> "
                                  f"<b>{_escape(s.name)}</b>{flags}")

    def set_segments(self, seg) -> None:
        """Refill the 'inside one segment' chooser (display order); keeps the chosen one if it still exists."""
        items = [] if seg is None else [(s.name, s.id) for s in seg.segments]
        if items == self._items:
            return
        self._items = items

        def fill():
            self.mask_segment.clear()
            for name, sid in items:
                self.mask_segment.addItem(name, sid)
        with_blocked(self.mask_segment, fill)
        if self.state.mask_segment not in {sid for _, sid in items}:
            self.state.mask_segment = items[0][1] if items else None
        self._on_policy()

    def set_reference(self, volume) -> None:
        """Grey range of the reference for the intensity spin boxes."""
        if volume is None:
            lo, hi = -1e9, 1e9
        else:
            lo, hi = float(np.min(volume.array)), float(np.max(volume.array))
        for box in (self.lo, self.hi):
            with_blocked(box, lambda b=box: b.setRange(lo, hi))
        self._on_policy()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
