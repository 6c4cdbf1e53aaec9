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

from . import labels as lb
from .events import SegmentationEvents, VoxelChange
from .geometry import Geometry
from .history import History, LayerCast, LayerInsert, LayerRemove, TableChange, VoxelPatch
from .segment import Segment, generated_color, new_segment_id

DISPLAY_FIELDS = ("visible", "opacity", "locked")     # display/editing state: not recorded in undo
META_FIELDS = ("name", "color", "tags", "name_auto_generated", "color_auto_generated", "extra")


class SegmentationError(ValueError):
    """A request the model refuses (unknown segment, locked segment, bad label...). The message is for users."""


class Segmentation:
    def __init__(self, geometry: Geometry, history: History | None = None) -> None:
        self.geometry = geometry
        self.layers: list[np.ndarray] = []
        self.extra: dict[str, str] = {}          # segmentation-level file keys kept for round trips (io fills it)
        self.events = SegmentationEvents()
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
    def from_layers(cls, geometry: Geometry, layers: list[np.ndarray], segments: Iterable[Segment]) -> "Segmentation":
        """Adopt arrays and a segment table (file readers). No history is recorded for the load itself."""
        seg = cls(geometry)
        for arr in layers:
            if arr.shape != geometry.shape:
                raise SegmentationError(f"a layer of shape {arr.shape} does not match the lattice {geometry.shape}")
            if arr.dtype.kind not in "iu" or arr.dtype.itemsize > 4:
                raise SegmentationError(f"a labelmap layer must be a (u)int8/16/32 array, not {arr.dtype}")
            seg.layers.append(arr)
            seg._counts.append(None)
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

    def layer_segment_ids(self, layer: int) -> list[str]:
        return [i for i in self._order if self._segments[i].layer == layer]

    def labels_in_layer(self, layer: int) -> dict[int, str]:
        return {lab: sid for (lay, lab), sid in self._index.items() if lay == layer}

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
            box = lb.tight_box(self.layers[layer][box] == label, offset)
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

    def _flush_events(self) -> None:
        pending, self._pending = self._pending, {}
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
        records undo, updates statistics, queues a change event. Returns the number of voxels that changed."""
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
                boxes[lab] = lb.union_box(boxes.get(lab), box)
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
        self.history.changed.emit()
        return True

    # ---------------------------------------------------------------- segments: add, remove, change, order
    def _free_label(self, layer: int, start: int = 1) -> int:
        used = {lab for (lay, lab) in self._index if lay == layer} | set(self._layer_counts(layer))
        lab = start
        while lab in used:
            lab += 1
        return lab

    def _unique_name(self) -> str:
        names = {s.name for s in self._segments.values()}
        n = 1
        while f"Segment_{n}" in names:
            n += 1
        return f"Segment_{n}"

    def _unique_id(self, wanted: str | None) -> str:
        if wanted is None:
            return new_segment_id()
        sid, n = wanted, 1
        while sid in self._segments:
            sid, n = f"{wanted}_{n}", n + 1
        return sid

    def add_segment(self, name: str | None = None, color=None, *, segment_id: str | None = None,
                    layer: int | None = None, label: int | None = None, new_layer: bool = False,
                    tags: dict | None = None, position: int | None = None) -> Segment:
        """Add an empty segment. By default it joins the layer of the first segment with the smallest free label
        value (Slicer's AddEmptySegment); the first segment, or `new_layer=True`, gets a layer of its own."""
        with self.operation("Add segment"):
            if new_layer or not self._order:
                layer = len(self.layers)
                self._insert_layer(layer, np.uint8)
            elif layer is None:
                layer = self._segments[self._order[0]].layer
            elif not 0 <= layer < len(self.layers):
                raise SegmentationError(f"there is no layer {layer}")
            if label is None:
                label = self._free_label(layer)
            elif label == 0 or (layer, label) in self._index:
                raise SegmentationError(f"label value {label} is taken or invalid in layer {layer}")
            self.ensure_label_fits(layer, label)
            if color is None:
                color = generated_color(self._colors_generated)
                self._colors_generated += 1
            seg = Segment(self._unique_id(segment_id), name or self._unique_name(), tuple(map(float, color)),
                          layer, int(label), dict(tags or {}), name is None, False)
            order = list(self._order)
            order.insert(len(order) if position is None else position, seg.id)
            self._set_table({seg.id: seg}, order)
        return seg

    def remove_segment(self, segment_id: str) -> None:
        """Remove a segment: its voxels are cleared, no other segment is renumbered; an emptied layer goes away."""
        self.remove_segments([segment_id])

    def remove_segments(self, segment_ids: Iterable[str]) -> None:
        ids = list(segment_ids)
        with self.operation("Remove segment" if len(ids) == 1 else f"Remove {len(ids)} segments"):
            for sid in ids:
                s = self.segment(sid)
                self._clear_voxels(s.layer, s.label)
                self._set_table({sid: None})
            self._drop_empty_layers()

    def _clear_voxels(self, layer: int, label: int) -> None:
        box = self._label_box(layer, label)
        if box is not None:
            region = self.layers[layer][box]
            self.write_voxels(layer, box, region == label, 0)

    def _drop_empty_layers(self) -> None:
        used = {s.layer for s in self._segments.values()}
        for idx in sorted(set(range(len(self.layers))) - used, reverse=True):
            for lab in list(self._layer_counts(idx)):      # orphan voxels (no segment): clear them first
                self._clear_voxels(idx, lab)
            shifted = {sid: self._relayered(s, s.layer - 1) for sid, s in self._segments.items() if s.layer > idx}
            if shifted:
                self._set_table(shifted)
            self._remove_layer(idx)

    @staticmethod
    def _relayered(s: Segment, layer: int, label: int | None = None) -> Segment:
        c = s.copy()
        c.layer = layer
        if label is not None:
            c.label = label
        return c

    def update_segment(self, segment_id: str, **fields) -> None:
        """Change metadata (name, color, tags, ...) and display state (visible, opacity, locked).
        Metadata changes are one undo step; display-state changes are not recorded (as in Slicer)."""
        self.update_segments([segment_id], **fields)

    def update_segments(self, segment_ids: Iterable[str], **fields) -> None:
        bad = set(fields) - set(META_FIELDS) - set(DISPLAY_FIELDS)
        if bad:
            raise SegmentationError(f"cannot set {', '.join(sorted(bad))} this way")
        ids = [i for i in segment_ids]
        for sid in ids:
            self.segment(sid)
        if "color" in fields:
            fields["color"] = tuple(float(min(1.0, max(0.0, c))) for c in fields["color"])
        if "opacity" in fields:
            fields["opacity"] = float(min(1.0, max(0.0, fields["opacity"])))
        display = {k: v for k, v in fields.items() if k in DISPLAY_FIELDS}
        meta = {k: v for k, v in fields.items() if k in META_FIELDS}
        if meta:
            with self.operation(_describe(meta)):
                changed = {}
                for sid in ids:
                    c = self._segments[sid].copy()
                    for k, v in meta.items():
                        setattr(c, k, dict(v) if isinstance(v, dict) else v)
                    if "name" in meta:
                        c.name_auto_generated = False
                    if "color" in meta:
                        c.color_auto_generated = False
                    changed[sid] = c
                self._set_table(changed)
        if display:
            for sid in ids:
                for k, v in display.items():
                    setattr(self._segments[sid], k, v)
            self.locked_ids = frozenset(sid for sid, s in self._segments.items() if s.locked)
            self._queue("segments", ids)
            if self._depth == 0:
                self._flush_events()

    def move_segment(self, segment_id: str, position: int) -> None:
        order = [i for i in self._order if i != segment_id]
        self.segment(segment_id)
        order.insert(max(0, min(position, len(order))), segment_id)
        self.reorder(order)

    def reorder(self, order: list[str]) -> None:
        if sorted(order) != sorted(self._order):
            raise SegmentationError("a new order must list every segment exactly once")
        if list(order) != self._order:
            with self.operation("Reorder segments"):
                self._set_table({}, list(order))

    # ---------------------------------------------------------------- layers: separate, collapse, merge
    def move_to_layer(self, segment_id: str, layer: int | None, label: int | None = None) -> None:
        """Move a segment's voxels to another layer (None: a new layer) under a free label value.
        The caller guarantees the target has no voxels where the segment has them (no voxel changes)."""
        s = self.segment(segment_id)
        if layer is None:
            layer = len(self.layers)
            self._insert_layer(layer, np.uint8)
        if label is None:
            label = self._free_label(layer)
        self.ensure_label_fits(layer, label)
        box = self._label_box(s.layer, s.label)
        if box is not None:
            where = self.layers[s.layer][box] == s.label
            self.write_voxels(s.layer, box, where, 0)
            self.write_voxels(layer, box, where, label)
        self._set_table({segment_id: self._relayered(s, layer, label)})

    def separate(self, segment_id: str) -> bool:
        """Move a segment that shares its layer to a new layer of its own (label 1). Returns False if alone."""
        s = self.segment(segment_id)
        if len(self.layer_segment_ids(s.layer)) < 2:
            return False
        with self.operation("Separate segment"):
            self.move_to_layer(segment_id, None, 1)
        return True

    def collapse(self) -> int:
        """Safe collapse: move segments of later layers into the first earlier layer where none of their voxels
        meets another segment's. No voxel of any segment changes and the layer count never grows.
        Returns the number of layers removed."""
        before = len(self.layers)
        if before < 2:
            return 0
        with self.operation("Collapse layers"):
            for src in range(1, before):
                for sid in self.layer_segment_ids(src):
                    self._collapse_one(sid, src)
            self._drop_empty_layers()
        return before - len(self.layers)

    def _collapse_one(self, sid: str, src: int) -> None:
        s = self._segments[sid]
        box = self._label_box(s.layer, s.label)
        where = None if box is None else self.layers[s.layer][box] == s.label
        for target in range(src):
            if target >= len(self.layers) or not self.layer_segment_ids(target):
                continue
            if where is None or not np.any(self.layers[target][box][where]):
                self.move_to_layer(sid, target)
                return

    def force_single_layer(self) -> None:
        """Put every segment in one layer; where segments overlap, the one later in the list wins (Slicer).
        Label values are kept where they do not collide; colliding ones get the smallest free value."""
        if len(self.layers) < 2:
            return
        with self.operation("Force to single layer"):
            first = self._segments[self._order[0]].layer
            order = sorted(self._order, key=lambda i: self._segments[i].layer != first)  # layer `first` keeps labels
            for sid in order:
                s = self._segments[sid]
                if s.layer == first:
                    continue
                label = s.label if (first, s.label) not in self._index else self._free_label(first)
                self.ensure_label_fits(first, label)
                box = self._label_box(s.layer, s.label)
                self._set_table({sid: self._relayered(s, first, label)})
                if box is None:
                    continue
                where = self.layers[s.layer][box] == s.label
                self.write_voxels(s.layer, box, where, 0)
                # overlap winner: this segment overwrites earlier-listed segments, yields to later-listed ones
                pos = self._order.index(sid)
                target = self.layers[first][box]
                later = {self._segments[i].label for i in self._order[pos + 1:] if self._segments[i].layer == first}
                keep = np.isin(target, list(later)) if later else np.zeros_like(where)
                self.write_voxels(first, box, where & ~keep, label)
            self._drop_empty_layers()

    def merge_segments(self, target_id: str, source_ids: Iterable[str]) -> None:
        """Add the voxels of `source_ids` to `target_id` and remove the sources."""
        sources = [i for i in source_ids if i != target_id]
        from .edits import EditMode, EditPolicy, Overwrite, apply_mask

        with self.operation("Merge segments"):
            masks = []
            for sid in sources:
                box = self.bounding_box(sid)
                if box is not None:
                    masks.append((box, self.mask(sid, box)))
            self.remove_segments(sources)
            for box, m in masks:
                apply_mask(self, target_id, m, box, EditMode.ADD,
                           EditPolicy(overwrite=Overwrite.NONE, cut_by_locks=False))


def _describe(meta: dict) -> str:
    if set(meta) == {"name"}:
        return "Rename segment"
    if set(meta) == {"color"}:
        return "Change colour"
    return "Change segment"
