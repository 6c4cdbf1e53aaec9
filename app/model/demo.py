"""A deterministic synthetic atlas: a head-like ellipsoid (skin, skull, brain split into ~300 compact
structures, left/right named) and a grey volume with plausible contrast. Used by `segedit --demo` and tests."""
from __future__ import annotations

import numpy as np

from .geometry import Geometry
from .segment import Segment, generated_color, new_segment_id
from .segmentation import Segmentation


def demo_atlas(shape=(128, 128, 112), n_structures: int = 300, seed: int = 7, with_grey: bool = True):
    """Return (segmentation, grey) on one lattice. LPS: i runs to patient Left, j Posterior, k Superior."""
    from scipy import ndimage
    from scipy.spatial import cKDTree

    rng = np.random.default_rng(seed)
    shape = tuple(int(s) for s in shape)
    spacing = (180.0 / shape[0], 220.0 / shape[1], 200.0 / shape[2])
    origin = tuple(-(n - 1) * sp / 2 for n, sp in zip(shape, spacing))
    geo = Geometry(shape, spacing, origin)
    grids = np.meshgrid(*[np.linspace(-1, 1, n, dtype=np.float32) for n in shape], indexing="ij")
    r = np.sqrt(grids[0] ** 2 / 0.85 ** 2 + grids[1] ** 2 / 0.92 ** 2 + (grids[2] + 0.05) ** 2 / 0.9 ** 2)
    labels = np.zeros(shape, dtype=np.uint16)
    segs: list[Segment] = []

    def add(name, value, color=None):
        segs.append(Segment(new_segment_id(), name, color or generated_color(len(segs)), 0, value))

    labels[(r <= 1.0) & (r > 0.93)] = 1
    add("skin", 1, (177 / 255, 122 / 255, 101 / 255))
    labels[(r <= 0.93) & (r > 0.85)] = 2
    add("skull", 2, (241 / 255, 214 / 255, 145 / 255))
    brain = r <= 0.83
    pts = np.argwhere(brain)
    seeds = pts[rng.choice(len(pts), size=n_structures, replace=False)]
    _, nearest = cKDTree(seeds * np.array(spacing)).query(pts * np.array(spacing), k=1)
    labels[tuple(pts.T)] = (nearest + 3).astype(np.uint16)
    mid = shape[0] // 2
    for n, sd in enumerate(seeds):
        side = "Left" if sd[0] >= mid else "Right"      # +i is patient left in LPS
        add(f"{side} structure {n + 1:03d}", n + 3)
    seg = Segmentation.from_layers(geo, [labels.astype(np.uint16)], segs)
    if not with_grey:
        return seg, None
    base = np.where(r <= 1.0, 300.0, -1000.0) + np.where((r <= 0.93) & (r > 0.85), 900.0, 0.0)
    tissue = rng.normal(40.0, 15.0, size=n_structures + 3)
    tissue[:3] = 0
    grey = base + tissue[labels] * (labels > 2)
    grey = ndimage.gaussian_filter(grey, 0.8) + rng.normal(0, 6, size=shape)
    return seg, grey.astype(np.int16)
