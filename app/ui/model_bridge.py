"""Model events (plain-Python signals) -> Qt signals, coalesced to one delivery per event-loop turn."""
from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal


class ModelBridge(QObject):
    """Listens to one Segmentation. Everything the model emits before control returns to the event loop is
    merged: one structure_changed, one segments_changed(set of ids), one voxels_changed(list of VoxelChange),
    emitted in that order."""

    structure_changed = Signal()
    segments_changed = Signal(object)
    voxels_changed = Signal(object)

    def __init__(self, segmentation, parent=None) -> None:
        super().__init__(parent)
        self.segmentation = segmentation
        self._structure = False
        self._ids: set = set()
        self._voxels: list = []
        self._scheduled = False
        ev = segmentation.events
        ev.structure_changed.connect(self._on_structure)
        ev.segments_changed.connect(self._on_segments)
        ev.voxels_changed.connect(self._on_voxels)

    def detach(self) -> None:
        ev = self.segmentation.events
        ev.structure_changed.disconnect(self._on_structure)
        ev.segments_changed.disconnect(self._on_segments)
        ev.voxels_changed.disconnect(self._on_voxels)
        self._structure, self._ids, self._voxels = False, set(), []

    def _on_structure(self) -> None:
        self._structure = True
        self._schedule()

    def _on_segments(self, ids) -> None:
        self._ids.update(ids)
        self._schedule()

    def _on_voxels(self, changes) -> None:
        self._voxels.extend(changes)
        self._schedule()

    def _schedule(self) -> None:
        if not self._scheduled:
            self._scheduled = True
            QTimer.singleShot(0, self, self.flush)

    def flush(self) -> None:
        """Deliver what is pending now (also called by tests and benchmarks that need it synchronously)."""
        self._scheduled = False
        structure, ids, voxels = self._structure, self._ids, self._voxels
        self._structure, self._ids, self._voxels = False, set(), []
        if structure:
            self.structure_changed.emit()
        if ids:
            self.segments_changed.emit(frozenset(ids))
        if voxels:
            self.voxels_changed.emit(voxels)
