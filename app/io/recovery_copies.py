"""Recovery copies of unsaved work (Qt-free; the GUI side is app/ui/crash_recovery.py).

A running editor keeps at most one copy per open document in a private folder: `segedit-<token>.seg.nrrd` (the
segmentation, written atomically by `save_segmentation`) and `segedit-<token>.json` beside it (the manifest:
original path, reference volume, time of the copy, owner pid and start time, host, segmentation name). The token
starts with the owner's pid. A copy is removed when its document is saved or closed normally, so a manifest whose
owner process is gone (or whose pid now belongs to another process) is unsaved work left by a crash: an orphan.

Writing order: data first, then the manifest, each atomically; a crash between the two leaves a manifest naming
the previous copy's time, or no manifest yet (the data alone is never offered).
"""
from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

import psutil

from app.model.segmentation import Segmentation

from .atomic import atomic_write
from .errors import FileFormatError

PREFIX = "segedit-"
DATA_SUFFIX = ".seg.nrrd"
MANIFEST_SUFFIX = ".json"
FORMAT_VERSION = 1


@dataclass
class RecoveryCopy:
    """One recovery copy as its manifest describes it."""

    token: str
    folder: Path
    saved_at: float                   # seconds since the epoch
    pid: int
    started: float                    # the owner's process start time (guards against pid reuse)
    host: str
    name: str = ""                    # what the user saw in the title bar
    original: str | None = None       # the file the document came from / was last saved to
    reference: str | None = None      # the reference volume shown under it
    segments: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def data_path(self) -> Path:
        return self.folder / f"{PREFIX}{self.token}{DATA_SUFFIX}"

    @property
    def manifest_path(self) -> Path:
        return self.folder / f"{PREFIX}{self.token}{MANIFEST_SUFFIX}"

    def to_json(self) -> str:
        d = asdict(self)
        d.pop("folder")
        d["version"] = FORMAT_VERSION
        d["saved_at_text"] = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.saved_at))
        return json.dumps(d, indent=1, sort_keys=True)


def process_start(pid: int | None = None) -> float:
    try:
        return psutil.Process(pid if pid is not None else os.getpid()).create_time()
    except (psutil.Error, OSError):
        return 0.0


def owner_alive(copy: RecoveryCopy) -> bool:
    """Is the process that wrote this copy still running (same pid AND same start time)?"""
    if copy.host != socket.gethostname():
        return True                   # another machine's copy (shared home): never ours to take
    try:
        proc = psutil.Process(copy.pid)
        return abs(proc.create_time() - copy.started) < 1.0 and proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.Error, OSError):
        return False


def ensure_folder(folder) -> Path:
    """Create the folder private to the user (recovery copies hold patient data)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def snapshot(seg: Segmentation) -> Segmentation:
    """A private copy of the document's state (layers, segment table, file keys) for writing elsewhere.
    One memcpy per layer, in the layer's own memory order (`copy()` would transpose a Fortran-ordered layer:
    ~40x slower). Call it only when no operation is open (`not seg.history.recording`)."""
    layers = [a.copy(order="K") for a in seg.layers]
    copy = Segmentation.from_layers(seg.geometry, layers, [s.copy() for s in seg.segments])
    copy.extra.update(seg.extra)
    return copy


class Shadow:
    """A private copy of a document's layers kept current by copying only what changed since the last snapshot,
    so an autosave costs the GUI thread O(edit), not O(volume) (a 512x512x1000 labelmap is a 260 MB memcpy, ~100 ms;
    a brush stroke's boxes are a few hundred KB). The copy is made in full at the first snapshot and after any
    change of the layer structure (a layer added, removed or widened). Take a snapshot only when no writer is using
    the previous one: the layers are reused."""

    def __init__(self, seg: Segmentation) -> None:
        self.seg = seg
        self.layers: list[np.ndarray] | None = None
        self.dirty: list = []                      # (layer, box) written since the last snapshot
        self.full = True                           # the next snapshot copies everything
        seg.events.voxels_changed.connect(self._on_voxels)
        seg.events.structure_changed.connect(self._on_structure)

    def close(self) -> None:
        self.seg.events.voxels_changed.disconnect(self._on_voxels)
        self.seg.events.structure_changed.disconnect(self._on_structure)
        self.layers = None

    def _on_voxels(self, changes) -> None:
        if not self.full:
            self.dirty.extend((c.layer, c.box) for c in changes)

    def _on_structure(self, *args) -> None:
        self.full = True
        self.dirty.clear()

    def snapshot(self) -> Segmentation:
        seg = self.seg
        same = (self.layers is not None and len(self.layers) == len(seg.layers)
                and all(a.dtype == b.dtype and a.shape == b.shape for a, b in zip(self.layers, seg.layers)))
        if self.full or not same:
            self.layers = [a.copy(order="K") for a in seg.layers]
        else:
            for layer, box in self.dirty:
                self.layers[layer][box] = seg.layers[layer][box]
        self.dirty.clear()
        self.full = False
        copy = Segmentation.from_layers(seg.geometry, self.layers, [s.copy() for s in seg.segments])
        copy.extra.update(seg.extra)
        return copy


def write_copy(folder, token: str, seg: Segmentation, *, name: str = "", original=None, reference=None,
               saved_at: float | None = None) -> RecoveryCopy:
    """Write (or replace) the copy `token`: the data, then its manifest. Raises FileFormatError/OSError."""
    from . import save_segmentation

    try:
        folder = ensure_folder(folder)
    except OSError as exc:
        raise FileFormatError(f"cannot create the recovery folder {folder} ({exc.strerror or exc})") from None
    copy = RecoveryCopy(token, folder, time.time() if saved_at is None else saved_at, os.getpid(), process_start(),
                        socket.gethostname(), name, _text(original), _text(reference), len(seg))
    save_segmentation(seg, copy.data_path, compression_level=1)
    _write_manifest(copy)
    return copy


def _write_manifest(copy: RecoveryCopy) -> None:
    with atomic_write(copy.manifest_path, "w") as fh:
        fh.write(copy.to_json())


def _text(path) -> str | None:
    return None if path is None else str(Path(path).resolve())


def remove_copy(folder, token: str) -> None:
    """Forget the copy `token` (its document was saved or closed): manifest first, then data."""
    for suffix in (MANIFEST_SUFFIX, DATA_SUFFIX):
        try:
            (Path(folder) / f"{PREFIX}{token}{suffix}").unlink()
        except OSError:           # already gone, or the folder is no folder: nothing of ours to remove
            pass


def discard(copy: RecoveryCopy) -> None:
    remove_copy(copy.folder, copy.token)


def read_manifest(path: Path) -> RecoveryCopy | None:
    """The copy a manifest describes, or None when it is unreadable or not ours."""
    try:
        d = json.loads(Path(path).read_text(encoding="utf-8"))
        token = Path(path).name[len(PREFIX):-len(MANIFEST_SUFFIX)]
        return RecoveryCopy(token, Path(path).parent, float(d["saved_at"]), int(d["pid"]), float(d["started"]),
                            str(d["host"]), str(d.get("name") or ""), d.get("original"), d.get("reference"),
                            int(d.get("segments") or 0))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def copies(folder) -> list[RecoveryCopy]:
    """Every readable copy in the folder whose data file exists, newest first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    out = []
    for p in folder.glob(f"{PREFIX}*{MANIFEST_SUFFIX}"):
        c = read_manifest(p)
        if c is not None and c.data_path.is_file():
            out.append(c)
    return sorted(out, key=lambda c: c.saved_at, reverse=True)


def orphans(folder) -> list[RecoveryCopy]:
    """Copies left by editors that are no longer running (a crash, a kill, a power cut), newest first.
    Also removes their half-written temp files."""
    _remove_stale_temp_files(Path(folder))
    return [c for c in copies(folder) if not owner_alive(c)]


def _remove_stale_temp_files(folder: Path) -> None:
    """`.segedit-<pid>-<n>....tmp` files of dead writers (atomic_write's temp files cut short by a kill)."""
    if not folder.is_dir():
        return
    for p in folder.glob(f".{PREFIX}*.tmp"):
        pid = p.name[len(PREFIX) + 1:].split("-", 1)[0]
        if pid.isdigit() and not psutil.pid_exists(int(pid)):
            try:
                p.unlink()
            except OSError:
                pass


def read_copy(copy: RecoveryCopy, progress=None) -> Segmentation:
    from . import open_segmentation

    return open_segmentation(copy.data_path, progress=progress)


def adopt(copy: RecoveryCopy, token: str) -> RecoveryCopy:
    """Take an orphan over as this process's copy `token` (after restoring it): the data moves, the manifest is
    rewritten with our pid, the time of the copy is kept. Until our next autosave it still protects the work."""
    mine = RecoveryCopy(token, copy.folder, copy.saved_at, os.getpid(), process_start(), socket.gethostname(),
                        copy.name, copy.original, copy.reference, copy.segments)
    os.replace(copy.data_path, mine.data_path)
    _write_manifest(mine)
    try:
        copy.manifest_path.unlink()
    except FileNotFoundError:
        pass
    return mine
