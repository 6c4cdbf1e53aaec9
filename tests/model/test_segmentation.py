"""Unit tests of the layer model: allocation, promotion, overwrite modes, locks, collapse, and the edge cases
of Slicer's bug history (reference §5.2) that apply to a shared-labelmap model."""
from __future__ import annotations

import numpy as np
import pytest

from app.model.brush import ball, ball_voxels, dab_region, interpolate, stroke_region
from app.model.boxes import clip_to_lattice
from app.model.edits import EditMode, EditPolicy, Editable, Overwrite, apply_mask, merge_segments
from app.model.geometry import Geometry
from app.model.segmentation import Segmentation, SegmentationError

SHAPE = (20, 18, 16)


def cube(lo, hi, shape=SHAPE):
    box = tuple(slice(a, b) for a, b in zip(lo, hi))
    return np.ones([b - a for a, b in zip(lo, hi)], bool), box


def paint(seg, sid, lo, hi, mode=EditMode.ADD, **policy):
    m, box = cube(lo, hi)
    return apply_mask(seg, sid, m, box, mode, EditPolicy(**policy))


@pytest.fixture
def seg():
    return Segmentation(Geometry(SHAPE, (1.0, 1.0, 2.0)))


# ------------------------------------------------------------------ geometry
def test_geometry_round_trips_index_and_physical():
    d = np.array([[0, 1, 0], [0, 0, -1], [1, 0, 0]], float).T   # SPL atlas: i->P, j->I, k->L (columns)
    g = Geometry((256, 256, 256), (1, 1, 1), (-128, -128, 128), d)
    ijk = np.array([[0, 0, 0], [10, 20, 30], [255, 0, 7]])
    lps = g.index_to_physical(ijk)
    assert np.allclose(lps[1], [-128 + 30, -128 + 10, 128 - 20])
    assert np.allclose(g.physical_to_index(lps), ijk)
    g2 = Geometry.from_ijk_to_lps(g.shape, g.ijk_to_lps)
    assert g2.same_lattice(g)


def test_geometry_rejects_degenerate_axes():
    with pytest.raises(ValueError):
        Geometry((4, 4, 4), (1, 1, 1), (0, 0, 0), ((1, 0, 0), (1, 0, 0), (0, 0, 1)))
    with pytest.raises(ValueError):
        Geometry((4, 4, 4), (1, 0, 1))


# ------------------------------------------------------------------ allocation (Slicer §2.2, §2.7)
def test_new_segments_share_the_first_layer_with_the_smallest_free_label(seg):
    a, b, c = (seg.add_segment() for _ in range(3))
    assert (a.layer, a.label, b.layer, b.label, c.layer, c.label) == (0, 1, 0, 2, 0, 3)
    assert [s.name for s in seg.segments] == ["Segment_1", "Segment_2", "Segment_3"]
    seg.remove_segment(b.id)
    d = seg.add_segment()
    assert (d.layer, d.label) == (0, 2), "a removed segment's label value is reused"
    assert seg.segment(c.id).label == 3, "removing renumbers nobody"


def test_label_promotion_at_256_and_65536(seg):
    seg.add_segment()
    for _ in range(254):
        seg.add_segment()
    assert seg.layers[0].dtype == np.uint8 and len(seg) == 255
    s = seg.add_segment()
    assert s.label == 256 and seg.layers[0].dtype == np.uint16
    big = seg.add_segment(label=65536)
    assert seg.layers[0].dtype == np.uint32
    paint(seg, big.id, (0, 0, 0), (2, 2, 2))
    assert seg.voxel_count(big.id) == 8 and int(seg.layers[0][0, 0, 0]) == 65536
    seg.undo(), seg.undo()
    assert seg.layers[0].dtype == np.uint16, "undo of the add demotes exactly"


def test_signed_layers_promote_signed():
    g = Geometry((4, 4, 4))
    seg = Segmentation.from_layers(g, [np.zeros((4, 4, 4), np.int8)], [])
    from app.model.segment import Segment
    seg2 = Segmentation.from_layers(g, [np.full((4, 4, 4), -3, np.int8)], [Segment("a", "a", (1, 0, 0), 0, -3)])
    assert seg2.add_segment(label=200).label == 200
    assert seg2.layers[0].dtype == np.int16 and seg2.voxel_count("a") == 64
    assert len(seg) == 0


def test_adopting_a_bad_table_is_refused():
    from app.model.segment import Segment
    g = Geometry((4, 4, 4))
    arr = np.zeros((4, 4, 4), np.uint8)
    with pytest.raises(SegmentationError, match="duplicate"):
        Segmentation.from_layers(g, [arr], [Segment("x", "a", (1, 0, 0), 0, 1), Segment("x", "b", (1, 0, 0), 0, 2)])
    with pytest.raises(SegmentationError, match="layer 3"):
        Segmentation.from_layers(g, [arr], [Segment("x", "a", (1, 0, 0), 3, 1)])
    with pytest.raises(SegmentationError, match="share"):
        Segmentation.from_layers(g, [arr], [Segment("x", "a", (1, 0, 0), 0, 1), Segment("y", "b", (1, 0, 0), 0, 1)])


# ------------------------------------------------------------------ overwrite modes and separate (Slicer §3.4)
def test_overwrite_all_replaces_in_place_and_keeps_one_layer(seg):
    a, b = seg.add_segment(), seg.add_segment()
    paint(seg, a.id, (0, 0, 0), (10, 10, 10))
    paint(seg, b.id, (5, 5, 5), (15, 15, 15))
    assert seg.n_layers == 1
    assert seg.voxel_count(a.id) == 1000 - 125 and seg.voxel_count(b.id) == 1000


def test_allow_overlap_separates_only_when_it_must(seg):
    a, b = seg.add_segment(), seg.add_segment()
    paint(seg, a.id, (0, 0, 0), (10, 10, 10))
    paint(seg, b.id, (12, 12, 12), (15, 15, 15), overwrite=Overwrite.NONE)
    assert seg.n_layers == 1, "no overlap, no new layer"
    paint(seg, b.id, (5, 5, 5), (15, 15, 15), overwrite=Overwrite.NONE)
    assert seg.n_layers == 2 and seg.segment(b.id).layer == 1 and seg.segment(b.id).label == 1
    assert seg.voxel_count(a.id) == 1000 and seg.voxel_count(b.id) == 1000


def test_overwrite_visible_protects_hidden_segments(seg):
    a, b, c = seg.add_segment(), seg.add_segment(), seg.add_segment()
    paint(seg, a.id, (0, 0, 0), (4, 4, 4))
    paint(seg, b.id, (4, 0, 0), (8, 4, 4))
    seg.update_segment(b.id, visible=False)
    paint(seg, c.id, (2, 0, 0), (6, 4, 4), overwrite=Overwrite.VISIBLE)
    assert seg.voxel_count(a.id) == 32, "the visible one lost the painted voxels"
    assert seg.voxel_count(b.id) == 64, "the hidden one kept them"
    assert seg.n_layers == 2 and seg.voxel_count(c.id) == 64


def test_erase_with_allow_overlap_never_separates(seg):
    """Slicer tests the INVERTED brush for erase (QUIRK §3.4a); we separate only for adds."""
    a, b = seg.add_segment(), seg.add_segment()
    paint(seg, a.id, (0, 0, 0), (6, 6, 6))
    paint(seg, b.id, (6, 0, 0), (12, 6, 6))
    paint(seg, a.id, (0, 0, 0), (12, 6, 6), EditMode.REMOVE, overwrite=Overwrite.NONE)
    assert seg.n_layers == 1 and seg.voxel_count(a.id) == 0 and seg.voxel_count(b.id) == 216


def test_overwrite_all_erases_other_layers_under_the_brush(seg):
    a, b = seg.add_segment(), seg.add_segment()
    paint(seg, a.id, (0, 0, 0), (6, 6, 6))
    paint(seg, b.id, (3, 0, 0), (9, 6, 6), overwrite=Overwrite.NONE)     # b separated, overlapping a
    c = seg.add_segment()
    paint(seg, c.id, (0, 0, 0), (12, 2, 6))
    assert seg.n_layers == 2
    assert seg.voxel_count(a.id) == 216 - 72 and seg.voxel_count(b.id) == 216 - 72


# ------------------------------------------------------------------ locks and editable areas
def test_a_locked_segment_is_never_changed_nor_painted_over(seg):
    a, b = seg.add_segment(), seg.add_segment()
    paint(seg, a.id, (0, 0, 0), (6, 6, 6))
    seg.update_segment(a.id, locked=True)
    for mode in Overwrite:
        paint(seg, b.id, (3, 0, 0), (9, 6, 6), overwrite=mode)
        assert seg.voxel_count(a.id) == 216
        assert not (seg.mask(a.id) & seg.mask(b.id)).any(), "b was painted over the locked a"
    paint(seg, None, (0, 0, 0), (9, 6, 6), EditMode.REMOVE_ALL)
    assert seg.voxel_count(a.id) == 216 and seg.voxel_count(b.id) == 0
    with pytest.raises(SegmentationError, match="locked"):
        paint(seg, a.id, (10, 10, 10), (12, 12, 12))
    assert seg.n_layers == 1


def test_background_only_and_inside_segment(seg):
    a, b, c = seg.add_segment(), seg.add_segment(), seg.add_segment()
    paint(seg, a.id, (0, 0, 0), (6, 6, 6))
    paint(seg, c.id, (0, 0, 0), (12, 12, 12), editable=Editable.BACKGROUND)
    assert seg.voxel_count(a.id) == 216 and seg.voxel_count(c.id) == 1728 - 216
    paint(seg, b.id, (4, 4, 4), (8, 8, 8), editable=Editable.INSIDE_SEGMENT, mask_segment=a.id)
    assert seg.voxel_count(b.id) == 8 and seg.voxel_count(a.id) == 208 and seg.voxel_count(c.id) == 1512


def test_intensity_range_limits_the_edit(seg):
    a = seg.add_segment()
    grey = np.arange(np.prod(SHAPE), dtype=np.int16).reshape(SHAPE) % 100
    m, box = cube((0, 0, 0), SHAPE)
    apply_mask(seg, a.id, m, box, EditMode.ADD, EditPolicy(intensity=grey, intensity_range=(10, 19)))
    assert seg.voxel_count(a.id) == int(((grey >= 10) & (grey <= 19)).sum())


def test_set_replaces_the_segment_but_keeps_its_protected_part(seg):
    a, b = seg.add_segment(), seg.add_segment()
    paint(seg, a.id, (0, 0, 0), (10, 10, 10))
    paint(seg, b.id, (2, 2, 2), (4, 4, 4))
    paint(seg, a.id, (12, 12, 12), (14, 14, 14), EditMode.SET)
    assert seg.voxel_count(a.id) == 8 and seg.bounding_box(a.id) == (slice(12, 14),) * 3
    assert seg.voxel_count(b.id) == 8


# ------------------------------------------------------------------ collapse / force / separate (§2.3-2.5)
def test_slicer_collapse_scenario_with_empty_segments(seg):
    """vtkSegmentationTest2 TestSharedLabelmapCollapse: 6 segments each in its own layer, two of them empty."""
    cubes = [((0, 0, 0), (3, 3, 3)), ((0, 0, 0), (5, 5, 5)), None, ((0, 0, 0), (3, 3, 3)), ((6, 6, 6), (9, 9, 9)), None]
    ids = []
    for c in cubes:
        s = seg.add_segment(new_layer=True)
        ids.append(s.id)
        if c:
            paint(seg, s.id, *c, overwrite=Overwrite.NONE)
    assert seg.n_layers == 6
    counts = {i: seg.voxel_count(i) for i in ids}
    seg.collapse()
    assert seg.n_layers == 3
    assert {i: seg.voxel_count(i) for i in ids} == counts
    seg.force_single_layer()
    assert seg.n_layers == 1
    assert seg.voxel_count(ids[0]) == 0, "cube1 fully covered by the later cube3"
    assert seg.voxel_count(ids[1]) == 125 - 27 and seg.voxel_count(ids[3]) == 27 and seg.voxel_count(ids[4]) == 27
    seg.separate(ids[4])
    assert seg.n_layers == 2


def test_separate_of_a_segment_alone_does_nothing(seg):
    a = seg.add_segment()
    paint(seg, a.id, (0, 0, 0), (3, 3, 3))
    steps = len(seg.history.undo_stack)
    assert seg.separate(a.id) is False
    assert seg.n_layers == 1 and len(seg.history.undo_stack) == steps


def test_removing_the_last_segment_of_a_layer_drops_the_layer(seg):
    a, b = seg.add_segment(), seg.add_segment()
    paint(seg, a.id, (0, 0, 0), (6, 6, 6))
    paint(seg, b.id, (3, 0, 0), (9, 6, 6), overwrite=Overwrite.NONE)
    c = seg.add_segment(new_layer=True)
    assert seg.n_layers == 3
    seg.remove_segment(b.id)            # layer 1 disappears, c's layer renumbers 2 -> 1
    assert seg.n_layers == 2 and seg.segment(c.id).layer == 1
    seg.remove_segment(a.id)
    seg.remove_segment(c.id)
    assert seg.n_layers == 0 and len(seg) == 0
    d = seg.add_segment()
    assert (d.layer, d.label) == (0, 1)


def test_merge_segments(seg):
    a, b, c = seg.add_segment(), seg.add_segment(), seg.add_segment()
    paint(seg, a.id, (0, 0, 0), (3, 3, 3))
    paint(seg, b.id, (5, 5, 5), (7, 7, 7))
    paint(seg, c.id, (2, 2, 2), (6, 6, 6), overwrite=Overwrite.NONE)
    merge_segments(seg, a.id, [b.id, c.id])
    assert len(seg) == 1 and seg.voxel_count(a.id) == len(np.argwhere(
        (np.indices(SHAPE) < 3).all(0) | ((np.indices(SHAPE) >= 5) & (np.indices(SHAPE) < 7)).all(0)
        | ((np.indices(SHAPE) >= 2) & (np.indices(SHAPE) < 6)).all(0)))
    assert seg.n_layers == 1


def test_reorder_and_move(seg):
    a, b, c = seg.add_segment(), seg.add_segment(), seg.add_segment()
    seg.move_segment(c.id, 0)
    assert seg.segment_ids == [c.id, a.id, b.id]
    with pytest.raises(SegmentationError):
        seg.reorder([a.id, b.id])
    seg.undo()
    assert seg.segment_ids == [a.id, b.id, c.id]


# ------------------------------------------------------------------ events and statistics
def test_one_event_batch_per_operation(seg):
    got = []
    seg.events.voxels_changed.connect(lambda ch: got.append(("vox", len(ch))))
    seg.events.structure_changed.connect(lambda: got.append(("struct",)))
    a = seg.add_segment()
    got.clear()
    with seg.operation("Two dabs"):
        paint(seg, a.id, (0, 0, 0), (2, 2, 2))
        paint(seg, a.id, (4, 4, 4), (6, 6, 6))
        assert got == [], "no event before the operation is complete"
    assert got == [("vox", 2)]
    assert len(seg.history.undo_stack) == 2 and seg.history.undo_name == "Two dabs"


def test_change_events_carry_segments_and_boxes(seg):
    a, b = seg.add_segment(), seg.add_segment()
    paint(seg, a.id, (0, 0, 0), (4, 4, 4))
    got = []
    seg.events.voxels_changed.connect(got.extend)
    paint(seg, b.id, (2, 2, 2), (6, 6, 6))
    assert got and got[0].layer == 0 and got[0].box == (slice(2, 6),) * 3
    assert got[0].segment_ids == {a.id, b.id}


def test_failed_operation_rolls_back(seg):
    a = seg.add_segment()
    paint(seg, a.id, (0, 0, 0), (2, 2, 2))
    before = seg.layers[0].copy()
    with pytest.raises(RuntimeError):
        with seg.operation("boom"):
            paint(seg, a.id, (5, 5, 5), (8, 8, 8))
            seg.add_segment(new_layer=True)
            raise RuntimeError("x")
    assert np.array_equal(seg.layers[0], before) and seg.n_layers == 1 and len(seg) == 1


def test_boxes_stay_tight_after_erasing_the_edge(seg):
    a = seg.add_segment()
    paint(seg, a.id, (0, 0, 0), (10, 10, 10))
    paint(seg, a.id, (8, 0, 0), (10, 10, 10), EditMode.REMOVE)
    assert seg.bounding_box(a.id) == (slice(0, 8), slice(0, 10), slice(0, 10))
    paint(seg, a.id, (0, 0, 0), (10, 10, 10), EditMode.REMOVE)
    assert seg.bounding_box(a.id) is None and seg.is_empty(a.id)


def test_statistics_follow_voxels_written_directly_once_invalidated(seg):
    """Set-ups and loaders write into `layers` directly; after `invalidate_statistics` counts and boxes are those of
    the array (numpy), for the layer named or for every layer."""
    a, b = seg.add_segment(), seg.add_segment(new_layer=True)
    paint(seg, a.id, (0, 0, 0), (4, 4, 4))
    assert seg.voxel_count(a.id) == 64 and seg.voxel_count(b.id) == 0
    seg.layers[0][5:9, 1:3, 2:7] = a.label
    seg.layers[1][10:12, 0:18, 3:4] = b.label
    seg.invalidate_statistics(0)
    assert seg.voxel_count(a.id) == int(np.count_nonzero(seg.layers[0] == a.label)) == 64 + 4 * 2 * 5
    assert seg.bounding_box(a.id) == (slice(0, 9), slice(0, 4), slice(0, 7))
    assert seg.voxel_count(b.id) == 0                    # layer 1 not invalidated: still what the model wrote
    seg.invalidate_statistics()
    assert seg.voxel_count(b.id) == 2 * 18 and seg.bounding_box(b.id) == (slice(10, 12), slice(0, 18), slice(3, 4))


def test_segments_at_voxel_reports_every_layer(seg):
    a, b = seg.add_segment(), seg.add_segment()
    paint(seg, a.id, (0, 0, 0), (4, 4, 4))
    paint(seg, b.id, (2, 2, 2), (6, 6, 6), overwrite=Overwrite.NONE)
    assert seg.segments_at_voxel((3, 3, 3)) == [a.id, b.id]
    assert seg.segments_at_voxel((0, 0, 0)) == [a.id]
    assert seg.segments_at_voxel((99, 0, 0)) == []
    assert seg.overlapping()


def test_demo_atlas_is_deterministic_and_compact():
    from app.model.demo import demo_atlas
    s1, g1 = demo_atlas((40, 40, 36), 30)
    s2, g2 = demo_atlas((40, 40, 36), 30)
    assert np.array_equal(s1.layers[0], s2.layers[0]) and np.array_equal(g1, g2)
    assert len(s1) == 32 and all(s1.voxel_count(i) > 0 for i in s1.segment_ids)
    left = [s for s in s1.segments if s.name.startswith("Left")]
    for s in left:   # LPS: +i is patient left
        box = s1.bounding_box(s.id)
        assert (box[0].start + box[0].stop) / 2 >= 40 / 2 - 3


# ------------------------------------------------------------------ brush
def test_ball_respects_anisotropic_spacing():
    b = ball(4.0, (1.0, 1.0, 2.0))
    assert b.shape == (9, 9, 5) and b[4, 4, 4] and b[0, 4, 2] and not b[0, 0, 2]
    d = ball(3.0, (1.0, 1.0, 1.0), plane_axis=2)
    assert d.shape == (7, 7, 1)


def test_interpolated_strokes_leave_no_gaps():
    pts = interpolate((0, 0, 5), (40, 17, 5), max_step=1.0)
    steps = np.abs(np.diff(pts, axis=0)).max(axis=1)
    assert steps.max() <= 1 and tuple(pts[0]) == (0, 0, 5) and tuple(pts[-1]) == (40, 17, 5)
    region = stroke_region(pts, ball(2.0, (1, 1, 1), plane_axis=2), (64, 64, 10))
    m, box = region
    assert m.sum() > 0 and box[2] == slice(5, 6)


def test_clip_to_lattice():
    m = np.ones((5, 5, 5), bool)
    sub, box = clip_to_lattice(m, (-2, 3, 8), (10, 10, 10))
    assert sub.shape == (3, 5, 2) and box == (slice(0, 3), slice(3, 8), slice(8, 10))
    assert clip_to_lattice(m, (20, 0, 0), (10, 10, 10)) is None
    assert dab_region((0, 0, 0), ball_voxels(2), (10, 10, 10))[0].shape == (3, 3, 3)


def test_merge_keeps_voxels_that_overlap_a_locked_segment(seg):
    """Found by the property test: a merge must not be cut by locks (the locked segment stays unchanged)."""
    a, b, d = seg.add_segment(), seg.add_segment(), seg.add_segment()
    paint(seg, a.id, (0, 0, 0), (2, 2, 2))
    paint(seg, b.id, (0, 0, 0), (3, 3, 3), overwrite=Overwrite.NONE)
    seg.update_segment(a.id, locked=True)
    merge_segments(seg, d.id, [b.id])
    assert seg.voxel_count(d.id) == 27 and seg.voxel_count(a.id) == 8


def test_a_bare_primitive_call_is_its_own_undo_step_and_emits(seg):
    a = seg.add_segment()
    got = []
    seg.events.voxels_changed.connect(got.extend)
    box = (slice(0, 2),) * 3
    assert seg.write_voxels(a.layer, box, np.ones((2, 2, 2), bool), a.label) == 8
    assert got and seg.voxel_count(a.id) == 8 and seg.history.undo_name == "Edit voxels"
    seg.undo()
    assert seg.voxel_count(a.id) == 0


def test_a_mask_reaching_past_the_volume_is_cropped_to_it(seg):
    """A ball at the volume's corner paints what lies inside (numpy read the negative start from the far end, and
    the edit failed with a broadcasting error); a box wholly outside writes nothing and makes no undo step."""
    sid = seg.add_segment("edge").id
    mask = ball(3.0, seg.geometry.spacing)
    box = tuple(slice(-(n // 2), n - n // 2) for n in mask.shape)      # centred on voxel (0, 0, 0)
    steps = len(seg.history.undo_stack)
    written = apply_mask(seg, sid, mask, box, EditMode.ADD)
    inside = mask[tuple(slice(n // 2, None) for n in mask.shape)]
    label = seg.segment(sid).label
    want = np.zeros(seg.geometry.shape, bool)
    want[tuple(slice(0, n) for n in inside.shape)] = inside
    assert written == inside.sum() and np.array_equal(seg.layers[seg.segment(sid).layer] == label, want)
    far = tuple(slice(s + 5, s + 5 + n) for s, n in zip(seg.geometry.shape, mask.shape))
    assert apply_mask(seg, sid, mask, far, EditMode.ADD) == 0
    assert len(seg.history.undo_stack) == steps + 1
