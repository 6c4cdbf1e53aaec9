"""Segmentation: segments packed into a few shared labelmap layers on one lattice (3D Slicer's design).

State is `layers` (full-lattice integer arrays, `arr[i, j, k]`) and an ordered table of Segments, each naming its
(layer, label). Every mutation goes through four journaled primitives (`write_voxels`, layer insert/remove/cast,
table change), so undo/redo, statistics and change events work the same for every operation.

Voxel statistics are kept per (layer, label), not per segment: moving or relabelling a segment is metadata only.
They are computed lazily per layer the first time they are asked for (one bincount / find_objects pass), then kept
current by every write in O(written box). Boxes may become loose when voxels are removed; they are tightened on
query by scanning only the loose box.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterable

import numpy as np

from . import label_values as lb
from .boxes import tight_box, union_box
from .changes import VoxelChange
from .geometry import Geometry
from .history import History, LayerCast, LayerInsert, LayerRemove, TableChange, VoxelPatch
from .layer_ops import LayerOperations
from .segment_ops import DISPLAY_FIELDS, SegmentationError, SegmentOperations  # noqa: F401 (re-exported)
from .segment import Segment

class Segmentation(SegmentOperations, LayerOperations):
    def __init__(self, geometry: Geometry, history: History | None = None) -> None:
        self.geometry = geometry
        self.layers: list[np.ndarray] = []
        self.extra: dict[str, str] = {}          # segmentation-level file keys kept for round trips (io fills it)
        self.label_table: dict = {}              # {value: entry with .name/.color} of the label table read with it
        self._events = None      # created when first asked for: nobody listening, nothing emitted
        self.history = history or History()
        self._segments: dict[str, Segment] = {}
        self._order: list[str] = []
        self._index: dict[tuple[int, int], str] = {}
        self.locked_ids: frozenset[str] = frozenset()     # kept current: edits ask it on every dab
        self._counts: list[dict | None] = []
        self._boxes: list[dict | None] = []
        self._loose: list[set] = []
        self._colors_generated = 0
        self._depth = 0
        self._pending: dict = {}

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_layers(cls, geometry: Geometry, layers: list[np.ndarray], segments: Iterable[Segment],
                    counts: list[dict] | None = None) -> "Segmentation":
        """Adopt arrays and a segment table (file readers). No history is recorded for the load itself.
        `counts`: each layer's {label: voxels} when the reader already counted them (not counted again)."""
        seg = cls(geometry)
        for n, arr in enumerate(layers):
            if arr.shape != geometry.shape:
                raise SegmentationError(f"a layer of shape {arr.shape} does not match the lattice {geometry.shape}")
            if arr.dtype.kind not in "iu" or arr.dtype.itemsize > 4:
                raise SegmentationError(f"a labelmap layer must be a (u)int8/16/32 array, not {arr.dtype}")
            seg.layers.append(arr)
            seg._counts.append(dict(counts[n]) if counts is not None else None)
            seg._boxes.append(None)
            seg._loose.append(set())
        for s in segments:
            if s.id in seg._segments:
                raise SegmentationError(f"duplicate segment ID {s.id!r}")
            if not 0 <= s.layer < len(layers):
                raise SegmentationError(f"segment {s.name!r} names layer {s.layer}, but there are {len(layers)}")
            if (s.layer, s.label) in seg._index:
                raise SegmentationError(f"segments {seg._index[(s.layer, s.label)]!r} and {s.id!r} share "
                                        f"layer {s.layer} label {s.label}")
            if s.label == 0:
                raise SegmentationError(f"segment {s.name!r} has label value 0 (background)")
            seg._segments[s.id] = s
            seg._order.append(s.id)
            seg._index[(s.layer, s.label)] = s.id
        seg.locked_ids = frozenset(s.id for s in seg._segments.values() if s.locked)
        seg._colors_generated = len(seg._order)
        return seg

    # ---------------------------------------------------------------- read access
    @property
    def segment_ids(self) -> list[str]:
        return list(self._order)

    @property
    def segments(self) -> list[Segment]:
        return [self._segments[i] for i in self._order]

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, segment_id: str) -> bool:
        return segment_id in self._segments

    def segment(self, segment_id: str) -> Segment:
        try:
            return self._segments[segment_id]
        except KeyError:
            raise SegmentationError(f"there is no segment with ID {segment_id!r}") from None

    def position(self, segment_id: str) -> int:
        return self._order.index(segment_id)

    def segment_by_name(self, name: str) -> Segment | None:
        return next((s for s in self.segments if s.name == name), None)

    def segment_at(self, layer: int, label: int) -> str | None:
        return self._index.get((layer, int(label)))

    def labels_in_layer(self, layer: int) -> dict[int, str]:
        """{label value: segment id} of one layer (the previews' dry run and the writer's renumbering use it)."""
        return {lab: sid for (lay, lab), sid in self._index.items() if lay == layer}

    def layer_segment_ids(self, layer: int) -> list[str]:
        return [i for i in self._order if self._segments[i].layer == layer]

    @property
    def n_layers(self) -> int:
        return len(self.layers)

    def segments_at_voxel(self, ijk) -> list[str]:
        """IDs of all segments present at a voxel, in every layer (display order)."""
        i, j, k = (int(c) for c in ijk)
        if not self.geometry.contains((i, j, k)):
            return []
        hits = {self._index.get((n, int(arr[i, j, k]))) for n, arr in enumerate(self.layers)}
        return [sid for sid in self._order if sid in hits]

    def mask(self, segment_id: str, box=None) -> np.ndarray:
        """Boolean mask of a segment, on the whole lattice or inside an index box."""
        s = self.segment(segment_id)
        arr = self.layers[s.layer]
        return arr[box] == s.label if box is not None else arr == s.label

    def voxel_count(self, segment_id: str) -> int:
        s = self.segment(segment_id)
        return self._layer_counts(s.layer).get(s.label, 0)

    def volume_mm3(self, segment_id: str) -> float:
        return self.voxel_count(segment_id) * self.geometry.voxel_volume

    def bounding_box(self, segment_id: str):
        """Tight index box (tuple of 3 slices) of a segment, or None when it is empty."""
        s = self.segment(segment_id)
        return self._label_box(s.layer, s.label)

    def is_empty(self, segment_id: str) -> bool:
        return self.voxel_count(segment_id) == 0

    def overlapping(self) -> bool:
        """True when some voxel belongs to segments of two layers (a single labelmap would lose voxels)."""
        if len(self.layers) < 2:
            return False
        stack = np.zeros(self.geometry.shape, dtype=np.uint8)
        for arr in self.layers:
            stack += arr != 0
        return bool((stack > 1).any())

    # ---------------------------------------------------------------- statistics (lazy, then incremental)
    def _layer_counts(self, layer: int) -> dict:
        if self._counts[layer] is None:
            self._counts[layer] = lb.histogram(self.layers[layer])
        return self._counts[layer]

    def _layer_boxes(self, layer: int) -> dict:
        if self._boxes[layer] is None:
            self._boxes[layer] = lb.boxes_of(self.layers[layer])
            self._loose[layer] = set()
        return self._boxes[layer]

    def _label_box(self, layer: int, label: int):
        boxes = self._layer_boxes(layer)
        box = boxes.get(label)
        if box is not None and label in self._loose[layer]:
            offset = tuple(s.start for s in box)
            box = tight_box(self.layers[layer][box] == label, offset)
            if box is None:
                boxes.pop(label, None)
            else:
                boxes[label] = box
            self._loose[layer].discard(label)
        return box

    # ---------------------------------------------------------------- operations, events and rollback
    @contextmanager
    def operation(self, name: str):
        """Group everything inside into one undo step and one batch of events. Nested operations merge.

        If the body raises, every record made inside it is rolled back and the exception propagates."""
        self.begin_operation(name)
        try:
            yield self
        except BaseException:
            self.abort_operation()
            raise
        self.end_operation()

    def begin_operation(self, name: str) -> None:
        """Open an undo step that spans several calls (a brush stroke across mouse events)."""
        self._depth += 1
        self.history.begin(name)

    def end_operation(self) -> None:
        """Commit the innermost open step; events are emitted when the outermost one closes."""
        self.history.end()
        self._depth -= 1
        if self._depth == 0:
            self._flush_events()

    def abort_operation(self) -> None:
        """Roll back everything recorded since the matching begin_operation (a cancelled stroke)."""
        step = self.history.discard_open()
        with self.history.paused():
            for rec in reversed(step.records):
                self._apply(rec, undo=True)
        self._depth -= 1
        if self._depth == 0:
            self._flush_events()

    def flush_events(self) -> None:
        """Emit the events queued so far inside an open operation (live feedback while a stroke goes on)."""
        self._flush_events()

    def _queue(self, kind: str, payload=None) -> None:
        if kind == "voxels":
            self._pending.setdefault("voxels", []).append(payload)
        elif kind == "segments":
            self._pending.setdefault("segments", set()).update(payload)
        else:
            self._pending["structure"] = True

    @property
    def events(self):
        """The change signals (`app.model.events.SegmentationEvents`), made on first use."""
        if self._events is None:
            from .events import SegmentationEvents

            self._events = SegmentationEvents()
        return self._events

    def _flush_events(self) -> None:
        pending, self._pending = self._pending, {}
        if self._events is None:              # no one has ever subscribed: nothing to tell
            return
        if pending.get("structure"):
            self.events.structure_changed.emit()
        ids = {i for i in pending.get("segments", ()) if i in self._segments}
        if ids:
            self.events.segments_changed.emit(frozenset(ids))
        if pending.get("voxels"):
            self.events.voxels_changed.emit(pending["voxels"])

    # ---------------------------------------------------------------- primitive 1: voxels
    def write_voxels(self, layer: int, box, where: np.ndarray, value) -> int:
        """Set `layer[box][where] = value` (a scalar, or an array of `where`'s true count). The only voxel writer:
        records undo, updates statistics, queues a change event. Returns the number of voxels that changed.
        Called outside an operation, it is one undo step of its own."""
        if self._depth == 0:
            with self.operation("Edit voxels"):
                return self.write_voxels(layer, box, where, value)
        region = self.layers[layer][box]
        if np.ndim(value) == 0:          # the brush path: dense compare on the box, index only what changes
            new = region.dtype.type(value)
            where = where & (region != new)
            old = region[where]
            if old.size == 0:
                return 0
        else:
            old = region[where]
            new = np.asarray(value, dtype=region.dtype)
            changed = old != new
            if not changed.any():
                return 0
            if not changed.all():
                where = where.copy()
                where[where] = changed
                old, new = old[changed], new[changed]
        n = int(old.size)
        region[where] = new
        self.history.record(VoxelPatch.make(layer, box, where, old, new))
        self._after_write(layer, box, where, old, new)
        return n

    def _after_write(self, layer, box, where, old, new) -> None:
        lost = {int(old[0]): int(old.size)} if old[0] == old[-1] and (old == old[0]).all() and old[0] != 0 else \
            ({} if old[0] == old[-1] and not old.any() else lb.histogram(old))
        gained = {int(new): int(old.size)} if np.ndim(new) == 0 and new != 0 else \
            ({} if np.ndim(new) == 0 else lb.histogram(new))
        counts = self._counts[layer]
        if counts is not None:
            for lab, c in lost.items():
                left = counts.get(lab, 0) - c
                if left:
                    counts[lab] = left
                else:
                    counts.pop(lab, None)
            for lab, c in gained.items():
                counts[lab] = counts.get(lab, 0) + c
        boxes = self._boxes[layer]
        if boxes is not None:
            for lab in lost:
                if lab in boxes:
                    self._loose[layer].add(lab)
            for lab in gained:     # the written box is a loose bound: tightened on query (O(box))
                boxes[lab] = union_box(boxes.get(lab), box)
                self._loose[layer].add(lab)
        ids = frozenset(filter(None, (self._index.get((layer, lab)) for lab in (*lost, *gained))))
        self._queue("voxels", VoxelChange(layer, box, ids))

    # ---------------------------------------------------------------- primitives 2-4: layers
    def _insert_layer(self, index: int, dtype) -> None:
        self.layers.insert(index, np.zeros(self.geometry.shape, dtype=dtype))
        self._counts.insert(index, {})
        self._boxes.insert(index, {})
        self._loose.insert(index, set())
        self.history.record(LayerInsert(index, np.dtype(dtype).str))
        self._queue("structure")

    def _remove_layer(self, index: int) -> None:
        arr = self.layers[index]
        counts = self._counts[index]
        if (counts if counts is not None else lb.histogram(arr)):
            raise AssertionError("only an empty layer can be removed")
        del self.layers[index], self._counts[index], self._boxes[index], self._loose[index]
        self.history.record(LayerRemove(index, arr.dtype.str))
        self._queue("structure")

    def _cast_layer(self, index: int, dtype) -> None:
        old = self.layers[index].dtype
        if np.dtype(dtype) == old:
            return
        self.layers[index] = self.layers[index].astype(dtype)
        self.history.record(LayerCast(index, old.str, np.dtype(dtype).str))
        self._queue("structure")

    def ensure_label_fits(self, layer: int, label: int) -> None:
        """Promote the layer's dtype (uint8 -> uint16 -> uint32, Slicer's order) when `label` needs it."""
        self._cast_layer(layer, lb.dtype_for(self.layers[layer].dtype, label))

    # ---------------------------------------------------------------- primitive 5: the segment table
    def _set_table(self, after: dict, order: list | None = None) -> None:
        """Replace segments (id -> Segment, or None to delete) and optionally the display order."""
        before = {i: (self._segments[i].copy() if i in self._segments else None) for i in after}
        order_before = tuple(self._order)
        for sid, seg in after.items():
            if seg is None:
                self._segments.pop(sid, None)
            else:
                self._segments[sid] = seg
        if order is not None:
            self._order = list(order)
        else:
            self._order = [i for i in self._order if i in self._segments] + \
                          [i for i in after if after[i] is not None and i not in self._order]
        self._rebuild_index()
        self.history.record(TableChange(before, {i: (s.copy() if s else None) for i, s in after.items()},
                                        order_before, tuple(self._order)))
        self._queue("segments", after.keys())
        if order is not None or any(v is None for v in after.values()) or any(v is None for v in before.values()):
            self._queue("structure")

    def _rebuild_index(self) -> None:
        self._index = {(s.layer, s.label): sid for sid, s in self._segments.items()}
        self.locked_ids = frozenset(sid for sid, s in self._segments.items() if s.locked)

    def _apply(self, rec, undo: bool) -> None:
        """Re-apply (redo) or invert (undo) one history record."""
        if isinstance(rec, VoxelPatch):
            where = rec.mask()
            vals = rec.values("old" if undo else "new").astype(self.layers[rec.layer].dtype)
            region = self.layers[rec.layer][rec.box]
            before = region[where]
            region[where] = vals
            self._after_write(rec.layer, rec.box, where, before, vals)
        elif isinstance(rec, (LayerInsert, LayerRemove)):
            if isinstance(rec, LayerInsert) == undo:
                self._remove_layer(rec.index)
            else:
                self._insert_layer(rec.index, np.dtype(rec.dtype))
        elif isinstance(rec, LayerCast):
            self._cast_layer(rec.index, np.dtype(rec.old_dtype if undo else rec.new_dtype))
        elif isinstance(rec, TableChange):
            target = rec.before if undo else rec.after
            restored = {}
            for sid, seg in target.items():
                if seg is not None:
                    seg = seg.copy()
                    cur = self._segments.get(sid)
                    if cur is not None:       # display state is not part of the undo history
                        for f in DISPLAY_FIELDS:
                            setattr(seg, f, getattr(cur, f))
                restored[sid] = seg
            self._set_table(restored, list(rec.order_before if undo else rec.order_after))

    def undo(self) -> bool:
        return self._replay(self.history.undo_stack, self.history.redo_stack, undo=True)

    def redo(self) -> bool:
        return self._replay(self.history.redo_stack, self.history.undo_stack, undo=False)

    def _replay(self, source: list, target: list, undo: bool) -> bool:
        if not source or self.history.recording:
            return False
        step = source.pop()
        with self.history.paused():
            self._depth += 1
            try:
                for rec in (reversed(step.records) if undo else step.records):
                    self._apply(rec, undo)
            finally:
                self._depth -= 1
        target.append(step)
        self._flush_events()
        self.history._emit_changed()
        return True
