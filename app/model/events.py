"""The model's change events, on psygnal (Qt-free, typed; a slot connected or disconnected while a signal is being
emitted is handled safely, bound methods are held weakly so a closed view never keeps the model alive).

Subscribe as `seg.events.voxels_changed.connect(fn)`, `.disconnect(fn)`; the model calls `.emit(...)` once per
operation. Widgets receive them through one path: `app.ui.model_bridge.ModelBridge`, owned by the window's `Display`,
which coalesces them to one delivery per event-loop turn.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from psygnal import Signal as _Signal
from psygnal import SignalGroup, SignalInstance


def Signal(*types) -> SignalInstance:  # noqa: N802 (the old class's name, kept for callers that build one per object)
    """A psygnal signal held by one object as an instance attribute: `self.changed = Signal()`.
    Prefer a class attribute `changed = psygnal.Signal()` in new code."""
    return SignalInstance(types)


Box = tuple  # tuple[slice, slice, slice]: an index box on the segmentation lattice


@dataclass
class VoxelChange:
    """Voxels changed in `layer` inside `box`; `segment_ids` are the segments that gained or lost voxels."""

    layer: int
    box: Box
    segment_ids: frozenset = field(default_factory=frozenset)


class SegmentationEvents(SignalGroup):
    """Three kinds of change (Slicer/ITK-SNAP split): structure, per-segment properties, voxels."""

    structure_changed = _Signal()          # (): segments added/removed/reordered, layers added/removed
    segments_changed = _Signal(object)     # (frozenset[str]): name, colour, visibility, opacity, lock, tags, layer, label
    voxels_changed = _Signal(object)       # (list[VoxelChange]): one call per operation
