"""Factories for io tests: small segmentations built through the model's own API, and NRRD text helpers."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.model.geometry import Geometry
from app.model.segment import Segment
from app.model.segmentation import Segmentation

OBLIQUE = Geometry((12, 10, 8), (0.5, 0.75, 2.0), (10.0, -20.5, 33.25),
                   ((0.0, 1.0, 0.0), (0.0, 0.0, -1.0), (1.0, 0.0, 0.0)))


def layered(geometry: Geometry = OBLIQUE, seed: int = 0) -> Segmentation:
    """Two layers: layer 0 holds labels 1, 2, 7 (7 empty); layer 1 holds label 1 overlapping layer 0."""
    rng = np.random.default_rng(seed)
    a = np.zeros(geometry.shape, np.uint8)
    a[1:5, 1:4, 1:3] = 1
    a[6:9, 2:8, 3:6] = 2
    b = np.zeros(geometry.shape, np.uint8)
    b[3:7, 2:6, 2:5] = 1
    b[rng.random(geometry.shape) > 0.97] = 1
    segs = [Segment("s1", "alpha", (1.0, 0.0, 0.0), 0, 1, {"Segmentation.Status": "completed", "Custom": "a:b"}),
            Segment("s2", "beta with spaces", (0.0, 0.5, 1.0), 0, 2, extra={"FutureKey": "x y z"}),
            Segment("s3", "overlap", (0.2, 0.3, 0.4), 1, 1, name_auto_generated=True, color_auto_generated=True),
            Segment("s4", "empty", (0.9, 0.9, 0.1), 0, 7)]
    return Segmentation.from_layers(geometry, [a, b], segs)


@pytest.fixture
def two_layers():
    return layered()


def header_of(path) -> str:
    data = Path(path).read_bytes()
    return data[: data.index(b"\n\n")].decode()


def custom_keys(path) -> dict[str, str]:
    out = {}
    for line in header_of(path).splitlines():
        if ":=" in line:
            k, _, v = line.partition(":=")
            out[k] = v
    return out


def assert_same_segmentation(a: Segmentation, b: Segmentation) -> None:
    """Same lattice, same segments (id, name, colour, label), same voxels per segment."""
    assert a.geometry.same_lattice(b.geometry, tol=1e-9)
    assert [s.id for s in a.segments] == [s.id for s in b.segments]
    for sa, sb in zip(a.segments, b.segments):
        assert (sa.name, sa.label, sa.tags, sa.extra) == (sb.name, sb.label, sb.tags, sb.extra)
        assert np.allclose(sa.color, sb.color, atol=5e-6)
        assert (sa.name_auto_generated, sa.color_auto_generated) == (sb.name_auto_generated, sb.color_auto_generated)
        assert np.array_equal(a.mask(sa.id), b.mask(sb.id)), sa.name
