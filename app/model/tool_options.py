"""Options of the interactive tools beyond the brush (Scissors, Flood fill), Qt-free like EditorState: the panel
writes here, the tools read here when they act, `changed` tells the widgets."""
from __future__ import annotations

from .events import Signal
from .ops.contour import ScissorsOperation, ScissorsShape, SliceCut
from .ops.region import FloodRange


class Scope:
    """Which segments the scissors erase."""
    CURRENT = "current"
    SELECTED = "selected"
    VISIBLE = "visible"
    ALL = "all"
    ALL_SCOPES = (CURRENT, SELECTED, VISIBLE, ALL)


class ToolOptions:
    def __init__(self) -> None:
        self.scissors_shape = ScissorsShape.FREEHAND
        self.scissors_operation = ScissorsOperation.ERASE_INSIDE
        self.scissors_cut = SliceCut.UNLIMITED
        self.scissors_depth_mm = 10.0
        self.scissors_scope = Scope.CURRENT
        self.flood_mode = FloodRange.TOLERANCE
        self.flood_tolerance = 10.0
        self.flood_3d = False
        self.flood_radius_mm = 0.0          # 0: no limit
        self.changed = Signal()             # (name of the option)

    def set(self, name: str, value) -> None:
        if not hasattr(self, name) or name == "changed":
            raise AttributeError(name)
        if getattr(self, name) != value:
            setattr(self, name, value)
            self.changed.emit(name)
