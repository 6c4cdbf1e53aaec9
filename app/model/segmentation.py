"""Segmentation: segments packed into a few shared labelmap layers on one lattice (3D Slicer's design).

How it is built. `Segmentation` is the one class the rest of the application talks to; its state lives in four
collaborators, each with a small interface and none knowing the others:

- `LayerStore` (`layer_store.py`): the layers (full-lattice integer arrays, `arr[i, j, k]`) and each
  (layer, label)'s voxel count and bounding box, lazy and then incremental;
- `SegmentStore` (`segment_store.py`): the Segments in display order and which one holds each (layer, label);
- `History` (`history.py`): undo/redo steps of invertible records;
- `PendingEvents` (`pending_events.py`): the change events of the operation in progress, emitted as one batch.

Every change goes through four journaled primitives below (`write_voxels`, layer insert/remove/cast, table
change); each one asks a collaborator to change, records the inverse in the history and queues an event. So
undo/redo, statistics and change events work the same for every operation, and undo is `_apply` of the records.

Why this shape. The operations used to live in two mixins (segment operations, layer operations) that used the
class's and each other's private attributes. Now the state is split where the boundary is real: each part has a
handful of calls and an import-linter contract keeps it from importing this module or the other parts. The
operations (add/remove/change/reorder segments; move, separate, collapse, force to one layer) stay methods of this
one class, in sections, because each combines the segments, the layers and the journal: split off again, they
would need the private primitives again.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterable

import numpy as np

from . import label_values as lb
from .changes import VoxelChange
from .geometry import Geometry
from .history import History, LayerCast, LayerInsert, LayerRemove, TableChange, VoxelPatch
from .layer_store import LayerStore
from .pending_events import PendingEvents
from .segment import Segment, generated_color
from .segment_store import SegmentStore

DISPLAY_FIELDS = ("visible", "opacity", "locked")     # display/editing state: not recorded in undo
META_FIELDS = ("name", "color", "tags", "name_auto_generated", "color_auto_generated", "extra")


class SegmentationError(ValueError):
    """A request the model refuses (unknown segment, locked segment, bad label...). The message is for users."""


class Segmentation:
    def __init__(self, geometry: Geometry, history: History | None = None) -> None:
        self.geometry = geometry
        self.extra: dict[str, str] = {}          # segmentation-level file keys kept for round trips (io fills it)
        self.label_table: dict = {}              # {value: entry with .name/.color} of the label table read with it
        self.history = history or History()
        self._layer_store = LayerStore(geometry.shape)
        # the labelmap layers, `layers[n][i, j, k]`: read them, write voxels only through `write_voxels`. The store's
        # own list (changed in place, never replaced), named here because drawing reads it per slice.
        self.layers: list[np.ndarray] = self._layer_store.arrays
        self._segment_store = SegmentStore()
        self._pending = PendingEvents()
        self._depth = 0                          # nesting of open operations: events go out when it is back to 0
        self._colors_generated = 0               # automatic colours handed out so far

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
            seg._layer_store.adopt(arr, counts[n] if counts is not None else None)
        table: dict[str, Segment] = {}
        holder: dict[tuple[int, int], str] = {}
        for s in segments:
            if s.id in table:
                raise SegmentationError(f"duplicate segment ID {s.id!r}")
            if not 0 <= s.layer < len(layers):
                raise SegmentationError(f"segment {s.name!r} names layer {s.layer}, but there are {len(layers)}")
            if (s.layer, s.label) in holder:
                raise SegmentationError(f"segments {holder[(s.layer, s.label)]!r} and {s.id!r} share "
                                        f"layer {s.layer} label {s.label}")
            if s.label == 0:
                raise SegmentationError(f"segment {s.name!r} has label value 0 (background)")
            table[s.id] = s
            holder[(s.layer, s.label)] = s.id
        seg._segment_store.replace(table, list(table))
        seg._colors_generated = len(table)
        return seg

    # ---------------------------------------------------------------- read access
    @property
    def n_layers(self) -> int:
        return len(self.layers)

    @property
    def segment_ids(self) -> list[str]:
        return list(self._segment_store.order)

    @property
    def segments(self) -> list[Segment]:
        return self._segment_store.ordered()

    @property
    def locked_ids(self) -> frozenset[str]:
        """Ids of the locked segments (edits ask it on every dab: kept current, not computed)."""
        return self._segment_store.locked_ids

    def __len__(self) -> int:
        return len(self._segment_store)

    def __contains__(self, segment_id: str) -> bool:
        return segment_id in self._segment_store

    def segment(self, segment_id: str) -> Segment:
        try:
            return self._segment_store[segment_id]
        except KeyError:
            raise SegmentationError(f"there is no segment with ID {segment_id!r}") from None

    def position(self, segment_id: str) -> int:
        return self._segment_store.order.index(segment_id)

    def segment_by_name(self, name: str) -> Segment | None:
        return next((s for s in self.segments if s.name == name), None)

    def segment_at(self, layer: int, label: int) -> str | None:
        return self._segment_store.at(layer, int(label))

    def labels_in_layer(self, layer: int) -> dict[int, str]:
        """{label value: segment id} of one layer (the previews' dry run and the writer's renumbering use it)."""
        return self._segment_store.labels_in_layer(layer)

    def layer_segment_ids(self, layer: int) -> list[str]:
        return self._segment_store.in_layer(layer)

    def segments_at_voxel(self, ijk) -> list[str]:
        """IDs of all segments present at a voxel, in every layer (display order)."""
        i, j, k = (int(c) for c in ijk)
        if not self.geometry.contains((i, j, k)):
            return []
        hits = {self._segment_store.at(n, int(arr[i, j, k])) for n, arr in enumerate(self.layers)}
        return [sid for sid in self._segment_store.order if sid in hits]

    def mask(self, segment_id: str, box=None) -> np.ndarray:
        """Boolean mask of a segment, on the whole lattice or inside an index box."""
        s = self.segment(segment_id)
        arr = self.layers[s.layer]
        return arr[box] == s.label if box is not None else arr == s.label

    def voxel_count(self, segment_id: str) -> int:
        s = self.segment(segment_id)
        return self._layer_store.counts(s.layer).get(s.label, 0)

    def volume_mm3(self, segment_id: str) -> float:
        return self.voxel_count(segment_id) * self.geometry.voxel_volume

    def bounding_box(self, segment_id: str, tight: bool = True):
        """Tight index box (tuple of 3 slices) of a segment, or None when it is empty. `tight=False`: a box that
        holds all its voxels, maybe larger after edits, in O(1) (tightening reads the box: ms for a big segment)."""
        s = self.segment(segment_id)
        if not tight and self.is_empty(segment_id):
            return None
        return self._layer_store.label_box(s.layer, s.label, tight)

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

    def invalidate_statistics(self, layer: int | None = None) -> None:
        """Voxels were written into `layers` directly, bypassing `write_voxels` (test set-ups, bulk loaders): the
        voxel counts and boxes of `layer` (None: every layer) are recomputed when next asked for. No undo record,
        no event."""
        self._layer_store.forget_statistics(layer)

    # ---------------------------------------------------------------- segments: add, remove, change, reorder
    def add_segment(self, name: str | None = None, color=None, *, segment_id: str | None = None,
                    layer: int | None = None, label: int | None = None, new_layer: bool = False,
                    tags: dict | None = None, position: int | None = None) -> Segment:
        """Add an empty segment. By default it joins the layer of the first segment with the smallest free label
        value (Slicer's AddEmptySegment); the first segment, or `new_layer=True`, gets a layer of its own."""
        with self.operation("Add segment"):
            if new_layer or not self._segment_store.order:
                layer = len(self.layers)
                self._insert_layer(layer, np.uint8)
            elif layer is None:
                layer = self._segment_store[self._segment_store.order[0]].layer
            elif not 0 <= layer < len(self.layers):
                raise SegmentationError(f"there is no layer {layer}")
            if label is None:
                label = self._free_label(layer)
            elif label == 0 or self._segment_store.at(layer, label) is not None:
                raise SegmentationError(f"label value {label} is taken or invalid in layer {layer}")
            self.ensure_label_fits(layer, label)
            if color is None:
                color = generated_color(self._colors_generated)
                self._colors_generated += 1
            seg = Segment(self._segment_store.unique_id(segment_id), name or self._segment_store.unique_name(),
                          tuple(map(float, color)), layer, int(label), dict(tags or {}), name is None, False)
            order = list(self._segment_store.order)
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
                    c = self._segment_store[sid].copy()
                    for k, v in meta.items():
                        setattr(c, k, dict(v) if isinstance(v, dict) else v)
                    if "name" in meta:
                        c.name_auto_generated = False
                    if "color" in meta:
                        c.color_auto_generated = False
                    changed[sid] = c
                self._set_table(changed)
        if display:
            self._segment_store.set_display(ids, display)
            self._pending.segments(ids)
            if self._depth == 0:
                self._emit_events()

    def move_segment(self, segment_id: str, position: int) -> None:
        order = [i for i in self._segment_store.order if i != segment_id]
        self.segment(segment_id)
        order.insert(max(0, min(position, len(order))), segment_id)
        self.reorder(order)

    def reorder(self, order: list[str]) -> None:
        if sorted(order) != sorted(self._segment_store.order):
            raise SegmentationError("a new order must list every segment exactly once")
        if list(order) != self._segment_store.order:
            with self.operation("Reorder segments"):
                self._set_table({}, list(order))

    def _free_label(self, layer: int, start: int = 1) -> int:
        used = set(self._segment_store.labels_in_layer(layer)) | set(self._layer_store.counts(layer))
        lab = start
        while lab in used:
            lab += 1
        return lab

    def _clear_voxels(self, layer: int, label: int) -> None:
        box = self._layer_store.label_box(layer, label)
        if box is not None:
            region = self.layers[layer][box]
            self.write_voxels(layer, box, region == label, 0)

    # ---------------------------------------------------------------- layers: separate, collapse, force to one
    # (Slicer §2.3-2.5; merging segments is an edit: `app.model.edits.merge_segments`)
    def move_to_layer(self, segment_id: str, layer: int | None, label: int | None = None) -> None:
        """Move a segment's voxels to another layer (None: a new layer) under a free label value.
        The caller guarantees the target has no voxels where the segment has them (no voxel changes).
        One undo step (called bare, its records would be lost and a later undo would corrupt the table)."""
        s = self.segment(segment_id)
        with self.operation("Move to layer"):
            if layer is None:
                layer = len(self.layers)
                self._insert_layer(layer, np.uint8)
            if label is None:
                label = self._free_label(layer)
            self.ensure_label_fits(layer, label)
            box = self._layer_store.label_box(s.layer, s.label)
            if box is not None:
                where = self.layers[s.layer][box] == s.label
                self.write_voxels(s.layer, box, where, 0)
                self.write_voxels(layer, box, where, label)
            self._set_table({segment_id: _relayered(s, layer, label)})

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
        s = self._segment_store[sid]
        box = self._layer_store.label_box(s.layer, s.label)
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
        table = self._segment_store
        with self.operation("Force to single layer"):
            first = table[table.order[0]].layer
            order = sorted(table.order, key=lambda i: table[i].layer != first)   # layer `first` keeps its labels
            for sid in order:
                s = table[sid]
                if s.layer == first:
                    continue
                label = s.label if table.at(first, s.label) is None else self._free_label(first)
                self.ensure_label_fits(first, label)
                box = self._layer_store.label_box(s.layer, s.label)
                self._set_table({sid: _relayered(s, first, label)})
                if box is None:
                    continue
                where = self.layers[s.layer][box] == s.label
                self.write_voxels(s.layer, box, where, 0)
                # overlap winner: this segment overwrites earlier-listed segments, yields to later-listed ones
                pos = table.order.index(sid)
                target = self.layers[first][box]
                later = {table[i].label for i in table.order[pos + 1:] if table[i].layer == first}
                keep = np.isin(target, list(later)) if later else np.zeros_like(where)
                self.write_voxels(first, box, where & ~keep, label)
            self._drop_empty_layers()

    def _drop_empty_layers(self) -> None:
        used = self._segment_store.layers_used()
        for idx in sorted(set(range(len(self.layers))) - used, reverse=True):
            for lab in list(self._layer_store.counts(idx)):      # orphan voxels (no segment): clear them first
                self._clear_voxels(idx, lab)
            shifted = {s.id: _relayered(s, s.layer - 1) for s in self._segment_store.ordered() if s.layer > idx}
            if shifted:
                self._set_table(shifted)
            self._remove_layer(idx)

    def ensure_label_fits(self, layer: int, label: int) -> None:
        """Promote the layer's dtype (uint8 -> uint16 -> uint32, Slicer's order) when `label` needs it."""
        self._cast_layer(layer, lb.dtype_for(self.layers[layer].dtype, label))

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
            self._emit_events()

    def abort_operation(self) -> None:
        """Roll back everything recorded since the matching begin_operation (a cancelled stroke)."""
        step = self.history.discard_open()
        with self.history.paused():
            for rec in reversed(step.records):
                self._apply(rec, undo=True)
        self._depth -= 1
        if self._depth == 0:
            self._emit_events()

    def flush_events(self) -> None:
        """Emit the events queued so far inside an open operation (live feedback while a stroke goes on)."""
        self._emit_events()

    @property
    def events(self):
        """The change signals (`app.model.events.SegmentationEvents`), made on first use."""
        return self._pending.signals

    def _emit_events(self) -> None:
        self._pending.emit(self._segment_store)

    # ---------------------------------------------------------------- primitive 1: voxels
    def write_voxels(self, layer: int, box, where: np.ndarray, value) -> int:
        """Set `layer[box][where] = value` (a scalar, or an array of `where`'s true count). The only voxel writer:
        records undo, updates statistics, queues a change event. Returns the number of voxels that changed.
        Called outside an operation, it is one undo step of its own."""
        if self._depth == 0:
            with self.operation("Edit voxels"):
                return self.write_voxels(layer, box, where, value)
        changed = self._layer_store.write(layer, box, where, value)
        if changed is None:
            return 0
        where, old, new, labels = changed
        self.history.record(VoxelPatch.make(layer, box, where, old, new))
        self._voxels_changed(layer, box, labels)
        return int(old.size)

    def _voxels_changed(self, layer: int, box, labels) -> None:
        at = self._segment_store.at
        self._pending.voxels(VoxelChange(layer, box, frozenset(filter(None, (at(layer, lab) for lab in labels)))))

    # ---------------------------------------------------------------- primitives 2-4: layers
    def _insert_layer(self, index: int, dtype) -> None:
        self._layer_store.insert(index, dtype)
        self.history.record(LayerInsert(index, np.dtype(dtype).str))
        self._pending.structure()

    def _remove_layer(self, index: int) -> None:
        dtype = self._layer_store.remove(index)
        self.history.record(LayerRemove(index, dtype.str))
        self._pending.structure()

    def _cast_layer(self, index: int, dtype) -> None:
        old = self._layer_store.cast(index, dtype)
        if old is not None:
            self.history.record(LayerCast(index, old.str, np.dtype(dtype).str))
            self._pending.structure()

    # ---------------------------------------------------------------- primitive 5: the segment table
    def _set_table(self, after: dict, order: list | None = None) -> None:
        """Replace segments (id -> Segment, or None to delete) and optionally the display order."""
        before, order_before = self._segment_store.replace(after, order)
        self.history.record(TableChange(before, {i: (s.copy() if s else None) for i, s in after.items()},
                                        order_before, tuple(self._segment_store.order)))
        self._pending.segments(after.keys())
        if order is not None or any(v is None for v in after.values()) or any(v is None for v in before.values()):
            self._pending.structure()

    # ---------------------------------------------------------------- undo and redo
    def _apply(self, rec, undo: bool) -> None:
        """Re-apply (redo) or invert (undo) one history record."""
        if isinstance(rec, VoxelPatch):
            where = rec.mask()
            labels = self._layer_store.restore(rec.layer, rec.box, where, rec.values("old" if undo else "new"))
            self._voxels_changed(rec.layer, rec.box, labels)
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
                    cur = self._segment_store.get(sid)
                    if cur is not None:       # display state is not part of the undo history
                        for f in DISPLAY_FIELDS:
                            setattr(seg, f, getattr(cur, f))
                restored[sid] = seg
            self._set_table(restored, list(rec.order_before if undo else rec.order_after))

    def undo(self) -> bool:
        return self._replay(undo=True)

    def redo(self) -> bool:
        return self._replay(undo=False)

    def _replay(self, undo: bool) -> bool:
        step = self.history.take(undo)
        if step is None:
            return False
        with self.history.paused():
            self._depth += 1
            try:
                for rec in (reversed(step.records) if undo else step.records):
                    self._apply(rec, undo)
            finally:
                self._depth -= 1
        self.history.put_back(step, undone=undo)
        self._emit_events()
        self.history.emit_changed()
        return True


def _relayered(s: Segment, layer: int, label: int | None = None) -> Segment:
    """A copy of `s` placed in another layer (and label value)."""
    c = s.copy()
    c.layer = layer
    if label is not None:
        c.label = label
    return c


def _describe(meta: dict) -> str:
    if set(meta) == {"name"}:
        return "Rename segment"
    if set(meta) == {"color"}:
        return "Change colour"
    return "Change segment"
