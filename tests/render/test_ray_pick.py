"""Picking in 3D from the voxels: the first shown segment along a ray, against a brute-force walk on tiny volumes."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from app.model.geometry import Geometry
from app.model.segment import Segment
from app.model.segmentation import Segmentation
from app.render.ray_pick import first_segment_on_ray

PERMUTED = ((0.0, 0.0, 1.0), (1.0, 0.0, 0.0), (0.0, -1.0, 0.0))


def make_seg(layers, spacing=(1.0, 1.5, 2.0), directions=PERMUTED) -> Segmentation:
    geo = Geometry(layers[0].shape, spacing, (10.0, -5.0, 3.0), directions)
    segs = [Segment(f"L{n}v{v}", f"L{n}v{v}", (0.5, 0.5, 0.5), n, int(v))
            for n, arr in enumerate(layers) for v in np.unique(arr) if v]
    return Segmentation.from_layers(geo, list(layers), segs)


def brute_force(seg, shown, axis, line, forward):
    """Walk the voxel line along lattice `axis` one voxel at a time: the first voxel holding a shown segment."""
    n = seg.geometry.shape[axis]
    for step in (range(n) if forward else range(n - 1, -1, -1)):
        ijk = list(line)
        ijk.insert(axis, step)
        hits = [sid for sid in seg.segments_at_voxel(ijk) if sid in shown]
        if hits:
            return hits
    return []


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_a_ray_along_a_lattice_line_hits_the_first_shown_voxel(data):
    shape = (7, 6, 5)
    seed = data.draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    layers = [np.where(rng.random(shape) < 0.25, rng.integers(1, 4, shape), 0).astype(np.uint8) for _ in range(2)]
    seg = make_seg(layers)
    ids = seg.segment_ids
    shown = set(data.draw(st.lists(st.sampled_from(ids), unique=True))) if ids else set()
    axis = data.draw(st.integers(0, 2))
    others = [n for a, n in enumerate(shape) if a != axis]
    line = [data.draw(st.integers(0, others[0] - 1)), data.draw(st.integers(0, others[1] - 1))]
    forward = data.draw(st.booleans())
    start = list(line)
    start.insert(axis, -3.0 if forward else shape[axis] + 2.0)        # from outside the lattice
    step = [0.0, 0.0, 0.0]
    step[axis] = 1.0 if forward else -1.0
    geo = seg.geometry
    origin = geo.index_to_physical(start)
    direction = geo.index_to_physical(np.add(start, step)) - origin
    got = first_segment_on_ray(seg, origin, direction, shown)
    expected = brute_force(seg, shown, axis, line, forward)
    if not expected:
        assert got is None
    else:
        assert got in expected


def test_an_oblique_ray_that_misses_the_lattice_hits_nothing_and_hidden_segments_are_transparent():
    arr = np.zeros((10, 10, 10), dtype=np.uint8)
    arr[2:8, 2:8, 2:8] = 1
    arr[4:6, 4:6, 4:6] = 2
    seg = make_seg([arr], spacing=(1.0, 1.0, 1.0), directions=((1, 0, 0), (0, 1, 0), (0, 0, 1)))
    centre = seg.geometry.index_to_physical((4.5, 4.5, -20))
    assert first_segment_on_ray(seg, centre, (0, 0, 1), set(seg.segment_ids)) == "L0v1"
    assert first_segment_on_ray(seg, centre, (0, 0, 1), {"L0v2"}) == "L0v2"     # the outer one hidden
    assert first_segment_on_ray(seg, centre, (0, 0, -1), set(seg.segment_ids)) is None   # looking away
    far = seg.geometry.index_to_physical((40, 40, -20))
    assert first_segment_on_ray(seg, far, (0, 1, 1), set(seg.segment_ids)) is None
