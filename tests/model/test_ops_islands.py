"""Islands against scipy.ndimage.label on plain boolean arrays: keep largest, remove small, split into segments of
the same layer, keep/remove the island under a voxel; connectivity, layers, locks and undo."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from app.model.edits import EditPolicy, Overwrite
from app.model.ops import IslandMode, islands, plan_islands
from app.model.segmentation import SegmentationError

from .ops_cases import box_mask, make_seg, masks_of, same_snapshot, snapshot

SHAPE = (24, 20, 12)


def _archipelago():
    m = box_mask(SHAPE, (1, 1, 1), (9, 9, 6))          # 320 voxels: the largest
    m |= box_mask(SHAPE, (12, 1, 1), (16, 5, 4))       # 48
    m |= box_mask(SHAPE, (18, 12, 8), (20, 14, 10))    # 8
    m[22, 18, 10] = True                               # 1
    m[21, 17, 9] = True                                # 1, touches the previous one by a corner only
    return m


def _components(m, fully=False):
    lab, n = ndimage.label(m, ndimage.generate_binary_structure(3, 3 if fully else 1))
    sizes = np.bincount(lab.ravel())[1:]
    return lab, sizes


@pytest.mark.parametrize("fully", [False, True])
def test_keep_largest(fully):
    m = _archipelago()
    seg, (sid,) = make_seg({"a": m})
    islands(seg, [sid], IslandMode.KEEP_LARGEST, fully_connected=fully)
    lab, sizes = _components(m, fully)
    assert np.array_equal(seg.mask(sid), lab == 1 + int(np.argmax(sizes)))


@pytest.mark.parametrize("fully,n_left", [(False, 3), (True, 4)])
def test_remove_smaller_than(fully, n_left):
    m = _archipelago()
    seg, (sid,) = make_seg({"a": m})
    islands(seg, [sid], IslandMode.REMOVE_SMALL, min_size=2, fully_connected=fully)
    lab, sizes = _components(m, fully)
    keep = np.flatnonzero(sizes >= 2) + 1
    assert np.array_equal(seg.mask(sid), np.isin(lab, keep))
    assert len(keep) == n_left


def test_split_makes_new_segments_in_the_same_layer_and_touches_nobody_else():
    m = _archipelago()
    other = box_mask(SHAPE, (12, 10, 1), (16, 14, 4))
    over = box_mask(SHAPE, (13, 2, 0), (15, 4, 12))     # overlaps the second island: lives on layer 1
    seg, (sid, oid, vid) = make_seg({"a": m, "other": other, "over": over})
    seg.update_segment(sid, tags={"Segmentation.Status": "inprogress"})
    seg.history.clear()
    before = snapshot(seg)
    result = islands(seg, [sid], IslandMode.SPLIT, min_size=2, policy=EditPolicy(overwrite=Overwrite.ALL))
    lab, sizes = _components(m)
    order = np.argsort(-sizes, kind="stable") + 1
    assert np.array_equal(seg.mask(sid), lab == order[0])
    assert len(result.created) == 2                     # 48 and 8 voxels; the two 1-voxel islands are removed
    for n, (new_id, idx) in enumerate(zip(result.created, order[1:3])):
        s = seg.segment(new_id)
        assert s.layer == seg.segment(sid).layer and s.name == f"a island {n + 2}"
        assert s.tags == {"Segmentation.Status": "inprogress"}
        assert np.array_equal(seg.mask(new_id), lab == idx)
    assert np.array_equal(seg.mask(oid), other) and np.array_equal(seg.mask(vid), over)
    assert len(seg.layers) == 2
    assert len(seg.history.undo_stack) == 1
    seg.undo()
    assert same_snapshot(snapshot(seg), before)


def test_keep_and_remove_the_island_under_a_voxel_on_segments_of_two_layers():
    a = _archipelago()
    b = box_mask(SHAPE, (12, 1, 1), (16, 5, 4)) | box_mask(SHAPE, (1, 12, 1), (5, 16, 4))   # on layer 1
    seg, (aid, bid) = make_seg({"a": a, "b": b})
    assert seg.segment(bid).layer == 1
    islands(seg, [aid, bid], IslandMode.KEEP_AT, ijk=(13.2, 2.4, 1.6))
    assert np.array_equal(seg.mask(aid), box_mask(SHAPE, (12, 1, 1), (16, 5, 4)))
    assert np.array_equal(seg.mask(bid), box_mask(SHAPE, (12, 1, 1), (16, 5, 4)))
    seg.undo()
    islands(seg, [aid], IslandMode.REMOVE_AT, ijk=(2, 2, 2))
    assert np.array_equal(seg.mask(aid), a & ~box_mask(SHAPE, (1, 1, 1), (9, 9, 6)))
    with pytest.raises(SegmentationError, match="no selected"):
        plan_islands(seg, [aid], IslandMode.KEEP_AT, ijk=(0, 19, 0))
    with pytest.raises(SegmentationError, match="outside"):
        plan_islands(seg, [aid], IslandMode.KEEP_AT, ijk=(99, 0, 0))


def test_locked_segments_are_skipped_and_many_segments_are_one_undo_step():
    seg, ids = make_seg({"a": _archipelago(), "b": box_mask(SHAPE, (1, 12, 1), (4, 15, 3)) |
                         box_mask(SHAPE, (6, 12, 1), (12, 18, 5))})
    seg.update_segment(ids[1], locked=True)
    before = masks_of(seg)
    result = islands(seg, ids, IslandMode.KEEP_LARGEST)
    assert result.skipped == [ids[1]]
    assert np.array_equal(seg.mask(ids[1]), before[ids[1]])
    assert seg.voxel_count(ids[0]) == 320
    seg.update_segment(ids[1], locked=False)
    islands(seg, ids, IslandMode.KEEP_LARGEST)
    assert seg.voxel_count(ids[1]) == 6 * 6 * 4
