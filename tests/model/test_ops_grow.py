"""Grow from seeds: the partition against a brute-force Dijkstra (heapq) on tiny volumes, the local update against a
full recomputation, the same partition in every axis order of the file, locks / box / undo properties, and the
chest CT (Dice per segment against Slicer's segmentation; lungs >= 0.9)."""
from __future__ import annotations

import heapq
import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from scipy import ndimage

from app.model.edits import EditPolicy, Overwrite
from app.model.geometry import Geometry
from app.model.ops import BACKGROUND, GrowSession, grow_from_seeds, plan_grow
from app.model.segmentation import Segmentation, SegmentationError

from ..conftest import SHARED_DATA, shared_file
from .grow_cases import chest_case, dice
from .ops_cases import make_seg, masks_of, same_snapshot, snapshot

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FULL = lambda shape: tuple(slice(0, n) for n in shape)     # noqa: E731


def brute_force(grey, seeds, spacing):
    """Plain heapq Dijkstra over the 6-neighbour lattice: a voxel costs vc = |grad grey| (central differences per mm)
    + tau, tau = 1e-3 * range / h_min; the edge p-q costs (vc[p] + vc[q]) / 2 * h along it; each voxel takes the class
    of its nearest seed."""
    g = grey.astype(float)
    tau = 1e-3 * max(float(g.max() - g.min()), 1e-6) / min(spacing)
    vc = np.sqrt(sum(d ** 2 for d in np.gradient(g, *spacing))) + tau
    dist = np.full(g.shape, np.inf)
    cls = np.zeros(g.shape, int)
    heap = []
    for p in zip(*np.nonzero(seeds)):
        dist[p] = 0.0
        cls[p] = seeds[p]
        heap.append((0.0, p, int(seeds[p])))
    heapq.heapify(heap)
    done = np.zeros(g.shape, bool)
    while heap:
        d, p, c = heapq.heappop(heap)
        if done[p]:
            continue
        done[p] = True
        cls[p] = c
        for ax in range(3):
            for step in (-1, 1):
                q = list(p)
                q[ax] += step
                q = tuple(q)
                if not 0 <= q[ax] < g.shape[ax] or done[q]:
                    continue
                nd = d + (vc[q] + vc[p]) / 2 * spacing[ax]
                if nd < dist[q]:
                    dist[q] = nd
                    heapq.heappush(heap, (nd, q, c))
    return cls, dist


@st.composite
def tiny_cases(draw):
    shape = tuple(draw(st.integers(3, 7)) for _ in range(3))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    grey = rng.normal(0, 50, shape)
    seeds = np.zeros(shape, np.uint16)
    n = draw(st.integers(2, 4))
    flat = rng.choice(int(np.prod(shape)), size=n + draw(st.integers(0, 4)), replace=False)
    for k, f in enumerate(flat):
        seeds[np.unravel_index(f, shape)] = k % n + 1
    spacing = draw(st.sampled_from([(1.0, 1.0, 1.0), (0.7, 1.3, 2.5), (3.0, 3.0, 10.0)]))
    return grey, seeds, spacing


@SETTINGS
@given(tiny_cases())
def test_partition_equals_a_brute_force_dijkstra(case):
    grey, seeds, spacing = case
    s = GrowSession(grey, spacing, margin_mm=1000.0)
    for v in range(1, int(seeds.max()) + 1):
        s.paint(f"s{v}", seeds == v, FULL(grey.shape))
    box, labels = s.result()
    assert box == FULL(grey.shape)
    ref_cls, ref_dist = brute_force(grey, seeds, spacing)
    assert np.allclose(s.dist, ref_dist)
    assert np.array_equal(labels, ref_cls)


def _smooth_grey(shape, seed):
    rng = np.random.default_rng(seed)
    return ndimage.gaussian_filter(rng.normal(0, 100, shape), 1.5) + rng.normal(0, 1, shape)


@SETTINGS
@given(st.integers(0, 1000), st.lists(st.tuples(st.integers(1, 4), st.integers(0, 19), st.integers(0, 17),
                                                st.integers(0, 13), st.integers(0, 2)), min_size=1, max_size=5))
def test_local_update_after_added_strokes_equals_a_full_recomputation(seed, strokes):
    shape, spacing = (20, 18, 14), (1.0, 1.2, 2.0)
    grey = _smooth_grey(shape, seed)
    s = GrowSession(grey, spacing, margin_mm=1000.0)
    for v, (i, j, k) in ((1, (2, 2, 2)), (2, (17, 15, 11)), (3, (10, 9, 7))):
        m = np.zeros(shape, bool)
        m[i, j, k] = True
        s.paint(f"s{v}", m, FULL(shape))
    s.result()
    for v, i, j, k, ax in strokes:                  # a short straight stroke along one axis
        m = np.zeros(shape, bool)
        sl = [i, j, k]
        sl[ax] = slice(max(0, sl[ax] - 2), sl[ax] + 3)
        m[tuple(sl)] = True
        s.paint(f"s{v}", m & (s.seeds == 0), FULL(shape))     # only adds: the local path
        _, labels = s.result()
        assert s.last_update in ("local", "none")
        fresh = GrowSession(grey, spacing, margin_mm=1000.0)
        for c in range(1, 5):                       # class 4 is new: its first stroke is an update too
            if np.any(s.seeds == c):
                fresh.paint(f"s{c}", s.seeds == c, FULL(shape))
        _, full = fresh.result()
        assert np.allclose(s.dist, fresh.dist)
        assert np.array_equal(labels, full)


def test_erasing_or_overwriting_seeds_recomputes_and_matches_a_fresh_session():
    shape, spacing = (16, 16, 10), (1.0, 1.0, 1.0)
    grey = _smooth_grey(shape, 3)
    s = GrowSession(grey, spacing, margin_mm=1000.0)
    a, b = np.zeros(shape, bool), np.zeros(shape, bool)
    a[2:6, 3, 3] = True
    b[10:14, 12, 7] = True
    s.paint("a", a, FULL(shape))
    s.paint("b", b, FULL(shape))
    s.result()
    s.erase(a, FULL(shape))
    assert s.result() is None                        # one class left: no partition
    c = np.zeros(shape, bool)
    c[4:8, 8, 5] = True
    s.paint("a", c, FULL(shape))
    s.paint("b", c & (np.arange(16)[:, None, None] == 5), FULL(shape))     # overwrite a seed of "a" with "b"
    _, labels = s.result()
    assert s.last_update == "full"
    fresh = GrowSession(grey, spacing, margin_mm=1000.0)
    fresh.paint("a", s.seeds == 1, FULL(shape))
    fresh.paint("b", s.seeds == 2, FULL(shape))
    assert np.array_equal(labels, fresh.result()[1])


def test_the_grow_box_is_the_seeds_box_grown_by_the_margin_in_mm():
    shape, spacing = (40, 30, 20), (0.5, 1.0, 2.0)
    s = GrowSession(np.zeros(shape), spacing, margin_mm=4.0)
    m = np.zeros(shape, bool)
    m[10, 10, 10] = True
    s.paint("a", m, FULL(shape))
    m2 = np.zeros(shape, bool)
    m2[12, 14, 11] = True
    s.paint(BACKGROUND, m2, FULL(shape))
    box, labels = s.result()
    assert box == (slice(2, 21), slice(6, 19), slice(8, 14))
    assert labels.shape == (19, 13, 6) and set(np.unique(labels)) == {1, 2}


# ------------------------------------------------------------------------------------------------ axis orders
AXIS_ORDERS = list(itertools.permutations(range(3)))


@pytest.mark.parametrize("order", AXIS_ORDERS)
def test_every_axis_order_of_the_file_gives_the_same_partition(order):
    """The same physical object stored with its axes permuted (direction matrix permuted to match): the voxels
    each segment gets are the same physical voxels."""
    shape0, spacing0 = (18, 14, 10), (0.8, 1.1, 2.0)
    grey0 = _smooth_grey(shape0, 11)
    seeds0 = {}
    for name, (lo, hi) in {"a": ((2, 2, 2), (6, 3, 3)), "b": ((12, 10, 6), (16, 11, 7)),
                           BACKGROUND: ((2, 11, 7), (3, 13, 8))}.items():
        m = np.zeros(shape0, bool)
        m[tuple(slice(x, y) for x, y in zip(lo, hi))] = True
        seeds0[name] = m
    ref = None
    for perm in [(0, 1, 2), order]:
        shape = tuple(shape0[p] for p in perm)
        spacing = tuple(spacing0[p] for p in perm)
        dirs = np.eye(3)[:, list(perm)]
        seg = Segmentation(Geometry(shape, spacing, (1.0, 2.0, 3.0), tuple(map(tuple, dirs.T))))
        ids = {n: seg.add_segment(n).id for n in ("a", "b")}
        seg.history.clear()
        s = GrowSession(np.transpose(grey0, perm), spacing, margin_mm=3.0)
        for name, m in seeds0.items():
            s.paint(ids.get(name, BACKGROUND), np.transpose(m, perm), FULL(shape))
        grow_from_seeds(seg, s)
        inv = np.argsort(perm)
        got = {n: np.transpose(seg.mask(i), inv) for n, i in ids.items()}
        if ref is None:
            ref = got
        else:
            for n in ids:
                assert np.array_equal(got[n], ref[n])
    assert ref["a"].any() and ref["b"].any()


# ------------------------------------------------------------------------------------------------ properties
@st.composite
def atlas_and_seeds(draw):
    shape = (12, 10, 8)
    lab = np.zeros(shape, np.int16)
    n = draw(st.integers(2, 4))
    for v in range(1, n + 1):
        lo = [draw(st.integers(0, s - 2)) for s in shape]
        hi = [draw(st.integers(l + 1, s)) for l, s in zip(lo, shape)]
        lab[tuple(slice(a, b) for a, b in zip(lo, hi))] = v
    masks = {f"s{v}": lab == v for v in range(1, n + 1) if (lab == v).any()}
    rng = np.random.default_rng(draw(st.integers(0, 9999)))
    seed_pts = [tuple(int(rng.integers(0, s)) for s in shape) for _ in range(draw(st.integers(2, 6)))]
    return masks, seed_pts, draw(st.integers(0, 2 ** 16))


@SETTINGS
@given(atlas_and_seeds(), st.sampled_from(list(Overwrite)), st.data())
def test_locked_segments_never_change_nothing_outside_the_box_changes_and_undo_is_exact(case, overwrite, data):
    masks, pts, gseed = case
    seg, ids = make_seg(masks, (1.0, 1.5, 2.0))
    locked = data.draw(st.sets(st.sampled_from(ids), max_size=1))
    for sid in locked:
        seg.update_segment(sid, locked=True)
    shape = seg.geometry.shape
    s = GrowSession(_smooth_grey(shape, gseed), seg.geometry.spacing, margin_mm=2.0)
    classes = [*ids, BACKGROUND]
    for n, p in enumerate(pts):
        m = np.zeros(shape, bool)
        m[p] = True
        s.paint(classes[n % len(classes)], m, FULL(shape))
    before, snap = masks_of(seg), snapshot(seg)
    if not s.ready:
        with pytest.raises(SegmentationError):
            plan_grow(seg, s)
        return
    box, labels = s.result()
    grow_from_seeds(seg, s, EditPolicy(overwrite=overwrite))
    outside = np.ones(shape, bool)
    outside[box] = False
    for sid in ids:
        after = seg.mask(sid)
        assert np.array_equal(after[outside], before[sid][outside])
        if sid in locked:
            assert np.array_equal(after, before[sid])
    for sid in ids:                                  # a seeded, unlocked segment is exactly its region in the box
        if sid in locked or sid not in s.classes or s.classes.index(sid) + 1 not in s.seed_classes():
            continue
        region = labels == s.classes.index(sid) + 1
        lock = np.zeros(region.shape, bool)
        for o in locked:
            lock |= before[o][box]
        got = seg.mask(sid, box)
        assert np.array_equal(got & ~lock, region & ~lock) or overwrite is not Overwrite.ALL
        assert not np.any(got & ~region)            # nothing of it left outside its region
    if len(seg.history.undo_stack):
        seg.undo()
    assert same_snapshot(snapshot(seg), snap)


def test_plan_refuses_fewer_than_two_seeded_classes_and_a_removed_segment():
    seg, (a, b) = make_seg({"a": np.zeros((6, 6, 6), bool), "b": np.zeros((6, 6, 6), bool)})
    s = GrowSession(np.zeros((6, 6, 6)), (1, 1, 1))
    m = np.zeros((6, 6, 6), bool)
    m[1, 1, 1] = True
    s.paint(a, m, FULL((6, 6, 6)))
    with pytest.raises(SegmentationError, match="at least two"):
        plan_grow(seg, s)
    m2 = np.zeros((6, 6, 6), bool)
    m2[4, 4, 4] = True
    s.paint(b, m2, FULL((6, 6, 6)))
    seg.remove_segments([b])
    with pytest.raises(SegmentationError, match="removed"):
        plan_grow(seg, s)


# ------------------------------------------------------------------------------------------------ chest CT
@pytest.mark.parametrize("coarse", [False, True], ids=["full-resolution", "coarse-pass"])
def test_chest_ct_lungs_reach_a_dice_of_0_9_from_a_few_strokes(coarse):
    shared_file("slicerio", "CTChest4.nrrd")
    seg, grey, seeds = chest_case(SHARED_DATA / "slicerio")
    truth = {s.id: seg.mask(s.id) for s in seg.segments}
    names = {s.id: s.name for s in seg.segments}
    s = GrowSession(grey, seg.geometry.spacing, margin_mm=1000.0)      # the whole image
    s.coarse_voxels = 0 if coarse else 10 ** 9       # force (or forbid) the coarse first pass of large boxes
    for sid, m in seeds.items():
        assert m.any() and not np.any(m & ~(truth[sid] if sid in truth else ~np.any(list(truth.values()), axis=0)))
        s.paint(sid, m, FULL(grey.shape))
    grow_from_seeds(seg, s)
    scores = {names[sid]: dice(seg.mask(sid), truth[sid]) for sid in truth}
    assert scores["right lung"] >= 0.9 and scores["left lung"] >= 0.9, scores
    assert scores["tissue"] >= 0.9, scores


# ------------------------------------------------------------------------------------------------ coarse pass
@SETTINGS
@given(st.integers(0, 1000), st.lists(st.tuples(st.integers(1, 4), st.integers(0, 39), st.integers(0, 35),
                                                st.integers(0, 21)), min_size=0, max_size=4))
def test_coarse_pass_labels_every_voxel_and_keeps_every_seed_after_full_and_local_updates(seed, strokes):
    """Large boxes are grown on a 2x coarser lattice and refined at full resolution near boundaries: every voxel
    gets a seeded class, every seed voxel keeps its own, and far from any boundary of the coarse result the
    labels are the coarse ones. Checked after the first result and after strokes that only add seeds."""
    shape, spacing = (40, 36, 22), (1.0, 1.2, 1.4)
    grey = _smooth_grey(shape, seed)
    s = GrowSession(grey, spacing, margin_mm=1000.0)
    s.coarse_voxels = 0
    rng = np.random.default_rng(seed)
    for v in (1, 2, 3):
        m = np.zeros(shape, bool)
        m[tuple(int(rng.integers(0, n)) for n in shape)] = True
        s.paint(f"s{v}", m, FULL(shape))

    def check():
        _, labels = s.result()
        assert s._factors == (2, 2, 2)
        seeded = set(s.seed_classes())
        assert set(np.unique(labels)) <= seeded
        assert np.all(labels[s.seeds != 0] == s.seeds[s.seeds != 0])
        return labels

    check()
    assert s.last_update == "full"
    for v, i, j, k in strokes:
        m = np.zeros(shape, bool)
        m[max(0, i - 2):i + 3, j, k] = True
        s.paint(f"s{v}", m & (s.seeds == 0), FULL(shape))
        check()
        assert s.last_update in ("local", "none")


def test_geodesic_labels_follow_the_cheapest_path_and_skip_impassable_voxels():
    """A corridor of cheap voxels: the class follows the corridor, and voxels walled off by infinite cost keep
    class 0 and infinite distance (their traceback is never followed)."""
    from app.model.ops.grow import _geodesic

    cost = np.full((5, 9, 1), 100.0)
    cost[2, :, 0] = 1.0                               # corridor along axis 1
    cost[:, 4, 0] = np.inf                            # a wall splits the box
    cost[2, 4, 0] = 1.0                               # ... with one gap in the corridor
    cost[0, 0, 0] = cost[0, 8, 0] = np.inf
    seeds = np.zeros(cost.shape, np.uint16)
    seeds[2, 0, 0] = 1
    seeds[4, 8, 0] = 2
    dist, lab = _geodesic(cost, (1.0, 1.0, 1.0), seeds)
    assert lab[2, 7, 0] == 1                          # 7 corridor steps from seed 1 (cost 7) vs ~200 from seed 2
    assert np.isinf(dist[0, 0, 0]) and np.isinf(dist[0, 8, 0])
    assert lab[0, 0, 0] == 0 and lab[0, 8, 0] == 0
    assert dist[2, 3, 0] == pytest.approx(3.0)


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(["paint", "erase", "restore", "forget"]), st.integers(0, 3),
                          st.integers(0, 2 ** 16)), min_size=1, max_size=12))
def test_seeded_classes_are_kept_equal_to_the_classes_present_in_the_seed_volume(ops):
    """The session counts seed voxels per class as seeds are edited (no scan of the lattice per result): after any
    sequence of paints (also over other classes' seeds), erasures, restored boxes and forgotten segments, the
    classes it reports are exactly those np.unique finds in the seed volume."""
    shape = (9, 8, 7)
    s = GrowSession(np.zeros(shape), (1.0, 1.0, 1.0))
    names = ["a", "b", BACKGROUND, "c"]
    for op, k, seed in ops:
        rng = np.random.default_rng(seed)
        lo = [int(rng.integers(0, n - 1)) for n in shape]
        box = tuple(slice(a, int(rng.integers(a + 1, n + 1))) for a, n in zip(lo, shape))
        mask = rng.random([b.stop - b.start for b in box]) < 0.5
        if op == "paint":
            s.paint(names[k], mask, box)
        elif op == "erase":
            s.erase(mask, box)
        elif op == "restore":
            s.restore(box, rng.integers(0, 4, mask.shape).astype(np.uint16) * mask)
        else:
            s.forget(names[k])
        assert s.seed_classes() == [v for v in np.unique(s.seeds).tolist() if v]
