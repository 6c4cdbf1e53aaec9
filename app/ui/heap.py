"""The process's memory between interactions: heap given back to the system, and Python's garbage collector kept off
the interactive path (no Qt, no VTK; called by the window and the 3D view at moments a user does not feel).

- `release_freed_memory`: glibc keeps what threads and llvmpipe freed; `malloc_trim` gives it back.
- `settle_objects`: Python's cyclic collector walks every tracked object in a full pass. With a document and the 3D
  view that is ~125 k objects (modules, Qt and VTK wrappers, the segments), 45-52 ms measured on the SPL atlas, and
  such a pass comes after every ~70 k allocations Python keeps: it landed in the first stroke after the 3D view was
  shown, and would again every so often, on whichever thread allocated (holding the GIL, so the others wait).
  After a document is shown, and after the 3D view's first build, those objects are collected once and then frozen
  (`gc.freeze`): later passes skip them (a full pass then takes ~0.01 ms plus what was made since). Frozen objects
  that become cyclic garbage wait for the next settle, which unfreezes and collects first (a closed document is
  freed when the next one is shown: tests/ui/test_heap.py).
"""
from __future__ import annotations

import gc
import sys


def release_freed_memory() -> None:
    """Give the heap freed by 3D work back to the system (10-20 ms; View3D calls it when the view goes quiet). glibc
    keeps what threads and llvmpipe freed: measured on the SPL atlas, the drawn surfaces' 30 MB leave +160 MB
    resident after five frames, +66 MB after a trim (VTK's and llvmpipe's copies of the buffers); a first build's
    meshing leaves ~80 MB more."""
    import ctypes

    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):
            pass


def settle_objects() -> None:
    """Collect the cyclic garbage, the objects frozen before included, then freeze what survives (~50 ms once)."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
