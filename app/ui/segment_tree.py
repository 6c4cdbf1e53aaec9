"""The segment tree: groups (the `segedit.Group` tag, see app/model/groups.py) as collapsible rows with counts, the
segments under them, and columns Show / Lock / Status. A group row shows, hides, locks, selects all its segments at
once; its Show/Lock marks are partial when its segments differ.

One QAbstractItemModel over flat node arrays (no QStandardItem per row): a rebuild is one pass over the segments
(`groups.build_tree`) and one model reset; property changes repaint only their rows and their groups' rows."""
from __future__ import annotations

import enum

from PySide6.QtCore import QAbstractItemModel, QModelIndex, Qt
from PySide6.QtGui import QColor, QFont

from app.model import groups as gr
from app.model import review

from .segment_table import matches, qcolor


class TreeColumn(enum.IntEnum):
    NAME = 0
    VISIBLE = 1
    LOCK = 2
    STATUS = 3


HEADERS = ("Name", "Show", "Lock", "Status")
BULK_ROWS = 32
_BASE = Qt.ItemIsEnabled | Qt.ItemIsSelectable
_EDITABLE = _BASE | Qt.ItemIsEditable
_CHECKABLE = _BASE | Qt.ItemIsUserCheckable
STATUS_COLOURS = {review.NOT_STARTED: QColor(150, 150, 150), review.IN_PROGRESS: QColor(60, 130, 220),
                  review.COMPLETED: QColor(40, 170, 70), review.FLAGGED: QColor(220, 60, 50)}
STATUS_MARKS = {review.NOT_STARTED: "○", review.IN_PROGRESS: "◐", review.COMPLETED: "●", review.FLAGGED: "⚑"}
_BOLD = QFont()
_BOLD.setBold(True)


class SegmentTreeModel(QAbstractItemModel):
    """Nodes are ints: node n has `_parent[n]`, `_children[n]` (list of nodes), `_key[n]` (a group path, or a
    segment id) and `_is_group[n]`. Node 0 is the invisible root."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.segmentation = None
        self.filter_text = ""
        self.repaint_view = None               # () -> None: set by the view's owner (bulk changes repaint it)
        self._clear()

    def _clear(self) -> None:
        self._parent = [-1]
        self._children: list[list[int]] = [[]]
        self._key = [""]
        self._is_group = [True]
        self._count = [0]
        self._row = [0]
        self._node_of: dict[str, int] = {}     # segment id -> node
        self._group_node: dict[str, int] = {"": 0}
        self._members: dict[int, list[str]] = {0: []}   # group node -> every segment id below it (filter applied)
        self._group_of: dict[str, str] = {}
        self._agg: dict[int, tuple] = {}       # group node -> (n visible, n locked, n completed, n flagged), lazy

    # ---------------------------------------------------------------- building
    def set_segmentation(self, segmentation) -> None:
        if self.segmentation is not None and self.segmentation is not segmentation:
            self.segmentation.events.segments_changed.disconnect(self._forget_aggregates)
        if segmentation is not None and segmentation is not self.segmentation:
            # synchronously (the Qt bridge delivers the repaint later): no stale group count is ever read
            segmentation.events.segments_changed.connect(self._forget_aggregates)
        self.segmentation = segmentation
        self.rebuild()

    def _forget_aggregates(self, _ids=None) -> None:
        self._agg.clear()

    def set_filter(self, text: str) -> None:
        text = text.strip()
        if text != self.filter_text:
            self.filter_text = text
            self.rebuild()

    def _keep(self):
        t = self.filter_text
        if not t:
            return None
        low = t.casefold()
        return lambda s: matches(s, t) or low in s.tags.get(gr.GROUP_TAG, "").casefold()

    def rebuild(self) -> None:
        self.beginResetModel()
        self._clear()
        seg = self.segmentation
        if seg is not None:
            segments = seg.segments
            self._group_of = {s.id: s.tags.get(gr.GROUP_TAG, "") for s in segments}
            root = gr.build_tree(segments, self._keep())
            self._add_children(0, root)
        self.endResetModel()

    def _new(self, parent: int, key: str, is_group: bool, count: int) -> int:
        n = len(self._key)
        self._parent.append(parent)
        self._children.append([])
        self._key.append(key)
        self._is_group.append(is_group)
        self._count.append(count)
        self._row.append(len(self._children[parent]))
        self._children[parent].append(n)
        return n

    def _add_children(self, node: int, group: gr.GroupNode) -> list[str]:
        members = []
        for child in group.children.values():
            c = self._new(node, child.path, True, child.count)
            self._group_node[child.path] = c
            members += self._add_children(c, child)
        for sid in group.segment_ids:
            self._node_of[sid] = self._new(node, sid, False, 0)
        members += group.segment_ids
        self._members[node] = members
        return members

    # ---------------------------------------------------------------- events
    def on_segments_changed(self, ids) -> None:
        seg = self.segmentation
        if seg is None:
            return
        if any(i in seg and seg.segment(i).tags.get(gr.GROUP_TAG, "") != self._group_of.get(i) for i in ids):
            self.rebuild()         # a segment changed group: the shape of the tree changed
            return
        nodes = {self._node_of[i] for i in ids if i in self._node_of}
        self._agg.clear()
        if len(nodes) > BULK_ROWS and self.repaint_view is not None:
            # hundreds of rows at once (a group shown or hidden): a dataChanged over them makes Qt ask each row
            # its flags (~0.1 ms a row); the rows hold no cached state, so repainting the visible ones is enough
            self.repaint_view()
            return
        parents = set()
        for n in nodes:
            p = self._parent[n]
            while p > 0 and p not in parents:
                parents.add(p)
                p = self._parent[p]
        # one dataChanged per parent over the span of its changed rows: a group of 300 hidden at once is one
        # signal, not 300 (each makes the view walk its rows: 300 signals cost ~50 ms, measured)
        spans: dict[int, list[int]] = {}
        for n in nodes | parents:
            span = spans.setdefault(self._parent[n], [n, n])
            if self._row[n] < self._row[span[0]]:
                span[0] = n
            if self._row[n] > self._row[span[1]]:
                span[1] = n
        last = len(TreeColumn) - 1
        for first, end in spans.values():
            self.dataChanged.emit(self.createIndex(self._row[first], 0, first),
                                  self.createIndex(self._row[end], last, end))

    # ---------------------------------------------------------------- queries
    def node(self, index) -> int:
        return index.internalId() if index.isValid() else 0

    def is_group(self, index) -> bool:
        return index.isValid() and self._is_group[index.internalId()]

    def key(self, index) -> str:
        return self._key[self.node(index)]

    def segment_ids_of(self, index) -> list[str]:
        """A segment row: that segment; a group row: every segment shown below it."""
        n = self.node(index)
        return list(self._members.get(n, ())) if self._is_group[n] else [self._key[n]]

    def index_of_segment(self, sid: str, column: int = 0) -> QModelIndex:
        n = self._node_of.get(sid)
        return QModelIndex() if n is None else self.createIndex(self._row[n], column, n)

    def index_of_group(self, path: str, column: int = 0) -> QModelIndex:
        n = self._group_node.get(path)
        return QModelIndex() if not n else self.createIndex(self._row[n], column, n)

    def group_paths(self) -> list[str]:
        return [p for p in self._group_node if p]

    # ---------------------------------------------------------------- Qt model
    def index(self, row, column, parent=QModelIndex()) -> QModelIndex:
        p = self.node(parent)
        kids = self._children[p]
        if 0 <= row < len(kids) and 0 <= column < len(TreeColumn):
            return self.createIndex(row, column, kids[row])
        return QModelIndex()

    def parent(self, index=QModelIndex()) -> QModelIndex:
        if not index.isValid():
            return QModelIndex()
        p = self._parent[index.internalId()]
        if p <= 0:
            return QModelIndex()
        return self.createIndex(self._row[p], 0, p)

    def rowCount(self, parent=QModelIndex()) -> int:
        if parent.isValid() and parent.column() != 0:
            return 0
        return len(self._children[self.node(parent)])

    def columnCount(self, parent=QModelIndex()) -> int:
        return len(TreeColumn)

    def hasChildren(self, parent=QModelIndex()) -> bool:
        return bool(self._children[self.node(parent)]) and (not parent.isValid() or parent.column() == 0)

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if orientation == Qt.Horizontal and role == Qt.DisplayRole:
            return HEADERS[section]
        return None

    def flags(self, index):
        col = index.column()
        if col == TreeColumn.NAME:
            return _EDITABLE
        return _CHECKABLE if col in (TreeColumn.VISIBLE, TreeColumn.LOCK) else _BASE

    def _aggregate(self, n: int) -> tuple:
        """(visible, locked, completed, flagged) counts of a group's segments: one pass, kept until a change (a
        repaint asks each group row for three columns; without this, hiding a 300-segment group cost ~10 ms)."""
        agg = self._agg.get(n)
        if agg is None:
            seg = self.segmentation
            vis = lock = done = flag = 0
            for i in self._members.get(n, ()):
                if i not in seg:           # removed; the structure event that rebuilds the tree is on its way
                    continue
                s = seg.segment(i)
                vis += s.visible
                lock += s.locked
                st = review.status_of(s)
                done += st == review.COMPLETED
                flag += st == review.FLAGGED
            agg = self._agg[n] = (vis, lock, done, flag)
        return agg

    def _group_state(self, n: int, attr: str):
        total = len(self._members.get(n, ()))
        on = self._aggregate(n)[0 if attr == "visible" else 1]
        return Qt.Checked if total and on == total else Qt.Unchecked if on == 0 else Qt.PartiallyChecked

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid() or self.segmentation is None:
            return None
        n, col = index.internalId(), index.column()
        if self._is_group[n]:
            if col == TreeColumn.NAME:
                if role == Qt.DisplayRole:
                    return f"{self._key[n].rsplit(gr.SEP, 1)[-1]}  ({self._count[n]})"
                if role == Qt.EditRole:
                    return self._key[n].rsplit(gr.SEP, 1)[-1]
                if role == Qt.FontRole:
                    return _BOLD
                if role == Qt.ToolTipRole:
                    return f"group {self._key[n]}: {self._count[n]} segments"
            elif role == Qt.CheckStateRole and col in (TreeColumn.VISIBLE, TreeColumn.LOCK):
                return self._group_state(n, "visible" if col == TreeColumn.VISIBLE else "locked")
            elif col == TreeColumn.STATUS and role == Qt.DisplayRole:
                _, _, done, flagged = self._aggregate(n)
                return f"{done}/{self._count[n]} done" + (f", {flagged} ⚑" if flagged else "")
            return None
        if self._key[n] not in self.segmentation:       # removed; the rebuild is on its way
            return None
        s = self.segmentation.segment(self._key[n])
        if col == TreeColumn.NAME:
            if role in (Qt.DisplayRole, Qt.EditRole):
                return s.name
            if role == Qt.DecorationRole:
                return qcolor(s.color)
            if role == Qt.ToolTipRole:
                comment = s.tags.get(gr.COMMENT_TAG, "")
                return f"{s.name} (value {s.label})" + (f"\n{comment}" if comment else "")
        elif col == TreeColumn.VISIBLE and role == Qt.CheckStateRole:
            return Qt.Checked if s.visible else Qt.Unchecked
        elif col == TreeColumn.LOCK and role == Qt.CheckStateRole:
            return Qt.Checked if s.locked else Qt.Unchecked
        elif col == TreeColumn.STATUS:
            st = review.status_of(s)
            if role == Qt.DisplayRole:
                return f"{STATUS_MARKS[st]} {review.LABELS[st]}"
            if role == Qt.ForegroundRole:
                return STATUS_COLOURS[st]
            if role == Qt.ToolTipRole:
                return s.tags.get(gr.COMMENT_TAG, "") or review.LABELS[st]
        return None

    def setData(self, index, value, role=Qt.EditRole) -> bool:
        if not index.isValid() or self.segmentation is None:
            return False
        if role == Qt.EditRole and index.column() == TreeColumn.NAME:
            return self._rename(index, str(value))
        if role != Qt.CheckStateRole:
            return False
        col = index.column()
        if col not in (TreeColumn.VISIBLE, TreeColumn.LOCK):
            return False
        on = (value == Qt.Checked) if not isinstance(value, bool) else value
        if not isinstance(value, bool):
            on = Qt.CheckState(value) == Qt.Checked
        ids = self.segment_ids_of(index)
        if ids:
            self.segmentation.update_segments(ids, **{"visible" if col == TreeColumn.VISIBLE else "locked": on})
        return True

    def _rename(self, index, text: str) -> bool:
        """A segment row: rename the segment; a group row: rename the last part of its path, for every segment
        in it and below (one undo step)."""
        text = text.strip()
        n = self.node(index)
        key = self._key[n]
        if self._is_group[n]:
            text = gr.normalise(text)
            if not text:
                return False
            parent = key.rsplit(gr.SEP, 1)[0] if gr.SEP in key else ""
            gr.rename_group(self.segmentation, key, f"{parent}{gr.SEP}{text}" if parent else text)
            return True
        if text and text != self.segmentation.segment(key).name:
            self.segmentation.update_segment(key, name=text)
        return bool(text)
