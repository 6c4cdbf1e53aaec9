"""Level tracing and Flood fill as Qt-free state machines: hovering shows the region a click would add (the views
outline it), a click adds it to the active segment as one undo step (Slicer's Level tracing, the Flood filling /
Local threshold effects)."""
from __future__ import annotations

import math

from app.model.edits import EditMode
from app.model.ops.plan import Change, Plan
from app.model.ops.region import FloodRange, flood_region, level_region
from app.model.segmentation import SegmentationError
from app.model.tool_options import ToolOptions

from .base import ViewContext
from .common import Marks, ToolCore


def _voxel(ijk, ctx: ViewContext) -> tuple[int, int, int]:
    p = [math.floor(float(c) + 0.5) for c in ijk]
    p[ctx.plane_axis] = int(ctx.slice_index)
    return tuple(p)


class _ClickRegionTool(ToolCore):
    """Hover -> region preview (recomputed only when the voxel under the cursor changes); click -> add it."""

    def __init__(self, state, segmentation, reference=None, options: ToolOptions | None = None,
                 defer=None) -> None:
        super().__init__(state, segmentation, reference)
        self.options = options or ToolOptions()
        self._defer = defer                # schedules a callable (the GUI: next event-loop turn)
        self._key = None
        self._pending = None
        if self.options is not None:
            self.options.changed.connect(self._options_changed)

    def _options_changed(self, _name=None) -> None:
        self._key = None                   # the next hover recomputes

    def region_at(self, seg, voxel, ctx, preview: bool = False):       # -> (mask, box) or None
        raise NotImplementedError

    def hover(self, ijk, ctx: ViewContext) -> None:
        seg = self._document()
        if seg is None or ijk is None:
            return
        voxel = _voxel(ijk, ctx)
        key = (id(seg), voxel, ctx.plane_axis)
        if key == self._key:
            return
        self._key = key
        if self._defer is None:
            self._preview(seg, voxel, ctx)
            return
        if self._pending is None:
            self._defer(self._run_pending)
        self._pending = (seg, voxel, ctx)

    def _run_pending(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            self._preview(*pending)

    def _preview(self, seg, voxel, ctx) -> None:
        try:
            region = self.region_at(seg, voxel, ctx, preview=True)
        except SegmentationError:
            region = None
        self.set_marks(Marks(ctx.plane_axis, ctx.slice_index, region=region) if region is not None else None)

    def invalidate(self) -> None:
        """The document or its voxels changed: the preview must be recomputed on the next hover."""
        self._key = None

    def press(self, ijk, ctx: ViewContext) -> bool:
        seg = self._document()
        if seg is None or ijk is None:
            return False
        sid = self.segment_ok(seg, "fill")
        if sid is None:
            return True
        voxel = _voxel(ijk, ctx)
        try:
            region = self.region_at(seg, voxel, ctx)
        except SegmentationError as exc:
            self.refuse(str(exc))
            return True
        self._key = None
        self.set_marks(None)
        if region is None:
            self.refuse(f"{self.name}: nothing to fill here.")
            return True
        plan = Plan(self.name, [Change(sid, region[1], region[0], EditMode.ADD)])
        self.apply(seg, plan, EditMode.ADD)
        return True

    def cancel(self) -> None:
        self._key = None
        self._pending = None
        self.set_marks(None)


class LevelTraceTool(_ClickRegionTool):
    name = "Level tracing"

    def region_at(self, seg, voxel, ctx, preview: bool = False):
        grey = self.grey(seg)
        if grey is None:
            raise SegmentationError("Level tracing needs a reference volume: open one first.")
        return level_region(grey, ctx.plane_axis, ctx.slice_index, voxel)

    def press(self, ijk, ctx: ViewContext) -> bool:
        seg = self._document()
        if seg is not None and self.grey(seg) is None:
            self.refuse("Level tracing needs a reference volume: open one first.")
            return True
        return super().press(ijk, ctx)


class FloodFillTool(_ClickRegionTool):
    name = "Flood fill"

    PREVIEW_VOXELS = 1 << 21          # a hover preview looks at most this big a box (~50 ms); a click fills all

    def region_at(self, seg, voxel, ctx, preview: bool = False):
        o = self.options
        grey = None
        if o.flood_mode is not FloodRange.LABEL:
            grey = self.grey(seg)
            if grey is None:
                raise SegmentationError("Flood fill by grey value needs a reference volume (or use 'label region').")
        return flood_region(seg, grey, voxel, mode=o.flood_mode, tolerance=o.flood_tolerance,
                            value_range=self.state.intensity_range, three_d=o.flood_3d, plane_axis=ctx.plane_axis,
                            radius_mm=o.flood_radius_mm or None,
                            max_voxels=self.PREVIEW_VOXELS if preview else None)

    def press(self, ijk, ctx: ViewContext) -> bool:
        seg = self._document()
        if seg is not None and self.options.flood_mode is not FloodRange.LABEL and self.grey(seg) is None:
            self.refuse("Flood fill by grey value needs a reference volume (or use 'label region').")
            return True
        return super().press(ijk, ctx)

    @property
    def name_for_mode(self) -> str:
        return "Fill label region" if self.options.flood_mode is FloodRange.LABEL else "Flood fill"
