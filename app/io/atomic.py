"""Atomic file replacement: write a temp file in the same folder, flush, fsync, rename over the target.

On any exception the temp file is removed and the old file (if any) is left untouched. A read-only target is
refused (`ReadOnlyFile`): a rename needs only the folder's permission, so without the check a file its owner had
made read-only to protect it was replaced silently, where an editor writing in place is stopped."""
from __future__ import annotations

import errno
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path


class ReadOnlyFile(PermissionError):
    """The file to replace is read-only (no write permission bit, or none for this user)."""

    def __init__(self, path: Path):
        super().__init__(errno.EACCES, "the file is read-only", str(path))
        self.path = path


def is_read_only(path) -> bool:
    """An existing file that may not be written: no write bit at all (so also for root, whom `access` lets
    through), or none for this user."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (mode & 0o222) or not os.access(path, os.W_OK)


def refuse_read_only(*paths) -> None:
    """Raise ReadOnlyFile for the first of `paths` that is read-only: files written together (a detached
    header and its data, a labelmap and its tables) are checked before the first is replaced."""
    for p in paths:
        if is_read_only(p):
            raise ReadOnlyFile(Path(p))


@contextmanager
def atomic_write(path, mode: str = "wb"):
    """`with atomic_write(p) as fh: fh.write(...)`; the target appears complete or not at all. Raises
    ReadOnlyFile, before writing anything, when the target exists and is read-only."""
    path = Path(path)
    if is_read_only(path):
        raise ReadOnlyFile(path)
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        _keep_permissions(path, tmp)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_folder(folder)


def _keep_permissions(path: Path, tmp: str) -> None:
    """mkstemp creates 0600; give the new file the old file's mode, or the usual umask-based one."""
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    os.chmod(tmp, mode)


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def os_error_message(path: Path, exc: OSError) -> str:
    if isinstance(exc, ReadOnlyFile):
        return (f"cannot save {exc.path.name}: the file is read-only (save under another name, or make it "
                f"writable first); nothing was written")
    if exc.errno == errno.ENOSPC:
        return f"cannot save {path.name}: the disk is full (the previous file, if any, is unchanged)"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"cannot save {path.name}: no permission to write in {path.parent}"
    if exc.errno == errno.ENOENT:
        return f"cannot save {path.name}: the folder {path.parent} does not exist"
    return f"cannot save {path.name}: {exc.strerror or exc}"
