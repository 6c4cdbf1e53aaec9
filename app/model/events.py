"""The model's change events, on psygnal (Qt-free, typed; a slot connected or disconnected while a signal is being
emitted is handled safely, bound methods are held weakly so a closed view never keeps the model alive).

Subscribe as `seg.events.voxels_changed.connect(fn)`, `.disconnect(fn)`; the model calls `.emit(...)` once per
operation. Widgets receive them through one path: `app.ui.model_bridge.ModelBridge`, owned by the window's `Display`,
which coalesces them to one delivery per event-loop turn.
"""
from __future__ import annotations

from psygnal import Signal as _Signal
from psygnal import SignalGroup, SignalInstance

from .changes import Box, VoxelChange

__all__ = ["Box", "Signal", "SegmentationEvents", "VoxelChange"]


def Signal(*types) -> SignalInstance:  # noqa: N802 (the old class's name, kept for callers that build one per object)
    """A psygnal signal held by one object as an instance attribute: `self.changed = Signal()`.
    Prefer a class attribute `changed = psygnal.Signal()` in new code."""
    return SignalInstance(types)


class SegmentationEvents(SignalGroup):
    """Three kinds of change (Slicer/ITK-SNAP split): structure, per-segment properties, voxels."""

    structure_changed = _Signal()          # (): segments added/removed/reordered, layers added/removed
    segments_changed = _Signal(object)     # (frozenset[str]): name, colour, visibility, opacity, lock, tags, layer, label
    voxels_changed = _Signal(object)       # (list[VoxelChange]): one call per operation
