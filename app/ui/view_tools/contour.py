"""Draw and Scissors as Qt-free state machines driven by lattice points (ijk) from the slice views.

Draw (Slicer's Draw, ITK-SNAP's polygon): each click adds a point, a drag adds points freehand; Enter (or `a`),
a double click, or a click back on the first point fills the polygon on that slice (one undo step); Backspace
(or `x`) removes the last point; Esc cancels. The contour lives on the slice where it was started: a click on
another view or slice starts a new one.

Scissors (Slicer's Scissors): press, drag a freehand shape, a rectangle or a circle, release: the shape, extruded
along the view's normal as the options say, is erased from (or filled into) the segments; one undo step.
"""
from __future__ import annotations

import math

import numpy as np

from app.model.edits import EditMode
from app.model.ops.contour import (ScissorsOperation, ScissorsShape, in_plane_axes, plan_draw, plan_scissors)
from app.model.tool_options import Scope, ToolOptions

from .base import ViewContext
from .common import Marks, ToolCore

CLOSE_VOXELS = 1.5          # a click this close (in voxels) to the first point closes the loop


def _on_slice(ijk, ctx: ViewContext) -> tuple[float, float, float]:
    p = [float(c) for c in ijk]
    p[ctx.plane_axis] = float(ctx.slice_index)
    return tuple(p)


def _in_plane_distance(p, q, plane_axis: int) -> float:
    a, b = in_plane_axes(plane_axis)
    return math.hypot(p[a] - q[a], p[b] - q[b])


class _SliceContourTool(ToolCore):
    """What Draw and Scissors share: points collected on the one slice of one view where the contour started,
    handed over (and cleared from the view) when it is applied."""

    def __init__(self, state, segmentation, reference=None) -> None:
        super().__init__(state, segmentation, reference)
        self.points: list[tuple] = []
        self._where: tuple[int, int] | None = None      # (plane axis, slice) of the contour

    @property
    def active(self) -> bool:
        return bool(self.points)

    def _take_contour(self):
        """(document, points, plane axis, slice) of the contour, now cleared from the view; None when there is no
        document or no point."""
        points, where = self.points, self._where
        self.points = []
        self.set_marks(None)
        seg = self._document()
        if seg is None or not points:
            return None
        return seg, points, *where


class DrawTool(_SliceContourTool):
    name = "Draw"

    def __init__(self, state, segmentation, reference=None) -> None:
        super().__init__(state, segmentation, reference)
        self._hover = None
        self._dragging = False

    # ---------------------------------------------------------------- Tool protocol
    def press(self, ijk, ctx: ViewContext) -> bool:
        if self._document() is None:
            return False
        where = (ctx.plane_axis, ctx.slice_index)
        if self.points and where != self._where:
            self.points = []                           # another view or slice: a new contour
        self._where = where
        p = _on_slice(ijk, ctx)
        if len(self.points) >= 3 and _in_plane_distance(p, self.points[0], ctx.plane_axis) <= CLOSE_VOXELS:
            self.finish()                              # clicked back on the first point: the loop is closed
            return True
        self.points.append(p)
        self._dragging = True
        self._show()
        return True

    def drag(self, ijk, ctx: ViewContext) -> bool:
        if not self._dragging or not self.points:
            return False
        p = _on_slice(ijk, ctx)
        if _in_plane_distance(p, self.points[-1], self._where[0]) >= 1.0:     # freehand: a point per voxel moved
            self.points.append(p)
            self._show()
        return True

    def release(self, ijk, ctx: ViewContext) -> bool:
        was, self._dragging = self._dragging, False
        return was

    def double_click(self, ijk, ctx: ViewContext) -> bool:
        if not self.points:
            return False
        self._dragging = False
        self.finish()
        return True

    def hover(self, ijk, ctx: ViewContext) -> None:
        if self.points and (ctx.plane_axis, ctx.slice_index) == self._where and ijk is not None:
            self._hover = _on_slice(ijk, ctx)
            self._show()

    def key(self, name: str) -> bool:
        if not self.points:
            return False
        if name in ("Return", "Enter", "a"):
            self.finish()
        elif name in ("Backspace", "x"):
            self.points.pop()
            self._show()
        elif name == "Escape":
            self.cancel()
        else:
            return False
        return True

    def cancel(self) -> None:
        self.points, self._hover, self._dragging = [], None, False
        self.set_marks(None)

    # ---------------------------------------------------------------- internals
    def _show(self) -> None:
        axis, index = self._where
        pts = list(self.points) + ([self._hover] if self._hover is not None and not self._dragging else [])
        self.set_marks(Marks(axis, index, pts, closed=len(pts) >= 3,
                             text="Enter or double-click: fill · Backspace: undo point · Esc: cancel"))

    def finish(self) -> bool:
        """Fill the polygon on its slice: one undo step. False (and a message) when refused."""
        self._hover = None
        taken = self._take_contour()
        if taken is None:
            return False
        seg, points, axis, index = taken
        sid = self.segment_ok(seg, "draw")
        if sid is None:
            return False
        return self.apply(seg, plan_draw(seg, sid, points, axis, index), EditMode.ADD)


class ScissorsTool(_SliceContourTool):
    name = "Scissors"

    def __init__(self, state, segmentation, reference=None, options: ToolOptions | None = None,
                 scope_ids=None) -> None:
        super().__init__(state, segmentation, reference)
        self.options = options or ToolOptions()
        # scope_ids(seg, scope) -> segment ids (the window knows the table's selection); default below
        self._scope_ids = scope_ids or default_scope_ids(state)

    def press(self, ijk, ctx: ViewContext) -> bool:
        if self._document() is None:
            return False
        self._where = (ctx.plane_axis, ctx.slice_index)
        self.points = [_on_slice(ijk, ctx)]
        self._show()
        return True

    def drag(self, ijk, ctx: ViewContext) -> bool:
        if not self.points:
            return False
        p = _on_slice(ijk, ctx)
        if self.options.scissors_shape is ScissorsShape.FREEHAND:
            if _in_plane_distance(p, self.points[-1], self._where[0]) >= 1.0:
                self.points.append(p)
        else:
            self.points[1:] = [p]
        self._show()
        return True

    def release(self, ijk, ctx: ViewContext) -> bool:
        if not self.points:
            return False
        self.drag(ijk, ctx)
        self.finish()
        return True

    def key(self, name: str) -> bool:
        if name == "Escape" and self.points:
            self.cancel()
            return True
        return False

    def cancel(self) -> None:
        self.points = []
        self.set_marks(None)

    def outline_points(self, spacing) -> list[tuple]:
        """The shape's outline (ijk) as drawn on the view: the freehand points, the rectangle's corners, or the
        circle as a 64-gon."""
        axis = self._where[0]
        a, b = in_plane_axes(axis)
        kind = self.options.scissors_shape
        if kind is ScissorsShape.FREEHAND or len(self.points) < 2:
            return list(self.points)
        p0, p1 = self.points[0], self.points[-1]
        if kind is ScissorsShape.RECTANGLE:
            r0, c0 = (math.floor(p0[a] + 0.5), math.floor(p0[b] + 0.5))
            r1, c1 = (math.floor(p1[a] + 0.5), math.floor(p1[b] + 0.5))
            lo_r, hi_r = min(r0, r1) - 0.5, max(r0, r1) + 0.5
            lo_c, hi_c = min(c0, c1) - 0.5, max(c0, c1) + 0.5
            corners = [(lo_r, lo_c), (lo_r, hi_c), (hi_r, hi_c), (hi_r, lo_c)]
        else:
            r0, c0 = (math.floor(p0[a] + 0.5), math.floor(p0[b] + 0.5))
            rad = math.hypot((p1[a] - r0) * spacing[a], (p1[b] - c0) * spacing[b])
            t = np.linspace(0, 2 * math.pi, 65)[:-1]
            corners = [(r0 + rad * math.cos(x) / spacing[a], c0 + rad * math.sin(x) / spacing[b]) for x in t]
        out = []
        for r, c in corners:
            q = [0.0, 0.0, 0.0]
            q[a], q[b], q[axis] = r, c, self._where[1]
            out.append(tuple(q))
        return out

    def _show(self) -> None:
        seg = self._document()
        spacing = seg.geometry.spacing if seg is not None else (1.0, 1.0, 1.0)
        self.set_marks(Marks(self._where[0], self._where[1], self.outline_points(spacing), closed=True,
                             text=self.options.scissors_operation.value))

    def finish(self) -> bool:
        taken = self._take_contour()
        if taken is None:
            return False
        seg, points, axis, index = taken
        o = self.options
        fill = o.scissors_operation in (ScissorsOperation.FILL_INSIDE, ScissorsOperation.FILL_OUTSIDE)
        if fill or o.scissors_scope == Scope.CURRENT:
            sid = self.segment_ok(seg, "cut")
            if sid is None:
                return False
            ids = [sid]
        else:
            ids = [s for s in self._scope_ids(seg, o.scissors_scope) if s in seg]
            if not ids:
                self.refuse("No segment to cut: the scope chosen holds none.")
                return False
        if ids and all(seg.segment(s).locked for s in ids):
            self.refuse("Every segment to cut is locked.")
            return False
        plan = plan_scissors(seg, ids, o.scissors_shape, points, axis, index, o.scissors_operation,
                             o.scissors_cut, o.scissors_depth_mm, normal_sign(seg.geometry, axis))
        mode = EditMode.ADD if fill else (EditMode.REMOVE if len(ids) == 1 else EditMode.REMOVE_ALL)
        return self.apply(seg, plan, mode)


def normal_sign(geometry, plane_axis: int) -> int:
    """+1 when the lattice index along `plane_axis` grows towards L, P or S (the LPS axis it is closest to): the
    side the view's position label counts up to ("positive" slab side)."""
    d = np.asarray(geometry.directions, dtype=float).reshape(3, 3)[:, int(plane_axis)]
    return 1 if d[int(np.argmax(np.abs(d)))] >= 0 else -1


def default_scope_ids(state):
    def ids(seg, scope):
        if scope == Scope.ALL:
            return list(seg.segment_ids)
        if scope == Scope.VISIBLE:
            return [s.id for s in seg.segments if s.visible]
        return [state.active_segment] if state.active_segment else []
    return ids
