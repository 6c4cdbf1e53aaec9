"""Saving never leaves a truncated file where a good one was, nor a stray temp file: failures are injected at
the rename, in the middle of the data, as a full disk, and as a read-only folder; a read-only file is refused."""
from __future__ import annotations

import errno
import os

import pytest

from app import io
from app.io import atomic, nrrd_write
from tests.faults import FullDisk
from tests.io.conftest import assert_same_segmentation, layered


def _good_file(tmp_path):
    path = tmp_path / "keep.seg.nrrd"
    io.save_segmentation(layered(seed=1), path)
    return path, path.read_bytes()


def _only(tmp_path, path):
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_failed_rename_keeps_the_old_file(tmp_path, monkeypatch):
    path, before = _good_file(tmp_path)

    def boom(src, dst):
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(atomic.os, "replace", boom)
    with pytest.raises(io.FileFormatError, match="cannot save keep.seg.nrrd"):
        io.save_segmentation(layered(seed=2), path)
    assert path.read_bytes() == before
    _only(tmp_path, path)


def test_failure_in_the_middle_of_the_data_keeps_the_old_file(tmp_path, monkeypatch):
    path, before = _good_file(tmp_path)
    real = nrrd_write.write_payload

    def half(fh, chunks, level):
        fh.write(b"partial data")
        raise RuntimeError("writer crashed")

    monkeypatch.setattr(nrrd_write, "write_payload", half)
    with pytest.raises(RuntimeError, match="writer crashed"):
        io.save_segmentation(layered(seed=2), path)
    assert path.read_bytes() == before
    _only(tmp_path, path)
    monkeypatch.setattr(nrrd_write, "write_payload", real)
    io.save_segmentation(layered(seed=2), path)                      # and a later save works
    assert_same_segmentation(layered(seed=2), io.open_segmentation(path))


def test_disk_full_keeps_the_old_file_and_says_so(tmp_path, monkeypatch):
    path, before = _good_file(tmp_path)
    real_fdopen = os.fdopen
    monkeypatch.setattr(atomic.os, "fdopen", lambda fd, mode: FullDisk(real_fdopen(fd, mode), 100))
    with pytest.raises(io.FileFormatError, match="the disk is full"):
        io.save_segmentation(layered(seed=2), path)
    assert path.read_bytes() == before
    _only(tmp_path, path)


def test_read_only_folder(tmp_path, monkeypatch):
    path, before = _good_file(tmp_path)
    if os.geteuid() == 0:            # root ignores permissions: simulate what the kernel would say
        def denied(*a, **k):
            raise PermissionError(errno.EACCES, "Permission denied")
        monkeypatch.setattr(atomic.tempfile, "mkstemp", denied)
    else:
        os.chmod(tmp_path, 0o555)
    try:
        with pytest.raises(io.FileFormatError, match="no permission to write"):
            io.save_segmentation(layered(seed=2), path)
    finally:
        os.chmod(tmp_path, 0o755)
    assert path.read_bytes() == before
    _only(tmp_path, path)


@pytest.mark.parametrize("mode", [0o444, 0o400])
def test_a_read_only_file_is_refused_not_replaced(tmp_path, mode):
    """A rename over a file needs only the folder's permission: a file its owner made read-only (to protect the
    atlas of weeks of work) was replaced silently. Refused, for root too (no write bit at all), before anything
    is written."""
    path, before = _good_file(tmp_path)
    os.chmod(path, mode)
    try:
        with pytest.raises(io.FileFormatError, match="keep.seg.nrrd: the file is read-only"):
            io.save_segmentation(layered(seed=2), path)
        with pytest.raises(atomic.ReadOnlyFile):
            with atomic.atomic_write(path) as fh:
                fh.write(b"x")
        assert path.read_bytes() == before
        _only(tmp_path, path)
    finally:
        os.chmod(path, 0o644)
    io.save_segmentation(layered(seed=2), path)          # writable again: saved
    assert path.read_bytes() != before


def test_export_refuses_before_writing_when_one_of_its_files_is_read_only(tmp_path):
    """Export writes the image and two tables: a read-only table must not leave a new image beside old tables."""
    seg = layered()
    seg.remove_segment("s3")
    written = io.export_labelmap(seg, tmp_path / "l.nii.gz")
    old = {p.name: p.read_bytes() for p in written}
    os.chmod(tmp_path / "l.label", 0o444)
    seg.remove_segment("s2")
    try:
        with pytest.raises(io.FileFormatError, match="l.label: the file is read-only"):
            io.export_labelmap(seg, tmp_path / "l.nii.gz")
    finally:
        os.chmod(tmp_path / "l.label", 0o644)
    assert {p.name: p.read_bytes() for p in written} == old
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(old)


@pytest.mark.parametrize("name", ["keep.seg.nhdr", "keep.nhdr"])
def test_a_read_only_detached_header_or_data_file_refuses_both(tmp_path, name):
    """A detached header and its data file are written data first: a read-only header must not get new data beside
    it, nor a read-only data file a new header."""
    seg = layered(seed=1)
    seg.remove_segment("s3")
    write = io.save_segmentation if name.endswith(".seg.nhdr") else io.export_labelmap
    write(seg, tmp_path / name)
    data = tmp_path / (name[:-5] + ".raw.gz")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    seg.remove_segment("s2")
    for locked in (tmp_path / name, data):
        os.chmod(locked, 0o444)
        try:
            with pytest.raises(io.FileFormatError, match=f"{locked.name}: the file is read-only"):
                write(seg, tmp_path / name)
        finally:
            os.chmod(locked, 0o644)
        assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_missing_folder(tmp_path):
    with pytest.raises(io.FileFormatError, match="does not exist"):
        io.save_segmentation(layered(), tmp_path / "no" / "x.seg.nrrd")


def test_new_file_gets_normal_permissions_and_old_mode_is_kept(tmp_path):
    path = tmp_path / "p.seg.nrrd"
    io.save_segmentation(layered(), path)
    assert path.stat().st_mode & 0o777 == 0o666 & ~_umask()
    os.chmod(path, 0o640)
    io.save_segmentation(layered(), path)
    assert path.stat().st_mode & 0o777 == 0o640


def test_export_failure_leaves_no_partial_files(tmp_path, monkeypatch):
    seg = layered()
    seg.remove_segment("s3")

    def boom(src, dst):
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(atomic.os, "replace", boom)
    with pytest.raises(io.FileFormatError):
        io.export_labelmap(seg, tmp_path / "l.nii.gz")
    assert list(tmp_path.iterdir()) == []


def _umask() -> int:
    m = os.umask(0)
    os.umask(m)
    return m
