"""Surface areas from the SurfaceNets meshes vs the sphere's formula (4 pi r^2), on a permuted anisotropic lattice."""
from __future__ import annotations

import numpy as np
import pytest

from app.model.geometry import Geometry
from app.model.segment import Segment
from app.model.segmentation import Segmentation
from app.render.surface_area import surface_areas


def test_ball_area_on_an_anisotropic_permuted_lattice():
    g = Geometry((50, 40, 70), (1.0, 1.25, 0.6), (0.0, 0.0, 0.0),
                 ((0.0, 1.0, 0.0), (0.0, 0.0, -1.0), (1.0, 0.0, 0.0)))
    centre = np.array([24.5, 19.5, 34.5])
    d = np.linalg.norm((np.indices(g.shape).T - centre).T * np.array(g.spacing)[:, None, None, None], axis=0)
    labels = np.zeros(g.shape, np.uint8)
    labels[d <= 16.0] = 3
    labels[(d > 16.0) & (d <= 19.0)] = 5            # a shell around it: the ball's surface is shared
    seg = Segmentation.from_layers(g, [labels], [Segment("ball", "ball", (1, 0, 0), 0, 3),
                                                 Segment("shell", "shell", (0, 1, 0), 0, 5)])
    areas = surface_areas(seg)
    assert areas["ball"] == pytest.approx(4 * np.pi * 16.0 ** 2, rel=0.05)
    assert areas["shell"] == pytest.approx(4 * np.pi * (16.0 ** 2 + 19.0 ** 2), rel=0.05)
    # the staircase of voxel faces (what an unsmoothed count gives) is ~1.5x the sphere: smoothing matters
    faces = sum(np.count_nonzero(np.diff(np.pad(labels == 3, 1).astype(np.int8), axis=a)) *
                np.prod(g.spacing) / g.spacing[a] for a in range(3))
    assert faces > 1.3 * areas["ball"]
    assert surface_areas(seg, ["ball"])["ball"] == pytest.approx(areas["ball"], rel=0.02)


def test_empty_segment_has_zero_area():
    g = Geometry((5, 5, 5))
    seg = Segmentation.from_layers(g, [np.zeros(g.shape, np.uint8)], [Segment("e", "e", (1, 0, 0), 0, 1)])
    assert surface_areas(seg) == {"e": 0.0}
