"""The change events of the operation in progress, emitted as one batch when it ends (`Segmentation` queues them).

The signals (`app.model.events.SegmentationEvents`, psygnal) are made when first asked for: until someone
subscribes, nothing is emitted and psygnal is never imported (the command line, scripts)."""
from __future__ import annotations

from .changes import VoxelChange


class PendingEvents:
    """A batch: whether the structure changed, the segments whose properties changed, every voxel change in order.
    Emitted in that order (structure, segments that still exist, voxels), one signal call each at most."""

    def __init__(self) -> None:
        self._signals = None
        self._structure = False
        self._segment_ids: set = set()
        self._voxels: list[VoxelChange] = []

    @property
    def signals(self):
        if self._signals is None:
            from .events import SegmentationEvents

            self._signals = SegmentationEvents()
        return self._signals

    def structure(self) -> None:
        self._structure = True

    def segments(self, segment_ids) -> None:
        self._segment_ids.update(segment_ids)

    def voxels(self, change: VoxelChange) -> None:
        self._voxels.append(change)

    def emit(self, existing) -> None:
        """Emit what is queued and start a new batch; `existing` tells which segment ids still exist."""
        structure, ids, voxels = self._structure, self._segment_ids, self._voxels
        self._structure, self._segment_ids, self._voxels = False, set(), []
        if self._signals is None:              # no one has ever subscribed: nothing to tell
            return
        if structure:
            self._signals.structure_changed.emit()
        ids = {i for i in ids if i in existing}
        if ids:
            self._signals.segments_changed.emit(frozenset(ids))
        if voxels:
            self._signals.voxels_changed.emit(voxels)
