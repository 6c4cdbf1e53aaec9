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
        """Collapse (or force a single layer, after confirming when voxels would be lost). Always says what
        happened (status bar); an attempt that changes nothing leaves no undo step. Returns the summary."""
        seg = self.segmentation
        if seg is None:
            return self._say("Nothing to collapse: no segmentation is open.")
        before = seg.n_layers
        if before < 2:
            return self._say(f"Nothing to collapse: the segments already share {before} layer.")
        if self.force_box.isChecked():
            if seg.overlapping() and not self.confirm_force():
                return self._say("Force collapse cancelled: nothing changed.")
            seg.force_single_layer()
        else:
            seg.collapse()
        self.refresh()
        after = seg.n_layers
        if after == before:
            msg = (f"{after} layers kept: segments overlap, so each needs its own layer. Nothing changed. Tick "
                   "'Force collapse to single layer' to merge them (overlapping voxels go to the later segment).")
        elif after > 1:
            msg = f"Collapsed {before} layers into {after}: the segments left apart overlap others."
        else:
            msg = f"Collapsed {before} layers into 1."
        return self._say(msg)

    def _say(self, msg: str) -> str:
        self.collapsed.emit(msg)
        return msg

    def confirm_force(self) -> bool:
        answer = QMessageBox.warning(
            self, "Force a single layer",
            "Some segments overlap. Forcing a single layer gives each overlapping voxel to the segment closest to "
            "the end of the list; the other segments lose those voxels (undo restores them).",
            QMessageBox.Ok | QMessageBox.Cancel, QMessageBox.Cancel)
        return answer == QMessageBox.Ok
