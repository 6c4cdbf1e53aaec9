"""Safe saving, from the user's side: each injected failure (disk full while writing, at fsync or at the rename;
permission denied; the folder removed after choosing the path) leaves the old file byte for byte, no stray temp
file, one sentence in one message box (no traceback), and the edits in memory with the window still modified.
The same failures on the command line: one line on stderr, exit code 2."""
from __future__ import annotations

import errno
import os
import shutil

import numpy as np
import pytest
from PySide6.QtWidgets import QFileDialog, QMessageBox

from app import cli, io
from app.io import atomic, nrrd_write
from app.model import brush
from app.model.edits import EditMode, apply_mask
from tests.faults import FullDisk
from tests.ui.helpers import copy_segmentation


def _raise(code):
    def boom(*args, **kwargs):
        raise OSError(code, os.strerror(code))
    return boom


def inject(monkeypatch, failure):
    if failure == "disk full while writing":
        real = os.fdopen
        monkeypatch.setattr(atomic.os, "fdopen", lambda fd, mode: FullDisk(real(fd, mode), 4096))
    elif failure == "disk full at fsync":
        monkeypatch.setattr(atomic.os, "fsync", _raise(errno.ENOSPC))
    elif failure == "rename fails":
        monkeypatch.setattr(atomic.os, "replace", _raise(errno.EIO))
    elif failure == "permission denied":       # root ignores chmod: inject what the kernel would say
        monkeypatch.setattr(atomic.tempfile, "mkstemp", _raise(errno.EACCES))
    elif failure == "payload write fails":
        monkeypatch.setattr(nrrd_write, "write_payload", _raise(errno.ENOSPC))


FAILURES = ["disk full while writing", "disk full at fsync", "rename fails", "permission denied",
            "payload write fails"]
EXPECTED = {"disk full while writing": "disk is full", "disk full at fsync": "disk is full",
            "rename fails": "cannot save", "permission denied": "no permission", "payload write fails": "disk is full"}


@pytest.fixture
def edited(make_window, demo, tmp_path, monkeypatch):
    """A window with a saved file open and one unsaved brush stroke; message boxes are recorded, not shown."""
    path = tmp_path / "work" / "atlas.seg.nrrd"
    path.parent.mkdir()
    io.save_segmentation(copy_segmentation(demo[0]), path)
    win = make_window()
    assert win.files.open_segmentation(path)
    seg = win.segmentation
    sid = seg.add_segment("new work").id
    mask, box = brush.dab_region((30, 30, 28), brush.ball(5.0, seg.geometry.spacing), seg.geometry.shape)
    with seg.operation("Paint"):
        apply_mask(seg, sid, mask, box, EditMode.ADD)
    boxes = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text, *a: boxes.append(text))
    return win, path, path.read_bytes(), sid, boxes


def assert_nothing_lost(win, path, before, sid, boxes, seg):
    assert path.read_bytes() == before                                   # the old file is intact
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # and alone: no temp file left
    assert len(boxes) == 1, boxes                                        # told once...
    text = boxes[0]
    assert "\n" not in text and "Traceback" not in text and text.count(". ") == 0, text   # ...in one sentence
    assert win.segmentation is seg and seg.voxel_count(sid) > 0          # the edits are still in memory
    assert win.is_modified() and win.isWindowModified()


@pytest.mark.parametrize("failure", FAILURES)
def test_save_failure_keeps_the_file_and_the_edits(edited, monkeypatch, failure):
    win, path, before, sid, boxes = edited
    seg = win.segmentation
    inject(monkeypatch, failure)
    assert not win.files.save()
    assert_nothing_lost(win, path, before, sid, boxes, seg)
    assert EXPECTED[failure] in boxes[0] and path.name in boxes[0]
    monkeypatch.undo()                                                   # the disk has room again: save works
    monkeypatch.setattr(QMessageBox, "critical", lambda *a: boxes.append(a))
    assert win.files.save() and not win.is_modified()
    assert np.array_equal(io.open_segmentation(path).mask(sid), seg.mask(sid))


def test_folder_removed_between_choosing_the_path_and_writing(edited, monkeypatch, tmp_path):
    win, path, before, sid, boxes = edited
    seg = win.segmentation
    target = tmp_path / "chosen" / "copy.seg.nrrd"
    target.parent.mkdir()

    def choose_then_remove(*args, **kwargs):
        shutil.rmtree(target.parent)               # e.g. a USB stick pulled while the dialog closed
        return str(target), "Slicer segmentation (*.seg.nrrd)"

    monkeypatch.setattr(QFileDialog, "getSaveFileName", choose_then_remove)
    assert not win.files.save_as()
    assert_nothing_lost(win, path, before, sid, boxes, seg)
    assert "does not exist" in boxes[0] and not target.parent.exists()
    assert win.path == path                         # still tied to its file


@pytest.mark.parametrize("failure", FAILURES)
def test_command_line_save_failure_is_one_line_exit_2(tmp_path, monkeypatch, capsys, failure):
    src = tmp_path / "in.seg.nrrd"
    out = tmp_path / "out.seg.nrrd"
    io.save_segmentation(_small(), src)
    out.write_bytes(b"the previous output")
    inject(monkeypatch, failure)
    assert cli.main(["convert", str(src), str(out), "--compression-level", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("segedit: error: ") and "Traceback" not in err, err
    assert out.read_bytes() == b"the previous output"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.seg.nrrd", "out.seg.nrrd"]


def _small():
    from app.model.geometry import Geometry
    from app.model.segmentation import Segmentation

    seg = Segmentation(Geometry((40, 40, 40)))
    sid = seg.add_segment("a").id
    mask = np.ones((30, 30, 30), bool)
    apply_mask(seg, sid, mask, (slice(5, 35),) * 3, EditMode.ADD)
    return seg
