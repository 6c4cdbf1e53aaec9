"""Segment surfaces with VTK (the only module of app/render that imports vtk; no Qt).

A mesh is built in two steps so the slow part can run off the GUI thread:
1. `layer_job` / `segment_job` / `plan_jobs` (caller's thread, fast): copy the voxels needed into a zero-padded
   block (the layer cropped to the segments' bounding boxes plus a one-voxel margin, so surfaces touching the
   lattice's edge are closed too) and note which label is which segment.
2. `MeshJob.run()` (any thread; VTK releases the GIL): ONE vtkSurfaceNets3D pass over the block with the labels
   set explicitly (without them it only meshes faces touching background), split per label in numpy
   (`_split_by_label`; vtkSurfaceNetsAtlas does the same, slower), then mapped to LPS millimetres with the
   geometry's `ijk_to_lps` (direction matrix included), as the slice views. Triangles are wound outward.

`simplified` makes coarse copies for a moving camera; `export_surfaces` writes STL, OBJ, PLY or VTP, one file per segment or
merged. The version bookkeeping lives in `surface_cache.py`.
"""
from __future__ import annotations

import enum
import os
import threading
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from vtkmodules.util import numpy_support
from vtkmodules.vtkCommonCore import vtkSMPTools
from vtkmodules.vtkCommonDataModel import vtkImageData, vtkPolyData
from vtkmodules.vtkFiltersCore import (vtkAppendPolyData, vtkQuadricClustering, vtkSurfaceNets3D,
                                      vtkTriangleMeshPointNormals)
from vtkmodules.vtkIOGeometry import vtkOBJWriter, vtkSTLWriter
from vtkmodules.vtkIOPLY import vtkPLYWriter
from vtkmodules.vtkIOXML import vtkXMLPolyDataWriter

from app.model.boxes import full_box, union_of
from app.model.segmentation import Segmentation
from app.render import culling
from app.render.mesh_arrays import polydata

_MESHING = threading.Lock()
THREADED_VOXELS = 2_000_000    # blocks larger than this use VTK's thread pool; small ones stay sequential
vtkSMPTools.SetBackend("Sequential")


def vtk_threads(voxels: int):
    """Run a big block on VTK's thread pool, one big block at a time (the backend is process-wide: the view's
    worker vs an export); small blocks run sequentially, side by side on the callers' threads (a stroke's
    updates on two threads), with no lock."""
    from contextlib import contextmanager, nullcontext

    @contextmanager
    def threaded():
        with _MESHING:
            vtkSMPTools.SetBackend("STDThread")
            try:
                yield
            finally:
                vtkSMPTools.SetBackend("Sequential")
    return threaded() if voxels > THREADED_VOXELS else nullcontext()


class ExportFormat(enum.Enum):
    STL = "stl"
    OBJ = "obj"
    PLY = "ply"
    VTP = "vtp"       # VTK XML PolyData (keeps the normals; ParaView, Slicer)


class Cancelled(Exception):
    """A job's `cancel` event was set while it ran (its result would be of no use)."""


@dataclass
class MeshJob:
    """Voxels copied out of one layer and what to make of them; `run()` is safe on a worker thread."""

    block: np.ndarray                  # padded copy, Fortran order (i fastest, as VTK wants)
    offset: tuple[int, int, int]       # lattice index of block[0, 0, 0]
    labels: dict[int, str]             # label value -> segment id
    ijk_to_lps: np.ndarray
    smoothing: bool
    versions: dict[str, int] = field(default_factory=dict)
    with_keys: bool = False            # also name each vertex by its lattice cell (`keys`), for stitched updates
    keys: dict[str, np.ndarray] = field(default_factory=dict)      # filled by run() when with_keys
    layer: int = 0                     # the layer the block was copied from
    sides: dict[str, np.ndarray] = field(default_factory=dict)   # several labels: per triangle, the label on its
                                       # outer side (0: background); see app.render.culling
    opaque: np.ndarray | None = None   # labels of the layer shown opaque when planned: `drawn` is built with it
    drawn: dict[str, vtkPolyData] = field(default_factory=dict)  # what to draw of each surface (culling.drawn)
    cancel: threading.Event | None = None   # set by another thread: run() stops between surfaces (Cancelled)
    background: bool = False           # one thread and no VTK thread pool (nor its lock): a quiet moment's work
                                       # leaves the other core, and the pool, to the user's edits

    def run(self) -> dict[str, vtkPolyData | None]:
        """Mesh every label of the job; a segment with no voxels in the block maps to None."""
        if self.background:
            return self._run()
        with vtk_threads(self.block.size):
            return self._run()

    def _run(self) -> dict[str, vtkPolyData | None]:
        labels = sorted(self.labels)
        nets = _surface_nets(self.block, labels, self.smoothing, raw=self.with_keys)
        mesh = nets.GetOutput()
        out: dict[str, vtkPolyData | None] = dict.fromkeys(self.labels.values())
        if mesh.GetNumberOfCells() == 0:
            return out
        pts = numpy_support.vtk_to_numpy(mesh.GetPoints().GetData())
        # the cell of each vertex: unsmoothed, SurfaceNets puts a vertex at its cell's centre; smoothing moves it by
        # up to 1.7 voxels, so the cells come from the pass's points before smoothing
        keys = cell_keys(nets.raw_points, self.offset) if self.with_keys else None
        mirrored = bool(np.linalg.det(self.ijk_to_lps[:3, :3]) < 0)
        lps = to_lps(pts, self.offset, self.ijk_to_lps)

        def build(used, tri, outside, hidden):
            if self.cancel is not None and self.cancel.is_set():
                raise Cancelled
            surface = polydata(lps[used], tri)
            shown = None if self.opaque is None else (culling.drawn_tail(surface, *hidden) if hidden is not None
                                                      else culling.drawn(surface, outside, self.opaque))
            return surface, shown, None if keys is None else keys[used]
        parts = _split_by_label(mesh, labels, mirrored, build=build, opaque=self.opaque,
                                threads=2 if len(labels) >= 16 and not self.background else 1)   # a layer's
                                                                                                # pass: two threads
        for label, (used, triangles, outside, (surface, shown, cells)) in parts.items():
            out[self.labels[label]] = surface
            if shown is not None:
                self.drawn[self.labels[label]] = shown
            if outside is not None:
                self.sides[self.labels[label]] = outside
            if cells is not None:
                self.keys[self.labels[label]] = cells
        return out


def cell_keys(block_points: np.ndarray, offset, dtype=np.int16) -> np.ndarray:
    """Cells (lattice index of their lowest voxel; N x 3, int16 to keep, int32 to compute with) of unsmoothed
    SurfaceNets vertices given in the block's index coordinates, the block's [0, 0, 0] being lattice index
    `offset`."""
    cells = block_points - np.float32(0.5)          # one temporary, worked on in place (a layer: 13 MB, fresh)
    np.rint(cells, out=cells)
    cells += np.asarray(offset, dtype=np.float32)  # whole numbers: exact in float32 below 2**24
    return cells.astype(dtype)


def to_ijk(points_lps: np.ndarray, ijk_to_lps: np.ndarray) -> np.ndarray:
    """LPS millimetres -> lattice index coordinates (float32: exact enough for half-integers below a few
    thousand)."""
    inv = np.linalg.inv(ijk_to_lps)
    return points_lps @ inv[:3, :3].T.astype(np.float32) + inv[:3, 3].astype(np.float32)


def to_lps(block_points: np.ndarray, offset, ijk_to_lps: np.ndarray) -> np.ndarray:
    """Block index coordinates -> LPS millimetres (float32: micrometre precision at 300 mm)."""
    m = ijk_to_lps
    shift = (m[:3, :3] @ np.asarray(offset, dtype=float) + m[:3, 3]).astype(np.float32)
    out = block_points @ m[:3, :3].T.astype(np.float32)
    out += shift
    return out


def _surface_nets(block: np.ndarray, labels: list[int], smoothing: bool, raw: bool = False) -> vtkSurfaceNets3D:
    """One SurfaceNets pass. `raw`: also keep the unsmoothed points (`nets.raw_points`, block index coordinates): a
    smoothed pass extracts them first and hands them to its smoother, which announces itself (StartEvent) before
    moving them, so they are copied there (one memcpy instead of a second, unsmoothed pass: measured 3.1 of the
    10.5 ms of a stroke's white-matter update). Should a VTK version smooth without that event, the second pass is
    run instead; it makes the same points in the same order."""
    image = vtkImageData()
    image.SetDimensions(*block.shape)
    flat = block.ravel(order="F")
    scalars = numpy_support.numpy_to_vtk(flat, deep=False)
    scalars.SetName("labels")
    image.GetPointData().SetScalars(scalars)
    nets = vtkSurfaceNets3D()
    nets.SetInputData(image)
    nets.SetNumberOfLabels(len(labels))
    for n, value in enumerate(labels):
        nets.SetLabel(n, float(value))
    nets.SetOutputMeshTypeToTriangles()
    nets.SetSmoothing(bool(smoothing))
    caught: dict = {}
    tag = _catch_points_before_smoothing(nets, caught) if raw and smoothing else None
    nets.Update()
    nets.keep_alive = flat           # VTK only borrows the numpy buffer
    nets.raw_points = None
    if not raw:
        return nets
    n_points = nets.GetOutput().GetNumberOfPoints()
    if smoothing:
        if tag is not None:
            nets.GetSmoother().RemoveObserver(tag)
        got = caught.get("points")
        if got is None or len(got) != n_points:
            got = _surface_nets(block, labels, False, raw=True).raw_points
    else:
        got = numpy_support.vtk_to_numpy(nets.GetOutput().GetPoints().GetData()) if n_points else None
    nets.raw_points = got if got is not None else np.zeros((0, 3), np.float32)
    return nets


def _catch_points_before_smoothing(nets: vtkSurfaceNets3D, caught: dict):
    """Copy the points the smoother is handed into caught["points"]; returns the observer's tag."""
    def before_smoothing(smoother, _event):
        caught["points"] = numpy_support.vtk_to_numpy(smoother.GetInput().GetPoints().GetData()).copy()
    return nets.GetSmoother().AddObserver("StartEvent", before_smoothing)


def _split_by_label(mesh: vtkPolyData, labels: list[int], mirrored: bool, build=None, threads: int = 1,
                    opaque: np.ndarray | None = None) -> dict:
    """{label: (point ids used, triangles renumbered to them, the label on each triangle's outer side or None,
    build(used, triangles, outside, hidden) or None)}: one closed surface per label. Each cell of SurfaceNets' output
    separates BoundaryLabels (label0, label1) and points from label0 to label1; it goes to both labels, flipped for
    label1 so every surface is wound outward. O(cells): a counting sort by label, then a scratch array renumbers each
    label's points without sorting them; that renumbering, and `build` (the surface's polydata), run per label on
    `threads` threads, each with its own scratch (numpy's indexing and VTK release the GIL: 2 threads, 1.7x).

    `opaque` (sorted labels shown opaque): each surface is laid out hidden part first. Its faces against an opaque
    label come first, then the faces a viewer can see; its points used only by hidden faces come first, then the
    rest. `hidden` is (hidden triangles, hidden-only points), and the drawn part is the surface's tail
    (culling.drawn_tail: no copy). The sort key gains one bit for this, so it costs nothing; otherwise `hidden`
    is None."""
    pairs = numpy_support.vtk_to_numpy(mesh.GetCellData().GetArray("BoundaryLabels"))
    triangles = numpy_support.vtk_to_numpy(mesh.GetPolys().GetConnectivityArray()).reshape(-1, 3)
    if len(labels) == 1:      # one label against background: every cell is (label, 0), already wound outward
        tri = triangles[:, [0, 2, 1]] if mirrored else triangles
        used = np.arange(mesh.GetNumberOfPoints())
        return {labels[0]: (used, tri, None, build(used, tri, None, None) if build else None)}
    n_cells = len(pairs)
    lids = np.empty(2 * n_cells, dtype=np.uint16)          # dense label ids: all label0 sides, then all label1 sides
    _dense_ids(pairs[:, 0], labels, out=lids[:n_cells])
    _dense_ids(pairs[:, 1], labels, out=lids[n_cells:])
    across = np.empty(2 * n_cells, dtype=_side_type(labels))          # the label across each side
    across[:n_cells] = pairs[:, 1]
    across[n_cells:] = pairs[:, 0]
    split = opaque is not None and 2 * (len(labels) + 1) <= 1 << 16
    per = 2 if split else 1                                            # sort key bins per label
    key = lids
    if split:                                                          # (in place: lids are not needed again)
        key <<= 1
        key |= ~culling.hidden_faces(across, opaque)
    order = np.argsort(key, kind="stable")                             # radix sort on uint16
    starts = np.concatenate([[0], np.cumsum(np.bincount(key, minlength=per * (len(labels) + 1)))])
    del key, lids
    first = starts[per]                                                # sides against background: dropped
    order = order[first:]
    outside = across[order]
    # every surface's triangles wound outward, in one gather: label0's sides as meshed, label1's flipped (the other
    # way round when the lattice is mirrored). The first build's memory is fresh, and on a VM each new page costs
    # (a first show's split spent half its time in page faults): the gather reads the cells themselves and swaps
    # two columns of the rows to flip in place, where a table of both windings cost 80 MB of temporaries more
    flip = order >= n_cells                                            # label1's sides
    np.subtract(order, n_cells, out=order, where=flip)                 # side -> its cell
    if mirrored:
        np.logical_not(flip, out=flip)
    tri = np.take(triangles, order, axis=0)
    del order
    second = tri[:, 1].copy()
    np.copyto(tri[:, 1], tri[:, 2], where=flip)
    np.copyto(tri[:, 2], second, where=flip)
    del second, flip
    flat = tri.ravel()
    spans = [(label, 3 * (starts[per * n] - first), 3 * (starts[per * n + 1] - first),
              3 * (starts[per * (n + 1)] - first))                     # rows x 3: start, drawn part, end
             for n, label in enumerate(labels, start=1) if starts[per * (n + 1)] > starts[per * n]]
    ramp = np.arange(max((hi - lo for _, lo, _, hi in spans), default=0), dtype=np.int32)    # the biggest label's
    n_points = mesh.GetNumberOfPoints()

    def run(chunk) -> list:
        scratch = np.zeros(n_points, dtype=np.int32)
        done = []
        for label, lo, mid, hi in chunk:
            ids, r = flat[lo:hi], ramp[:hi - lo]
            # one representative per point; the drawn part written second, so a point any drawn face uses has its
            # representative there (within one assignment numpy does not promise which duplicate wins)
            scratch[ids[:mid - lo]] = r[:mid - lo]
            scratch[ids[mid - lo:]] = r[mid - lo:]
            keep = scratch[ids] == r
            used = ids[keep]                     # in order: the hidden faces' own points first
            scratch[used] = r[:len(used)]
            local = scratch[ids].reshape(-1, 3)
            side = outside[lo // 3:hi // 3]
            hidden = ((mid - lo) // 3, int(np.count_nonzero(keep[:mid - lo]))) if split else None
            done.append((label, (used, local, side, build(used, local, side, hidden) if build else None)))
        return done

    if threads > 1 and len(spans) >= 2 * threads:
        from concurrent.futures import ThreadPoolExecutor
        spans.sort(key=lambda span: span[1] - span[3])              # biggest first, dealt out in turn
        with ThreadPoolExecutor(threads) as pool:
            parts = list(pool.map(run, [spans[k::threads] for k in range(threads)]))
        return dict(sorted((item for part in parts for item in part), key=lambda item: item[0]))
    return dict(run(spans))


def _side_type(labels) -> type:
    top = max(labels, default=0)
    return np.uint8 if top < 256 else np.uint16 if top < 65536 else np.int64


def _dense_ids(values: np.ndarray, labels: list[int], out: np.ndarray | None = None) -> np.ndarray:
    """1 + the position of each value in the sorted `labels`, 0 for any other value (uint16; into `out` if given)."""
    if values.dtype.itemsize <= 2:                                     # a lookup table over the whole dtype
        unsigned = np.uint8 if values.dtype.itemsize == 1 else np.uint16
        lut = np.zeros(1 << (8 * values.dtype.itemsize), dtype=np.uint16)
        lut[np.asarray(labels).astype(values.dtype).view(unsigned)] = np.arange(1, len(labels) + 1)
        return np.take(lut, np.ascontiguousarray(values).view(unsigned), out=out)
    sorted_labels = np.asarray(labels, dtype=np.int64)
    pos = np.minimum(np.searchsorted(sorted_labels, values), len(labels) - 1)
    ids = np.where(sorted_labels[pos] == values, pos + 1, 0).astype(np.uint16)
    if out is None:
        return ids
    out[:] = ids
    return out




# -------------------------------------------------------------------------------------------- jobs
def _padded_block(arr: np.ndarray, box) -> tuple[np.ndarray, tuple[int, int, int]]:
    """`arr[box]` with one voxel of background all around (Fortran order) and the lattice index of its corner."""
    lo = [max(s.start - 1, 0) for s in box]
    hi = [min(s.stop + 1, n) for s, n in zip(box, arr.shape)]
    inner = arr[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
    pad = [(1 if s.start - 1 < 0 else 0, 1 if s.stop + 1 > n else 0) for s, n in zip(box, arr.shape)]
    block = np.zeros([a + b + c for a, (b, c) in zip(inner.shape, pad)], dtype=arr.dtype, order="F")
    block[pad[0][0]:pad[0][0] + inner.shape[0], pad[1][0]:pad[1][0] + inner.shape[1],
          pad[2][0]:pad[2][0] + inner.shape[2]] = inner
    return block, tuple(lo[a] - pad[a][0] for a in range(3))


def layer_job(seg: Segmentation, layer: int, segment_ids, smoothing: bool, versions=None,
              crop: bool = True, with_keys: bool = False) -> MeshJob | None:
    """One pass for several segments of one layer, on the union of their boxes (or the whole layer when `crop`
    is False: no bounding boxes needed, the fastest start after loading); None when all are empty."""
    ids = [sid for sid in segment_ids if seg.segment(sid).layer == layer]
    if not ids:
        return None
    box = union_of(seg.bounding_box(sid) for sid in ids) if crop else full_box(seg.geometry.shape)
    if box is None:
        return None
    block, offset = _padded_block(seg.layers[layer], box)
    labels = {seg.segment(sid).label: sid for sid in ids}
    if len(ids) == 1:          # one segment: a 0/1 block, so its neighbours are neither meshed nor smoothed
        block = np.asfortranarray(block == next(iter(labels))).view(np.uint8)
        labels = {1: ids[0]}
    return MeshJob(block, offset, labels, seg.geometry.ijk_to_lps, smoothing,
                   {sid: (versions or {}).get(sid, 0) for sid in ids}, with_keys, layer=layer)


def segment_job(seg: Segmentation, segment_id: str, smoothing: bool, version: int = 0,
                with_keys: bool = False) -> MeshJob | None:
    """One segment on its own bounding box (+1 voxel): the incremental update after an edit."""
    s = seg.segment(segment_id)
    return layer_job(seg, s.layer, [segment_id], smoothing, {segment_id: version}, with_keys=with_keys)


def plan_jobs(seg: Segmentation, segment_ids, smoothing: bool, versions=None, per_segment_below: int = 8,
              with_keys: bool = False):
    """Jobs for a set of segments: one pass per layer when many segments of it are asked for, else one cropped
    job per segment (cheaper when a brush touched one or two). Empty segments come back as None results.
    `with_keys`: the surfaces come with their vertices' cells, so the next edit can be stitched (a copy of the
    pass's points before smoothing: a few ms for a whole layer)."""
    versions = versions or {}
    by_layer: dict[int, list[str]] = {}
    for sid in segment_ids:
        by_layer.setdefault(seg.segment(sid).layer, []).append(sid)
    jobs, empty = [], []
    for layer, ids in by_layer.items():
        if len(ids) >= per_segment_below:
            whole = 2 * len(ids) >= len(seg.layer_segment_ids(layer))     # most of the layer: skip the boxes
            job = layer_job(seg, layer, ids, smoothing, versions, crop=not whole, with_keys=with_keys)
            jobs.append(job) if job is not None else empty.extend(ids)
            continue
        for sid in ids:
            job = segment_job(seg, sid, smoothing, versions.get(sid, 0), with_keys)
            jobs.append(job) if job is not None else empty.append(sid)
    return jobs, empty


def detached(mesh: vtkPolyData) -> vtkPolyData:
    """A shallow copy (arrays shared, cell structures not) that another thread may read while `mesh` is drawn."""
    copy = vtkPolyData()
    copy.ShallowCopy(mesh)
    return copy


def simplified(mesh: vtkPolyData, cell_mm: float) -> vtkPolyData:
    """A coarse copy for drawing while the camera moves (software OpenGL): quadric clustering on a `cell_mm` grid,
    about ten times fewer triangles for 1 mm voxels at 2.5 mm, a few ms per surface."""
    cluster = vtkQuadricClustering()
    cluster.SetInputData(mesh)
    cluster.AutoAdjustNumberOfDivisionsOff()
    cluster.SetDivisionSpacing(cell_mm, cell_mm, cell_mm)
    normals = vtkTriangleMeshPointNormals()
    normals.SetInputConnection(cluster.GetOutputPort())
    with _MESHING:
        normals.Update()
    return normals.GetOutput()


def merged_coloured(parts) -> vtkPolyData:
    """[(mesh, (r, g, b) in 0..1, opacity)] -> one polydata with RGBA point colours (and the meshes' normals):
    what one actor draws while the camera moves. numpy concatenation, no VTK filter (a few ms for 300 parts)."""
    pts, normals, tris, colours, base = [], [], [], [], 0
    for mesh, colour, opacity in parts:
        n = mesh.GetNumberOfPoints()
        if n == 0 or mesh.GetNumberOfCells() == 0:
            continue
        pts.append(numpy_support.vtk_to_numpy(mesh.GetPoints().GetData()))
        nrm = mesh.GetPointData().GetNormals()
        normals.append(numpy_support.vtk_to_numpy(nrm) if nrm is not None else np.zeros((n, 3), np.float32))
        tris.append(numpy_support.vtk_to_numpy(mesh.GetPolys().GetConnectivityArray()).astype(np.int32) + base)
        rgba = np.array([*(round(255 * c) for c in colour), round(255 * opacity)], dtype=np.uint8)
        colours.append(np.broadcast_to(rgba, (n, 4)))
        base += n
    if not pts:
        return vtkPolyData()
    out = polydata(np.concatenate(pts).astype(np.float32), np.concatenate(tris).reshape(-1, 3), normals=False)
    nrm = numpy_support.numpy_to_vtk(np.concatenate(normals).astype(np.float32), deep=True)
    nrm.SetName("Normals")
    out.GetPointData().SetNormals(nrm)
    rgba = numpy_support.numpy_to_vtk(np.concatenate(colours), deep=True)
    rgba.SetName("colours")
    out.GetPointData().SetScalars(rgba)
    return out


# -------------------------------------------------------------------------------------------- export
def merged(meshes) -> vtkPolyData:
    append = vtkAppendPolyData()
    for mesh in meshes:
        append.AddInputData(mesh)
    append.Update()
    return append.GetOutput()


def write_mesh(mesh: vtkPolyData, path, fmt: ExportFormat) -> Path:
    """Write one mesh atomically (temporary file in the same folder, then rename); OSError on failure."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".{fmt.value}", dir=path.parent)
    os.close(fd)
    try:
        writer = {ExportFormat.STL: vtkSTLWriter, ExportFormat.OBJ: vtkOBJWriter, ExportFormat.PLY: vtkPLYWriter,
                  ExportFormat.VTP: vtkXMLPolyDataWriter}[fmt]()
        if fmt is ExportFormat.STL:
            writer.SetFileTypeToBinary()
            writer.SetHeader("segedit surface, LPS millimetres")
        elif fmt is ExportFormat.PLY:
            writer.SetFileTypeToBinary()
        elif fmt is ExportFormat.VTP:
            writer.SetDataModeToAppended()
            writer.SetCompressorTypeToZLib()
        writer.SetFileName(tmp)
        writer.SetInputData(mesh)
        if not writer.Write() or writer.GetErrorCode():
            raise OSError(f"could not write {path}")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def safe_file_stem(name: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_. " else "_" for c in name).strip(" .")
    return keep or "segment"


def export_surfaces(named_meshes, path, fmt: ExportFormat, one_file_per_segment: bool) -> list[Path]:
    """Write [(name, mesh)] to `path` (merged) or to `<stem>_<name>.<ext>` beside it (one per segment)."""
    path = Path(path)
    if path.suffix.lower() != f".{fmt.value}":
        path = path.with_name(path.name + f".{fmt.value}")
    if not path.parent.is_dir():
        raise OSError(f"the folder {path.parent} does not exist")
    named_meshes = [(n, m) for n, m in named_meshes if m is not None and m.GetNumberOfCells()]
    if not named_meshes:
        raise ValueError("there is no visible surface to export")
    if not one_file_per_segment:
        return [write_mesh(merged(m for _, m in named_meshes), path, fmt)]
    written, used = [], set()
    for name, mesh in named_meshes:
        stem = f"{path.stem}_{safe_file_stem(name)}"
        while stem.lower() in used:
            stem += "_"
        used.add(stem.lower())
        written.append(write_mesh(mesh, path.with_name(f"{stem}.{fmt.value}"), fmt))
    return written
