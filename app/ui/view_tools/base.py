"""The tool protocol: Qt-free state machines driven by the slice views (ITK-SNAP's interaction modes, napari's
drag generators). A SliceView converts mouse positions to continuous lattice indices and forwards them; the tool
edits the model through app.model.edits; views redraw from the model's change events."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ViewContext:
    """What a tool needs to know about the view that forwards an event."""

    plane_axis: int              # lattice axis (0=i, 1=j, 2=k) that is constant across the view's slice
    slice_index: int             # index along plane_axis of the displayed slice
    shift: bool = False
    ctrl: bool = False


class Tool(Protocol):
    name: str

    def press(self, ijk: tuple[float, float, float], ctx: ViewContext) -> bool:
        """Left button pressed at a continuous lattice index. True: the tool takes the drag (no panning)."""

    def drag(self, ijk: tuple[float, float, float], ctx: ViewContext) -> bool:
        """The pointer moved with the button held."""

    def release(self, ijk: tuple[float, float, float], ctx: ViewContext) -> bool:
        """Button released: the stroke ends (one undo step)."""

    def cancel(self) -> None:
        """Abort an unfinished stroke (Escape, focus lost): the model is left as before the press."""
