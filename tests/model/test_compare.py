"""Comparison of two segmentations against brute force: overlaps by masks, distances by all-pairs cdist."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy.spatial.distance import cdist

from app.model.compare import (CompareError, as_row, compare, loose_name, match_segments, parse_mapping,
                               worst_first)
from app.model.geometry import Geometry
from app.model.segment import Segment
from app.model.segmentation import Segmentation


def make_seg(labels, geometry, names=None):
    values = [int(v) for v in np.unique(labels) if v != 0]
    names = names or {}
    segs = [Segment(f"s{v}", names.get(v, f"structure {v}"), (0.5, 0.5, 0.5), 0, v) for v in values]
    return Segmentation.from_layers(geometry, [labels], segs)


def brute_surface_points(mask, spacing):
    """Voxels with a face neighbour outside (padding with False), in mm, by explicit neighbour checks."""
    p = np.pad(mask, 1)
    inner = p[1:-1, 1:-1, 1:-1]
    allin = np.ones_like(inner)
    for ax in range(3):
        for d in (-1, 1):
            allin &= np.roll(p, d, axis=ax)[1:-1, 1:-1, 1:-1]
    return np.argwhere(inner & ~allin) * np.asarray(spacing)


def brute_distances(ma, mb, spacing):
    pa, pb = brute_surface_points(ma, spacing), brute_surface_points(mb, spacing)
    d = cdist(pa, pb)
    dab, dba = d.min(axis=1), d.min(axis=0)
    both = np.concatenate([dab, dba])
    return both.mean(), both.max(), max(np.percentile(dab, 95), np.percentile(dba, 95))


def test_shifted_cube_known_dice_and_hausdorff():
    g = Geometry((20, 16, 16), (2.0, 1.0, 0.5))
    a = np.zeros(g.shape, np.uint8)
    b = np.zeros(g.shape, np.uint8)
    a[2:12, 3:13, 3:13] = 1
    b[5:15, 3:13, 3:13] = 1
    (r,) = compare(make_seg(a, g), make_seg(b, g))
    assert r.dice == pytest.approx(0.7)
    assert r.jaccard == pytest.approx(700 / 1300)
    assert (r.only_a, r.only_b, r.both) == (300, 300, 700)
    assert r.hausdorff_mm == pytest.approx(6.0)            # 3 voxels along the 2 mm axis
    ref = brute_distances(a == 1, b == 1, g.spacing)
    assert (r.mean_surface_mm, r.hausdorff_mm, r.hd95_mm) == pytest.approx(ref)


def test_concentric_balls():
    g = Geometry((41, 41, 41), (1.0, 1.0, 1.0))
    d = np.linalg.norm(np.indices(g.shape) - 20.0, axis=0)
    a = (d <= 12).astype(np.uint8) * 4
    b = (d <= 8).astype(np.uint8) * 4
    (r,) = compare(make_seg(a, g), make_seg(b, g))
    assert r.dice == pytest.approx(2 * (d <= 8).sum() / ((d <= 12).sum() + (d <= 8).sum()))
    assert r.volume_a_mm3 - r.volume_b_mm3 == (d <= 12).sum() - (d <= 8).sum()
    # the digitised spheres are 4 mm apart, within a voxel
    assert 3.0 <= r.hausdorff_mm <= 5.0 and 3.0 <= r.mean_surface_mm <= 5.0
    ref = brute_distances(a > 0, b > 0, g.spacing)
    assert (r.mean_surface_mm, r.hausdorff_mm, r.hd95_mm) == pytest.approx(ref)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_random_shapes_match_brute_force(seed):
    rng = np.random.default_rng(seed)
    shape = tuple(int(x) for x in rng.integers(3, 12, 3))
    g = Geometry(shape, tuple(rng.uniform(0.4, 2.5, 3)))
    a = rng.choice([0, 0, 1, 2, 3], shape).astype(np.uint8)
    b = np.where(rng.random(shape) < 0.3, rng.choice([0, 1, 2, 3, 9], shape), a).astype(np.uint8)
    sa, sb = make_seg(a, g), make_seg(b, g)
    results = {(r.label_a, r.label_b): r for r in compare(sa, sb)}
    for v in set(np.unique(a)) | set(np.unique(b)):
        if v == 0:
            continue
        key = (int(v) if (a == v).any() else None, int(v) if (b == v).any() else None)
        r = results[key]
        ma, mb = a == v, b == v
        assert (r.voxels_a, r.voxels_b, r.both) == (ma.sum(), mb.sum(), (ma & mb).sum())
        if ma.any() and mb.any():
            assert r.dice == pytest.approx(2 * (ma & mb).sum() / (ma.sum() + mb.sum()))
            ref = brute_distances(ma, mb, g.spacing)
            assert (r.mean_surface_mm, r.hausdorff_mm, r.hd95_mm) == pytest.approx(ref, rel=1e-6, abs=1e-9)
        else:
            assert r.dice == 0.0 and r.hausdorff_mm is None


def test_b_on_another_lattice_is_resampled_by_nearest_neighbour():
    # A: 1 mm identity lattice; B: the same physical cube on a 0.5 mm lattice with permuted, flipped axes
    ga = Geometry((20, 20, 20), (1.0, 1.0, 1.0), (0.0, 0.0, 0.0))
    a = np.zeros(ga.shape, np.uint16)
    a[4:14, 5:15, 6:16] = 300
    gb = Geometry((40, 40, 40), (0.5, 0.5, 0.5), (19.25, 0.25, 19.25),
                  ((0.0, 0.0, -1.0), (1.0, 0.0, 0.0), (0.0, -1.0, 0.0)))   # i -> -P, j -> L, k -> -S (columns)
    idx = np.indices(gb.shape).reshape(3, -1).T
    p = gb.index_to_physical(idx).reshape(*gb.shape, 3)
    b = (((p[..., 0] >= 3.5) & (p[..., 0] < 13.5) & (p[..., 1] >= 4.5) & (p[..., 1] < 14.5)
          & (p[..., 2] >= 5.5) & (p[..., 2] < 15.5)) * 300).astype(np.uint16)
    (r,) = compare(make_seg(a, ga), make_seg(b, gb))
    assert r.voxels_b == 1000 and r.dice == 1.0 and r.hausdorff_mm == 0.0


def test_matching_by_name_and_by_mapping():
    g = Geometry((6, 6, 6))
    a = np.zeros(g.shape, np.uint8)
    b = np.zeros(g.shape, np.uint8)
    a[0:2] = 1
    a[3:5] = 2
    b[0:2] = 5
    b[3:6] = 6
    sa = make_seg(a, g, {1: "liver", 2: "spleen"})
    sb = make_seg(b, g, {5: "liver", 6: "kidney"})
    assert match_segments(sa, sb, "name") == [("s1", "s5"), ("s2", None), (None, "s6")]
    assert match_segments(sa, sb, "label") == [("s1", None), ("s2", None), (None, "s5"), (None, "s6")]
    mapping = parse_mapping("A,B\nliver,5\n# comment\n2,kidney\n")
    res = compare(sa, sb, mapping=mapping)
    assert [(r.name_a, r.name_b) for r in res] == [("liver", "liver"), ("spleen", "kidney")]
    assert res[1].dice == pytest.approx(2 * 72 / (72 + 108))
    assert worst_first(res)[0].name_a == "spleen"
    assert list(as_row(res[0]))[:4] == ["name_a", "name_b", "label_a", "label_b"]
    with pytest.raises(CompareError, match="pancreas"):
        compare(sa, sb, mapping=[("pancreas", "5")])
    with pytest.raises(CompareError, match="line 2"):
        parse_mapping("liver,5\nspleen\n")


def test_far_apart_shapes_need_the_whole_box():
    # the disagreeing voxels' own box (+ margin) holds no voxel of the other surface: the whole box is used
    g = Geometry((60, 8, 8), (1.0, 1.0, 1.0))
    a = np.zeros(g.shape, np.uint8)
    b = np.zeros(g.shape, np.uint8)
    a[2:5, 2:5, 2:5] = 1
    b[50:53, 2:5, 2:5] = 1
    (r,) = compare(make_seg(a, g), make_seg(b, g))
    assert (r.mean_surface_mm, r.hausdorff_mm, r.hd95_mm) == pytest.approx(brute_distances(a > 0, b > 0, g.spacing))
    assert r.hausdorff_mm == 48.0 and r.mean_surface_mm == 47.0  # A slices i=2,3,4 (9, 8, 9 surface voxels) lie 48, 47, 46 from B


def test_one_voxel_changed_in_a_big_segment_uses_a_sub_box_and_stays_exact():
    g = Geometry((48, 40, 36), (0.9, 1.1, 1.7))
    d = np.linalg.norm((np.indices(g.shape).T - np.array([24, 20, 18])).T * np.array(g.spacing)[:, None, None, None],
                       axis=0)
    a = (d <= 16).astype(np.uint8)
    b = a.copy()
    b[24, 20, 18 + int(16 / 1.7) + 1] = 1          # grown by one voxel on top
    b[24, 5, 18] = 0                               # shrunk by one voxel somewhere else
    (r,) = compare(make_seg(a, g), make_seg(b, g))
    assert (r.mean_surface_mm, r.hausdorff_mm, r.hd95_mm) == pytest.approx(brute_distances(a > 0, b > 0, g.spacing))


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_surface_equals_erosion_and_local_update_equals_full(seed):
    from scipy import ndimage

    from app.model.compare import _surface_near, surface
    from app.model.label_values import tight_box

    rng = np.random.default_rng(seed)
    shape = tuple(int(x) for x in rng.integers(2, 14, 3))
    a = rng.random(shape) < rng.uniform(0.3, 0.9)
    ref = a & ~ndimage.binary_erosion(a, ndimage.generate_binary_structure(3, 1), border_value=0)
    assert np.array_equal(surface(a), ref)
    b = a.copy()
    lo = [int(rng.integers(0, n)) for n in shape]
    hi = [int(rng.integers(x, n)) + 1 for x, n in zip(lo, shape)]
    b[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]] = rng.random([h - l for l, h in zip(lo, hi)]) < 0.5
    box = tight_box(a ^ b)
    if box is not None:
        assert np.array_equal(_surface_near(surface(a), b, box), surface(b))


def test_a_value_in_two_layers_of_one_side_pairs_by_layer_on_both():
    """Label values pair across layers only when each names one segment on both sides; value 1 in two layers of
    B (an overlapping segment) pairs A's value-1 segment with B's in the same layer, the other value 1 of B alone.
    A value unique on both sides still pairs across layers (value 2: layer 0 in A, layer 1 in B)."""
    g = Geometry((6, 6, 6))
    a = np.zeros(g.shape, np.uint8)
    a[0:2] = 1
    a[3:5] = 2
    sa = make_seg(a, g)
    b0, b1 = np.zeros(g.shape, np.uint8), np.zeros(g.shape, np.uint8)
    b0[0:2] = 1
    b1[1:4] = 1
    b1[4:6] = 2
    sb = Segmentation.from_layers(g, [b0, b1], [Segment("t1", "one", (0.5,) * 3, 0, 1),
                                                 Segment("t1b", "one over", (0.5,) * 3, 1, 1),
                                                 Segment("t2", "two", (0.5,) * 3, 1, 2)])
    assert match_segments(sa, sb, "label") == [("s1", "t1"), ("s2", "t2"), (None, "t1b")]
    res = compare(sa, sb, distances=False)
    assert res[0].dice == pytest.approx(1.0)
    assert res[1].dice == pytest.approx(2 * 36 / (72 + 72))         # a[3:5] vs b1[4:6]: one slab of 36 shared
    with pytest.raises(CompareError, match="'one', 'one over'"):      # a mapping by an ambiguous value
        match_segments(sa, sb, mapping=[("1", "1")])
    assert match_segments(sa, sb, mapping=[("1", "one over")]) == [("s1", "t1b")]


def test_names_match_exactly_first_then_loosely_where_unambiguous():
    """TotalSegmentator's files are named left_lung, Slicer's segments "left lung": after exact names, the rest
    pair by case-folded names with spaces, underscores and hyphens alike, unless two of one side read the same."""
    g = Geometry((8, 4, 4))
    a = np.zeros(g.shape, np.uint8)
    b = np.zeros(g.shape, np.uint8)
    for v in range(1, 8):
        a[v - 1] = v
        b[v - 1] = v
    sa = make_seg(a, g, {1: "left lung", 2: "Right_Lung", 3: "liver", 4: "spleen-a", 5: "Spleen_A", 6: "aorta",
                         7: "heart"})
    sb = make_seg(b, g, {1: "left_lung", 2: "right lung", 3: "Liver", 4: "spleen a", 5: "aorta", 6: "AORTA",
                         7: "heart"})
    pairs = dict(p for p in match_segments(sa, sb, "name") if p[0] and p[1])
    assert pairs == {"s1": "s1", "s2": "s2", "s3": "s3",      # loosely
                     "s6": "s5",                               # exactly "aorta" (B's "AORTA" is then left alone)
                     "s7": "s7"}                               # exactly; spleen-a / Spleen_A both read "spleen a": none
    assert loose_name("  Left__Lung-upper lobe ") == "left lung upper lobe"


def test_an_unmatched_segment_has_dice_0_even_when_empty():
    """An empty mask matched with nothing was listed with Dice 1 (0/0 read as agreement), sorted last as if
    perfect; unmatched rows are 0, a matched pair both empty still 1."""
    g = Geometry((4, 4, 4))
    a = np.zeros(g.shape, np.uint8)
    a[0] = 1
    sa = make_seg(a, g, {1: "liver"})
    sa.add_segment("empty in A")
    sb = make_seg(a.copy(), g, {1: "liver"})
    sb.add_segment("empty in A")
    sb.add_segment("empty in B only")
    res = {r.name: r for r in compare(sa, sb, by="name", distances=False)}
    assert res["empty in A"].dice == res["empty in A"].jaccard == 1.0 and res["empty in A"].matched
    assert res["empty in B only"].dice == res["empty in B only"].jaccard == 0.0
    assert worst_first(list(res.values()))[0].name == "empty in B only"
