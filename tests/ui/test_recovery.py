"""Autosave and crash recovery in the real window: copies are written off the GUI thread, never from a half-open
stroke, removed after a save / close / undo to the saved state, and offered (Restore / Discard / Later) by the next
editor after the writer died."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from app import io
from app.io import recovery_copies as store
from app.model import brush
from app.model.edits import EditMode, apply_mask
from app.ui import crash_recovery
from tests.ui.helpers import copy_segmentation


@pytest.fixture
def folder(tmp_path, monkeypatch):
    d = tmp_path / "recovery"
    monkeypatch.setenv(crash_recovery.ENV_FOLDER, str(d))
    monkeypatch.delenv(crash_recovery.ENV_SECONDS, raising=False)
    return d


@pytest.fixture
def saved_window(make_window, demo, tmp_path, folder):
    """A window with recovery installed, showing the demo atlas opened from a saved file."""
    path = tmp_path / "atlas.seg.nrrd"
    io.save_segmentation(copy_segmentation(demo[0]), path)
    win = make_window()
    rec = crash_recovery.install(win)
    assert win.files.open_segmentation(path)
    return win, rec, path


def paint(seg, center=(30, 30, 28), radius=4.0, name="Paint", segment_id=None, mode=EditMode.ADD):
    sid = segment_id or seg.segment_ids[5]
    mask, box = brush.dab_region(center, brush.ball(radius, seg.geometry.spacing), seg.geometry.shape)
    with seg.operation(name):
        apply_mask(seg, sid, mask, box, mode)
    return sid


def files_in(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def assert_same_voxels(a, b):
    assert a.segment_ids == b.segment_ids
    for sid in a.segment_ids:
        assert np.array_equal(a.mask(sid), b.mask(sid)), a.segment(sid).name


def test_autosave_writes_a_copy_of_unsaved_work_in_the_background(saved_window, folder):
    win, rec, path = saved_window
    assert not rec.autosave() and files_in(folder) == []          # nothing unsaved: nothing written
    paint(win.segmentation)
    assert win.is_modified()
    assert rec.autosave()
    assert rec._worker.name == "segedit: recovery copy"            # the file is written by a worker thread
    rec.wait()
    assert files_in(folder) == [f"segedit-{rec.token}.json", f"segedit-{rec.token}.seg.nrrd"]
    manifest = json.loads((folder / f"segedit-{rec.token}.json").read_text())
    assert manifest["original"] == str(path.resolve()) and manifest["pid"] == os.getpid()
    assert manifest["name"] == "atlas.seg.nrrd" and manifest["segments"] == len(win.segmentation)
    assert_same_voxels(io.open_segmentation(rec.copy.data_path), win.segmentation)
    assert not rec.autosave()                                       # unchanged since the copy: no rewrite
    assert oct(folder.stat().st_mode & 0o777) == oct(0o700)         # patient data: private folder


def test_the_copy_is_the_state_at_snapshot_time_not_later_edits(saved_window, folder):
    win, rec, _ = saved_window
    seg = win.segmentation
    paint(seg)
    expected = copy_segmentation(seg)
    assert rec.autosave()
    paint(seg, segment_id=seg.add_segment("later").id)                # the brush goes on while it writes
    rec.wait()
    assert_same_voxels(io.open_segmentation(rec.copy.data_path), expected)
    assert rec.autosave()                                            # the later edit gets its own copy
    rec.wait()
    assert_same_voxels(io.open_segmentation(rec.copy.data_path), seg)


def test_no_snapshot_in_the_middle_of_a_stroke(saved_window, folder, qtbot):
    win, rec, _ = saved_window
    seg = win.segmentation
    sid = paint(seg)                                                 # unsaved work...
    seg.begin_operation("Paint")                                     # ...and a stroke going on
    for c in ((30, 30, 28), (34, 30, 28)):
        mask, box = brush.dab_region(c, brush.ball(3.0, seg.geometry.spacing), seg.geometry.shape)
        apply_mask(seg, sid, mask, box, EditMode.ADD)
    assert not rec.autosave() and files_in(folder) == []           # half a stroke is never copied
    mask, box = brush.dab_region((38, 30, 28), brush.ball(3.0, seg.geometry.spacing), seg.geometry.shape)
    apply_mask(seg, sid, mask, box, EditMode.ADD)
    seg.end_operation()
    qtbot.waitUntil(lambda: rec.copy is not None, timeout=5000)     # retried by itself once the stroke closed
    assert_same_voxels(io.open_segmentation(rec.copy.data_path), seg)


def test_the_timer_autosaves_at_the_configured_interval(saved_window, folder, qtbot):
    win, rec, _ = saved_window
    assert rec.interval_seconds() == 120 and rec.timer.interval() == 120_000     # the default: 2 minutes
    rec.set_interval(0.2)
    assert win.settings.value(crash_recovery.INTERVAL_KEY) is not None
    paint(win.segmentation)
    qtbot.waitUntil(lambda: rec.copy is not None, timeout=5000)
    rec.set_interval(0)
    assert not rec.timer.isActive()
    assert {"Autosave interval...", "Recover unsaved work..."} <= {a.text() for a in win.menu("File").actions()}


def test_interval_from_settings_and_environment(make_window, folder, monkeypatch):
    win = make_window()
    win.settings.setValue(crash_recovery.INTERVAL_KEY, 5)
    assert crash_recovery.install(win).interval_seconds() == 300
    monkeypatch.setenv(crash_recovery.ENV_SECONDS, "1.5")
    assert win.recovery.interval_seconds() == 1.5


def test_saving_removes_the_copy(saved_window, folder, qtbot):
    win, rec, path = saved_window
    paint(win.segmentation)
    rec.autosave()
    rec.wait()
    assert files_in(folder)
    assert win.files.save()
    qtbot.waitUntil(lambda: files_in(folder) == [], timeout=3000)


def test_undo_back_to_the_saved_state_removes_the_copy(saved_window, folder, qtbot):
    win, rec, _ = saved_window
    paint(win.segmentation)
    rec.autosave()
    rec.wait()
    win.segmentation.undo()
    assert not win.is_modified()
    qtbot.waitUntil(lambda: files_in(folder) == [], timeout=3000)


def test_closing_the_window_removes_the_copy_and_a_refused_close_keeps_it(saved_window, folder, monkeypatch):
    win, rec, _ = saved_window
    paint(win.segmentation)
    rec.autosave()
    rec.wait()
    monkeypatch.setattr(win.files, "maybe_save", lambda: False)      # "Cancel" in the save-changes box
    win.close()
    assert win.isVisible() and files_in(folder)
    monkeypatch.setattr(win.files, "maybe_save", lambda: True)       # "Discard"
    win.close()
    assert not win.isVisible() and files_in(folder) == []


def test_autosave_failure_is_one_status_line_and_the_work_stays(saved_window, folder, monkeypatch):
    win, rec, _ = saved_window
    folder.parent.mkdir(exist_ok=True)
    folder.write_text("a file where the folder should be")
    paint(win.segmentation)
    assert rec.autosave()
    rec.wait()
    assert rec.copy is None and win.is_modified()
    assert win.statusBar().currentMessage().startswith("Autosave failed")


# ------------------------------------------------------------------------------------------------ restoring
def orphan(folder, seg, original=None, name="atlas.seg.nrrd"):
    """A copy whose writer is gone: written now, then its manifest claims a process that has exited."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    c = store.write_copy(folder, f"{dead.stdout.strip()}-1", seg, name=name, original=original,
                         saved_at=1_700_000_000.0)
    d = json.loads(c.manifest_path.read_text())
    d["pid"] = int(dead.stdout)
    c.manifest_path.write_text(json.dumps(d))
    return c


def test_orphans_are_copies_of_dead_or_reused_pids(tmp_path, demo):
    seg = copy_segmentation(demo[0])
    mine = store.write_copy(tmp_path, "mine", seg)
    assert store.orphans(tmp_path) == []                            # we are alive
    reused = json.loads(mine.manifest_path.read_text())
    reused["started"] -= 3600                                       # our pid, but another process's start time
    mine.manifest_path.write_text(json.dumps(reused))
    assert [c.token for c in store.orphans(tmp_path)] == ["mine"]
    dead = orphan(tmp_path / "other", seg)
    assert [c.token for c in store.orphans(tmp_path / "other")] == [dead.token]
    (tmp_path / "other" / "segedit-junk.json").write_text("{not json")   # unreadable manifests are ignored
    assert len(store.orphans(tmp_path / "other")) == 1


def test_restore_opens_the_copy_as_unsaved_work_tied_to_its_file(make_window, demo, folder, tmp_path, qtbot):
    seg = copy_segmentation(demo[0])
    paint(seg)
    original = tmp_path / "atlas.seg.nrrd"
    c = orphan(folder, seg, original=original)
    win = make_window()
    rec = crash_recovery.install(win)
    qtbot.waitUntil(lambda: rec.prompt is not None, timeout=3000)
    text = rec.prompt.text()
    assert "atlas.seg.nrrd" in text and "2023-11-14" in text       # which work, and the time of the copy
    rec.restore_button.click()
    qtbot.waitUntil(lambda: win.segmentation is not None, timeout=5000)
    assert_same_voxels(win.segmentation, seg)
    assert win.path == original.resolve() and win.is_modified() and win.isWindowModified()
    assert not c.manifest_path.exists()                              # taken over: now our copy, with our pid
    assert [x.token for x in store.copies(folder)] == [rec.token] and store.orphans(folder) == []


def test_discard_and_later(make_window, demo, folder, qtbot):
    seg = copy_segmentation(demo[0])
    c = orphan(folder, seg)
    win = make_window()
    rec = crash_recovery.install(win)
    qtbot.waitUntil(lambda: rec.prompt is not None, timeout=3000)
    rec.later_button.click()
    qtbot.waitUntil(lambda: rec.prompt is None, timeout=3000)
    assert win.segmentation is None and c.data_path.exists()        # Later: kept for next time
    rec.actions["Recover unsaved work..."].trigger()                 # asked again from the File menu
    qtbot.waitUntil(lambda: rec.prompt is not None, timeout=3000)
    rec.discard_button.click()
    qtbot.waitUntil(lambda: not c.data_path.exists(), timeout=3000)
    assert files_in(folder) == [] and win.segmentation is None


# ------------------------------------------------------------------------------------------------ a real crash
CHILD = os.path.join(os.path.dirname(__file__), "recovery_child.py")


def test_killed_editor_loses_nothing_but_the_open_stroke(tmp_path, folder, make_window, qtbot):
    """A real editor process paints, autosaves, starts another stroke, and is SIGKILLed mid-stroke; the next
    editor offers the copy, and restoring it gives exactly the voxels of the finished strokes."""
    env = dict(os.environ, SEGEDIT_RECOVERY_DIR=str(folder), SEGEDIT_AUTOSAVE_SECONDS="0.5",
               QT_QPA_PLATFORM="offscreen", PYTHONPATH=os.getcwd())
    proc = subprocess.Popen([sys.executable, CHILD, str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=os.path.dirname(os.path.dirname(os.path.dirname(CHILD))))
    watchdog = threading.Timer(120, proc.kill)            # a stuck child must not stall the suite
    watchdog.start()
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line.strip())
            if line.startswith("MIDSTROKE"):
                break
        assert lines and lines[-1] == "MIDSTROKE", (lines, proc.stderr.read() if proc.poll() is not None else "")
        proc.kill()                                                  # SIGKILL: no clean-up code runs
        assert proc.wait(10) == -9
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
    assert "AUTOSAVED" in lines
    expected = np.load(tmp_path / "expected.npz", allow_pickle=False)
    win = make_window()
    rec = crash_recovery.install(win)
    qtbot.waitUntil(lambda: rec.prompt is not None, timeout=3000)
    rec.restore_button.click()
    qtbot.waitUntil(lambda: win.segmentation is not None, timeout=10000)
    seg = win.segmentation
    assert list(expected["ids"]) == seg.segment_ids
    for n, sid in enumerate(seg.segment_ids):
        want = expected["layers"][expected["layer_of"][n]] == expected["label_of"][n]
        assert np.array_equal(seg.mask(sid), want), seg.segment(sid).name
    assert seg.voxel_count(seg.segment_ids[-1]) == int(expected["painted"]) > 0


def test_snapshot_is_an_independent_copy_in_the_layers_memory_order(demo):
    seg = copy_segmentation(demo[0])
    seg.extra["Custom"] = "kept"
    snap = store.snapshot(seg)
    assert all(b.flags.f_contiguous == a.flags.f_contiguous for a, b in zip(seg.layers, snap.layers))
    assert all(not np.shares_memory(a, b) for a, b in zip(seg.layers, snap.layers))
    paint(seg, segment_id=seg.add_segment("after").id)
    assert "after" not in [s.name for s in snap.segments] and snap.extra["Custom"] == "kept"
    assert_same_voxels(snap, copy_segmentation(demo[0]))


def test_no_copy_appears_after_a_normal_close(saved_window, folder, qtbot):
    win, rec, _ = saved_window
    seg = win.segmentation
    paint(seg)
    seg.begin_operation("Paint")                    # closed in the middle of a stroke: a retry is pending
    calls, autosave = [], rec.autosave
    rec.autosave = lambda: calls.append(1) or autosave()     # the retry timer calls it through the instance
    assert not rec.autosave()
    win.files.maybe_save = lambda: True
    win.close()
    seg.end_operation()
    qtbot.waitUntil(lambda: len(calls) >= 2, timeout=10 * crash_recovery.RETRY_MS)   # the pending retry has run
    rec.wait()
    assert files_in(folder) == [] and not rec.autosave()
