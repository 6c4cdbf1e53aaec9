"""Property tests of the whole-atlas tools on random small atlases (hypothesis), against plain-array references:
joint smoothing never leaves gaps or overlaps; logical operations and islands match numpy / scipy; locked segments
never change; undo restores the exact prior state."""
from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, assume, given, settings, strategies as st
from scipy import ndimage

from app.model import ops
from app.model.ops.smoothing import gaussian_sigma

from .ops_cases import make_seg, masks_of, same_snapshot, sequential_reference, snapshot

SHAPE = (12, 10, 8)
SPACINGS = st.sampled_from([(1.0, 1.0, 1.0), (0.6, 1.1, 2.3), (2.0, 1.0, 0.7)])


@st.composite
def atlases(draw, max_labels=6):
    """A random labelmap of boxes (later boxes paint over earlier ones) -> {name: mask} of non-empty labels."""
    n = draw(st.integers(2, max_labels))
    lab = np.zeros(SHAPE, np.int16)
    for v in range(1, n + 1):
        lo = [draw(st.integers(0, s - 2)) for s in SHAPE]
        hi = [draw(st.integers(l + 1, s)) for l, s in zip(lo, SHAPE)]
        lab[tuple(slice(a, b) for a, b in zip(lo, hi))] = v
    return {f"s{v}": lab == v for v in range(1, n + 1) if (lab == v).any()}


SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(atlases(), SPACINGS, st.floats(0.4, 2.5), st.data())
def test_joint_smoothing_has_no_gaps_no_overlaps_and_spares_locked_segments(masks, spacing, std, data):
    seg, ids = make_seg(masks, spacing)
    locked = data.draw(st.sets(st.sampled_from(ids), max_size=1))
    for sid in locked:
        seg.update_segment(sid, locked=True)
    before, snap = masks_of(seg), snapshot(seg)
    ops.joint_smoothing(seg, ids, std)
    free = [i for i in ids if i not in locked]
    count = sum(seg.mask(i).astype(int) for i in ids)
    assert count.max() <= 1                                                   # no overlaps
    union = np.any([before[i] for i in free], axis=0) if free else np.zeros(SHAPE, bool)
    g = ndimage.gaussian_filter(union.astype(np.float64), gaussian_sigma(std, spacing), mode="constant")
    lock = np.any([before[i] for i in locked], axis=0) if locked else np.zeros(SHAPE, bool)
    kept = (g >= 0.5 + 1e-4) & ~lock
    assert np.all(count[kept] == 1)                                           # no gaps
    assert not np.any((count == 1) & ~lock & ~union & (g < 0.5 - 1e-4))      # nothing outside the smoothed union
    for sid in locked:
        assert np.array_equal(seg.mask(sid), before[sid])
    seg.undo()
    assert same_snapshot(snapshot(seg), snap)


@SETTINGS
@given(atlases(), st.sampled_from(list(ops.LogicalOp)), st.data())
def test_logical_operations_match_numpy(masks, op, data):
    assume(len(masks) >= 2)
    seg, ids = make_seg(masks)
    modifier = data.draw(st.sampled_from(ids))
    targets = data.draw(st.lists(st.sampled_from([i for i in ids if i != modifier]), min_size=1, unique=True))
    targets.sort(key=ids.index)
    before, snap = masks_of(seg), snapshot(seg)
    ops.logical(seg, targets, op, modifier if op.needs_modifier else None)
    m = before[modifier]
    f = {ops.LogicalOp.COPY: lambda s: m, ops.LogicalOp.ADD: lambda s: s | m, ops.LogicalOp.SUBTRACT: lambda s: s & ~m,
         ops.LogicalOp.INTERSECT: lambda s: s & m, ops.LogicalOp.INVERT: lambda s: ~s,
         ops.LogicalOp.CLEAR: lambda s: np.zeros_like(s), ops.LogicalOp.FILL: lambda s: np.ones_like(s)}[op]
    expected = sequential_reference(before, {t: f(before[t]) for t in targets})
    for sid in ids:
        assert np.array_equal(seg.mask(sid), expected[sid])
    seg.undo()
    assert same_snapshot(snapshot(seg), snap)


@SETTINGS
@given(atlases(), st.integers(1, 40), st.booleans())
def test_islands_split_and_remove_small_match_scipy_label(masks, min_size, fully):
    seg, ids = make_seg(masks)
    before = masks_of(seg)
    structure = ndimage.generate_binary_structure(3, 3 if fully else 1)
    result = ops.islands(seg, ids, ops.IslandMode.SPLIT, min_size, fully_connected=fully)
    created = iter(result.created)
    for sid in ids:
        lab, n = ndimage.label(before[sid], structure)
        sizes = np.bincount(lab.ravel(), minlength=n + 1)
        sizes[0] = 0
        order = np.argsort(-sizes, kind="stable")
        assert np.array_equal(seg.mask(sid), lab == order[0])
        for idx in [i for i in order[1:] if sizes[i] >= min_size]:
            new = next(created)
            assert seg.segment(new).layer == seg.segment(sid).layer
            assert np.array_equal(seg.mask(new), lab == idx)
    assert next(created, None) is None
    seg.undo()
    assert seg.segment_ids == ids and all(np.array_equal(seg.mask(i), before[i]) for i in ids)
