"""The 3D view in the real main window (offscreen Qt, VTK through EGL), on the small demo atlas."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from vtkmodules.util import numpy_support

from app.model.brush import ball
from tests.render.test_culling import voxel_pairs
from app.model.edits import EditMode, apply_mask


def shown_3d(win):
    """Turn on "Show 3D" as a user would (View menu) and wait until every surface is built."""
    from app.ui.view_3d import View3D

    view = win.findChild(View3D)
    action = next(a for a in win.menu("View").actions() if a.text() == "Show 3D")
    action.trigger()
    return view


def standalone_view(qtbot, seg):
    """A View3D of its own (no window) showing `seg`, its surfaces built."""
    from app.ui.view_3d import View3D

    view = View3D()
    qtbot.addWidget(view)
    view.resize(300, 200)
    view.set_segmentation(seg)
    view.show()
    wait_idle(qtbot, view)
    return view


def wait_idle(qtbot, view):
    """Wait in a real event loop (qtbot.waitUntil's polling keeps the GIL and starves the meshing thread)."""
    if view._bridge is not None:
        view._bridge.flush()             # deliver the model events now (normally on the next event-loop turn)
    if not view.is_idle():
        with qtbot.waitSignal(view.idle, timeout=30000):
            pass
    assert view.is_idle()


def visible_non_empty(seg, view):
    return {s.id for s in seg.segments if s.visible and s.id not in view.hidden_in_3d and not seg.is_empty(s.id)}


@pytest.fixture
def win3d(demo_window, qtbot):
    from app.ui import view_3d

    view_3d.install(demo_window)
    view = shown_3d(demo_window)
    wait_idle(qtbot, view)
    return demo_window, view


def test_install_adds_actions_and_vtk_loads_only_when_3d_is_shown(tmp_path):
    code = textwrap.dedent(f"""
        import json, os, sys
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        os.environ["VTK_DEFAULT_OPENGL_WINDOW"] = "vtkEGLRenderWindow"
        from PySide6.QtCore import QSettings
        from PySide6.QtWidgets import QApplication
        app = QApplication([])
        from app.ui.main_window import MainWindow
        win = MainWindow(settings=QSettings({str(tmp_path / 's.ini')!r}, QSettings.IniFormat))
        win.show()
        out = {{"before": "vtkmodules" in sys.modules,
               "view": [a.text() for a in win.menu("View").actions()],
               "file": [a.text() for a in win.menu("File").actions()],
               "segmentation": [a.text() for a in win.menu("Segmentation").actions()]}}
        next(a for a in win.menu("View").actions() if a.text() == "Show 3D").trigger()
        app.processEvents()
        out["after"] = "vtkmodules" in sys.modules
        print(json.dumps(out))
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["before"] is False and got["after"] is True
    assert "Show 3D" in got["view"]
    assert any(t.startswith("Export surfaces") for t in got["file"])
    assert "Show current segment in 3D" in got["segmentation"]


def test_one_surface_per_visible_non_empty_segment_and_pixels_drawn(win3d, qtbot):
    win, view = win3d
    seg = win.segmentation
    assert set(view.scene.actors) == visible_non_empty(seg, view) and len(view.scene.actors) > 50
    img = view.canvas.image()
    corner = img.pixelColor(img.width() - 3, 3)
    centre = [img.pixelColor(img.width() // 2 + dx, img.height() // 2 + dy) for dx in (-20, 0, 20) for dy in (-20, 0, 20)]
    assert sum(c != corner for c in centre) >= 8          # surfaces cover the middle, background in the corner
    empty = seg.add_segment("nothing").id
    wait_idle(qtbot, view)
    assert empty not in view.scene.actors


def _paint(seg, sid, centre, radius_mm=8.0):
    mask = ball(radius_mm, seg.geometry.spacing)
    lo = [c - n // 2 for c, n in zip(centre, mask.shape)]
    box = tuple(slice(a, a + n) for a, n in zip(lo, mask.shape))
    apply_mask(seg, sid, mask, box, EditMode.ADD)


def test_an_edit_remeshes_only_the_segments_it_touched(win3d, qtbot):
    win, view = win3d
    seg = win.segmentation
    sid = seg.segments[10].id
    centre = [b.start for b in seg.bounding_box(sid)]      # a corner of its box: neighbours get painted over
    touched = set()
    seg.events.voxels_changed.connect(lambda ch: touched.update(*(c.segment_ids for c in ch)))
    before = len(view.cache.meshed)
    _paint(seg, sid, centre)
    wait_idle(qtbot, view)
    remeshed = view.cache.meshed[before:]
    assert sid in touched and set(remeshed) == touched and len(remeshed) == len(touched)
    assert len(touched) < 10
    mesh = view.scene.mesh(sid)
    lo, hi = seg.geometry.box_bounds_lps(seg.bounding_box(sid))
    got = np.array(mesh.GetBounds()).reshape(3, 2)
    step = max(seg.geometry.spacing)
    assert np.all(got[:, 0] >= lo - step) and np.all(got[:, 1] <= hi + step)


def test_hiding_recolouring_and_opacity_never_remesh(win3d, qtbot):
    win, view = win3d
    seg = win.segmentation
    sid = seg.segments[5].id
    before = list(view.cache.meshed)
    seg.update_segment(sid, visible=False)
    qtbot.waitUntil(lambda: not view.scene.actors[sid].GetVisibility())
    seg.update_segment(sid, visible=True, color=(0.1, 0.9, 0.2), opacity=0.4)
    qtbot.waitUntil(lambda: view.scene.actors[sid].GetVisibility())
    prop = view.scene.actors[sid].GetProperty()
    assert prop.GetColor() == pytest.approx((0.1, 0.9, 0.2)) and prop.GetOpacity() == pytest.approx(0.4)
    wait_idle(qtbot, view)
    assert view.cache.meshed == before


def test_a_hidden_segment_is_meshed_only_when_shown(win3d, qtbot):
    win, view = win3d
    seg = win.segmentation
    sid = seg.segments[20].id
    view.set_shown_in_3d(sid, False)
    centre = [b.start for b in seg.bounding_box(sid)]
    before = len(view.cache.meshed)
    _paint(seg, sid, centre, 6.0)
    wait_idle(qtbot, view)
    assert sid not in view.cache.meshed[before:]
    assert not view.scene.actors[sid].GetVisibility()
    view.set_shown_in_3d(sid, True)
    wait_idle(qtbot, view)
    assert view.cache.meshed[before:].count(sid) == 1 and view.scene.actors[sid].GetVisibility()


def test_clicking_a_surface_selects_its_segment(win3d, qtbot):
    from PySide6.QtCore import QPoint, Qt

    win, view = win3d
    canvas = view.canvas
    centre = QPoint(canvas.width() // 2, canvas.height() // 2)
    expected = view.scene.segment_at(centre.x(), canvas.height() - 1 - centre.y())
    assert expected is not None
    qtbot.mouseClick(canvas, Qt.LeftButton, pos=centre)
    assert win.current_segment_id() == expected


def test_dragging_rotates_and_reset_restores_the_anterior_view(win3d, qtbot):
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    win, view = win3d
    cam = view.scene.renderer.GetActiveCamera()
    start = np.subtract(cam.GetPosition(), cam.GetFocalPoint())
    assert start[1] < 0 and abs(start[0]) < 1e-6               # anterior: the camera is on the -P side
    canvas = view.canvas
    for kind, x in ((QMouseEvent.MouseButtonPress, 100), (QMouseEvent.MouseMove, 160), (QMouseEvent.MouseButtonRelease, 160)):
        QApplication.sendEvent(canvas, QMouseEvent(kind, QPoint(x, 100), canvas.mapToGlobal(QPoint(x, 100)),
                                                   Qt.LeftButton, Qt.LeftButton, Qt.NoModifier))
    moved = np.subtract(cam.GetPosition(), cam.GetFocalPoint())
    assert abs(moved[0]) > 1.0
    view.reset_camera("LEFT")
    left = np.subtract(cam.GetPosition(), cam.GetFocalPoint())
    assert left[0] > 0 and cam.GetViewUp() == pytest.approx((0, 0, 1))


def test_export_writes_one_stl_per_shown_segment(win3d, tmp_path):
    from vtkmodules.vtkIOGeometry import vtkSTLReader

    win, view = win3d
    seg = win.segmentation
    for s in seg.segments[3:]:
        seg.update_segment(s.id, visible=False)
    written = view.export_surfaces(tmp_path / "demo.stl", "stl", one_file_per_segment=True)
    assert len(written) == len(visible_non_empty(seg, view)) == 3
    reader = vtkSTLReader()
    reader.SetFileName(str(written[0]))
    reader.Update()
    assert reader.GetOutput().GetNumberOfCells() == view.scene.mesh(seg.segments[0].id).GetNumberOfCells()


def test_smoothing_off_remeshes_everything_and_a_new_document_replaces_the_surfaces(win3d, qtbot, demo):
    from app.model.segmentation import Segmentation

    win, view = win3d
    n = len(view.cache.meshed)
    view.set_smoothing(False)
    wait_idle(qtbot, view)
    assert len(view.cache.meshed) - n == len(visible_non_empty(win.segmentation, view))
    seg0, _ = demo
    other = Segmentation.from_layers(seg0.geometry, [seg0.layers[0].copy()], [s.copy() for s in seg0.segments[:5]])
    win.set_document(other)
    wait_idle(qtbot, view)
    assert set(view.scene.actors) == visible_non_empty(other, view)


def test_big_scenes_draw_coarse_copies_while_the_camera_moves(demo_window, qtbot, monkeypatch):
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    from app.ui import view_3d, surface_updates

    monkeypatch.setattr(surface_updates, "LOD_MIN_TRIANGLES", 1)       # the small demo counts as big
    view_3d.install(demo_window)
    view = shown_3d(demo_window)
    wait_idle(qtbot, view)
    scene, canvas = view.scene, view.canvas
    sid = next(iter(scene.actors))
    full = scene.actors[sid].GetMapper()
    coarse = scene._lod[sid]
    assert coarse.GetNumberOfCells() < full.GetInput().GetNumberOfCells()
    shown = scene.visible_ids()
    assert set(shown) == set(scene._lod)                       # every shown surface has its coarse copy

    def send(kind, x):
        QApplication.sendEvent(canvas, QMouseEvent(kind, QPoint(x, 100), canvas.mapToGlobal(QPoint(x, 100)),
                                                   Qt.LeftButton, Qt.LeftButton, Qt.NoModifier))
    send(QMouseEvent.MouseButtonPress, 100)
    send(QMouseEvent.MouseMove, 150)
    # while moving: one merged actor holds every shown coarse copy, coloured per point; the full actors are off
    lod = scene.lod_actor.GetMapper().GetInput()
    assert scene.lod_actor.GetVisibility() and not any(a.GetVisibility() for a in scene.actors.values())
    assert lod.GetNumberOfCells() == sum(scene._lod[s].GetNumberOfCells() for s in shown)
    colours = {tuple(c) for c in numpy_support.vtk_to_numpy(lod.GetPointData().GetScalars())[:, :3]}
    seg = demo_window.segmentation
    assert colours == {tuple(round(255 * c) for c in seg.segment(s).color) for s in shown}
    send(QMouseEvent.MouseButtonRelease, 150)
    assert not scene.lod_actor.GetVisibility()
    assert {s for s, a in scene.actors.items() if a.GetVisibility()} == set(shown)
    assert scene.actors[sid].GetMapper() is full
    seg.update_segment(sid, color=(1.0, 0.0, 0.0))           # display change: the coarse copy stays
    view._bridge.flush()
    assert scene._lod[sid] is coarse
    send(QMouseEvent.MouseButtonPress, 100)
    send(QMouseEvent.MouseMove, 150)                         # ... and the merged copy shows the new colour
    rgba = numpy_support.vtk_to_numpy(scene.lod_actor.GetMapper().GetInput().GetPointData().GetScalars())
    assert (rgba[:, :3] == (255, 0, 0)).all(axis=1).sum() >= coarse.GetNumberOfPoints()
    send(QMouseEvent.MouseButtonRelease, 150)
    before = scene.mesh(sid)
    _paint(seg, sid, [b.start for b in seg.bounding_box(sid)], 6.0)
    wait_idle(qtbot, view)
    assert scene.mesh(sid) is not before                       # re-meshed, and a new coarse copy made
    assert sid in scene._lod and scene._lod[sid] is not coarse
    view.parentWidget().hide()                                 # hidden: the coarse copies are freed
    qtbot.waitUntil(lambda: not scene._lod)


def test_context_menu_hides_a_surface_in_3d_only_and_shows_all_again(win3d, qtbot):
    from PySide6.QtCore import QPoint

    win, view = win3d
    canvas = view.canvas
    centre = QPoint(canvas.width() // 2, canvas.height() // 2)
    sid = view.scene.segment_at(centre.x(), canvas.height() - 1 - centre.y())
    name = win.segmentation.segment(sid).name
    before = list(view.cache.meshed)
    hide = next(a for a in view.context_menu_at(centre).actions() if a.text() == f"Hide '{name}' in 3D")
    hide.trigger()
    assert not view.scene.actors[sid].GetVisibility() and win.segmentation.segment(sid).visible
    show_all = next(a for a in view.context_menu_at(centre).actions() if a.text() == "Show all segments in 3D")
    show_all.trigger()
    wait_idle(qtbot, view)
    assert view.scene.actors[sid].GetVisibility() and view.cache.meshed == before


def test_show_current_segment_in_3d_follows_the_selection(win3d, qtbot):
    win, view = win3d
    action = next(a for a in win.menu("Segmentation").actions() if a.text() == "Show current segment in 3D")
    sid = win.segmentation.segments[7].id
    win.select_segment(sid)
    assert win.current_segment_id() == sid and action.isChecked()
    action.trigger()
    assert sid in view.hidden_in_3d and not view.scene.actors[sid].GetVisibility()
    win.select_segment(win.segmentation.segments[8].id)
    assert action.isChecked()
    win.select_segment(sid)
    assert not action.isChecked()


def test_a_colour_change_shows_on_screen_without_remeshing(win3d, qtbot):
    win, view = win3d
    canvas = view.canvas
    x, y = canvas.width() // 2, canvas.height() // 2
    sid = view.scene.segment_at(x, canvas.height() - 1 - y)
    before = list(view.cache.meshed)
    def painted():                                              # what the widget paints, as the user sees it
        return canvas.grab().toImage().pixelColor(x, y)
    win.segmentation.update_segment(sid, color=(1.0, 0.0, 0.0))
    qtbot.waitUntil(lambda: painted().red() > 2 * max(painted().green(), painted().blue()), timeout=5000)
    win.segmentation.update_segment(sid, color=(0.0, 0.0, 1.0))
    qtbot.waitUntil(lambda: painted().blue() > 2 * max(painted().green(), painted().red()), timeout=5000)
    assert view.cache.meshed == before


def test_file_menu_export_writes_a_merged_obj_and_explains_a_bad_folder(win3d, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    win, view = win3d
    action = next(a for a in win.menu("File").actions() if a.text().startswith("Export surfaces"))
    target = tmp_path / "atlas.obj"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(target), "OBJ, all segments in one file (*.obj)")))
    action.trigger()
    assert target.exists() and target.stat().st_size > 0
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda parent, title, text: warnings.append(text)))
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(tmp_path / "no" / "x.stl"), "STL, one file per segment (*.stl)")))
    action.trigger()
    assert len(warnings) == 1 and "does not exist" in warnings[0] and warnings[0].count(".") >= 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["atlas.obj"]


@pytest.mark.parametrize("size", [(64, 48), (1000, 300)])
def test_a_3d_screenshot_has_the_size_asked_and_shows_the_surfaces(win3d, tmp_path, size):
    from PySide6.QtGui import QImage

    win, view = win3d
    out = tmp_path / "3d.png"
    view.screenshot(out, *size)
    img = QImage(str(out))
    assert (img.width(), img.height()) == size
    rgb = np.array([[img.pixelColor(x, y).getRgb()[:3] for x in range(0, size[0], 4)]
                    for y in range(0, size[1], 4)])
    # the background is a grey-blue gradient: pixels far from every colour of it are the surfaces
    background = np.array([[round(255 * c) for c in (0.32, 0.34, 0.43)], [round(255 * c) for c in (0.76, 0.76, 0.87)]])
    t = np.linspace(0, 1, 50)[:, None]
    ramp = background[0] * (1 - t) + background[1] * t
    far = np.min(np.linalg.norm(rgb.reshape(-1, 1, 3) - ramp[None], axis=2), axis=1) > 40
    assert far.mean() > 0.02
    with pytest.raises(ValueError):
        view.screenshot(tmp_path / "bad.png", 0, 10)
    assert not (tmp_path / "bad.png").exists()


@pytest.mark.parametrize("fmt", ["ply", "vtp"])
def test_export_ply_and_vtp_read_back_with_the_same_triangles(win3d, tmp_path, fmt):
    from vtkmodules.vtkIOPLY import vtkPLYReader
    from vtkmodules.vtkIOXML import vtkXMLPolyDataReader

    win, view = win3d
    written = view.export_surfaces(tmp_path / f"s.{fmt}", fmt, one_file_per_segment=True)
    seg = win.segmentation
    shown = [sid for sid in view.shown_ids() if not seg.is_empty(sid)]       # the order files are written in
    assert len(written) == len(shown)
    sid = shown[0]
    reader = vtkPLYReader() if fmt == "ply" else vtkXMLPolyDataReader()
    reader.SetFileName(str(written[0]))
    reader.Update()
    got = reader.GetOutput()
    mesh = view.scene.mesh(sid)
    assert got.GetNumberOfCells() == mesh.GetNumberOfCells()
    a = numpy_support.vtk_to_numpy(got.GetPoints().GetData())
    b = numpy_support.vtk_to_numpy(mesh.GetPoints().GetData())
    assert np.allclose(np.sort(a, axis=0), np.sort(b, axis=0), atol=1e-4)


def test_without_smoothing_a_small_edit_of_a_big_segment_is_stitched_and_equals_a_full_remesh(win3d, qtbot):
    from app.render.stitch import keys_of
    from app.render.surfaces import segment_job

    win, view = win3d
    view.set_smoothing(False)
    wait_idle(qtbot, view)
    seg = win.segmentation
    big = max(seg.segment_ids, key=lambda s: np.prod([b.stop - b.start for b in seg.bounding_box(s)]))
    box = seg.bounding_box(big)
    centre = [(b.start + b.stop) // 2 for b in box]
    _paint(seg, big, centre, 3.0)                 # a small ball inside a big segment
    wait_idle(qtbot, view)
    assert big in view.stitched
    got = view.scene.mesh(big)
    full = segment_job(seg, big, smoothing=False).run()[big]     # the reference: the whole segment re-meshed
    m = seg.geometry.ijk_to_lps

    def cells(mesh):
        pts = numpy_support.vtk_to_numpy(mesh.GetPoints().GetData())
        tri = numpy_support.vtk_to_numpy(mesh.GetPolys().GetConnectivityArray()).reshape(-1, 3)
        return sorted(map(tuple, keys_of(pts, m)[np.unique(tri)])), len(tri)
    assert cells(got) == cells(full)


def test_smoothed_edits_of_a_big_segment_are_stitched_with_the_topology_of_a_full_remesh(win3d, qtbot):
    """Smoothing on (the default): the first build's surfaces come with the cells of their vertices, so the first
    small edit of a big segment is already stitched, and so is the next; each time the surface has the cells and
    quads of the segment re-meshed whole, and points within a tenth of a millimetre of it."""
    from app.render.surfaces import segment_job
    from tests.render.test_stitch import quads

    win, view = win3d
    seg = win.segmentation
    assert view.smoothing
    big = max(seg.segment_ids, key=lambda s: np.prod([b.stop - b.start for b in seg.bounding_box(s)]))
    assert view.cache.keys(big) is not None and view.is_idle()      # from the first build itself
    box = seg.bounding_box(big)
    centre = [(b.start + b.stop) // 2 for b in box]
    for step, shift in enumerate((0, 4)):
        before = len(view.stitched)
        _paint(seg, big, [c + shift for c in centre], 3.0)
        wait_idle(qtbot, view)
        assert big in view.stitched[before:], step
        got, got_keys = view.scene.mesh(big), view.cache.keys(big)
        job = segment_job(seg, big, smoothing=True, with_keys=True)          # the reference: re-meshed whole
        full = job.run()[big]
        assert quads(got, got_keys) == quads(full, job.keys[big]), step

        def points_by_cell(mesh, keys):        # cells with one vertex (two where the surface touches itself)
            used = np.unique(numpy_support.vtk_to_numpy(mesh.GetPolys().GetConnectivityArray()))
            cells, first, counts = np.unique(keys[used], axis=0, return_index=True, return_counts=True)
            pts = numpy_support.vtk_to_numpy(mesh.GetPoints().GetData())[used]
            return {tuple(c): pts[i] for c, i, n in zip(cells.tolist(), first, counts) if n == 1}
        g, e = points_by_cell(got, got_keys), points_by_cell(full, job.keys[big])
        assert set(g) == set(e)
        assert max(np.abs(g[k] - e[k]).max() for k in g) <= 0.1, step


def test_faces_between_two_shown_segments_are_not_drawn_until_one_is_hidden(win3d, qtbot):
    """After the first build, a surface draws its faces against background only (its neighbours cover the rest);
    hiding a neighbour in 3D, or making it translucent, draws the faces toward it again, with no re-mesh."""
    from tests.render.test_culling import faces_between

    win, view = win3d
    seg = win.segmentation
    layer0 = [sid for sid in seg.layer_segment_ids(0) if sid in view.updates.sides]
    arr = seg.layers[0]
    # the two segments sharing the most voxel faces (one pass over the lattice's faces)
    by_label = {seg.segment(sid).label: sid for sid in layer0}
    faces = []
    for axis in range(3):
        lo = np.take(arr, range(arr.shape[axis] - 1), axis=axis).ravel().astype(np.int64)
        hi = np.take(arr, range(1, arr.shape[axis]), axis=axis).ravel().astype(np.int64)
        keep = (lo != hi) & np.isin(lo, list(by_label)) & np.isin(hi, list(by_label))
        faces.append(np.minimum(lo, hi)[keep] * 100_000 + np.maximum(lo, hi)[keep])
    pairs, counts = np.unique(np.concatenate(faces), return_counts=True)
    top = int(pairs[np.argmax(counts)])
    a, b = by_label[top // 100_000], by_label[top % 100_000]
    la, lb = seg.segment(a).label, seg.segment(b).label
    # what nothing shown covers: background, and values no segment of the layer has
    uncovered = {0} | set(np.unique(arr).tolist()) - {seg.segment(s).label for s in layer0}
    drawn = lambda: view.scene.actors[a].GetMapper().GetInput().GetNumberOfCells()    # noqa: E731
    every_mapper = lambda: sum(actor.GetMapper().GetInput().GetNumberOfCells()         # noqa: E731
                               for actor in view.scene.actors.values())
    meshed = len(view.cache.meshed)
    total = view.scene.drawn_triangles()
    assert total == every_mapper()               # the scene's own count follows what its mappers draw
    assert drawn() == 2 * faces_between(arr, {la}, uncovered)
    view.set_shown_in_3d(b, False)
    assert drawn() == 2 * faces_between(arr, {la}, uncovered | {lb})
    assert view.scene.drawn_triangles() == every_mapper() > total      # a draws its faces toward b again
    view.set_shown_in_3d(b, True)
    seg.update_segment(b, opacity=0.4)
    view._bridge.flush()
    assert drawn() == 2 * faces_between(arr, {la}, uncovered | {lb})
    seg.update_segment(b, opacity=1.0)
    view._bridge.flush()
    assert drawn() == 2 * faces_between(arr, {la}, uncovered)
    assert len(view.cache.meshed) == meshed                       # display only: nothing re-meshed


def test_four_up_and_3d_only_layouts_put_the_3d_view_in_the_grid_and_give_it_back(win3d, qtbot):
    from PySide6.QtGui import QKeySequence

    from app.ui.main_window import Layout

    win, view = win3d
    dock = view.parentWidget()
    ax, co, sa = win.slice_views
    meshed = len(view.cache.meshed)
    win.layout_actions[Layout.FOUR_UP].trigger()
    qtbot.waitUntil(lambda: view.isVisible())
    grid = win.view_grid
    where = {w: grid.getItemPosition(grid.indexOf(w))[:2] for w in (ax, view, sa, co)}
    assert where == {ax: (0, 0), view: (0, 1), sa: (1, 0), co: (1, 1)}          # Slicer's Four-Up
    assert all(w.isVisible() for w in (ax, co, sa)) and not dock.isVisible()
    wait_idle(qtbot, view)
    assert view.canvas.image().width() > 50
    win.layout_actions[Layout.THREE_D].trigger()
    qtbot.waitUntil(lambda: not ax.isVisible())
    assert view.isVisible() and grid.indexOf(view) >= 0 and not any(w.isVisible() for w in (ax, co, sa))
    win.layout_actions[Layout.ONE_PLUS_TWO].trigger()
    qtbot.waitUntil(lambda: ax.isVisible())
    assert grid.indexOf(view) < 0 and dock.widget() is view
    assert len(view.cache.meshed) == meshed              # moving the view re-meshed nothing
    keys = {a.shortcut().toString() for a in win.layout_actions.values()}
    assert {win.layout_actions[Layout.FOUR_UP].shortcut(), win.layout_actions[Layout.THREE_D].shortcut()} == {
        QKeySequence("Ctrl+Alt+6"), QKeySequence("Ctrl+Alt+7")} and len(keys) == len(Layout)
    from PySide6.QtGui import QAction
    taken = [a.shortcut().toString() for a in win.findChildren(QAction) if not a.shortcut().isEmpty()]
    assert taken.count("Ctrl+Alt+6") == 1 and taken.count("Ctrl+Alt+7") == 1


def test_the_camera_is_fitted_on_a_new_document(win3d, qtbot, demo):
    from app.model.geometry import Geometry
    from app.model.segmentation import Segmentation

    win, view = win3d
    cam = view.scene.renderer.GetActiveCamera()
    view.scene.pan(5000, 3000, 100)                       # the user moved far away from the first document
    seg0, _ = demo
    g = seg0.geometry
    moved = Geometry(g.shape, g.spacing, tuple(np.add(g.origin, (400.0, -250.0, 120.0))), g.directions)
    other = Segmentation.from_layers(moved, [seg0.layers[0].copy()], [s.copy() for s in seg0.segments[:5]])
    win.set_document(other)
    wait_idle(qtbot, view)
    # the reference: the LPS bounds of the new document's surfaces' voxels, from the geometry alone
    lo, hi = [], []
    for s in other.segments:
        if s.visible and not other.is_empty(s.id):
            a, b = other.geometry.box_bounds_lps(other.bounding_box(s.id))
            lo.append(a)
            hi.append(b)
    centre = (np.min(lo, axis=0) + np.max(hi, axis=0)) / 2
    assert np.linalg.norm(np.subtract(cam.GetFocalPoint(), centre)) < 0.1 * np.linalg.norm(np.ptp(lo + hi, axis=0))
    assert np.allclose(np.subtract(cam.GetPosition(), cam.GetFocalPoint())[[0, 2]], 0, atol=1e-6)   # anterior view


def test_a_segment_moved_to_another_layer_uncovers_its_old_neighbours_faces(win3d, qtbot):
    """Culling names neighbours by label: when a segment moves to another layer (or label), the surfaces that
    culled faces against it draw all their faces again (it is meshed from its new place); the others keep their
    culling."""
    win, view = win3d
    seg = win.segmentation
    sides = view.updates.sides
    mover = next(sid for sid in seg.layer_segment_ids(0) if sid in sides)
    label = seg.segment(mover).label
    neighbours = [sid for sid in sides if sid != mover and seg.segment(sid).layer == 0 and (sides[sid] == label).any()]
    assert neighbours
    culled = {sid: view.scene.actors[sid].GetMapper().GetInput().GetNumberOfCells() for sid in neighbours}
    assert all(culled[sid] < view.scene.mesh(sid).GetNumberOfCells() for sid in neighbours)
    seg.move_to_layer(mover, None)                   # its own new layer
    wait_idle(qtbot, view)
    for sid in neighbours:
        assert view.scene.actors[sid].GetMapper().GetInput().GetNumberOfCells() == \
            view.scene.mesh(sid).GetNumberOfCells()
    assert seg.segment(mover).layer != 0 and mover in view.scene.actors
    others = [sid for sid in sides if sid not in neighbours and seg.segment(sid).layer == 0]
    assert any(view.scene.actors[sid].GetMapper().GetInput().GetNumberOfCells() <
               view.scene.mesh(sid).GetNumberOfCells() for sid in others)


def test_the_status_line_stays_one_line_in_a_narrow_view(make_window, qtbot):
    """The window wraps the labels of its docks (so they never widen them); the 3D view's status is one line,
    cut when the view is narrow (a four-up quarter), not wrapped into four. The whole window with every extension,
    as the application builds it."""
    from app.ui.view_3d import View3D

    win = make_window(extensions=True, size=(1280, 900))
    view = win.findChild(View3D)
    view.status.setText("304 surfaces · 1.53 s")
    view.resize(360, 300)
    qtbot.waitUntil(lambda: view.width() <= 400)
    assert not view.status.wordWrap()
    assert view.status.heightForWidth(120) < 2 * view.status.fontMetrics().height()


def test_the_heap_is_given_back_once_the_view_has_been_quiet(win3d, qtbot, monkeypatch):
    """Frames and meshing leave freed memory with glibc; it goes back to the system (malloc_trim, 10-20 ms) once no
    frame was drawn and no voxel edited for a while, so never between the dabs of a stroke."""
    import time

    from app.ui import view_3d

    win, view = win3d
    seg = win.segmentation
    trims = []
    monkeypatch.setattr(view_3d, "release_freed_memory", lambda: trims.append(time.perf_counter()))
    view.quiet_timer.stop()
    view.quiet_timer.setInterval(400)
    view.canvas.image()                                   # a frame starts the quiet clock
    assert view.quiet_timer.isActive() and not trims
    monkeypatch.setattr(view, "render", lambda: None)     # no frame now (a slow one waits for the stroke's end)
    sid = seg.segments[3].id
    box = seg.bounding_box(sid)
    edits = []
    seg.events.voxels_changed.connect(edits.append)
    other = next(s.id for s in seg.segments if s.id != sid)
    for step in range(3):                                 # edits keep putting it off
        qtbot.wait(250)
        _paint(seg, (sid, other)[step % 2], [b.start for b in box], radius_mm=3.0)    # each dab changes voxels
        view._bridge.flush()
        assert not trims and len(edits) == step + 1
    last_edit = time.perf_counter()
    qtbot.waitUntil(lambda: bool(trims), timeout=10000)
    assert len(trims) == 1 and trims[0] - last_edit >= 0.3        # (Qt coarse timers: within 5 %)


def test_a_stitch_into_a_big_surface_is_scheduled_as_the_longest_job(win3d):
    """A stroke's jobs start longest first on one thread: a stitch into the biggest surface meshes a small block but
    works on the whole old surface, so it ranks above a whole re-mesh of a bigger block of a small segment."""
    from app.render.stitch import stitch_job
    from app.render.surfaces import segment_job
    from app.ui.surface_updates import _cost

    win, view = win3d
    seg = win.segmentation
    by_size = sorted(seg.segment_ids, key=lambda s: view.scene.mesh(s).GetNumberOfCells())
    big, small = by_size[-1], by_size[len(by_size) // 2]
    centre = [(b.start + b.stop) // 2 for b in seg.bounding_box(big)]
    stitch = stitch_job(seg, big, view.scene.mesh(big), tuple(slice(c, c + 1) for c in centre),
                        old_keys=view.cache.keys(big), smoothing=True)
    whole = segment_job(seg, small, smoothing=True)
    if whole.block.size < stitch.block.size:             # (the case the ranking is for: a bigger block, less work)
        whole.block = np.zeros(2 * stitch.block.size, np.uint8)
    assert whole.block.size > stitch.block.size and _cost(stitch) > _cost(whole)


def test_a_stitched_surface_culls_its_hidden_faces_again_once_the_view_is_quiet(win3d, qtbot):
    """After a stroke, a stitched surface is drawn whole at once (no work on the surface's size on the stroke's
    path), then at a quiet moment it draws again only the faces that can be seen: those against background, the
    edited part, and faces toward segments not shown opaque (its sides kept through the stitch)."""
    win, view = win3d
    seg = win.segmentation
    big = max(view.updates.sides, key=lambda s: view.scene.mesh(s).GetNumberOfCells())
    drawn = lambda: view.scene.actors[big].GetMapper().GetInput()          # noqa: E731
    assert drawn().GetNumberOfCells() < view.scene.mesh(big).GetNumberOfCells()     # culled after the build
    centre = [(b.start + b.stop) // 2 for b in seg.bounding_box(big)]
    before = len(view.stitched)
    culled = []
    view.updates._culled.connect(lambda payload: culled.append(set(payload[2])))
    _paint(seg, big, centre, 3.0)
    view._bridge.flush()
    qtbot.waitUntil(lambda: view.cache.is_current(big), timeout=30000)
    assert big in view.stitched[before:]
    full = view.scene.mesh(big)
    if not culled:                                   # the stroke's own result: the whole surface
        assert drawn() is full
    wait_idle(qtbot, view)
    # (the culling's signal reaches this test's slot after the view's own, which may already have made it idle;
    # neighbours may be culled again in later rounds)
    qtbot.waitUntil(lambda: any(big in c for c in culled), timeout=10000)
    sides = view.updates.sides[big]
    assert len(sides) == full.GetNumberOfCells()
    layer = seg.segment(big).layer
    opaque = {s.label for s in seg.segments if s.layer == layer and s.visible and s.opacity >= 1.0
              and s.id not in view.hidden_in_3d and not seg.is_empty(s.id)}
    expected = int(np.count_nonzero(~np.isin(sides, list(opaque))))
    assert drawn().GetNumberOfCells() == expected < full.GetNumberOfCells()


def test_a_culling_made_for_a_display_since_changed_is_made_again(win3d, qtbot):
    """The quiet-moment culling of a stitched surface read the display (which segments are shown opaque) when it
    started; if the display changed before it came back, its result is not used, and the surface is culled again
    for the display as it is now (it stayed drawn whole before)."""
    win, view = win3d
    seg = win.segmentation
    big = max(view.updates.sides, key=lambda s: view.scene.mesh(s).GetNumberOfCells())
    _paint(seg, big, [(b.start + b.stop) // 2 for b in seg.bounding_box(big)], 3.0)
    wait_idle(qtbot, view)
    full = view.scene.mesh(big)
    view.scene.set_drawn(big, full)                       # as right after a stroke: drawn whole
    stale = {}                                           # the display the late result was made for
    view.updates._on_culled((view.updates._generation, {big: full}, {big: (full, None)}, stale))
    wait_idle(qtbot, view)
    sides = view.updates.sides[big]
    layer = seg.segment(big).layer
    opaque = {s.label for s in seg.segments if s.layer == layer and s.visible and s.opacity >= 1.0
              and s.id not in view.hidden_in_3d and not seg.is_empty(s.id)}
    expected = int(np.count_nonzero(~np.isin(sides, list(opaque))))
    assert view.scene.actors[big].GetMapper().GetInput().GetNumberOfCells() == expected < full.GetNumberOfCells()


def test_the_first_show_meshes_while_the_canvas_is_made(demo_window, qtbot, monkeypatch):
    """The OpenGL context and VTK's rendering side take 0.2-0.5 s to make: the first batch is already on the
    worker by then. And a first show with nothing to mesh (every segment hidden in 3D) still makes its canvas."""
    from app.ui import view_3d

    view = view_3d.install(demo_window)
    made = view_3d.View3D._ensure_canvas
    in_flight = []

    def ensure_canvas(self):
        in_flight.append((self.canvas is None, self.updates.busy))
        made(self)
    monkeypatch.setattr(view_3d.View3D, "_ensure_canvas", ensure_canvas)
    view = shown_3d(demo_window)
    wait_idle(qtbot, view)
    assert in_flight[0] == (True, True)
    assert set(view.scene.actors) == visible_non_empty(demo_window.segmentation, view)

    other = view_3d.View3D()
    qtbot.addWidget(other)
    other.set_segmentation(demo_window.segmentation)
    other.hidden_in_3d.update(demo_window.segmentation.segment_ids)
    other.show()
    wait_idle(qtbot, other)
    assert in_flight[-1] == (True, False)
    assert other.canvas is not None and not other.scene.actors
    other.shutdown()


def hidden_faces_are_covered(view, seg) -> None:
    """Every face a surface does not draw lies, point for point, on a face of the neighbour across it: else a crack
    or a hole shows."""
    def faces(mesh) -> np.ndarray:
        """Each triangle as the bytes of its three points, sorted (a triangle's name whatever its winding)."""
        pts = numpy_support.vtk_to_numpy(mesh.GetPoints().GetData())
        tri = numpy_support.vtk_to_numpy(mesh.GetPolys().GetConnectivityArray()).reshape(-1, 3)
        corners = np.sort(pts[tri].view(np.dtype((np.void, 12))).reshape(len(tri), 3), axis=1)
        return corners.view(np.dtype((np.void, 36))).reshape(-1)

    by_label = {(seg.segment(sid).layer, seg.segment(sid).label): sid for sid in seg.segment_ids}
    whole = {sid: faces(view.scene.mesh(sid)) for sid in view.scene.actors}
    for sid, sides in view.updates.sides.items():
        shown = view.scene._full[sid].GetInput()
        if shown is view.scene.mesh(sid):
            continue                                          # drawn whole
        not_drawn = ~np.isin(whole[sid], faces(shown))
        for side in np.unique(sides[not_drawn]).tolist():
            mine = whole[sid][not_drawn & (sides == side)]
            assert side, (sid, "a face against background is not drawn")
            across = whole[by_label[seg.segment(sid).layer, side]]
            assert np.isin(mine, across).all(), (sid, side)


def test_erasing_a_segment_next_to_another_uncovers_the_neighbours_faces_toward_it(qtbot):
    """C sits on A; both are shown opaque, so C's faces toward A are not drawn. Erasing a patch of A under C leaves
    C's voxels as they were, but C's faces over the patch now face background: they are drawn at once (C whole),
    and once the view is quiet C draws them, read from the voxels. Before the fix C kept them culled: a hole in C,
    seen through from below. Throughout, every face a surface does not draw lies on a face of the neighbour across
    it, point for point (a neighbour re-meshed alone, or re-smoothed by a stitch, no longer covers them: a crack)."""
    from app.model.geometry import Geometry
    from app.model.segment import Segment
    from app.model.segmentation import Segmentation

    arr = np.zeros((60, 40, 30), np.uint8)
    arr[5:55, 5:35, 2:15] = 1                      # A (big enough for its edits to be stitched)
    arr[5:55, 5:35, 15:25] = 2                     # C, on A
    arr[30:36, 10:16, 25:29] = 3                   # D, small, on C
    for k in range(8):                             # small others: the first build is one layer pass
        arr[2 + 6 * k:5 + 6 * k, 37:39, 27:29] = 10 + k
    geo = Geometry(arr.shape, (1.0, 1.0, 1.0), (0.0, 0.0, 0.0), ((1, 0, 0), (0, 1, 0), (0, 0, 1)))
    segs = [Segment("A", "A", (1, 0, 0), 0, 1), Segment("C", "C", (0, 1, 0), 0, 2),
            Segment("D", "D", (0, 0, 1), 0, 3)] + [Segment(f"o{k}", f"o{k}", (0, 0, 1), 0, 10 + k) for k in range(8)]
    seg = Segmentation.from_layers(geo, [arr], segs)
    view = standalone_view(qtbot, seg)
    qtbot.waitUntil(lambda: view.is_idle() and not view.busy, timeout=30000)

    def faces_against_background(value):
        p, n = np.pad(seg.layers[0], 1), 0
        for axis in range(3):
            lo, hi = np.take(p, range(p.shape[axis] - 1), axis=axis), np.take(p, range(1, p.shape[axis]), axis=axis)
            n += int(((lo == value) & (hi == 0)).sum() + ((lo == 0) & (hi == value)).sum())
        return 2 * n
    drawn = lambda sid: view.scene._full[sid].GetInput().GetNumberOfCells()

    whole = view.scene.mesh("C").GetNumberOfCells()
    assert drawn("C") == faces_against_background(2) < whole
    hidden_faces_are_covered(view, seg)

    apply_mask(seg, "A", np.ones((10, 10, 3), bool), (slice(20, 30), slice(15, 25), slice(12, 15)), EditMode.REMOVE)
    view._bridge.flush()
    view.updates.timer.stop()
    view.updates.submit()                          # the update is planned: C is drawn whole before A's new surface
    assert drawn("C") == whole and view.updates.busy        # (still on the worker) arrives
    wait_idle(qtbot, view)
    qtbot.waitUntil(lambda: view.is_idle() and not view.busy and not view.updates._uncovered, timeout=30000)
    assert view.scene.mesh("C").GetNumberOfCells() == whole          # C itself was not re-meshed
    assert faces_against_background(2) == 2 * (3064 + 100) <= drawn("C") < whole   # + its faces over the patch
    hidden_faces_are_covered(view, seg)

    # in one update: A grows at its far end (it is stitched) and a patch of C over A is erased: A's faces toward
    # the patch, culled against C, face background now and are drawn again, though A was edited elsewhere
    apply_mask(seg, "A", np.ones((2, 4, 3), bool), (slice(55, 57), slice(10, 14), slice(5, 8)), EditMode.ADD)
    apply_mask(seg, "C", np.ones((8, 8, 2), bool), (slice(40, 48), slice(20, 28), slice(15, 17)), EditMode.REMOVE)
    view._bridge.flush()
    wait_idle(qtbot, view)
    qtbot.waitUntil(lambda: view.is_idle() and not view.busy and not view.updates._uncovered, timeout=30000)
    assert view.stitched == ["A", "A", "C"] and "A" in view.updates.sides
    layer = seg.layers[0]
    for sid, value in (("A", 1), ("C", 2)):
        tri = numpy_support.vtk_to_numpy(view.scene.mesh(sid).GetPolys().GetConnectivityArray()).reshape(-1, 3)
        hidden_against_background = 0
        for (axis, p), side in zip(voxel_pairs(view.cache.keys(sid), tri), view.updates.sides[sid].tolist()):
            q = list(p)
            q[axis] += 1
            pair = [layer[tuple(v)] if all(0 <= c < n for c, n in zip(v, layer.shape)) else 0 for v in (p, q)]
            assert value in pair
            hidden_against_background += side != 0 and 0 in pair
        assert hidden_against_background == 0, sid
    hidden_faces_are_covered(view, seg)

    # D, small, grows: it is re-meshed whole and alone, smoothed against background where it meets C, so C's
    # faces toward it no longer meet D's and are drawn again
    apply_mask(seg, "D", np.ones((6, 1, 4), bool), (slice(30, 36), slice(16, 17), slice(25, 29)), EditMode.ADD)
    view._bridge.flush()
    wait_idle(qtbot, view)
    qtbot.waitUntil(lambda: view.is_idle() and not view.busy and not view.updates._uncovered, timeout=30000)
    assert "D" not in view.stitched and "D" not in view.updates.sides
    hidden_faces_are_covered(view, seg)
    view.shutdown()


def test_millimetre_surfaces_upload_their_points_as_they_are_and_draw_the_same(qtbot):
    """VTK's default shifts and scales the vertex buffer of any surface more than ~32 units across (a CPU pass and a
    kept copy per upload); near the origin the scene uploads the float32 points as they are, and the picture is the
    same. Far from it VTK's default stays."""
    from vtkmodules.vtkFiltersSources import vtkSphereSource
    from vtkmodules.vtkRenderingCore import vtkRenderWindow

    from app.render.mesh_arrays import polydata
    from app.ui.scene_3d import Scene3D

    sphere = vtkSphereSource()
    sphere.SetRadius(60.0)                  # a head-sized surface, in millimetres
    sphere.SetThetaResolution(48)
    sphere.SetPhiResolution(48)
    sphere.Update()
    src = sphere.GetOutput()
    pts = numpy_support.vtk_to_numpy(src.GetPoints().GetData()).astype(np.float32)
    tri = numpy_support.vtk_to_numpy(src.GetPolys().GetConnectivityArray()).reshape(-1, 3)

    def picture(offset, default_upload=False):
        scene = Scene3D()
        scene.set_mesh("s", polydata(pts + np.float32(offset), tri))
        mapper = scene._full["s"]
        if default_upload:
            mapper.SetVBOShiftScaleMethod(1)          # AUTO_SHIFT_SCALE, VTK's default
        win = vtkRenderWindow()
        win.SetOffScreenRendering(1)
        win.SetSize(160, 120)
        scene.attach(win)
        scene.reset_camera()
        win.Render()
        from vtkmodules.vtkCommonCore import vtkUnsignedCharArray
        data = vtkUnsignedCharArray()
        win.GetRGBACharPixelData(0, 0, 159, 119, 0, data)
        rgb = numpy_support.vtk_to_numpy(data).reshape(120, 160, 4)[..., :3]
        method = mapper.GetVBOShiftScaleMethod()
        win.Finalize()
        return rgb.astype(int), method

    near, method = picture(0.0)
    assert method == 0                                   # DISABLE_SHIFT_SCALE: uploaded as is
    default, _ = picture(0.0, default_upload=True)
    assert (np.abs(near - default).max(axis=2) > 8).mean() < 0.002     # the same picture (a few edge pixels)
    assert (np.abs(near - near[0, 0]).max(axis=2) > 30).mean() > 0.2   # (and a sphere is in it)
    assert picture(5e6)[1] == 1                          # far from the origin: VTK's default kept
