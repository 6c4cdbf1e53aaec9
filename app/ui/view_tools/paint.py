"""PaintTool: the paint and erase brushes as a Qt-free state machine (ITK-SNAP's PaintbrushModel, napari's drag).

press opens one undo step ("Paint" / "Erase"); each drag stamps the brush along the segment from the last point,
with dabs at most half a radius apart so a fast stroke leaves no gaps, as ONE `apply_mask` over the union of those
dabs; release commits the step, cancel rolls it back. The brush is a disc one voxel thick in the view's plane, or a
sphere. Refused edits (no segment, hidden or locked segment) change nothing and say why on `state.message`.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from app.model import brush
from app.model.edits import EditMode, EditPolicy, apply_mask
from app.model.segment_editor_state import EditorState, ToolKind
from app.model.segmentation import Segmentation, SegmentationError

from .base import ViewContext
from .common import edit_policy, why_not_editable
from app.model.resample import LatticeCache


class PaintTool:
    """Paint (EditMode.ADD) or erase (REMOVE, or REMOVE_ALL with `state.erase_all`) the active segment.

    `segmentation()` returns the document to edit (or None); `reference()` returns the reference volume
    (`.array`, `.geometry`) or None, used only when the state's intensity range is on."""

    def __init__(self, state: EditorState, segmentation: Callable[[], Segmentation | None],
                 reference: Callable[[], object] | None = None, erase: bool = False,
                 defer: Callable[[Callable[[], None]], None] | None = None) -> None:
        self.state = state
        self.kind = ToolKind.ERASE if erase else ToolKind.PAINT
        self.name = "Erase" if erase else "Paint"
        self._document = segmentation
        self._reference = reference or (lambda: None)
        self._grey = LatticeCache()
        self._seg: Segmentation | None = None     # the document of the stroke in progress
        self._stroke = None                       # (segment id, mode, policy, brush mask, max step, axis)
        self._last: tuple | None = None
        self._defer = defer                       # schedules flush() (the GUI: next event-loop turn)
        self._pending: list[tuple] = []           # dab centres (ijk) waiting for flush()

    @property
    def active(self) -> bool:
        """A stroke is in progress."""
        return self._seg is not None

    # ---------------------------------------------------------------- Tool protocol
    def press(self, ijk, ctx: ViewContext) -> bool:
        if self._seg is not None:             # a press without release (focus games): finish the old stroke
            self._finish()
        seg = self._document()
        if seg is None:
            return False
        stroke = self._prepare(seg, ctx)
        if stroke is None:
            return True                       # refused with a message; swallow the drag (no surprise panning)
        self._seg, self._stroke = seg, stroke
        seg.begin_operation(self.name)
        point = self._point(ijk, ctx)
        self._last = point
        self._stamp([point])
        return True

    def drag(self, ijk, ctx: ViewContext) -> bool:
        if self._seg is None:
            return False
        point, last = self._point(ijk, ctx), self._last
        if point == last:
            return True
        step = self._stroke[4]
        if max(abs(a - b) for a, b in zip(point, last)) <= step:    # the usual case: one dab, nothing between
            pts = [point]
        else:
            pts = [tuple(p) for p in brush.interpolate(last, point, step)[1:].tolist()]
        self._last = point
        if self._defer is None:
            self._stamp(pts)
        else:
            if not self._pending:
                self._defer(self.flush)
            self._pending.extend(pts)
        return True

    def flush(self) -> None:
        """Apply the dabs queued since the last flush as one edit. With `defer`, mouse moves that arrive faster
        than the views redraw are merged, so painting never falls behind the pointer."""
        pending, self._pending = self._pending, []
        if pending and self._seg is not None:
            self._stamp(pending)

    def release(self, ijk, ctx: ViewContext) -> bool:
        if self._seg is None:
            return False
        self.drag(ijk, ctx)
        self._finish()
        return True

    def cancel(self) -> None:
        self._pending = []
        if self._seg is not None:
            seg, self._seg, self._stroke, self._last = self._seg, None, None, None
            seg.abort_operation()

    # ---------------------------------------------------------------- internals
    def _finish(self) -> None:
        self.flush()
        if self._seg is None:                     # the last dabs were refused: the stroke is already rolled back
            return
        seg, self._seg, self._stroke, self._last = self._seg, None, None, None
        seg.end_operation()

    def _refuse(self, text: str) -> None:
        self.state.message.emit(text)

    def _prepare(self, seg: Segmentation, ctx: ViewContext):
        """Check the request and freeze the stroke's parameters, or say why not and return None."""
        st = self.state
        mode = EditMode.ADD if self.kind is ToolKind.PAINT else (
            EditMode.REMOVE_ALL if st.erase_all else EditMode.REMOVE)
        sid = st.active_segment
        if mode is not EditMode.REMOVE_ALL:
            why = why_not_editable(seg, sid, self.name.lower())
            if why:
                self._refuse(why)
                return None
        policy = self._policy(seg, mode)
        if policy is None:
            return None
        axis = None if st.brush_sphere else ctx.plane_axis
        spacing = seg.geometry.spacing
        shape = brush.ball(st.brush_radius_mm, spacing, axis)
        in_plane = [a for a in range(3) if a != axis]
        radius_vox = min(st.brush_radius_mm / spacing[a] for a in in_plane)
        return sid, mode, policy, shape, max(0.5, radius_vox / 2.0), axis

    def _policy(self, seg: Segmentation, mode: EditMode) -> EditPolicy | None:
        policy, why = edit_policy(self.state, seg, mode, lambda: self._grey.get(self._reference(), seg.geometry))
        if policy is None:
            self._refuse(why)
        return policy

    @staticmethod
    def _point(ijk, ctx: ViewContext) -> tuple[int, int, int]:
        """The voxel whose centre is nearest (halves round up, as Slicer), on the view's slice. Plain Python:
        this runs for every mouse move."""
        p = [math.floor(float(c) + 0.5) for c in ijk]
        p[ctx.plane_axis] = int(ctx.slice_index)
        return tuple(p)

    def _stamp(self, points: list) -> None:
        """One apply_mask over the union of the brush placed at `points` (ijk tuples); then live events."""
        if len(points) == 0:
            return
        sid, mode, policy, shape, _, _ = self._stroke
        seg = self._seg
        if len(points) == 1:
            region = brush.dab_region(points[0], shape, seg.geometry.shape)
        else:
            region = brush.stroke_region(np.array(points), shape, seg.geometry.shape)
        if region is None:
            return
        mask, box = region
        try:
            apply_mask(seg, sid, mask, box, mode, policy, name=self.name)
        except SegmentationError as exc:
            self.cancel()
            self._refuse(str(exc))
            return
        seg.flush_events()
