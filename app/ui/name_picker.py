"""The name picker: type a few letters, pick a structure. Offers the document's label-table entries that have no
segment yet, every colour table loaded in this session, and Slicer's terminology list; fuzzy search (rapidfuzz,
`app.model.terminology.search`) so "hipo" finds "hippocampus". Enter takes the first match; a name that matches
nothing is taken as typed (the last row offers the typed name whenever it is not an entry)."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPixmap
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFileDialog, QHBoxLayout, QLabel, QLineEdit, QListWidget,
                               QListWidgetItem, QMessageBox, QPushButton, QVBoxLayout)

from app.model import terminology as tm

_SWATCHES: dict = {}


def _swatch(rgb) -> QPixmap:
    key = tuple(round(c, 3) for c in rgb)
    pm = _SWATCHES.get(key)
    if pm is None:
        pm = QPixmap(14, 14)
        pm.fill(QColor.fromRgbF(*key))
        _SWATCHES[key] = pm
    return pm


class NamePicker(QDialog):
    LIMIT = 60

    def __init__(self, candidates, parent=None, title: str = "Pick a name", initial: str = "",
                 load_table=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.candidates = list(candidates)
        self.load_table = load_table          # callable(path) -> list[Candidate], or None
        self.chosen: tm.Candidate | None = None
        self.edit = QLineEdit(initial)
        self.edit.setPlaceholderText("Type a structure name (fuzzy: 'hipo' finds hippocampus)")
        self.edit.setClearButtonEnabled(True)
        self.list = QListWidget()
        self.list.setUniformItemSizes(True)
        self.info = QLabel("")
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        load = QPushButton("Load colour table...")
        load.clicked.connect(self._ask_table)
        load.setEnabled(load_table is not None)
        lay = QVBoxLayout(self)
        lay.addWidget(self.edit)
        lay.addWidget(self.list, 1)
        lay.addWidget(self.info)
        row = QHBoxLayout()
        row.addWidget(load)
        row.addStretch(1)
        row.addWidget(buttons)
        lay.addLayout(row)
        self.edit.textChanged.connect(self.refresh)
        self.list.itemDoubleClicked.connect(lambda _item: self.accept())
        self.edit.installEventFilter(self)
        self.resize(460, 520)
        self.refresh()

    def add_candidates(self, cands) -> None:
        self.candidates = list(cands) + self.candidates
        self.refresh()

    def refresh(self) -> None:
        hits = tm.search(self.edit.text(), self.candidates, self.LIMIT)
        self.list.clear()
        for c in hits:
            extra = f"value {c.label}, " if c.label is not None else ""
            meaning = f" — {c.terminology.meaning}" if c.terminology else ""
            item = QListWidgetItem(f"{c.name}{meaning}   [{extra}{c.source}]")
            item.setIcon(_swatch(c.color))
            item.setData(Qt.UserRole, c)
            self.list.addItem(item)
        typed = self.edit.text().strip()
        if typed and not any(c.name.casefold() == typed.casefold() for c in hits):
            item = QListWidgetItem(f"{typed}   [as typed, automatic colour]")      # last: Enter still takes the best
            item.setData(Qt.UserRole, tm.Candidate(typed, None, "typed"))
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)
        self.info.setText(f"{len(hits)} matches of {len(self.candidates)}")

    def matches(self) -> list[tm.Candidate]:
        return [self.list.item(n).data(Qt.UserRole) for n in range(self.list.count())]

    def eventFilter(self, obj, ev) -> bool:
        # arrow keys in the text box move through the list: type, arrow down, Enter
        if obj is self.edit and ev.type() == ev.Type.KeyPress and ev.key() in (Qt.Key_Down, Qt.Key_Up):
            row = self.list.currentRow() + (1 if ev.key() == Qt.Key_Down else -1)
            self.list.setCurrentRow(max(0, min(row, self.list.count() - 1)))
            return True
        return super().eventFilter(obj, ev)

    def accept(self) -> None:
        item = self.list.currentItem()
        text = self.edit.text().strip()
        if item is not None:
            self.chosen = item.data(Qt.UserRole)
        elif text:
            self.chosen = tm.Candidate(text, None, "typed")
        else:
            return
        super().accept()

    def _ask_table(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load colour table", "",
                                              "Label tables (*.ctbl *.txt *.label *.csv);;All files (*)")
        if path:
            self.load_path(path)

    def load_path(self, path) -> bool:
        try:
            cands = self.load_table(path)
        except Exception as exc:        # a bad table: one sentence, the dialog stays open
            QMessageBox.warning(self, "Load colour table", f"{Path(path).name}: {exc}")
            return False
        self.add_candidates(cands)
        return True
