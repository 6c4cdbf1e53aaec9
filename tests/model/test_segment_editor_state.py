"""EditorState: setters clamp and signal only on change; policy() carries what apply_mask needs."""
from __future__ import annotations

import numpy as np
import pytest

from app.model.edits import Editable, Overwrite
from app.model.segment_editor_state import (BRUSH_SCALE_STEP, MAX_RADIUS_MM, MIN_RADIUS_MM, EditorState, ToolKind)
from app.model.geometry import Geometry
from app.model.resample import LatticeCache


def test_signals_fire_once_per_real_change():
    st = EditorState()
    seen = []
    for name in ("active_segment_changed", "tool_changed", "brush_changed", "policy_changed"):
        getattr(st, name).connect(lambda *a, n=name: seen.append(n))
    st.tool = ToolKind.PAINT
    st.tool = ToolKind.PAINT
    st.active_segment = "x"
    st.active_segment = "x"
    st.brush_radius_mm = 3.0
    st.brush_radius_mm = 3.0
    st.brush_sphere = True
    st.overwrite = Overwrite.NONE
    st.overwrite = Overwrite.NONE
    st.editable = Editable.BACKGROUND
    st.intensity_range = (50, 10)
    st.erase_all = True
    assert seen == ["tool_changed", "active_segment_changed", "brush_changed", "brush_changed",
                    "policy_changed", "policy_changed", "policy_changed", "policy_changed"]
    assert st.intensity_range == (10.0, 50.0)


def test_brush_radius_is_clamped_and_scaled():
    st = EditorState()
    st.brush_radius_mm = 2.0
    st.scale_brush(2)
    assert st.brush_radius_mm == pytest.approx(2.0 * BRUSH_SCALE_STEP ** 2)
    st.brush_radius_mm = 1e6
    assert st.brush_radius_mm == MAX_RADIUS_MM
    st.brush_radius_mm = -3
    assert st.brush_radius_mm == MIN_RADIUS_MM


def test_policy_uses_the_intensity_range_only_when_on_and_given():
    st = EditorState()
    grey = np.zeros((2, 2, 2))
    st.intensity_range = (1, 2)
    assert st.policy(grey).intensity_range is None
    st.intensity_masking = True
    assert st.policy(None).intensity_range is None
    p = st.policy(grey)
    assert p.intensity is grey and p.intensity_range == (1.0, 2.0)
    st.editable, st.mask_segment, st.overwrite = Editable.INSIDE_SEGMENT, "b", Overwrite.VISIBLE
    p = st.policy(grey)
    assert (p.editable, p.mask_segment, p.overwrite) == (Editable.INSIDE_SEGMENT, "b", Overwrite.VISIBLE)


class Vol:
    def __init__(self, array, geometry):
        self.array, self.geometry = array, geometry


def test_the_reference_is_resampled_once_per_pair():
    cache = LatticeCache()
    same = Geometry((4, 4, 4))
    v = Vol(np.arange(64, dtype=np.int16).reshape(4, 4, 4), same)
    assert cache.get(v, same) is v.array                       # same lattice: no copy at all
    other = Geometry((8, 8, 8), (0.5, 0.5, 0.5))
    g1 = cache.get(v, other)
    assert g1.shape == (8, 8, 8) and cache.get(v, other) is g1
    assert g1[2, 2, 2] == v.array[1, 1, 1]                      # voxel centre 1.0 mm in both
    assert np.isnan(g1[7, 7, 7])                                # beyond the reference's last centre: outside
    assert cache.get(None, other) is None
