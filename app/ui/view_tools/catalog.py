"""The tools beyond the brush, as one list the editor panel (buttons, help line) and the editing glue (tools,
shortcuts, Edit menu) both read: adding a tool is adding an entry here. Qt-free."""
from __future__ import annotations

from dataclasses import dataclass

from app.model.segment_editor_state import ToolKind


@dataclass(frozen=True)
class ToolEntry:
    kind: ToolKind
    label: str
    key: str            # the keyboard shortcut (Slicer's where it has one and it is free here)
    help: str           # one line, shown under the tool buttons and in the status bar


ENTRIES = (
    ToolEntry(ToolKind.DRAW, "Draw", "3",
              "Draw: click points or drag on a view; Enter, double-click or clicking the first point fills the "
              "contour on that slice; Backspace removes the last point; Esc cancels."),
    ToolEntry(ToolKind.LEVEL_TRACE, "Level tracing", "4",
              "Level tracing: the outline follows the region at or above the grey level under the cursor; "
              "click to add it to the segment."),
    ToolEntry(ToolKind.SCISSORS, "Scissors", "7",
              "Scissors: drag a freehand shape, rectangle or circle; it is cut through the slices the depth says "
              "(erase or fill, inside or outside)."),
    ToolEntry(ToolKind.FLOOD_FILL, "Flood fill", "8",
              "Flood fill: click fills the connected region of similar grey values (or of the clicked label) "
              "in 2D or 3D; the outline shows it first."),
)


def make_tool(kind: ToolKind, state, segmentation, reference, options, defer=None, scope_ids=None):
    """The tool object of an entry (Qt-free state machine)."""
    from .contour import DrawTool, ScissorsTool
    from .region import FloodFillTool, LevelTraceTool

    if kind is ToolKind.DRAW:
        return DrawTool(state, segmentation, reference)
    if kind is ToolKind.SCISSORS:
        return ScissorsTool(state, segmentation, reference, options, scope_ids)
    if kind is ToolKind.LEVEL_TRACE:
        return LevelTraceTool(state, segmentation, reference, options, defer)
    if kind is ToolKind.FLOOD_FILL:
        return FloodFillTool(state, segmentation, reference, options, defer)
    raise ValueError(kind)
