"""The group tree, review status and name picker driven through the real Segments dock (pytest-qt, offscreen)."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QApplication

from app.model import groups as gr
from app.model import review
from app.model.edits import Overwrite
from app.model.geometry import Geometry
from app.model.segmentation import Segmentation
from app.ui import segment_editor, organise
from app.ui.segment_tree import TreeColumn
from tests.conftest import SPL_TABLE, shared_file


def _click(qtbot, tree, index, modifier=Qt.NoModifier):
    tree.scrollTo(index)
    qtbot.mouseClick(tree.viewport(), Qt.LeftButton, modifier, tree.visualRect(index).center())


@pytest.fixture
def big_window(make_window):
    """1,000 segments in 20 groups of 50 (groups 0..9 under "Body/", 10..19 at the top), one voxel each."""
    seg = Segmentation(Geometry((40, 40, 20)))
    with seg.history.paused():
        for n in range(1000):
            g = n // 50
            path = f"Body/Group {g:02d}" if g < 10 else f"Group {g:02d}"
            seg.add_segment(f"structure {n:04d}", tags={gr.GROUP_TAG: path})
    arr = seg.layers[0]
    flat = arr.reshape(-1)
    flat[:1000] = np.array([s.label for s in seg.segments])
    seg.invalidate_statistics(0)
    seg.history.clear()
    win = make_window()
    org = organise.install(win)
    win.set_document(seg, None)
    org.set_tree_shown(True)
    QApplication.processEvents()
    return win, org, seg


def test_tree_of_1000_segments_in_20_groups(big_window, qtbot):
    win, org, seg = big_window
    m = org.model
    top = [m.data(m.index(r, 0)) for r in range(m.rowCount())]
    assert top == ["Body  (500)"] + [f"Group {g:02d}  (50)" for g in range(10, 20)]
    body = m.index(0, 0)
    assert m.rowCount(body) == 10 and m.data(m.index(3, 0, body)) == "Group 03  (50)"
    g3 = m.index(3, 0, body)
    assert [m.data(m.index(r, 0, g3)) for r in range(m.rowCount(g3))] == \
        [f"structure {n:04d}" for n in range(150, 200)]
    assert org.tree.isVisible() and not win.segment_panel.table.isVisible()
    # filter keeps working in the tree: matching segments under their groups, empty groups gone
    win.segment_panel.filter_edit.setText("structure 07")
    wanted = [f"structure {n:04d}" for n in range(1000) if "structure 07" in f"structure {n:04d}"]
    shown = []
    for r in range(m.rowCount()):
        stack = [m.index(r, 0)]
        while stack:
            i = stack.pop(0)
            if m.is_group(i):
                stack = [m.index(c, 0, i) for c in range(m.rowCount(i))] + stack
            else:
                shown.append(m.data(i))
    assert shown == wanted
    assert [m.data(m.index(r, 0)) for r in range(m.rowCount())] == ["Group 14  (50)", "Group 15  (50)"]
    win.segment_panel.filter_edit.clear()
    # selecting a group row selects its 50 segments (what every tool's "Selected segments" uses)
    _click(qtbot, org.tree, m.index(2, 0))
    assert win.segment_panel.selected_ids() == gr.ids_in_group(seg, "Group 11") == \
        [s.id for s in seg.segments[550:600]]
    assert "1000 segments, 21 groups" in org.header.text()


def test_hide_and_recolour_a_group(big_window, qtbot, monkeypatch):
    win, org, seg = big_window
    m = org.model
    index = m.index(1, TreeColumn.VISIBLE)                 # "Group 10"
    _click(qtbot, org.tree, index)
    hidden = {s.id for s in seg.segments if not s.visible}
    assert hidden == {s.id for s in seg.segments[500:550]}
    assert m.data(index, Qt.CheckStateRole) == Qt.Unchecked
    assert m.data(m.index(0, TreeColumn.VISIBLE), Qt.CheckStateRole) == Qt.Checked
    # the views: the hidden labels are transparent in the lookup table, the others not
    luts = win.display.luts
    assert luts is not None
    win.display.flush()
    lab_hidden, lab_shown = seg.segments[510].label, seg.segments[10].label
    lut = luts.luts[0]
    assert lut.fill[lut.entry(lab_hidden)] == 0 and lut.fill[lut.entry(lab_shown)] != 0
    # recolour a whole group: select its row, Change colour...
    from PySide6.QtGui import QColor
    from PySide6.QtWidgets import QColorDialog

    before = {s.id: s.color for s in seg.segments}
    monkeypatch.setattr(QColorDialog, "getColor", staticmethod(lambda *a, **k: QColor(10, 200, 30)))
    _click(qtbot, org.tree, m.index(4, 0))                      # "Group 13"
    win.segment_panel.actions_["colour"].trigger()
    group13 = set(gr.ids_in_group(seg, "Group 13"))
    assert len(group13) == 50
    for s in seg.segments:
        want = (10 / 255, 200 / 255, 30 / 255) if s.id in group13 else before[s.id]
        assert np.allclose(s.color, want)
    # the filter matches group paths too
    win.segment_panel.filter_edit.setText("group 13")
    assert [m.data(m.index(r, 0)) for r in range(m.rowCount())] == ["Group 13  (50)"]
    win.segment_panel.filter_edit.clear()
    # a sub-group hidden: its parent's mark is partial
    body = m.index(0, 0)
    m.setData(m.index(0, TreeColumn.VISIBLE, body), Qt.Unchecked, Qt.CheckStateRole)
    assert m.data(m.index(0, TreeColumn.VISIBLE), Qt.CheckStateRole) == Qt.PartiallyChecked


@pytest.fixture
def edit_window(make_window):
    seg = Segmentation(Geometry((60, 50, 12), (1.0, 1.0, 2.0)))
    ids = [seg.add_segment(n).id for n in ("a", "b", "c")]
    seg.layers[0][30:50, 10:30, :] = seg.segment(ids[1]).label
    seg.layers[0][30:50, 30:45, :] = seg.segment(ids[2]).label
    seg.invalidate_statistics(0)
    gr.set_group(seg, ids[1:], "Protected")
    seg.history.clear()
    win = make_window(size=(1000, 800))
    ed = segment_editor.install(win)
    org = organise.install(win)
    win.set_document(seg, None)
    win.select_segment(ids[0])
    view = win.slice_views[0]
    view.set_slice(6)
    QApplication.processEvents()
    return win, ed, org, seg, ids, view


def test_lock_a_group_and_paint_over_it_changes_nothing(edit_window, qtbot):
    from tests.ui.test_segment_editor import paint_line

    win, ed, org, seg, ids, view = edit_window
    org.set_tree_shown(True)
    group = org.model.index_of_group("Protected", TreeColumn.LOCK)
    _click(qtbot, org.tree, group)
    assert seg.segment(ids[1]).locked and seg.segment(ids[2]).locked and not seg.segment(ids[0]).locked
    before = seg.layers[0].copy()
    ed.panel.overwrite.setCurrentIndex(ed.panel.overwrite.findData(Overwrite.ALL))
    win.select_segment(ids[0])
    paint_line(ed, view, (20, 20), (55, 40), radius=4.0)     # across both locked segments
    b = before == seg.segment(ids[1]).label
    c = before == seg.segment(ids[2]).label
    assert seg.voxel_count(ids[0]) > 0
    assert np.array_equal(seg.layers[0][b | c], before[b | c])
    # painting started the work on "a" (Slicer's rule), once
    assert review.status_of(seg.segment(ids[0])) == "inprogress"
    assert review.status_of(seg.segment(ids[1])) == "notstarted"


def test_run_a_tool_on_a_group(demo_window, qtbot):
    from app.model import ops
    from app.ui import operations_panel
    from app.ui.operations_panel.panel import Scope

    win = demo_window
    seg = win.segmentation
    org = organise.install(win)
    operations_panel.install(win)
    group = seg.segment_ids[10:16]
    gr.set_group(seg, group, "Region/Part")
    expected = Segmentation.from_layers(seg.geometry, [a.copy() for a in seg.layers],
                                        [s.copy() for s in seg.segments])
    ops.margin(expected, group, 3.0)
    org.set_tree_shown(True)
    QApplication.processEvents()
    region = org.model.index_of_group("Region")
    _click(qtbot, org.tree, region)
    assert win.segment_panel.selected_ids() == group
    panel = win.tools_panel
    panel.set_page(2)
    panel.current_page().distance.setValue(3.0)
    panel.scope.setCurrentIndex(panel.scope.findData(Scope.SELECTED))
    assert panel.segment_ids() == group
    assert panel.apply()
    assert all(np.array_equal(a, b) for a, b in zip(expected.layers, seg.layers))


def test_status_bulk_set_next_flagged_centres_views_and_header_counts(demo_window, qtbot):
    win = demo_window
    seg = win.segmentation
    org = organise.install(win)
    org.set_tree_shown(True)
    ids = seg.segment_ids
    sm = org.tree.selectionModel()
    for sid in (ids[3], ids[20], ids[40]):
        sm.select(org.model.index_of_segment(sid), QItemSelectionModel.Select | QItemSelectionModel.Rows)
    org.actions_["status_flagged"].trigger()
    assert [s.id for s in seg.segments if review.status_of(s) == "flagged"] == [ids[3], ids[20], ids[40]]
    assert seg.history.undo_name == "Mark flagged" and len(seg.history.undo_stack) == 1
    org.refresh_header()
    assert "3 flagged" in org.header.text() and f"{len(ids) - 3} not started" in org.header.text()
    win.select_segment(ids[5])
    win.segment_panel.setFocus()
    qtbot.keyClick(win, Qt.Key_F8, Qt.ShiftModifier)          # next flagged
    assert win.current_segment_id() == ids[20]
    nz = np.nonzero(seg.mask(ids[20]))
    centre = [(a.min() + a.max()) / 2.0 for a in nz]
    assert np.allclose(win.display.cursor, centre)
    org.go_next(("flagged",))
    assert win.current_segment_id() == ids[40]
    org.go_next(("flagged",))
    assert win.current_segment_id() == ids[3]                  # wraps round
    review.set_status(seg, ids[4:], "completed")
    assert org.go_next(("notstarted", "inprogress")) is None or win.current_segment_id() in ids[:4]


class _FakePicker:
    """The real picker, driven as a user would: type, then accept the first match (no modal loop)."""

    typed = ""
    table = None

    def __init__(self, candidates, parent, title, initial, load_table):
        from app.ui.name_picker import NamePicker

        self.dlg = NamePicker(candidates, parent, title, initial, load_table)
        if self.table is not None:
            assert self.dlg.load_path(self.table)
        self.dlg.edit.setText(self.typed)
        _FakePicker.shown = self.dlg.matches()
        self.chosen = None

    def exec(self):
        self.dlg.accept()
        self.chosen = self.dlg.chosen
        return True


def test_picker_finds_hippocampus_from_hipo_and_keeps_empty_table_labels(make_window, qtbot):
    from app import io

    atlas = shared_file("spl-brain-atlas", "hncma-atlas_2014-11_304labels.nrrd")
    seg = io.open_segmentation(atlas, labels=SPL_TABLE)
    left = seg.segment_by_name("left_hippocampus")
    value, colour = left.label, left.color
    seg.remove_segment(left.id)                # its table entry has no segment now: it must be offered
    seg.history.clear()
    win = make_window()
    org = organise.install(win)
    win.set_document(seg, None)
    org.picker_factory = _FakePicker
    _FakePicker.typed = "hipo"
    win.select_segment(seg.segment_ids[0])
    org.actions_["add_pick"].trigger()
    assert _FakePicker.shown[0].name == "left_hippocampus" and _FakePicker.shown[0].source == "label table"
    s = seg.segment(win.current_segment_id())
    assert (s.name, s.label, s.color) == ("left_hippocampus", value, colour)
    # among a loaded colour table's entries too (the whole SPL table, hippocampi included)
    _FakePicker.table = SPL_TABLE
    org.actions_["rename_pick"].trigger()
    names = [c.name for c in _FakePicker.shown[:3]]
    assert "right_hippocampus" in names and any(c.source.startswith("colour table") for c in _FakePicker.shown)
    _FakePicker.table = None
    _FakePicker.typed = "left amygdaloid"
    org.actions_["rename_pick"].trigger()
    s = seg.segment(win.current_segment_id())
    assert s.name == "left amygdaloid complex" and "SCT^4958002^Amygdala" in s.tags["TerminologyEntry"]


def test_picker_keyboard_and_a_name_typed_as_is(qtbot):
    from app.model import terminology as tm
    from app.ui.name_picker import NamePicker

    seg = Segmentation(Geometry((8, 8, 8)))
    seg.add_segment("first")
    cands = [tm.Candidate("left_hippocampus", (1.0, 1.0, 0.0), "t", 17),
             tm.Candidate("right_hippocampus", (0.0, 1.0, 0.0), "t", 53)]
    dlg = NamePicker(cands, None, "Add", "")
    qtbot.addWidget(dlg)
    qtbot.keyClicks(dlg.edit, "hipo")
    assert [c.name for c in dlg.matches()][:2] == ["left_hippocampus", "right_hippocampus"]
    assert dlg.matches()[-1].source == "typed" and dlg.matches()[-1].name == "hipo"
    qtbot.keyClick(dlg.edit, Qt.Key_Down)
    dlg.accept()
    assert dlg.chosen.name == "right_hippocampus"
    dlg2 = NamePicker(cands, None, "Add", "")
    qtbot.addWidget(dlg2)
    qtbot.keyClicks(dlg2.edit, "small lesion")
    dlg2.list.setCurrentRow(dlg2.list.count() - 1)
    dlg2.accept()
    s = tm.add_from_candidate(seg, dlg2.chosen)
    assert s.name == "small lesion" and s.label == 2 and "TerminologyEntry" not in s.tags
    assert s.color != seg.segment(seg.segment_ids[0]).color          # an automatic colour, not grey


def test_a_bad_colour_table_is_one_sentence_and_the_tree_choice_persists(make_window, dialogs, tmp_path, qtbot):
    from app.ui.name_picker import NamePicker

    win = make_window()
    org = organise.install(win)
    bad = tmp_path / "junk.ctbl"
    bad.write_text("this is not a colour table\n")
    dlg = NamePicker(org.candidates(), win, "Add", "", org._load_table)
    qtbot.addWidget(dlg)
    n = len(dlg.candidates)
    assert not dlg.load_path(bad)
    assert len(dlg.candidates) == n and dialogs.seen and dialogs.seen[-1][0] == "warning"
    assert "junk.ctbl" in dialogs.seen[-1][1]
    org.set_tree_shown(True)
    assert str(win.settings.value(organise.TREE_SETTING)).lower() == "true"
    win2 = make_window()
    win2.settings.setValue(organise.TREE_SETTING, True)
    again = organise.install(win2)
    assert again.tree_shown()


def test_f2_in_the_tree_renames_a_group_and_a_segment(big_window, qtbot):
    win, org, seg = big_window
    m = org.model
    body = m.index(0, 0)
    org.tree.setCurrentIndex(m.index(2, 0, body))                       # "Body/Group 02"
    org.tree.setFocus()
    win.segment_panel.actions_["rename"].trigger()
    editor = QApplication.focusWidget()
    assert editor is not None and editor.text() == "Group 02"
    editor.selectAll()
    qtbot.keyClicks(editor, "Cerebellum")
    qtbot.keyClick(editor, Qt.Key_Return)
    QApplication.processEvents()                      # the delegate commits on the event loop
    assert gr.ids_in_group(seg, "Body/Cerebellum") == [s.id for s in seg.segments[100:150]]
    assert gr.ids_in_group(seg, "Body/Group 02") == []
    win.display.flush()
    qtbot.waitUntil(lambda: m.index_of_group("Body/Cerebellum").isValid())     # the tree shows the new name
    assert m.data(m.index_of_group("Body/Cerebellum")) == "Cerebellum  (50)"
    leaf = m.index_of_segment(seg.segment_ids[7])
    org.tree.setCurrentIndex(leaf)
    win.segment_panel.actions_["rename"].trigger()
    editor = QApplication.focusWidget()
    editor.selectAll()
    qtbot.keyClicks(editor, "vermis")
    qtbot.keyClick(editor, Qt.Key_Return)
    QApplication.processEvents()
    assert seg.segment(seg.segment_ids[7]).name == "vermis"


def test_a_segment_chosen_elsewhere_is_selected_in_the_tree_its_group_opened(big_window, qtbot):
    """A click on a surface in 3D (or a jump) makes a segment current through the window: with the tree shown, the
    tree selects it too and opens its groups. Before, it kept showing nothing selected while the editor named it."""
    win, org, seg = big_window
    m = org.model
    target = seg.segment_ids[437]                     # "Body/Group 08", collapsed
    group = m.index_of_group("Body/Group 08")
    assert not org.tree.isExpanded(group)
    win.select_segment(target)                        # what View3D.segment_clicked is connected to
    assert win.current_segment_id() == target
    assert m.key(org.tree.currentIndex()) == target
    assert [m.key(i) for i in org.tree.selectionModel().selectedRows(0)] == [target]
    assert org.tree.isExpanded(group) and org.tree.isExpanded(m.index_of_group("Body"))
    assert org.tree.visualRect(m.index_of_segment(target)).intersects(org.tree.viewport().rect())
    org.set_tree_shown(False)                         # chosen while the list is shown: the tree follows when shown
    win.select_segment(seg.segment_ids[12])
    org.set_tree_shown(True)
    assert m.key(org.tree.currentIndex()) == seg.segment_ids[12]
    _click(qtbot, org.tree, m.index_of_segment(seg.segment_ids[5]))       # and a click in the tree still leads
    assert win.current_segment_id() == seg.segment_ids[5]
