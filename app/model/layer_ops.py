"""Layer operations of a Segmentation: separate, safe collapse, force to one layer (Slicer §2.3-2.5); merging
segments is an edit (`app.model.edits.merge_segments`).

A mixin of `Segmentation`: every change goes through its journaled primitives, so each operation is one undo step
and one batch of events."""
from __future__ import annotations

import numpy as np


class LayerOperations:
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
