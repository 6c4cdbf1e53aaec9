"""Several files read at once, each on its own thread, started before anyone waits for them.

Why threads pay here: gzip decoding (ISA-L, zlib) releases the GIL, so a labelmap and its CT decode on both cores
(measured on the 2-core VM: 1.61 s for both files at once vs 2.21 s one after the other), and reads started before
the window is built decode while Qt is imported. `Reads(jobs)` starts at once; `wait(progress)` gathers the results
in order, each one the reader's return value or the exception it raised (each file's error stays its own), and
stops every read when `progress` raises (the user's Cancel). A read stopped that way raises `Stopped`.
"""
from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .errors import collected

POLL_S = 0.03
QUICK_SWITCH_S = 0.0005
_switching_lock = threading.Lock()
_switching = {"reads": 0, "before": None}


def _quick_switching(step: int) -> None:
    """While reads run, a thread waiting for the GIL asks for it after 0.5 ms instead of Python's 5 ms: a decoding
    thread takes the GIL back after every output block, and while the main thread imports Qt and builds the window
    (pure Python, holding the GIL) each of those hundreds of waits would otherwise last a whole interval (a CT decode
    beside a busy main thread took several times its time alone). Restored when the last read ends."""
    with _switching_lock:
        if step > 0 and _switching["reads"] == 0:
            _switching["before"] = sys.getswitchinterval()
            sys.setswitchinterval(min(QUICK_SWITCH_S, _switching["before"]))
        _switching["reads"] += step
        if step < 0 and _switching["reads"] == 0:
            sys.setswitchinterval(_switching["before"])


class Stopped(Exception):
    """The read was stopped before it finished (another read was cancelled)."""


class Reads:
    """`jobs`: (path, read) pairs; `read(path, progress)` runs on its own thread and its return value, with the
    io warnings it gave (`notes`), is the result."""

    def __init__(self, jobs: list[tuple[Path, Callable]]) -> None:
        self.paths = [Path(p) for p, _ in jobs]
        self._fractions = [0.0] * len(jobs)
        self._results: list = [None] * len(jobs)
        self.notes: list[list[str]] = [[] for _ in jobs]
        self._stop = threading.Event()
        self._done = [threading.Event() for _ in jobs]
        self._left = len(jobs)
        self._threads = [threading.Thread(target=self._run, args=(n, read), name=f"segedit: read {Path(p).name}",
                                          daemon=True) for n, (p, read) in enumerate(jobs)]
        if jobs:
            _quick_switching(+1)
        for t in self._threads:
            t.start()

    def _run(self, n: int, read) -> None:
        def progress(fraction=None) -> None:
            if self._stop.is_set():
                raise Stopped("stopped")
            if fraction is not None:
                self._fractions[n] = min(1.0, max(0.0, float(fraction)))

        try:
            with collected() as notes:
                self._results[n] = read(self.paths[n], progress)
            self.notes[n] = notes
        except BaseException as exc:          # handed to whoever waits, with the file it belongs to
            self._results[n] = exc
        finally:
            self._fractions[n] = 1.0
            with _switching_lock:
                self._left -= 1
                last = self._left == 0
            if last:
                _quick_switching(-1)
            self._done[n].set()

    def done(self) -> bool:
        return all(d.is_set() for d in self._done)

    def fraction(self) -> float:
        return sum(self._fractions) / max(1, len(self._fractions))

    def wait_for(self, n: int, progress=None):
        """Read `n`'s result (a value or an exception), the others reading on. `progress(fraction of all)` is
        called every few tens of milliseconds; when it raises, every read is stopped and waited for, and its
        exception re-raised."""
        try:
            while not self._done[n].wait(POLL_S):
                if progress is not None:
                    progress(self.fraction())
        except BaseException:
            self.stop()
            raise
        return self._results[n]

    def wait(self, progress=None) -> list:
        """Every result in order, as `wait_for`."""
        results = [self.wait_for(n, progress) for n in range(len(self._done))]
        if progress is not None:
            progress(1.0)
        return results

    def stop(self) -> None:
        """Stop every read at its next piece and wait until each thread has ended (nothing runs on afterwards)."""
        self._stop.set()
        for t in self._threads:
            t.join()


# ---------------------------------------------------------------- the editor's files: images, labelmaps, references
TABLE_SUFFIXES = (".label", ".txt", ".ctbl", ".csv")


@dataclass
class ImageRead:
    """A plain image file read on a reading thread: the volume and whether it looks like a labelmap (None: not
    asked). Its labels are counted later, by the job that makes the segmentation: counting (numpy's bincount)
    holds the GIL, and here it would slow the window being built on the main thread meanwhile."""

    volume: object
    labelmap_like: bool | None = None


def read_image(path: Path, progress=None, maybe_labelmap: bool = True) -> ImageRead:
    """Read an image; when it may be a labelmap, look at a sample of it on this thread."""
    from app import io

    from .plain_labelmap import looks_like_labelmap

    volume = io.read_volume(path, progress=progress)
    return ImageRead(volume, looks_like_labelmap(volume.array) if maybe_labelmap else None)


def _load_readers() -> None:
    """Import every module a read uses, on the calling thread: a reading thread must import nothing. An import on
    another thread while the main thread imports PySide6 aborts the process (shiboken walks sys.modules while it
    starts: "dictionary changed size during iteration"), and two threads importing nibabel wait on each other."""
    import numpy.ma  # noqa: F401  (asked for lazily by numpy's reductions on the read arrays)

    from . import color_tables, grey_values, nifti, plain_labelmap, reading, seg_nrrd  # noqa: F401 (and NRRD's)


def plain_file(path: Path) -> bool:
    """A file read whole as one volume (a NRRD or NIfTI image or labelmap): not a Slicer segmentation, a label
    table, a DICOM file or a folder (those have their own ways in)."""
    from app import io

    name = path.name.lower()
    if name.endswith((".seg.nrrd", ".seg.nhdr") + TABLE_SUFFIXES):
        return False
    return path.is_file() and not io.is_dicom_file(path)


def start(paths, reference=None, at_least: int = 2) -> Reads | None:
    """The reads of the plain files among `paths` (roles ("image", path)) and of `reference` (("reference",
    path)), started now; None when fewer than `at_least` files would be read."""
    _load_readers()
    jobs, roles = [], []
    for p in [Path(p) for p in paths]:
        if plain_file(p):
            jobs.append((p, read_image))
            roles.append(("image", p))
    if reference is not None and plain_file(Path(reference)):
        jobs.append((Path(reference), lambda path, progress: read_image(path, progress, maybe_labelmap=False)))
        roles.append(("reference", Path(reference)))
    if len(jobs) < max(1, at_least):
        return None
    reads = Reads(jobs)
    reads.roles = roles
    return reads
