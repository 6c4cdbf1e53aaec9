"""Shapes drawn on a slice, as voxels: Slicer's Draw and Scissors effects, ITK-SNAP's polygon tool. Qt-free.

A shape is given by points in continuous lattice index (ijk, voxel centres at integers) on one slice: the plane
across `plane_axis` at `index`. The two in-plane axes are taken in ascending order (rows = the lower axis), so the
same code serves every view and every axis order of the file (the SPL atlas's permuted axes included); nothing is
resampled, the polygon is rasterised on the lattice itself.

Rasterisation (voxel-exact, on the lattice): a voxel belongs to a polygon when its centre lies inside it
(scikit-image's `draw.polygon`), or on its outline (the straight voxel lines between the voxels nearest to
consecutive points, drawn for all edges at once: skimage's `draw.line` per edge cost 4 ms for 60 points), so a thin or degenerate contour still paints what the user traced, as Slicer's Draw.
"""
from __future__ import annotations

import enum
import math

import numpy as np
from skimage import draw as skdraw

from ..edits import EditMode
from ..segmentation import Segmentation, SegmentationError
from .plan import Change, Plan, apply_plan, OpResult


def in_plane_axes(plane_axis: int) -> tuple[int, int]:
    a, b = (ax for ax in range(3) if ax != int(plane_axis))
    return a, b


def plane_coords(points_ijk, plane_axis: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of the points in the plane: their coordinates along the two in-plane axes."""
    pts = np.asarray(points_ijk, dtype=float).reshape(-1, 3)
    a, b = in_plane_axes(plane_axis)
    return pts[:, a], pts[:, b]


def polygon_mask(rows, cols, shape2d) -> np.ndarray:
    """Boolean (shape2d) image of a closed polygon: centres inside, plus its outline's voxel lines."""
    out = np.zeros(shape2d, dtype=bool)
    rows, cols = np.asarray(rows, float), np.asarray(cols, float)
    if len(rows) >= 3:
        rr, cc = skdraw.polygon(rows, cols, shape2d)
        out[rr, cc] = True
    r = np.floor(rows + 0.5).astype(np.int64)        # nearest voxel, halves up (as the brush)
    c = np.floor(cols + 0.5).astype(np.int64)
    n = len(r)
    if n == 1:
        r1, c1 = r, c
    else:                                            # every edge (closed when n > 2) as one vectorised DDA line
        r, c = (r, c) if n > 2 else (r[:1], c[:1])
        r1, c1 = (np.roll(r, -1), np.roll(c, -1)) if n > 2 else (np.asarray(rows[1:2]), np.asarray(cols[1:2]))
        r1 = np.floor(np.asarray(r1, float) + 0.5).astype(np.int64)
        c1 = np.floor(np.asarray(c1, float) + 0.5).astype(np.int64)
    steps = np.maximum(np.abs(r1 - r), np.abs(c1 - c))
    edge = np.repeat(np.arange(len(r)), steps + 1)
    t = np.arange(edge.size) - np.repeat(np.cumsum(steps + 1) - (steps + 1), steps + 1)
    f = t / np.maximum(steps, 1)[edge]
    rr = np.floor(r[edge] + f * (r1 - r)[edge] + 0.5).astype(np.int64)
    cc = np.floor(c[edge] + f * (c1 - c)[edge] + 0.5).astype(np.int64)
    keep = (rr >= 0) & (rr < shape2d[0]) & (cc >= 0) & (cc < shape2d[1])
    out[rr[keep], cc[keep]] = True
    return out


def tight_box_2d(m2: np.ndarray):
    """The smallest (row slice, column slice) holding every True pixel, or None."""
    rows, cols = np.flatnonzero(m2.any(axis=1)), np.flatnonzero(m2.any(axis=0))
    if rows.size == 0:
        return None
    return slice(int(rows[0]), int(rows[-1]) + 1), slice(int(cols[0]), int(cols[-1]) + 1)


def _shape2d(seg_shape, plane_axis):
    a, b = in_plane_axes(plane_axis)
    return int(seg_shape[a]), int(seg_shape[b])


def polygon_on_slice(points_ijk, plane_axis: int, index: int, shape) -> tuple[np.ndarray, tuple] | None:
    """The polygon as a 3D (mask, box) one voxel thick at `index` across `plane_axis`, cropped to its content."""
    rows, cols = plane_coords(points_ijk, plane_axis)
    m2 = polygon_mask(rows, cols, _shape2d(shape, plane_axis))
    return _extrude(m2, plane_axis, slice(int(index), int(index) + 1))


def _extrude(m2: np.ndarray, plane_axis: int, depth: slice, full_plane: bool = False):
    """A 2D in-plane mask repeated over the slices `depth` (3D mask, box), cropped to the 2D content unless
    `full_plane`."""
    if full_plane:
        tb = (slice(0, m2.shape[0]), slice(0, m2.shape[1]))
    else:
        tb = tight_box_2d(m2)
        if tb is None:
            return None
    sub = m2[tb]
    a, b = in_plane_axes(plane_axis)
    box = [None, None, None]
    box[a], box[b], box[plane_axis] = tb[0], tb[1], depth
    mask = np.broadcast_to(np.expand_dims(sub, plane_axis),
                           [s.stop - s.start for s in box])
    return mask, tuple(box)


# ------------------------------------------------------------------------------------------------ Draw
def plan_draw(seg: Segmentation, segment_id: str, points_ijk, plane_axis: int, index: int,
              erase: bool = False) -> Plan:
    """Fill (or, with `erase`, clear) the polygon traced by `points_ijk` on one slice of the segment."""
    seg.segment(segment_id)
    if not 0 <= int(index) < seg.geometry.shape[int(plane_axis)]:
        raise SegmentationError("the slice is outside the volume")
    plan = Plan("Draw" if not erase else "Draw (erase)")
    region = polygon_on_slice(points_ijk, plane_axis, index, seg.geometry.shape)
    if region is not None and not seg.segment(segment_id).locked:
        mask, box = region
        plan.changes.append(Change(segment_id, box, np.ascontiguousarray(mask),
                                   EditMode.REMOVE if erase else EditMode.ADD))
    elif seg.segment(segment_id).locked:
        plan.skipped.append(segment_id)
    return plan


def draw(seg, segment_id, points_ijk, plane_axis, index, erase=False, policy=None) -> OpResult:
    return apply_plan(seg, plan_draw(seg, segment_id, points_ijk, plane_axis, index, erase), policy)


# ------------------------------------------------------------------------------------------------ Scissors
class ScissorsShape(enum.Enum):
    FREEHAND = "freehand"
    CIRCLE = "circle"
    RECTANGLE = "rectangle"


class ScissorsOperation(enum.Enum):
    ERASE_INSIDE = "erase inside"
    ERASE_OUTSIDE = "erase outside"
    FILL_INSIDE = "fill inside"
    FILL_OUTSIDE = "fill outside"


class SliceCut(enum.Enum):
    UNLIMITED = "unlimited"        # through the whole volume along the view's normal
    POSITIVE = "positive"          # from the slice towards the view normal's positive side
    NEGATIVE = "negative"
    SYMMETRIC = "symmetric"        # a slab centred on the slice


def shape_mask(kind: ScissorsShape, points_ijk, plane_axis: int, shape, spacing) -> np.ndarray:
    """The in-plane 2D mask of a scissors shape. FREEHAND: the polygon of the points; RECTANGLE: the voxels
    between the nearest voxels of the first and last points (inclusive); CIRCLE: centred on the first point's
    voxel, radius = the in-plane distance in mm to the last point (voxels whose centre is within it)."""
    shape2d = _shape2d(shape, plane_axis)
    rows, cols = plane_coords(points_ijk, plane_axis)
    if kind is ScissorsShape.FREEHAND:
        return polygon_mask(rows, cols, shape2d)
    out = np.zeros(shape2d, dtype=bool)
    if len(rows) == 0:
        return out
    r0, c0 = math.floor(rows[0] + 0.5), math.floor(cols[0] + 0.5)
    if kind is ScissorsShape.RECTANGLE:
        r1, c1 = math.floor(rows[-1] + 0.5), math.floor(cols[-1] + 0.5)
        rs = slice(max(0, min(r0, r1)), max(0, max(r0, r1) + 1))
        cs = slice(max(0, min(c0, c1)), max(0, max(c0, c1) + 1))
        out[rs, cs] = True
        return out
    a, b = in_plane_axes(plane_axis)
    sa, sb = float(spacing[a]), float(spacing[b])
    radius = math.hypot((rows[-1] - r0) * sa, (cols[-1] - c0) * sb)
    rr, cc = np.ogrid[0:shape2d[0], 0:shape2d[1]]
    out[...] = ((rr - r0) * sa) ** 2 + ((cc - c0) * sb) ** 2 <= radius ** 2 + 1e-9
    return out


def cut_range(index: int, n: int, cut: SliceCut, depth_mm: float, spacing_mm: float, sign: int = 1) -> slice:
    """The slices along the view's normal that the cut reaches. `sign` = +1 when the lattice index grows towards
    the view normal's positive side. SYMMETRIC: |k - index| * spacing <= depth/2 (0 mm: this slice only);
    POSITIVE/NEGATIVE: 0 <= (k - index) * spacing * (+/-)sign <= depth (0 mm: to the volume's edge)."""
    index = int(index)
    if cut is SliceCut.UNLIMITED:
        return slice(0, n)
    depth_mm = max(0.0, float(depth_mm))
    if cut is SliceCut.SYMMETRIC:
        h = int(math.floor(depth_mm / 2.0 / spacing_mm + 1e-9))
        return slice(max(0, index - h), min(n, index + h + 1))
    forward = (sign > 0) == (cut is SliceCut.POSITIVE)      # towards growing lattice index?
    h = n if depth_mm == 0 else int(math.floor(depth_mm / spacing_mm + 1e-9))
    return slice(index, min(n, index + h + 1)) if forward else slice(max(0, index - h), index + 1)


def plan_scissors(seg: Segmentation, segment_ids, kind: ScissorsShape, points_ijk, plane_axis: int, index: int,
                  operation: ScissorsOperation, cut: SliceCut = SliceCut.UNLIMITED, depth_mm: float = 0.0,
                  sign: int = 1) -> Plan:
    """Scissors: the shape extruded along the view's normal over `cut`, then erase (every segment of
    `segment_ids` in ONE pass per layer) or fill (one segment) inside or outside it. Outside means the rest of the
    slices the cut reaches."""
    ids = list(dict.fromkeys(segment_ids))
    for sid in ids:
        seg.segment(sid)
    if not ids:
        raise SegmentationError("select at least one segment")
    fill = operation in (ScissorsOperation.FILL_INSIDE, ScissorsOperation.FILL_OUTSIDE)
    if fill and len(ids) > 1:
        raise SegmentationError("scissors fill one segment at a time; select only one")
    shape = seg.geometry.shape
    plane_axis = int(plane_axis)
    m2 = shape_mask(kind, points_ijk, plane_axis, shape, seg.geometry.spacing)
    outside = operation in (ScissorsOperation.ERASE_OUTSIDE, ScissorsOperation.FILL_OUTSIDE)
    if outside:
        m2 = ~m2
    depth = cut_range(index, shape[plane_axis], cut, depth_mm, seg.geometry.spacing[plane_axis], sign)
    locked = [s for s in ids if seg.segment(s).locked]
    ids = [s for s in ids if s not in locked]
    plan = Plan(f"Scissors ({operation.value})" + (f", {len(ids)} segments" if len(ids) > 1 else ""),
                skipped=locked)
    region = _extrude(m2, plane_axis, depth) if depth.stop > depth.start else None
    if region is None or not ids:
        return plan
    mask, box = region
    if fill:
        plan.changes.append(Change(ids[0], box, mask, EditMode.ADD))
    elif len(ids) == 1:
        plan.changes.append(Change(ids[0], box, mask, EditMode.REMOVE))
    else:
        plan.changes.append(Change("", box, mask, EditMode.REMOVE_ALL, targets=tuple(ids)))
    return plan


def scissors(seg, segment_ids, kind, points_ijk, plane_axis, index, operation, cut=SliceCut.UNLIMITED,
             depth_mm=0.0, sign=1, policy=None) -> OpResult:
    return apply_plan(seg, plan_scissors(seg, segment_ids, kind, points_ijk, plane_axis, index, operation, cut,
                                         depth_mm, sign), policy)
