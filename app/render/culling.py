"""Faces no one can see are not drawn: a face between two segments that are both shown opaque is inside the union of
their closed surfaces (VTK + numpy, no Qt).

A layer's pass meshes all its segments at once, so the face between two touching segments is one SurfaceNets cell,
shared by both surfaces at exactly the same points; in the SPL atlas 43 % of the cells are such faces, each drawn
twice, once by each neighbour. With both neighbours shown and opaque, neither copy can be seen from outside (the
union of the remaining faces is closed, since the points are shared), so the drawn surface of a segment keeps only
its faces against background, against a hidden or translucent segment, or against a label no segment of the pass
has: 3.1 M triangles -> 1.2 M on the atlas, and a frame of llvmpipe about twice as fast. The full surface stays
what is exported, stitched, measured and simplified; only what the mapper draws changes, and it follows the
neighbours' display (hide a segment: its neighbours' faces toward it are drawn again).

A stitched surface (after an edit) keeps the sides of its old faces, whose voxels the edit did not reach; its new
part and the faces whose points were re-smoothed get 0 and are always drawn, which also covers the thin cracks that
can open where a surface smoothed alone meets a neighbour's from the layer's pass. It is drawn whole until the next
quiet moment, then culled (app.ui.surface_updates). Surfaces re-meshed whole on their own have no sides and are
drawn whole.

An edit also changes what lies across its neighbours' faces, though their voxels stay: erase part of a segment and
the faces of the one beside it toward the erased voxels face background. Surfaces with faces against an edited label
near the edit are drawn whole at once, and at the next quiet moment `sides_near` reads the label across their faces
there again from the voxels.
"""
from __future__ import annotations

import numpy as np
from vtkmodules.util import numpy_support
from vtkmodules.vtkCommonDataModel import vtkPolyData

from app.render.mesh_arrays import compacted, polydata, window


def opaque_labels(seg, shown_ids) -> dict[int, np.ndarray]:
    """{layer: sorted label values of the segments shown opaque in 3D}: what hides the faces toward it."""
    out: dict[int, list[int]] = {}
    for sid in shown_ids:
        s = seg.segment(sid)
        if s.opacity >= 1.0:
            out.setdefault(s.layer, []).append(s.label)
    return {layer: np.unique(np.asarray(v, dtype=np.int64)) for layer, v in out.items()}


def hidden_faces(sides: np.ndarray, opaque: np.ndarray | None) -> np.ndarray:
    """Per triangle: whether the label across it is shown opaque (0, background, never is)."""
    if opaque is None or not len(opaque) or not len(sides):
        return np.zeros(len(sides), dtype=bool)
    if sides.dtype.itemsize <= 2:                     # a lookup table over the label type
        table = np.zeros(1 << (8 * sides.dtype.itemsize), dtype=bool)
        table[opaque[(opaque > 0) & (opaque < len(table))]] = True
        return table[sides]
    return np.isin(sides, opaque[opaque > 0])


def drawn(full: vtkPolyData, sides: np.ndarray | None, opaque: np.ndarray | None) -> vtkPolyData:
    """What to draw of a surface: `full` itself when every face may be seen, else a polydata of the faces that may
    be seen and only their points and normals (43 % of the points on the atlas: the GL buffers shrink with them)."""
    if sides is None:
        return full
    hide = hidden_faces(sides, opaque)
    if not hide.any():
        return full
    tri = numpy_support.vtk_to_numpy(full.GetPolys().GetConnectivityArray()).reshape(-1, 3)
    normals = full.GetPointData().GetNormals()
    points, _, normals, keep = compacted(numpy_support.vtk_to_numpy(full.GetPoints().GetData()), None,
                                         None if normals is None else numpy_support.vtk_to_numpy(normals), tri[~hide])
    return polydata(points, keep, normals=False if normals is None else normals)


def sides_near(sides: np.ndarray, keys: np.ndarray, tri: np.ndarray, voxels: np.ndarray, corner, label: int,
               unshared=frozenset()) -> np.ndarray:
    """`sides` (a copy) with the label across each triangle whose two voxels lie in `voxels` (a copy of the layer,
    its [0, 0, 0] at lattice index `corner`) read again from them: after an edit of a neighbour, the faces toward
    it may face background now (or another segment). SurfaceNets makes one quad per pair of voxels with different
    labels, on the four cells around the edge between them; its triangles' cells (`keys`) share that edge's
    coordinate along its axis and span it in the other two, so the pair is the cells' maximum and the next voxel
    along the axis. Labels the sides cannot hold, pairs without `label`, and `unshared` labels (neighbours
    re-meshed apart, whose points no longer meet this surface's there) read as 0 (always drawn). Faces already
    drawn (0) stay drawn: a stitch's new part and re-smoothed band keep 0 to cover the cracks where a surface
    smoothed alone meets its neighbour's, so reading again only ever uncovers faces."""
    out = sides.copy()
    if not len(tri):
        return out
    lo = np.asarray(corner, dtype=np.int32)
    hi = lo + np.asarray(voxels.shape, dtype=np.int32)
    k = keys.astype(np.int32, copy=False)
    rows = window(keys, tri, lo - 1, hi - 1)             # first vertex within a cell of the block's cells
    t = tri[rows]
    c0, c1, c2 = k[t[:, 0]], k[t[:, 1]], k[t[:, 2]]
    same = (c0 == c1) & (c1 == c2)
    ok = same.sum(axis=1) == 1                               # one shared axis (else not a quad's triangle)
    rows, c0, c1, c2, same = rows[ok], c0[ok], c1[ok], c2[ok], same[ok]
    axis = np.argmax(same, axis=1)
    p = np.maximum(np.maximum(c0, c1), c2)        # (along the axis the three are equal)
    q = p.copy()
    q[np.arange(len(q)), axis] += 1
    inside = np.all((p >= lo) & (q < hi), axis=1)
    p, q, rows = p[inside] - lo, q[inside] - lo, rows[inside]
    vp, vq = voxels[p[:, 0], p[:, 1], p[:, 2]], voxels[q[:, 0], q[:, 1], q[:, 2]]
    across = np.where(vp == label, vq, np.where(vq == label, vp, 0)).astype(np.int64)
    across[(across < 0) | (across > np.iinfo(out.dtype).max)] = 0
    if unshared:
        across[np.isin(across, list(unshared))] = 0
    out[rows] = np.where(out[rows] == 0, 0, across).astype(out.dtype)
    return out


def drawn_tail(full: vtkPolyData, hidden_triangles: int, hidden_points: int) -> vtkPolyData:
    """What to draw of a surface laid out hidden part first (a layer's pass: surfaces._split_by_label): its last
    triangles, on its last points and their normals. The points and normals are views of the surface's own
    arrays: no gather, no copy on the heap, and the GL buffers hold only the drawn points."""
    if hidden_triangles == 0:
        return full
    tri = numpy_support.vtk_to_numpy(full.GetPolys().GetConnectivityArray()).reshape(-1, 3)
    points = numpy_support.vtk_to_numpy(full.GetPoints().GetData())[hidden_points:]
    normals = full.GetPointData().GetNormals()
    normals = False if normals is None else numpy_support.vtk_to_numpy(normals)[hidden_points:]
    return polydata(points, tri[hidden_triangles:] - np.int32(hidden_points), normals=normals)


def neighbours(sides: np.ndarray | None) -> frozenset[int]:
    """The labels a surface has faces against (background aside)."""
    if sides is None or not len(sides):
        return frozenset()
    if sides.dtype.itemsize <= 2:
        return frozenset(np.flatnonzero(np.bincount(sides, minlength=1)[1:]) + 1)
    return frozenset(int(v) for v in np.unique(sides) if v)
