"""What every whole-atlas tool shares: a plan of edits computed from the state before the tool runs, applied as
one undo step through `edits.apply_mask`, and the boxes the tools work in.

A tool is two steps. `plan_*` reads the segmentation (never writes) and returns a `Plan`: a list of `Change`s, each
one boolean mask on the smallest box that holds it, for one segment and one `EditMode`. The UI shows a plan as a
preview (voxel counts, an overlay) and applies it unchanged when the user presses Apply. `apply_plan` replays it
inside one `seg.operation`, so the whole run is one undo step and is rolled back if anything fails.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..boxes import full_box, pad_box, shrink_to_content  # noqa: F401 (the operations import them from here)
from ..edits import EditMode, EditPolicy, apply_mask
from ..progress import Progress, report, scaled  # noqa: F401 (the operations import them from here)
from ..segmentation import Segmentation, SegmentationError


@dataclass
class Change:
    """Apply `mask` (bool, the shape of `box`) to one segment in `mode`.

    `new_segment` names a segment the plan creates (island splitting): the change targets it once created."""

    segment_id: str
    box: tuple
    mask: np.ndarray
    mode: EditMode
    new_segment: "NewSegment | None" = None
    targets: "tuple[str, ...] | None" = None     # REMOVE_ALL: the segments erased (segment_id is then "")

    @property
    def count(self) -> int:
        return int(np.count_nonzero(self.mask))


@dataclass
class NewSegment:
    """A segment to create in `layer` (free label value of that layer) before its changes are applied."""

    name: str
    layer: int
    tags: dict = field(default_factory=dict)


@dataclass
class Plan:
    name: str                                    # the undo step's name, e.g. "Margin +2 mm (12 segments)"
    changes: list[Change] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)   # selected segments left alone (locked), by id
    policy: EditPolicy | None = None             # None: the caller's policy; set when the tool fixes its own

    def summary(self, seg: Segmentation) -> "dict[str, tuple[int, int]]":
        """{segment id: (voxels gained, voxels lost)} if the plan were applied to `seg` as it is now, ignoring
        the overwrite mode and locks (what a preview reports). A new segment of a split counts under the id of
        the segment it comes from, as a loss there and "+n" under `'<id>+new'`."""
        out: dict[str, list[int]] = {}
        for c in self.changes:
            if c.mode is EditMode.REMOVE_ALL:      # many segments at once: counted by the caller if needed
                continue
            key = c.segment_id + ("+new" if c.new_segment is not None else "")
            acc = out.setdefault(key, [0, 0])
            if c.new_segment is not None:
                acc[0] += c.count
                continue
            old = seg.mask(c.segment_id, c.box)
            if c.mode is EditMode.ADD:
                acc[0] += int(np.count_nonzero(c.mask & ~old))
            elif c.mode is EditMode.REMOVE:
                acc[1] += int(np.count_nonzero(c.mask & old))
            else:
                inside = int(np.count_nonzero(old))
                acc[0] += int(np.count_nonzero(c.mask & ~old))
                acc[1] += inside - int(np.count_nonzero(c.mask & old)) + seg.voxel_count(c.segment_id) - inside
        return {k: (v[0], v[1]) for k, v in out.items()}

    @property
    def empty(self) -> bool:
        return not any(c.count or c.mode is EditMode.SET or c.new_segment for c in self.changes)

@dataclass
class OpResult:
    name: str
    written: int = 0                             # voxels that changed
    changed: list[str] = field(default_factory=list)    # segment ids that gained or lost voxels, in plan order
    created: list[str] = field(default_factory=list)    # new segment ids (island splitting)
    skipped: list[str] = field(default_factory=list)    # locked segments left alone


def apply_plan(seg: Segmentation, plan: Plan, policy: EditPolicy | None = None,
               progress: Progress = None) -> OpResult:
    """Apply a plan as ONE undo step (everything is rolled back if a change fails)."""
    policy = plan.policy or policy or EditPolicy()
    result = OpResult(plan.name, skipped=list(plan.skipped))
    created: dict[int, str] = {}
    n = max(1, len(plan.changes))
    with seg.operation(plan.name):
        for i, c in enumerate(plan.changes):
            sid = c.segment_id
            if c.mode is EditMode.REMOVE_ALL:         # one pass per layer over many segments (scissors)
                w = apply_mask(seg, None, c.mask, c.box, c.mode, policy, targets=c.targets)
                result.written += w
                report(progress, (i + 1) / n)
                continue
            if c.new_segment is not None:
                key = id(c.new_segment)
                if key not in created:
                    s = seg.add_segment(c.new_segment.name, layer=c.new_segment.layer, tags=c.new_segment.tags)
                    created[key] = s.id
                    result.created.append(s.id)
                sid = created[key]
            if sid not in seg:
                raise SegmentationError("a segment of this operation was removed meanwhile; run the tool again")
            if seg.segment(sid).locked:
                if sid not in result.skipped:
                    result.skipped.append(sid)
                continue
            if c.count or c.mode is EditMode.SET:
                w = apply_mask(seg, sid, c.mask, c.box, c.mode, policy)
                result.written += w
                if w and sid not in result.changed:
                    result.changed.append(sid)
            report(progress, (i + 1) / n)
    return result


# ------------------------------------------------------------------------------------------------ selection
def editable_ids(seg: Segmentation, segment_ids) -> tuple[list[str], list[str]]:
    """(unlocked ids in display order, locked ids). Unknown ids are an error; duplicates are dropped."""
    wanted = list(dict.fromkeys(segment_ids))
    for sid in wanted:
        seg.segment(sid)
    if not wanted:
        raise SegmentationError("select at least one segment")
    order = {sid: n for n, sid in enumerate(seg.segment_ids)}
    wanted.sort(key=order.__getitem__)
    return [s for s in wanted if not seg.segment(s).locked], [s for s in wanted if seg.segment(s).locked]


@dataclass
class Window:
    """A segment's mask on its box grown by `pad` voxels, NOT clipped: voxels beyond the lattice read as
    background. `lattice_box` is the part that lies on the lattice and `inner` indexes it inside `mask`."""

    mask: np.ndarray
    lattice_box: tuple
    inner: tuple

    @classmethod
    def read(cls, seg: Segmentation, segment_id: str, box, pad) -> "Window":
        pad = (int(pad),) * 3 if np.isscalar(pad) else tuple(int(p) for p in pad)
        lat = pad_box(box, pad, seg.geometry.shape)
        lo = [b.start - p for b, p in zip(box, pad)]
        inner = tuple(slice(l.start - o, l.stop - o) for l, o in zip(lat, lo))
        shape = [b.stop - b.start + 2 * p for b, p in zip(box, pad)]
        mask = np.zeros(shape, dtype=bool)
        mask[inner] = seg.mask(segment_id, lat)
        return cls(mask, lat, inner)

    def on_lattice(self, arr: np.ndarray) -> np.ndarray:
        """The lattice part of an array shaped like `mask`."""
        return arr[self.inner]


def set_changes(segment_id: str, old: np.ndarray, new: np.ndarray, box) -> list[Change]:
    """Make a segment whose voxels on a lattice box are `old` become `new`: REMOVE old & ~new, ADD new & ~old
    (each cropped to its content). Only changed voxels are written, so overlaps the segment already has with
    segments of other layers stay as they are; what it gains follows the overwrite mode."""
    out = []
    for mode, m in ((EditMode.REMOVE, old & ~new), (EditMode.ADD, new & ~old)):
        cropped = shrink_to_content(m, box)
        if cropped is not None:
            out.append(Change(segment_id, cropped[1], cropped[0], mode))
    return out


class LabelSet:
    """Membership test of a layer's voxels in a set of label values: a lookup table for 8/16-bit layers
    (one gather per voxel), np.isin for 32-bit ones."""

    def __init__(self, labels, dtype) -> None:
        self.dtype = np.dtype(dtype)
        self.labels = np.array(sorted(set(int(v) for v in labels)), dtype=np.int64)
        self._lut = None
        if self.dtype.itemsize <= 2:
            size = 1 << (8 * self.dtype.itemsize)
            self._lut = np.zeros(size, dtype=bool)
            self._lut[self.labels % size] = True

    def lookup(self, region: np.ndarray) -> np.ndarray:
        if self._lut is not None:
            return self._lut[region.view(np.uint8 if region.dtype.itemsize == 1 else np.uint16)]
        return np.isin(region, self.labels)
