"""File formats (Qt-free). The facade the rest of the app uses; each format lives in its own module.

Every reader returns model objects (`Segmentation`, `Volume`); every writer is atomic (temp file in the same
folder, flush, fsync, rename). User errors raise `FileFormatError` with one clear sentence; tolerated oddities
(orphan voxels, junk table lines, ...) are reported with `warnings.warn(..., FileFormatWarning)`.
`progress`, where accepted, is called with a fraction 0..1 (or None) and may be None.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from app.model.geometry import Geometry
from app.model.segmentation import Segmentation

from .errors import FileFormatError, FileFormatWarning

Progress = Callable[[float], None] | None

__all__ = ["FileFormatError", "FileFormatWarning", "Volume", "open_segmentation", "save_segmentation",
           "read_volume", "import_masks", "export_labelmap", "SEGMENTATION_SUFFIXES", "VOLUME_SUFFIXES"]

SEGMENTATION_SUFFIXES = (".seg.nrrd", ".seg.nhdr", ".nrrd", ".nhdr", ".nii", ".nii.gz")
VOLUME_SUFFIXES = (".nrrd", ".nhdr", ".nii", ".nii.gz")


@dataclass
class Volume:
    """A grey-value (reference) image: array indexed [i, j, k] and its lattice."""

    array: np.ndarray
    geometry: Geometry
    path: Path | None = None


def open_segmentation(path, labels=None, progress: Progress = None) -> Segmentation:
    """Open `.seg.nrrd/.seg.nhdr` (Slicer), or a plain labelmap (`.nrrd/.nhdr/.nii/.nii.gz`) as a segmentation,
    with an optional label table (ITK-SNAP `.label/.txt`, Slicer `.ctbl/.txt/.csv`); a table beside the image
    with the same stem is found automatically (and skipped with a warning when unreadable); `labels=False`: no
    table at all."""
    from .reading import open_segmentation as _open

    return _open(Path(path), labels, progress)


def save_segmentation(seg: Segmentation, path, compression_level: int = 1, progress: Progress = None) -> None:
    """Write a Slicer `.seg.nrrd` exactly as current Slicer does (3D for one layer, 4D list-axis-first otherwise).
    `compression_level` 0 writes raw data, 1..3 fast gzip (ISA-L), 4..9 zlib gzip."""
    from .seg_nrrd_writer import write

    write(seg, Path(path), compression_level, progress)


def read_volume(path, progress: Progress = None) -> Volume:
    """Read a grey-value volume (`.nrrd/.nhdr/.nii/.nii.gz`) in LPS."""
    from .reading import read_volume as _read

    array, geometry = _read(Path(path), progress)
    return Volume(array, geometry, Path(path))


def import_masks(paths, geometry: Geometry | None = None, progress: Progress = None) -> Segmentation:
    """Binary mask files (or folders of them), one segment each named by file stem, into the fewest layers."""
    from .masks import import_masks as _import

    return _import(paths, geometry, progress)


def export_labelmap(seg: Segmentation, path, progress: Progress = None, compression_level: int = 1) -> list[Path]:
    """Write a labelmap (`.nrrd`, `.nii.gz`) keeping label values, plus an ITK-SNAP `.label` and a Slicer `.ctbl`
    beside it; raises FileFormatError naming the options when segments overlap. Returns the files written."""
    from .export import export_labelmap as _export

    return _export(seg, Path(path), progress, compression_level)
