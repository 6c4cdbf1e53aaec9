"""EditorState: the Segment Editor's parameters (Slicer's vtkMRMLSegmentEditorNode, ITK-SNAP's global paint state).

Qt-free: widgets write here and listen to the signals; tools read it when they act. It holds no segmentation, only
what the user chose: the active segment, the tool, the brush and the editing policy (who may be overwritten, where
editing is allowed, the intensity range). `policy()` turns it into the EditPolicy that `edits.apply_mask` takes.
"""
from __future__ import annotations

import enum

import numpy as np

from .edits import Editable, EditPolicy, Overwrite
from psygnal import Signal

MIN_RADIUS_MM = 0.05
MAX_RADIUS_MM = 100.0
DEFAULT_RADIUS_MM = 2.5        # Slicer's default absolute brush diameter is 5 mm
BRUSH_SCALE_STEP = 1.2         # Slicer: Shift+wheel and +/- scale the diameter by 1.2 or 0.8


class ToolKind(enum.Enum):
    NONE = "none"
    PAINT = "paint"
    ERASE = "erase"
    DRAW = "draw"                 # issue 14: contour tools and click-grown regions
    SCISSORS = "scissors"
    LEVEL_TRACE = "level_trace"
    FLOOD_FILL = "flood_fill"
    GROW = "grow"            # Grow from seeds: the brush paints seeds (app/ui/grow_seeds.py)


class EditorState:
    """What the user chose in the editor panel. Every setter emits its signal only when the value changes."""

    active_segment_changed = Signal(object)   # (str | None)
    tool_changed = Signal(object)             # (ToolKind)
    brush_changed = Signal()                  # (): radius or sphere
    policy_changed = Signal()                 # (): overwrite, editable area, mask segment, intensity, erase-all
    message = Signal(str)                     # (str): something the user should read (a refused edit)

    def __init__(self) -> None:
        self._active: str | None = None
        self._tool = ToolKind.NONE
        self._radius = DEFAULT_RADIUS_MM
        self._sphere = False
        self._overwrite = Overwrite.ALL
        self._editable = Editable.EVERYWHERE
        self._mask_segment: str | None = None
        self._intensity_on = False
        self._intensity_range = (0.0, 0.0)
        self._erase_all = False

    # ---------------------------------------------------------------- active segment and tool
    @property
    def active_segment(self) -> str | None:
        return self._active

    @active_segment.setter
    def active_segment(self, segment_id: str | None) -> None:
        if segment_id != self._active:
            self._active = segment_id
            self.active_segment_changed.emit(segment_id)

    @property
    def tool(self) -> ToolKind:
        return self._tool

    @tool.setter
    def tool(self, kind: ToolKind) -> None:
        kind = ToolKind(kind)
        if kind is not self._tool:
            self._tool = kind
            self.tool_changed.emit(kind)

    # ---------------------------------------------------------------- brush
    @property
    def brush_radius_mm(self) -> float:
        return self._radius

    @brush_radius_mm.setter
    def brush_radius_mm(self, radius: float) -> None:
        radius = float(min(MAX_RADIUS_MM, max(MIN_RADIUS_MM, float(radius))))
        if not np.isclose(radius, self._radius, rtol=0, atol=1e-9):
            self._radius = radius
            self.brush_changed.emit()

    def scale_brush(self, steps: int) -> None:
        """Grow (steps > 0) or shrink (steps < 0) the brush by BRUSH_SCALE_STEP per step."""
        self.brush_radius_mm = self._radius * BRUSH_SCALE_STEP ** steps

    @property
    def brush_sphere(self) -> bool:
        return self._sphere

    @brush_sphere.setter
    def brush_sphere(self, on: bool) -> None:
        if bool(on) != self._sphere:
            self._sphere = bool(on)
            self.brush_changed.emit()

    # ---------------------------------------------------------------- editing policy
    def _set(self, attr: str, value) -> None:
        if getattr(self, attr) != value:
            setattr(self, attr, value)
            self.policy_changed.emit()

    @property
    def overwrite(self) -> Overwrite:
        return self._overwrite

    @overwrite.setter
    def overwrite(self, mode: Overwrite) -> None:
        self._set("_overwrite", Overwrite(mode))

    @property
    def editable(self) -> Editable:
        return self._editable

    @editable.setter
    def editable(self, area: Editable) -> None:
        self._set("_editable", Editable(area))

    @property
    def mask_segment(self) -> str | None:
        """The segment painted over when `editable` is INSIDE_SEGMENT."""
        return self._mask_segment

    @mask_segment.setter
    def mask_segment(self, segment_id: str | None) -> None:
        self._set("_mask_segment", segment_id)

    @property
    def intensity_masking(self) -> bool:
        return self._intensity_on

    @intensity_masking.setter
    def intensity_masking(self, on: bool) -> None:
        self._set("_intensity_on", bool(on))

    @property
    def intensity_range(self) -> tuple[float, float]:
        """Inclusive [lo, hi] of reference-volume values where editing is allowed (when intensity_masking)."""
        return self._intensity_range

    @intensity_range.setter
    def intensity_range(self, lo_hi) -> None:
        lo, hi = (float(v) for v in lo_hi)
        self._set("_intensity_range", (min(lo, hi), max(lo, hi)))

    @property
    def erase_all(self) -> bool:
        """Erase removes every segment under the brush, not only the active one (Slicer's EraseAllSegments)."""
        return self._erase_all

    @erase_all.setter
    def erase_all(self, on: bool) -> None:
        self._set("_erase_all", bool(on))

    def policy(self, intensity: np.ndarray | None = None) -> EditPolicy:
        """The EditPolicy for apply_mask. `intensity` is the reference grey on the segmentation lattice; the
        intensity range applies only when masking is on and a grey volume is given."""
        use_range = self._intensity_on and intensity is not None
        return EditPolicy(overwrite=self._overwrite, editable=self._editable, mask_segment=self._mask_segment,
                          intensity=intensity if use_range else None,
                          intensity_range=self._intensity_range if use_range else None)
