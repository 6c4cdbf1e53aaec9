"""Model events (psygnal): the subscription API the views and the other modules use, and the cases the old
hand-made signal got wrong (a slot connected or disconnected during an emit was dropped or revived)."""
import gc

import numpy as np

from app.model.edits import EditMode, apply_mask
from app.model.events import SegmentationEvents, VoxelChange
from app.model.geometry import Geometry
from app.model.segmentation import Segmentation


def test_a_slot_connected_during_an_emit_is_kept_for_the_next_one():
    ev = SegmentationEvents()
    calls = []

    def late(ids):
        calls.append(("late", ids))

    def first(ids):
        calls.append(("first", ids))
        ev.segments_changed.connect(late)

    ev.segments_changed.connect(first)
    ev.segments_changed.emit(frozenset({"a"}))
    ev.segments_changed.disconnect(first)
    ev.segments_changed.emit(frozenset({"b"}))
    assert ("late", frozenset({"b"})) in calls          # the old Signal lost it: its list was rebuilt after the emit
    assert calls[0] == ("first", frozenset({"a"}))


def test_a_slot_disconnected_during_an_emit_stays_disconnected():
    ev = SegmentationEvents()
    calls = []

    def victim():
        calls.append("victim")

    def killer():
        calls.append("killer")
        ev.structure_changed.disconnect(victim)

    ev.structure_changed.connect(killer)
    ev.structure_changed.connect(victim)
    ev.structure_changed.emit()
    n = calls.count("victim")
    ev.structure_changed.emit()
    ev.structure_changed.emit()
    assert calls.count("victim") == n                   # the old Signal revived it
    assert calls.count("killer") == 3


def test_bound_methods_are_held_weakly():
    ev = SegmentationEvents()
    got = []

    class View:
        def on_voxels(self, changes):
            got.append(changes)

    v = View()
    ev.voxels_changed.connect(v.on_voxels)
    ev.voxels_changed.emit([1])
    del v
    gc.collect()
    ev.voxels_changed.emit([2])
    assert got == [[1]]


def test_one_voxels_changed_per_operation_with_the_written_box():
    seg = Segmentation(Geometry((6, 7, 8)))
    sid = seg.add_segment("a").id
    got = []
    seg.events.voxels_changed.connect(got.append)
    mask = np.zeros((2, 3, 4), bool)
    mask[0, 1, 2] = mask[1, 2, 3] = True
    apply_mask(seg, sid, mask, (slice(1, 3), slice(2, 5), slice(3, 7)), EditMode.ADD)
    assert len(got) == 1 and len(got[0]) == 1
    change = got[0][0]
    assert isinstance(change, VoxelChange) and change.segment_ids == frozenset({sid})
    written = np.argwhere(seg.layers[change.layer] != 0)
    lo = [s.start for s in change.box]
    hi = [s.stop for s in change.box]
    assert (written >= lo).all() and (written < hi).all()
    seg.events.voxels_changed.disconnect(got.append)
    apply_mask(seg, sid, mask, (slice(0, 2), slice(0, 3), slice(0, 4)), EditMode.ADD)
    assert len(got) == 1
