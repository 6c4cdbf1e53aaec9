"""Grow from seeds (Slicer's Grow from seeds effect, whose engine is FastGrowCut): the user paints a few seed strokes
for two or more segments (or one segment and a *background* seed); inside the seeds' bounding box grown by a margin,
every voxel goes to the seed it is nearest to along the image, measured by a shortest path whose step cost is the
grey-value difference between neighbouring voxels. Boundaries fall where the image changes most.

Why this method (measured on the chest CT, `tests/model/test_ops_grow.py` and `benchmarks/bench_grow.py`): with the
same seed strokes the shortest path reached a Dice of 0.99 on both lungs, a seeded watershed on the gradient
magnitude 0.97, scikit-image's random walker 0.78 (and took 45 s instead of 1 s). The shortest path also allows an
EXACT update after a new stroke that only looks near the stroke (below), which the watershed does not.

Algorithm: scipy's multi-source Dijkstra (`scipy.sparse.csgraph.dijkstra`, `min_only=True`, compiled) on the
6-connected voxel graph of the box; an edge costs (|grey(p) - grey(q)| + tau) * h / h_min, with h the spacing
along the edge (thick slices cost more) and tau = 1e-3 of the box's grey range (so flat regions split by
distance). Every voxel keeps its distance to its nearest seed.

Update after a stroke that only ADDS seeds (FastGrowCut's incremental update, made exact): adding sources can only
lower distances, and the voxels whose distance drops form a region connected to the new seeds along shortest paths
(every voxel on the new shortest path to an improved voxel is improved too). So Dijkstra runs from the new seeds
alone on the cached graph of the box, stopped at a distance limit (scipy's `limit`); the voxels where the new
distance is lower than the stored one change label. If an improved voxel borders one the limited search did not
reach, the limit doubles and it runs again; when none does, nothing further can have improved. The work is that of
the region the stroke changes, not of the box. Erasing or overwriting seeds, or seeds that enlarge the grow box,
recompute everything (as Slicer does when the region changes).

Seeds live outside the document (`GrowSession.seeds`, a scratch labelmap); `plan_grow` turns the result into
changes: each seeded segment becomes, inside the grow box, exactly its region (voxels of the *background* class
leave every seeded segment); applied through `apply_mask`, so overwrite mode, locks, editable area and intensity
are honoured.
"""
from __future__ import annotations

import math

import numpy as np

from ..label_values import tight_box
from ..segmentation import Segmentation, SegmentationError
from .plan import OpResult, Plan, apply_plan, editable_ids, pad_box, set_changes

BACKGROUND = ""              # the segment id of the background seed class
DEFAULT_MARGIN_MM = 10.0


class GrowSession:
    """Seeds, the grow box and the last result of one Grow-from-seeds session on one lattice.

    `grey`: the grey volume on the segmentation's lattice (same shape). `paint(segment_id, mask, box)` adds seeds
    of a segment (`BACKGROUND` for the background class), `erase(mask, box)` removes seeds; `result()` returns
    (box, class array) with class n = `classes[n - 1]`, recomputing only what the seed edits require."""

    def __init__(self, grey: np.ndarray, spacing, margin_mm: float = DEFAULT_MARGIN_MM) -> None:
        self.grey = grey
        self.spacing = tuple(float(s) for s in spacing)
        self.shape = tuple(grey.shape)
        self.margin_mm = float(margin_mm)
        self.seeds = np.zeros(self.shape, dtype=np.uint16)
        self.classes: list[str] = []          # seed value n (1-based) -> segment id (or BACKGROUND)
        self.box = None                       # the grow box of the last result
        self.labels: np.ndarray | None = None     # uint16 classes in the grow box
        self.dist: np.ndarray | None = None       # float64 distance to the nearest seed, same box
        self._graph = None                    # the box's CSR graph, kept for local updates
        self._dmax = 0.0                      # the largest distance of the last full result
        self._added: list[tuple] = []         # (class value, box) of seed additions since the last result
        self._dirty_full = True               # seeds were erased/overwritten: recompute everything
        self.last_update = "none"             # "full" / "local" / "none": what the last result() did (tests)

    # ---------------------------------------------------------------- seeds
    def class_of(self, segment_id: str) -> int:
        if segment_id not in self.classes:
            if len(self.classes) >= 65535:
                raise SegmentationError("too many seeded segments")
            self.classes.append(segment_id)        # its first seeds are additions like any other
        return self.classes.index(segment_id) + 1

    def paint(self, segment_id: str, mask: np.ndarray, box) -> int:
        """Seeds of `segment_id` where `mask` (shape of box) is true. Returns the number of seed voxels changed."""
        value = self.class_of(segment_id)
        region = self.seeds[box]
        old = region[mask]
        changed = old != value
        if not changed.any():
            return 0
        if np.any(old[changed] != 0):
            self._dirty_full = True           # seeds of another class were overwritten: distances may grow
        region[mask] = value
        self._added.append((value, box))
        return int(np.count_nonzero(changed))

    def erase(self, mask: np.ndarray, box) -> int:
        region = self.seeds[box]
        hit = mask & (region != 0)
        n = int(np.count_nonzero(hit))
        if n:
            region[hit] = 0
            self._dirty_full = True
        return n

    def restore(self, box, old: np.ndarray) -> None:
        """Put seeds of a box back as they were (a cancelled stroke)."""
        if not np.array_equal(self.seeds[box], old):
            self.seeds[box] = old
            self._dirty_full = True

    def forget(self, segment_id: str) -> None:
        """Remove the seeds of a segment (it was removed from the document)."""
        if segment_id in self.classes:
            hit = self.seeds == self.classes.index(segment_id) + 1
            if hit.any():
                self.seeds[hit] = 0
                self._dirty_full = True

    def clear(self) -> None:
        self.seeds[...] = 0
        self.classes.clear()
        self.box = self.labels = self.dist = self._graph = None
        self._added.clear()
        self._dirty_full = True

    def seed_classes(self) -> list[int]:
        """Class values that have at least one seed voxel."""
        return [v for v in np.unique(self.seeds).tolist() if v]

    def grow_box(self):
        """The seeds' bounding box grown by the margin (mm, per axis with the spacing), or None without seeds."""
        tb = tight_box(self.seeds != 0)
        if tb is None:
            return None
        pad = [int(math.ceil(self.margin_mm / sp - 1e-9)) for sp in self.spacing]
        return pad_box(tb, pad, self.shape)

    def set_margin(self, margin_mm: float) -> None:
        if float(margin_mm) != self.margin_mm:
            self.margin_mm = float(margin_mm)
            self._dirty_full = True

    @property
    def needs_update(self) -> bool:
        """The seeds or the margin changed since the last result."""
        return self._dirty_full or bool(self._added) or self.labels is None or self.grow_box() != self.box

    @property
    def ready(self) -> bool:
        """At least two seed classes have seeds: a partition can be computed."""
        return len(self.seed_classes()) >= 2

    # ---------------------------------------------------------------- result
    def result(self):
        """(box, uint16 classes in the box) for the current seeds, or None when fewer than two classes are seeded.
        Re-uses the previous result when the seeds were only added to (see the module's docstring)."""
        if not self.ready:
            self.box = self.labels = self.dist = self._graph = None
            self._added.clear()
            self.last_update = "none"
            return None
        box = self.grow_box()
        if self._dirty_full or self.labels is None or box != self.box:
            self._full(box)
            self.last_update = "full"
        elif self._added:
            for value, b in self._added:
                self._local(value, b)
            self.last_update = "local"
        else:
            self.last_update = "none"
        self._added.clear()
        self._dirty_full = False
        return self.box, self.labels

    def _full(self, box) -> None:
        from scipy.sparse.csgraph import dijkstra

        seeds = self.seeds[box]
        graph = _graph(self.grey[box], self.spacing)
        src = np.flatnonzero(seeds)
        dist, _, sources = dijkstra(graph, indices=src, min_only=True, return_predecessors=True)
        flat = seeds.ravel()
        labels = np.zeros(seeds.size, dtype=np.uint16)
        reached = sources >= 0
        labels[reached] = flat[sources[reached]]
        self.box = box
        self.labels = labels.reshape(seeds.shape)
        self.dist = dist.reshape(seeds.shape)
        self._graph = graph                       # kept for local updates (12 bytes per edge)
        self._dmax = float(np.max(dist)) if dist.size else 0.0

    def _local(self, value: int, added_box) -> None:
        """Exact update for seeds of class `value` added inside `added_box` (lattice box): Dijkstra from those seeds
        alone on the cached graph, stopped at a distance limit that doubles until no improved voxel borders an
        unexplored one (then nothing further can improve: see the module's docstring)."""
        from scipy.sparse.csgraph import dijkstra

        gb = self.box
        rel = tuple(slice(max(a.start, g.start) - g.start, min(a.stop, g.stop) - g.start) for a, g in zip(added_box, gb))
        if any(r.stop <= r.start for r in rel):
            return
        shape = self.labels.shape
        local = np.zeros(shape, dtype=bool)
        local[rel] = self.seeds[gb][rel] == value
        src = np.flatnonzero(local)
        old = self.dist.reshape(-1)
        if src.size == 0 or not np.any(old[src] > 0):
            return                                   # nothing new: those voxels were seeds already
        limit = float(np.max(old[src]))
        top = self._dmax
        while True:
            d = dijkstra(self._graph, indices=src, min_only=True, limit=limit)
            better = d < old
            if limit >= top or not _borders_unexplored(better.reshape(shape), np.isinf(d).reshape(shape)):
                break
            limit *= 2.0
        old[better] = d[better]
        self.labels.reshape(-1)[better] = value

def _graph(grey: np.ndarray, spacing):
    """The 6-connected graph of a box as a CSR matrix with six entries per row (a self-loop of weight 0 where a
    neighbour would be outside the box). Built directly in CSR form: 4x faster than going through COO."""
    from scipy.sparse import csr_matrix

    shape = grey.shape
    n = grey.size
    g = grey.astype(np.float64, copy=False)
    lo, hi = (float(np.min(g)), float(np.max(g))) if n else (0.0, 0.0)
    tau = 1e-3 * max(hi - lo, 1e-6)
    hmin = min(spacing)
    idx = np.arange(n, dtype=np.int32).reshape(shape)
    nb = np.repeat(idx[..., None], 6, axis=3)
    wt = np.zeros(shape + (6,), dtype=np.float64)
    k = 0
    for ax in range(3):
        lo_s = [slice(None)] * 3
        hi_s = [slice(None)] * 3
        lo_s[ax] = slice(0, -1)
        hi_s[ax] = slice(1, None)
        lo_s, hi_s = tuple(lo_s), tuple(hi_s)
        w = (np.abs(g[hi_s] - g[lo_s]) + tau) * (spacing[ax] / hmin)
        nb[lo_s + (k,)] = idx[hi_s]          # forward neighbour
        wt[lo_s + (k,)] = w
        nb[hi_s + (k + 1,)] = idx[lo_s]      # backward neighbour
        wt[hi_s + (k + 1,)] = w
        k += 2
    return csr_matrix((wt.ravel(), nb.ravel(), np.arange(0, 6 * n + 1, 6, dtype=np.int64)), shape=(n, n))


def _borders_unexplored(improved: np.ndarray, unexplored: np.ndarray) -> bool:
    """Has an improved voxel a 6-neighbour that the limited search did not reach? Checked on the explored
    region's bounding box only."""
    from ..label_values import tight_box

    tb = tight_box(~unexplored)
    if tb is None:
        return False
    tb = pad_box(tb, 1, improved.shape)
    imp, une = improved[tb], unexplored[tb]
    for ax in range(3):
        a = [slice(None)] * 3
        b = [slice(None)] * 3
        a[ax], b[ax] = slice(0, -1), slice(1, None)
        a, b = tuple(a), tuple(b)
        if np.any(imp[a] & une[b]) or np.any(imp[b] & une[a]):
            return True
    return False


# ------------------------------------------------------------------------------------------------ plan / apply
def plan_grow(seg: Segmentation, session: GrowSession) -> Plan:
    """The changes that make each seeded segment exactly its region inside the grow box (voxels of the background
    class leave every seeded segment). Seeded segments that are locked are skipped (named in `plan.skipped`)."""
    if session.shape != seg.geometry.shape:
        raise SegmentationError("the seeds were painted on another lattice")
    res = session.result()
    if res is None:
        raise SegmentationError("paint seeds for at least two segments (or one segment and the background)")
    box, labels = res
    seeded = [session.classes[v - 1] for v in session.seed_classes()]
    segs = [s for s in seeded if s != BACKGROUND]
    missing = [s for s in segs if s not in seg]
    if missing:
        raise SegmentationError("a seeded segment was removed meanwhile; clear its seeds and grow again")
    ids, locked = editable_ids(seg, segs) if segs else ([], [])
    plan = Plan("Grow from seeds" + (f" ({len(ids)} segments)" if len(ids) > 1 else ""), skipped=locked)
    for sid in ids:
        v = session.classes.index(sid) + 1
        plan.changes.extend(set_changes(sid, seg.mask(sid, box), labels == v, box))
    return plan


def grow_from_seeds(seg: Segmentation, session: GrowSession, policy=None) -> OpResult:
    """Apply the current result as ONE undo step."""
    return apply_plan(seg, plan_grow(seg, session), policy)
