"""Issue 12 item 7: "Collapse labelmap layers" always says what happened, and an attempt that changes nothing
leaves no undo step and no unsaved-changes mark. Driven through the Segmentation menu of the real window."""
from __future__ import annotations

import numpy as np

from app.model.edits import EditMode, EditPolicy, Overwrite, apply_mask
from app.model.geometry import Geometry
from app.model.segmentation import Segmentation


def _seg(overlap: bool, n: int = 3):
    seg = Segmentation(Geometry((12, 12, 12)))
    box = (slice(0, 12),) * 3
    for k in range(n):
        sid = seg.add_segment(f"s{k}", new_layer=k > 0).id
        m = np.zeros((12, 12, 12), bool)
        if overlap:
            m[2:7, 2:7, 2:7] = True
        else:
            m[4 * k:4 * k + 3, 2:7, 2:7] = True           # side by side, never touching
        apply_mask(seg, sid, m, box, EditMode.ADD, EditPolicy(overwrite=Overwrite.NONE))
    seg.history.clear()
    return seg


def _trigger(win):
    act = next(a for a in win.menu("Segmentation").actions() if a.text().startswith("Collapse"))
    act.trigger()
    return win.statusBar().currentMessage()


def test_overlapping_segments_collapse_says_why_nothing_changed(make_window):
    seg = _seg(overlap=True)
    assert seg.n_layers == 3 and seg.overlapping()
    win = make_window()
    win.set_document(seg, None)
    msg = _trigger(win)
    assert "3 layers kept" in msg and "overlap" in msg
    assert seg.history.undo_stack == [] and not win.isWindowModified()


def test_collapse_that_works_and_one_with_nothing_to_do(make_window):
    seg = _seg(overlap=False)
    layers_before = seg.n_layers
    win = make_window()
    win.set_document(seg, None)
    msg = _trigger(win)
    assert seg.n_layers == 1 and f"Collapsed {layers_before} layers into 1" in msg
    assert len(seg.history.undo_stack) == 1
    msg = _trigger(win)
    assert "Nothing to collapse" in msg and "1 layer" in msg
    assert len(seg.history.undo_stack) == 1


def test_collapse_without_a_document_says_so(make_window):
    win = make_window()
    assert "no segmentation is open" in _trigger(win)
