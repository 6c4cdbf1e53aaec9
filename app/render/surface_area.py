"""Surface areas (mm²) of segments from the same SurfaceNets meshes the 3D view draws (app/render/surfaces.py).

Each segment is meshed ALONE on its bounding box (`segment_job`: a 0/1 block, so its neighbours do not pull on its
smoothing): the area of a segment is then the same whether it is measured with all the others or alone after an
edit (a whole-layer pass smooths shared boundaries jointly and differs by ~1%). Meshes are in LPS millimetres
(direction matrix and spacing included); the area is the sum of the triangles' areas (numpy cross products)."""
from __future__ import annotations

import numpy as np
from vtkmodules.util import numpy_support

from .surfaces import segment_job


def mesh_area(mesh) -> float:
    """Total area of a triangle mesh (vtkPolyData), in the units of its points."""
    if mesh is None or mesh.GetNumberOfCells() == 0:
        return 0.0
    pts = numpy_support.vtk_to_numpy(mesh.GetPoints().GetData()).astype(np.float64)
    tri = numpy_support.vtk_to_numpy(mesh.GetPolys().GetConnectivityArray()).reshape(-1, 3)
    a, b, c = pts[tri[:, 0]], pts[tri[:, 1]], pts[tri[:, 2]]
    return float(0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1).sum())


def surface_areas(seg, segment_ids=None, smoothing: bool = True, progress=None) -> dict[str, float]:
    """{segment id: area in mm²} for `segment_ids` (default all); an empty segment has area 0."""
    ids = list(seg.segment_ids if segment_ids is None else segment_ids)
    out = {}
    for n, sid in enumerate(ids):
        job = segment_job(seg, sid, smoothing)
        out[sid] = 0.0 if job is None else mesh_area(job.run().get(sid))
        if progress is not None:
            progress((n + 1) / len(ids))
    return out
