"""The labelmap layers of a Segmentation and what is known about the labels in them.

`LayerStore` holds the layers (full-lattice integer arrays, `arrays[n][i, j, k]`) and, per layer, every label
value's voxel count and bounding box. Those statistics are computed lazily per layer the first time they are asked
for (one bincount / find_objects pass), then kept current by every write in O(written box). A box may become loose
when voxels are removed; it is tightened on query by scanning only the loose box. Statistics are kept per
(layer, label), not per segment, so moving or relabelling a segment is metadata only.

It records no undo and emits no event: `Segmentation`, its only caller, does both around every call.
"""
from __future__ import annotations

import numpy as np

from . import label_values as lb
from .boxes import tight_box, union_box


class LayerStore:
    def __init__(self, shape: tuple[int, int, int]) -> None:
        self.shape = tuple(shape)
        self.arrays: list[np.ndarray] = []       # the layers: changed in place, never replaced (Segmentation.layers)
        self._counts: list[dict | None] = []      # per layer {label: voxel count}, None until first asked
        self._boxes: list[dict | None] = []       # per layer {label: index box}, None until first asked
        self._loose: list[set] = []               # per layer: labels whose box may be larger than tight

    def __len__(self) -> int:
        return len(self.arrays)

    # ---------------------------------------------------------------- layers
    def adopt(self, arr: np.ndarray, counts: dict | None = None) -> None:
        """Append an existing array (a file's layer); its statistics are computed when first asked for, or are
        `counts` ({label: voxels}) when the reader already counted them (not counted again)."""
        self.arrays.append(arr)
        self._counts.append(dict(counts) if counts is not None else None)
        self._boxes.append(None)
        self._loose.append(set())

    def insert(self, index: int, dtype) -> None:
        """A new all-zero layer at `index`."""
        self.arrays.insert(index, np.zeros(self.shape, dtype=dtype))
        self._counts.insert(index, {})
        self._boxes.insert(index, {})
        self._loose.insert(index, set())

    def remove(self, index: int) -> np.dtype:
        """Remove an empty layer; returns its dtype."""
        arr = self.arrays[index]
        counts = self._counts[index]
        if (counts if counts is not None else lb.histogram(arr)):
            raise AssertionError("only an empty layer can be removed")
        del self.arrays[index], self._counts[index], self._boxes[index], self._loose[index]
        return arr.dtype

    def cast(self, index: int, dtype) -> np.dtype | None:
        """Change a layer's dtype (values must fit); returns the old dtype, or None when it was already `dtype`."""
        old = self.arrays[index].dtype
        if np.dtype(dtype) == old:
            return None
        self.arrays[index] = self.arrays[index].astype(dtype)
        return old

    # ---------------------------------------------------------------- voxels
    def write(self, layer: int, box, where: np.ndarray, value):
        """Set `arrays[layer][box][where] = value` (a scalar, or an array of `where`'s true count), touching only
        the voxels that change. Returns (where, old, new, labels) of those voxels, `labels` the values that lost
        or gained voxels, or None when nothing changed."""
        region = self.arrays[layer][box]
        if np.ndim(value) == 0:          # the brush path: dense compare on the box, index only what changes
            new = region.dtype.type(value)
            where = where & (region != new)
            old = region[where]
            if old.size == 0:
                return None
        else:
            old = region[where]
            new = np.asarray(value, dtype=region.dtype)
            changed = old != new
            if not changed.any():
                return None
            if not changed.all():
                where = where.copy()
                where[where] = changed
                old, new = old[changed], new[changed]
        region[where] = new
        return where, old, new, self._account(layer, box, old, new)

    def restore(self, layer: int, box, where: np.ndarray, values: np.ndarray) -> tuple:
        """Set `arrays[layer][box][where] = values` exactly (undo and redo); returns the labels that lost or gained
        voxels."""
        values = values.astype(self.arrays[layer].dtype)
        region = self.arrays[layer][box]
        before = region[where]
        region[where] = values
        return self._account(layer, box, before, values)

    def _account(self, layer: int, box, old: np.ndarray, new) -> tuple:
        """Update the statistics for voxels of `box` that went from `old` to `new` values."""
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
        return (*lost, *gained)

    # ---------------------------------------------------------------- statistics
    def counts(self, layer: int) -> dict:
        """{label value: voxel count} of the non-zero labels of one layer (the live dict: do not change it)."""
        if self._counts[layer] is None:
            self._counts[layer] = lb.histogram(self.arrays[layer])
        return self._counts[layer]

    def label_box(self, layer: int, label: int, tight: bool = True):
        """Tight index box (tuple of 3 slices) of a label in a layer, or None when it has no voxel. `tight=False`:
        a box holding all its voxels, maybe larger after edits (O(1); tightening is O(box))."""
        boxes = self._boxes[layer]
        if boxes is None:
            boxes = self._boxes[layer] = lb.boxes_of(self.arrays[layer])
            self._loose[layer] = set()
        box = boxes.get(label)
        if box is not None and label in self._loose[layer] and tight:
            offset = tuple(s.start for s in box)
            box = tight_box(self.arrays[layer][box] == label, offset)
            if box is None:
                boxes.pop(label, None)
            else:
                boxes[label] = box
            self._loose[layer].discard(label)
        return box

    def forget_statistics(self, layer: int | None = None) -> None:
        """Voxels were written into `arrays` directly (test set-ups, bulk loaders): recompute the statistics of
        `layer` (None: every layer) when they are next asked for."""
        for n in range(len(self.arrays)) if layer is None else (layer,):
            self._counts[n] = self._boxes[n] = None
            self._loose[n] = set()
