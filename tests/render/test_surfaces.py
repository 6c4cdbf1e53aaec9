"""Surfaces from labelmap layers: one closed, outward surface per segment, in LPS, cropped re-meshing, export."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vtkmodules.util.numpy_support import vtk_to_numpy
from vtkmodules.vtkFiltersCore import vtkFeatureEdges
from vtkmodules.vtkIOGeometry import vtkOBJReader, vtkSTLReader

from app.model.geometry import Geometry
from app.model.segment import Segment
from app.model.segmentation import Segmentation
from app.render import surfaces as S
from app.render.surface_cache import SurfaceCache

# The SPL atlas' permuted, mirrored axes (i -> P, j -> -S, k -> L) with anisotropic spacing.
PERMUTED = ((0.0, 0.0, 1.0), (1.0, 0.0, 0.0), (0.0, -1.0, 0.0))


def make_seg(arr, spacing=(1.0, 1.5, 2.0), origin=(10.0, -5.0, 3.0), directions=None) -> Segmentation:
    geo = Geometry(arr.shape, spacing, origin, directions or ((1, 0, 0), (0, 1, 0), (0, 0, 1)))
    labels = [int(v) for v in np.unique(arr) if v]
    segs = [Segment(f"id{v}", f"seg {v}", (0.5, 0.5, 0.5), 0, v) for v in labels]
    return Segmentation.from_layers(geo, [arr], segs)


def blocks(shape=(20, 18, 16)) -> np.ndarray:
    arr = np.zeros(shape, dtype=np.uint16)
    arr[2:8, 3:9, 4:10] = 3            # three touching boxes, one on the lattice's edge
    arr[8:14, 3:9, 4:10] = 7
    arr[0:5, 10:18, 0:6] = 9
    return arr


def signed_volume(mesh) -> float:
    pts = vtk_to_numpy(mesh.GetPoints().GetData()).astype(float)
    tri = vtk_to_numpy(mesh.GetPolys().GetConnectivityArray()).reshape(-1, 3)
    p0, p1, p2 = pts[tri[:, 0]], pts[tri[:, 1]], pts[tri[:, 2]]
    return float(np.einsum("ij,ij->i", p0, np.cross(p1, p2)).sum() / 6.0)


def open_edges(mesh) -> int:
    edges = vtkFeatureEdges()
    edges.SetInputData(mesh)
    edges.BoundaryEdgesOn()
    edges.FeatureEdgesOff()
    edges.NonManifoldEdgesOff()
    edges.ManifoldEdgesOff()
    edges.Update()
    return edges.GetOutput().GetNumberOfCells()


def run_layer(seg, smoothing=False, crop=True):
    return S.layer_job(seg, 0, seg.segment_ids, smoothing, crop=crop).run()


@pytest.mark.parametrize("directions", [None, PERMUTED])
def test_one_surface_per_non_empty_segment_with_its_physical_bounds(directions):
    arr = blocks()
    seg = make_seg(arr, directions=directions)
    empty = seg.add_segment("nothing").id
    meshes = run_layer(make_seg(arr, directions=directions), crop=False)
    assert sorted(meshes) == ["id3", "id7", "id9"]
    assert S.layer_job(seg, 0, [empty], False) is None
    for sid, mesh in meshes.items():
        box = seg.bounding_box(sid)
        # unsmoothed SurfaceNets lies on the voxel faces: half a voxel outside the voxel centres
        corners = np.array([[b.start - 0.5 if c else b.stop - 0.5 for b, c in zip(box, bits)]
                            for bits in np.ndindex(2, 2, 2)])
        lps = seg.geometry.index_to_physical(corners)
        got = np.array(mesh.GetBounds()).reshape(3, 2)
        np.testing.assert_allclose(got[:, 0], lps.min(axis=0), atol=1e-4)
        np.testing.assert_allclose(got[:, 1], lps.max(axis=0), atol=1e-4)


@pytest.mark.parametrize("directions", [None, PERMUTED])
def test_surfaces_are_closed_wound_outward_and_enclose_the_voxels(directions):
    seg = make_seg(blocks(), directions=directions)
    for sid, mesh in run_layer(seg).items():
        assert open_edges(mesh) == 0
        assert signed_volume(mesh) == pytest.approx(seg.volume_mm3(sid), rel=1e-5)


def test_smoothed_surfaces_stay_within_a_voxel_of_the_box():
    seg = make_seg(blocks(), directions=PERMUTED)
    for sid, mesh in run_layer(seg, smoothing=True).items():
        lo, hi = seg.geometry.box_bounds_lps(seg.bounding_box(sid))
        got = np.array(mesh.GetBounds()).reshape(3, 2)
        assert np.all(got[:, 0] >= lo - 2.0 - 1e-4) and np.all(got[:, 1] <= hi + 2.0 + 1e-4)
        assert open_edges(mesh) == 0
        assert 0.5 * seg.volume_mm3(sid) < signed_volume(mesh) < 1.2 * seg.volume_mm3(sid)   # corners round off
        assert mesh.GetPointData().GetNormals().GetNumberOfTuples() == mesh.GetNumberOfPoints()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1), st.sampled_from([np.uint8, np.int16, np.uint16, np.int32]))
def test_random_labelmaps_give_exact_volumes_per_label(seed, dtype):
    """Reference model: an unsmoothed surface encloses exactly its voxels (count x voxel volume)."""
    rng = np.random.default_rng(seed)
    arr = rng.choice(np.array([0, 0, 2, 5, 300 if dtype != np.uint8 else 200], dtype=dtype), size=(7, 6, 5))
    seg = make_seg(arr, directions=PERMUTED)
    meshes = run_layer(seg, crop=bool(seed % 2))
    assert sorted(meshes) == sorted(seg.segment_ids)
    for sid, mesh in meshes.items():
        assert signed_volume(mesh) == pytest.approx(seg.volume_mm3(sid), rel=1e-5)


def test_cropped_segment_job_matches_the_full_pass():
    seg = make_seg(blocks())
    full = run_layer(seg, crop=False)
    for sid in seg.segment_ids:
        job = S.segment_job(seg, sid, smoothing=False)
        assert all(n <= m + 2 for n, m in zip(job.block.shape, [b.stop - b.start for b in seg.bounding_box(sid)]))
        alone = job.run()[sid]
        np.testing.assert_allclose(alone.GetBounds(), full[sid].GetBounds(), atol=1e-4)
        assert signed_volume(alone) == pytest.approx(signed_volume(full[sid]), rel=1e-6)


def test_labels_not_asked_for_are_background():
    seg = make_seg(blocks())
    meshes = S.layer_job(seg, 0, ["id3"], False).run()
    assert list(meshes) == ["id3"]
    assert signed_volume(meshes["id3"]) == pytest.approx(seg.volume_mm3("id3"), rel=1e-6)


def test_plan_jobs_per_segment_for_few_and_one_pass_for_many():
    arr = np.zeros((30, 30, 30), np.uint8)
    for n in range(10):
        arr[3 * n:3 * n + 2, 1:5, 1:5] = n + 1
    seg = make_seg(arr)
    jobs, empty = S.plan_jobs(seg, ["id1", "id2"], False)
    assert len(jobs) == 2 and not empty
    jobs, _ = S.plan_jobs(seg, seg.segment_ids, False)
    assert len(jobs) == 1 and len(jobs[0].labels) == 10


def test_cache_drops_results_of_an_older_version():
    cache = SurfaceCache()
    versions = cache.versions(["a", "b"])
    cache.invalidate(["a"])                      # an edit while the mesh was being built
    assert cache.store({"a": None, "b": None}, versions) == ["b"]
    assert cache.is_current("b") and not cache.is_current("a")
    cache.store({"a": None}, cache.versions(["a"]))
    assert cache.is_current("a") and cache.meshed == ["b", "a"]


def _ball_seg():
    arr = np.zeros((16, 16, 16), np.uint8)
    idx = np.indices(arr.shape)
    arr[((idx - 7.5) ** 2).sum(axis=0) <= 25] = 1
    arr[((idx - np.array([3, 3, 3])[:, None, None, None]) ** 2).sum(axis=0) <= 4] = 2
    return make_seg(arr, directions=PERMUTED)


@pytest.mark.parametrize("smoothing", [False, True])
def test_stl_round_trip_keeps_points_and_triangles(tmp_path, smoothing):
    seg = _ball_seg()
    mesh = run_layer(seg, smoothing=smoothing)["id1"]
    [path] = S.export_surfaces([("ball", mesh)], tmp_path / "ball.stl", S.ExportFormat.STL, False)
    reader = vtkSTLReader()
    reader.SetFileName(str(path))
    reader.Update()
    back = reader.GetOutput()
    assert back.GetNumberOfPoints() == mesh.GetNumberOfPoints()
    assert back.GetNumberOfCells() == mesh.GetNumberOfCells()
    np.testing.assert_allclose(back.GetBounds(), mesh.GetBounds(), atol=1e-4)


def test_obj_per_segment_and_merged(tmp_path):
    seg = _ball_seg()
    meshes = run_layer(seg)
    named = [("ball", meshes["id1"]), ("small/ball", meshes["id2"])]
    written = S.export_surfaces(named, tmp_path / "out.obj", S.ExportFormat.OBJ, True)
    assert [p.name for p in written] == ["out_ball.obj", "out_small_ball.obj"]
    for path, (_, mesh) in zip(written, named):
        reader = vtkOBJReader()
        reader.SetFileName(str(path))
        reader.Update()
        assert reader.GetOutput().GetNumberOfPoints() == mesh.GetNumberOfPoints()
        assert reader.GetOutput().GetNumberOfCells() == mesh.GetNumberOfCells()
    [merged] = S.export_surfaces(named, tmp_path / "all", S.ExportFormat.OBJ, False)
    assert merged.name == "all.obj"
    reader = vtkOBJReader()
    reader.SetFileName(str(merged))
    reader.Update()
    assert reader.GetOutput().GetNumberOfCells() == sum(m.GetNumberOfCells() for _, m in named)


def test_export_errors_are_one_sentence_and_leave_no_file(tmp_path):
    seg = _ball_seg()
    mesh = run_layer(seg)["id1"]
    with pytest.raises(OSError, match="does not exist"):
        S.export_surfaces([("ball", mesh)], tmp_path / "missing" / "x.stl", S.ExportFormat.STL, False)
    with pytest.raises(ValueError, match="no visible surface"):
        S.export_surfaces([("ball", None)], tmp_path / "x.stl", S.ExportFormat.STL, False)
    assert list(tmp_path.iterdir()) == []
