"""Review status per segment, Slicer's `Segmentation.Status` tag (vtkSlicerSegmentationsModuleLogic): the values
`notstarted`, `inprogress`, `completed`, `flagged`; no tag means not started. Qt-free."""
from __future__ import annotations

from collections import Counter

from .groups import set_tag, with_tag
from .segment import STATUS_TAG, STATUSES

NOT_STARTED, IN_PROGRESS, COMPLETED, FLAGGED = STATUSES
LABELS = {NOT_STARTED: "Not started", IN_PROGRESS: "In progress", COMPLETED: "Completed", FLAGGED: "Flagged"}


def status_of(segment) -> str:
    """The status ('notstarted' when the tag is missing or holds a value Slicer would not know)."""
    value = segment.tags.get(STATUS_TAG, NOT_STARTED)
    return value if value in STATUSES else NOT_STARTED


def set_status(segmentation, ids, status: str) -> None:
    """Set the status of segments, one undo step. Like Slicer's SetSegmentStatus, "not started" on a segment without
    the tag adds no tag."""
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r} (one of {', '.join(STATUSES)})")
    ids = [i for i in ids if status_of(segmentation.segment(i)) != status or
           (status != NOT_STARTED and STATUS_TAG not in segmentation.segment(i).tags)]
    if status == NOT_STARTED:
        ids = [i for i in ids if STATUS_TAG in segmentation.segment(i).tags]
    set_tag(segmentation, ids, STATUS_TAG, status, f"Mark {LABELS[status].lower()}")


def counts(segmentation) -> Counter:
    """{status: number of segments}, every status present."""
    c = Counter({s: 0 for s in STATUSES})
    c.update(status_of(s) for s in segmentation.segments)
    return c


def next_segment(segmentation, after: str | None, wanted) -> str | None:
    """The first segment after `after` (display order, wrapping round) whose status is in `wanted`."""
    order = segmentation.segment_ids
    if not order:
        return None
    start = order.index(after) + 1 if after in segmentation else 0
    wanted = set(wanted)
    for n in range(len(order)):
        sid = order[(start + n) % len(order)]
        if status_of(segmentation.segment(sid)) in wanted:
            return sid
    return None


def mark_in_progress(segmentation, ids) -> list[str]:
    """Edits start work: segments still "not started" become "in progress" (Slicer does this on every edit). Not an
    undo step of its own (undoing the stroke leaves the work started, as Slicer avoids touching the history for
    it); returns the segments changed. Called once per segment, not per dab: later dabs find nothing to do."""
    todo = [i for i in ids if i in segmentation and status_of(segmentation.segment(i)) == NOT_STARTED]
    if not todo:
        return []
    with segmentation.history.paused():
        for sid in todo:
            segmentation.update_segment(sid, tags=with_tag(segmentation.segment(sid).tags, STATUS_TAG, IN_PROGRESS))
    return todo


def facts(segment) -> dict:
    """What `segedit info` reports about a segment's organisation: group, status, comment, terminology."""
    from .groups import COMMENT_TAG, group_of
    from .terminology import TERMINOLOGY_TAG, parse

    raw = segment.tags.get(TERMINOLOGY_TAG)
    term = parse(raw) if raw else None
    return {"group": group_of(segment), "status": status_of(segment), "comment": segment.tags.get(COMMENT_TAG, ""),
            "terminology": None if raw is None else {
                "tag": raw, "category": term.category[2] if term else "", "type": term.type[2] if term else "",
                "modifier": term.modifier[2] if term else ""}}
