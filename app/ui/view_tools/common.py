"""What the tools beyond the brush share (Qt-free): checking the segment, building the EditPolicy from the
EditorState, and the marks a tool asks the slice views to draw (a contour being drawn, a region about to fill)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from app.model.edits import Editable, EditMode, EditPolicy
from app.model.segment_editor_state import EditorState
from app.model.events import Signal
from app.model.ops.plan import Plan, apply_plan
from app.model.resample import LatticeCache
from app.model.segmentation import Segmentation, SegmentationError


def why_not_editable(seg: Segmentation, sid, verb: str) -> str | None:
    """Why segment `sid` cannot be edited now (none selected, locked, hidden), in one sentence, or None."""
    if sid is None or sid not in seg:
        return f"Select a segment first: there is no segment to {verb}."
    s = seg.segment(sid)
    if s.locked:
        return f"Segment '{s.name}' is locked: unlock it to edit it."
    if not s.visible:
        return f"Segment '{s.name}' is hidden: show it before editing it."
    return None


def edit_policy(state: EditorState, seg: Segmentation, mode: EditMode, grey_fn) -> tuple[EditPolicy | None, str]:
    """The state's policy for an edit in `mode`, or (None, why not). `grey_fn()` gives the reference on the
    lattice (asked only when the intensity range is on). Erasing ignores 'background only' (it would leave nothing
    to erase) and, as in Slicer, 'inside one segment' for the segment's own voxels."""
    grey = None
    if state.intensity_masking:
        grey = grey_fn()
        if grey is None:
            return None, "The editable intensity range needs a reference volume: open one or turn it off."
    policy = state.policy(grey)
    if mode is EditMode.REMOVE_ALL and policy.editable is Editable.BACKGROUND:
        policy.editable = Editable.EVERYWHERE
    if policy.editable is Editable.INSIDE_SEGMENT:
        if mode is EditMode.REMOVE:
            policy.editable = Editable.EVERYWHERE
        elif policy.mask_segment is None or policy.mask_segment not in seg:
            return None, "Choose the segment to paint over ('Editable area: inside ...')."
    return policy, ""


@dataclass
class Marks:
    """What the views show before the click. `points` (ijk) is a polyline on slice `index` across `plane_axis`
    (closed: a polygon); `region` is a (mask, box) whose cross-section each view outlines on its own slice."""

    plane_axis: int = 2
    index: int = 0
    points: list = field(default_factory=list)
    closed: bool = False
    region: tuple | None = None
    text: str = ""


class ToolCore:
    """Segment checks, policy and one-step application shared by Draw, Scissors, Level tracing and Flood fill."""

    name = "Tool"

    def __init__(self, state: EditorState, segmentation, reference=None) -> None:
        self.state = state
        self._document = segmentation
        self._reference = reference or (lambda: None)
        self._grey = LatticeCache()
        self.changed = Signal()             # (): the marks changed; views redraw them
        self.marks: Marks | None = None

    # ---------------------------------------------------------------- defaults of the Tool protocol
    @property
    def active(self) -> bool:
        return False

    def drag(self, ijk, ctx) -> bool:
        return self.active

    def release(self, ijk, ctx) -> bool:
        return self.active

    def cancel(self) -> None:
        self.set_marks(None)

    def hover(self, ijk, ctx) -> None:
        pass

    def double_click(self, ijk, ctx) -> bool:
        return False

    def key(self, name: str) -> bool:
        return False

    # ---------------------------------------------------------------- helpers
    def set_marks(self, marks: Marks | None) -> None:
        self.marks = marks
        self.changed.emit()

    def refuse(self, text: str) -> None:
        self.state.message.emit(text)

    def grey(self, seg: Segmentation):
        return self._grey.get(self._reference(), seg.geometry)

    def segment_ok(self, seg: Segmentation, verb: str) -> str | None:
        """The active segment if it may be edited, else None (and the reason on state.message)."""
        why = why_not_editable(seg, self.state.active_segment, verb)
        if why:
            self.refuse(why)
            return None
        return self.state.active_segment

    def policy(self, seg: Segmentation, mode: EditMode) -> EditPolicy | None:
        """The state's policy, as the Paint tool builds it (`edit_policy`)."""
        policy, why = edit_policy(self.state, seg, mode, lambda: self.grey(seg))
        if policy is None:
            self.refuse(why)
        return policy

    def apply(self, seg: Segmentation, plan: Plan, mode: EditMode) -> bool:
        """Apply a plan as one undo step under the state's policy; say what happened."""
        policy = self.policy(seg, mode)
        if policy is None:
            return False
        try:
            result = apply_plan(seg, plan, policy)
        except SegmentationError as exc:
            self.refuse(str(exc))
            return False
        if result.skipped:
            names = ", ".join(seg.segment(s).name for s in result.skipped if s in seg)
            self.refuse(f"Locked segments left alone: {names}")
        return True


def region_slice(region, plane_axis: int, index: int):
    """The 2D cross-section (mask, (row slice, col slice) of the in-plane axes) of a region on one slice, or None."""
    if region is None:
        return None
    mask, box = region
    b = box[plane_axis]
    if not b.start <= index < b.stop:
        return None
    sub = np.take(mask, index - b.start, axis=plane_axis)
    inplane = tuple(s for a, s in enumerate(box) if a != plane_axis)
    return sub, inplane
