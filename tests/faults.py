"""Injected failures shared by the io and GUI tests."""
from __future__ import annotations

import errno
import os


class FullDisk:
    """A file object whose writes fail with ENOSPC once more than `limit` bytes were written: a disk filling up
    in the middle of a save."""

    def __init__(self, real, limit: int):
        self.real, self.limit, self.written = real, limit, 0

    def write(self, data):
        self.written += len(data)
        if self.written > self.limit:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return self.real.write(data)

    def __getattr__(self, name):
        return getattr(self.real, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.real.close()
