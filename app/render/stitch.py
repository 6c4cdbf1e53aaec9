"""Re-mesh only the part of a surface an edit changed, and stitch it into the surface it had (VTK + numpy, no Qt).

SurfaceNets without smoothing puts one vertex at the centre of each lattice cell (the cube between 2x2x2 voxel
centres) that the surface crosses, and one quad (two triangles) per voxel edge that crosses it. So a vertex is
named by its cell ("key": the lattice index of the cell's lowest voxel) and a quad by the lowest cell around its
edge, which is also the component-wise minimum of the keys of either of its triangles ("owner"). An edit inside the
voxel box [lo, hi) can only change vertices and quads owned by cells in [lo - 2, hi + 1); one more ring of cells makes
the region [lo - 3, hi + 2), so its border quads are unchanged and name the seam vertices. Outside it the
surface before and after the edit is the same. `stitch` re-meshes a block a little larger than the region, keeps
its quads owned inside the region, the old surface's quads owned outside it, and joins them on the keys: the same
surface as re-meshing the whole segment (same vertices, same quads; property-tested), in time proportional to the
edited box, not to the segment: a brush stroke across white matter re-meshes a few thousand voxels, not millions.

Only for surfaces without smoothing: smoothing moves every vertex a little, by an amount that depends on its
neighbours, so the keys cannot be read back from the points.
"""
from __future__ import annotations

import numpy as np
from vtkmodules.util import numpy_support
from vtkmodules.vtkCommonDataModel import vtkPolyData

from app.model.segmentation import Segmentation

REGION_MARGIN_LOW = 3      # cells below the edited box: quads an edit changes (2) and one unchanged ring, the seam
REGION_MARGIN_HIGH = 2
BLOCK_MARGIN = 2           # extra voxels re-meshed around the region so its quads are complete


def keys_of(points_lps: np.ndarray, ijk_to_lps: np.ndarray) -> np.ndarray:
    """Cell keys (int32, N x 3) of unsmoothed SurfaceNets vertices given in LPS millimetres (float32 is exact
    enough: the index coordinates are half-integers below a few thousand)."""
    inv = np.linalg.inv(ijk_to_lps)
    ijk = points_lps @ inv[:3, :3].T.astype(np.float32) + (inv[:3, 3] - 0.5).astype(np.float32)
    return np.rint(ijk).astype(np.int32)


def _pack(keys: np.ndarray) -> np.ndarray:
    k = keys.astype(np.int64) + 4                 # cells start at -1 (the padding): keep them non-negative
    return (k[:, 0] << 42) | (k[:, 1] << 21) | k[:, 2]


def _owned(keys: np.ndarray, triangles: np.ndarray, lo, hi) -> np.ndarray:
    """Which triangles are owned by a cell inside [lo, hi) (component-wise minimum of their vertices' keys).
    Only triangles whose first vertex lies in [lo, hi] can be (a triangle's cells are neighbours): the exact test
    runs on those alone, so a big surface costs one gather of a boolean per triangle."""
    lo, hi = np.asarray(lo), np.asarray(hi)
    near = np.all((keys >= lo) & (keys <= hi), axis=1)
    cand = np.flatnonzero(near[triangles[:, 0]])
    out = np.zeros(len(triangles), dtype=bool)
    owner = keys[triangles[cand]].min(axis=1)
    out[cand] = np.all((owner >= lo) & (owner < hi), axis=1)
    return out


def region_of(box, shape) -> tuple[list[int], list[int]]:
    """The cells re-meshed after an edit of voxel box `box`: [lo - 3, hi + 2) (cells run from -1 to n - 1:
    the padding outside the lattice closes surfaces touching its edge)."""
    lo = [max(s.start - REGION_MARGIN_LOW, -1) for s in box]
    hi = [min(s.stop + REGION_MARGIN_HIGH, n) for s, n in zip(box, shape)]
    return lo, hi


def sub_block(seg: Segmentation, segment_id: str, lo, hi) -> tuple[np.ndarray, list[int]]:
    """The segment's voxels needed for the cells [lo, hi) as a 0/1 block with one voxel of background all around
    (Fortran order, as VTK reads it), and the lattice index of its first real voxel. A copy: safe to mesh on a
    worker thread while the user keeps editing."""
    s = seg.segment(segment_id)
    shape = seg.geometry.shape
    v_lo = [max(a - BLOCK_MARGIN, 0) for a in lo]
    v_hi = [min(b + BLOCK_MARGIN + 1, n) for b, n in zip(hi, shape)]
    arr = seg.layers[s.layer][v_lo[0]:v_hi[0], v_lo[1]:v_hi[1], v_lo[2]:v_hi[2]]
    block = np.zeros([b - a + 2 for a, b in zip(v_lo, v_hi)], dtype=np.uint8, order="F")
    block[1:-1, 1:-1, 1:-1] = arr == s.label
    return block, v_lo


def submesh(seg: Segmentation, segment_id: str, lo, hi):
    """SurfaceNets (no smoothing) of one segment on the voxels needed for the cells [lo, hi): (keys, triangles
    wound outward) in lattice cells."""
    block, v_lo = sub_block(seg, segment_id, lo, hi)
    return _mesh_block(block, v_lo, bool(np.linalg.det(seg.geometry.ijk_to_lps[:3, :3]) < 0))


def _mesh_block(block, v_lo, mirrored: bool):
    from app.render.surfaces import _surface_nets

    nets = _surface_nets(block, [1], False)
    mesh = nets.GetOutput()
    if mesh.GetNumberOfCells() == 0:
        return np.zeros((0, 3), np.int32), np.zeros((0, 3), np.int32)
    pts = numpy_support.vtk_to_numpy(mesh.GetPoints().GetData())
    keys = np.rint(pts - 0.5).astype(np.int32) + (np.asarray(v_lo, dtype=np.int32) - 1)
    tri = numpy_support.vtk_to_numpy(mesh.GetPolys().GetConnectivityArray()).reshape(-1, 3).astype(np.int32)
    if mirrored:
        tri = tri[:, [0, 2, 1]]
    return keys, tri


def stitch_keys(old_keys, old_tri, new_keys, new_tri, lo, hi):
    """Old quads owned outside [lo, hi) + new quads owned inside it: (keys, triangles). Vertices keep their
    identity on each side (SurfaceNets gives a cell where the surface touches itself along an edge two vertices at
    the same place: merging them would change the topology); on the seam a new vertex becomes the old vertex of
    its cell (named through the unchanged border triangles when that cell has two). O(old surface) in numpy
    without a sort of it; sorts and Python loops only over the region's few vertices."""
    owned_old = _owned(old_keys, old_tri, lo, hi)
    keep_old = old_tri[~owned_old]
    keep_new = new_tri[_owned(new_keys, new_tri, lo, hi)]
    used_old = _used(keep_old, len(old_keys))
    used_new = _used(keep_new, len(new_keys))
    remap_old = np.full(len(old_keys), -1, dtype=np.int64)
    remap_old[used_old] = np.arange(len(used_old))
    # old vertices in the region's cells or next to them (all a new vertex can match), kept or not
    cand = np.flatnonzero(np.all((old_keys >= np.asarray(lo) - 1) & (old_keys <= np.asarray(hi)), axis=1))
    packed_old = _pack(old_keys[cand])
    order = np.argsort(packed_old, kind="stable")
    sorted_old = packed_old[order]
    packed_new = _pack(new_keys[used_new])
    left = np.searchsorted(sorted_old, packed_new, "left")
    right = np.searchsorted(sorted_old, packed_new, "right")
    first = cand[order[np.minimum(left, max(len(order) - 1, 0))]] if len(order) else np.zeros(len(left), int)
    seam = (right > left) & (remap_old[first] >= 0) if len(order) else np.zeros(len(left), bool)
    new_sorted = np.sort(packed_new)
    twice_new = (np.searchsorted(new_sorted, packed_new, "right") - np.searchsorted(new_sorted, packed_new)) > 1
    ambiguous = (right - left > 1) | (twice_new & (right > left))
    sure = seam & ~ambiguous
    remap_new = np.full(len(new_keys), -1, dtype=np.int64)
    remap_new[used_new[sure]] = remap_old[first[sure]]                    # the old vertex of that cell
    fresh = used_new[~sure]
    remap_new[fresh] = len(used_old) + np.arange(len(fresh))
    if ambiguous.any():
        _match_by_triangles(old_keys, old_tri[owned_old], new_keys, keep_new, used_new[ambiguous],
                            remap_old, remap_new)
    keys = np.concatenate([old_keys[used_old], new_keys[fresh]])
    tri = np.concatenate([remap_old[keep_old], remap_new[keep_new]])
    used = _used(tri, len(keys))                 # fresh ids a seam match made unused go
    renum = np.full(len(keys), -1, dtype=np.int64)
    renum[used] = np.arange(len(used))
    return keys[used], renum[tri].astype(np.int32)


def _used(triangles: np.ndarray, n: int) -> np.ndarray:
    """The vertex ids the triangles use, ascending (a mask: no sort of the whole surface)."""
    mask = np.zeros(n, dtype=bool)
    mask[triangles.ravel()] = True
    return np.flatnonzero(mask)


def _match_by_triangles(old_keys, dropped, new_keys, keep_new, vertices, remap_old, remap_new) -> None:
    """Seam vertices in cells holding two vertices: a new triangle on the region's border (an edit never reaches
    it) is also an old one, owned inside the region, with the same three cells; its vertices are that triangle's."""
    cells = np.unique(_pack(new_keys[vertices]))
    dropped = dropped[np.isin(_pack(old_keys[dropped].reshape(-1, 3)).reshape(-1, 3), cells).any(axis=1)]
    index = {}
    for t in dropped:
        k = tuple(_pack(old_keys[t]).tolist())
        order = sorted(range(3), key=lambda n: k[n])
        index[tuple(k[n] for n in order)] = [t[n] for n in order]
    wanted = set(vertices.tolist())
    for t in keep_new[np.isin(keep_new, vertices).any(axis=1)]:
        k = tuple(_pack(new_keys[t]).tolist())
        order = sorted(range(3), key=lambda n: k[n])
        olds = index.get(tuple(k[n] for n in order))
        if olds is None:
            continue
        for n, o in zip(order, olds):
            if t[n] in wanted and remap_old[o] >= 0:
                remap_new[t[n]] = remap_old[o]


def stitch(seg: Segmentation, segment_id: str, old: vtkPolyData, box) -> vtkPolyData | None:
    """The segment's unsmoothed surface after an edit inside voxel box `box`, from its surface `old` before it;
    None when the segment has no voxels left."""
    return stitch_job(seg, segment_id, old, box).run()[segment_id]


def stitch_job(seg: Segmentation, segment_id: str, old: vtkPolyData, box, version: int = 0) -> "StitchJob":
    """Caller's thread: copy the voxels; `run()` may then go on a worker thread (like surfaces.MeshJob)."""
    from app.render.surfaces import detached

    lo, hi = region_of(box, seg.geometry.shape)
    block, v_lo = sub_block(seg, segment_id, lo, hi)
    return StitchJob(block, v_lo, lo, hi, detached(old), segment_id, seg.geometry.ijk_to_lps,
                     {segment_id: version})


class StitchJob:
    """An old surface, the voxels around an edit, and what to make of them; `run()` is safe on a worker thread."""

    def __init__(self, block, v_lo, lo, hi, old, segment_id, ijk_to_lps, versions) -> None:
        self.block, self.v_lo, self.lo, self.hi, self.old = block, v_lo, lo, hi, old
        self.segment_id, self.ijk_to_lps, self.versions = segment_id, ijk_to_lps, versions
        self.labels = {1: segment_id}

    def run(self) -> dict:
        from app.render.surfaces import _MESHING, _polydata

        m = self.ijk_to_lps
        old_pts = numpy_support.vtk_to_numpy(self.old.GetPoints().GetData())
        old_keys = keys_of(old_pts, m)
        old_tri = numpy_support.vtk_to_numpy(self.old.GetPolys().GetConnectivityArray()).reshape(-1, 3)
        with _MESHING:
            new_keys, new_tri = _mesh_block(self.block, self.v_lo, bool(np.linalg.det(m[:3, :3]) < 0))
        keys, tri = stitch_keys(old_keys, old_tri, new_keys, new_tri, self.lo, self.hi)
        if len(tri) == 0:
            return {self.segment_id: None}
        centres = (keys + 0.5) @ m[:3, :3].T + m[:3, 3]
        return {self.segment_id: _polydata(centres.astype(np.float32), tri)}
