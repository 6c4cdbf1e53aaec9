"""Memory limits: a container's cgroup limit counts, not only the machine's free memory."""
from __future__ import annotations

from pathlib import Path

import pytest

from app.io import limits

FREE = 8 << 30          # what the machine says is available, fixed for these tests


@pytest.fixture
def machine(monkeypatch):
    monkeypatch.setattr(limits, "_meminfo_available", lambda: FREE)

    def cgroup(files: dict):
        real = Path.read_text

        def fake(self, *a, **k):
            if str(self) in files:
                return files[str(self)]
            if str(self).startswith("/sys/fs/cgroup"):
                raise FileNotFoundError(self)
            return real(self, *a, **k)

        monkeypatch.setattr(Path, "read_text", fake)
    return cgroup


def test_cgroup_v2_limit_lowers_the_available_memory(machine):
    machine({"/sys/fs/cgroup/memory.max": "1073741824\n", "/sys/fs/cgroup/memory.current": "805306368\n"})
    assert limits.available_memory() == 256 << 20
    with pytest.raises(limits.TooLarge, match="more than the 256.0 MB"):
        limits.check_allocation((600, 600, 600), 1)


def test_cgroup_v1_limit_and_the_smaller_of_both(machine):
    machine({"/sys/fs/cgroup/memory/memory.limit_in_bytes": str(2 << 30),
             "/sys/fs/cgroup/memory/memory.usage_in_bytes": str(1 << 30)})
    assert limits.available_memory() == 1 << 30
    machine({"/sys/fs/cgroup/memory.max": str(64 << 30), "/sys/fs/cgroup/memory.current": "0"})
    assert limits.available_memory() == FREE                 # a limit above the free memory changes nothing
    machine({"/sys/fs/cgroup/memory.max": str(1 << 30), "/sys/fs/cgroup/memory.current": str(2 << 30)})
    assert limits.available_memory() == 0                    # already over the limit: nothing, never negative


def test_no_limit_means_the_machine_figure(machine):
    machine({"/sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n",
             "/sys/fs/cgroup/memory/memory.usage_in_bytes": "100\n"})
    assert limits.available_memory() == FREE                 # the huge number means "no limit"
    machine({"/sys/fs/cgroup/memory.max": "max\n", "/sys/fs/cgroup/memory.current": "5\n"})
    assert limits.available_memory() == FREE
    machine({})
    assert limits.available_memory() == FREE


def test_sizes_are_checked_before_allocating(machine):
    machine({})
    assert limits.check_allocation((10, 10, 10), 2) == 2000
    n = FREE // 2 // 4                        # exactly what fits with the working factor of 2 (4-byte voxels)
    assert limits.check_allocation((n, 1, 1), 4) == n * 4
    with pytest.raises(limits.TooLarge, match="voxels, more than the 8.0 GB"):
        limits.check_allocation((n + 1, 1, 1), 4)
    with pytest.raises(limits.TooLarge, match="negative"):
        limits.check_allocation((10, -1, 10), 1)
    with pytest.raises(limits.TooLarge, match="10000x10000x10000 voxels"):
        limits.check_allocation((10000, 10000, 10000), 1)


def test_linux_meminfo_agrees_with_psutil():
    """The /proc/meminfo reading (no psutil import on the command line's path) is psutil's own figure."""
    psutil = pytest.importorskip("psutil")
    ours = limits._meminfo_available()
    if ours is None:
        pytest.skip("no /proc/meminfo on this system (psutil is used there)")
    assert abs(ours - psutil.virtual_memory().available) < 64 << 20
