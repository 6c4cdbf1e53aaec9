"""What applying a plan WILL change, for previews: every voxel that any segment gains or loses, and by how much
each segment changes, under the overwrite mode, editable area, intensity range and locks that Apply will use.

A plan only lists what the chosen segments should become; Apply then also takes voxels from other segments
(overwrite all), moves a segment to a new layer (allow overlap), skips locked ones. Rather than re-deriving those
rules (which would drift from `edits.apply_mask`), the plan is applied to a copy of the layers (a dry run) and the
copy is compared with the original inside the plan's box: the preview is what Apply does, by construction.
Cost: one copy of the layers plus the apply itself (the SPL atlas: ~20 ms + the tool's own apply time)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..edits import EditPolicy
from ..label_values import union_box
from ..segmentation import Segmentation
from .plan import Plan, apply_plan


@dataclass
class Effect:
    box: tuple | None                      # lattice box holding every change (None: nothing changes)
    gained: np.ndarray | None              # bool on `box`: some segment gains the voxel
    lost: np.ndarray | None                # bool on `box`: some segment loses the voxel
    counts: dict = field(default_factory=dict)     # {segment id: (voxels gained, voxels lost)}, changed ones only
    names: dict = field(default_factory=dict)      # {segment id: name} (incl. segments the plan creates)
    created: list = field(default_factory=list)    # ids (in the dry run) of segments Apply would create
    skipped: list = field(default_factory=list)    # locked segments left alone

    @property
    def voxels_gained(self) -> int:
        return sum(g for g, _ in self.counts.values())

    @property
    def voxels_lost(self) -> int:
        return sum(l for _, l in self.counts.values())

    def codes(self, shape, gained_code: int = 1, lost_code: int = 2) -> np.ndarray:
        """A full-lattice uint8 volume: `gained_code` where a segment gains, `lost_code` where segments only lose."""
        out = np.zeros(shape, dtype=np.uint8)
        if self.box is not None:
            region = out[self.box]
            region[self.lost] = lost_code
            region[self.gained] = gained_code
        return out


def copy_of(seg: Segmentation) -> Segmentation:
    return Segmentation.from_layers(seg.geometry, [a.copy() for a in seg.layers], [s.copy() for s in seg.segments])


def plan_effect(seg: Segmentation, plan: Plan, policy: EditPolicy | None = None) -> Effect:
    """The exact change `apply_plan(seg, plan, policy)` would make, without changing `seg`."""
    box = None
    for c in plan.changes:
        box = c.box if box is None else union_box(box, c.box)
    if box is None:
        return Effect(None, None, None, skipped=list(plan.skipped))
    dry = copy_of(seg)
    result = apply_plan(dry, plan, policy)
    ids = list(dict.fromkeys(seg.segment_ids + dry.segment_ids))
    index = {sid: n for n, sid in enumerate(ids)}
    shape = tuple(b.stop - b.start for b in box)
    nvox = int(np.prod(shape))
    where = None
    if dry.n_layers == seg.n_layers and all(
            sid in dry and (dry.segment(sid).layer, dry.segment(sid).label) == (s.layer, s.label)
            for sid, s in zip(seg.segment_ids, seg.segments)):
        # no segment moved: only voxels whose value changed in some layer can differ (the usual, fast case)
        where = np.zeros(shape, bool)
        for a, b in zip(seg.layers, dry.layers):
            where |= a[box] != b[box]
        where = where.reshape(-1)
    before = _keys(seg, box, index, nvox, where)
    after = _keys(dry, box, index, nvox, where)
    gains = np.setdiff1d(after, before, assume_unique=True)
    losses = np.setdiff1d(before, after, assume_unique=True)
    gained = np.zeros(nvox, bool)
    gained[gains % nvox] = True
    lost = np.zeros(nvox, bool)
    lost[losses % nvox] = True
    g_count = np.bincount(gains // nvox, minlength=len(ids))
    l_count = np.bincount(losses // nvox, minlength=len(ids))
    counts = {sid: (int(g_count[n]), int(l_count[n])) for n, sid in enumerate(ids) if g_count[n] or l_count[n]}
    names = {sid: (seg.segment(sid) if sid in seg else dry.segment(sid)).name for sid in counts}
    return Effect(box, gained.reshape(shape), lost.reshape(shape), counts, names, list(result.created),
                  list(result.skipped))


def _keys(seg: Segmentation, box, index: dict, nvox: int, only=None) -> np.ndarray:
    """Sorted unique int64 keys segment_index * nvox + voxel (flat index in `box`) of every membership in `box`
    (in the voxels `only` marks, when given)."""
    parts = []
    for layer, arr in enumerate(seg.layers):
        region = arr[box].reshape(-1)
        labels = seg.labels_in_layer(layer)          # {label value: segment id}
        if not labels:
            continue
        top = max(max(labels), int(region.max()) if region.size else 0)
        lut = np.full(top + 1, -1, dtype=np.int64)
        for value, sid in labels.items():
            lut[value] = index[sid]
        where = np.flatnonzero(region if only is None else (region != 0) & only)
        seg_index = lut[region[where].astype(np.int64)]
        keep = seg_index >= 0
        parts.append(seg_index[keep] * nvox + where[keep])
    if not parts:
        return np.zeros(0, dtype=np.int64)
    keys = np.concatenate(parts)
    keys.sort()
    return keys
