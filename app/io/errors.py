"""The exceptions and warnings of the io package (re-exported by the facade)."""
from __future__ import annotations

import threading
import warnings
from contextlib import contextmanager

_local = threading.local()

class FileFormatError(ValueError):
    """A file cannot be read or written as asked; the message is one sentence for the user."""


class FileFormatWarning(UserWarning):
    """A file was read with a documented tolerance (something in it was repaired or ignored)."""


def warn(message: str) -> None:
    """One-sentence warning about a file, attributed to the caller of the io facade (or kept in this thread's
    `collected()` list while one is open)."""
    notes = getattr(_local, "notes", None)
    if notes is not None:
        notes.append(message)
        return
    warnings.warn(message, FileFormatWarning, stacklevel=3)


@contextmanager
def collected():
    """Keep the warnings this thread's readers give in a list instead of warning: files read on several threads
    at once keep their own notes (`warnings.catch_warnings` is process-wide, so it cannot tell them apart)."""
    previous = getattr(_local, "notes", None)
    _local.notes = notes = []
    try:
        yield notes
    finally:
        _local.notes = previous
