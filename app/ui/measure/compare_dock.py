"""The Compare dock: a second segmentation (B) against the open one (A). Shows B's outlines over A, or where they
differ (voxels only in A / only in B in two colours) on every slice view, and a table of matched segments sorted
worst first (lowest Dice); a click jumps to where that pair disagrees. B on another lattice is resampled onto
A's by nearest neighbour (app.model.compare)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QHBoxLayout, QLabel, QMessageBox, QPushButton,
                               QVBoxLayout, QWidget)

from app.model import compare as cmp

from ..slice_overlay import SliceOverlay
from .jump import jump_to, nearest_voxel
from .stats_dock import TableModel, make_table, table_text

OFF, OUTLINES, DIFFERENCE = "Off", "Outlines of B", "Difference"
ONLY_A, ONLY_B, SWAPPED, OUTLINE = 1, 2, 3, 4
COLOURS = np.array([[0, 0, 0, 0],
                    [255, 140, 0, 200],        # only in A: orange
                    [0, 170, 255, 200],        # only in B: blue
                    [230, 40, 230, 200],       # in both, but in segments that do not match: magenta
                    [255, 255, 0, 230]], dtype=np.uint8)   # B's outlines: yellow
SHOWN = ("name", "dice", "jaccard", "volume_a_mm3", "volume_b_mm3", "volume_diff_mm3", "only_a", "only_b",
         "mean_surface_mm", "hausdorff_mm", "hd95_mm", "label_a", "label_b")


class CompareOverlay(SliceOverlay):
    """One image per slice view above the labels, recomputed for the view's slice from A's live layers and B."""

    def __init__(self, window, codes_fn) -> None:
        self.codes_fn = codes_fn
        super().__init__(window, z=38)

    def _draw(self, view, item) -> None:
        frame = view.frame
        codes = None if frame is None else self.codes_fn(frame, view.slice_index)
        self.paint_codes(view, item, codes, COLOURS)


def _pair_luts(results, seg, side: str, layers) -> list[np.ndarray | None]:
    """Per layer: a lookup label value -> 1 + pair index (0: no pair), for the side 'a' or 'b'."""
    luts = []
    for n, arr in enumerate(layers):
        top = int(arr.max()) if arr.size else 0
        low = int(arr.min()) if arr.size else 0
        if low < 0 or top > (1 << 20):
            luts.append(None)
            continue
        lut = np.zeros(top + 1, np.int32)
        for k, r in enumerate(results):
            sid = r.id_a if side == "a" else r.id_b
            if sid is None:
                continue
            s = seg.segment(sid)
            if s.layer == n and s.label <= top:
                lut[s.label] = k + 1
        luts.append(lut)
    return luts


def _lookup(lut, values: np.ndarray, seg, results, side, layer) -> np.ndarray:
    if lut is not None:
        return lut[values]
    out = np.zeros(values.shape, np.int32)      # negative or huge label values: per pair (rare)
    for k, r in enumerate(results):
        sid = r.id_a if side == "a" else r.id_b
        if sid is not None and seg.segment(sid).layer == layer:
            out[values == seg.segment(sid).label] = k + 1
    return out


def outline(labels: np.ndarray) -> np.ndarray:
    """One-pixel label boundaries of a 2D label image: between two segments the line is drawn on one side only
    (rows below / columns right of the boundary), against the background always on the segment's side."""
    edge = np.zeros(labels.shape, bool)
    for axis in (0, 1):
        lo = [slice(None)] * 2
        hi = [slice(None)] * 2
        lo[axis], hi[axis] = slice(None, -1), slice(1, None)
        lo, hi = tuple(lo), tuple(hi)
        differ = labels[hi] != labels[lo]
        edge[hi] |= differ & (labels[hi] != 0)
        edge[lo] |= differ & (labels[hi] == 0)
    return edge & (labels != 0)


class ComparePanel(QWidget):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.dock = None
        self.seg = None                  # A
        self.other = None                # B
        self.other_path: Path | None = None
        self.b_layers: list[np.ndarray] = []
        self.results: list[cmp.PairResult] = []
        self.mapping = None
        self._luts_a = self._luts_b = None
        self.overlay = CompareOverlay(window, self.codes)
        self._redraw = QTimer(self, singleShot=True, interval=100)
        self._redraw.timeout.connect(self.overlay.refresh)
        self.open_button = QPushButton("Open B...")
        self.open_button.setToolTip("Choose the segmentation to compare with the open one")
        self.open_button.clicked.connect(self.ask_open)
        self.b_label = QLabel("no second segmentation")
        self.match_box = QComboBox()
        self.match_box.addItems(["by label value", "by name", "mapping CSV..."])
        self.match_box.activated.connect(self._match_chosen)
        self.distances_box = QCheckBox("Surface distances")
        self.distances_box.setChecked(True)
        self.distances_box.setToolTip("Mean symmetric surface distance, Hausdorff and HD95 (mm) per pair")
        self.compare_button = QPushButton("Compare")
        self.compare_button.clicked.connect(self.run)
        self.show_box = QComboBox()
        self.show_box.addItems([OFF, OUTLINES, DIFFERENCE])
        self.show_box.setCurrentText(DIFFERENCE)
        self.show_box.setToolTip("On the slice views: B's outlines (yellow) over A, or the difference: only in A "
                                 "(orange), only in B (blue), in both but unmatched segments (magenta)")
        self.show_box.currentTextChanged.connect(lambda _t: self.overlay.refresh())
        self.copy_button = QPushButton("Copy")
        self.copy_button.clicked.connect(self.copy)
        self.status = QLabel("")
        self.model = TableModel(self)
        self.view, self.proxy = make_table(self, self.model)
        self.view.clicked.connect(self._clicked)
        self.view.activated.connect(self._clicked)
        top = QHBoxLayout()
        for w in (self.open_button, self.b_label):
            top.addWidget(w)
        top.addStretch(1)
        for w in (QLabel("Match"), self.match_box, self.distances_box, self.compare_button, QLabel("Show"),
                  self.show_box, self.copy_button):
            top.addWidget(w)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addLayout(top)
        lay.addWidget(self.status)
        lay.addWidget(self.view, 1)

    # ---------------------------------------------------------------- documents
    def set_segmentation(self, seg) -> None:
        if self.seg is not None:
            self.seg.events.voxels_changed.disconnect(self._on_voxels)
        self.seg = seg
        if seg is not None:
            seg.events.voxels_changed.connect(self._on_voxels)
        self.b_layers, self.results = [], []
        self.model.reset([], [])
        if seg is not None and self.other is not None:
            self._resample()
        self.overlay.refresh()

    def dock_visibility_changed(self, visible: bool) -> None:
        self.overlay.refresh()

    def set_other(self, other, path=None) -> None:
        """Compare with segmentation `other` (B) and show the result."""
        self.other, self.other_path = other, (Path(path) if path else None)
        self.b_label.setText(f"B: {self.other_path.name if self.other_path else 'in memory'} ({len(other)} "
                             f"segments)" if other is not None else "no second segmentation")
        if self.seg is not None and other is not None:
            self._resample()
            self.run()
        self.overlay.refresh()

    def _resample(self) -> None:
        self.b_layers = self.window.run_long(lambda progress: cmp.layers_on(self.other, self.seg.geometry),
                                             "Resampling B onto A's lattice...")

    def ask_open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Segmentation to compare (B)", "",
                                              "Segmentations (*.seg.nrrd *.seg.nhdr *.nrrd *.nhdr *.nii *.nii.gz)")
        if path:
            self.open_path(path)

    def open_path(self, path, labels=None) -> bool:
        from app import io

        try:
            other = self.window.run_long(lambda progress: io.open_segmentation(path, labels=labels,
                                                                               progress=progress),
                                         f"Reading {Path(path).name}...")
        except (io.FileFormatError, OSError, cmp.CompareError) as exc:
            QMessageBox.warning(self, "Compare", f"Could not open {path}: {exc}")
            return False
        self.set_other(other, path)
        return True

    def _match_chosen(self, index: int) -> None:
        if index == 2:
            path, _ = QFileDialog.getOpenFileName(self, "Mapping (CSV rows: A,B)", "", "CSV (*.csv *.txt)")
            if not path:
                self.match_box.setCurrentIndex(0)
                return
            try:
                self.mapping = cmp.parse_mapping(Path(path).read_text(encoding="utf-8-sig"))
            except (OSError, UnicodeDecodeError, cmp.CompareError) as exc:
                QMessageBox.warning(self, "Compare", f"Could not use {path}: {exc}")
                self.match_box.setCurrentIndex(0)
                return
        else:
            self.mapping = None
        if self.other is not None:
            self.run()

    def _on_voxels(self, changes) -> None:
        if self.results and self.show_box.currentText() != OFF:
            self._redraw.start()
        if self.results:
            self.status.setText("A was edited: press Compare to measure again")

    # ---------------------------------------------------------------- comparing
    def run(self) -> None:
        if self.seg is None or self.other is None:
            return
        by = "name" if self.match_box.currentIndex() == 1 else "label"
        mapping = self.mapping if self.match_box.currentIndex() == 2 else None
        a, b, dist = self.seg, self.other, self.distances_box.isChecked()
        try:
            results = self.window.run_long(lambda progress: cmp.compare(a, b, by, mapping, dist, progress),
                                           "Comparing segmentations...")
        except cmp.CompareError as exc:
            QMessageBox.warning(self, "Compare", str(exc))
            return
        self.set_results(results)

    def set_results(self, results) -> None:
        self.results = cmp.worst_first(results)
        self._luts_a = _pair_luts(self.results, self.seg, "a", self.seg.layers)
        self._luts_b = _pair_luts(self.results, self.other, "b", self.b_layers)
        rows = []
        for r in self.results:
            row = cmp.as_row(r)
            row["name"] = r.name
            rows.append(row)
        self.model.reset(SHOWN, rows)
        self.view.sortByColumn(SHOWN.index("dice"), Qt.AscendingOrder)    # worst first (a stable sort)
        self.view.resizeColumnsToContents()
        pairs = sum(r.id_a is not None and r.id_b is not None for r in self.results)
        mean = np.mean([r.dice for r in self.results if r.id_a and r.id_b]) if pairs else float("nan")
        self.status.setText(f"{pairs} pairs matched, {len(self.results) - pairs} unmatched; mean Dice {mean:.4f}")
        self.overlay.refresh()

    # ---------------------------------------------------------------- drawing
    def codes(self, frame, index):
        mode = self.show_box.currentText()
        if mode == OFF or self.seg is None or not self.b_layers or self._luts_b is None or \
                (self.dock is not None and not self.dock.isVisible()):
            return None
        pb = np.zeros((frame.rows, frame.cols), np.int32)
        for n, arr in enumerate(self.b_layers):
            got = _lookup(self._luts_b[n], frame.extract(arr, index), self.other, self.results, "b", n)
            pb = np.where(got > 0, got, pb)
        if mode == OUTLINES:
            labels = np.zeros((frame.rows, frame.cols), np.int64)
            for n, arr in enumerate(self.b_layers):     # outlines of every B segment, matched or not
                labels = labels * (int(arr.max()) + 1 if arr.size else 1) + frame.extract(arr, index)
            return np.where(outline(labels), OUTLINE, 0).astype(np.uint8)
        pa = np.zeros_like(pb)
        for n, arr in enumerate(self.seg.layers):
            got = _lookup(self._luts_a[n], frame.extract(arr, index), self.seg, self.results, "a", n) \
                if n < len(self._luts_a) else 0
            pa = np.where(got > 0, got, pa)
        only_a = (pa > 0) & (pa != pb)
        only_b = (pb > 0) & (pb != pa)
        out = np.zeros(pa.shape, np.uint8)
        out[only_a] = ONLY_A
        out[only_b] = ONLY_B
        out[only_a & only_b] = SWAPPED
        return out

    # ---------------------------------------------------------------- table
    def _clicked(self, index) -> None:
        if index.isValid():
            self.jump_to_pair(self.proxy.mapToSource(index).row())

    def jump_to_pair(self, n: int) -> None:
        """Centre the views where pair n disagrees most: the disagreeing voxel nearest their centroid (or the
        segment's centre when they agree)."""
        r = self.results[n]
        if r.box is None:
            return
        if (r.id_a and r.id_a not in self.seg) or (r.id_b and r.id_b not in self.other):
            self.window.status_message("That segment no longer exists: press Compare to measure again")
            return
        box = r.box
        ma = self.seg.layers[self.seg.segment(r.id_a).layer][box] == self.seg.segment(r.id_a).label \
            if r.id_a else np.zeros([b.stop - b.start for b in box], bool)
        mb = self.b_layers[self.other.segment(r.id_b).layer][box] == self.other.segment(r.id_b).label \
            if r.id_b else np.zeros_like(ma)
        diff = ma ^ mb
        target = diff if diff.any() else (ma | mb)
        centre = np.argwhere(target).mean(axis=0) + [b.start for b in box]
        where = nearest_voxel(target, [b.start for b in box], centre)
        if r.id_a:
            self.window.select_segment(r.id_a)
        jump_to(self.window, where)

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(table_text(self.view, self.model, self.proxy))
        self.window.status_message("Comparison copied to the clipboard")

