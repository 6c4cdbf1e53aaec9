"""Small Qt signal helpers shared by the widgets."""
from __future__ import annotations

from PySide6.QtCore import QSignalBlocker


def with_blocked(widget, fn) -> None:
    """Call fn() with the widget's signals blocked (model -> widget updates must not echo back)."""
    with QSignalBlocker(widget):
        fn()
