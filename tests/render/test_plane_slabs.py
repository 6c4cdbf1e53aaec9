"""PlaneSlicer against direct indexing, with voxel edits in between (the block cache must follow them)."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from app.render.plane_slabs import SLAB, PlaneSlicer


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_planes_equal_direct_slicing_through_edits(data):
    order = data.draw(st.sampled_from(["F", "C"]))
    shape = (13, 7, 11)
    rng = np.random.default_rng(data.draw(st.integers(0, 1000)))
    arr = np.asarray(rng.integers(0, 50, size=shape), dtype=np.int16, order=order)
    axis = data.draw(st.integers(0, 2))
    ps = PlaneSlicer(arr, axis)
    assert ps.blocked == ((order == "F" and axis == 0) or (order == "C" and axis == 2))
    for _ in range(data.draw(st.integers(1, 12))):
        if data.draw(st.booleans()):
            box = tuple(slice(*sorted(data.draw(st.lists(st.integers(0, n), min_size=2, max_size=2, unique=True))))
                        for n in shape)
            arr[box] = rng.integers(0, 50, size=tuple(b.stop - b.start for b in box))
            ps.update(box)
        index = data.draw(st.integers(0, shape[axis] - 1))
        sl = [slice(None)] * 3
        sl[axis] = index
        assert np.array_equal(ps.plane(index), arr[tuple(sl)])


def test_browsing_gathers_one_block_per_slab():
    arr = np.asfortranarray(np.arange(40 * 5 * 6, dtype=np.int32).reshape(40, 5, 6))
    ps = PlaneSlicer(arr, 0)
    ps.plane(0)
    block = ps._block
    for i in range(1, SLAB):
        ps.plane(i)
        assert ps._block is block
    ps.plane(SLAB)
    assert ps._block is not block
