"""GrowSeedTool: the brush of Grow from seeds, a Qt-free press/drag/release/cancel state machine like PaintTool,
but it paints into the session's scratch seed labelmap (`app.model.ops.grow.GrowSession.seeds`), never into the
document. The same brush (radius, disc or sphere, dabs at most half a radius apart) paints seeds of the selected
segment, of the background, or erases seeds (Shift+drag, or the erase mode). Esc cancels the stroke: its seeds are
put back as they were. `changed(box)` is called after each dab (the overlay redraws), `finished()` when a stroke
ends (the controller updates the partition)."""
from __future__ import annotations

from typing import Callable

import numpy as np

from app.model import brush
from app.model.segment_editor_state import EditorState
from app.model.ops.grow import BACKGROUND

from .base import ViewContext
from .paint import PaintTool

SEGMENT, BACKGROUND_SEED, ERASE = "segment", "background", "erase"


class GrowSeedTool:
    name = "Grow-from-seeds"

    def __init__(self, state: EditorState, session: Callable[[], "tuple | None"],
                 changed: Callable[[tuple], None] = lambda box: None, finished: Callable[[], None] = lambda: None,
                 busy: Callable[[], bool] = lambda: False) -> None:
        self.state = state
        self.mode = SEGMENT               # what a plain drag paints: SEGMENT / BACKGROUND_SEED / ERASE
        self._session = session           # () -> (segmentation, GrowSession) or None (and says why)
        self._changed, self._finished, self._busy = changed, finished, busy
        self._stroke = None               # (session, class id or None to erase, brush mask, max step)
        self._last = None
        self._undo: list[tuple] = []      # (box, seeds before) per dab of the stroke, for cancel

    @property
    def active(self) -> bool:
        return self._stroke is not None

    def press(self, ijk, ctx: ViewContext) -> bool:
        if self._stroke is not None:
            self._end()
        if self._busy():
            self.state.message.emit("Growing from seeds: wait for the result before painting more seeds.")
            return True
        got = self._session()
        if got is None:
            return True
        seg, session = got
        erase = ctx.shift or self.mode == ERASE
        target = None
        if not erase:
            if self.mode == BACKGROUND_SEED:
                target = BACKGROUND
            else:
                target = self._segment(seg)
                if target is None:
                    return True
        axis = None if self.state.brush_sphere else ctx.plane_axis
        spacing = seg.geometry.spacing
        shape = brush.ball(self.state.brush_radius_mm, spacing, axis)
        radius_vox = min(self.state.brush_radius_mm / spacing[a] for a in range(3) if a != axis)
        self._stroke = (session, target, shape, max(0.5, radius_vox / 2.0))
        self._undo = []
        point = PaintTool._point(ijk, ctx)
        self._last = point
        self._stamp([point])
        return True

    def drag(self, ijk, ctx: ViewContext) -> bool:
        if self._stroke is None:
            return False
        point = PaintTool._point(ijk, ctx)
        if point == self._last:
            return True
        pts = [tuple(p) for p in brush.interpolate(self._last, point, self._stroke[3])[1:].tolist()]
        self._last = point
        self._stamp(pts)
        return True

    def release(self, ijk, ctx: ViewContext) -> bool:
        if self._stroke is None:
            return False
        self.drag(ijk, ctx)
        self._end()
        return True

    def cancel(self) -> None:
        """Esc: the stroke's seeds are put back as they were before the press."""
        if self._stroke is None:
            return
        session = self._stroke[0]
        for box, old in reversed(self._undo):
            session.restore(box, old)
        self._stroke, self._undo = None, []
        if session.box is not None or session.seeds.any():
            self._changed(None)

    # ---------------------------------------------------------------- internals
    def _segment(self, seg) -> str | None:
        sid = self.state.active_segment
        if sid is None or sid not in seg:
            self.state.message.emit("Select the segment to paint seeds for (or choose 'Background').")
            return None
        s = seg.segment(sid)
        if s.locked:
            self.state.message.emit(f"Segment '{s.name}' is locked: unlock it to grow it.")
            return None
        if not s.visible:
            self.state.message.emit(f"Segment '{s.name}' is hidden: show it before growing it.")
            return None
        return sid

    def _stamp(self, points) -> None:
        session, target, shape, _ = self._stroke
        region = brush.stroke_region(np.array(points), shape, session.shape)
        if region is None:
            return
        mask, box = region
        self._undo.append((box, session.seeds[box].copy()))
        n = session.erase(mask, box) if target is None else session.paint(target, mask, box)
        if n:
            self._changed(box)

    def _end(self) -> None:
        self._stroke, self._undo = None, []
        self._finished()
