"""Surface areas (mm²) of segments from the same SurfaceNets meshes the 3D view draws (app/render/surfaces.py).

One meshing pass per layer when many segments are asked for (`plan_jobs`), each mesh already in LPS millimetres
(direction matrix and spacing included); the area is the sum of its triangles' areas (numpy cross products)."""
from __future__ import annotations

import numpy as np
from vtkmodules.util import numpy_support

from .surfaces import plan_jobs


def mesh_area(mesh) -> float:
    """Total area of a triangle mesh (vtkPolyData), in the units of its points."""
    if mesh is None or mesh.GetNumberOfCells() == 0:
        return 0.0
    pts = numpy_support.vtk_to_numpy(mesh.GetPoints().GetData()).astype(np.float64)
    tri = numpy_support.vtk_to_numpy(mesh.GetPolys().GetConnectivityArray()).reshape(-1, 3)
    a, b, c = pts[tri[:, 0]], pts[tri[:, 1]], pts[tri[:, 2]]
    return float(0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1).sum())


def surface_areas(seg, segment_ids=None, smoothing: bool = True) -> dict[str, float]:
    """{segment id: area in mm²} for `segment_ids` (default all); an empty segment has area 0."""
    ids = list(seg.segment_ids if segment_ids is None else segment_ids)
    jobs, empty = plan_jobs(seg, ids, smoothing)
    out = dict.fromkeys(empty, 0.0)
    for job in jobs:
        for sid, mesh in job.run().items():
            out[sid] = mesh_area(mesh)
    return out
