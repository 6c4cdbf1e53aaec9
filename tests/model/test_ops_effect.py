"""Issue 12 item 3: a preview shows everything Apply will change. For every tool, under each overwrite mode, with a
hidden and a locked segment and a second layer, the preview's effect (`plan_effect`) equals the applied change
voxel for voxel: the voxels some segment gains, the voxels some segment loses, and each segment's counts.
The applied change is computed here by brute force: every segment's mask before and after, compared."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from app.model import ops
from app.model.edits import EditPolicy, Overwrite
from app.model.ops.effect import copy_of, plan_effect

from .ops_cases import ball_mask, box_mask, make_seg

SHAPE = (30, 28, 22)


def _atlas():
    """Touching blocks in layer 0 (one hidden, one locked), a ball overlapping them in layer 1, a grey volume."""
    rng = np.random.default_rng(3)
    masks = {}
    for n, (lo, hi) in enumerate((((2, 2, 2), (12, 14, 10)), ((12, 2, 2), (24, 14, 10)), ((2, 14, 2), (12, 26, 10)),
                                  ((12, 14, 2), (24, 26, 10)), ((2, 2, 10), (24, 26, 18)))):
        masks[f"block{n}"] = box_mask(SHAPE, lo, hi)
    masks["spot"] = box_mask(SHAPE, (5, 5, 12), (7, 7, 14)) | box_mask(SHAPE, (18, 20, 13), (19, 21, 14))
    masks["block4"] &= ~masks["spot"]
    masks["ball"] = ball_mask(SHAPE, (13, 13, 9), 6.0)
    masks["sparse"] = box_mask(SHAPE, (5, 5, 18), (15, 15, 19)) | box_mask(SHAPE, (7, 6, 21), (16, 14, 22))
    seg, ids = make_seg(masks, (1.0, 1.2, 1.5), new_layer=("ball",))
    seg.update_segment(ids[1], visible=False)
    seg.update_segment(ids[3], locked=True)
    seg.history.clear()
    grey = ndimage.gaussian_filter(rng.normal(100, 40, SHAPE), 1.5).astype(np.float32)
    return seg, ids, grey


def _applied(seg, plan, policy):
    """(gained, lost, {id: (gained, lost)}) of really applying the plan to a copy, from per-segment masks."""
    work = copy_of(seg)
    before = {sid: work.mask(sid) for sid in work.segment_ids}
    ops.apply_plan(work, plan, policy)
    gained = np.zeros(SHAPE, bool)
    lost = np.zeros(SHAPE, bool)
    counts = {}
    for sid in dict.fromkeys(list(before) + work.segment_ids):
        old = before.get(sid, np.zeros(SHAPE, bool))
        new = work.mask(sid) if sid in work else np.zeros(SHAPE, bool)
        g, l_ = new & ~old, old & ~new
        gained |= g
        lost |= l_
        if g.any() or l_.any():
            counts[sid] = (int(g.sum()), int(l_.sum()))
    return gained, lost, counts


def _plans(seg, ids, grey):
    one, some = ids[0], [ids[0], ids[2], ids[4], ids[5]]
    return {
        "threshold set": ops.plan_threshold(seg, [ids[5]], grey, 90, 130, ops.ThresholdMode.SET),
        "threshold add": ops.plan_threshold(seg, [one], grey, 110, 200, ops.ThresholdMode.ADD),
        "threshold keep": ops.plan_threshold(seg, some, grey, 97, 104, ops.ThresholdMode.KEEP),
        "islands keep largest": ops.plan_islands(seg, [ids[5]], ops.IslandMode.KEEP_LARGEST),
        "islands split": ops.plan_islands(seg, [ids[5]], ops.IslandMode.SPLIT, 1),
        "margin grow": ops.plan_margin(seg, some, 2.0),
        "margin shrink": ops.plan_margin(seg, some, -1.5),
        "smoothing median": ops.plan_smoothing(seg, some, ops.SmoothingMethod.MEDIAN, 3.0),
        "smoothing closing": ops.plan_smoothing(seg, [ids[4]], ops.SmoothingMethod.CLOSING, 4.0),
        "joint smoothing": ops.plan_joint_smoothing(seg, ids[:5], 2.0),
        "logical add": ops.plan_logical(seg, [one], ops.LogicalOp.ADD, ids[6]),
        "logical copy": ops.plan_logical(seg, [ids[4]], ops.LogicalOp.COPY, ids[6]),
        "logical invert": ops.plan_logical(seg, [ids[2]], ops.LogicalOp.INVERT),
        "fill between slices": ops.plan_fill_between_slices(seg, [ids[7]], 2),
    }


@pytest.mark.parametrize("overwrite", list(Overwrite))
def test_the_preview_is_exactly_what_apply_changes_for_every_tool(overwrite):
    seg, ids, grey = _atlas()
    policy = EditPolicy(overwrite=overwrite)
    checked = 0
    for name, plan in _plans(seg, ids, grey).items():
        effect = plan_effect(seg, plan, policy)
        gained, lost, counts = _applied(seg, plan, policy)
        shape = seg.geometry.shape
        e_gained = np.zeros(shape, bool)
        e_lost = np.zeros(shape, bool)
        if effect.box is not None:
            e_gained[effect.box] = effect.gained
            e_lost[effect.box] = effect.lost
        assert np.array_equal(e_gained, gained), name
        assert np.array_equal(e_lost, lost), name
        # segments created by the dry run and by the check have different ids: compare those by count only
        assert {k: v for k, v in effect.counts.items() if k in seg} == \
            {k: v for k, v in counts.items() if k in seg}, name
        assert sorted(v for k, v in effect.counts.items() if k not in seg) == \
            sorted(v for k, v in counts.items() if k not in seg), name
        checked += bool(gained.any() or lost.any())
    assert checked == 14          # the cases really change something
    assert seg.history.undo_stack == []      # the preview changed nothing


def test_threshold_under_overwrite_all_names_the_segments_it_cuts():
    """The reported case: threshold into one segment also takes voxels from its neighbours; the old summary
    counted only the thresholded segment."""
    seg, ids, grey = _atlas()
    plan = ops.plan_threshold(seg, [ids[5]], grey, 60, 140, ops.ThresholdMode.SET)
    old_summary = plan.summary(seg)
    effect = plan_effect(seg, plan, EditPolicy(overwrite=Overwrite.ALL))
    cut = {sid for sid, (g, l_) in effect.counts.items() if l_ and sid != ids[5]}
    assert cut and not cut & set(old_summary)          # neighbours lose voxels; the plan's summary missed them
    assert ids[3] not in effect.counts                  # the locked one is untouched
    hidden_kept = plan_effect(seg, plan, EditPolicy(overwrite=Overwrite.VISIBLE))
    assert ids[1] not in hidden_kept.counts             # overwrite visible: the hidden one keeps its voxels
