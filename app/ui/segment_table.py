"""The segment table: a QAbstractTableModel over a Segmentation (no per-row widgets), a filter proxy and a
colour-swatch delegate. Structure changes reset the model; property changes repaint only their rows; voxel counts
are read lazily and refreshed on a timer, never on every brush dab."""
from __future__ import annotations

import enum

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QStyledItemDelegate

COUNT_REFRESH_MS = 400


class Column(enum.IntEnum):
    VISIBLE = 0
    COLOUR = 1
    NAME = 2
    VALUE = 3
    LAYER = 4
    VOXELS = 5
    LOCK = 6


HEADERS = {Column.VISIBLE: "Shown", Column.COLOUR: "Colour", Column.NAME: "Name", Column.VALUE: "Value",
           Column.LAYER: "Layer", Column.VOXELS: "Voxels (volume)", Column.LOCK: "Locked"}
TIPS = {Column.VISIBLE: "Show or hide (applies to every selected row)", Column.COLOUR: "Double-click to change",
        Column.NAME: "Double-click or F2 to rename", Column.VALUE: "Label value in its layer",
        Column.LAYER: "Shared labelmap layer", Column.VOXELS: "Voxel count and volume",
        Column.LOCK: "Locked segments are never changed by edits"}
SEGMENT_ID_ROLE = Qt.UserRole + 1


def qcolor(rgb) -> QColor:
    return QColor.fromRgbF(*(float(c) for c in rgb))


def format_volume(count: int, mm3: float) -> str:
    vol = f"{mm3 / 1000:.2f} ml" if mm3 >= 1000 else f"{mm3:.1f} mm³"
    return f"{count:,} ({vol})"


class SegmentTableModel(QAbstractTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.segmentation = None
        self._ids: list[str] = []
        self._row: dict[str, int] = {}
        self.selected_ids = lambda: []      # set by the panel: bulk edits apply to the selection
        self._dirty_counts: set[str] = set()
        self._count_timer = QTimer(self)
        self._count_timer.setSingleShot(True)
        self._count_timer.setInterval(COUNT_REFRESH_MS)
        self._count_timer.timeout.connect(self._refresh_counts)

    # ---------------------------------------------------------------- document and events
    def set_segmentation(self, segmentation) -> None:
        self.beginResetModel()
        self.segmentation = segmentation
        self._load_ids()
        self.endResetModel()

    def _load_ids(self) -> None:
        self._ids = self.segmentation.segment_ids if self.segmentation is not None else []
        self._row = {sid: n for n, sid in enumerate(self._ids)}

    def on_structure_changed(self) -> None:
        self.beginResetModel()
        self._load_ids()
        self.endResetModel()

    def on_segments_changed(self, ids) -> None:
        rows = [self._row[i] for i in ids if i in self._row]
        if rows:
            self.dataChanged.emit(self.index(min(rows), 0), self.index(max(rows), len(Column) - 1))

    def on_voxels_changed(self, changes) -> None:
        for ch in changes:
            self._dirty_counts.update(ch.segment_ids)
        if self._dirty_counts and not self._count_timer.isActive():
            self._count_timer.start()

    def _refresh_counts(self) -> None:
        rows = [self._row[i] for i in self._dirty_counts if i in self._row]
        self._dirty_counts.clear()
        if rows:
            self.dataChanged.emit(self.index(min(rows), Column.VOXELS), self.index(max(rows), Column.VOXELS))

    # ---------------------------------------------------------------- Qt model
    def segment_id(self, row: int) -> str:
        return self._ids[row]

    def row_of(self, segment_id: str) -> int | None:
        return self._row.get(segment_id)

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(Column)

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if orientation == Qt.Horizontal:
            if role == Qt.DisplayRole:
                return HEADERS[Column(section)]
            if role == Qt.ToolTipRole:
                return TIPS[Column(section)]
        return None

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        sid = self._ids[index.row()]
        s = self.segmentation.segment(sid)
        col = Column(index.column())
        if role == SEGMENT_ID_ROLE:
            return sid
        if role in (Qt.DisplayRole, Qt.EditRole):
            return self._display(s, sid, col)
        if role == Qt.CheckStateRole:
            if col == Column.VISIBLE:
                return Qt.Checked if s.visible else Qt.Unchecked
            if col == Column.LOCK:
                return Qt.Checked if s.locked else Qt.Unchecked
        if role == Qt.DecorationRole and col == Column.COLOUR:
            return qcolor(s.color)
        if role == Qt.ToolTipRole and col == Column.NAME:
            tags = "\n".join(f"{k}: {v}" for k, v in s.tags.items())
            return f"{s.name}\nlayer {s.layer}, value {s.label}, opacity {s.opacity:.2f}" + (f"\n{tags}" if tags else "")
        if role == Qt.TextAlignmentRole and col in (Column.VALUE, Column.LAYER, Column.VOXELS):
            return int(Qt.AlignRight | Qt.AlignVCenter)
        return None

    def _display(self, s, sid, col):
        if col == Column.NAME:
            return s.name
        if col == Column.VALUE:
            return s.label
        if col == Column.LAYER:
            return s.layer
        if col == Column.VOXELS:
            n = self.segmentation.voxel_count(sid)
            return format_volume(n, n * self.segmentation.geometry.voxel_volume)
        return None

    def flags(self, index):
        f = Qt.ItemIsEnabled | Qt.ItemIsSelectable
        col = Column(index.column())
        if col == Column.NAME:
            f |= Qt.ItemIsEditable
        if col in (Column.VISIBLE, Column.LOCK):
            f |= Qt.ItemIsUserCheckable
        return f

    def setData(self, index, value, role=Qt.EditRole) -> bool:
        if not index.isValid() or self.segmentation is None:
            return False
        sid = self._ids[index.row()]
        col = Column(index.column())
        if role == Qt.EditRole and col == Column.NAME:
            name = str(value).strip()
            if name and name != self.segmentation.segment(sid).name:
                self.segmentation.update_segment(sid, name=name)
            return bool(name)
        if role == Qt.CheckStateRole and col in (Column.VISIBLE, Column.LOCK):
            on = Qt.CheckState(value) == Qt.Checked if not isinstance(value, bool) else value
            selected = list(self.selected_ids())
            ids = selected if sid in selected else [sid]
            field = "visible" if col == Column.VISIBLE else "locked"
            self.segmentation.update_segments(ids, **{field: bool(on)})
            return True
        return False


class SegmentFilter(QSortFilterProxyModel):
    """Rows whose name contains the text (case-insensitive), or whose label value equals it."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._text = ""
        self._accepted: set[int] | None = None

    @property
    def text(self) -> str:
        return self._text

    def set_text(self, text: str) -> None:
        self._text = text.strip()
        self._recompute()

    def _recompute(self) -> None:
        _begin_filter_change(self)
        src = self.sourceModel()
        seg = getattr(src, "segmentation", None)
        if not self._text or seg is None:
            self._accepted = None
        else:
            needle = self._text.casefold()
            value = int(needle) if needle.lstrip("-").isdigit() else None
            self._accepted = {n for n, s in enumerate(seg.segments)
                              if needle in s.name.casefold() or s.label == value}
        _end_filter_change(self)

    def refresh(self) -> None:
        """The source was reset (segments added/removed/reordered): re-apply the filter."""
        if self._text:
            self._recompute()

    def filterAcceptsRow(self, source_row, source_parent) -> bool:
        return self._accepted is None or source_row in self._accepted


def _begin_filter_change(proxy) -> None:
    if hasattr(proxy, "beginFilterChange"):      # Qt >= 6.9
        proxy.beginFilterChange()


def _end_filter_change(proxy) -> None:
    if hasattr(proxy, "beginFilterChange"):
        proxy.endFilterChange(QSortFilterProxyModel.Direction.Rows)
    else:
        proxy.invalidateFilter()


class SwatchDelegate(QStyledItemDelegate):
    """Paints the colour column as a filled swatch (no text, no widget per row)."""

    def paint(self, painter, option, index) -> None:
        colour = index.data(Qt.DecorationRole)
        if colour is None:
            super().paint(painter, option, index)
        else:
            self._swatch(painter, option, colour)

    @staticmethod
    def _swatch(painter, option, colour) -> None:
        from PySide6.QtWidgets import QStyle

        if option.state & QStyle.State_Selected:
            painter.fillRect(option.rect, option.palette.highlight())
        r = option.rect.adjusted(4, 3, -4, -3)
        painter.save()
        painter.setPen(QColor(40, 40, 40))
        painter.setBrush(colour)
        painter.drawRect(r)
        painter.restore()
