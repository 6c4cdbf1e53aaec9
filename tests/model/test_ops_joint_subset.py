"""Issue 12 item 2: joint smoothing of ANY subset of an atlas opens no holes. A voxel labelled before (by any
segment, any layer) is labelled after, except within the Gaussian's reach (4 sigma + 1 voxel) of a voxel that was
unlabelled before, or of the lattice's edge: the group may only give voxels up where it borders background.
Checked with plain numpy/scipy on random subsets of a synthetic atlas of touching structures."""
from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st
from scipy import ndimage

from app.model.ops import joint_smoothing
from app.model.ops.smoothing import gaussian_sigma

from .ops_cases import make_seg

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _voronoi_atlas(seed: int, n: int = 14, shape=(34, 30, 26), margin: int = 4):
    """n structures tiling an ellipsoid (each voxel goes to its nearest seed), background around it."""
    rng = np.random.default_rng(seed)
    grids = np.indices(shape).reshape(3, -1).T.astype(float)
    centre = (np.array(shape) - 1) / 2
    radii = centre - margin
    inside = (((grids - centre) / radii) ** 2).sum(axis=1) <= 1.0
    seeds = centre + (rng.random((n, 3)) * 2 - 1) * radii * 0.7
    d = ((grids[:, None, :] - seeds[None]) ** 2).sum(axis=2)
    label = np.where(inside, 1 + np.argmin(d, axis=1), 0).reshape(shape)
    return {f"s{k}": label == k for k in range(1, n + 1) if (label == k).any()}


def _labelled(seg):
    out = np.zeros(seg.geometry.shape, bool)
    for arr in seg.layers:
        out |= arr != 0
    return out


def _near_background(before_labelled, spacing, std):
    sigma = gaussian_sigma(std, spacing)
    reach = [2 * (int(math.ceil(4.0 * s)) + 1) + 1 for s in sigma]
    # lattice exterior counts as background (the Gaussian reads it as 0)
    return ndimage.maximum_filter(~before_labelled, size=reach, mode="constant", cval=True)


@SETTINGS
@given(st.integers(0, 10_000), st.data(), st.sampled_from([1.0, 1.5, 2.5]),
       st.sampled_from([(1.0, 1.0, 1.0), (0.8, 1.0, 1.6)]))
def test_joint_smoothing_of_a_random_subset_opens_no_holes(seed, data, std, spacing):
    masks = _voronoi_atlas(seed)
    seg, ids = make_seg(masks, spacing)
    masks = dict(zip(ids, masks.values()))
    subset = data.draw(st.lists(st.sampled_from(ids), min_size=1, max_size=len(ids), unique=True))
    before = _labelled(seg)
    joint_smoothing(seg, subset, std)
    after = _labelled(seg)
    holes = before & ~after
    allowed = _near_background(before, spacing, std)
    assert not (holes & ~allowed).any(), f"{int((holes & ~allowed).sum())} holes away from background"
    # no overlaps inside the layer either (one label per voxel by construction), and unselected segments only
    # lose voxels to the group (overwrite all), never to background
    chosen = set(subset)
    for sid in ids:
        if sid not in chosen:
            lost = masks[sid] & ~seg.mask(sid)
            assert not (lost & ~after).any()


def test_twelve_neighbours_inside_a_larger_atlas_keep_every_interior_voxel():
    """The reported case in small: a group of inner structures, surrounded by unselected ones, at 1 mm."""
    masks = _voronoi_atlas(7, n=30, shape=(48, 44, 40))
    seg, ids = make_seg(masks)
    grids = np.indices(seg.geometry.shape)
    centre = (np.array(seg.geometry.shape) - 1) / 2
    dist = {sid: np.linalg.norm([g[seg.mask(sid)].mean() - c for g, c in zip(grids, centre)]) for sid in ids}
    inner = sorted(ids, key=dist.__getitem__)[:12]
    before = _labelled(seg)
    joint_smoothing(seg, inner, 1.0)
    holes = before & ~_labelled(seg)
    assert not (holes & ~_near_background(before, (1.0, 1.0, 1.0), 1.0)).any()
