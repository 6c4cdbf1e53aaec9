"""The Statistics dock: one sortable row per segment (volume, box, centroid, grey values, surface area), kept
current after edits by recomputing only the segments whose voxels changed (`seg.events.voxels_changed`).
A click on a row selects the segment and centres every slice view on it; Copy / Export CSV write the table."""
from __future__ import annotations

import math
import time

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QFileDialog, QHBoxLayout, QHeaderView, QLabel,
                               QMessageBox, QPushButton, QTableView, QVBoxLayout, QWidget)

from app.model import stats as st
from app.model.resample import LatticeCache

from ..long_task import Cancelled
from .jump import jump_to, nearest_voxel

UPDATE_DELAY_MS = 150          # edits arriving faster than this (a stroke) are measured once, when they pause
HIDDEN = ("segment_id",)       # in the CSV, not worth a column on screen


class TableModel(QAbstractTableModel):
    """Rows of dicts keyed by column name; DisplayRole formats, UserRole gives the raw value (sorting)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.cols: list[str] = []
        self.rows: list[dict] = []

    def reset(self, cols, rows) -> None:
        self.beginResetModel()
        self.cols, self.rows = list(cols), list(rows)
        self.endResetModel()

    def update_rows(self, changed: dict[int, dict]) -> None:
        for n, row in changed.items():
            self.rows[n] = row
            self.dataChanged.emit(self.index(n, 0), self.index(n, len(self.cols) - 1))

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.cols)

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if role == Qt.DisplayRole and orientation == Qt.Horizontal and section < len(self.cols):
            return self.cols[section]
        return None

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        v = self.rows[index.row()][self.cols[index.column()]]
        if role == Qt.UserRole:
            return v
        if role == Qt.DisplayRole:
            return format_value(v)
        if role == Qt.TextAlignmentRole and isinstance(v, (int, float)) and not isinstance(v, bool):
            return int(Qt.AlignRight | Qt.AlignVCenter)
        return None


def format_value(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        if not math.isfinite(v):
            return ""
        return f"{v:.1f}" if abs(v) >= 100 else f"{v:.4g}"
    return str(v)


class SortProxy(QSortFilterProxyModel):
    """Numbers sort as numbers; empty cells last whatever the direction is."""

    def lessThan(self, left, right) -> bool:
        a, b = left.data(Qt.UserRole), right.data(Qt.UserRole)
        if a is None or b is None:
            return (a is None) < (b is None) if self.sortOrder() == Qt.AscendingOrder else (a is None) > (b is None)
        if isinstance(a, str) or isinstance(b, str):
            return str(a).lower() < str(b).lower()
        return a < b


def make_table(parent, model) -> tuple[QTableView, SortProxy]:
    proxy = SortProxy(parent)
    proxy.setSourceModel(model)
    proxy.setSortRole(Qt.UserRole)
    view = QTableView(parent)
    view.setModel(proxy)
    view.setSortingEnabled(True)
    view.setSelectionBehavior(QAbstractItemView.SelectRows)
    view.setEditTriggers(QAbstractItemView.NoEditTriggers)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(20)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.Interactive)
    view.horizontalHeader().setSortIndicator(-1, Qt.AscendingOrder)    # the model's own order until a click
    proxy.sort(-1)
    return view, proxy


def table_text(view: QTableView, model: TableModel, proxy, sep: str = "\t") -> str:
    """The selected rows (all rows when none is selected) in the view's order, with a header line."""
    sel = {i.row() for i in view.selectionModel().selectedRows()} if view.selectionModel() else set()
    rows = [r for r in range(proxy.rowCount()) if not sel or r in sel]
    cols = [c for c in model.cols]
    lines = [sep.join(cols)]
    for r in rows:
        src = model.rows[proxy.mapToSource(proxy.index(r, 0)).row()]
        lines.append(sep.join("" if src[c] is None else str(src[c]) for c in cols))
    return "\n".join(lines) + "\n"


class StatsPanel(QWidget):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.seg = None
        self.dock = None
        self.percentiles = st.DEFAULT_PERCENTILES
        self._grey = LatticeCache()
        self._stats: dict[str, st.SegmentStats] = {}
        self._areas: dict[str, float] = {}
        self._pending: set[str] = set()
        self._renamed: set[str] = set()
        self._full = True
        self._timer = QTimer(self, singleShot=True, interval=UPDATE_DELAY_MS)
        self._timer.timeout.connect(self.update_now)
        self.model = TableModel(self)
        self.view, self.proxy = make_table(self, self.model)
        self.view.clicked.connect(self._clicked)
        self.view.activated.connect(self._clicked)
        self.grey_box = QCheckBox("Grey values")
        self.grey_box.setToolTip("Min, max, mean, std, median and percentiles of the reference volume inside each "
                                 "segment (sampled onto the segmentation's lattice by nearest voxel)")
        self.grey_box.setChecked(True)
        self.grey_box.toggled.connect(lambda _=False: self.refresh())
        self.surface_box = QCheckBox("Surface area")
        self.surface_box.setToolTip("Area in mm² of each segment's smoothed surface (the 3D view's SurfaceNets mesh)")
        self.surface_box.toggled.connect(lambda _=False: self.refresh())
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy the selected rows (all when none is selected) as tab-separated text")
        self.copy_button.clicked.connect(self.copy)
        self.export_button = QPushButton("Export CSV...")
        self.export_button.clicked.connect(self.ask_export)
        self.status = QLabel("")
        bar = QHBoxLayout()
        for w in (self.grey_box, self.surface_box):
            bar.addWidget(w)
        bar.addWidget(self.status, 1)
        bar.addWidget(self.copy_button)
        bar.addWidget(self.export_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addLayout(bar)
        lay.addWidget(self.view, 1)
        copy = QShortcut(QKeySequence.Copy, self.view)
        copy.setContext(Qt.WidgetShortcut)
        copy.setWhatsThis("Copy the statistics table")
        copy.activated.connect(self.copy)
        window.display.document_changed.connect(self._reference_maybe_changed)

    # ---------------------------------------------------------------- document and events
    def set_segmentation(self, seg) -> None:
        if self.seg is not None:
            self.seg.events.voxels_changed.disconnect(self._on_voxels)
            self.seg.events.structure_changed.disconnect(self._on_structure)
            self.seg.events.segments_changed.disconnect(self._on_segments)
        self.seg = seg
        self._stats, self._areas = {}, {}
        if seg is not None:
            seg.events.voxels_changed.connect(self._on_voxels)
            seg.events.structure_changed.connect(self._on_structure)
            seg.events.segments_changed.connect(self._on_segments)
        self.refresh()

    def _reference_maybe_changed(self) -> None:
        if self.seg is not None and self.grey_box.isChecked() and not self._grey.cached(self.window.reference,
                                                                                         self.seg.geometry):
            self.refresh()

    def _on_voxels(self, changes) -> None:
        for c in changes:
            self._pending.update(c.segment_ids)
        self._schedule()

    def _on_structure(self) -> None:
        """Segments added, removed or reordered: new ones are measured, removed ones dropped, the rest kept (a
        segment that moved to another layer also arrives through segments_changed)."""
        if self.seg is None:
            return
        ids = set(self.seg.segment_ids)
        for sid in [i for i in self._stats if i not in ids]:
            del self._stats[sid]
        self._pending.update(ids - set(self._stats))
        self._renamed.add("")                    # the rows' order may have changed: rebuild them
        self._schedule()

    def _on_segments(self, ids) -> None:
        """A new label or layer: measured again; a new name: the row only; colour, visibility...: nothing."""
        for sid in ids:
            known = self._stats.get(sid)
            if sid not in self.seg:
                continue
            s = self.seg.segment(sid)
            if known is None or (known.layer, known.label) != (s.layer, s.label):
                self._pending.add(sid)
            elif known.name != s.name:
                known.name = s.name
                self._renamed.add(sid)
        if self._pending or self._renamed:
            self._schedule()

    def _schedule(self) -> None:
        if self.isVisible():
            self._timer.start()

    def dock_visibility_changed(self, visible: bool) -> None:
        if visible and (self._full or self._pending or self._renamed):
            self.update_now()

    def refresh(self) -> None:
        """Measure everything again (new document, reference or options)."""
        self._full = True
        if self.isVisible():
            self.update_now()

    # ---------------------------------------------------------------- measuring
    def grey(self):
        if self.seg is None or not self.grey_box.isChecked() or self.window.reference is None:
            return None
        return self._grey.get(self.window.reference, self.seg.geometry)

    def update_now(self) -> None:
        self._timer.stop()
        seg = self.seg
        self.grey_box.setEnabled(self.window.reference is not None)
        if seg is None:
            self._stats, self._pending, self._full = {}, set(), False
            self.model.reset([], [])
            self.status.setText("no segmentation")
            return
        grey = self.grey()
        t0 = time.perf_counter()
        if self._full:
            try:
                found = segmentation_all(self.window, seg, grey, self.percentiles)
            except Cancelled:
                self.status.setText("measuring cancelled: reopen the dock or change an option to measure")
                return
            self._stats = {s.segment_id: s for s in found}
            if self.surface_box.isChecked():
                self._areas = self._measure_areas(None)
            changed = None
        else:
            ids = {i for i in self._pending if i in seg}
            for i in self._pending - ids:
                self._stats.pop(i, None)
            found = st.segmentation_statistics(seg, grey, self.percentiles, segment_ids=ids) if ids else []
            self._stats.update({s.segment_id: s for s in found})
            if self.surface_box.isChecked() and ids:
                self._areas.update(self._measure_areas(ids))
            changed = ids | {i for i in self._renamed if i in self._stats}
        self._pending, self._renamed, self._full = set(), set(), False
        surface = self.surface_box.isChecked()
        for s in self._stats.values():
            s.surface_mm2 = self._areas.get(s.segment_id) if surface else None
        cols = [c for c in st.columns(self.percentiles, grey is not None, surface) if c not in HIDDEN]
        order = seg.segment_ids
        if changed is None or cols != self.model.cols or [r["segment_id"] for r in self.model.rows] != order:
            fresh = cols != self.model.cols
            self.model.reset(cols, [self._row(sid, grey is not None, surface) for sid in order])
            if fresh:
                self.view.resizeColumnsToContents()
        else:
            pos = {sid: n for n, sid in enumerate(order)}
            self.model.update_rows({pos[sid]: self._row(sid, grey is not None, surface) for sid in changed})
        what = f"{len(order)} segments" + ("" if changed is None else f", {len(changed)} updated")
        self.status.setText(f"{what} in {1000 * (time.perf_counter() - t0):.0f} ms")

    def _row(self, sid, grey: bool, surface: bool) -> dict:
        return st.as_row(self._stats[sid], self.percentiles, grey, surface)

    def _measure_areas(self, ids) -> dict:
        from app.render.surface_area import surface_areas

        seg = self.seg
        if ids is not None and len(ids) <= 8:
            return surface_areas(seg, ids)
        return self.window.run_long(lambda progress: surface_areas(seg, ids, progress=progress),
                                    "Measuring surface areas...")

    # ---------------------------------------------------------------- actions
    def row_segment(self, proxy_row: int) -> str:
        return self.model.rows[self.proxy.mapToSource(self.proxy.index(proxy_row, 0)).row()]["segment_id"]

    def _clicked(self, index) -> None:
        if index.isValid():
            self.jump_to_segment(self.row_segment(index.row()))

    def jump_to_segment(self, sid: str) -> None:
        s = self._stats.get(sid)
        if s is None or s.centroid_ijk is None:
            self.window.status_message(f"{self.seg.segment(sid).name} is empty")
            return
        box = self.seg.bounding_box(sid)
        target = nearest_voxel(self.seg.mask(sid, box), [b.start for b in box], s.centroid_ijk)
        self.window.select_segment(sid)
        jump_to(self.window, target)

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(table_text(self.view, self.model, self.proxy))
        self.window.status_message("Statistics copied to the clipboard")

    def csv(self) -> str:
        surface = self.surface_box.isChecked()
        grey = self.grey() is not None
        cols = st.columns(self.percentiles, grey, surface)
        rows = [st.as_row(self._stats[sid], self.percentiles, grey, surface) for sid in self.seg.segment_ids
                if sid in self._stats]
        return st.csv_text(cols, rows)

    def export_csv(self, path) -> None:
        from app.io.atomic import atomic_write

        with atomic_write(path, "w") as fh:
            fh.write(self.csv())

    def ask_export(self) -> None:
        if self.seg is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export statistics", "statistics.csv", "CSV (*.csv)")
        if not path:
            return
        try:
            self.export_csv(path)
        except OSError as exc:
            QMessageBox.warning(self, "Export statistics", f"Could not write {path}: {exc.strerror or exc}")
            return
        self.window.status_message(f"Statistics written to {path}")


def segmentation_all(window, seg, grey, percentiles):
    """All segments: in a worker behind the progress dialog (it appears only if this lasts)."""
    return window.run_long(lambda progress: st.segmentation_statistics(seg, grey, percentiles, progress=progress),
                           "Measuring segments...")
