"""The Segments dock: filter box, the segment table and its actions (add, remove, move up/down, show only
selected, bulk visibility/colour/opacity/lock, rename in place) with a right-click menu (incl. "Show layer column",
hidden by default as in Slicer)."""
from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QColorDialog, QHBoxLayout, QHeaderView, QInputDialog, QLineEdit,
                               QMenu, QTableView, QToolButton, QVBoxLayout, QWidget)

from .segment_table import Column, MarkDelegate, SegmentTableModel, SortKey, SwatchDelegate, qcolor


WINDOW_WIDE = ("add", "only", "all", "filter", "jump")


class SegmentPanel(QWidget):
    current_segment_changed = Signal(str)
    jump_requested = Signal(str)        # centre every view on this segment (the window does it)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.model = SegmentTableModel(self)
        self.model.selected_ids = self.selected_ids
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter by name or value (Ctrl+F)")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self.model.set_filter)
        self.table = self._make_table()
        self._current = ""
        self.actions_ = self._make_actions()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.filter_edit)
        lay.addLayout(self._buttons())
        lay.addWidget(self.table, 1)
        self.model.modelAboutToBeReset.connect(self._remember_selection)
        self.model.modelReset.connect(self._restore_selection)
        self._kept: list[str] = []
        self._resetting = False
        self.selection_source = None        # () -> list[str] | None: another view of the segments (the tree) selects

    def _make_table(self) -> QTableView:
        t = QTableView()
        t.setModel(self.model)
        t.setSelectionBehavior(QAbstractItemView.SelectRows)
        t.setSelectionMode(QAbstractItemView.ExtendedSelection)
        t.setEditTriggers(QAbstractItemView.DoubleClicked | QAbstractItemView.EditKeyPressed)
        t.setItemDelegateForColumn(Column.COLOUR, SwatchDelegate(t))
        t.setItemDelegateForColumn(Column.VISIBLE, MarkDelegate("eye", t))
        t.setItemDelegateForColumn(Column.LOCK, MarkDelegate("lock", t))
        t.setShowGrid(False)
        t.setWordWrap(False)
        t.setTextElideMode(Qt.ElideMiddle)          # "left_…_hippocampus": both ends of a long name stay readable
        t.horizontalHeader().setSortIndicator(-1, Qt.AscendingOrder)
        t.setSortingEnabled(True)                   # a header click orders the rows, never the segments
        t.setAlternatingRowColors(True)
        t.verticalHeader().hide()
        t.verticalHeader().setDefaultSectionSize(20)
        t.verticalHeader().setSectionResizeMode(QHeaderView.Fixed)
        h = t.horizontalHeader()
        h.setSectionResizeMode(QHeaderView.Interactive)
        h.setStretchLastSection(False)
        for col, width in ((Column.VISIBLE, 38), (Column.COLOUR, 26), (Column.NAME, 170), (Column.VALUE, 46),
                           (Column.LAYER, 40), (Column.VOXELS, 72), (Column.LOCK, 36)):
            t.setColumnWidth(col, width)
        h.setSectionResizeMode(Column.NAME, QHeaderView.Stretch)
        t.setColumnHidden(Column.LAYER, True)
        t.setContextMenuPolicy(Qt.CustomContextMenu)
        t.customContextMenuRequested.connect(self._context_menu)
        h.setContextMenuPolicy(Qt.CustomContextMenu)
        h.customContextMenuRequested.connect(self._context_menu)
        t.doubleClicked.connect(self._double_clicked)
        t.selectionModel().currentRowChanged.connect(self._current_row_changed)
        return t

    def _make_actions(self) -> dict[str, QAction]:
        spec = [("add", "Add segment", "Ctrl+Shift+A", self.add_segment),
                ("remove", "Remove selected", QKeySequence.Delete, self.remove_selected),
                ("up", "Move up", "Ctrl+Up", lambda: self.move_selected(-1)),
                ("down", "Move down", "Ctrl+Down", lambda: self.move_selected(+1)),
                ("show", "Show selected", None, lambda: self.set_selected(visible=True)),
                ("hide", "Hide selected", None, lambda: self.set_selected(visible=False)),
                ("only", "Show only selected", "Ctrl+Shift+H", self.show_only_selected),
                ("all", "Show all", "Ctrl+Shift+V", self.show_all),
                ("colour", "Change colour...", None, self.choose_colour),
                ("opacity", "Set opacity...", None, self.choose_opacity),
                ("lock", "Lock selected", None, lambda: self.set_selected(locked=True)),
                ("unlock", "Unlock selected", None, lambda: self.set_selected(locked=False)),
                ("rename", "Rename", "F2", self.rename_current),
                ("filter", "Filter segments", "Ctrl+F", self.focus_filter),
                ("jump", "Jump to segment", "Ctrl+J", self.jump_to_current),
                ("unsort", "List order (no sorting)", None, self.list_order)]
        acts = {}
        for key, text, shortcut, slot in spec:
            a = QAction(text, self)
            if shortcut is not None:
                a.setShortcut(QKeySequence(shortcut))
                # Delete, F2, Ctrl+Up/Down act on the table only (elsewhere they mean other things); the rest
                # work wherever the focus is in the window (Ctrl+F right after clicking a view)
                a.setShortcutContext(Qt.WindowShortcut if key in WINDOW_WIDE else Qt.WidgetWithChildrenShortcut)
            a.triggered.connect(slot)
            self.addAction(a)
            acts[key] = a
        self.layer_column_action = QAction("Show layer column", self, checkable=True)
        self.layer_column_action.toggled.connect(self.set_layer_column_visible)
        return acts

    def _buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        for key, text in (("add", "+"), ("remove", "−"), ("up", "▲"), ("down", "▼"),
                          ("only", "Only selected"), ("all", "All")):
            b = QToolButton()
            b.setDefaultAction(self.actions_[key])
            b.setText(text)
            b.setToolTip(self.actions_[key].text())
            row.addWidget(b)
        row.addStretch(1)
        return row

    # ---------------------------------------------------------------- document
    def set_segmentation(self, segmentation) -> None:
        self.model.set_segmentation(segmentation)

    def on_structure_changed(self) -> None:
        self.model.on_structure_changed()

    @property
    def segmentation(self):
        return self.model.segmentation

    # ---------------------------------------------------------------- selection
    def selected_ids(self) -> list[str]:
        ids = self.selection_source() if self.selection_source is not None else None
        if ids is not None:
            return ids
        rows = self.table.selectionModel().selectedRows()
        return [self.model.segment_id(r) for r in sorted(i.row() for i in rows)]

    def current_segment_id(self) -> str:
        return self._current

    def index_of(self, segment_id: str, column: int = Column.NAME):
        """The table index showing a segment (invalid when the filter hides it)."""
        row = self.model.row_of(segment_id)
        return self.model.index(row, column) if row is not None else self.model.index(-1, -1)

    def select_segment(self, segment_id: str) -> None:
        seg = self.model.segmentation
        if seg is None or segment_id not in seg:
            return
        if self.model.is_filtered_out(segment_id):     # filtered out: clear the filter to show it
            self.filter_edit.clear()
        index = self.model.index(self.model.row_of(segment_id), Column.NAME)
        sm = self.table.selectionModel()
        sm.setCurrentIndex(index, QItemSelectionModel.ClearAndSelect | QItemSelectionModel.Rows)
        self.table.scrollTo(index)

    def _current_row_changed(self, current, _previous) -> None:
        if self._resetting:               # rows are being rebuilt (filter, structure): not a user choice
            return
        sid = "" if not current.isValid() else self.model.segment_id(current.row())
        if sid != self._current:
            self._current = sid
            self.current_segment_changed.emit(sid)

    def _remember_selection(self) -> None:
        self._kept = self.selected_ids()
        self._resetting = True

    def _restore_selection(self) -> None:
        """After a model reset: reselect the rows still shown; the current segment stays current even when the
        filter hides it, and is cleared only when it no longer exists."""
        seg = self.model.segmentation
        sm = self.table.selectionModel()
        for sid in self._kept:
            row = self.model.row_of(sid)
            if row is not None:
                sm.select(self.model.index(row, 0), QItemSelectionModel.Select | QItemSelectionModel.Rows)
        cur = self._current
        row = self.model.row_of(cur) if cur else None
        if row is not None:
            sm.setCurrentIndex(self.model.index(row, Column.NAME), QItemSelectionModel.NoUpdate)
        self._resetting = False
        if cur and (seg is None or cur not in seg):
            self._current = ""
            self.current_segment_changed.emit("")

    # ---------------------------------------------------------------- actions
    def focus_filter(self) -> None:
        self.filter_edit.setFocus()
        self.filter_edit.selectAll()

    def set_layer_column_visible(self, shown: bool) -> None:
        self.table.setColumnHidden(Column.LAYER, not shown)
        if self.layer_column_action.isChecked() != shown:
            self.layer_column_action.setChecked(shown)

    def add_segment(self) -> None:
        seg = self.segmentation
        if seg is None:
            return
        cur = self._current
        pos = seg.position(cur) + 1 if cur and cur in seg else None
        s = seg.add_segment(position=pos)
        self.model.on_structure_changed()
        self.select_segment(s.id)

    def remove_selected(self) -> None:
        ids = self.selected_ids()
        if self.segmentation is not None and ids:
            self.segmentation.remove_segments(ids)

    def move_selected(self, delta: int) -> None:
        seg = self.segmentation
        ids = self.selected_ids()
        if seg is None or not ids:
            return
        order = seg.segment_ids
        chosen = set(ids)
        seq = range(len(order)) if delta < 0 else range(len(order) - 1, -1, -1)
        for n in seq:
            m = n + delta
            if order[n] in chosen and 0 <= m < len(order) and order[m] not in chosen:
                order[n], order[m] = order[m], order[n]
        seg.reorder(order)

    def set_selected(self, **fields) -> None:
        ids = self.selected_ids()
        if self.segmentation is not None and ids:
            self.segmentation.update_segments(ids, **fields)

    def show_only_selected(self) -> None:
        seg = self.segmentation
        chosen = set(self.selected_ids())
        if seg is None or not chosen:
            return
        seg.update_segments([i for i in seg.segment_ids if i not in chosen], visible=False)
        seg.update_segments(list(chosen), visible=True)

    def show_all(self) -> None:
        if self.segmentation is not None:
            self.segmentation.update_segments(self.segmentation.segment_ids, visible=True)

    def choose_colour(self) -> None:
        ids = self.selected_ids()
        if self.segmentation is None or not ids:
            return
        start = qcolor(self.segmentation.segment(ids[0]).color)
        c = QColorDialog.getColor(start, self, "Segment colour")
        if c.isValid():
            self.segmentation.update_segments(ids, color=(c.redF(), c.greenF(), c.blueF()))

    def choose_opacity(self) -> None:
        ids = self.selected_ids()
        if self.segmentation is None or not ids:
            return
        start = self.segmentation.segment(ids[0]).opacity
        value, ok = QInputDialog.getDouble(self, "Segment opacity", "Opacity (0 to 1):", start, 0.0, 1.0, 2)
        if ok:
            self.segmentation.update_segments(ids, opacity=value)

    def rename_current(self) -> None:
        index = self.table.currentIndex()
        if index.isValid():
            self.table.edit(index.siblingAtColumn(Column.NAME))

    def _double_clicked(self, index) -> None:
        if index.column() == Column.COLOUR:
            self.choose_colour()
        elif index.column() == Column.VOXELS:
            self.jump_requested.emit(self.model.segment_id(index.row()))

    def jump_to_current(self) -> None:
        if self._current and self.segmentation is not None and self._current in self.segmentation:
            self.jump_requested.emit(self._current)

    def list_order(self) -> None:
        """Rows in the segments' own order again (clears the header's sort)."""
        self.table.horizontalHeader().setSortIndicator(-1, Qt.AscendingOrder)
        self.model.set_sort(SortKey.LIST)

    def _context_menu(self, pos) -> None:
        self.context_menu().exec(self.table.viewport().mapToGlobal(pos))

    def context_menu(self) -> QMenu:
        """The right-click menu of the table and its header."""
        menu = QMenu(self)
        self.fill_menu(menu, ("jump", None, "add", "remove", None, "rename", "colour", "opacity", None, "show",
                              "hide", "only", "all", None, "lock", "unlock", None, "up", "down", "unsort"))
        return menu

    def fill_menu(self, menu: QMenu, keys) -> None:
        """Add the table's actions named by `keys` (None: a separator), then the layer-column toggle."""
        for key in keys:
            if key is None:
                menu.addSeparator()
            else:
                menu.addAction(self.actions_[key])
        menu.addSeparator()
        menu.addAction(self.layer_column_action)
