"""Segment-table operations of a Segmentation: add (Slicer's allocation), remove, change, reorder.

A mixin of `Segmentation`: every change goes through its journaled primitives, so each operation is one undo step
and one batch of events."""
from __future__ import annotations

from typing import Iterable

import numpy as np

from .segment import Segment, generated_color, new_segment_id

DISPLAY_FIELDS = ("visible", "opacity", "locked")     # display/editing state: not recorded in undo
META_FIELDS = ("name", "color", "tags", "name_auto_generated", "color_auto_generated", "extra")


class SegmentationError(ValueError):
    """A request the model refuses (unknown segment, locked segment, bad label...). The message is for users."""


class SegmentOperations:
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


def _describe(meta: dict) -> str:
    if set(meta) == {"name"}:
        return "Rename segment"
    if set(meta) == {"color"}:
        return "Change colour"
    return "Change segment"
