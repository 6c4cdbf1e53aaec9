"""Anatomical slicing: views of the arrays, orientation from the direction matrix, exact coordinate maps."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.model.geometry import Geometry
from app.render.view_orientation import Plane, SliceFrame, anatomical_axes

SIGNED_PERMUTATIONS = [(p, s) for p in itertools.permutations(range(3)) for s in itertools.product((1, -1), repeat=3)]


def _directions(perm, signs):
    """Columns = LPS unit vectors of i, j, k: lattice axis a runs along LPS axis perm[a] with sign signs[a]."""
    d = np.zeros((3, 3))
    for a in range(3):
        d[perm[a], a] = signs[a]
    return d


@pytest.mark.parametrize("perm,signs", SIGNED_PERMUTATIONS)
def test_anatomical_axes_inverts_any_signed_permutation(perm, signs):
    axis_of, sign_of = anatomical_axes(_directions(perm, signs))
    for a in range(3):
        assert axis_of[perm[a]] == a and sign_of[perm[a]] == signs[a]


def test_oblique_lattice_snaps_to_the_closest_axes():
    t = np.radians(20)
    rot = np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]])
    axis_of, sign_of = anatomical_axes(rot)
    assert axis_of == (0, 1, 2) and sign_of == (1, 1, 1)


def _lps_of_screen(frame, geo, index):
    """LPS of pixel (0,0), one step down and one step right: to check what the screen axes mean."""
    p00 = geo.index_to_physical(frame.to_ijk(0.5, 0.5, index))
    down = geo.index_to_physical(frame.to_ijk(0.5, 1.5, index)) - p00
    right = geo.index_to_physical(frame.to_ijk(1.5, 0.5, index)) - p00
    return down, right


# radiological convention: (down, right) as LPS unit vectors
EXPECTED = {Plane.AXIAL: ((0, 1, 0), (1, 0, 0)), Plane.CORONAL: ((0, 0, -1), (1, 0, 0)),
            Plane.SAGITTAL: ((0, 0, -1), (0, 1, 0))}


@pytest.mark.parametrize("perm,signs", SIGNED_PERMUTATIONS[::5] + [((1, 2, 0), (1, -1, 1))])
@pytest.mark.parametrize("plane", list(Plane))
def test_screen_axes_are_anatomical_whatever_the_index_order(perm, signs, plane):
    geo = Geometry((5, 6, 7), (1.0, 2.0, 3.0), (0, 0, 0), _directions(perm, signs))
    frame = SliceFrame.for_geometry(geo, plane)
    down, right = _lps_of_screen(frame, geo, 2)
    want_down, want_right = EXPECTED[plane]
    assert np.allclose(down / np.linalg.norm(down), want_down)
    assert np.allclose(right / np.linalg.norm(right), want_right)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(SIGNED_PERMUTATIONS), st.sampled_from(list(Plane)), st.data())
def test_extract_is_a_view_matching_the_index_map(ps, plane, data):
    perm, signs = ps
    shape = (4, 5, 6)
    geo = Geometry(shape, directions=_directions(perm, signs))
    arr = np.arange(np.prod(shape)).reshape(shape)
    frame = SliceFrame.for_geometry(geo, plane)
    index = data.draw(st.integers(0, frame.n_slices - 1))
    s = frame.extract(arr, index)
    assert np.shares_memory(s, arr) and s.shape == (frame.rows, frame.cols)
    r = data.draw(st.integers(0, frame.rows - 1))
    c = data.draw(st.integers(0, frame.cols - 1))
    ijk = frame.to_ijk(c + 0.5, r + 0.5, index)
    assert all(float(v).is_integer() for v in ijk)
    assert s[r, c] == arr[tuple(int(v) for v in ijk)]
    x, y = frame.to_display(ijk)
    assert (x, y) == (c + 0.5, r + 0.5)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(SIGNED_PERMUTATIONS), st.sampled_from(list(Plane)), st.data())
def test_display_range_covers_exactly_the_box(ps, plane, data):
    perm, signs = ps
    shape = (6, 7, 8)
    frame = SliceFrame.for_geometry(Geometry(shape, directions=_directions(perm, signs)), plane)
    box = tuple(slice(a, b) for a, b in (sorted(data.draw(st.lists(st.integers(0, n), min_size=2, max_size=2,
                                                                   unique=True))) for n in shape))
    arr = np.zeros(shape, dtype=bool)
    arr[box] = True
    index = data.draw(st.integers(0, frame.n_slices - 1))
    shown = frame.extract(arr, index)
    if not frame.crosses(box, index):
        assert not shown.any()
        return
    rows, cols = frame.display_range(box)
    expect = np.zeros_like(shown)
    expect[rows, cols] = True
    assert np.array_equal(shown, expect)
