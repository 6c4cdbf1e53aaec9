"""Lookup tables: one entry per label, hidden/absent labels transparent, O(1) entry updates."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from app.model.segment import Segment
from app.render.lut import LutSet, build_lut, pack_argb, set_entry, to_rgba, unpack_rgba


def seg(label, color=(1.0, 0.5, 0.0), visible=True, opacity=1.0, layer=0):
    return Segment(f"s{label}", f"n{label}", color, layer, label, visible=visible, opacity=opacity)


def test_pack_is_premultiplied_argb_and_unpacks():
    assert pack_argb((1.0, 0.5, 0.0), 0.5) == (128 << 24) | (128 << 16) | (64 << 8)
    assert unpack_rgba(pack_argb((1.0, 0.5, 0.0), 1.0)) == (255, 128, 0, 255)
    assert unpack_rgba(pack_argb((1.0, 0.5, 0.0), 0.5)) == (255, 128, 0, 128)
    assert unpack_rgba(0) == (0, 0, 0, 0)


def test_colours_hidden_opacity_and_out_of_range_values():
    lut = build_lut([seg(3), seg(7, (0, 0, 1), visible=False), seg(9, (0, 1, 0), opacity=0.5)], 0.6, 1.0)
    labels = np.array([[0, 3, 7], [9, 8, 500]], dtype=np.int16)
    out = to_rgba(lut.colour(labels))
    close = lambda px, want: np.abs(px.astype(int) - want).max() <= 1   # noqa: E731 (premultiplied rounding)
    assert close(out[0, 1], (255, 128, 0, 153))        # fill opacity 0.6
    assert out[0, 0, 3] == 0 and out[0, 2, 3] == 0      # background, hidden
    assert close(out[1, 0], (0, 255, 0, 76))             # segment opacity 0.5 x fill 0.6
    assert out[1, 1, 3] == 0 and out[1, 2, 3] == 0      # no segment / beyond the table
    edge = to_rgba(lut.colour(labels, outline=True))
    assert edge[0, 1, 3] == 255


def test_negative_labels_use_an_offset():
    lut = build_lut([seg(-2), seg(4, (0, 0, 1))], 1.0, 1.0)
    out = to_rgba(lut.colour(np.array([-2, -1, 0, 4], dtype=np.int16)))
    assert list(out[:, 3]) == [255, 0, 0, 255] and tuple(out[3, :3]) == (0, 0, 255)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 300), st.booleans()), min_size=1, max_size=30, unique_by=lambda t: t[0]),
       st.lists(st.integers(0, 320), min_size=1, max_size=200))
def test_lut_matches_a_dictionary_reference(entries, values):
    segs = [seg(lab, (lab % 7 / 7, lab % 5 / 5, lab % 3 / 3), visible=vis) for lab, vis in entries]
    lut = build_lut(segs, 1.0, 1.0)
    ref = {s.label: pack_argb(s.color, 1.0) for s in segs if s.visible}
    got = lut.colour(np.array(values, dtype=np.uint16))
    assert [int(v) for v in got] == [ref.get(v, 0) if ref.get(v, 0) >> 24 else 0 for v in values]


def test_lutset_update_touches_only_the_changed_segments(small_segmentation):
    segm, ids = small_segmentation
    luts = LutSet(segm, 0.5, 1.0)
    before = luts.luts[0].fill.copy()
    segm.update_segment(ids[1], visible=False)
    assert luts.update([ids[1]]) == {0}
    changed = np.nonzero(luts.luts[0].fill != before)[0]
    assert list(changed) == [segm.segment(ids[1]).label]
    set_entry(luts.luts[0], segm.segment(ids[1]), 0.5, 1.0)   # idempotent
    assert luts.luts[0].fill[segm.segment(ids[1]).label] >> 24 == 0


def test_huge_label_values_use_a_sparse_table():
    from app.render.lut import MAX_DENSE

    big = [seg(3), seg(4_000_000_000, (0, 0, 1)), seg(MAX_DENSE * 3, (0, 1, 0), visible=False)]
    lut = build_lut(big, 1.0, 1.0)
    assert lut.keys is not None and len(lut.fill) == 4            # no 4-billion-entry table
    values = np.array([0, 3, 4_000_000_000, MAX_DENSE * 3, 5, 4_000_000_001], dtype=np.uint32)
    out = to_rgba(lut.colour(values))
    assert list(out[:, 3]) == [0, 255, 255, 0, 0, 0] and tuple(out[2, :3]) == (0, 0, 255)
    s = big[1]
    s.color = (1.0, 0.0, 0.0)
    set_entry(lut, s, 1.0, 1.0)                                    # O(1) update in sparse mode too
    assert tuple(to_rgba(lut.colour(values))[2, :3]) == (255, 0, 0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(-5, 3000), st.booleans(), st.floats(0, 1), st.floats(-0.2, 1.2),
                          st.floats(0, 1), st.floats(0, 1)), min_size=1, max_size=60, unique_by=lambda t: t[0]),
       st.floats(0, 1), st.floats(0, 1), st.booleans())
def test_many_entries_at_once_equal_one_by_one(entries, fill, outline, sparse):
    """`set_entries` (numpy, many segments) writes exactly what `set_entry` writes one segment at a time, in dense
    and sparse tables, visible or not, colours and opacities at and beyond the edges of 0..1."""
    from app.render import lut as L

    segs = [Segment(f"s{v}", f"s{v}", (r, g, b), 0, v, visible=vis, opacity=op)
            for v, vis, op, r, g, b in entries]
    if sparse:
        segs.append(Segment("big", "big", (0.1, 0.2, 0.3), 0, 2**31 - 1))
    one = L.build_lut(segs, fill, outline)              # tables of the right shape, then filled both ways
    a = L.LayerLut(np.zeros_like(one.fill), np.zeros_like(one.outline), one.offset, one.keys)
    b = L.LayerLut(np.zeros_like(one.fill), np.zeros_like(one.outline), one.offset, one.keys)
    for s in segs:
        L.set_entry(a, s, fill, outline)
    L.set_entries(b, segs, fill, outline)
    assert np.array_equal(a.fill, b.fill) and np.array_equal(a.outline, b.outline)
