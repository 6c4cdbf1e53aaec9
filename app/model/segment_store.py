"""The segments of a Segmentation: which segments exist, in which display order, and which segment holds
each (layer, label value) of the layers.

`SegmentStore` knows nothing of voxels or undo. It checks nothing either: `Segmentation` validates every request,
changes the table through `replace` (whole Segment copies in, whole copies of what was there out, for the undo
record) or `set_display` (display state, not recorded), and turns each change into events.
"""
from __future__ import annotations

from typing import Iterable

from .segment import Segment, new_segment_id


class SegmentStore:
    def __init__(self) -> None:
        self._by_id: dict[str, Segment] = {}
        self.order: list[str] = []                    # segment ids in display order: read it, change it by `replace`
        self._index: dict[tuple[int, int], str] = {}  # (layer, label) -> segment id
        self.locked_ids: frozenset[str] = frozenset() # kept current: edits ask it on every dab

    # ---------------------------------------------------------------- reading
    def __len__(self) -> int:
        return len(self.order)

    def __contains__(self, segment_id: str) -> bool:
        return segment_id in self._by_id

    def __getitem__(self, segment_id: str) -> Segment:
        """The live Segment (KeyError when there is none); change it only through the Segmentation."""
        return self._by_id[segment_id]

    def get(self, segment_id: str) -> Segment | None:
        return self._by_id.get(segment_id)

    def ordered(self) -> list[Segment]:
        return [self._by_id[i] for i in self.order]

    def at(self, layer: int, label: int) -> str | None:
        """The id of the segment that holds `label` in `layer`, or None."""
        return self._index.get((layer, label))

    def in_layer(self, layer: int) -> list[str]:
        """Ids of the segments in one layer, in display order."""
        return [i for i in self.order if self._by_id[i].layer == layer]

    def labels_in_layer(self, layer: int) -> dict[int, str]:
        """{label value: segment id} of one layer."""
        return {lab: sid for (lay, lab), sid in self._index.items() if lay == layer}

    def layers_used(self) -> set[int]:
        return {s.layer for s in self._by_id.values()}

    def unique_name(self) -> str:
        """The first free `Segment_<n>` name (Slicer's default names)."""
        names = {s.name for s in self._by_id.values()}
        n = 1
        while f"Segment_{n}" in names:
            n += 1
        return f"Segment_{n}"

    def unique_id(self, wanted: str | None) -> str:
        """`wanted`, with `_1`, `_2`... appended while it is taken; a new DICOM-style UID when None."""
        if wanted is None:
            return new_segment_id()
        sid, n = wanted, 1
        while sid in self._by_id:
            sid, n = f"{wanted}_{n}", n + 1
        return sid

    # ---------------------------------------------------------------- changing
    def replace(self, after: dict, order: Iterable[str] | None = None) -> tuple[dict, tuple]:
        """Put the Segments of `after` (id -> Segment, or None to delete) in the table and, when given, the new
        display order (else new ids go last). Returns copies of what the ids held before (None where absent) and
        the order before: what an undo record needs."""
        before = {i: (self._by_id[i].copy() if i in self._by_id else None) for i in after}
        order_before = tuple(self.order)
        for sid, seg in after.items():
            if seg is None:
                self._by_id.pop(sid, None)
            else:
                self._by_id[sid] = seg
        if order is not None:
            self.order = list(order)
        else:
            self.order = [i for i in self.order if i in self._by_id] + \
                         [i for i in after if after[i] is not None and i not in self.order]
        self._index = {(s.layer, s.label): sid for sid, s in self._by_id.items()}
        self._update_locked()
        return before, order_before

    def set_display(self, segment_ids: Iterable[str], fields: dict) -> None:
        """Set display state (visible, opacity, locked) on the live Segments: not part of the undo history."""
        for sid in segment_ids:
            for k, v in fields.items():
                setattr(self._by_id[sid], k, v)
        self._update_locked()

    def _update_locked(self) -> None:
        self.locked_ids = frozenset(sid for sid, s in self._by_id.items() if s.locked)
