"""A long editing session: 5,000 random strokes and segment operations with undo/redo on the demo atlas.

Throughout: the undo history stays within its byte cap (8 MB here); every CHECK_EVERY steps the model's bookkeeping equals a recomputation from the voxels (per-segment counts
and bounding boxes, unique (layer, label), no voxel value that no segment claims); every ROUND_TRIP_EVERY steps,
undoing k steps then redoing them gives back the same voxels and table. At the end, save -> reopen gives the same
segments and voxels. The session is seeded (the same steps every run). Its time and the process's memory growth are
benchmark figures (`python -m benchmarks --only robustness` runs `soak` with an RSS probe), not assertions."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest

from app import io
from app.model import brush
from app.model import label_values as lb
from app.model.demo import demo_atlas
from app.model.edits import EditMode, EditPolicy, Overwrite, apply_mask, merge_segments
from app.model.segmentation import Segmentation, SegmentationError

STEPS = 5000
BUDGET = 8 * 2**20                 # small, so that trimming happens many times over
CHECK_EVERY = 250
ROUND_TRIP_EVERY = 1000
OPS = {"paint": 40, "erase": 10, "undo": 16, "redo": 10, "add": 4, "remove": 2, "rename": 4, "lock": 3, "merge": 1,
       "move_layer": 3, "separate": 2, "collapse": 1, "reorder": 2, "set": 2}


def check_invariants(seg: Segmentation) -> None:
    """The model's incremental bookkeeping equals what the voxels say."""
    ids = seg.segment_ids
    assert len(set(ids)) == len(ids)
    keys = [(s.layer, s.label) for s in seg.segments]
    assert len(set(keys)) == len(keys) and all(lab != 0 for _, lab in keys)
    assert all(0 <= layer < seg.n_layers for layer, _ in keys)
    for n, arr in enumerate(seg.layers):
        counts = lb.histogram(arr)
        claimed = {s.label for s in seg.segments if s.layer == n}
        assert set(counts) <= claimed, f"layer {n}: orphan voxel values {sorted(set(counts) - claimed)[:5]}"
        for s in (s for s in seg.segments if s.layer == n):
            assert seg.voxel_count(s.id) == counts.get(s.label, 0), s.name
            box = seg.bounding_box(s.id)
            assert box == lb.tight_box(arr == s.label), s.name


def state_digest(seg: Segmentation) -> str:
    h = hashlib.sha1()
    for arr in seg.layers:
        h.update(arr.tobytes())
        h.update(str(arr.dtype).encode())
    for s in seg.segments:
        h.update(repr((s.id, s.name, tuple(s.color), s.layer, s.label, sorted(s.tags.items()))).encode())
    return h.hexdigest()


class Session:
    """Random user actions, with few random draws per step (a step costs about a brush stroke)."""

    def __init__(self, seg: Segmentation, seed: int) -> None:
        self.seg = seg
        self.rng = np.random.default_rng(seed)
        self.names = list(OPS)
        p = np.array(list(OPS.values()), float)
        self.p = p / p.sum()
        self.done = dict.fromkeys(OPS, 0)
        self.refused = 0
        shape = np.array(seg.geometry.shape)
        self.points = self.rng.integers(0, shape, size=(STEPS * 2, 3))       # drawn once, used in order
        self.k = 0

    def pick_segment(self):
        ids = self.seg.segment_ids
        return ids[int(self.rng.integers(len(ids)))] if ids else None

    def stroke(self, mode: EditMode) -> None:
        sid = self.pick_segment()
        if sid is None:
            return
        a, b = self.points[self.k % len(self.points)], self.points[(self.k + 1) % len(self.points)]
        self.k += 2
        b = a + np.clip(b - a, -12, 12)                   # a stroke spans a few brush widths
        pts = brush.interpolate(a, b, 2.0)
        shape = brush.ball(float(self.rng.choice([3.0, 5.0, 8.0])), self.seg.geometry.spacing,
                           None if self.k % 3 else 2)
        region = brush.stroke_region(pts, shape, self.seg.geometry.shape)
        if region is not None:
            policy = EditPolicy(overwrite=(Overwrite.ALL, Overwrite.NONE, Overwrite.VISIBLE)[self.k % 3])
            apply_mask(self.seg, sid, region[0], region[1], mode, policy)

    def step(self) -> None:
        op = self.names[int(self.rng.choice(len(self.names), p=self.p))]
        seg = self.seg
        try:
            if op in ("paint", "erase", "set"):
                self.stroke({"paint": EditMode.ADD, "erase": EditMode.REMOVE, "set": EditMode.SET}[op])
            elif op == "undo":
                seg.undo()
            elif op == "redo":
                seg.redo()
            elif op == "add":
                seg.add_segment(new_layer=bool(self.k % 5 == 0))
            elif op == "remove" and len(seg) > 20:
                seg.remove_segment(self.pick_segment())
            elif op == "rename":
                seg.update_segment(self.pick_segment(), name=f"renamed {self.k}", color=tuple(self.rng.random(3)))
            elif op == "lock":
                sid = self.pick_segment()
                seg.update_segment(sid, locked=not seg.segment(sid).locked)
            elif op == "merge" and len(seg) > 20:
                target, source = self.pick_segment(), self.pick_segment()
                if target != source:
                    merge_segments(seg, target, [source])
            elif op == "move_layer":
                seg.move_to_layer(self.pick_segment(), None)
            elif op == "separate":
                seg.separate(self.pick_segment())
            elif op == "collapse":
                seg.collapse()
            elif op == "reorder" and len(seg) > 1:
                seg.move_segment(self.pick_segment(), int(self.rng.integers(len(seg))))
            self.done[op] += 1
        except SegmentationError:          # a locked segment, a refused request: the model said no, cleanly
            self.refused += 1


def undo_redo_round_trip(seg: Segmentation, k: int) -> None:
    before = state_digest(seg)
    n = 0
    while n < k and seg.undo():
        n += 1
    for _ in range(n):
        assert seg.redo()
    assert state_digest(seg) == before, f"undo {n} then redo {n} changed the document"


def soak(steps: int = STEPS, probe=None):
    """Run the seeded session on the demo atlas; `probe(seg)` is called before the first step and every
    CHECK_EVERY steps (the benchmark samples memory there). Returns (segmentation, session, peak history bytes)."""
    seg, _ = demo_atlas(with_grey=False)          # what `segedit --demo` shows: 128x128x112, 302 segments
    seg.history.set_budget(BUDGET)
    session = Session(seg, seed=20261124)
    history_peak = 0
    if probe is not None:
        probe(seg)
    for n in range(1, steps + 1):
        session.step()
        h = seg.history
        if len(h.undo_stack) > h.min_steps:          # the cap holds (it may keep min_steps whatever their size)
            assert h.total_bytes <= BUDGET, f"step {n}: history {h.total_bytes / 2**20:.1f} MB over the cap"
        history_peak = max(history_peak, h.total_bytes)
        if n % CHECK_EVERY == 0:
            check_invariants(seg)
            if probe is not None:
                probe(seg)
        if n % ROUND_TRIP_EVERY == 0:
            undo_redo_round_trip(seg, 25)
    return seg, session, history_peak


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_soak_5000_steps(tmp_path):
    seg, session, history_peak = soak()
    path = tmp_path / "soak.seg.nrrd"
    io.save_segmentation(seg, path)
    back = io.open_segmentation(path)
    assert back.segment_ids == seg.segment_ids
    for s in seg.segments:
        b = back.segment(s.id)
        assert (b.name, b.label) == (s.name, s.label) and np.allclose(b.color, s.color, atol=1e-5)
        assert np.array_equal(back.mask(s.id), seg.mask(s.id)), s.name
    assert sum(session.done.values()) + session.refused == STEPS
    assert session.done["paint"] > 1000 and session.done["undo"] > 500
    assert history_peak > 0.8 * BUDGET, "the session never reached the undo cap: it tested nothing"


def test_move_to_layer_alone_is_one_undo_step(small_segmentation):
    """Found by the soak: a bare move_to_layer recorded nothing, so the next undo restored an older table over it
    and two segments ended up sharing one (layer, label)."""
    seg, ids = small_segmentation
    before = state_digest(seg)
    seg.move_to_layer(ids[1], None)
    assert seg.n_layers == 2 and seg.history.undo_name == "Move to layer"
    check_invariants(seg)
    assert seg.undo() and state_digest(seg) == before and seg.n_layers == 1
    assert seg.redo() and seg.segment(ids[1]).layer == 1
    check_invariants(seg)
