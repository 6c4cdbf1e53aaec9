"""Jumping to a place: the linked cursor moves there and every slice view pans so it is in the middle."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF


def nearest_voxel(mask: np.ndarray, offset, target_ijk) -> tuple[int, int, int] | None:
    """The voxel of `mask` (a box starting at `offset`) closest to `target_ijk` (a centroid may lie outside a
    curved segment; the jump must land on it)."""
    pts = np.argwhere(mask)
    if pts.size == 0:
        return None
    pts = pts + np.asarray(offset)
    best = pts[np.argmin(((pts - np.asarray(target_ijk)) ** 2).sum(axis=1))]
    return tuple(int(x) for x in best)


def jump_to(window, ijk) -> None:
    window.display.set_cursor(ijk)
    for view in window.slice_views:
        if view.frame is None:
            continue
        p = view.ijk_to_view(ijk)
        r = view.view_box.viewRect()
        view.view_box.setRange(QRectF(p.x() - r.width() / 2, p.y() - r.height() / 2, r.width(), r.height()),
                               padding=0)
