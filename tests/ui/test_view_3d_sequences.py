"""Random sequences of what a user does while the 3D view shows (strokes, erasing, undo, hiding and showing in 3D,
translucency, the smoothing toggle, and the quiet moment's restore pass started in between), checked against what
must hold whatever the order: every face a surface does not draw lies on the neighbour's face across it, point for
point (no crack, no hole), and once quiet the view draws exactly a first build of the document as it is (when
nothing was hidden or shown: hiding a segment re-meshes nothing, so its neighbours keep surfaces smoothed with it)."""
from __future__ import annotations

from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from app.model.brush import ball
from app.model.edits import EditMode, apply_mask
from tests.ui.helpers import copy_segmentation
from tests.ui.test_view_3d import hidden_faces_are_covered, standalone_view, wait_idle
from tests.ui.test_view_3d_restore import _quiet, as_drawn, first_build, same

OPS = ("paint", "erase", "undo", "hide", "show", "translucent", "opaque", "smoothing", "restore")


def _ball(seg, sid, mode) -> None:
    box = seg.bounding_box(sid)
    if box is None:
        return
    mask = ball(3.0, seg.geometry.spacing)
    lo = [b.start - n // 2 for b, n in zip(box, mask.shape)]            # on a corner of its box: neighbours too
    apply_mask(seg, sid, mask, tuple(slice(a, a + n) for a, n in zip(lo, mask.shape)), mode)


# no shrinking: a failing sequence is reported at once (shrinking a GUI sequence runs past the test timeout)
@settings(max_examples=3, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(st.tuples(st.sampled_from(OPS), st.integers(0, 59)), min_size=3, max_size=7))
# found by this test, each a crack: painting over 7 put 55 (re-meshed alone) across 7's neighbours' faces, which
# were read again as facing 55 and culled against points not theirs
@example(ops=[("paint", 34), ("paint", 31), ("opaque", 19), ("paint", 54), ("opaque", 23)])
# segments hidden when a restore pass replaced their neighbours kept surfaces culled against the old points
@example(ops=[("paint", 46), ("opaque", 48), ("hide", 7), ("hide", 59), ("translucent", 50)])
def test_random_edits_and_display_changes_keep_the_3d_view_exact(qtbot, demo, ops):
    seg = copy_segmentation(demo[0])
    view = standalone_view(qtbot, seg)
    for op, k in ops:
        sid = seg.segments[k % len(seg.segments)].id
        if op == "paint":
            _ball(seg, sid, EditMode.ADD)
        elif op == "erase":
            _ball(seg, sid, EditMode.REMOVE)
        elif op == "undo":
            seg.undo()
        elif op in ("hide", "show"):
            view.set_shown_in_3d(sid, op == "show")
        elif op in ("translucent", "opaque"):
            seg.update_segment(sid, opacity=0.5 if op == "translucent" else 1.0)
        elif op == "smoothing":
            view.set_smoothing(not view.smoothing)
        elif op == "restore":                      # started, not waited for: the next step lands during it
            view.updates.restore_shared()
            continue
        wait_idle(qtbot, view)
        hidden_faces_are_covered(view, seg)
    wait_idle(qtbot, view)
    for _ in range(4):                             # one layer per quiet moment
        if not view.updates._apart:
            break
        _quiet(view, qtbot)
    assert not view.updates._apart
    hidden_faces_are_covered(view, seg)
    for sid in list(view.hidden_in_3d):             # what was hidden meanwhile, shown again
        view.set_shown_in_3d(sid, True)
    wait_idle(qtbot, view)
    hidden_faces_are_covered(view, seg)
    if not {"hide", "show"} & {op for op, _ in ops}:     # (hiding re-meshes nothing: its neighbours keep surfaces
        assert not same(as_drawn(view), first_build(seg, view), in_order=False)   # smoothed with it, as a first
                                                                                  # build would not)
    view.shutdown()
