"""Culling that edits gave up comes back at a quiet moment (SurfaceUpdates.restore_shared): the layer is meshed again
in one pass and its surfaces are exactly those of a first build, compared with a layer pass made here (Qt-free)."""
from __future__ import annotations

import numpy as np
from vtkmodules.util import numpy_support

from tests.ui.test_view_3d import _paint, hidden_faces_are_covered, shown_3d, wait_idle


def first_build(seg, view) -> dict:
    """{segment id: (points, triangles drawn)} of a first build of the shown segments, as the view plans it."""
    from app.render.culling import opaque_labels
    from app.render.surfaces import layer_job

    shown = view.shown_ids()
    opaque = opaque_labels(seg, shown)
    out = {}
    for layer in {seg.segment(sid).layer for sid in shown}:
        ids = [sid for sid in shown if seg.segment(sid).layer == layer]
        whole = 2 * len(ids) >= len(seg.layer_segment_ids(layer))
        job = layer_job(seg, layer, ids, view.smoothing, crop=not whole, with_keys=True)
        job.opaque = opaque.get(layer, np.zeros(0, np.int64))
        for sid, mesh in job.run().items():
            if mesh is not None:
                drawn = job.drawn.get(sid, mesh)
                out[sid] = (numpy_support.vtk_to_numpy(mesh.GetPoints().GetData()).copy(), drawn.GetNumberOfCells())
    return out


def as_drawn(view) -> dict:
    """{segment id: (points, triangles drawn)} of the surfaces shown (a segment hidden in 3D keeps its actor, off)."""
    shown = set(view.shown_ids())
    return {sid: (numpy_support.vtk_to_numpy(view.scene.mesh(sid).GetPoints().GetData()),
                  view.scene._full[sid].GetInput().GetNumberOfCells()) for sid in view.scene.actors if sid in shown}


def same(got: dict, want: dict, in_order: bool = True) -> list[str]:
    """The segments whose points or number of triangles drawn differ (`in_order`: the points in the same order;
    else as sets: a pass for another display lays a surface out in another order, hidden part first)."""
    assert set(got) == set(want)

    def points(p):
        return p if in_order else p[np.lexsort(p.T)]
    return [sid for sid in want if got[sid][1] != want[sid][1]
            or not np.array_equal(points(got[sid][0]), points(want[sid][0]))]


def _strokes(seg, view, qtbot, picks=(5, 17, 30, 44)) -> None:
    for k in picks:                    # small balls on a corner of each: neighbours painted over, re-meshed apart
        sid = seg.segments[k].id
        _paint(seg, sid, [b.start for b in seg.bounding_box(sid)], radius_mm=3.0)
        wait_idle(qtbot, view)


def _quiet(view, qtbot) -> None:
    """The view goes quiet (its timer shortened): a restore starts and comes back."""
    view.quiet_timer.setInterval(30)
    with qtbot.waitSignal(view.updates.restored, timeout=30000):
        view.quiet_timer.start()
    wait_idle(qtbot, view)


def test_culling_given_up_by_edits_comes_back_at_a_quiet_moment(demo_window, qtbot):
    from app.ui import view_3d

    view_3d.install(demo_window)
    view = shown_3d(demo_window)
    wait_idle(qtbot, view)
    seg = demo_window.segmentation
    assert not same(as_drawn(view), first_build(seg, view))        # the first build is one
    _strokes(seg, view, qtbot)
    want = first_build(seg, view)
    changed = same(as_drawn(view), want)
    drawn = view.scene.drawn_triangles()
    assert len(changed) >= 4 and drawn > sum(n for _, n in want.values())   # re-meshed apart: more faces drawn
    meshes = {sid: view.scene.mesh(sid) for sid in view.scene.actors}
    status = view.status.text()
    _quiet(view, qtbot)
    assert view.status.text() == status           # background work: the status line keeps the last edit's time
    assert not same(as_drawn(view), want)
    kept = {sid for sid, mesh in meshes.items() if view.scene.mesh(sid) is mesh}
    assert kept and not kept & set(changed)       # the surfaces the pass made again as they were are kept as is
    assert view.scene.drawn_triangles() == sum(n for _, n in want.values()) < drawn
    assert not view.updates._apart and not view.updates._uncovered


def test_an_edit_during_the_restore_drops_it_until_the_next_quiet_moment(demo_window, qtbot):
    from app.ui import view_3d

    view_3d.install(demo_window)
    view = shown_3d(demo_window)
    wait_idle(qtbot, view)
    seg = demo_window.segmentation
    _strokes(seg, view, qtbot, picks=(5, 17))
    layers = set(view.updates._apart)
    assert layers and view.updates.restore_shared() and not view.is_idle()
    _strokes(seg, view, qtbot, picks=(30,))       # its pass read the voxels before this: dropped, the layer kept
    assert set(view.updates._apart) == layers | {seg.segments[30].layer}
    assert same(as_drawn(view), first_build(seg, view))
    _quiet(view, qtbot)
    if view.updates._apart:                       # (one layer per quiet moment)
        _quiet(view, qtbot)
    assert not same(as_drawn(view), first_build(seg, view))


def test_a_segment_shown_during_the_restore_drops_it(demo_window, qtbot):
    """A segment hidden in 3D is not in the pass, whose neighbours then cull their faces against its label; shown
    meanwhile, it is meshed alone and their faces toward it are uncovered. The pass must not cull them again (its
    points are not theirs: a crack): it is dropped, and the next quiet moment's pass includes it."""
    from app.ui import view_3d

    view_3d.install(demo_window)
    view = shown_3d(demo_window)
    seg = demo_window.segmentation
    hidden = seg.segments[17].id
    view.set_shown_in_3d(hidden, False)
    wait_idle(qtbot, view)
    _strokes(seg, view, qtbot, picks=(5, 30))
    assert view.updates.restore_shared()
    view.set_shown_in_3d(hidden, True)
    wait_idle(qtbot, view)                        # (the pass came back meanwhile, and was dropped)
    hidden_faces_are_covered(view, seg)
    assert same(as_drawn(view), first_build(seg, view))
    _quiet(view, qtbot)
    if view.updates._apart:
        _quiet(view, qtbot)
    assert not same(as_drawn(view), first_build(seg, view))
    hidden_faces_are_covered(view, seg)


def test_nothing_is_started_once_the_view_is_shut_down(demo_window, qtbot):
    """Found by the random-sequence test: a view shut down (its window closing) still had its quiet timer, which
    started a restore on the joined thread pool (RuntimeError in the event loop)."""
    from app.ui import view_3d

    view_3d.install(demo_window)
    view = shown_3d(demo_window)
    wait_idle(qtbot, view)
    seg = demo_window.segmentation
    _strokes(seg, view, qtbot, picks=(5,))
    assert view.updates._apart
    view.quiet_timer.start()
    view.shutdown()
    assert not view.quiet_timer.isActive()
    view._on_quiet()                               # as if the timer had fired anyway
    assert view.updates._restoring is None
    _paint(seg, seg.segments[9].id, [b.start for b in seg.bounding_box(seg.segments[9].id)], radius_mm=3.0)
    view._bridge.flush()
    view.updates.submit()                          # an edit after it: nothing goes to the threads either
    assert not view.updates.busy


def test_a_restore_leaves_no_sides_of_the_pass_before_alive(demo_window, qtbot):
    """Each surface's sides (the label across each triangle) are a view of its pass's one array for the whole
    layer. A surface the restore makes again as it was keeps its mesh, and takes the new pass's sides (equal): else
    the first build's array stayed alive beside the new one for as long as one such surface did."""
    import gc
    import weakref

    from app.ui import view_3d

    view_3d.install(demo_window)
    view = shown_3d(demo_window)
    wait_idle(qtbot, view)
    seg = demo_window.segmentation
    first = {id(s.base): weakref.ref(s.base) for s in view.updates.sides.values() if s.base is not None}
    assert first and len(first) <= len(seg.layers)          # one array per layer pass
    meshes = {sid: view.scene.mesh(sid) for sid in view.scene.actors}
    _strokes(seg, view, qtbot)
    before = {sid: view.updates.sides[sid].copy() for sid in view.updates.sides}
    while view.updates._apart:
        _quiet(view, qtbot)
    kept = [sid for sid, mesh in meshes.items() if view.scene.mesh(sid) is mesh]
    assert kept                                               # surfaces far from the strokes: made again as they were
    for sid in kept:                                          # their sides equal, now the new pass's
        assert np.array_equal(view.updates.sides[sid], before[sid])
    gc.collect()
    assert not [ref for ref in first.values() if ref() is not None]
    assert not same(as_drawn(view), first_build(seg, view))
