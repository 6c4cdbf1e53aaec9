""""Binary labelmap layers" (Slicer's Segmentations module): number of layers and segments, and "Collapse
labelmap layers" with the "Force collapse to single layer" option and its warning."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QFormLayout, QGroupBox, QLabel, QMessageBox, QPushButton, QVBoxLayout

FORCE_TIP = ("Put every segment in one layer. Where segments overlap, the voxel goes to the segment closest to "
             "the end of the list: the other segments lose those voxels.")
COLLAPSE_TIP = ("Minimise the number of layers to save memory. Segment contents are unchanged unless forcing a "
                "single layer with overlapping segments.")


class LayersPanel(QGroupBox):
    collapsed = Signal(str)      # a one-line summary for the status bar

    def __init__(self, parent=None) -> None:
        super().__init__("Binary labelmap layers", parent)
        self.segmentation = None
        self.layers_label = QLabel("0")
        self.segments_label = QLabel("0")
        self.force_box = QCheckBox("Force collapse to single layer")
        self.force_box.setToolTip(FORCE_TIP)
        self.collapse_button = QPushButton("Collapse labelmap layers")
        self.collapse_button.setToolTip(COLLAPSE_TIP)
        self.collapse_button.clicked.connect(lambda: self.collapse())
        form = QFormLayout()
        form.addRow("Number of layers:", self.layers_label)
        form.addRow("Number of segments:", self.segments_label)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.force_box)
        lay.addWidget(self.collapse_button)
        lay.addStretch(1)
        self.refresh()

    def set_segmentation(self, segmentation) -> None:
        self.segmentation = segmentation
        self.refresh()

    def refresh(self) -> None:
        seg = self.segmentation
        self.layers_label.setText(str(seg.n_layers if seg is not None else 0))
        self.segments_label.setText(str(len(seg) if seg is not None else 0))
        self.collapse_button.setEnabled(seg is not None and seg.n_layers > 1)

    def collapse(self) -> str:
        """Collapse (or force a single layer, after confirming when voxels would be lost). Returns a summary."""
        seg = self.segmentation
        if seg is None or seg.n_layers < 2:
            return ""
        before = seg.n_layers
        if self.force_box.isChecked():
            if seg.overlapping() and not self.confirm_force():
                return ""
            seg.force_single_layer()
        else:
            seg.collapse()
        self.refresh()
        msg = f"Layers: {before} -> {seg.n_layers}"
        if not self.force_box.isChecked() and seg.n_layers > 1:
            msg += " (overlapping segments need their own layers; force a single layer to merge them)"
        self.collapsed.emit(msg)
        return msg

    def confirm_force(self) -> bool:
        answer = QMessageBox.warning(
            self, "Force a single layer",
            "Some segments overlap. Forcing a single layer gives each overlapping voxel to the segment closest to "
            "the end of the list; the other segments lose those voxels (undo restores them).",
            QMessageBox.Ok | QMessageBox.Cancel, QMessageBox.Cancel)
        return answer == QMessageBox.Ok
