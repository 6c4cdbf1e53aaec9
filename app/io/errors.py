"""The exceptions and warnings of the io package (re-exported by the facade), and how a value read from a file
is quoted in their one-sentence messages."""
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


def printable(exc, limit: int = 120) -> str:
    """A parser's complaint fit for one sentence: it may quote kilobytes of binary junk from the file."""
    text = "".join(c if c.isprintable() else "?" for c in str(exc))
    return text if len(text) <= limit else text[:limit] + "..."


def quoted(value, limit: int = 60) -> str:
    """A value from a file quoted in a message: a mutated header can carry kilobytes of binary data in one field."""
    return printable(repr(value) if isinstance(value, str) else value, limit)


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
