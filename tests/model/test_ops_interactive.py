"""Draw, Scissors, Level tracing and Flood fill (app.model.ops.contour / region) against independent references:
a hand-written point-in-polygon test, brute-force loops, scipy.ndimage on the whole volume; on files of every axis
order (permuted direction matrices, as the SPL atlas), with hypothesis property tests: locked segments never
change, nothing outside the tool's box changes, undo is bit-exact."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from scipy import ndimage

from app.model import ops
from app.model.edits import EditPolicy, Editable, Overwrite
from app.model.geometry import Geometry
from app.model.ops.contour import ScissorsOperation as Op, ScissorsShape as Shape, SliceCut, cut_range
from app.model.ops.region import FloodRange, trace_level
from app.model.segmentation import Segmentation

from .ops_cases import make_seg, same_snapshot, snapshot

SHAPE = (14, 12, 10)
PERMS = list(itertools.permutations(range(3)))


def permuted_seg(masks, perm, spacing=(0.8, 1.0, 1.7), flip=False):
    """make_seg on a lattice whose i, j, k axes point along LPS axes `perm` (negated when `flip`)."""
    seg, ids = make_seg(masks, spacing)
    d = np.zeros((3, 3))
    for col, lps in enumerate(perm):
        d[lps, col] = -1.0 if (flip and col == 0) else 1.0
    g = seg.geometry
    seg2 = Segmentation.from_layers(Geometry(g.shape, g.spacing, g.origin, tuple(map(tuple, d))),
                                    [a.copy() for a in seg.layers], [s.copy() for s in seg.segments])
    return seg2, ids


# ------------------------------------------------------------------------------------------------ references
def point_in_polygon(x, y, poly) -> bool:
    """Even-odd ray casting, strict interior (hand-written)."""
    inside = False
    n = len(poly)
    for e in range(n):
        (x0, y0), (x1, y1) = poly[e], poly[(e + 1) % n]
        if (y0 > y) != (y1 > y):
            xc = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
            if x < xc:
                inside = not inside
    return inside


def on_polygon(x, y, poly) -> bool:
    n = len(poly)
    for e in range(n):
        (x0, y0), (x1, y1) = poly[e], poly[(e + 1) % n]
        cross = (x1 - x0) * (y - y0) - (y1 - y0) * (x - x0)
        if abs(cross) < 1e-9 and min(x0, x1) - 1e-9 <= x <= max(x0, x1) + 1e-9 and \
                min(y0, y1) - 1e-9 <= y <= max(y0, y1) + 1e-9:
            return True
    return False


def polygon_reference(poly, shape2d) -> np.ndarray:
    out = np.zeros(shape2d, bool)
    for r in range(shape2d[0]):
        for c in range(shape2d[1]):
            out[r, c] = point_in_polygon(r, c, poly) or on_polygon(r, c, poly)
    return out


def lift(poly2d, plane_axis, index):
    a, b = (x for x in range(3) if x != plane_axis)
    out = []
    for r, c in poly2d:
        p = [0.0, 0.0, 0.0]
        p[a], p[b], p[plane_axis] = r, c, index
        out.append(tuple(p))
    return out


def on_plane(m2, plane_axis, index, shape):
    out = np.zeros(shape, bool)
    sl = [slice(None)] * 3
    sl[plane_axis] = index
    out[tuple(sl)] = m2
    return out


# polygons with integer vertices and edges of slope 0, inf or +-1 (where the voxel line is exactly the edge)
POLYGONS = [[(1, 1), (1, 8), (6, 8), (6, 1)],                              # rectangle
            [(2, 2), (2, 9), (9, 2)],                                      # right triangle, diagonal edge
            [(1, 4), (4, 1), (7, 4), (4, 7)],                              # diamond
            [(1, 1), (1, 9), (8, 9), (8, 6), (4, 6), (4, 3), (8, 3), (8, 1)]]   # concave "C"


@pytest.mark.parametrize("perm", PERMS)
@pytest.mark.parametrize("plane_axis", [0, 1, 2])
def test_draw_fills_the_polygon_exactly_in_every_axis_order(perm, plane_axis):
    base = np.zeros(SHAPE, bool)
    base[0:3, 0:3, :] = True
    for poly in POLYGONS:
        seg, ids = permuted_seg({"a": base, "b": np.zeros(SHAPE, bool)}, perm)
        index = SHAPE[plane_axis] // 2
        shape2d = tuple(n for x, n in enumerate(SHAPE) if x != plane_axis)
        ref2 = polygon_reference(poly, shape2d)
        ref = on_plane(ref2, plane_axis, index, SHAPE)
        ops.draw(seg, ids[1], lift(poly, plane_axis, index), plane_axis, index)
        assert np.array_equal(seg.mask(ids[1]), ref), (poly, plane_axis)
        assert np.array_equal(seg.mask(ids[0]), base & ~ref)          # overwrite all: a loses the drawn voxels
        assert len(seg.history.undo_stack) == 1


def test_draw_freehand_matches_brute_force_and_a_line_paints_its_voxels():
    seg, ids = make_seg({"a": np.zeros(SHAPE, bool)})
    t = np.linspace(0, 2 * math.pi, 40, endpoint=False)
    pts = [(6.3 + 4.6 * math.cos(x), 5.2 + 4.1 * math.sin(x), 4) for x in t]
    ops.draw(seg, ids[0], pts, 2, 4)
    poly = [(p[0], p[1]) for p in pts]
    got = seg.mask(ids[0])[:, :, 4]
    strict = np.array([[point_in_polygon(r, c, poly) for c in range(SHAPE[1])] for r in range(SHAPE[0])])
    assert (got | ~strict).all(), "every voxel whose centre is inside is filled"
    # outline voxels: nearest voxels of the points are all filled, and nothing further than 1 voxel outside
    for r, c in poly:
        assert got[math.floor(r + 0.5), math.floor(c + 0.5)]
    dist_out = ndimage.distance_transform_edt(~strict)
    assert (dist_out[got] <= 1.5).all()
    assert seg.voxel_count(ids[0]) == got.sum()
    seg2, ids2 = make_seg({"a": np.zeros(SHAPE, bool)})
    ops.draw(seg2, ids2[0], [(2, 2, 0), (2, 8, 0)], 2, 0)              # two points: the line between them
    m = seg2.mask(ids2[0])
    assert m.sum() == 7 and m[2, 2:9, 0].all()


@pytest.mark.parametrize("perm", [(0, 1, 2), (2, 0, 1), (1, 2, 0)])
@pytest.mark.parametrize("shape_kind", list(Shape))
@pytest.mark.parametrize("op", list(Op))
def test_scissors_shapes_and_operations_against_brute_force(perm, shape_kind, op):
    rng = np.random.default_rng(3)
    lab = rng.integers(0, 4, SHAPE)
    masks = {f"s{v}": lab == v for v in range(1, 4)}
    seg, ids = permuted_seg(masks, perm)
    sp = seg.geometry.spacing
    plane_axis, index = 1, 5
    a, b = 0, 2
    pts = lift([(2, 1), (2, 7), (9, 7), (9, 1)] if shape_kind is Shape.FREEHAND else [(6, 4), (9.2, 7.4)],
               plane_axis, index)
    # brute-force shape on the plane
    s2 = np.zeros((SHAPE[a], SHAPE[b]), bool)
    for r in range(SHAPE[a]):
        for c in range(SHAPE[b]):
            if shape_kind is Shape.FREEHAND:
                s2[r, c] = 2 <= r <= 9 and 1 <= c <= 7
            elif shape_kind is Shape.RECTANGLE:
                s2[r, c] = 6 <= r <= 9 and 4 <= c <= 7
            else:
                rad = math.hypot(3.2 * sp[a], 3.4 * sp[b])
                s2[r, c] = math.hypot((r - 6) * sp[a], (c - 4) * sp[b]) <= rad + 1e-9
    prism = np.repeat(np.expand_dims(s2, plane_axis), SHAPE[plane_axis], axis=plane_axis)
    region = ~prism if op in (Op.ERASE_OUTSIDE, Op.FILL_OUTSIDE) else prism
    target = [ids[0]] if op in (Op.FILL_INSIDE, Op.FILL_OUTSIDE) else ids
    seg.update_segment(ids[2], locked=True)
    ops.scissors(seg, target, shape_kind, pts, plane_axis, index, op)
    got = {sid: seg.mask(sid) for sid in ids}
    if op in (Op.FILL_INSIDE, Op.FILL_OUTSIDE):
        exp0 = masks["s1"] | (region & ~masks["s3"])                 # the locked s3 keeps its voxels
        assert np.array_equal(got[ids[0]], exp0)
        assert np.array_equal(got[ids[1]], masks["s2"] & ~exp0)
    else:
        assert np.array_equal(got[ids[0]], masks["s1"] & ~region)
        assert np.array_equal(got[ids[1]], masks["s2"] & ~region)
    assert np.array_equal(got[ids[2]], masks["s3"]), "a locked segment never changes"
    assert len(seg.history.undo_stack) == 1


def test_scissors_slabs_follow_the_view_normal_in_mm():
    assert cut_range(5, 20, SliceCut.SYMMETRIC, 4.0, 1.0) == slice(3, 8)
    assert cut_range(5, 20, SliceCut.SYMMETRIC, 0.0, 1.0) == slice(5, 6)
    assert cut_range(5, 20, SliceCut.POSITIVE, 3.0, 1.5) == slice(5, 8)
    assert cut_range(5, 20, SliceCut.POSITIVE, 3.0, 1.5, sign=-1) == slice(3, 6)
    assert cut_range(5, 20, SliceCut.NEGATIVE, 0.0, 1.0) == slice(0, 6)
    assert cut_range(5, 20, SliceCut.UNLIMITED, 1.0, 1.0) == slice(0, 20)
    m = np.ones(SHAPE, bool)
    seg, ids = make_seg({"a": m}, spacing=(1.0, 1.0, 2.0))
    ops.scissors(seg, ids, Shape.RECTANGLE, [(1, 1, 4), (3, 2, 4)], 2, 4, Op.ERASE_INSIDE, SliceCut.SYMMETRIC, 4.0)
    gone = ~seg.mask(ids[0])
    ref = np.zeros(SHAPE, bool)
    ref[1:4, 1:3, 3:6] = True                                       # |k-4| * 2 mm <= 2 mm
    assert np.array_equal(gone, ref)


def test_scissors_erase_on_many_segments_is_one_pass_per_layer_and_honours_targets_and_policy():
    rng = np.random.default_rng(5)
    lab = rng.integers(0, 6, SHAPE)
    masks = {f"s{v}": lab == v for v in range(1, 6)}
    seg, ids = make_seg(masks, new_layer=("s4",))                    # two layers
    grey = rng.normal(0, 1, SHAPE).astype(np.float32)
    pol = EditPolicy(intensity=grey, intensity_range=(-0.5, 2.0))
    ops.scissors(seg, ids[1:4], Shape.RECTANGLE, [(2, 2, 0), (10, 9, 0)], 2, 0, Op.ERASE_INSIDE, policy=pol)
    prism = np.zeros(SHAPE, bool)
    prism[2:11, 2:10, :] = True
    prism &= (grey >= -0.5) & (grey <= 2.0)
    for n, sid in enumerate(ids):
        exp = masks[f"s{n + 1}"] & ~prism if sid in ids[1:4] else masks[f"s{n + 1}"]
        assert np.array_equal(seg.mask(sid), exp), sid
    assert len(seg.history.undo_stack) == 1


# ------------------------------------------------------------------------------------------------ level tracing
def bfs(inside: np.ndarray, seed, neighbours) -> np.ndarray:
    """Hand-written breadth-first flood (the independent reference for connected regions)."""
    out = np.zeros(inside.shape, bool)
    if not inside[seed]:
        return out
    stack = [tuple(seed)]
    out[seed] = True
    while stack:
        p = stack.pop()
        for d in neighbours:
            q = tuple(a + b for a, b in zip(p, d))
            if all(0 <= x < n for x, n in zip(q, inside.shape)) and inside[q] and not out[q]:
                out[q] = True
                stack.append(q)
    return out


N8 = [(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if (dr, dc) != (0, 0)]
N4 = [(-1, 0), (1, 0), (0, -1), (0, 1)]


def level_reference(g, seed):
    level = g[seed]
    r, c = seed
    nb = g[max(0, r - 1):r + 2, max(0, c - 1):c + 2]
    if not (nb < level).any():
        return np.zeros(g.shape, bool)
    comp = bfs(g >= level, seed, N8)
    # holes: background not reachable (4-connected) from the image border
    pad = np.pad(~comp, 1, constant_values=True)
    outside = bfs(pad, (0, 0), N4)[1:-1, 1:-1]
    return comp | ~outside


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(0, 15), st.integers(0, 13))
def test_level_tracing_matches_a_brute_force_trace(seed, r, c):
    rng = np.random.default_rng(seed)
    g = ndimage.gaussian_filter(rng.normal(0, 1, (16, 14)), 1.5)
    g = np.round(g * 4) / 4                                      # plateaus and ties
    assert np.array_equal(trace_level(g, (r, c)), level_reference(g, (r, c)))


@pytest.mark.parametrize("perm", [(0, 1, 2), (2, 0, 1), (1, 0, 2)])
@pytest.mark.parametrize("plane_axis", [0, 1, 2])
def test_level_trace_adds_the_region_on_its_slice(perm, plane_axis):
    seg, ids = permuted_seg({"a": np.zeros(SHAPE, bool)}, perm)
    grey = np.zeros(SHAPE, np.float32)
    grey[3:9, 2:8, 2:7] = 50
    grey[5, 4, 4] = 0                                            # a hole: filled
    seed = [[5, 2, 4], [3, 4, 4], [3, 4, 4]][plane_axis]         # on the region's edge, in the hole's plane
    index = seed[plane_axis]
    ops.level_trace(seg, ids[0], grey, plane_axis, index, seed)
    sl = [slice(None)] * 3
    sl[plane_axis] = index
    exp2 = level_reference(grey[tuple(sl)], tuple(s for x, s in enumerate(seed) if x != plane_axis))
    assert np.array_equal(seg.mask(ids[0]), on_plane(exp2, plane_axis, index, SHAPE))
    assert seg.voxel_count(ids[0]) > 10
    hole = [5, 4, 4]
    assert seg.mask(ids[0])[tuple(hole)], "the hole is filled"


# ------------------------------------------------------------------------------------------------ flood fill
N6 = [d for d in itertools.product((-1, 0, 1), repeat=3) if sum(map(abs, d)) == 1]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**31 - 1), st.tuples(st.integers(0, 13), st.integers(0, 11), st.integers(0, 9)),
       st.floats(0.0, 1.5), st.booleans(), st.sampled_from([0.0, 2.5, 6.0]), st.integers(0, 2))
def test_flood_fill_matches_scipy_label_on_the_whole_volume(seed, click, tol, three_d, radius, plane_axis):
    rng = np.random.default_rng(seed)
    grey = ndimage.gaussian_filter(rng.normal(0, 1, SHAPE), 1.0).astype(np.float32) * 3
    seg, ids = make_seg({"a": np.zeros(SHAPE, bool)}, spacing=(0.9, 1.0, 1.6))
    ops.flood_fill(seg, ids[0], grey, click, mode=FloodRange.TOLERANCE, tolerance=tol, three_d=three_d,
                   plane_axis=plane_axis, radius_mm=radius or None)
    v = grey[click]
    inside = (grey >= v - tol) & (grey <= v + tol)
    if radius:
        g = np.indices(SHAPE).astype(float)
        d2 = sum(((g[x] - click[x]) * sp) ** 2 for x, sp in enumerate((0.9, 1.0, 1.6)))
        inside &= d2 <= radius ** 2 + 1e-9
    if not three_d:
        keep = np.zeros(SHAPE, bool)
        sl = [slice(None)] * 3
        sl[plane_axis] = click[plane_axis]
        keep[tuple(sl)] = True
        inside &= keep
    lab, _ = ndimage.label(inside)                               # face connectivity (scipy's default)
    assert np.array_equal(seg.mask(ids[0]), lab == lab[click])


def test_fill_label_region_fills_a_hole_and_only_it():
    a = np.zeros(SHAPE, bool)
    a[2:10, 2:10, 2:8] = True
    a[4:6, 4:6, 4:6] = False                                      # a closed hole of 8 voxels
    seg, ids = make_seg({"a": a, "b": np.zeros(SHAPE, bool)})
    ops.flood_fill(seg, ids[0], None, (4, 5, 4), mode=FloodRange.LABEL)
    assert seg.voxel_count(ids[0]) == a.sum() + 8
    assert np.array_equal(seg.mask(ids[0]), ndimage.binary_fill_holes(a))
    ops.flood_fill(seg, ids[1], None, (0, 0, 0), mode=FloodRange.LABEL, three_d=False, plane_axis=2)
    exp = np.zeros(SHAPE, bool)
    exp[:, :, 0] = True                                            # slice 0 is all background
    assert np.array_equal(seg.mask(ids[1]), exp)


def test_flood_fill_by_intensity_box_and_a_region_larger_than_the_first_box():
    shape = (120, 40, 30)
    grey = np.zeros(shape, np.float32)
    grey[5:115, 3:37, 2:28] = 100                                  # wider than the first 49-voxel box
    grey[60, 10:30, 5:25] = 0                                      # a wall with a gap in it stays connected
    seg, ids = make_seg({"a": np.zeros(shape, bool)})
    ops.flood_fill(seg, ids[0], grey, (10, 10, 10), mode=FloodRange.INTENSITY_BOX, value_range=(90, 110),
                   three_d=True)
    lab, _ = ndimage.label((grey >= 90) & (grey <= 110))
    assert np.array_equal(seg.mask(ids[0]), lab == lab[10, 10, 10])


# ------------------------------------------------------------------------------------------------ properties
TOOLS = st.sampled_from(["draw", "scissors_in", "scissors_out", "scissors_fill", "level", "flood"])


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**31 - 1), TOOLS, st.integers(0, 2), st.sampled_from(PERMS[:3]),
       st.sampled_from(list(Overwrite)), st.booleans())
def test_properties_locks_box_and_undo(seed, tool, plane_axis, perm, overwrite, background_only):
    rng = np.random.default_rng(seed)
    lab = ndimage.median_filter(rng.integers(0, 5, SHAPE), 3)
    masks = {f"s{v}": lab == v for v in range(1, 5)}
    masks = {k: v for k, v in masks.items() if v.any()}
    seg, ids = permuted_seg(masks, perm)
    grey = ndimage.gaussian_filter(rng.normal(0, 1, SHAPE), 1.0).astype(np.float32)
    locked = ids[-1]
    seg.update_segment(locked, locked=True)
    before = snapshot(seg)
    layers0 = [a.copy() for a in seg.layers]
    index = int(rng.integers(0, SHAPE[plane_axis]))
    pts = [tuple(float(x) for x in rng.uniform(-1, n, 3)) for n in [max(SHAPE)] * 5]
    pts = [tuple(min(p[x], SHAPE[x] - 0.5) for x in range(3)) for p in pts]
    click = tuple(int(rng.integers(0, n)) for n in SHAPE)
    policy = EditPolicy(overwrite=overwrite, editable=Editable.BACKGROUND if background_only else Editable.EVERYWHERE)
    target = ids[0]
    if tool == "draw":
        plan = ops.plan_draw(seg, target, pts, plane_axis, index)
    elif tool.startswith("scissors"):
        op = {"scissors_in": Op.ERASE_INSIDE, "scissors_out": Op.ERASE_OUTSIDE, "scissors_fill": Op.FILL_INSIDE}[tool]
        plan = ops.plan_scissors(seg, [target] if op is Op.FILL_INSIDE else ids, Shape.FREEHAND, pts, plane_axis,
                                 index, op, SliceCut.SYMMETRIC, 3.0)
        if op is not Op.FILL_INSIDE:
            policy.editable = Editable.EVERYWHERE
    elif tool == "level":
        plan = ops.plan_level_trace(seg, target, grey, plane_axis, click[plane_axis], click)
    else:
        plan = ops.plan_flood_fill(seg, target, grey, click, tolerance=0.5, three_d=True)
    ops.apply_plan(seg, plan, policy)
    # locked: its voxels are exactly as before (its layer never moves)
    s = seg.segment(locked)
    assert np.array_equal(seg.layers[s.layer] == s.label, layers0[s.layer] == s.label)
    # nothing outside the plan's boxes changed (all layers; a separated segment moves its own voxels only)
    outside = np.ones(SHAPE, bool)
    for c in plan.changes:
        outside[c.box] = False
    for sid in ids:
        if sid != target or seg.n_layers == len(layers0):
            so = before[1][[t[0] for t in before[1]].index(sid)]
            old = layers0[so[3]] == so[4]
            assert np.array_equal(seg.mask(sid)[outside], old[outside]), (tool, sid)
    if seg.history.undo_stack:
        seg.undo()
    assert same_snapshot(snapshot(seg), before)


def test_flood_preview_with_a_voxel_budget_is_part_of_the_full_region():
    from app.model.ops.region import flood_region

    shape = (150, 120, 100)
    grey = np.zeros(shape, np.float32)
    grey[:, :, 50] = 7                                              # a wall: the region is everything below it
    seg, ids = make_seg({"a": np.zeros(shape, bool)})
    full = flood_region(seg, grey, (75, 60, 20), tolerance=1)
    part = flood_region(seg, grey, (75, 60, 20), tolerance=1, max_voxels=1 << 18)
    assert full[0].sum() == 150 * 120 * 50
    assert 0 < part[0].sum() < full[0].sum() and part[0].size <= 1 << 18
    inside_full = np.zeros(shape, bool)
    inside_full[full[1]] = full[0]
    assert inside_full[part[1]][part[0]].all(), "the preview shows only voxels a click fills"
    small = flood_region(seg, grey, (75, 60, 50), tolerance=1, max_voxels=1 << 18, three_d=False, plane_axis=2)
    assert small[0].sum() == 150 * 120                              # the wall's slice alone: within budget
