"""Stitched sub-box re-meshing gives the surface a full re-mesh gives (property test on random edits)."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from vtkmodules.util.numpy_support import vtk_to_numpy

from app.model.geometry import Geometry
from app.model.segment import Segment
from app.model.segmentation import Segmentation
from app.render import stitch as T
from app.render.surfaces import segment_job

PERMUTED = ((0.0, 0.0, 1.0), (1.0, 0.0, 0.0), (0.0, -1.0, 0.0))    # the SPL atlas' mirrored, permuted axes


def make_seg(arr, directions) -> Segmentation:
    geo = Geometry(arr.shape, (1.0, 1.5, 2.0), (10.0, -5.0, 3.0), directions or ((1, 0, 0), (0, 1, 0), (0, 0, 1)))
    segs = [Segment(f"id{v}", f"seg {v}", (0.5, 0.5, 0.5), 0, v) for v in (1, 2, 3)]
    return Segmentation.from_layers(geo, [arr], segs)


def full_mesh(seg, sid):
    job = segment_job(seg, sid, smoothing=False)
    return None if job is None else job.run()[sid]


def facts(mesh, m):
    """Independent of vertex order: the set of vertex cells, the triangles as sets of cells, the signed volume,
    closedness (every edge in exactly two triangles, once each way; SurfaceNets' own surface is not where a
    segment touches itself along an edge) and the Euler characteristic."""
    pts = vtk_to_numpy(mesh.GetPoints().GetData()).astype(float)
    tri = vtk_to_numpy(mesh.GetPolys().GetConnectivityArray()).reshape(-1, 3)
    keys = T.keys_of(pts, m)
    used = np.unique(tri)
    p0, p1, p2 = pts[tri[:, 0]], pts[tri[:, 1]], pts[tri[:, 2]]
    volume = float(np.einsum("ij,ij->i", p0, np.cross(p1, p2)).sum() / 6)
    edges = np.concatenate([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [2, 0]]])
    directed = {tuple(e) for e in edges}
    closed = len(directed) == len(edges) and all((b, a) in directed for a, b in directed)
    euler = len(used) - len(edges) // 2 + len(tri)
    return {tuple(k) for k in keys[used]}, len(tri), round(volume, 3), closed, euler


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_stitched_remesh_equals_a_full_remesh_on_random_edits(data):
    shape = (12, 10, 9)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31 - 1)))
    arr = np.zeros(shape, np.uint8)
    for value in (1, 2, 3):                      # a few random boxes per label, some touching the lattice's edge
        for _ in range(3):
            lo = rng.integers(0, np.array(shape) - 1)
            hi = np.minimum(lo + rng.integers(1, 7, 3), shape)
            arr[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]] = value
    directions = data.draw(st.sampled_from([None, PERMUTED]))
    seg = make_seg(arr, directions)
    sid = data.draw(st.sampled_from(["id1", "id2", "id3"]))
    old = full_mesh(seg, sid)
    # an edit: random values (this segment's label or not) in a random box, written straight into the layer
    lo = [data.draw(st.integers(0, n - 1)) for n in shape]
    hi = [min(a + data.draw(st.integers(1, 5)), n) for a, n in zip(lo, shape)]
    box = tuple(slice(a, b) for a, b in zip(lo, hi))
    patch = rng.choice([0, 1, 2, 3], size=[b - a for a, b in zip(lo, hi)], p=[0.3, 0.3, 0.2, 0.2])
    seg.layers[0][box] = patch.astype(np.uint8)
    fresh = make_seg(seg.layers[0].copy(), directions)         # the reference: a new document, meshed whole
    expected = full_mesh(fresh, sid) if (seg.layers[0] == int(sid[2:])).any() else None
    if old is None:                              # no surface to stitch into: nothing to compare
        return
    got = T.stitch(seg, sid, old, box)
    if expected is None:
        assert got is None
        return
    m = seg.geometry.ijk_to_lps
    g, e = facts(got, m), facts(expected, m)
    assert g[0] == e[0]                          # the same vertices (cells), up to order
    assert g[1:] == e[1:]                        # as many triangles, the same enclosed volume, closed, same Euler
