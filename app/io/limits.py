"""Refuse data that cannot fit before allocating it (a header can claim 10^12 voxels)."""
from __future__ import annotations

import math
from pathlib import Path


# What a load may use beyond the array itself (decompression buffers, one working copy).
WORKING_FACTOR = 2.0


class TooLarge(ValueError):
    """The data would not fit in memory; the message is one sentence for the user."""


def check_allocation(shape, itemsize: int, what: str = "the image") -> int:
    """Return the byte size of an array of `shape`, or raise TooLarge when it (with working space) exceeds the
    memory available now."""
    if any(int(s) < 0 for s in shape):
        raise TooLarge(f"{what} has a negative size {tuple(shape)}")
    n_bytes = math.prod(int(s) for s in shape) * int(itemsize)
    available = available_memory()
    if n_bytes * WORKING_FACTOR > available:
        raise TooLarge(f"{what} needs {_human(n_bytes)} for {'x'.join(str(int(s)) for s in shape)} voxels, "
                       f"more than the {_human(available)} of memory available")
    return n_bytes


def available_memory() -> int:
    """Bytes this process may still allocate: the machine's available memory, or less under a container's
    (cgroup v2 or v1) memory limit, which would otherwise end in the process being killed."""
    available = _meminfo_available()
    if available is None:
        import psutil      # other systems; on Linux /proc/meminfo says the same without psutil's 20 ms import

        available = psutil.virtual_memory().available
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            limit_text = Path(limit_file).read_text().strip()
            usage = int(Path(usage_file).read_text().strip())
        except (OSError, ValueError):
            continue
        if limit_text.isdigit() and int(limit_text) < 1 << 60:       # "max" or a huge number: no limit
            available = min(available, max(0, int(limit_text) - usage))
        break
    return available


def _meminfo_available() -> int | None:
    """Linux's MemAvailable (what psutil.virtual_memory().available reports there), or None."""
    try:
        with open("/proc/meminfo", "rb") as f:
            for line in f:
                if line.startswith(b"MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _human(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if n < 1024 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PB"
