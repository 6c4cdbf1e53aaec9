"""Property tests: random edits and layer operations, checked after every step against a plain reference model
(one boolean array per segment, in display order). Checks masks voxel-exact, unique (layer, label), statistics
equal to a recomputation, locks, safe-collapse guarantees and 'separate only when needed'."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from app.model import label_values as lb
from app.model.edits import EditMode, EditPolicy, Editable, Overwrite, apply_mask, merge_segments
from app.model.geometry import Geometry
from app.model.segmentation import Segmentation

SHAPE = (9, 8, 7)


class Reference:
    """The simplest possible model: masks in order, with display state."""

    def __init__(self):
        self.masks: dict[str, np.ndarray] = {}
        self.order: list[str] = []
        self.visible: dict[str, bool] = {}
        self.locked: dict[str, bool] = {}

    def overwritable(self, sid, other, mode):
        if other == sid or self.locked[other]:
            return False
        return mode is Overwrite.ALL or (mode is Overwrite.VISIBLE and self.visible[other])

    def area(self, sid, mask, box, policy, cookie):
        full = np.zeros(SHAPE, bool)
        full[box] = mask
        if policy.editable is Editable.BACKGROUND:
            for o in self.order:
                if o != sid:
                    full &= ~self.masks[o]
        elif policy.editable is Editable.INSIDE_SEGMENT:
            full &= self.masks[policy.mask_segment]
        if cookie:
            for o in self.order:
                if o != sid and self.locked[o]:
                    full &= ~self.masks[o]
        return full

    def apply(self, sid, mask, box, mode, policy):
        if mode is EditMode.REMOVE_ALL:
            e = self.area(None, mask, box, policy, cookie=False)
            for o in self.order:
                if not self.locked[o]:
                    self.masks[o] &= ~e
            return
        if mode is EditMode.REMOVE:
            self.masks[sid] &= ~self.area(sid, mask, box, policy, cookie=False)
            return
        added = self.area(sid, mask, box, policy, cookie=True)
        if mode is EditMode.SET:
            inbox = np.zeros(SHAPE, bool)
            inbox[box] = True
            editable = self.area(sid, np.ones(mask.shape, bool), box, policy, cookie=True)
            self.masks[sid] &= inbox & ~editable
        self.masks[sid] |= added
        for o in self.order:
            if self.overwritable(sid, o, policy.overwrite):
                self.masks[o] &= ~added
        return added

    def force_single(self):
        claimed = np.zeros(SHAPE, bool)
        for sid in reversed(self.order):
            self.masks[sid] &= ~claimed
            claimed |= self.masks[sid]


@settings(max_examples=200, stateful_step_count=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
class SegmentationMachine(RuleBasedStateMachine):
    @initialize()
    def setup(self):
        self.seg = Segmentation(Geometry(SHAPE, (1.0, 2.0, 0.5)))
        self.ref = Reference()
        for _ in range(3):
            self.add_segment()

    # ----------------------------------------------------------------- helpers
    def _ids(self):
        return self.seg.segment_ids

    def _check_masks(self):
        assert self.seg.segment_ids == self.ref.order
        for sid in self.ref.order:
            np.testing.assert_array_equal(self.seg.mask(sid), self.ref.masks[sid], err_msg=f"segment {sid}")

    # ----------------------------------------------------------------- rules
    @rule()
    def add_segment(self):
        s = self.seg.add_segment()
        self.ref.masks[s.id] = np.zeros(SHAPE, bool)
        self.ref.order.append(s.id)
        self.ref.visible[s.id] = True
        self.ref.locked[s.id] = False

    @precondition(lambda self: len(self.seg) > 0)
    @rule(data=st.data(), mode=st.sampled_from(list(EditMode)), overwrite=st.sampled_from(list(Overwrite)),
          editable=st.sampled_from(list(Editable)), seed=st.integers(0, 2**16), density=st.floats(0.2, 1.0))
    def edit(self, data, mode, overwrite, editable, seed, density):
        ids = self._ids()
        sid = data.draw(st.sampled_from(ids))
        lo = [data.draw(st.integers(0, n - 1)) for n in SHAPE]
        hi = [data.draw(st.integers(l + 1, n)) for l, n in zip(lo, SHAPE)]
        box = tuple(slice(l, h) for l, h in zip(lo, hi))
        mask = np.random.default_rng(seed).random([h - l for l, h in zip(lo, hi)]) < density
        mask_segment = None
        if editable is Editable.INSIDE_SEGMENT:
            others = [i for i in ids if i != sid]
            if not others:
                editable = Editable.EVERYWHERE
            else:
                mask_segment = data.draw(st.sampled_from(others))
        policy = EditPolicy(overwrite=overwrite, editable=editable, mask_segment=mask_segment)
        if mode is not EditMode.REMOVE_ALL and self.seg.segment(sid).locked:
            before = [a.copy() for a in self.seg.layers]
            try:
                apply_mask(self.seg, sid, mask, box, mode, policy)
            except ValueError:
                pass
            else:
                raise AssertionError("editing a locked segment must be refused")
            assert all(np.array_equal(a, b) for a, b in zip(before, self.seg.layers))
            return
        # 'separate only when needed': predict whether the edited segment must leave its layer
        n_layers = self.seg.n_layers
        expect_new_layer = False
        if mode in (EditMode.ADD, EditMode.SET):
            ref_copy = {k: v.copy() for k, v in self.ref.masks.items()}   # SET's clear touches only sid
            s = self.seg.segment(sid)
            same_layer = [o for o in self.seg.layer_segment_ids(s.layer) if o != sid]
            added = self.ref.area(sid, mask, box, policy, cookie=True)
            expect_new_layer = any(not self.ref.overwritable(sid, o, overwrite) and (ref_copy[o] & added).any()
                                   for o in same_layer)
        locked_before = {i: self.ref.masks[i].copy() for i in ids if self.ref.locked[i]}
        apply_mask(self.seg, sid if mode is not EditMode.REMOVE_ALL else None, mask, box, mode, policy)
        self.ref.apply(sid, mask, box, mode, policy)
        self._check_masks()
        for i, m in locked_before.items():
            np.testing.assert_array_equal(self.seg.mask(i), m, err_msg="a locked segment changed")
        if mode in (EditMode.ADD, EditMode.SET):
            grew = self.seg.n_layers - n_layers
            assert grew == (1 if expect_new_layer else 0), (grew, expect_new_layer)
        else:
            assert self.seg.n_layers == n_layers

    @precondition(lambda self: len(self.seg) > 0)
    @rule(data=st.data(), mode=st.sampled_from([EditMode.ADD, EditMode.SET]),
          overwrite=st.sampled_from(list(Overwrite)), editable=st.sampled_from(list(Editable)),
          seed=st.integers(0, 2**16), density=st.floats(0.5, 1.0))
    def paint(self, data, mode, overwrite, editable, seed, density):
        """Adds are where the layer logic lives: give them extra weight."""
        self.edit(data, mode, overwrite, editable, seed, density)

    @precondition(lambda self: len(self.seg) > 0)
    @rule(data=st.data())
    def remove(self, data):
        sid = data.draw(st.sampled_from(self._ids()))
        self.seg.remove_segment(sid)
        self.ref.order.remove(sid)
        del self.ref.masks[sid]
        self._check_masks()

    @precondition(lambda self: len(self.seg) > 1)
    @rule(data=st.data())
    def reorder(self, data):
        order = data.draw(st.permutations(self._ids()))
        self.seg.reorder(list(order))
        self.ref.order = list(order)
        self._check_masks()

    @rule()
    def collapse(self):
        n = self.seg.n_layers
        self.seg.collapse()
        assert self.seg.n_layers <= n
        self._check_masks()

    @rule()
    def force_single(self):
        self.seg.force_single_layer()
        self.ref.force_single()
        assert self.seg.n_layers <= 1
        self._check_masks()

    @precondition(lambda self: len(self.seg) > 0)
    @rule(data=st.data())
    def separate(self, data):
        sid = data.draw(st.sampled_from(self._ids()))
        alone = len(self.seg.layer_segment_ids(self.seg.segment(sid).layer)) == 1
        n = self.seg.n_layers
        self.seg.separate(sid)
        assert self.seg.n_layers == n + (0 if alone else 1)
        assert len(self.seg.layer_segment_ids(self.seg.segment(sid).layer)) == 1
        self._check_masks()

    @precondition(lambda self: len(self.seg) > 0)
    @rule(data=st.data(), visible=st.booleans(), locked=st.booleans())
    def display_state(self, data, visible, locked):
        sid = data.draw(st.sampled_from(self._ids()))
        self.seg.update_segment(sid, visible=visible, locked=locked)
        self.ref.visible[sid] = visible
        self.ref.locked[sid] = locked

    @precondition(lambda self: len(self.seg) > 1)
    @rule(data=st.data())
    def merge(self, data):
        ids = self._ids()
        target = data.draw(st.sampled_from(ids))
        sources = data.draw(st.lists(st.sampled_from([i for i in ids if i != target]), min_size=1, unique=True))
        if self.seg.segment(target).locked:
            return
        merge_segments(self.seg, target, sources)
        for s in sources:
            self.ref.masks[target] |= self.ref.masks.pop(s)
            self.ref.order.remove(s)
        self._check_masks()

    # ----------------------------------------------------------------- invariants
    @invariant()
    def table_is_consistent(self):
        if not hasattr(self, "seg"):
            return
        keys = [(s.layer, s.label) for s in self.seg.segments]
        assert len(keys) == len(set(keys)), "two segments share (layer, label)"
        used = {s.layer for s in self.seg.segments}
        assert used == set(range(self.seg.n_layers)), "every layer holds a segment, no segment names a missing layer"
        for n, arr in enumerate(self.seg.layers):
            claimed = {s.label for s in self.seg.segments if s.layer == n}
            assert set(lb.histogram(arr)) <= claimed, "voxels with a label no segment claims"
            for lab in claimed:
                assert np.iinfo(arr.dtype).min <= lab <= np.iinfo(arr.dtype).max

    @invariant()
    def statistics_match_recomputation(self):
        if not hasattr(self, "seg"):
            return
        for s in self.seg.segments:
            m = self.seg.layers[s.layer] == s.label
            assert self.seg.voxel_count(s.id) == int(m.sum())
            tight, bound = lb.tight_box(m), self.seg.bounding_box(s.id, tight=False)     # the bound first: the
            assert (bound is None) == (tight is None)                                     # tight query tightens
            assert tight is None or all(b.start <= t.start and t.stop <= b.stop for t, b in zip(tight, bound))
            assert self.seg.bounding_box(s.id) == tight


class TestSegmentationMachine(SegmentationMachine.TestCase):
    """The fast suite's run: 60 sequences of up to 40 steps."""
    settings = settings(SegmentationMachine.TestCase.settings, max_examples=60)


@pytest.mark.slow
class TestSegmentationMachineLong(SegmentationMachine.TestCase):
    """make test-all: 200 sequences (the full search)."""


def test_undo_everything_restores_the_start_bit_for_bit():
    """A short fixed scenario through every operation kind; then undo all and redo all."""
    seg = Segmentation(Geometry(SHAPE))
    start = [a.copy() for a in seg.layers]
    rng = np.random.default_rng(3)
    ids = [seg.add_segment().id for _ in range(4)]
    for n in range(12):
        sid = ids[n % 4]
        box = (slice(1, 7), slice(0, 5), slice(2, 7))
        mode = [EditMode.ADD, EditMode.ADD, EditMode.SET, EditMode.REMOVE][n % 4]
        apply_mask(seg, sid, rng.random((6, 5, 5)) < 0.5, box, mode,
                   EditPolicy(overwrite=[Overwrite.ALL, Overwrite.NONE][n % 2]))
    seg.collapse()
    seg.separate(ids[0])
    seg.update_segment(ids[1], name="renamed", color=(1, 0, 0))
    seg.reorder(list(reversed(seg.segment_ids)))
    seg.force_single_layer()
    end_layers = [a.copy() for a in seg.layers]
    end_table = [(s.id, s.name, s.color, s.layer, s.label) for s in seg.segments]
    while seg.undo():
        pass
    assert len(seg) == 0 and seg.n_layers == len(start)
    while seg.redo():
        pass
    assert [(s.id, s.name, s.color, s.layer, s.label) for s in seg.segments] == end_table
    assert all(np.array_equal(a, b) and a.dtype == b.dtype for a, b in zip(seg.layers, end_layers))
