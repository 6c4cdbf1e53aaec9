"""Organising hundreds of segments, added to the Segments dock: the group tree (Tree / List toggle), review status
(counts in the header, bulk set, next flagged / next not completed), comments, the name picker for adding and
renaming, groups from atlasStructure.json and FreeSurfer ranges. `install(window)` wires it in (an extension, like
app.ui.segment_editor); the flat table stays as it is."""
from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QFileDialog, QHeaderView, QInputDialog, QLabel, QMenu, QMessageBox,
                               QToolButton, QTreeView)

from app.model import groups as gr
from app.model import review
from app.model import terminology as tm
from app.model.segment import STATUSES

from .name_picker import NamePicker
from .segment_table import MarkDelegate
from .segment_tree import STATUS_COLOURS, STATUS_MARKS, SegmentTreeModel, TreeColumn

HEADER_REFRESH_MS = 150
TREE_SETTING = "segments/group_tree"          # QSettings: the tree was shown when the window last closed


class Organiser(QObject):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.panel = panel = window.segment_panel
        self.model = SegmentTreeModel(self)
        self.tree = self._make_tree()
        self.model.repaint_view = self.tree.viewport().update
        self.loaded_tables: list[tm.Candidate] = []
        self.picker_factory = NamePicker       # tests replace it
        self._seg = None
        lay = panel.layout()
        self.header = QLabel("")
        self.header.setTextFormat(Qt.RichText)
        lay.insertWidget(1, self.header)
        lay.insertWidget(lay.indexOf(panel.table) + 1, self.tree, 1)
        self.tree.hide()
        self.tree_button = QToolButton()
        self.tree_button.setText("Tree")
        self.tree_button.setCheckable(True)
        self.tree_button.setToolTip("Show segments in their groups (Ctrl+T)")
        self.tree_button.toggled.connect(self.set_tree_shown)
        buttons = lay.itemAt(lay.indexOf(panel.table) - 1).layout() if lay.indexOf(panel.table) > 0 else None
        if buttons is not None:
            buttons.insertWidget(buttons.count() - 1, self.tree_button)
        panel.filter_edit.textChanged.connect(self.model.set_filter)
        panel.selection_source = self.selection_from_tree
        panel.current_segment_changed.connect(self._follow_current)
        self.actions_ = self._make_actions()
        rename = panel.actions_["rename"]          # F2 renames in whichever view is shown
        rename.triggered.disconnect()
        rename.triggered.connect(self.rename_current)
        self._header_timer = QTimer(self)
        self._header_timer.setSingleShot(True)
        self._header_timer.setInterval(HEADER_REFRESH_MS)
        self._header_timer.timeout.connect(self.refresh_header)
        d = window.display
        d.structure_changed.connect(self._on_structure)
        d.segments_changed.connect(self._on_segments)
        window.segmentation_changed.connect(self.set_segmentation)
        self._add_menus()
        if str(window.settings.value(TREE_SETTING, "false")).lower() == "true":
            self.set_tree_shown(True)
        if window.segmentation is not None:
            self.set_segmentation(window.segmentation)

    # ---------------------------------------------------------------- construction
    def _make_tree(self) -> QTreeView:
        t = QTreeView()
        t.setModel(self.model)
        t.setUniformRowHeights(True)         # lets Qt lay out 1,000 rows without asking each one its height
        t.setSelectionBehavior(QAbstractItemView.SelectRows)
        t.setSelectionMode(QAbstractItemView.ExtendedSelection)
        t.setAlternatingRowColors(True)
        t.setEditTriggers(QAbstractItemView.DoubleClicked | QAbstractItemView.EditKeyPressed)
        t.setItemDelegateForColumn(TreeColumn.VISIBLE, MarkDelegate("eye", t))
        t.setItemDelegateForColumn(TreeColumn.LOCK, MarkDelegate("lock", t))
        h = t.header()
        h.setStretchLastSection(False)
        h.setSectionResizeMode(TreeColumn.NAME, QHeaderView.Stretch)
        for col, w in ((TreeColumn.VISIBLE, 40), (TreeColumn.LOCK, 36), (TreeColumn.STATUS, 100)):
            h.setSectionResizeMode(col, QHeaderView.Interactive)
            t.setColumnWidth(col, w)
        t.setContextMenuPolicy(Qt.CustomContextMenu)
        t.customContextMenuRequested.connect(lambda pos: self.context_menu().exec(t.viewport().mapToGlobal(pos)))
        t.selectionModel().currentChanged.connect(self._tree_current_changed)
        return t

    def _make_actions(self) -> dict[str, QAction]:
        spec = [("tree", "Show group tree", "Ctrl+T", lambda: self.tree_button.toggle()),
                ("add_pick", "Add segment from list...", "Ctrl+Shift+N", self.add_from_list),
                ("rename_pick", "Rename from list...", "Shift+F2", self.rename_from_list),
                ("group", "Move to group...", "Ctrl+G", self.ask_group),
                ("ungroup", "Remove from group", None, lambda: self.set_group_of_selected("")),
                ("comment", "Comment...", None, self.ask_comment),
                ("next_todo", "Next not completed", "F8", lambda: self.go_next((review.NOT_STARTED,
                                                                                 review.IN_PROGRESS))),
                ("next_flagged", "Next flagged", "Shift+F8", lambda: self.go_next((review.FLAGGED,))),
                ("select_group", "Select whole group", None, self.select_current_group)]
        for st in STATUSES:
            spec.append((f"status_{st}", f"Mark {review.LABELS[st].lower()}", None,
                         lambda _=False, st=st: self.set_status_of_selected(st)))
        acts = {}
        for key, text, shortcut, slot in spec:
            a = QAction(text, self.panel)
            if shortcut:
                a.setShortcut(QKeySequence(shortcut))
                a.setShortcutContext(Qt.WindowShortcut if key.startswith("next") else Qt.WidgetWithChildrenShortcut)
            a.triggered.connect(slot)
            self.panel.addAction(a)
            acts[key] = a
        return acts

    def _add_menus(self) -> None:
        m = self.window.menu("Segmentation")
        m.addSeparator()
        for key in ("add_pick", "rename_pick", "group", "comment", "next_todo", "next_flagged"):
            m.addAction(self.actions_[key])
        status = m.addMenu("Review status")
        for st in STATUSES:
            status.addAction(self.actions_[f"status_{st}"])
        groups = m.addMenu("Groups")
        a = groups.addAction("Groups from atlasStructure.json...")
        a.triggered.connect(self.ask_atlas_structure)
        a = groups.addAction("Groups from FreeSurfer label ranges")
        a.triggered.connect(self.freesurfer_groups)

    def context_menu(self) -> QMenu:
        menu = QMenu(self.panel)
        p = self.panel.actions_
        for a in (p["show"], p["hide"], p["only"], p["all"], None, p["lock"], p["unlock"], p["colour"], None,
                  self.actions_["select_group"], self.actions_["group"], self.actions_["ungroup"],
                  self.actions_["rename_pick"], None):
            menu.addSeparator() if a is None else menu.addAction(a)
        status = menu.addMenu("Review status")
        for st in STATUSES:
            status.addAction(self.actions_[f"status_{st}"])
        menu.addAction(self.actions_["comment"])
        return menu

    # ---------------------------------------------------------------- document and events
    def set_segmentation(self, seg) -> None:
        if self._seg is not None and self._seg is not seg:
            self._seg.events.voxels_changed.disconnect(self._on_voxels)
        self._seg = seg
        if seg is not None:
            seg.events.voxels_changed.connect(self._on_voxels)
        self.model.set_segmentation(seg)
        self.refresh_header()

    def _on_structure(self) -> None:
        if self.tree_shown():          # hidden: rebuilt when shown
            self.model.rebuild()
        self._header_timer.start()

    def _on_segments(self, ids) -> None:
        if self.tree_shown():          # hidden: rebuilt when shown
            self.model.on_segments_changed(ids)
        self._header_timer.start()

    def _on_voxels(self, changes) -> None:
        """Edits start work (Slicer's notstarted -> inprogress). Only segments still "not started" are touched, so
        a stroke of many dabs changes the tag (and repaints that row) once, not per dab."""
        seg = self._seg
        if seg is None:
            return
        ids = set()
        for ch in changes:
            ids.update(ch.segment_ids)
        review.mark_in_progress(seg, ids)

    def refresh_header(self) -> None:
        seg = self._seg
        if seg is None or not len(seg):
            self.header.setText("")
            return
        c = review.counts(seg)
        parts = [f"<span style='color:{STATUS_COLOURS[st].name()}'>{STATUS_MARKS[st]}</span> {c[st]} "
                 f"{review.LABELS[st].lower()}" for st in STATUSES]
        self.header.setText(f"{len(seg)} segments, {len(gr.group_paths(seg))} groups · " + " · ".join(parts))

    # ---------------------------------------------------------------- tree
    def set_tree_shown(self, shown: bool) -> None:
        if shown:
            self.model.rebuild()
        self.tree.setVisible(shown)
        if shown:
            self._follow_current(self.panel.current_segment_id())
        self.panel.table.setVisible(not shown)
        self.window.settings.setValue(TREE_SETTING, bool(shown))
        if self.tree_button.isChecked() != shown:
            self.tree_button.setChecked(shown)

    def tree_shown(self) -> bool:
        return self.tree_button.isChecked()

    def selection_from_tree(self) -> list[str] | None:
        """The segments selected in the tree (a group row stands for all its segments), while the tree is shown."""
        if not self.tree_shown():
            return None
        seen, out = set(), []
        seg = self._seg
        for index in self.tree.selectionModel().selectedRows(0):
            for sid in self.model.segment_ids_of(index):
                if sid not in seen and seg is not None and sid in seg:
                    seen.add(sid)
                    out.append(sid)
        return out

    def _follow_current(self, sid: str) -> None:
        """The current segment chosen elsewhere (a click on its surface in 3D, the table, a jump): shown selected in
        the tree too, its groups opened. (The tree showed nothing selected while the editor named the segment.)"""
        if not sid or not self.tree_shown():
            return
        current = self.tree.currentIndex()
        if current.isValid() and not self.model.is_group(current) and self.model.key(current) == sid:
            return
        index = self.model.index_of_segment(sid)
        if index.isValid():
            self.tree.selectionModel().setCurrentIndex(index, QItemSelectionModel.ClearAndSelect |
                                                       QItemSelectionModel.Rows)
            self.tree.scrollTo(index)               # (opens the groups above it)

    def _tree_current_changed(self, current, _previous) -> None:
        if current.isValid() and not self.model.is_group(current):
            sid = self.model.key(current)
            if sid != self.panel.current_segment_id():
                self.panel.select_segment(sid)

    def rename_current(self) -> None:
        """F2: edit the name of the current tree row (a group's name renames the group), or of the table row."""
        if not self.tree_shown():
            self.panel.rename_current()
            return
        index = self.tree.currentIndex()
        if index.isValid():
            self.tree.scrollTo(index)                  # expands collapsed parents: a hidden row cannot be edited
            self.tree.setFocus()
            self.tree.edit(index.siblingAtColumn(TreeColumn.NAME))

    def select_group(self, path: str) -> None:
        index = self.model.index_of_group(path)
        if index.isValid():
            sm = self.tree.selectionModel()
            sm.setCurrentIndex(index, QItemSelectionModel.ClearAndSelect | QItemSelectionModel.Rows)

    def select_current_group(self) -> None:
        index = self.tree.currentIndex()
        if not index.isValid():
            return
        path = self.model.key(index) if self.model.is_group(index) else \
            gr.group_of(self._seg.segment(self.model.key(index)))
        self.select_group(path)

    def group_ids(self, path: str) -> list[str]:
        return gr.ids_in_group(self._seg, path) if self._seg is not None else []

    # ---------------------------------------------------------------- actions on the selection
    def _selected(self) -> list[str]:
        ids = self.panel.selected_ids()
        if not ids and self.panel.current_segment_id():
            ids = [self.panel.current_segment_id()]
        return [i for i in ids if self._seg is not None and i in self._seg]

    def set_status_of_selected(self, status: str) -> None:
        ids = self._selected()
        if ids:
            review.set_status(self._seg, ids, status)

    def set_group_of_selected(self, path: str) -> None:
        ids = self._selected()
        if ids:
            gr.set_group(self._seg, ids, path)

    def ask_group(self) -> None:
        ids = self._selected()
        if not ids:
            return
        current = gr.group_of(self._seg.segment(ids[0]))
        path, ok = QInputDialog.getItem(self.panel, "Move to group", f"Group of {len(ids)} segment(s), parts "
                                        "separated by / (empty: no group):", [current] + gr.group_paths(self._seg),
                                        0, True)
        if ok:
            gr.set_group(self._seg, ids, path)

    def ask_comment(self) -> None:
        ids = self._selected()
        if not ids:
            return
        current = self._seg.segment(ids[0]).tags.get(gr.COMMENT_TAG, "")
        text, ok = QInputDialog.getText(self.panel, "Comment", f"Comment on {len(ids)} segment(s):", text=current)
        if ok:
            gr.set_comment(self._seg, ids, text)

    def go_next(self, wanted) -> str | None:
        """Select the next segment with a wanted status after the current one and centre the views on it."""
        seg = self._seg
        if seg is None:
            return None
        sid = review.next_segment(seg, self.panel.current_segment_id() or None, wanted)
        if sid is None:
            self.window.status_message("No segment left with that status")
            return None
        self.panel.select_segment(sid)
        if self.tree_shown():
            index = self.model.index_of_segment(sid)
            if index.isValid():
                self.tree.selectionModel().setCurrentIndex(index, QItemSelectionModel.ClearAndSelect |
                                                           QItemSelectionModel.Rows)
                self.tree.scrollTo(index)
        box = seg.bounding_box(sid)
        if box is not None:
            self.window.display.set_cursor([(s.start + s.stop - 1) / 2.0 for s in box])
        return sid

    # ---------------------------------------------------------------- names
    def candidates(self) -> list[tm.Candidate]:
        seg = self._seg
        free = tm.free_table_entries(seg) if seg is not None else []
        return free + self.loaded_tables + list(tm.load_terminology())

    def _load_table(self, path) -> list[tm.Candidate]:
        from app.io.color_tables import read_table
        from pathlib import Path

        cands = tm.table_candidates(read_table(path), f"colour table {Path(path).name}")
        self.loaded_tables = cands + self.loaded_tables
        return cands

    def pick(self, title: str, initial: str = ""):
        dlg = self.picker_factory(self.candidates(), self.panel, title, initial, self._load_table)
        return dlg.chosen if dlg.exec() else None

    def add_from_list(self) -> None:
        seg = self._seg
        if seg is None:
            return
        cand = self.pick("Add segment")
        if cand is None:
            return
        cur = self.panel.current_segment_id()
        pos = seg.position(cur) + 1 if cur and cur in seg else None
        try:
            s = tm.add_from_candidate(seg, cand, position=pos)
        except ValueError as exc:
            QMessageBox.warning(self.panel, "Add segment", str(exc))
            return
        groups = [gr.group_of(seg.segment(cur))] if cur and cur in seg else []
        if groups and groups[0]:                    # a new segment joins the current segment's group
            gr.set_group(seg, [s.id], groups[0])
        self.panel.on_structure_changed()           # the model's event reaches the table later: rows first
        self.panel.select_segment(s.id)

    def rename_from_list(self) -> None:
        seg = self._seg
        sid = self.panel.current_segment_id()
        if seg is None or not sid or sid not in seg:
            return
        cand = self.pick("Rename segment", "")
        if cand is not None:
            tm.rename_from_candidate(seg, sid, cand)

    # ---------------------------------------------------------------- groups from files
    def ask_atlas_structure(self) -> None:
        if self._seg is None:
            return
        path, _ = QFileDialog.getOpenFileName(self.panel, "Groups from atlas structure", "",
                                              "Atlas structure (*.json);;All files (*)")
        if path:
            self.groups_from_atlas_structure(path)

    def groups_from_atlas_structure(self, path) -> int:
        try:
            n = gr.apply_atlas_structure(self._seg, path)
        except ValueError as exc:
            QMessageBox.warning(self.panel, "Groups from atlas structure", str(exc))
            return 0
        self.window.status_message(f"{n} segments put into groups")
        return n

    def freesurfer_groups(self) -> int:
        if self._seg is None:
            return 0
        n = gr.apply_freesurfer_ranges(self._seg)
        self.window.status_message(f"{n} segments put into FreeSurfer groups")
        return n


def install(window) -> Organiser:
    org = Organiser(window)
    window.organiser = org
    return org
