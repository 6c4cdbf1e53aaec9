"""The Threshold page: the reference volume's histogram with a draggable range, spin boxes for exact values, and a
live preview (the in-range voxels shown on every slice view and counted) while the range moves."""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel

from app.model import ops
from app.model.ops.threshold import in_range
from app.model.segmentation import SegmentationError

from .overlay import IN_RANGE
from .pages import Page

BINS = 256
LIVE_DELAY_MS = 40


class ThresholdPage(Page):
    title = "Threshold"
    MODES = [("Set the segment to the range", ops.ThresholdMode.SET),
             ("Add the range to the segment", ops.ThresholdMode.ADD),
             ("Keep only in-range voxels", ops.ThresholdMode.KEEP),
             ("Remove in-range voxels", ops.ThresholdMode.REMOVE)]

    def __init__(self, panel) -> None:
        super().__init__(panel)
        self.mode = self._combo(self.MODES)
        self.plot = pg.PlotWidget()
        self.plot.setMinimumHeight(110)
        self.plot.setMaximumHeight(160)
        self.plot.hideAxis("left")
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.setMenuEnabled(False)
        self.curve = pg.PlotDataItem(stepMode="center", fillLevel=0, brush=(150, 150, 150, 120), pen=(200, 200, 200))
        self.plot.addItem(self.curve)
        self.region = pg.LinearRegionItem(values=(0, 1), brush=(255, 190, 0, 60))
        self.plot.addItem(self.region)
        self.lo = self._spin(-1e9, 1e9, 0.0, 1.0, decimals=1)
        self.hi = self._spin(-1e9, 1e9, 1.0, 1.0, decimals=1)
        row = QHBoxLayout()
        row.addWidget(QLabel("from"))
        row.addWidget(self.lo, 1)
        row.addWidget(QLabel("to"))
        row.addWidget(self.hi, 1)
        self.count_label = QLabel("")
        self.form.addRow("Operation:", self.mode)
        self.form.addRow(self.plot)
        self.form.addRow("Range:", row)
        self.form.addRow(self.count_label)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(LIVE_DELAY_MS)
        self._timer.timeout.connect(self.live_preview)
        self.region.sigRegionChanged.connect(self._from_region)
        self.lo.valueChanged.connect(self._from_spins)
        self.hi.valueChanged.connect(self._from_spins)
        self._grey_key = ...          # nothing shown yet (None: shown that there is no reference)
        self.active = False

    # ---------------------------------------------------------------- the reference volume
    def refresh_reference(self) -> None:
        """Rebuild the histogram when the reference or the lattice changed; pick a first range (upper half)."""
        grey = self.panel.grey()
        key = None if grey is None else id(grey)
        if key == self._grey_key:
            return
        self._grey_key = key
        self.plot.setVisible(grey is not None)        # no histogram at all rather than a made-up 0..1 one
        for w in (self.lo, self.hi):
            w.setEnabled(grey is not None)
        if grey is None:
            self.curve.setData([0, 1], [0])
            self.count_label.setText("No reference volume: Threshold works on the grey values of a reference "
                                     "volume. Open one with File > Open reference volume... (Ctrl+Shift+R).")
            return
        sample = grey[::2, ::2, ::2]
        sample = sample[np.isfinite(sample)]
        lo, hi = (float(sample.min()), float(sample.max())) if sample.size else (0.0, 1.0)
        hi = hi if hi > lo else lo + 1.0
        counts, edges = np.histogram(sample, bins=BINS, range=(lo, hi))
        self.curve.setData(edges, np.log1p(counts))
        self.region.setBounds((lo, hi))
        self.set_range(lo + (hi - lo) / 2, hi)

    def set_range(self, lo: float, hi: float) -> None:
        for w, v in ((self.lo, lo), (self.hi, hi)):
            was = w.blockSignals(True)
            w.setValue(v)
            w.blockSignals(was)
        was = self.region.blockSignals(True)
        self.region.setRegion((lo, hi))
        self.region.blockSignals(was)
        self._changed()

    def _from_region(self) -> None:
        lo, hi = self.region.getRegion()
        for w, v in ((self.lo, lo), (self.hi, hi)):
            was = w.blockSignals(True)
            w.setValue(v)
            w.blockSignals(was)
        self._changed()

    def _from_spins(self) -> None:
        lo, hi = self.lo.value(), self.hi.value()
        was = self.region.blockSignals(True)
        self.region.setRegion((min(lo, hi), max(lo, hi)))
        self.region.blockSignals(was)
        self._changed()

    def _changed(self) -> None:
        self.changed.emit()
        if self.active:
            self._timer.start()

    # ---------------------------------------------------------------- live preview
    def range(self) -> tuple[float, float]:
        lo, hi = self.lo.value(), self.hi.value()
        return min(lo, hi), max(lo, hi)

    def live_preview(self) -> None:
        """Count the in-range voxels and show them on every view (no plan needed: it is the grey itself)."""
        if not self.active or not self.panel.page_shown():
            return          # a tool's overlay shows only while its page is in front
        grey = self.panel.grey()
        if grey is None:
            return
        lo, hi = self.range()
        n = int(np.count_nonzero(in_range(grey, lo, hi)))
        vol = self.panel.voxel_volume()
        self.count_label.setText(f"{n:,} voxels in range ({n * vol / 1000:,.1f} mL)")
        self.panel.overlay.show(lambda frame, idx: in_range(frame.extract(grey, idx), lo, hi).astype(np.uint8)
                                * IN_RANGE)

    def activated(self) -> None:
        """Shown: (re)build the histogram and show the live preview; nothing while the dock is hidden."""
        self.active = True
        if self.panel.page_shown():
            self.refresh_reference()
            self.live_preview()

    def deactivated(self) -> None:
        self.active = False
        self._timer.stop()

    def job(self):
        grey = self.panel.grey()
        if grey is None:
            raise SegmentationError("threshold needs a reference volume: open one first (File menu)")
        lo, hi = self.range()
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise SegmentationError("the threshold range must be finite")
        mode = self.mode.currentData()
        return lambda seg, ids, p: ops.plan_threshold(seg, ids, grey, lo, hi, mode, p)
