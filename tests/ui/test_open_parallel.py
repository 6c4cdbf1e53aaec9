"""A labelmap and its CT opened together (command line, drop) are read at once, each on its own thread; each
file's error is one sentence of its own, a Cancel in the progress dialog stops both reads and changes nothing, and
the command line starts the reads before it builds the window."""
from __future__ import annotations

import threading

import nibabel as nib
import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QProgressDialog, QPushButton

from app import io
from app.model import label_values

AFFINE = np.diag([-0.8, -0.8, 1.5, 1.0])


def _pair(tmp_path):
    rng = np.random.default_rng(5)
    labels = np.zeros((48, 40, 30), np.uint8)
    labels[4:20, 5:30, 3:25] = 3
    labels[24:44, 8:36, 6:28] = 9
    ct = rng.integers(-1000, 1200, labels.shape).astype(np.int16)
    nib.save(nib.Nifti1Image(labels, AFFINE), tmp_path / "labels.nii.gz")
    nib.save(nib.Nifti1Image(ct, AFFINE), tmp_path / "ct.nii.gz")
    return tmp_path / "labels.nii.gz", tmp_path / "ct.nii.gz", labels, ct


def test_labelmap_and_ct_read_at_once_and_shown(make_window, tmp_path, monkeypatch, overlapping_reads):
    lab, ct, labels, grey = _pair(tmp_path)
    readers = overlapping_reads
    counted_on = []
    hist = label_values.histogram
    monkeypatch.setattr(label_values, "histogram", lambda a: counted_on.append(threading.current_thread()) or hist(a))
    win = make_window()
    assert win.files.open_paths([lab], reference=ct)
    assert len(set(readers)) == 2 and threading.main_thread() not in readers
    seg = win.segmentation
    assert [s.label for s in seg.segments] == [3, 9]
    assert np.array_equal(seg.layers[0], labels) and np.array_equal(win.reference.array, grey)
    assert win.display.ref is not None
    for s in seg.segments:                                         # the table's volumes: no second count
        assert seg.voxel_count(s.id) == np.count_nonzero(labels == s.label)
    assert threading.main_thread() not in counted_on


def test_a_broken_reference_is_one_sentence_and_the_labelmap_opens(make_window, tmp_path, dialogs):
    lab, ct, labels, _ = _pair(tmp_path)
    broken = tmp_path / "broken.nii.gz"
    broken.write_bytes(ct.read_bytes()[:3000])
    win = make_window()
    assert not win.files.open_paths([lab], reference=broken)
    critical = [t for k, t in dialogs.seen if k == "critical"]
    assert len(critical) == 1 and "broken.nii.gz" in critical[0] and "\n" not in critical[0].strip()
    assert "Traceback" not in critical[0]
    assert np.array_equal(win.segmentation.layers[0], labels) and win.reference is None


def test_a_broken_labelmap_leaves_the_open_document_untouched(demo_window, tmp_path, dialogs):
    lab, ct, _, _ = _pair(tmp_path)
    broken = tmp_path / "broken.nii.gz"
    broken.write_bytes(lab.read_bytes()[:200])
    seg, before = demo_window.segmentation, demo_window.segmentation.layers[0].copy()
    assert not demo_window.files.open_paths([broken], reference=ct)
    critical = [t for k, t in dialogs.seen if k == "critical"]
    assert critical and "broken.nii.gz" in critical[0] and "\n" not in critical[0].strip()
    assert demo_window.segmentation is seg and np.array_equal(seg.layers[0], before)


def test_cancel_in_the_dialog_stops_both_reads_and_changes_nothing(demo_window, tmp_path, monkeypatch, dialogs):
    lab, ct, _, _ = _pair(tmp_path)
    started = threading.Barrier(3, timeout=20)

    def endless(path, progress=None):            # reads that only a stop ends
        started.wait()
        n = 0
        while True:
            n += 1
            progress(min(0.9, n / 5000))       # moving, as a decode's would (the dialog shows on a new value)
            threading.Event().wait(0.002)

    monkeypatch.setattr(io, "read_volume", endless)
    seg, ref = demo_window.segmentation, demo_window.reference
    pressed = []

    def press_cancel():
        for w in QApplication.topLevelWidgets():
            if isinstance(w, QProgressDialog) and w.isVisible() and not pressed:
                pressed.append(w.labelText())
                w.findChild(QPushButton).click()          # the dialog's Cancel button, as the user presses it

    timer = QTimer()
    timer.timeout.connect(press_cancel)
    timer.start(20)
    threading.Thread(target=started.wait, daemon=True).start()    # the third party: both reads running
    try:
        assert not demo_window.files.open_paths([lab], reference=ct)
    finally:
        timer.stop()
    assert pressed and "labels.nii.gz" in pressed[0] and "ct.nii.gz" in pressed[0]
    assert ("critical", "Cancelled.") in dialogs.seen
    assert demo_window.segmentation is seg and demo_window.reference is ref
    assert not [t for t in threading.enumerate() if t.name.startswith("segedit: read")]


def test_the_command_line_starts_the_reads_before_the_window(tmp_path, monkeypatch):
    from app.ui import launch

    lab, ct, labels, grey = _pair(tmp_path)
    args = launch.parse_args([str(lab), "--reference", str(ct)])
    reads = launch._start_reads(args)
    assert [role for role, _ in reads.roles] == ["image", "reference"]
    image, reference = reads.wait()
    assert np.array_equal(image.volume.array, labels) and np.array_equal(reference.volume.array, grey)
    assert image.labelmap_like is True and reference.labelmap_like is None
    assert launch._start_reads(launch.parse_args(["--demo"])) is None


def test_the_labelmap_is_opened_while_the_ct_still_reads(make_window, tmp_path, monkeypatch):
    """The segmentation is made (its labels counted) as soon as its file is read, not after the CT: the CT's read
    here finishes only once the window shows the segmentation (waiting for both first would time out)."""
    lab, ct, labels, grey = _pair(tmp_path)
    real = io.read_volume
    win = make_window()
    shown = threading.Event()
    win.segmentation_changed.connect(lambda seg: seg is not None and shown.set())

    def read_volume(path, progress=None):
        if path.name == "ct.nii.gz":
            assert shown.wait(20), "the segmentation was not shown before the CT was read"
        return real(path, progress)

    monkeypatch.setattr(io, "read_volume", read_volume)
    assert win.files.open_paths([lab], reference=ct)
    assert np.array_equal(win.segmentation.layers[0], labels) and np.array_equal(win.reference.array, grey)
