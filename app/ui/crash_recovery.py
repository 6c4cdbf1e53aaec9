"""Autosave and crash recovery in the main window. `install(window)` is called by MainWindow at the end of __init__.

While the open document has unsaved edits, a recovery copy is written every few minutes (File > Autosave
interval..., QSettings key `recovery/interval_minutes`, default 2, 0 = off; the environment variable
SEGEDIT_AUTOSAVE_SECONDS overrides it) into the per-user folder `<AppDataLocation>/recovery` (SEGEDIT_RECOVERY_DIR
overrides it). The brush is never blocked: the GUI thread only copies the layers (a few ms), and never while a
stroke or another operation is open (it retries a moment later); the file is written by a worker thread.
The copy is removed when the document is saved, closed, or back to its saved state.

On start, copies left by an editor that is no longer running are offered: Restore (opens it as an unsaved
document tied to its original file, with its reference volume), Discard, or Later (asked again next time, or
File > Recover unsaved work...).
"""
from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QStandardPaths, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QInputDialog, QMessageBox

from app import io
from app.io import recovery_copies as store

from .long_task import Cancelled

log = logging.getLogger(__name__)

INTERVAL_KEY = "recovery/interval_minutes"
DEFAULT_INTERVAL_MIN = 2.0
ENV_FOLDER = "SEGEDIT_RECOVERY_DIR"
ENV_SECONDS = "SEGEDIT_AUTOSAVE_SECONDS"
RETRY_MS = 300                 # an operation (stroke) is open: look again this soon
_tokens = itertools.count(1)


def install(window) -> "Recovery":
    window.recovery = Recovery(window)
    return window.recovery


def recovery_folder() -> Path:
    env = os.environ.get(ENV_FOLDER)
    if env:
        return Path(env)
    base = QStandardPaths.writableLocation(QStandardPaths.AppDataLocation) or str(Path.home() / ".segedit")
    return Path(base) / "recovery"


class Recovery(QObject):
    """Autosave timer, background writer and the restore prompt of one window."""

    written = Signal(object)         # (RecoveryCopy | Exception): a background write finished (GUI thread)

    def __init__(self, window) -> None:
        super().__init__(window)
        self.w = window
        self.folder = recovery_folder()
        self.token = f"{os.getpid()}-{next(_tokens)}"
        self.copy: store.RecoveryCopy | None = None    # our copy on disk, if any
        self._written_key = None        # the document state the copy on disk holds
        self._worker: threading.Thread | None = None
        self._shadow: store.Shadow | None = None     # the document's layers as last copied for autosave
        self._discard_when_done = False
        self._closing = False
        self._closed = False            # the window closed normally: no copy may appear after that
        self._warned = False
        self.prompt: QMessageBox | None = None          # the open "restore?" box (tests click it)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.autosave)
        self.written.connect(self._on_written)
        window.segmentation_changed.connect(self._on_document)
        window.installEventFilter(self)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self._on_quit)
        self._build_menu()
        self.set_interval(self.interval_seconds(), remember=False)
        QTimer.singleShot(0, self.offer_recovery)

    # ---------------------------------------------------------------- settings and menu
    def interval_seconds(self) -> float:
        env = os.environ.get(ENV_SECONDS)
        if env:
            try:
                return max(0.0, float(env))
            except ValueError:
                log.warning("%s=%r is not a number of seconds", ENV_SECONDS, env)
        try:
            return 60.0 * max(0.0, float(self.w.settings.value(INTERVAL_KEY, DEFAULT_INTERVAL_MIN)))
        except (TypeError, ValueError):
            return 60.0 * DEFAULT_INTERVAL_MIN

    def set_interval(self, seconds: float, remember: bool = True) -> None:
        """Autosave every `seconds` (0 turns autosave off); `remember` stores it in the settings (minutes)."""
        seconds = max(0.0, float(seconds))
        if remember:
            self.w.settings.setValue(INTERVAL_KEY, round(seconds / 60.0, 3))
        self.timer.stop()
        if seconds > 0:
            self.timer.start(max(100, int(seconds * 1000)))

    def _build_menu(self) -> None:
        m = self.w.menu("File")
        quit_action = getattr(getattr(self.w, "files", None), "actions", {}).get("Quit")
        items = [("Autosave interval...", self.ask_interval,
                  "How often a recovery copy of unsaved work is written (0 = never)"),
                 ("Recover unsaved work...", lambda: self.offer_recovery(explicit=True),
                  "Restore work left unsaved by an editor that stopped unexpectedly")]
        self.actions = {}
        for text, slot, tip in items:
            a = QAction(text, self.w)
            a.setStatusTip(tip)
            a.triggered.connect(slot)
            if quit_action is not None:
                m.insertAction(quit_action, a)
            else:
                m.addAction(a)
            self.actions[text] = a
        if quit_action is not None:
            m.insertSeparator(quit_action)

    def ask_interval(self) -> None:
        minutes, ok = QInputDialog.getDouble(self.w, "Autosave", "Write a recovery copy of unsaved work every "
                                             "(minutes, 0 = never):", self.interval_seconds() / 60.0, 0.0, 120.0, 1)
        if ok:
            self.set_interval(minutes * 60.0)
            self.w.status_message("Autosave off" if minutes == 0 else f"Autosave every {minutes:g} min")

    # ---------------------------------------------------------------- autosave
    def _state_key(self):
        seg = self.w.segmentation
        h = seg.history
        return id(seg), id(h.undo_stack[-1]) if h.undo_stack else None, len(h.undo_stack), len(h.redo_stack)

    @property
    def busy(self) -> bool:
        return self._worker is not None and self._worker.is_alive()

    def autosave(self) -> bool:
        """Start a background write if there is unsaved work not yet copied. True when a write was started."""
        seg = self.w.segmentation
        if self._closed:
            return False
        if seg is not None and seg.history.recording:   # a stroke is open: its voxels are half-written; wait
            QTimer.singleShot(RETRY_MS, self.autosave)
            return False
        if seg is None or not self.w.is_modified():
            self.discard()
            return False
        if self.busy or self._state_key() == self._written_key:
            return False
        key = self._state_key()
        if self._shadow is None or self._shadow.seg is not seg:
            self._drop_shadow()
            self._shadow = store.Shadow(seg)
        snap = self._shadow.snapshot()              # O(what changed since the last copy); the worker is idle
        meta = dict(name=self._name(), original=self.w.path,
                    reference=getattr(self.w.reference, "path", None), saved_at=time.time())
        self._discard_when_done = False
        self._worker = threading.Thread(target=self._write, args=(snap, meta, key), daemon=True,
                                        name="segedit: recovery copy")
        self._worker.start()
        return True

    def _name(self) -> str:
        return self.w.path.name if self.w.path is not None else "untitled segmentation"

    def _write(self, snap, meta, key) -> None:          # worker thread
        try:
            result = store.write_copy(self.folder, self.token, snap, **meta)
            result.extra["key"] = key
        except Exception as exc:                         # reported on the GUI thread, never raised there
            result = exc
        self.written.emit(result)

    def _on_written(self, result) -> None:
        self._worker = None
        if isinstance(result, Exception):
            if not self._warned:                          # once per session, in the status bar: not a dialog
                self.w.status_message(f"Autosave failed: {result}")
                self._warned = True
            log.warning("recovery copy failed: %s", result)
            return
        self.copy = result
        self._written_key = result.extra.get("key")
        if self._discard_when_done or self.w.segmentation is None or not self.w.is_modified():
            self.discard()

    def wait(self, timeout: float = 30.0) -> None:
        """Block until a background write (if any) finished, and deliver its result."""
        if self._worker is not None:
            self._worker.join(timeout)
        QApplication.processEvents()

    def discard(self) -> None:
        """Remove our copy (its work is saved, closed, or back to the saved state)."""
        if self.busy:
            self._discard_when_done = True
            return
        if self.copy is not None or self._written_key is not None:
            store.remove_copy(self.folder, self.token)
        self.copy = None
        self._written_key = None

    # ---------------------------------------------------------------- document and window life
    def _on_document(self, seg) -> None:
        self.discard()                  # the previous document was saved or discarded by the user
        if self._shadow is not None and self._shadow.seg is not seg and not self.busy:
            self._drop_shadow()         # its memory goes with the document (a busy writer still reads it)

    def _drop_shadow(self) -> None:
        if self._shadow is not None:
            self._shadow.close()
            self._shadow = None

    def eventFilter(self, obj, ev) -> bool:
        if obj is self.w:
            t = ev.type()
            if t == QEvent.ModifiedChange and not self.w.isWindowModified():
                self.discard()
            elif t == QEvent.Close:
                self._closing = True
                QTimer.singleShot(0, self._not_closing)
            elif t == QEvent.Hide and self._closing and not ev.spontaneous():
                self._shutdown()
        return False

    def _not_closing(self) -> None:
        self._closing = False

    def _on_quit(self) -> None:
        if not self.w.isVisible():
            self._shutdown()

    def _shutdown(self) -> None:
        """The window closed normally (the user saved or chose to discard): no copy must survive it."""
        self._closed = True
        self.timer.stop()
        if self._worker is not None:
            self._worker.join(30.0)
            self._worker = None
        self._discard_when_done = False
        store.remove_copy(self.folder, self.token)
        self.copy = None
        self._written_key = None

    # ---------------------------------------------------------------- restore
    def offer_recovery(self, explicit: bool = False) -> None:
        """Ask about the newest orphan copy (one box at a time; the next ones follow)."""
        if self.prompt is not None:
            return
        try:
            found = store.orphans(self.folder)
        except OSError as exc:
            log.warning("cannot look for recovery copies in %s: %s", self.folder, exc)
            found = []
        if not found:
            if explicit:
                QMessageBox.information(self.w, "segedit", "There is no unsaved work to recover.")
            return
        self._ask(found[0])

    def _ask(self, copy: store.RecoveryCopy) -> None:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(copy.saved_at))
        what = copy.name or "an untitled segmentation"
        box = QMessageBox(QMessageBox.Question, "Recover unsaved work",
                          f"segedit stopped before {what} was saved. A recovery copy from {when} exists "
                          f"({copy.segments} segments).", parent=self.w)
        box.setInformativeText("Restore opens it as an unsaved document; Later asks again next time.")
        self.restore_button = box.addButton("Restore", QMessageBox.AcceptRole)
        self.discard_button = box.addButton("Discard", QMessageBox.DestructiveRole)
        self.later_button = box.addButton("Later", QMessageBox.RejectRole)
        box.setDefaultButton(self.restore_button)
        box.finished.connect(lambda _=0, b=box, c=copy: self._answered(b, c))
        self.prompt = box
        box.open()

    def _answered(self, box: QMessageBox, copy: store.RecoveryCopy) -> None:
        clicked = box.clickedButton()
        self.prompt = None
        box.deleteLater()
        if clicked is self.restore_button:
            self.restore(copy)
        elif clicked is self.discard_button:
            store.discard(copy)
        else:
            return                         # Later (or Esc): keep every copy for next time
        QTimer.singleShot(0, self.offer_recovery)

    def restore(self, copy: store.RecoveryCopy) -> bool:
        """Open a recovery copy as an unsaved document tied to its original path; it becomes our copy."""
        if not self.w.files.maybe_save():
            return False
        try:
            seg = self.w.run_long(lambda p: store.read_copy(copy, progress=p), "Restoring unsaved work...")
        except (io.FileFormatError, OSError, Cancelled) as exc:
            self._report(f"The recovery copy cannot be read: {exc}")
            return False
        reference = self._reference(copy, seg)
        original = Path(copy.original) if copy.original else None
        self.w.set_document(seg, reference, path=original, unsaved=True)
        try:
            self.copy = store.adopt(copy, self.token)
            self._written_key = self._state_key()
        except OSError as exc:
            log.warning("could not take over the recovery copy: %s", exc)
        when = time.strftime("%H:%M", time.localtime(copy.saved_at))
        self.w.status_message(f"Restored unsaved work from {when}: save it to keep it")
        return True

    def _report(self, message: str) -> None:
        self.w.status_message(message)
        if self.w.isVisible():
            QMessageBox.critical(self.w, "segedit", message)

    def _reference(self, copy, seg):
        """The reference volume the copy was drawn on, when it still exists and fits; else the current one."""
        if copy.reference and Path(copy.reference).is_file():
            try:
                vol = self.w.run_long(lambda p: io.read_volume(copy.reference, progress=p), "Reading reference...")
                if vol.array.shape == seg.geometry.shape:
                    return vol
            except (io.FileFormatError, OSError, Cancelled):
                pass
        ref = self.w.reference
        return ref if ref is not None and ref.array.shape == seg.geometry.shape else None
