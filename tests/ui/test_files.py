"""File menu on the real window: save/save as/reopen through app.io, unsaved mark and the close question,
recent files in QSettings, drag and drop, errors as one sentence, run_long off the GUI thread."""
from __future__ import annotations

import os
import threading

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QFileDialog, QMessageBox

from app import io
from app.ui.long_task import Cancelled

from .helpers import settle


def test_save_as_marks_clean_and_reopens(demo_window, tmp_path, monkeypatch, dialogs):
    win = demo_window
    seg = win.segmentation
    assert "untitled" in win.windowTitle() and not win.isWindowModified()
    seg.update_segment(seg.segment_ids[3], name="renamed")
    assert win.is_modified() and win.isWindowModified()
    out = tmp_path / "atlas.seg.nrrd"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(out), "")))
    assert win.files.save()                              # no path yet: asks where (Save As)
    assert out.exists() and not win.isWindowModified() and "atlas.seg.nrrd" in win.windowTitle()
    back = io.open_segmentation(out)
    assert back.segments[3].name == "renamed" and np.array_equal(back.layers[0], seg.layers[0])
    assert str(out.resolve()) in win.files.recent()
    seg.undo()
    assert win.isWindowModified()
    seg.redo()
    assert not win.isWindowModified()


def test_save_over_a_read_only_file_asks_for_another_name(demo_window, tmp_path, monkeypatch, dialogs):
    """Ctrl+S on a document whose file is read-only does not replace it (a rename would): Save As opens, proposing
    "<name>-edited.seg.nrrd", and the status line says why. Choosing the read-only file anyway is refused in one
    sentence; the file is unchanged."""
    win = demo_window
    seg = win.segmentation
    path = tmp_path / "atlas.seg.nrrd"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(path), "")))
    assert win.files.save()
    os.chmod(path, 0o444)
    before = path.read_bytes()
    seg.update_segment(seg.segment_ids[3], name="renamed")
    asked = []

    def answer(parent, title, start, filter_):
        asked.append(start)
        return str(path), ""                      # the read-only file itself
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(answer))
    try:
        assert not win.files.save()
        assert asked == [str(tmp_path / "atlas-edited.seg.nrrd")]
        assert "read-only" in win.statusBar().currentMessage() or any("read-only" in t for _, t in dialogs.seen)
        assert [t for k, t in dialogs.seen if k in ("critical", "warning")][-1].count("read-only") == 1
        assert path.read_bytes() == before and win.isWindowModified()
        other = tmp_path / "atlas-edited.seg.nrrd"          # the name proposed: saved, and the document's now
        monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(other), "")))
        assert win.files.save() and io.open_segmentation(other).segments[3].name == "renamed"
        assert win.path == other and not win.isWindowModified() and path.read_bytes() == before
    finally:
        os.chmod(path, 0o644)


def test_close_with_unsaved_changes_asks(demo_window, dialogs):
    win = demo_window
    win.segmentation.update_segment(win.segmentation.segment_ids[0], name="x")
    dialogs.answers["question"] = QMessageBox.Cancel
    assert not win.close() and win.isVisible()
    assert dialogs.seen[-1][0] == "question"
    dialogs.answers["question"] = QMessageBox.Discard
    assert win.close()


def test_settings_persist_display_options_and_recent_files(make_window, tmp_path):
    from app.ui.main_window import Layout

    win = make_window()
    win.display.set_style(outline=False, fill_opacity=0.8)
    win.layout_actions[Layout.ROW].trigger()
    win.files.add_recent(tmp_path / "a.seg.nrrd")
    win.close()
    again = make_window()
    again.settings = win.settings
    again.files.restore_settings()
    assert again.display.style.outline is False and again.display.fill_opacity == pytest.approx(0.8)
    assert again.layout_mode == Layout.ROW and again.layout_actions[Layout.ROW].isChecked()
    assert again.files.recent()[0].endswith("a.seg.nrrd")


def test_drop_opens_a_labelmap_and_a_reference(make_window, tmp_path, demo):
    import nrrd

    seg0, grey = demo
    lab = tmp_path / "labels.nrrd"
    ref = tmp_path / "grey.nrrd"
    hdr = {"space": "left-posterior-superior", "space directions": np.diag(seg0.geometry.spacing),
           "space origin": np.array(seg0.geometry.origin)}
    nrrd.write(str(lab), seg0.layers[0], hdr)
    nrrd.write(str(ref), grey, hdr)
    win = make_window()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(lab)), QUrl.fromLocalFile(str(ref))])
    ev = QDropEvent(QPointF(10, 10), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    win.dropEvent(ev)
    assert win.segmentation is not None and len(win.segmentation) == len(seg0)
    assert win.reference is not None and win.reference.array.shape == grey.shape
    assert win.display.ref is not None and win.display.ref.same_lattice


def test_a_dropped_folder_of_masks_is_imported(make_window, tmp_path, demo, dialogs):
    """TotalSegmentator writes one .nii.gz per structure in a folder. Dropped on the window, such a folder was taken
    for a DICOM folder ("holds no DICOM files"); it is imported, one segment per file, empty masks included. A
    folder with DICOM files in it stays DICOM's."""
    from app.io import nifti

    seg0, _ = demo
    folder = tmp_path / "segmentations"
    folder.mkdir()
    for name, lab in (("liver", 3), ("spleen", 4), ("adrenal_gland_left", 999)):       # 999: an empty mask
        nifti.write(folder / f"{name}.nii.gz", (seg0.layers[0] == lab).astype(np.uint8), seg0.geometry)
    win = make_window()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder))])
    win.dropEvent(QDropEvent(QPointF(10, 10), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier))
    seg = win.segmentation
    assert seg is not None and [s.name for s in seg.segments] == ["adrenal_gland_left", "liver", "spleen"]
    assert [seg.voxel_count(s.id) for s in seg.segments] == [0, int((seg0.layers[0] == 3).sum()),
                                                              int((seg0.layers[0] == 4).sum())]
    assert win.is_modified() and not [t for k, t in dialogs.seen if k in ("critical", "warning")]
    assert io.is_mask_folder(folder) and not io.is_mask_folder(tmp_path / "nothing")
    (folder / "IM0001").write_bytes(b"\0" * 128 + b"DICM" + b"\0" * 64)            # a DICOM file among them
    assert not io.is_mask_folder(folder)


def test_export_masks_and_import_the_folder_through_the_menu(demo_window, tmp_path, monkeypatch, dialogs):
    """File > Export masks writes one file per segment into the folder chosen; File > Import mask folder reads
    that folder back: the same names and voxels."""
    win = demo_window
    seg = win.segmentation
    folder = tmp_path / "out"
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(folder)))
    texts = [a.text() for a in win.menu("File").actions()]
    assert "Export masks (one file per segment)..." in texts and "Import mask folder..." in texts
    win.files.ask_export_masks()
    assert len(list(folder.glob("*.nii.gz"))) == len(seg) and "Exported" in win.statusBar().currentMessage()
    counts = {s.name: seg.voxel_count(s.id) for s in seg.segments}
    monkeypatch.setattr(win.files, "maybe_save", lambda: True)           # (the demo atlas is unsaved)
    win.files.ask_import_mask_folder()
    back = win.segmentation
    assert back is not seg and {s.name: back.voxel_count(s.id) for s in back.segments} == counts


def test_a_bad_file_is_one_sentence_and_nothing_changes(demo_window, tmp_path, dialogs):
    bad = tmp_path / "broken.seg.nrrd"
    bad.write_bytes(b"NRRD0004\nthis is not a header\n")
    seg = demo_window.segmentation
    assert not demo_window.files.open_segmentation(bad)
    kind, text = dialogs.seen[-1]
    assert kind == "critical" and "\n" not in text.strip() and "Traceback" not in text
    assert demo_window.segmentation is seg


def test_run_long_keeps_the_event_loop_alive_and_reraises(make_window, qtbot):
    win = make_window()
    ticks = []
    from PySide6.QtCore import QTimer

    ticked = threading.Event()
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1) or (len(ticks) >= 5 and ticked.set()))
    timer.start(10)

    def slow(progress):
        assert threading.current_thread() is not threading.main_thread()
        progress(0.5)
        # the worker finishes only once the GUI thread has run its timer 5 times meanwhile (no fixed sleep)
        assert ticked.wait(30), "the event loop did not run while the worker worked"
        return "done"

    assert win.run_long(slow, "Working...") == "done"
    timer.stop()
    assert len(ticks) >= 5

    def fails(progress):
        raise io.FileFormatError("the file is broken.")

    with pytest.raises(io.FileFormatError, match="broken"):
        win.run_long(fails, "Failing...")


def test_cancelled_progress_raises_in_the_worker(make_window):
    from app.ui.long_task import _Job

    job = _Job(lambda progress: progress(0.1))
    job.cancelled = True
    job.run()
    assert isinstance(job.error, Cancelled)


def test_close_document(demo_window):
    demo_window.files.close_document()
    assert demo_window.segmentation is None and demo_window.reference is None
    assert demo_window.slice_views[0].frame is None and demo_window.windowTitle() == "segedit"
    assert demo_window.slice_views[0].canvas._empty.isVisibleTo(demo_window.slice_views[0].canvas)


def test_import_masks_and_export_labelmap_through_the_menu(make_window, tmp_path, monkeypatch, demo, dialogs):
    import nrrd

    seg0, _ = demo
    hdr = {"space": "left-posterior-superior", "space directions": np.diag(seg0.geometry.spacing),
           "space origin": np.array(seg0.geometry.origin)}
    paths = []
    for name, lab in (("liver", 3), ("spleen", 4)):
        p = tmp_path / f"{name}.nrrd"
        nrrd.write(str(p), (seg0.layers[0] == lab).astype(np.uint8), hdr)
        paths.append(str(p))
    win = make_window()
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", staticmethod(lambda *a, **k: (paths, "")))
    win.files.ask_import_masks()
    seg = win.segmentation
    assert [s.name for s in seg.segments] == ["liver", "spleen"] and win.is_modified()
    assert seg.voxel_count(seg.segment_ids[0]) == int((seg0.layers[0] == 3).sum())
    out = tmp_path / "export.nrrd"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(out), "")))
    win.files.ask_export_labelmap()
    assert out.exists() and "Exported" in win.statusBar().currentMessage()
    data, _ = nrrd.read(str(out))
    assert set(np.unique(data)) == {0, seg.segments[0].label, seg.segments[1].label}


def test_force_single_layer_warns_when_segments_overlap(demo_window, dialogs):
    from app.model.edits import EditMode, EditPolicy, Overwrite, apply_mask

    seg = demo_window.segmentation
    a = seg.segment_ids[5]
    extra = seg.add_segment("overlap", new_layer=True)
    box = seg.bounding_box(a)
    apply_mask(seg, extra.id, seg.mask(a, box), box, EditMode.ADD, EditPolicy(overwrite=Overwrite.NONE))
    settle()
    panel = demo_window.layers_panel
    assert panel.layers_label.text() == "2" and seg.overlapping()
    panel.force_box.setChecked(True)
    dialogs.answers["warning"] = QMessageBox.Cancel
    panel.collapse_button.click()
    assert dialogs.seen[-1][0] == "warning" and seg.n_layers == 2
    dialogs.answers["warning"] = QMessageBox.Ok
    panel.collapse_button.click()
    settle()
    assert seg.n_layers == 1 and panel.layers_label.text() == "1"
    assert seg.voxel_count(a) == 0                      # the later segment in the list won the overlap
    assert "Collapsed 2 layers into 1" in demo_window.statusBar().currentMessage()


def test_a_tolerant_read_is_told_to_the_user_once(make_window, tmp_path, dialogs):
    """Readers warn (io.FileFormatWarning) when they skip or repair something; the window says so."""
    import nrrd

    labels = np.zeros((6, 5, 4), np.uint8)
    labels[1:3, 1:3, 1:3] = 1
    labels[3:5, 1:3, 1:3] = 2
    nrrd.write(str(tmp_path / "lab.nrrd"), labels)
    (tmp_path / "lab.label").write_text('1 255 0 0 1 1 1 "one"\nthis line is junk\n2 0 255 0 1 1 1 "two"\n')
    win = make_window()
    assert win.files.open_segmentation(tmp_path / "lab.nrrd", tmp_path / "lab.label")
    assert [s.name for s in win.segmentation.segments] == ["one", "two"]
    warned = [text for kind, text in dialogs.seen if kind == "warning"]
    assert len(warned) == 1 and "lab.nrrd was opened, but" in warned[0] and "line 2" in warned[0]
    assert "warning" in win.statusBar().currentMessage()
