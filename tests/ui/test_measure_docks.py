"""The Statistics and Compare docks driven through their real widgets, checked against numpy on the volumes."""
from __future__ import annotations

import csv

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from app.io import Volume
from app.model import stats as st
from app.model.brush import ball, dab_region
from app.model.edits import EditMode, EditPolicy, apply_mask
from tests.ui.helpers import copy_segmentation


@pytest.fixture
def measured(make_window, demo, qtbot):
    from app.ui import measure

    seg0, grey = demo
    seg = copy_segmentation(seg0)
    win = make_window()
    stats, compare = measure.install(win)
    win.set_document(seg, Volume(grey, seg.geometry, None))
    return win, seg, grey, stats, compare


def click_row(qtbot, view, row: int) -> None:
    rect = view.visualRect(view.model().index(row, 0))
    qtbot.mouseClick(view.viewport(), Qt.LeftButton, pos=rect.center())


def col(model, name):
    return model.cols.index(name)


def test_stats_dock_table_matches_numpy_sorts_and_jumps(measured, qtbot):
    win, seg, grey, stats, _ = measured
    assert stats.model.rowCount() == 0                 # nothing measured while the dock is hidden
    win.stats_panel.show_action.trigger()
    qtbot.waitUntil(lambda: stats.model.rowCount() == len(seg))
    assert [stats.row_segment(n) for n in range(len(seg))] == seg.segment_ids     # the segment table's order
    arr = seg.layers[0]
    rows = {r["segment_id"]: r for r in stats.model.rows}
    for s in seg.segments[:40]:
        m = arr == s.label
        assert rows[s.id]["voxels"] == np.count_nonzero(m)
        assert rows[s.id]["grey_mean"] == pytest.approx(grey[m].mean())
        assert rows[s.id]["grey_median"] == pytest.approx(np.median(grey[m]))
    # sort by voxels with clicks on the header: one click ascending, the next descending
    from PySide6.QtCore import QPoint

    header = stats.view.horizontalHeader()
    c = col(stats.model, "voxels")
    stats.view.scrollTo(stats.proxy.index(0, c))
    at = QPoint(header.sectionViewportPosition(c) + header.sectionSize(c) // 2, header.height() // 2)
    sizes = {s.id: np.count_nonzero(arr == s.label) for s in seg.segments}
    qtbot.mouseClick(header.viewport(), Qt.LeftButton, pos=at)
    shown = [sizes[stats.row_segment(n)] for n in range(len(seg))]
    assert shown == sorted(shown)
    qtbot.mouseClick(header.viewport(), Qt.LeftButton, pos=at)
    biggest = max(seg.segments, key=lambda s: sizes[s.id])
    assert stats.row_segment(0) == biggest.id
    # a click jumps: the segment becomes current and the cursor lands on one of its voxels, views centred on it
    target_row = 5
    sid = stats.row_segment(target_row)
    click_row(qtbot, stats.view, target_row)
    qtbot.waitUntil(lambda: win.current_segment_id() == sid)
    c = np.round(win.display.cursor).astype(int)
    assert arr[tuple(c)] == seg.segment(sid).label
    for view in win.slice_views:
        assert view.slice_index == c[view.plane_axis]
        centre = view.view_box.viewRect().center()
        p = view.ijk_to_view(c)
        assert abs(centre.x() - p.x()) < 1.0 and abs(centre.y() - p.y()) < 1.0


def test_stats_dock_recomputes_only_the_edited_segments(measured, qtbot, monkeypatch):
    win, seg, grey, stats, _ = measured
    win.stats_panel.show_action.trigger()
    qtbot.waitUntil(lambda: stats.model.rowCount() == len(seg))
    asked = []
    real = st.segmentation_statistics
    monkeypatch.setattr(st, "segmentation_statistics",
                        lambda *a, **k: asked.append(k.get("segment_ids")) or real(*a, **k))
    before = {r["segment_id"]: dict(r) for r in stats.model.rows}
    target = seg.segments[10]
    box = seg.bounding_box(target.id)
    centre = [b.stop - 1 for b in box]
    mask, dbox = dab_region(centre, ball(4.0, seg.geometry.spacing), seg.geometry.shape)
    changed = set()
    seg.events.voxels_changed.connect(lambda ch: changed.update(i for c in ch for i in c.segment_ids))
    apply_mask(seg, target.id, mask, dbox, EditMode.ADD, EditPolicy())
    assert target.id in changed and len(changed) >= 2
    qtbot.waitUntil(lambda: len(asked) > 0)
    assert asked == [changed]
    rows = {r["segment_id"]: r for r in stats.model.rows}
    arr = seg.layers[0]
    for sid in changed:
        m = arr == seg.segment(sid).label
        assert rows[sid]["voxels"] == np.count_nonzero(m)
        assert rows[sid]["grey_max"] == grey[m].max()
    for sid in set(rows) - changed:
        assert rows[sid] == before[sid]
    # a rename updates the row without measuring; hiding a segment changes nothing
    asked.clear()
    other = seg.segments[20]
    seg.update_segment(other.id, name="renamed here")
    seg.update_segment(seg.segments[21].id, visible=False)
    qtbot.waitUntil(lambda: any(r["name"] == "renamed here" for r in stats.model.rows))
    assert asked == []
    # a new segment is measured alone; removing one drops its row without measuring the others
    new = seg.add_segment("new one")
    qtbot.waitUntil(lambda: stats.model.rowCount() == len(seg))
    assert asked == [{new.id}] and stats.model.rows[-1]["voxels"] == 0
    seg.remove_segments([seg.segments[0].id])
    qtbot.waitUntil(lambda: stats.model.rowCount() == len(seg))
    assert [r["segment_id"] for r in stats.model.rows] == seg.segment_ids


def test_stats_copy_and_export_csv(measured, qtbot, tmp_path):
    win, seg, grey, stats, _ = measured
    win.stats_panel.show_action.trigger()
    qtbot.waitUntil(lambda: stats.model.rowCount() == len(seg))
    stats.copy_button.click()
    lines = QGuiApplication.clipboard().text().strip().split("\n")
    assert len(lines) == len(seg) + 1 and lines[0].split("\t") == stats.model.cols
    stats.view.selectRow(3)
    stats.copy_button.click()
    assert len(QGuiApplication.clipboard().text().strip().split("\n")) == 2
    out = tmp_path / "stats.csv"
    stats.export_csv(out)
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == st.columns(grey=True)
    arr = seg.layers[0]
    for r in rows[:20]:
        assert int(r["voxels"]) == np.count_nonzero(arr == int(r["label_value"]))
    stats.grey_box.setChecked(False)
    qtbot.waitUntil(lambda: "grey_mean" not in stats.model.cols)
    # surface areas: the dock shows what the 3D view's meshes measure (the meshing is tested against 4 pi r^2)
    from app.render.surface_area import surface_areas

    stats.surface_box.setChecked(True)
    qtbot.waitUntil(lambda: "surface_mm2" in stats.model.cols)
    ref = surface_areas(seg, seg.segment_ids[:5])
    rows = {r["segment_id"]: r for r in stats.model.rows}
    for sid, area in ref.items():
        assert rows[sid]["surface_mm2"] == pytest.approx(area, rel=1e-6) and area > 0


def perturbed(seg):
    """B: every 3rd segment shifted by 2 voxels along i, one segment removed."""
    b = copy_segmentation(seg)
    arr = b.layers[0]
    for s in b.segments[::3]:
        m = arr == s.label
        arr[m] = 0
        arr[np.roll(m, 2, axis=0) & (arr == 0)] = s.label
    arr[arr == b.segments[1].label] = 0
    b.invalidate_statistics(0)
    return b


def test_compare_dock_table_overlay_and_jump(measured, qtbot):
    win, seg, grey, _, compare = measured
    win.compare_panel.show_action.trigger()
    other = perturbed(seg)
    compare.set_other(other)
    qtbot.waitUntil(lambda: compare.model.rowCount() == len(seg))
    a, b = seg.layers[0], other.layers[0]

    def dice(v):
        ma, mb = a == v, b == v
        return 2 * np.count_nonzero(ma & mb) / (np.count_nonzero(ma) + np.count_nonzero(mb))

    d = compare.model.cols.index("dice")
    shown = [compare.proxy.index(n, d).data(Qt.UserRole) for n in range(compare.proxy.rowCount())]
    assert shown == sorted(shown) and shown[0] == 0.0              # worst first, as the table shows them
    la = compare.model.cols.index("label_a")
    assert compare.proxy.index(0, la).data(Qt.UserRole) == seg.segments[1].label
    for r in compare.model.rows[:15]:
        assert r["dice"] == pytest.approx(dice(r["label_a"]))
    # difference overlay on the axial view equals numpy's only-A / only-B on that slice
    compare.show_box.setCurrentText("Difference")
    view = win.slice_views[0]
    frame = view.frame
    sa, sb = frame.extract(a, view.slice_index), frame.extract(b, view.slice_index)
    codes = compare.codes(frame, view.slice_index)
    assert np.array_equal(codes == 1, (sa != 0) & (sa != sb) & ~((sb != 0) & (sb != sa)))
    assert np.array_equal(codes == 2, (sb != 0) & (sb != sa) & ~((sa != 0) & (sa != sb)))
    img = compare.overlay.image(0)
    assert img is not None and img.shape[:2] == sa.shape
    compare.show_box.setCurrentText("Outlines of B")
    out = compare.codes(frame, view.slice_index) > 0
    assert out.any() and not out[sb == 0].any()
    # every B boundary is drawn exactly once: each pair of 4-neighbours with different B labels has one outlined
    for axis in (0, 1):
        x, y = np.moveaxis(sb, axis, 0), np.moveaxis(out, axis, 0)
        differ = x[1:] != x[:-1]
        assert np.all(y[1:][differ] | y[:-1][differ])
    compare.show_box.setCurrentText("Off")
    assert compare.overlay.image(0) is None
    # a click on the worst shifted pair jumps to a voxel where that pair disagrees
    row = next(n for n, r in enumerate(compare.model.rows) if 0 < r["dice"] < 1)
    label = compare.model.rows[row]["label_a"]
    proxy_row = compare.proxy.mapFromSource(compare.model.index(row, 0)).row()
    click_row(qtbot, compare.view, proxy_row)
    qtbot.waitUntil(lambda: win.current_segment_id() == seg.segment_at(0, label))
    c = tuple(np.round(win.display.cursor).astype(int))
    assert (a[c] == label) != (b[c] == label)


def test_compare_opens_b_from_a_file_refuses_a_broken_one_and_uses_a_mapping(measured, qtbot, tmp_path, dialogs,
                                                                              monkeypatch):
    import nrrd
    from PySide6.QtWidgets import QFileDialog

    win, seg, grey, _, compare = measured
    win.compare_panel.show_action.trigger()
    broken = tmp_path / "broken.seg.nrrd"
    broken.write_bytes(b"NRRD0004\ntype: what\n")
    assert not compare.open_path(broken)
    assert dialogs.seen and "broken.seg.nrrd" in dialogs.seen[-1][1] and compare.other is None
    assert win.segmentation is seg and compare.model.rowCount() == 0           # A untouched, nothing compared
    # B: A's labelmap written to disk with two label values swapped, matched back with a mapping CSV
    g = seg.geometry
    arr = seg.layers[0].copy()
    la, lb_ = seg.segments[2].label, seg.segments[3].label
    swapped = arr.copy()
    swapped[arr == la], swapped[arr == lb_] = lb_, la
    path = tmp_path / "b.nrrd"
    nrrd.write(str(path), swapped, {"space": "left-posterior-superior",
                                    "space directions": g.direction_matrix * np.array(g.spacing)[None, :],
                                    "space origin": np.array(g.origin)})
    assert compare.open_path(path)
    qtbot.waitUntil(lambda: compare.model.rowCount() > 0)
    rows = {r["label_a"]: r for r in compare.model.rows}
    assert rows[la]["dice"] == 0.0 and rows[seg.segments[5].label]["dice"] == 1.0
    mapping = tmp_path / "map.csv"
    mapping.write_text(f"A,B\n{la},{lb_}\n{lb_},{la}\n")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(mapping), "")))
    compare.match_box.setCurrentIndex(2)
    compare.match_box.activated.emit(2)
    qtbot.waitUntil(lambda: compare.model.rowCount() == 2)
    assert all(r["dice"] == 1.0 for r in compare.model.rows)
