"""Memory limits: a container's cgroup limit counts, not only the machine's free memory."""
from __future__ import annotations

from pathlib import Path

import pytest

from app.io import limits


def _fake_files(monkeypatch, files: dict):
    real = Path.read_text

    def fake(self, *a, **k):
        if str(self) in files:
            return files[str(self)]
        if str(self).startswith("/sys/fs/cgroup"):
            raise FileNotFoundError(self)
        return real(self, *a, **k)

    monkeypatch.setattr(Path, "read_text", fake)


def test_cgroup_v2_limit_lowers_the_available_memory(monkeypatch):
    _fake_files(monkeypatch, {"/sys/fs/cgroup/memory.max": "1073741824\n",
                              "/sys/fs/cgroup/memory.current": "805306368\n"})
    assert limits.available_memory() == 256 << 20
    with pytest.raises(limits.TooLarge, match="more than the 256.0 MB"):
        limits.check_allocation((600, 600, 600), 1)


def test_cgroup_v1_and_no_limit(monkeypatch):
    _fake_files(monkeypatch, {"/sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n",
                              "/sys/fs/cgroup/memory/memory.usage_in_bytes": "100\n"})
    assert limits.available_memory() > 256 << 20          # the huge number means "no limit"
    _fake_files(monkeypatch, {"/sys/fs/cgroup/memory.max": "max\n", "/sys/fs/cgroup/memory.current": "5\n"})
    assert limits.available_memory() > 256 << 20


def test_sizes_are_checked_before_allocating():
    assert limits.check_allocation((10, 10, 10), 2) == 2000
    with pytest.raises(limits.TooLarge, match="negative"):
        limits.check_allocation((10, -1, 10), 1)
    with pytest.raises(limits.TooLarge, match="10000x10000x10000 voxels"):
        limits.check_allocation((10000, 10000, 10000), 1)
