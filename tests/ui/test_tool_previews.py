"""Issue 12 items 3, 4, 13 (threshold): through the real Tools dock, a preview shows every voxel Apply will
change (including what neighbours lose under Overwrite all) and names those segments; a Threshold page that is
not in front never tints the views; without a reference volume Threshold says so instead of a made-up histogram.
The applied change is computed independently: the layers before and after, compared voxel by voxel."""
from __future__ import annotations

import numpy as np
import pytest

from app.ui.operations_panel.overlay import COLOURS, IN_RANGE


@pytest.fixture
def tools_window(demo_window):
    from app.ui import segment_editor, operations_panel

    segment_editor.install(demo_window)
    operations_panel.install(demo_window)
    return demo_window


def _bring_to_front(win, qtbot):
    panel = win.tools_panel
    panel.dock.show()
    panel.dock.raise_()
    qtbot.waitUntil(panel.page_shown)


def _membership_changed(before, seg):
    """Voxels where the set of segments changed (no segment moves layer under Overwrite all: layer values)."""
    changed = np.zeros(seg.geometry.shape, bool)
    for a, b in zip(before, seg.layers):
        changed |= a != b
    return changed


def _add_island(seg, sid):
    """A 3x3x3 island of `sid` in a corner (over whatever was there), so island tools have work to do."""
    from app.model.edits import EditMode, EditPolicy, apply_mask

    apply_mask(seg, sid, np.ones((3, 3, 3), bool), (slice(1, 4),) * 3, EditMode.ADD, EditPolicy())


@pytest.mark.parametrize("page, scope, setup", [
    (0, 0, lambda p: (p.mode.setCurrentIndex(0), p.set_range(60.0, 140.0))),        # threshold: set to range
    (2, 0, lambda p: p.distance.setValue(4.0)),                                       # margin grow 4 mm
    (3, 3, lambda p: (p.method.setCurrentIndex(4), p.size.setValue(2.0))),            # joint smoothing, all
    (1, 0, lambda p: p.mode.setCurrentIndex(2)),                                      # islands: split
])
def test_preview_overlay_is_the_applied_change_voxel_for_voxel(tools_window, qtbot, page, scope, setup):
    win = tools_window
    seg = win.segmentation
    panel = win.tools_panel
    _bring_to_front(win, qtbot)
    sid = max(seg.segment_ids[2:40], key=seg.voxel_count)
    _add_island(seg, sid)
    win.select_segment(sid)
    panel.set_page(page)
    setup(panel.current_page())
    panel.scope.setCurrentIndex(scope)
    assert panel.preview(), panel.summary.text()
    codes = panel._plan[2]
    effect = panel._plan[1]
    view = win.slice_views[0]
    slice_shown = panel.overlay.image(0)
    before = [a.copy() for a in seg.layers]
    counts_before = {s: seg.voxel_count(s) for s in seg.segment_ids}
    assert panel.apply(), panel.summary.text()
    changed = _membership_changed(before, seg)
    assert changed.any()
    assert np.array_equal(codes != 0, changed)
    # the axial view showed that volume's slice (gained green, lost magenta)
    expect = view.frame.extract(changed, view.slice_index)
    if slice_shown is None:
        assert not expect.any()
    else:
        assert np.array_equal(slice_shown[..., 3] > 0, expect)
    # every segment whose count changed is counted by the preview, with its exact net change
    for s, n in counts_before.items():
        g, l_ = effect.counts.get(s, (0, 0))
        assert seg.voxel_count(s) - n == g - l_, seg.segment(s).name


def test_threshold_under_overwrite_all_names_the_neighbours_it_cuts(tools_window, qtbot):
    """The reported case: the preview said "in 1 segment(s)" while Apply also cut other segments."""
    win = tools_window
    seg = win.segmentation
    panel = win.tools_panel
    _bring_to_front(win, qtbot)
    sid = seg.segment_ids[10]
    win.select_segment(sid)
    panel.set_page(0)
    page = panel.current_page()
    page.mode.setCurrentIndex(0)
    page.set_range(40.0, 200.0)
    assert panel.preview()
    text = panel.summary.text()
    before = {s: seg.voxel_count(s) for s in seg.segment_ids}
    panel.apply()
    cut = [s for s in seg.segment_ids if s != sid and seg.voxel_count(s) < before[s]]
    assert cut
    assert f"in {len(cut) + 1} segment(s)" in text
    biggest = max(cut, key=lambda s: before[s] - seg.voxel_count(s))
    assert seg.segment(biggest).name in text


def test_a_threshold_page_behind_another_tab_never_tints_the_views(make_window, demo, qtbot):
    """Tools dock remembering Threshold, Segment editor tab in front, then a reference volume is opened."""
    from app.io import Volume
    from app.model.segmentation import Segmentation

    seg0, grey = demo
    seg = Segmentation.from_layers(seg0.geometry, [a.copy() for a in seg0.layers], [s.copy() for s in seg0.segments])
    win = make_window(extensions=True)
    panel = win.tools_panel
    assert panel.current_page().title == "Threshold"
    win.editing.dock.raise_()
    qtbot.waitUntil(lambda: not panel.page_shown())
    win.set_document(seg, None)
    win.set_reference(Volume(grey, seg.geometry, None))
    qtbot.wait(100)                                       # let any queued live preview run (none may show)
    assert not panel.overlay.shown
    assert all(panel.overlay.image(n) is None for n in range(3))
    # in front again: the live preview comes back, amber where the grey is in range
    panel.dock.raise_()
    qtbot.waitUntil(lambda: panel.overlay.shown)
    qtbot.waitUntil(lambda: panel.overlay.image(0) is not None)
    img = panel.overlay.image(0)
    assert np.all(img == COLOURS[IN_RANGE], axis=-1).any()


def test_threshold_without_a_reference_says_so(make_window, demo, qtbot):
    from app.model.segmentation import Segmentation

    seg0, _ = demo
    seg = Segmentation.from_layers(seg0.geometry, [a.copy() for a in seg0.layers], [s.copy() for s in seg0.segments])
    win = make_window(extensions=True)
    win.set_document(seg, None)
    win.select_segment(seg.segment_ids[3])
    panel = win.tools_panel
    _bring_to_front(win, qtbot)
    panel.set_page(0)
    page = panel.current_page()
    page.activated()
    assert not page.plot.isVisible() and not page.lo.isEnabled()
    assert "No reference volume" in page.count_label.text()
    assert not panel.preview() and "reference volume" in panel.summary.text()
