"""The exceptions and warnings of the io package (re-exported by the facade)."""
from __future__ import annotations

import warnings


class FileFormatError(ValueError):
    """A file cannot be read or written as asked; the message is one sentence for the user."""


class FileFormatWarning(UserWarning):
    """A file was read with a documented tolerance (something in it was repaired or ignored)."""


def warn(message: str) -> None:
    """One-sentence warning about a file, attributed to the caller of the io facade."""
    warnings.warn(message, FileFormatWarning, stacklevel=3)
