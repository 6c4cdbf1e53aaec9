"""Segment statistics against independent numpy computations (brute force per label, known closed forms)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from app.model.geometry import Geometry
from app.model.segment import Segment
from app.model.segmentation import Segmentation
from app.model.stats import as_row, columns, label_statistics, segmentation_statistics

PCTS = (5.0, 25.0, 75.0, 95.0)


def make_seg(labels: np.ndarray, geometry: Geometry, empty=()) -> Segmentation:
    """Segments for the values present, plus empty ones (`empty` label values without voxels)."""
    values = [int(v) for v in np.unique(labels) if v != 0] + [v for v in empty if not (labels == v).any()]
    segs = [Segment(f"s{v}", f"structure {v}", (0.5, 0.5, 0.5), 0, v) for v in values]
    return Segmentation.from_layers(geometry, [labels], segs)


def brute(labels, grey, value, geometry):
    """Everything about one label from np.argwhere / np.percentile, no shared code."""
    where = np.argwhere(labels == value)
    out = {"voxels": len(where)}
    if len(where):
        out["bbox"] = tuple((int(where[:, a].min()), int(where[:, a].max())) for a in range(3))
        ijk = where.mean(axis=0)
        out["lps"] = geometry.index_to_physical(ijk)
        if grey is not None:
            g = grey[labels == value].astype(np.float64)
            g = g[~np.isnan(g)]
            out["grey"] = (g.min(), g.max(), g.mean(), g.std(), np.median(g), [np.percentile(g, p) for p in PCTS])
    return out


def assert_rows_close(a: dict, b: dict) -> None:
    assert list(a) == list(b)
    for k in a:
        if isinstance(a[k], float):
            assert a[k] == pytest.approx(b[k], rel=1e-12), k
        else:
            assert a[k] == b[k], k


def check_against_brute(seg, grey, one_by_one=False):
    if one_by_one:        # each segment alone on its box (the path taken after an edit, when few changed)
        got = {sid: segmentation_statistics(seg, grey, PCTS, segment_ids={sid})[0] for sid in seg.segment_ids}
    else:
        got = {s.segment_id: s for s in segmentation_statistics(seg, grey, PCTS)}
    assert list(got) == seg.segment_ids
    for s in seg.segments:
        ref = brute(seg.layers[s.layer], grey, s.label, seg.geometry)
        st_ = got[s.id]
        assert st_.voxels == ref["voxels"]
        assert st_.volume_mm3 == pytest.approx(ref["voxels"] * np.prod(seg.geometry.spacing))
        if not ref["voxels"]:
            assert st_.bbox is None and st_.centroid_lps is None
            continue
        assert st_.bbox == ref["bbox"]
        np.testing.assert_allclose(st_.centroid_lps, ref["lps"], atol=1e-9)
        if grey is not None:
            mn, mx, mean, std, med, pct = ref["grey"]
            g = st_.grey
            assert (g.minimum, g.maximum) == (mn, mx)
            assert g.mean == pytest.approx(mean, rel=1e-12, abs=1e-9)
            assert g.std == pytest.approx(std, rel=1e-9, abs=1e-9)
            assert g.median == pytest.approx(med, rel=1e-12, abs=1e-9)
            np.testing.assert_allclose([g.percentiles[p] for p in PCTS], pct, rtol=1e-12, atol=1e-9)


def test_ball_of_known_volume_on_an_anisotropic_permuted_lattice():
    # radius 20 mm ball, spacing (0.8, 1.25, 2.0), axes permuted: the voxel count equals the number of voxel
    # centres within 20 mm (independent count) and the volume approaches 4/3 pi r^3.
    dirs = ((0.0, 1.0, 0.0), (0.0, 0.0, -1.0), (1.0, 0.0, 0.0))
    g = Geometry((60, 40, 26), (0.8, 1.25, 2.0), (-20.0, 10.0, 5.0), dirs)
    centre_ijk = np.array([29.5, 19.3, 12.6])
    centre = g.index_to_physical(centre_ijk)
    idx = np.indices(g.shape).reshape(3, -1).T
    dist = np.linalg.norm(g.index_to_physical(idx) - centre, axis=1).reshape(g.shape)
    labels = (dist <= 20.0).astype(np.uint8) * 7
    seg = make_seg(labels, g)
    (s,) = segmentation_statistics(seg)
    assert s.voxels == int((dist <= 20.0).sum())
    assert s.volume_mm3 == pytest.approx(4 / 3 * np.pi * 20.0 ** 3, rel=0.02)
    assert s.volume_ml == pytest.approx(s.volume_mm3 / 1000)
    np.testing.assert_allclose(s.centroid_lps, centre, atol=0.2)     # a digitised ball: centre within 0.2 mm
    check_against_brute(seg, None)


def test_same_physical_ball_on_two_lattices_gives_the_same_physical_answers():
    # one ball of radius 15 mm around LPS (3, -4, 7); identity lattice vs anisotropic permuted lattice
    def ball_on(g):
        idx = np.indices(g.shape).reshape(3, -1).T
        d = np.linalg.norm(g.index_to_physical(idx) - np.array([3.0, -4.0, 7.0]), axis=1).reshape(g.shape)
        return make_seg((d <= 15.0).astype(np.uint8), g)

    a = ball_on(Geometry((50, 50, 50), (1.0, 1.0, 1.0), (-22.0, -29.0, -18.0)))
    b = ball_on(Geometry((40, 45, 70), (1.0, 0.75, 0.5), (20.0, 12.0, 27.0),
                         ((0.0, 0.0, -1.0), (0.0, -1.0, 0.0), (-1.0, 0.0, 0.0))))
    (sa,), (sb,) = segmentation_statistics(a), segmentation_statistics(b)
    assert sa.volume_mm3 == pytest.approx(4 / 3 * np.pi * 15 ** 3, rel=0.03)
    assert sb.volume_mm3 == pytest.approx(sa.volume_mm3, rel=0.02)
    np.testing.assert_allclose(sa.centroid_lps, (3, -4, 7), atol=0.1)
    np.testing.assert_allclose(sb.centroid_lps, (3, -4, 7), atol=0.1)


def test_grey_ramp_known_mean_and_percentiles():
    # grey = 10 * i on a slab covering i = 4..23: every value 40..230 appears equally often
    g = Geometry((30, 8, 5), (2.0, 1.0, 3.0))
    labels = np.zeros(g.shape, np.uint16)
    labels[4:24] = 300
    grey = np.broadcast_to((10 * np.arange(30, dtype=np.int16))[:, None, None], g.shape).copy()
    (s,) = segmentation_statistics(make_seg(labels, g), grey, PCTS)
    vals = 10 * np.arange(4, 24)
    assert s.grey.mean == pytest.approx(135.0)
    assert s.grey.median == pytest.approx(135.0)
    assert s.grey.std == pytest.approx(10 * np.sqrt((20 ** 2 - 1) / 12))
    assert (s.grey.minimum, s.grey.maximum) == (40.0, 230.0)
    # 'linear' percentile of 20 equally spaced values: v0 + (p/100 * 19) * 10
    for p in PCTS:
        assert s.grey.percentiles[p] == pytest.approx(40 + p / 100 * 19 * 10)
    assert s.bbox == ((4, 23), (0, 7), (0, 4))
    assert vals.size * 8 * 5 == s.voxels


def test_float_grey_and_nan_outside_the_reference():
    rng = np.random.default_rng(3)
    g = Geometry((16, 12, 10), (0.5, 0.7, 1.1))
    labels = rng.integers(0, 5, g.shape).astype(np.uint8)
    grey = rng.normal(0, 50, g.shape).astype(np.float32)
    grey[:3] = np.nan                          # outside the reference: not counted
    seg = make_seg(labels, g)
    check_against_brute(seg, grey)
    s = segmentation_statistics(seg, grey)[0]
    assert s.grey.voxels == int(((labels == 1) & ~np.isnan(grey)).sum())


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from(["uint8", "int16", "uint16", "int32"]),
       st.sampled_from(["int", "float", "wide"]), st.booleans())
def test_random_volumes_match_brute_force(seed, dtype, kind, fortran):
    rng = np.random.default_rng(seed)
    shape = tuple(int(x) for x in rng.integers(1, 9, 3))
    values = rng.choice([1, 2, 3, 50, 120] if dtype == "uint8" else [1, 2, 1000, 70000 if dtype == "int32" else 3,
                                                                   -5 if dtype in ("int16", "int32") else 4], 3)
    labels = np.where(rng.random(shape) < 0.6, rng.choice(values, shape), 0).astype(dtype)
    if fortran:
        labels = np.asfortranarray(labels)
    grey = {"int": rng.integers(-100, 100, shape).astype(np.int16),
            "float": rng.normal(0, 1, shape),
            "wide": rng.integers(-2**30, 2**30, shape).astype(np.int64)}[kind]
    g = Geometry(shape, tuple(rng.uniform(0.3, 2.0, 3)), tuple(rng.uniform(-50, 50, 3)))
    check_against_brute(make_seg(labels, g), grey)
    check_against_brute(make_seg(labels, g, empty=(11, 12, 13)), grey, one_by_one=True)


def test_changed_segments_only_equal_a_full_recompute(small_segmentation):
    from app.model.brush import ball, dab_region
    from app.model.edits import EditMode, EditPolicy, apply_mask

    seg, ids = small_segmentation
    grey = np.arange(np.prod(seg.geometry.shape), dtype=np.int32).reshape(seg.geometry.shape) % 97
    mask, box = dab_region((8, 6, 6), ball(3.0, seg.geometry.spacing), seg.geometry.shape)
    changed = []
    seg.events.voxels_changed.connect(lambda ch: changed.extend(i for c in ch for i in c.segment_ids))
    apply_mask(seg, ids[0], mask, box, EditMode.ADD, EditPolicy())
    assert set(changed) == {ids[0], ids[1]}
    part = {s.segment_id: s for s in segmentation_statistics(seg, grey, segment_ids=set(changed))}
    full = {s.segment_id: s for s in segmentation_statistics(seg, grey)}
    assert set(part) == set(changed)
    for sid in changed:
        assert_rows_close(as_row(part[sid], grey=True), as_row(full[sid], grey=True))
    check_against_brute(seg, grey)


def test_box_of_a_layer_with_offset_matches_the_whole():
    rng = np.random.default_rng(5)
    g = Geometry((20, 18, 16), (1.0, 2.0, 0.5))
    labels = rng.integers(0, 3, g.shape).astype(np.uint8)
    labels[:4] = 0
    box = (slice(4, 20), slice(0, 18), slice(0, 16))
    whole = label_statistics(labels, {1: "a", 2: "b"}, g)
    part = label_statistics(labels[box], {1: "a", 2: "b"}, g, offset=(4, 0, 0))
    for k in ("a", "b"):
        assert_rows_close(as_row(whole[k]), as_row(part[k]))


def test_columns_and_rows_agree():
    g = Geometry((4, 4, 4))
    labels = np.zeros(g.shape, np.uint8)
    labels[1:3, 1:3, 1:3] = 1
    (s,) = segmentation_statistics(make_seg(labels, g), labels.astype(np.int16), (10, 90))
    row = as_row(s, (10, 90), grey=True)
    assert list(row) == columns((10, 90), grey=True)
    assert row["grey_p10"] == 1.0 and row["voxels"] == 8 and row["centroid_l_mm"] == 1.5
