"""Numpy arrays <-> the vtkPolyData the 3D view draws (VTK, no Qt): building a surface from points and triangles,
dropping the vertices no triangle uses, and finding the triangles near a box of lattice cells by the cells of their
vertices (SurfaceNets' "keys", app.render.stitch). Shared by the meshing (`surfaces`), the stitched updates
(`stitch`) and the drawn part of a surface (`culling`)."""
from __future__ import annotations

import numpy as np
from vtkmodules.util import numpy_support
from vtkmodules.vtkCommonCore import VTK_TYPE_INT32, vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
from vtkmodules.vtkFiltersCore import vtkTriangleMeshPointNormals


def polydata(points: np.ndarray, triangles: np.ndarray, normals=True) -> vtkPolyData:
    """Points and triangles -> vtkPolyData (32-bit cells); `normals`: True computes point normals, an N x 3 array
    gives them, False leaves them out. The VTK arrays are the numpy arrays themselves (no copy: VTK keeps a
    reference to them), so callers hand over arrays they will not write to again; measured on white matter's
    305 k triangles: 3.1 ms -> 0.4 ms, and no second copy of every surface on the heap while a layer is meshed."""
    pts = vtkPoints()
    pts.SetData(_shared(points, np.float32))
    cells = vtkCellArray()      # 32-bit ids (half of vtkIdType), fixed size: offsets are implicit (no 4 bytes
    cells.SetData(3, _shared(triangles, np.int32, flat=True))       # per triangle; VTK >= 9.6's affine array)
    mesh = vtkPolyData()
    mesh.SetPoints(pts)
    mesh.SetPolys(cells)
    if normals is False:
        return mesh
    if normals is not True:
        nrm = _shared(normals, np.float32)
        nrm.SetName("Normals")
        mesh.GetPointData().SetNormals(nrm)
        return mesh
    filt = vtkTriangleMeshPointNormals()     # smooth shading from the (outward) winding; 4x vtkPolyDataNormals
    filt.SetInputData(mesh)
    filt.Update()
    return filt.GetOutput()


def _shared(array: np.ndarray, dtype, flat: bool = False):
    """A VTK array over `array`'s own memory when it already has the type and layout (else over a converted copy)."""
    data = np.ascontiguousarray(array, dtype=dtype)
    if flat:
        data = data.reshape(-1)
    vtk_type = VTK_TYPE_INT32 if dtype == np.int32 else None
    return numpy_support.numpy_to_vtk(data, deep=False, array_type=vtk_type)


def used_vertices(triangles: np.ndarray, n: int) -> np.ndarray:
    """The vertex ids the triangles use, ascending (a mask: no sort of the whole surface)."""
    mask = np.zeros(n, dtype=bool)
    mask[triangles.ravel()] = True
    return np.flatnonzero(mask)


def touching(triangles: np.ndarray, marked: np.ndarray) -> np.ndarray:
    """Per triangle: whether one of its vertices is marked (`marked`: a boolean per vertex). One gather per corner,
    no N x 3 boolean temporary."""
    return marked[triangles[:, 0]] | marked[triangles[:, 1]] | marked[triangles[:, 2]]


def compacted(points, keys, normals, tri):
    """The same surface without the vertices no triangle uses (left by `stitch_arrays`, or by culling's hidden
    faces); `keys` and `normals` may be None."""
    used = used_vertices(tri, len(points))
    if len(used) == len(points):
        return points, keys, normals, tri
    renum = np.empty(len(points), dtype=np.int32)       # only the used entries are ever read
    renum[used] = np.arange(len(used), dtype=np.int32)
    return (points[used], None if keys is None else keys[used], None if normals is None else normals[used],
            renum[tri])


def in_box(keys: np.ndarray, lo, hi) -> np.ndarray:
    """Which keys lie in the closed box [lo, hi], compared in the keys' own type (Python ints: an int16 column is
    not widened). Many keys (a whole surface): the box's thinnest axis first, the others on the few keys it leaves
    (white matter's 154 k keys, a stroke's box: 1.6 -> 0.5 ms); few keys: one column at a time, no N x 3
    temporaries."""
    lo, hi = [int(v) for v in lo], [int(v) for v in hi]
    if len(keys) < 20_000:
        out = (keys[:, 0] >= lo[0]) & (keys[:, 0] <= hi[0])
        for axis in (1, 2):
            out &= (keys[:, axis] >= lo[axis]) & (keys[:, axis] <= hi[axis])
        return out
    first, *others = sorted(range(3), key=lambda axis: hi[axis] - lo[axis])
    column = keys[:, first]
    ids = np.flatnonzero((column >= lo[first]) & (column <= hi[first]))
    for axis in others:
        column = keys[ids, axis]
        ids = ids[(column >= lo[axis]) & (column <= hi[axis])]
    out = np.zeros(len(keys), dtype=bool)
    out[ids] = True
    return out


def window(keys: np.ndarray, triangles: np.ndarray, lo, hi) -> np.ndarray:
    """Indices of the triangles that can touch a vertex with its cell in [lo, hi]: those whose first vertex lies
    within one cell of it (a triangle's cells are neighbours). One gather of a boolean per triangle: all a stitch
    reads of an old surface; the rest works on these rows."""
    lo, hi = np.asarray(lo) - 1, np.asarray(hi) + 1
    return np.flatnonzero(in_box(keys, lo, hi)[triangles[:, 0]])
