"""Issue 12 item 9: opening a document while the 3D view is showing frames the NEW document: every one of its
surfaces is inside the camera's view, whatever lattice and position the previous document had. Checked with the
camera's own projection of each surface's bounds (VTK's world-to-view), not with segedit's code."""
from __future__ import annotations

import numpy as np

from app.model.geometry import Geometry
from app.model.segmentation import Segmentation

from .test_view_3d import wait_idle, win3d  # noqa: F401  (fixture)


def _far_document():
    """Two blobs, 40 mm apart, 900 mm away from the demo atlas, on a finer lattice."""
    geo = Geometry((60, 40, 40), (0.5, 0.5, 0.5), (900.0, 900.0, 900.0))
    seg = Segmentation(geo)
    a = seg.add_segment("small").id
    b = seg.add_segment("large").id
    arr = seg.layers[0]
    arr[2:6, 2:6, 2:6] = seg.segment(a).label              # a tiny piece, meshed first (smallest job first)
    arr[20:58, 5:38, 5:38] = seg.segment(b).label
    seg.invalidate_statistics(0)
    seg.history.clear()
    return seg


def _inside_view(renderer, bounds) -> bool:
    x0, x1, y0, y1, z0, z1 = bounds
    for x in (x0, x1):
        for y in (y0, y1):
            for z in (z0, z1):
                renderer.SetWorldPoint(x, y, z, 1.0)
                renderer.WorldToView()
                vx, vy, _ = renderer.GetViewPoint()
                if abs(vx) > 1.0 or abs(vy) > 1.0:
                    return False
    return True


def test_a_document_opened_while_3d_shows_is_framed(win3d, qtbot):
    win, view = win3d
    seg = _far_document()
    win.set_document(seg, None)
    wait_idle(qtbot, view)
    renderer = view.scene.renderer
    assert set(view.scene.actors) == set(seg.segment_ids)
    for sid, actor in view.scene.actors.items():
        assert _inside_view(renderer, actor.GetBounds()), seg.segment(sid).name
    # and the view is not absurdly far: the document fills a fair part of it
    cam = renderer.GetActiveCamera()
    centre = np.array(seg.geometry.index_to_physical((30, 20, 20)))
    assert np.linalg.norm(np.array(cam.GetFocalPoint()) - centre) < 40.0
