"""Run slow work (file reading/writing, whole-atlas operations) off the GUI thread behind a progress dialog.

`run_long(parent, fn, label)` calls `fn(progress)` in a worker thread while a local event loop keeps the window
painting; `progress(fraction_or_None)` may be called from the worker at any rate (the dialog polls it), and raises
`Cancelled` once the user pressed Cancel. The result is returned, or the worker's exception re-raised, on the GUI
thread. The dialog appears only when the work lasts more than a moment.
"""
from __future__ import annotations

import threading

from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtWidgets import QProgressDialog

SHOW_AFTER_MS = 400
POLL_MS = 30


class Cancelled(Exception):
    """The user cancelled a long operation."""


class _Job:
    def __init__(self, fn) -> None:
        self.fn = fn
        self.fraction = None
        self.cancelled = False
        self.result = None
        self.error: BaseException | None = None
        self.done = threading.Event()

    def progress(self, fraction=None) -> None:
        if self.cancelled:
            raise Cancelled("cancelled")
        self.fraction = fraction

    def run(self) -> None:
        try:
            self.result = self.fn(self.progress)
        except BaseException as exc:      # re-raised on the GUI thread
            self.error = exc
        finally:
            self.done.set()


def run_long(parent, fn, label: str, cancellable: bool = True):
    job = _Job(fn)
    worker = threading.Thread(target=job.run, name=f"segedit: {label}", daemon=True)
    worker.start()
    if job.done.wait(0.05):           # quick work: no dialog, no nested event loop
        return _finish(job)
    dialog = QProgressDialog(label, "Cancel" if cancellable else None, 0, 1000, parent)
    dialog.setWindowTitle("segedit")
    dialog.setWindowModality(Qt.WindowModal)
    dialog.setMinimumDuration(SHOW_AFTER_MS)
    dialog.setAutoClose(False)
    dialog.setAutoReset(False)
    dialog.setValue(0)
    dialog.canceled.connect(lambda: setattr(job, "cancelled", True))
    loop = QEventLoop()
    timer = QTimer()
    timer.setInterval(POLL_MS)

    def poll() -> None:
        if job.done.is_set():
            loop.quit()
            return
        if job.fraction is None:
            dialog.setRange(0, 0)            # busy indicator
        else:
            dialog.setRange(0, 1000)
            dialog.setValue(int(1000 * min(1.0, max(0.0, job.fraction))))

    timer.timeout.connect(poll)
    timer.start()
    if not job.done.is_set():
        loop.exec()
    timer.stop()
    dialog.close()
    dialog.deleteLater()
    worker.join()
    return _finish(job)


def _finish(job: _Job):
    if job.error is not None:
        raise job.error
    return job.result
