"""Joint smoothing: against an independent full-volume computation (one Gaussian per label, stacked, argmax), and
the two promises, checked on an atlas of touching structures:

- no overlaps: no voxel belongs to two selected segments of a layer;
- no gaps: let U be the union of the selected segments of a layer before smoothing and G(U) its Gaussian-smoothed
  indicator (the outer boundary's smoothing). Every voxel with G(U) >= 0.5 ends up in some selected segment, and a
  voxel of U ends up unlabelled only where G(U) < 0.5.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from app.model.ops import SmoothingMethod, joint_smoothing, smooth
from app.model.ops.smoothing import gaussian_sigma

from .ops_cases import ball_mask, make_seg, masks_of, same_snapshot, snapshot

TOL = 1e-4      # float32 (tool) vs float64 (reference): only voxels this close to a tie may differ


def _atlas(demo):
    seg0, _ = demo
    spacing = seg0.geometry.spacing
    masks = {s.name: seg0.mask(s.id)[8:40, 8:40, 8:34] for s in seg0.segments[:40]}
    masks = {k: v for k, v in masks.items() if v.any()}
    return masks, spacing


def _reference(masks: list, spacing, std):
    sigma = gaussian_sigma(std, spacing)
    g = np.stack([ndimage.gaussian_filter(m.astype(np.float64), sigma, mode="constant") for m in masks])
    union = g.sum(axis=0)
    top = np.sort(g, axis=0)
    ambiguous = (np.abs(union - 0.5) < TOL) | ((top[-1] - top[-2]) < TOL if len(masks) > 1 else False)
    labels = np.where(union >= 0.5, 1 + np.argmax(g, axis=0), 0)
    return labels, union, ambiguous


def test_joint_smoothing_equals_the_full_volume_argmax_and_has_no_gaps_or_overlaps(demo):
    masks, spacing = _atlas(demo)
    seg, ids = make_seg(masks, spacing)
    assert len(seg.layers) == 1 and len(ids) > 10
    before = snapshot(seg)
    orig = [seg.mask(s) for s in ids]
    result = joint_smoothing(seg, ids, 4.0)
    assert result.written > 0 and len(seg.history.undo_stack) == 1
    labels, union_g, ambiguous = _reference(orig, spacing, 4.0)
    got = np.zeros(seg.geometry.shape, dtype=int)
    count = np.zeros(seg.geometry.shape, dtype=int)
    for n, sid in enumerate(ids):
        m = seg.mask(sid)
        got[m] = n + 1
        count += m
    assert count.max() <= 1                                           # no overlaps
    u = np.any(orig, axis=0)
    gaps = u & (count == 0) & (union_g >= 0.5 + TOL)
    assert gaps.sum() == 0                                            # no gaps
    assert np.all((count == 1) | (union_g < 0.5 + TOL))               # everything G(U) keeps is labelled
    mismatch = (got != labels) & ~ambiguous
    assert mismatch.sum() == 0
    assert (got != labels).sum() <= 0.001 * got.size
    seg.undo()
    assert same_snapshot(snapshot(seg), before)


def test_joint_smoothing_of_one_segment_is_its_gaussian_smoothing():
    spacing = (0.9, 1.4, 2.2)
    m = ball_mask((26, 20, 12), (12, 9, 5), 6.0, spacing)
    m[3:6, 3:6, 2:4] = True
    seg_a, (a,) = make_seg({"a": m}, spacing)
    seg_b, (b,) = make_seg({"a": m}, spacing)
    joint_smoothing(seg_a, [a], 1.5)
    smooth(seg_b, [b], SmoothingMethod.GAUSSIAN, 1.5)
    assert np.array_equal(seg_a.mask(a), seg_b.mask(b))


def test_per_layer_with_a_locked_segment_and_an_unselected_one(demo):
    masks, spacing = _atlas(demo)
    names = list(masks)[:12]
    masks = {k: masks[k] for k in names}
    shape = next(iter(masks.values())).shape
    masks["over"] = ball_mask(shape, (16, 16, 12), 12.0, spacing)        # overlaps: its own layer
    seg, ids = make_seg(masks, spacing)
    assert seg.segment(ids[-1]).layer == 1
    locked, unselected = ids[0], ids[1]
    seg.update_segment(locked, locked=True)
    before = masks_of(seg)
    selected = [i for i in ids if i != unselected]
    result = joint_smoothing(seg, selected, 3.0)
    assert result.skipped == [locked]
    assert np.array_equal(seg.mask(locked), before[locked])
    # layer 1 holds one selected segment: joint smoothing there is its Gaussian smoothing, and it never
    # overwrote layer 0 (its gains were background in every layer or were given up to layer 0's result)
    layer0 = [i for i in selected if seg.segment(i).layer == 0 and i != locked]
    count = sum(seg.mask(i).astype(int) for i in layer0)
    assert count.max() <= 1
    orig_u = np.any([before[i] for i in layer0], axis=0)
    sigma = gaussian_sigma(3.0, spacing)
    g = ndimage.gaussian_filter(orig_u.astype(np.float64), sigma, mode="constant")
    keep = (g >= 0.5 + TOL) & ~before[locked] & ~before[unselected]
    # every voxel that the union's smoothing keeps is labelled by a selected segment of the layer, except where a
    # later segment of another layer (overwrite all) took it: those voxels belong to that segment now
    taken = seg.mask(ids[-1]) & ~before[ids[-1]]
    assert np.all((count == 1) | ~keep | taken)
