"""Colouring label slices: outlines, partial (box) updates equal a full re-render, window/level."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from app.model.segment import Segment
from app.render.lut import build_lut
from app.render.lut import to_rgba
from app.render.overlay import GreyLut, LabelStyle, boundary, colour_labels, recolour_box, window_level


def _lut(n=5):
    return build_lut([Segment(f"s{v}", f"n{v}", (v / n, 1 - v / n, 0.5), 0, v) for v in range(1, n + 1)], 0.5, 1.0)


def test_boundary_marks_both_sides_of_each_border():
    lab = np.array([[0, 0, 0, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]])
    b = boundary(lab)
    assert b[1:3, 1:3].all() and not b[0, 0] and b[0, 1]


def test_outline_only_leaves_the_inside_transparent():
    lab = np.zeros((7, 7), dtype=np.uint8)
    lab[1:6, 1:6] = 2
    out = to_rgba(colour_labels(lab, _lut(), LabelStyle(fill=False, outline=True)))
    assert out[3, 3, 3] == 0 and out[1, 3, 3] == 255 and out[0, 0, 3] == 0


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_recolour_box_equals_full_render(data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    lab = rng.integers(0, 4, size=(12, 15)).astype(np.uint8)
    style = LabelStyle(fill=data.draw(st.booleans()), outline=data.draw(st.booleans()))
    lut = _lut()
    out = colour_labels(lab, lut, style)
    r0, r1 = sorted(data.draw(st.lists(st.integers(0, 12), min_size=2, max_size=2, unique=True)))
    c0, c1 = sorted(data.draw(st.lists(st.integers(0, 15), min_size=2, max_size=2, unique=True)))
    lab[r0:r1, c0:c1] = rng.integers(0, 6, size=(r1 - r0, c1 - c0))
    recolour_box(out, lab, lut, style, slice(r0, r1), slice(c0, c1))
    assert np.array_equal(out, colour_labels(lab, lut, style))


def test_window_level_ramp():
    g = np.array([-100, 0, 50, 100, 200], dtype=np.int16)
    assert list(window_level(g, 100, 50)) == [0, 0, 127, 255, 255]


def test_grey_lut_equals_the_arithmetic_ramp_for_every_dtype():
    rng = np.random.default_rng(1)
    for dtype in (np.int8, np.uint8, np.int16, np.uint16, np.int32, np.float32):
        info = np.iinfo(dtype) if np.dtype(dtype).kind in "iu" else None
        lo, hi = (info.min, info.max) if info else (-3000, 3000)
        g = rng.integers(lo, hi, size=(9, 11), endpoint=True).astype(dtype)
        lut = GreyLut(dtype, 700.0, 40.0)
        got = lut.apply(g[:, ::-1])                       # views welcome
        ramp = window_level(g[:, ::-1], 700.0, 40.0).astype(np.uint32)
        assert got.flags.c_contiguous and got.dtype == np.uint32
        assert np.array_equal(got, 0xFF000000 | ramp * 0x010101), dtype


def test_label_images_follow_edits_on_neighbouring_slices_of_a_gathered_block():
    """A Fortran-ordered layer viewed along i: planes come from a block of neighbouring slices; an edit on a slice
    that is not shown must still reach the block before the view moves there."""
    from app.model.events import VoxelChange
    from app.model.geometry import Geometry
    from app.render.overlay import LabelImages
    from app.render.view_orientation import Plane, SliceFrame

    geo = Geometry((16, 9, 10))
    layer = np.asfortranarray(np.zeros(geo.shape, dtype=np.uint8))
    frame = SliceFrame.for_geometry(geo, Plane.SAGITTAL)
    assert frame.plane_axis == 0
    lut, style = _lut(), LabelStyle(fill=True, outline=False)
    imgs = LabelImages()
    imgs.render([layer], [lut], frame, 2, style)
    box = (slice(3, 5), slice(2, 6), slice(1, 4))          # slices 3..4: not the one shown
    layer[box] = 4
    imgs.note_voxels([VoxelChange(0, box, frozenset())])
    imgs.update_voxels([VoxelChange(0, box, frozenset())], [layer], [lut], frame, style)
    assert np.array_equal(imgs.images[0], colour_labels(frame.extract(layer, 2), lut, style))
    imgs.render([layer], [lut], frame, 3, style)
    assert np.array_equal(imgs.images[0], colour_labels(frame.extract(layer, 3), lut, style))
    assert (imgs.slices[0] == 4).sum() == 12
