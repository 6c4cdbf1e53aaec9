"""The options of the tools beyond the brush, under the Segment editor's buttons: one line of help for the tool
chosen, and the Scissors / Flood fill settings. A thin view of app.model.tool_options.ToolOptions."""
from __future__ import annotations

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QLabel, QVBoxLayout, QWidget)

from app.model.segment_editor_state import EditorState, ToolKind
from app.model.ops.contour import ScissorsOperation, ScissorsShape, SliceCut
from app.model.ops.region import FloodRange
from app.model.tool_options import Scope, ToolOptions
from app.ui.view_tools.catalog import ENTRIES

SCOPE_LABELS = ((Scope.CURRENT, "Current segment"), (Scope.SELECTED, "Selected segments"),
                (Scope.VISIBLE, "Visible segments"), (Scope.ALL, "All segments"))
FLOOD_LABELS = ((FloodRange.TOLERANCE, "Clicked value ± tolerance"), (FloodRange.INTENSITY_BOX,
                "Editable intensity range"), (FloodRange.LABEL, "Fill label region"))


def _combo(items, current, on_change) -> QComboBox:
    c = QComboBox()
    for value, text in items:
        c.addItem(text, value)
    c.setCurrentIndex(c.findData(current))
    c.currentIndexChanged.connect(lambda i: on_change(c.itemData(i)))
    return c


class ToolOptionsPanel(QWidget):
    def __init__(self, state: EditorState, options: ToolOptions, parent=None) -> None:
        super().__init__(parent)
        self.state, self.options = state, options
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.help = QLabel("")
        self.help.setWordWrap(True)
        self.help.setStyleSheet("font-style: italic;")     # the theme's text colour: #9cc on Fusion's light grey
                                                            # was 1.6:1, hard to read (WCAG asks 4.5:1)
        lay.addWidget(self.help)
        o, set_ = options, options.set
        # scissors
        self.scissors = QWidget()
        f = QFormLayout(self.scissors)
        f.setContentsMargins(0, 0, 0, 0)
        self.shape = _combo([(k, k.value.capitalize()) for k in ScissorsShape], o.scissors_shape,
                            lambda v: set_("scissors_shape", v))
        self.operation = _combo([(k, k.value.capitalize()) for k in ScissorsOperation], o.scissors_operation,
                                lambda v: set_("scissors_operation", v))
        self.cut = _combo([(k, k.value.capitalize()) for k in SliceCut], o.scissors_cut,
                          lambda v: set_("scissors_cut", v))
        self.cut.setToolTip("Unlimited: through the whole volume along the view's normal. Positive / negative: "
                            "from this slice towards one side (depth 0: to the edge). Symmetric: a slab centred "
                            "on the slice.")
        self.depth = QDoubleSpinBox()
        self.depth.setRange(0.0, 10000.0)
        self.depth.setSuffix(" mm")
        self.depth.setValue(o.scissors_depth_mm)
        self.depth.valueChanged.connect(lambda v: set_("scissors_depth_mm", float(v)))
        self.scope = _combo(SCOPE_LABELS, o.scissors_scope, lambda v: set_("scissors_scope", v))
        self.scope.setToolTip("Erase from these segments, in one step (fill always fills the current segment)")
        for label, w in (("Shape:", self.shape), ("Operation:", self.operation), ("Slice cut:", self.cut),
                         ("Depth:", self.depth), ("Erase from:", self.scope)):
            f.addRow(label, w)
        lay.addWidget(self.scissors)
        # flood fill
        self.flood = QWidget()
        f = QFormLayout(self.flood)
        f.setContentsMargins(0, 0, 0, 0)
        self.flood_mode = _combo(FLOOD_LABELS, o.flood_mode, lambda v: set_("flood_mode", v))
        self.tolerance = QDoubleSpinBox()
        self.tolerance.setRange(0.0, 1e6)
        self.tolerance.setValue(o.flood_tolerance)
        self.tolerance.valueChanged.connect(lambda v: set_("flood_tolerance", float(v)))
        self.radius = QDoubleSpinBox()
        self.radius.setRange(0.0, 10000.0)
        self.radius.setSuffix(" mm")
        self.radius.setSpecialValueText("no limit")
        self.radius.setValue(o.flood_radius_mm)
        self.radius.valueChanged.connect(lambda v: set_("flood_radius_mm", float(v)))
        self.three_d = QCheckBox("3D (else this slice only)")
        self.three_d.setChecked(o.flood_3d)
        self.three_d.toggled.connect(lambda on: set_("flood_3d", bool(on)))
        for label, w in (("Region:", self.flood_mode), ("Tolerance:", self.tolerance), ("Within radius:", self.radius),
                         ("", self.three_d)):
            f.addRow(label, w)
        lay.addWidget(self.flood)
        state.tool_changed.connect(self._on_tool)
        options.changed.connect(self._on_options)
        self._on_tool(state.tool)
        self._on_options()

    def _on_options(self, _name=None) -> None:
        """Only the settings that matter are enabled: depth for a limited cut, the erase scope for erasing,
        the tolerance for the 'clicked value' mode."""
        o = self.options
        for w, value in ((self.shape, o.scissors_shape), (self.operation, o.scissors_operation),
                         (self.cut, o.scissors_cut), (self.scope, o.scissors_scope), (self.flood_mode, o.flood_mode),
                         (self.depth, o.scissors_depth_mm), (self.tolerance, o.flood_tolerance),
                         (self.radius, o.flood_radius_mm), (self.three_d, o.flood_3d)):
            was = w.blockSignals(True)             # the options -> the widgets (set from code or a test)
            if isinstance(w, QComboBox):
                w.setCurrentIndex(w.findData(value))
            elif isinstance(w, QCheckBox):
                w.setChecked(bool(value))
            else:
                w.setValue(float(value))
            w.blockSignals(was)
        self.depth.setEnabled(o.scissors_cut is not SliceCut.UNLIMITED)
        self.scope.setEnabled(o.scissors_operation in (ScissorsOperation.ERASE_INSIDE, ScissorsOperation.ERASE_OUTSIDE))
        self.tolerance.setEnabled(o.flood_mode is FloodRange.TOLERANCE)

    def _on_tool(self, kind: ToolKind) -> None:
        entry = next((e for e in ENTRIES if e.kind is kind), None)
        self.help.setText(entry.help if entry else "")
        self.help.setVisible(entry is not None)
        self.scissors.setVisible(kind is ToolKind.SCISSORS)
        self.flood.setVisible(kind is ToolKind.FLOOD_FILL)
