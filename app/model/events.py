"""Plain-Python signals for the model (no Qt): views subscribe, the model emits once per operation."""
from __future__ import annotations

import weakref
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable


class Signal:
    """A list of callbacks. Bound methods are held weakly so a closed view never keeps the model alive."""

    def __init__(self) -> None:
        self._slots: list[Any] = []
        self._blocked = 0

    def connect(self, slot: Callable) -> None:
        try:
            ref = weakref.WeakMethod(slot)
        except TypeError:           # a plain function, lambda or builtin: hold it strongly
            ref = lambda s=slot: s  # noqa: E731
        self._slots.append(ref)

    def disconnect(self, slot: Callable) -> None:
        self._slots = [r for r in self._slots if r() is not None and r() != slot]

    def emit(self, *args: Any) -> None:
        if self._blocked:
            return
        alive = []
        for ref in list(self._slots):
            fn = ref()
            if fn is None:
                continue
            alive.append(ref)
            fn(*args)
        self._slots = alive

    @contextmanager
    def blocked(self):
        self._blocked += 1
        try:
            yield
        finally:
            self._blocked -= 1


Box = tuple  # tuple[slice, slice, slice]: an index box on the segmentation lattice


@dataclass
class VoxelChange:
    """Voxels changed in `layer` inside `box`; `segment_ids` are the segments that gained or lost voxels."""

    layer: int
    box: Box
    segment_ids: frozenset = field(default_factory=frozenset)


class SegmentationEvents:
    """Three kinds of change (Slicer/ITK-SNAP split): structure, per-segment properties, voxels."""

    def __init__(self) -> None:
        self.structure_changed = Signal()   # (): segments added/removed/reordered, layers added/removed
        self.segments_changed = Signal()    # (frozenset[str]): name, colour, visibility, opacity, lock, tags, layer, label
        self.voxels_changed = Signal()      # (list[VoxelChange]): one call per operation
