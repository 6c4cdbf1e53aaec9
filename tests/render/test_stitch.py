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


def random_case(data, shape, sizes):
    """Three labels, each three random boxes with sides drawn from `sizes`; the axes plain or the SPL atlas'
    permuted, mirrored ones; one of the segments. (rng, directions, seg, segment id)."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31 - 1)))
    arr = np.zeros(shape, np.uint8)
    for value in (1, 2, 3):
        for _ in range(3):
            lo = rng.integers(0, np.array(shape) - 1)
            hi = np.minimum(lo + rng.integers(*sizes, 3), shape)
            arr[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]] = value
    directions = data.draw(st.sampled_from([None, PERMUTED]))
    return rng, directions, make_seg(arr, directions), data.draw(st.sampled_from(["id1", "id2", "id3"]))


def random_edit(data, rng, seg):
    """Random values (the segment's label or not) in a random box of up to 5 voxels a side, written straight into
    the layer; returns the box."""
    shape = seg.geometry.shape
    lo = [data.draw(st.integers(0, n - 1)) for n in shape]
    hi = [min(a + data.draw(st.integers(1, 5)), n) for a, n in zip(lo, shape)]
    box = tuple(slice(a, b) for a, b in zip(lo, hi))
    patch = rng.choice([0, 1, 2, 3], size=[b - a for a, b in zip(lo, hi)], p=[0.3, 0.3, 0.2, 0.2])
    seg.layers[0][box] = patch.astype(np.uint8)
    return box


def closed_and_euler(tri):
    """Closedness (every edge in exactly two triangles, once each way) and the Euler characteristic over the
    vertices the triangles use (SurfaceNets may leave a point no triangle uses)."""
    edges = np.concatenate([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [2, 0]]])
    directed = {tuple(e) for e in edges}
    closed = len(directed) == len(edges) and all((b, a) in directed for a, b in directed)
    return closed, len(np.unique(tri)) - len(edges) // 2 + len(tri)


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
    return ({tuple(k) for k in keys[used]}, len(tri), round(volume, 3)) + closed_and_euler(tri)


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_stitched_remesh_equals_a_full_remesh_on_random_edits(data):
    shape = (12, 10, 9)
    # a few random boxes per label, some touching the lattice's edge
    rng, directions, seg, sid = random_case(data, shape, sizes=(1, 7))
    old = full_mesh(seg, sid)
    box = random_edit(data, rng, seg)
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


def smoothed_mesh(seg, sid):
    """A full smoothed re-mesh of one segment with the cells of its vertices: (mesh, keys) or (None, None)."""
    job = segment_job(seg, sid, smoothing=True, with_keys=True)
    if job is None:
        return None, None
    mesh = job.run()[sid]
    return mesh, job.keys.get(sid)


def edge_axis(cells):
    """Per triangle (`cells`: triangles x 3 cells x 3 axes): the axis of the voxel edge its quad is dual to, the
    one along which its three cells agree."""
    return np.argmax(cells.min(axis=1) == cells.max(axis=1), axis=1)


def quads(mesh, keys):
    """The voxel edge each triangle crosses, as (its lowest cell, the edge's axis), sorted: the quads of the
    surface (smoothing splits a quad along its shorter diagonal, so the triangles themselves may differ)."""
    cells = keys.astype(np.int64)[vtk_to_numpy(mesh.GetPolys().GetConnectivityArray()).reshape(-1, 3)]
    return sorted(map(tuple, np.column_stack([cells.min(axis=1), edge_axis(cells)]).tolist()))


def shape_facts(mesh, keys):
    """Vertex cells (multiset), quads, closedness and Euler: the topology, from the keys (smoothed points do not
    name their cells)."""
    tri = vtk_to_numpy(mesh.GetPolys().GetConnectivityArray()).reshape(-1, 3)
    k = keys.astype(np.int64)
    packed = (k[:, 0] + 4) * 1_000_000 + (k[:, 1] + 4) * 1000 + (k[:, 2] + 4)
    used = np.unique(tri)                       # SurfaceNets may leave a point no triangle uses
    return (sorted(packed[used].tolist()), quads(mesh, keys)) + closed_and_euler(tri)


def volume_of(mesh):
    pts = vtk_to_numpy(mesh.GetPoints().GetData()).astype(float)
    tri = vtk_to_numpy(mesh.GetPolys().GetConnectivityArray()).reshape(-1, 3)
    return float(np.einsum("ij,ij->i", pts[tri[:, 0]], np.cross(pts[tri[:, 1]], pts[tri[:, 2]])).sum() / 6)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_smoothed_stitch_has_the_topology_of_a_full_remesh_and_nearly_its_points(data):
    """Smoothed: the same cells and quads as a full smoothed re-mesh; points within a tenth of a voxel of it (on
    these blobs: measured 0.017 mm at most over 150 cases, 0.076 mm with SMOOTH_MARGIN 1), the enclosed volume
    within 0.1 %."""
    shape = (26, 22, 18)
    # bigger blobs than above: smoothing needs room to spread
    rng, directions, seg, sid = random_case(data, shape, sizes=(3, 15))
    old, old_keys = smoothed_mesh(seg, sid)
    box = random_edit(data, rng, seg)
    expected, expected_keys = smoothed_mesh(make_seg(seg.layers[0].copy(), directions), sid)
    if old is None:
        return
    job = T.stitch_job(seg, sid, old, box, old_keys=old_keys, smoothing=True)
    got = job.run()[sid]
    if expected is None:
        assert got is None
        return
    got_keys = job.keys[sid]
    assert shape_facts(got, got_keys) == shape_facts(expected, expected_keys)
    assert abs(volume_of(got) - volume_of(expected)) <= 0.001 * abs(volume_of(expected))
    # points: matched by cell (cells with one vertex), in voxels of the largest spacing
    def by_cell(mesh, keys):
        k = keys.astype(np.int64)
        packed = (k[:, 0] + 4) * 1_000_000 + (k[:, 1] + 4) * 1000 + (k[:, 2] + 4)
        used = np.zeros(len(packed), bool)
        used[vtk_to_numpy(mesh.GetPolys().GetConnectivityArray())] = True
        uniq, counts = np.unique(packed[used], return_counts=True)
        single = used & np.isin(packed, uniq[counts == 1])
        return dict(zip(packed[single].tolist(), vtk_to_numpy(mesh.GetPoints().GetData())[single]))
    g, e = by_cell(got, got_keys), by_cell(expected, expected_keys)
    common = sorted(set(g) & set(e))
    diff = np.abs(np.array([g[c] for c in common]) - np.array([e[c] for c in common])).max() if common else 0.0
    assert diff <= 0.1, diff                     # mm; spacing 1 to 2 mm (a wrong cell would be off by ~1 voxel)


def test_point_normals_are_vtks_triangle_mesh_point_normals():
    """The normals recomputed around a stitch are the ones vtkTriangleMeshPointNormals gives the whole surface."""
    rng = np.random.default_rng(7)
    arr = (rng.random((14, 12, 10)) < 0.55).astype(np.uint8)
    seg = make_seg(arr, PERMUTED)
    mesh = segment_job(seg, "id1", smoothing=True).run()["id1"]
    pts = vtk_to_numpy(mesh.GetPoints().GetData())
    tri = vtk_to_numpy(mesh.GetPolys().GetConnectivityArray()).reshape(-1, 3)
    vtk_normals = vtk_to_numpy(mesh.GetPointData().GetNormals())
    some = rng.choice(len(pts), size=len(pts) // 3, replace=False)
    start = np.zeros_like(vtk_normals)
    got = T.point_normals(pts, tri, start, some)
    np.testing.assert_allclose(got[some], vtk_normals[some], atol=2e-4)      # VTK sums in float32
    others = np.setdiff1d(np.arange(len(pts)), some)
    assert not got[others].any()                  # only the vertices asked for are recomputed


def quads_and_cells_agree(mesh, keys, m) -> bool:
    """Whether `keys` can be the cells of `mesh`'s vertices: one per vertex; every triangle half of a SurfaceNets
    quad (its three cells the same along one axis, one apart along the two others); each vertex near its cell's
    centre (smoothing moves a vertex by up to the voxel diagonal for one segment; up to 2.7 voxels at junctions of
    three labels in a layer's pass: the bound is twice the diagonal)."""
    from app.render.surfaces import to_ijk

    if len(keys) != mesh.GetNumberOfPoints():
        return False
    tri = vtk_to_numpy(mesh.GetPolys().GetConnectivityArray()).reshape(-1, 3)
    cells = keys[tri]
    span = cells.max(axis=1).astype(np.int32) - cells.min(axis=1)
    if not np.all(((span == 0).sum(axis=1) == 1) & ((span == 1).sum(axis=1) == 2)):
        return False
    d = to_ijk(vtk_to_numpy(mesh.GetPoints().GetData()), m) - (keys + 0.5)
    return bool(np.einsum("ij,ij->i", d, d).max() <= 12.0)


def random_layer(seed, shape=(20, 18, 16)):
    rng = np.random.default_rng(seed)
    arr = np.zeros(shape, np.uint8)
    for value in (1, 2, 3):
        for _ in range(4):
            lo = rng.integers(0, 14, 3)
            arr[lo[0]:lo[0] + rng.integers(3, 9), lo[1]:lo[1] + rng.integers(3, 9), lo[2]:lo[2] + rng.integers(3, 9)] = value
    return make_seg(arr, PERMUTED)


def test_keys_of_a_layer_pass_name_the_cells_of_its_smoothed_vertices():
    """A layer's smoothed pass with keys (the points before smoothing, caught on their way to the smoother) names
    the cell of each vertex of every surface: with them the smoothed triangles are exactly the quads of the
    unsmoothed surface (whose cells come from its points), and every vertex is near its cell's centre. Keys in
    another order are refused by the same check, so it can fail."""
    from app.render.surfaces import plan_jobs

    seg = random_layer(3)
    (smoothed_job,), _ = plan_jobs(seg, seg.segment_ids, True, per_segment_below=2, with_keys=True)
    smoothed = smoothed_job.run()
    (raw_job,), _ = plan_jobs(seg, seg.segment_ids, False, per_segment_below=2)
    raw = raw_job.run()
    m = seg.geometry.ijk_to_lps
    for sid, mesh in smoothed.items():
        keys = smoothed_job.keys[sid]
        assert quads_and_cells_agree(mesh, keys, m)
        raw_keys = T.keys_of(vtk_to_numpy(raw[sid].GetPoints().GetData()), m)
        assert shape_facts(mesh, keys)[:2] == shape_facts(raw[sid], raw_keys)[:2]
        assert not quads_and_cells_agree(mesh, np.roll(keys, 1, axis=0), m)


def test_the_points_before_smoothing_are_an_unsmoothed_pass_s_and_a_second_pass_stands_in(monkeypatch):
    """The points caught before smoothing are exactly those of a separate unsmoothed pass; and should the smoother
    not announce itself (another VTK), the keys come from that second pass and are the same."""
    from app.render import surfaces
    from app.render.surfaces import _surface_nets, plan_jobs

    seg = random_layer(5)
    block = plan_jobs(seg, seg.segment_ids, True, per_segment_below=2)[0][0].block
    labels = [1, 2, 3]
    caught = _surface_nets(block, labels, True, raw=True).raw_points
    second = vtk_to_numpy(_surface_nets(block, labels, False).GetOutput().GetPoints().GetData())
    assert len(caught) and np.array_equal(caught, second)

    def job_keys():
        (job,), _ = plan_jobs(seg, seg.segment_ids, True, per_segment_below=2, with_keys=True)
        job.run()
        return job.keys
    caught_keys = job_keys()
    monkeypatch.setattr(surfaces, "_catch_points_before_smoothing", lambda nets, caught: None)
    fallback = job_keys()
    assert set(fallback) == set(caught_keys) == set(seg.segment_ids)
    assert all(np.array_equal(fallback[sid], caught_keys[sid]) for sid in caught_keys)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_replaced_rows_are_the_old_ones_without_the_dropped_plus_the_added(data):
    """`_replaced` (the stitch's one copy of the old triangles): as a multiset, old rows minus dropped plus added."""
    n = data.draw(st.integers(0, 40))
    tri = np.arange(3 * n, dtype=np.int32).reshape(-1, 3)
    drop = np.array(sorted(data.draw(st.sets(st.integers(0, max(n - 1, 0)), max_size=n))) if n else [], np.int64)
    added = -1 - np.arange(3 * data.draw(st.integers(0, 40)), dtype=np.int32).reshape(-1, 3)
    got = T._replaced(tri, drop, added)
    expected = np.concatenate([np.delete(tri, drop, axis=0), added])
    assert sorted(map(tuple, got.tolist())) == sorted(map(tuple, expected.tolist()))


def test_seam_cells_with_two_vertices_are_joined_through_the_border_triangles(monkeypatch):
    """Where a segment touches itself along an edge, SurfaceNets puts two vertices in one cell; on the stitch's seam
    such a vertex is named by the unchanged border triangle it shares with the old surface (`_match_by_triangles`).
    Columns in a checkerboard make many such cells across the seam: the stitch equals a full re-mesh, smoothed or
    not, and the matching did join vertices (the random-blob tests rarely reach it)."""
    arr = np.zeros((22, 14, 12), np.uint8)
    i, j = np.meshgrid(np.arange(22), np.arange(14), indexing="ij")
    board = ((i + j) % 2 == 0) & (i >= 2) & (i < 20) & (j >= 2) & (j < 12)
    arr[board, 3:9] = 1
    joined = []
    original = T._match_by_triangles

    def counted(old_keys, dropped, new_keys, keep_new, vertices, still, remap_new):
        before = remap_new.copy()
        original(old_keys, dropped, new_keys, keep_new, vertices, still, remap_new)
        joined.append(int((before != remap_new).sum()))
    monkeypatch.setattr(T, "_match_by_triangles", counted)
    box = (slice(9, 12), slice(5, 8), slice(5, 7))
    for smoothing in (False, True):
        seg = make_seg(arr.copy(), PERMUTED)
        old, old_keys = smoothed_mesh(seg, "id1") if smoothing else (full_mesh(seg, "id1"), None)
        seg.layers[0][box] = 1
        seg.invalidate_statistics(0)
        got = T.stitch(seg, "id1", old, box, old_keys=old_keys, smoothing=smoothing)
        fresh = make_seg(seg.layers[0].copy(), PERMUTED)
        m = seg.geometry.ijk_to_lps
        if smoothing:
            expected, expected_keys = smoothed_mesh(fresh, "id1")
            job = T.stitch_job(seg, "id1", old, box, old_keys=old_keys, smoothing=True)
            got = job.run()["id1"]
            assert shape_facts(got, job.keys["id1"]) == shape_facts(expected, expected_keys)
        else:
            assert facts(got, m) == facts(full_mesh(fresh, "id1"), m)
    assert sum(joined) > 0


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_in_box_is_the_plain_box_test_on_few_and_many_keys(data):
    """`in_box` filters many keys axis by axis (thinnest first) and few column by column: both are the plain test."""
    n = data.draw(st.sampled_from([0, 5, 19_999, 20_000, 30_000]))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31 - 1)))
    keys = rng.integers(-1, 40, (n, 3)).astype(data.draw(st.sampled_from([np.int16, np.int32])))
    lo = [data.draw(st.integers(-2, 40)) for _ in range(3)]
    hi = [a + data.draw(st.integers(-1, 30)) for a in lo]
    expected = np.all((keys >= np.array(lo)) & (keys <= np.array(hi)), axis=1)
    assert np.array_equal(T.in_box(keys, lo, hi), expected)


def label_across(arr, keys, tri, label):
    """For each triangle of the surface of `label` (cells `keys`): the label of the voxel on its other side, from
    the voxels (a triangle is half of the quad dual to the edge between two voxels: along the axis on which its
    cells agree, at the higher cell on the two others); outside the lattice is background."""
    cells = keys.astype(np.int64)[tri]
    axis = edge_axis(cells)
    rows = np.arange(len(tri))
    v = cells.max(axis=1)
    v[rows, axis] = cells[rows, 0, axis]
    w = v.copy()
    w[rows, axis] += 1

    def labels_at(p):
        inside = np.all((p >= 0) & (p < np.array(arr.shape)), axis=1)
        out = np.zeros(len(p), arr.dtype)
        out[inside] = arr[tuple(p[inside].T)]
        return out
    a, b = labels_at(v), labels_at(w)
    assert np.all((a == label) != (b == label))          # one side is the segment, the other not
    return np.where(a == label, b, a)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_a_stitch_keeps_the_label_across_each_old_face_and_draws_the_new_ones(data):
    """Culling survives an edit: a stitched surface of a layer's pass keeps, for its old triangles, the label across
    each (still the voxel's across it: the edit did not reach them) and has 0 (always drawn) for the new part and
    the re-smoothed band. Checked against the voxels after the edit; before it, every side is the voxel's across."""
    from app.render.surfaces import plan_jobs

    smoothing = data.draw(st.booleans())
    rng, directions, seg, sid = random_case(data, (18, 16, 14), sizes=(2, 9))
    (job,), _ = plan_jobs(seg, seg.segment_ids, smoothing, per_segment_below=2, with_keys=True)
    old = job.run()[sid]
    if old is None:
        return
    label = seg.segment(sid).label
    old_tri = vtk_to_numpy(old.GetPolys().GetConnectivityArray()).reshape(-1, 3)
    assert np.array_equal(job.sides[sid], label_across(seg.layers[0], job.keys[sid], old_tri, label))
    box = random_edit(data, rng, seg)
    seg.invalidate_statistics(0)
    if not (seg.layers[0] == label).any():
        return
    stitched = T.stitch_job(seg, sid, old, box, old_keys=job.keys[sid], smoothing=smoothing,
                            old_sides=job.sides[sid])
    mesh = stitched.run()[sid]
    tri = vtk_to_numpy(mesh.GetPolys().GetConnectivityArray()).reshape(-1, 3)
    sides = stitched.sides[sid]
    assert len(sides) == len(tri)
    across = label_across(seg.layers[0], stitched.keys[sid], tri, label)
    kept = sides != 0
    assert np.array_equal(sides[kept], across[kept])
    new_cells = stitched.keys[sid].astype(np.int64)[tri].min(axis=1)      # each triangle's owner cell
    inside = np.all((new_cells >= np.array(stitched.lo)) & (new_cells < np.array(stitched.hi)), axis=1)
    assert not kept[inside].any()                         # the re-meshed region is always drawn
