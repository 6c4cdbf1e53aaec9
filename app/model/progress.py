"""Progress reporting shared by long model operations and file readers: a callable taking a fraction 0..1, or
None when nobody watches."""
from __future__ import annotations

from typing import Callable

Progress = Callable[[float], None] | None


def report(progress: Progress, fraction: float) -> None:
    if progress is not None:
        progress(max(0.0, min(1.0, float(fraction))))


def scaled(progress: Progress, start: float, stop: float) -> Progress:
    """A progress callable that maps 0..1 onto start..stop of `progress` (None stays None)."""
    if progress is None:
        return None
    return lambda f: progress(start + (stop - start) * f)
