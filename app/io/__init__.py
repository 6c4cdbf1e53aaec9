"""File formats (Qt-free). The facade the rest of the app uses; each format lives in its own module.

Every reader returns model objects (`Segmentation`, `Volume`); every writer is atomic (temp file in the same
folder, flush, fsync, rename). User errors raise `FileFormatError` with one clear sentence.
`progress`, where accepted, is called with a fraction 0..1 (or None) and may be None.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from app.model.geometry import Geometry
from app.model.segmentation import Segmentation

Progress = Callable[[float], None] | None


class FileFormatError(ValueError):
    """A file cannot be read or written as asked; the message is one sentence for the user."""


@dataclass
class Volume:
    """A grey-value (reference) image: array indexed [i, j, k] and its lattice."""

    array: np.ndarray
    geometry: Geometry
    path: Path | None = None


def open_segmentation(path, labels=None, progress: Progress = None) -> Segmentation:
    """Open `.seg.nrrd/.seg.nhdr` (Slicer), or a plain labelmap (`.nrrd/.nhdr/.nii/.nii.gz`) as a segmentation,
    with an optional label table (ITK-SNAP `.label/.txt`, Slicer `.ctbl/.txt/.csv`); a table beside the image
    with the same stem is found automatically."""
    raise NotImplementedError


def save_segmentation(seg: Segmentation, path, compression_level: int = 1, progress: Progress = None) -> None:
    """Write a Slicer `.seg.nrrd` exactly as current Slicer does (3D for one layer, 4D list-axis-first otherwise)."""
    raise NotImplementedError


def read_volume(path, progress: Progress = None) -> Volume:
    """Read a grey-value volume (`.nrrd/.nhdr/.nii/.nii.gz`) in LPS."""
    raise NotImplementedError


def import_masks(paths, geometry: Geometry | None = None, progress: Progress = None) -> Segmentation:
    """Binary mask files (or folders of them), one segment each named by file stem, into the fewest layers."""
    raise NotImplementedError


def export_labelmap(seg: Segmentation, path, progress: Progress = None) -> list[Path]:
    """Write a labelmap (`.nrrd`, `.nii.gz`) keeping label values, plus an ITK-SNAP `.label` and a Slicer `.ctbl`
    beside it; raises FileFormatError naming the options when segments overlap. Returns the files written."""
    raise NotImplementedError
