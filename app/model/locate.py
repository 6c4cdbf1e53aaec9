"""Where a segment is: the voxel to show when the user jumps to it."""
from __future__ import annotations

import numpy as np


def segment_centre(seg, segment_id: str) -> tuple[int, int, int] | None:
    """The segment's voxel nearest its centroid (in millimetres), so the point shown is inside the segment even
    when it is curved or in pieces; None for an empty segment. Costs O(bounding box)."""
    box = seg.bounding_box(segment_id)
    if box is None:
        return None
    where = np.argwhere(seg.mask(segment_id, box))
    if where.size == 0:
        return None
    spacing = np.asarray(seg.geometry.spacing, dtype=float)
    centre = where.mean(axis=0)
    best = where[np.argmin((((where - centre) * spacing) ** 2).sum(axis=1))]
    return tuple(int(v) + b.start for v, b in zip(best, box))
