"""DICOM in the real window: drop a folder (choose among its series), New segmentation on it, paint, export a DICOM
SEG through the File menu, drop the SEG and get the segmentation over its images; refusals as one sentence."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QFileDialog, QInputDialog

from app import io
from app.model.edits import EditMode, EditPolicy, apply_mask
from app.model.geometry import Geometry
from tests.io.dicom_maker import write_ct_series
from tests.io.test_dicom import GEOMETRY, ct_values

hd = pytest.importorskip("highdicom")


def drop(win, *paths):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    win.dropEvent(QDropEvent(QPointF(10, 10), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier))


def test_dicom_folder_choose_series_paint_export_and_reopen(make_window, tmp_path, monkeypatch, dialogs):
    real = ct_values()
    write_ct_series(tmp_path / "study" / "a", real, GEOMETRY, 2, -1024, description="CT soft")
    small = Geometry((40, 36, 6), GEOMETRY.spacing, GEOMETRY.origin, GEOMETRY.directions)
    b = write_ct_series(tmp_path / "study" / "b", ct_values(small), small, 2, -1024, description="CT bone")
    offered = []

    def pick(parent, title, label, items, current, editable):
        offered.extend(items)
        return next(i for i in items if "CT bone" in i), True

    monkeypatch.setattr(QInputDialog, "getItem", staticmethod(pick))
    win = make_window()
    drop(win, tmp_path / "study")
    assert len(offered) == 2 and any("CT soft" in i for i in offered)
    assert win.reference is not None and win.reference.array.shape == (40, 36, 6)
    assert win.reference.source.series_uid == b["series"]
    win.files.new_segmentation()
    seg = win.segmentation
    sid = seg.add_segment("lesion").id
    apply_mask(seg, sid, np.ones((5, 4, 3), bool), (slice(10, 15), slice(8, 12), slice(1, 4)), EditMode.ADD,
               EditPolicy())
    out = tmp_path / "study" / "lesion.dcm"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(out), "")))
    win.files.actions["Export DICOM SEG..."].trigger()
    assert out.exists(), dialogs.seen
    dcm = hd.seg.segread(out)
    assert dcm.ReferencedSeriesSequence[0].SeriesInstanceUID == b["series"]
    assert dcm.get_segment_description(1).segment_label == "lesion"
    # a new window: dropping the SEG opens it over its own images, found beside it
    other = make_window()
    drop(other, out)
    assert other.segmentation is not None and [s.name for s in other.segmentation.segments] == ["lesion"]
    assert other.reference is not None and other.reference.source.series_uid == b["series"]
    assert np.array_equal(other.segmentation.layers[0] != 0, seg.layers[0] != 0)
    assert np.array_equal(other.reference.array, io.read_volume(tmp_path / "study" / "b").array)


def test_export_without_a_dicom_reference_says_why(demo_window, dialogs, monkeypatch, tmp_path):
    called = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: called.append(1) or ("", "")))
    demo_window.files.actions["Export DICOM SEG..."].trigger()
    kind, text = dialogs.seen[-1]
    assert kind == "critical" and "open the DICOM series" in text and "\n" not in text
    assert not called                         # no file dialog for something that cannot be written


def test_a_folder_without_images_is_one_sentence(make_window, tmp_path, dialogs):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("nothing here")
    win = make_window()
    drop(win, tmp_path / "empty")
    kind, text = dialogs.seen[-1]
    assert kind == "critical" and "no DICOM images" in text and win.reference is None
