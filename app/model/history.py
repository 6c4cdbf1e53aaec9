"""Undo/redo: every model mutation is one of a few invertible records, grouped into named steps.

Records (napari's masked paint atom, ITK-SNAP's staging + commit, memory-capped like ITK-SNAP's UndoDataManager):
- VoxelPatch: one layer, an index box, the changed voxels' positions, old and new values (zlib-packed when large).
- LayerInsert / LayerRemove: an all-zero layer appears or disappears at an index.
- LayerCast: a layer's dtype changes (promotion; its inverse is exact because values fit both types).
- TableChange: segments added, removed, changed (full before/after copies of those segments only) and reordering.
The Segmentation applies records; this module only stores them. History never copies a whole layer.
"""
from __future__ import annotations

import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from .boxes import box_size, union_box

_PACK_LIMIT = 4096   # bytes: arrays above this are zlib-packed in the history
# Python objects around the arrays, measured with a deep walk (benchmarks/bench_edit.deep_bytes): a compacted
# patch (dataclass, box tuple of slices, three array headers) ~900 bytes; a step (object, name, list) ~400.
_PATCH_OVERHEAD = 900
_STEP_OVERHEAD = 400


try:         # ISA-L's deflate (a runtime dependency already, for files): same zlib stream, ~4.5x faster than
    from isal.isal_zlib import compress as _compress       # zlib level 1 on a 4 MB patch (14 ms vs 65 ms)
except ImportError:  # pragma: no cover
    from zlib import compress as _compress


def _pack(a: np.ndarray):
    raw = np.asarray(a, order="C")   # not ascontiguousarray: it turns 0-d into shape (1,)
    if raw.nbytes <= _PACK_LIMIT:
        return raw
    return (_compress(raw.tobytes(), 1), raw.dtype.str, raw.shape)


@dataclass(frozen=True)
class _Runs:
    """Run-length encoded 1-D labels: painted regions hold long runs of one value; ~10x cheaper than zlib."""

    values: np.ndarray
    ends: np.ndarray       # exclusive end index of each run

    def decode(self) -> np.ndarray:
        return np.repeat(self.values, np.diff(self.ends, prepend=0))

    @property
    def nbytes(self) -> int:
        return self.values.nbytes + self.ends.nbytes + 64


def _rle(a: np.ndarray):
    if a.ndim != 1 or a.size < 256:
        return None
    cut = np.flatnonzero(a[1:] != a[:-1]) + 1
    if cut.size * (a.itemsize + 4) * 4 > a.nbytes:     # not worth it: fewer than ~4x smaller
        return None
    return _Runs(a[np.append(cut, a.size) - 1].copy(), np.append(cut, a.size).astype(np.int32))


def _unpack(p) -> np.ndarray:
    if isinstance(p, np.ndarray):
        return p
    if isinstance(p, _Runs):
        return p.decode()
    data, dt, shape = p
    return np.frombuffer(zlib.decompress(data), dtype=np.dtype(dt)).reshape(shape)


def _nbytes(p) -> int:
    if isinstance(p, (np.ndarray, _Runs)):
        return p.nbytes
    return len(p[0]) + 64


@dataclass
class VoxelPatch:
    layer: int
    box: tuple
    where: object          # packed bits (box shape, C order) of the changed voxels
    old: object            # old values at `where` (layer dtype at the time)
    new: object            # new values at `where`, or a 0-d array when they are all the same

    @classmethod
    def make(cls, layer, box, where, old, new) -> "VoxelPatch":
        """Cheap while a stroke goes on: raw arrays; `compact()` compresses them when the step is committed."""
        return cls(layer, box, np.packbits(where, axis=None), _uniform_or_copy(old), np.array(new))

    def compact(self) -> None:
        self.where, self.old, self.new = _pack_any(self.where), _pack_any(self.old), _pack_any(self.new)

    def mask(self) -> np.ndarray:
        shape = tuple(s.stop - s.start for s in self.box)
        bits = np.unpackbits(_unpack(self.where), count=int(np.prod(shape)))
        return bits.view(bool).reshape(shape)

    def values(self, which: str) -> np.ndarray:
        return _unpack(self.old if which == "old" else self.new)

    @property
    def nbytes(self) -> int:
        return _nbytes(self.where) + _nbytes(self.old) + _nbytes(self.new) + _PATCH_OVERHEAD


def _uniform_or_copy(values: np.ndarray) -> np.ndarray:
    """A 0-d array when every value is the same (painting over background, moving one label), else a copy."""
    if values.size > 16 and values[0] == values[-1] and (values == values[0]).all():
        return np.array(values[0])
    return np.array(values)


def _pack_any(p):
    if not isinstance(p, np.ndarray):
        return p
    return _rle(p) or _pack(p)


MERGE_SPREAD = 4     # patches merge while their union box is at most this many times their summed box volumes


def merge_patches(records: list) -> list:
    """Consecutive VoxelPatches of one layer (the dabs of a stroke, one per mouse event) become one patch over
    their union box: one set of arrays instead of fifty, ~5x less memory per stroke. Order across other records
    and layers is kept; patches far apart (union box > MERGE_SPREAD x their volumes) are not merged."""
    out: list = []
    run: list = []
    union, volume = None, 0
    for rec in records:
        if isinstance(rec, VoxelPatch) and run and rec.layer == run[0].layer:
            u = union_box(union, rec.box)
            v = volume + box_size(rec.box)
            if box_size(u) <= MERGE_SPREAD * v:
                run.append(rec)
                union, volume = u, v
                continue
        if run:
            out.append(_merged(run, union))
            run = []
        if isinstance(rec, VoxelPatch):
            run, union, volume = [rec], rec.box, box_size(rec.box)
        else:
            out.append(rec)
    if run:
        out.append(_merged(run, union))
    return out


def _merged(run: list, union) -> "VoxelPatch":
    """One patch equivalent to applying `run` in order: old value from the first patch touching a voxel, new
    value from the last."""
    if len(run) == 1:
        return run[0]
    shape = tuple(s.stop - s.start for s in union)
    where = np.zeros(shape, dtype=bool)
    old = np.zeros(shape, dtype=run[0].values("old").dtype)
    new = np.zeros(shape, dtype=run[0].values("new").dtype)
    for p in run:
        sub = tuple(slice(b.start - u.start, b.stop - u.start) for b, u in zip(p.box, union))
        m = p.mask()
        first = m & ~where[sub]
        if first.any():
            o = np.zeros(m.shape, dtype=old.dtype)
            o[m] = p.values("old")
            old[sub][first] = o[first]
        new[sub][m] = p.values("new")
        where[sub] |= m
    return VoxelPatch(run[0].layer, union, np.packbits(where, axis=None), _uniform_or_copy(old[where]),
                      _uniform_or_copy(new[where]))


@dataclass
class LayerInsert:
    index: int
    dtype: str
    nbytes: int = 64


@dataclass
class LayerRemove:
    index: int
    dtype: str
    nbytes: int = 64


@dataclass
class LayerCast:
    index: int
    old_dtype: str
    new_dtype: str
    nbytes: int = 64


@dataclass
class TableChange:
    before: dict             # id -> Segment copy, or None when the segment did not exist
    after: dict              # id -> Segment copy, or None when the segment no longer exists
    order_before: tuple
    order_after: tuple

    @property
    def nbytes(self) -> int:
        return 400 * (len(self.before) + 1) + 16 * (len(self.order_before) + len(self.order_after))


@dataclass
class Step:
    name: str
    records: list = field(default_factory=list)
    nbytes: int = 0


class History:
    """Undo and redo stacks of Steps, trimmed from the oldest while their bytes exceed `budget_bytes`
    (at least `min_steps` are always kept). Applying records is the Segmentation's job (`apply`)."""

    def __init__(self, budget_bytes: int = 500 * 2**20, min_steps: int = 4) -> None:
        self._changed = None      # the signal, made when someone subscribes (the command line never does)
        self.budget_bytes = budget_bytes
        self.min_steps = min_steps
        self.undo_stack: list[Step] = []
        self.redo_stack: list[Step] = []
        self._open: list[Step] = []
        self.enabled = True

    @property
    def changed(self):
        """(): the stacks changed (enable/disable undo actions). A psygnal signal, made on first use."""
        if self._changed is None:
            from psygnal import SignalInstance

            self._changed = SignalInstance(())
        return self._changed

    def emit_changed(self) -> None:
        """Tell subscribers the stacks changed (Segmentation calls it after an undo or redo, once its own events
        are out)."""
        if self._changed is not None:
            self._changed.emit()

    # -- recording ---------------------------------------------------------------------------------------------
    @property
    def recording(self) -> bool:
        return bool(self._open)

    def begin(self, name: str) -> None:
        self._open.append(Step(name))

    def record(self, rec) -> None:
        if self._open and self.enabled:
            step = self._open[-1]
            step.records.append(rec)
            step.nbytes += rec.nbytes

    def end(self) -> Step | None:
        """Close the innermost step; an outer step absorbs it; the outermost one is committed."""
        step = self._open.pop()
        if self._open:
            outer = self._open[-1]
            outer.records.extend(step.records)
            outer.nbytes += step.nbytes
            return None
        if step.records:
            step.records = merge_patches(step.records)
            for rec in step.records:
                if isinstance(rec, VoxelPatch):
                    rec.compact()
            step.nbytes = _STEP_OVERHEAD + sum(r.nbytes for r in step.records)
            self.undo_stack.append(step)
            self.redo_stack.clear()
            self._trim()
            self.emit_changed()
            return step
        return None

    def discard_open(self) -> Step:
        """Pop the innermost open step without committing it (the caller rolls it back)."""
        return self._open.pop()

    # -- replaying (the Segmentation applies the records; these move the step between the stacks) --------------
    def take(self, undo: bool) -> Step | None:
        """Take the step an undo (or a redo) replays off its stack; None when there is none or a step is open."""
        source = self.undo_stack if undo else self.redo_stack
        if not source or self._open:
            return None
        return source.pop()

    def put_back(self, step: Step, undone: bool) -> None:
        """A replayed step goes on the other stack: an undone step can be redone, a redone one undone."""
        (self.redo_stack if undone else self.undo_stack).append(step)

    @contextmanager
    def paused(self):
        was, self.enabled = self.enabled, False
        try:
            yield
        finally:
            self.enabled = was

    def set_budget(self, budget_bytes: int) -> None:
        """Change the memory cap (the user's "undo memory" setting); steps beyond it are forgotten now."""
        self.budget_bytes = int(budget_bytes)
        n = len(self.undo_stack)
        self._trim()
        if len(self.undo_stack) != n:
            self.emit_changed()

    def _trim(self) -> None:
        while len(self.undo_stack) > self.min_steps and self.total_bytes > self.budget_bytes:
            self.undo_stack.pop(0)

    def clear(self) -> None:
        self.undo_stack.clear()
        self.redo_stack.clear()
        self.emit_changed()

    @property
    def total_bytes(self) -> int:
        return sum(s.nbytes for s in self.undo_stack) + sum(s.nbytes for s in self.redo_stack)

    @property
    def can_undo(self) -> bool:
        return bool(self.undo_stack)

    @property
    def can_redo(self) -> bool:
        return bool(self.redo_stack)

    @property
    def undo_name(self) -> str:
        return self.undo_stack[-1].name if self.undo_stack else ""

    @property
    def redo_name(self) -> str:
        return self.redo_stack[-1].name if self.redo_stack else ""
