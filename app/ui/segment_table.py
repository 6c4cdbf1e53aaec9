"""The segment table: a QAbstractTableModel over a Segmentation (no per-row widgets) that filters itself (name
substring or label value: one list comprehension and a model reset per keystroke, no per-row Python callbacks
through a proxy), plus cheap delegates for the swatch and the on/off marks. Structure changes reset the model;
property changes repaint only their rows; voxel counts are read lazily and refreshed on a timer, never on every
brush dab."""
from __future__ import annotations

import enum
import math

from PySide6.QtCore import QAbstractTableModel, QEvent, QModelIndex, QRect, Qt, QTimer
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QStyle, QStyledItemDelegate

COUNT_REFRESH_MS = 400


class Column(enum.IntEnum):
    VISIBLE = 0
    COLOUR = 1
    NAME = 2
    VALUE = 3
    LAYER = 4
    VOXELS = 5
    LOCK = 6


HEADERS = {Column.VISIBLE: "Show", Column.COLOUR: "", Column.NAME: "Name", Column.VALUE: "Value",
           Column.LAYER: "Layer", Column.VOXELS: "Vol (mL)", Column.LOCK: "Lock"}
TIPS = {Column.VISIBLE: "Show or hide (applies to every selected row)", Column.COLOUR: "Double-click to change",
        Column.NAME: "Double-click or F2 to rename", Column.VALUE: "Label value in its layer",
        Column.LAYER: "Shared labelmap layer, numbered as in the saved .seg.nrrd",
        Column.VOXELS: "Volume in millilitres (the voxel count is in the tooltip); double-click: jump to the segment",
        Column.LOCK: "Locked segments are never changed by edits"}
SEGMENT_ID_ROLE = Qt.UserRole + 1
_VISIBLE, _COLOUR, _NAME, _VALUE, _LAYER, _VOXELS, _LOCK = (int(c) for c in Column)
_RIGHT = int(Qt.AlignRight | Qt.AlignVCenter)
_N_COLUMNS = len(Column)
_BASE = Qt.ItemIsEnabled | Qt.ItemIsSelectable
_FLAGS = [_BASE | Qt.ItemIsUserCheckable, _BASE, _BASE | Qt.ItemIsEditable, _BASE, _BASE, _BASE,
          _BASE | Qt.ItemIsUserCheckable]


def qcolor(rgb) -> QColor:
    return QColor.fromRgbF(*(float(c) for c in rgb))


def format_volume(mm3: float) -> str:
    """A volume with its unit (tooltips, messages)."""
    return f"{mm3 / 1000:.2f} ml" if mm3 >= 1000 else f"{mm3:.1f} mm³"


def format_ml(mm3: float) -> str:
    """The Volume column: always millilitres (the unit is in the header), with 4 significant digits or more and
    at most 3 decimals (1 mm³): 0.004, 40.01, 235.9, 14,331. One unit, so a column of volumes compares at a
    glance, and narrow enough never to be elided."""
    ml = mm3 / 1000
    decimals = 3 if ml < 1 else max(0, 3 - int(math.floor(math.log10(ml))))
    return f"{ml:,.{decimals}f}"


class SortKey(enum.Enum):
    """How the table's ROWS are ordered (a view of the list: the segments' own order never changes)."""
    LIST = "list order"
    NAME = "name"
    VALUE = "label value"
    LAYER = "layer"
    VOLUME = "volume"


SORTABLE = {Column.NAME: SortKey.NAME, Column.VALUE: SortKey.VALUE, Column.LAYER: SortKey.LAYER,
            Column.VOXELS: SortKey.VOLUME}


class SegmentTableModel(QAbstractTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.segmentation = None
        self._ids: list[str] = []           # the rows shown: segments passing the filter, in display order
        self._row: dict[str, int] = {}
        self._filter = ""
        self._n = 0
        self._voxel_mm3 = 1.0
        self._file_layer: dict[int, int] | None = None
        self.sort_key = SortKey.LIST
        self.sort_descending = False
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
        seg = self.segmentation
        if seg is None:
            self._ids = []
        elif not self._filter:
            self._ids = seg.segment_ids
        else:
            self._ids = [s.id for s in seg.segments if matches(s, self._filter)]
        if seg is not None and self.sort_key is not SortKey.LIST:
            self._ids = sorted(self._ids, key=self._sort_function(seg), reverse=self.sort_descending)
        self._row = {sid: n for n, sid in enumerate(self._ids)}
        self._n = len(self._ids)
        self._voxel_mm3 = seg.geometry.voxel_volume if seg is not None else 1.0
        self._file_layer = None           # built when the Layer column is first painted (hidden by default)

    def _file_layers(self) -> dict:
        """Layers numbered as the .seg.nrrd writer numbers them: in order of first appearance in the list."""
        if self._file_layer is None:
            self._file_layer = {}
            for s in (self.segmentation.segments if self.segmentation is not None else []):
                self._file_layer.setdefault(s.layer, len(self._file_layer))
        return self._file_layer

    def _sort_function(self, seg):
        key = self.sort_key
        if key is SortKey.NAME:
            return lambda sid: seg.segment(sid).name.casefold()
        if key is SortKey.VALUE:
            return lambda sid: seg.segment(sid).label
        if key is SortKey.LAYER:
            return lambda sid: seg.segment(sid).layer
        return seg.voxel_count

    def set_sort(self, key: SortKey, descending: bool = False) -> None:
        """Order the rows by `key` (SortKey.LIST: the segments' own order). Only the view changes."""
        self.sort_key, self.sort_descending = key, bool(descending)
        self.on_structure_changed()

    def sort(self, column: int, order=Qt.AscendingOrder) -> None:
        """QTableView's header click (setSortingEnabled): sortable columns order the rows, others restore the
        list order."""
        self.set_sort(SORTABLE.get(int(column), SortKey.LIST), order == Qt.DescendingOrder)

    def set_filter(self, text: str) -> None:
        """Show only segments whose name contains `text` (case-insensitive) or whose label value equals it."""
        text = text.strip()
        if text != self._filter:
            self._filter = text
            self.on_structure_changed()

    def is_filtered_out(self, segment_id: str) -> bool:
        return segment_id not in self._row

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
        return 0 if parent.isValid() else self._n

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else _N_COLUMNS

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if orientation == Qt.Horizontal:
            if role == Qt.DisplayRole:
                return HEADERS[Column(section)]
            if role == Qt.ToolTipRole:
                return TIPS[Column(section)]
        return None

    def data(self, index, role=Qt.DisplayRole):
        # called ~30 times per visible row repaint: check the role first, no enum construction
        handler = self._roles.get(role)
        if handler is None or not index.isValid():
            return None
        sid = self._ids[index.row()]
        return handler(self, self.segmentation.segment(sid), sid, index.column())

    def _display(self, s, sid, col):
        if col == _NAME:
            return s.name
        if col == _VALUE:
            return s.label
        if col == _LAYER:
            return self._file_layers().get(s.layer, s.layer)
        if col == _VOXELS:
            return format_ml(self.segmentation.voxel_count(sid) * self._voxel_mm3)
        return None

    def _check(self, s, sid, col):
        if col == _VISIBLE:
            return Qt.Checked if s.visible else Qt.Unchecked
        if col == _LOCK:
            return Qt.Checked if s.locked else Qt.Unchecked
        return None

    def _decoration(self, s, sid, col):
        return qcolor(s.color) if col == _COLOUR else None

    def _tooltip(self, s, sid, col):
        if col == _VOXELS:
            n = self.segmentation.voxel_count(sid)
            return f"{n:,} voxels, {format_volume(n * self._voxel_mm3)}"
        if col != _NAME:
            return None
        tags = "\n".join(f"{k}: {v}" for k, v in s.tags.items())
        return f"{s.name}\nlayer {s.layer}, value {s.label}, opacity {s.opacity:.2f}" + (f"\n{tags}" if tags else "")

    def _alignment(self, s, sid, col):
        return _RIGHT if col in (_VALUE, _LAYER, _VOXELS) else None

    _roles = {Qt.DisplayRole: _display, Qt.EditRole: _display, Qt.CheckStateRole: _check,
              Qt.DecorationRole: _decoration, Qt.ToolTipRole: _tooltip, Qt.TextAlignmentRole: _alignment,
              SEGMENT_ID_ROLE: lambda self, s, sid, col: sid}

    def flags(self, index):
        return _FLAGS[index.column()]

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


def matches(segment, text: str) -> bool:
    """The filter rule: name contains the text (case-insensitive), or the label value equals it."""
    t = text.casefold()
    if t in segment.name.casefold():
        return True
    return t.lstrip("-").isdigit() and segment.label == int(t)


class SwatchDelegate(QStyledItemDelegate):
    """Paints the colour column as a filled swatch (no text, no widget per row)."""

    def paint(self, painter, option, index) -> None:
        colour = index.data(Qt.DecorationRole)
        if colour is None:
            super().paint(painter, option, index)
            return
        if option.state & QStyle.State_Selected:
            painter.fillRect(option.rect, option.palette.highlight())
        painter.setPen(_SWATCH_PEN)
        painter.setBrush(colour)
        painter.drawRect(option.rect.adjusted(4, 3, -5, -4))


class MarkDelegate(QStyledItemDelegate):
    """A cheap on/off mark for the visibility and lock columns (a styled checkbox per cell costs ~10x more to
    paint, which a filter keystroke over 1,000 rows would feel). A click toggles the value."""

    def __init__(self, kind: str, parent=None) -> None:
        super().__init__(parent)
        self.kind = kind          # "eye" or "lock"

    def paint(self, painter, option, index) -> None:
        selected = bool(option.state & QStyle.State_Selected)
        if selected:
            painter.fillRect(option.rect, option.palette.highlight())
        on = index.data(Qt.CheckStateRole) == Qt.Checked
        r = option.rect
        size = min(r.width(), r.height()) - 6
        box = QRect(r.center().x() - size // 2, r.center().y() - size // 2, size, size)
        shape = painter.drawEllipse if self.kind == "eye" else painter.drawRect
        if on:
            # "on" is a filled mark inside a white ring and a dark edge: it stands out on any row colour,
            # including the blue of a selected row (the plain blue disc vanished there)
            painter.setPen(QPen(_MARK_PEN, 1))
            painter.setBrush(_RING)
            shape(box)
            painter.setPen(Qt.NoPen)
            painter.setBrush(_EYE_ON if self.kind == "eye" else _LOCK_ON)
            shape(box.adjusted(3, 3, -3, -3))
        else:
            # "off" is a thin hollow outline, crossed out for visibility, in the row's text colour
            text = option.palette.highlightedText() if selected else option.palette.text()
            painter.setPen(QPen(text.color(), 1.2))
            painter.setBrush(Qt.NoBrush)
            shape(box.adjusted(2, 2, -2, -2))
            if self.kind == "eye":
                painter.drawLine(box.bottomLeft(), box.topRight())

    def editorEvent(self, event, model, option, index) -> bool:
        if event.type() == QEvent.MouseButtonRelease and event.button() == Qt.LeftButton and \
                option.rect.contains(event.position().toPoint()):
            on = index.data(Qt.CheckStateRole) == Qt.Checked
            return model.setData(index, Qt.Unchecked if on else Qt.Checked, Qt.CheckStateRole)
        return False


_SWATCH_PEN = QColor(40, 40, 40)
_MARK_PEN = QColor(90, 90, 90)
_EYE_ON = QColor(30, 90, 200)
_RING = QColor(255, 255, 255)
_LOCK_ON = QColor(200, 120, 40)
