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
           "read_volume", "import_masks", "export_masks", "is_mask_folder", "export_labelmap", "SEGMENTATION_SUFFIXES",
           "VOLUME_SUFFIXES", "is_dicom", "list_dicom_series", "write_dicom_seg"]

SEGMENTATION_SUFFIXES = (".seg.nrrd", ".seg.nhdr", ".nrrd", ".nhdr", ".nii", ".nii.gz")
VOLUME_SUFFIXES = (".nrrd", ".nhdr", ".nii", ".nii.gz")


@dataclass
class Volume:
    """A grey-value (reference) image: array indexed [i, j, k] and its lattice."""

    array: np.ndarray
    geometry: Geometry
    path: Path | None = None
    source: object | None = None      # app.io.dicom_series.DicomSource when read from a DICOM series


def is_dicom_file(path) -> bool:
    """A DICOM Part 10 file: 128 bytes of preamble, then 'DICM' (checked here so that opening a .seg.nrrd imports
    nothing of DICOM)."""
    try:
        with open(path, "rb") as f:
            head = f.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:132] == b"DICM"


def is_dicom(path) -> bool:
    """A folder (DICOM series live in folders) or a DICOM Part 10 file."""
    path = Path(path)
    return path.is_dir() or is_dicom_file(path)


def list_dicom_series(path, progress: Progress = None) -> list:
    """The DICOM series under a folder (recursively), largest first (`SeriesInfo`: uid, description, modality,
    files, frames, rows, columns, is_segmentation)."""
    from .dicom_series import scan

    return scan(Path(path), progress)


def write_dicom_seg(seg: Segmentation, reference: "Volume", path, progress: Progress = None) -> None:
    """Write a DICOM SEG (LABELMAP, or BINARY when segments overlap) referencing the DICOM series `reference` was
    read from; FileFormatError when the reference is not DICOM or the voxels are not on its lattice."""
    from .dicom_seg import write_seg

    write_seg(seg, reference, Path(path), progress, _version())


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"segedit {version('segedit')}"
    except PackageNotFoundError:
        return "segedit"


def open_segmentation(path, labels=None, progress: Progress = None, reference: "Volume | None" = None) -> Segmentation:
    """Open `.seg.nrrd/.seg.nhdr` (Slicer), a DICOM SEG, or a plain labelmap (`.nrrd/.nhdr/.nii/.nii.gz`) as a
    segmentation, with an optional label table (ITK-SNAP `.label/.txt`, Slicer `.ctbl/.txt/.csv`); a table beside
    the image with the same stem is found automatically (and skipped with a warning when unreadable); `labels=False`:
    no table at all. A DICOM SEG is placed on `reference`'s lattice when given
    (a Volume read from its DICOM series), else on its referenced series found beside it, else on its own frames.
    A folder of binary masks (`is_mask_folder`) is imported, one segment per file (`import_masks`)."""
    path = Path(path)
    if is_mask_folder(path):
        return import_masks([path], progress=progress)
    if path.is_file() and is_dicom_file(path):
        from .dicom_seg import is_dicom_seg, read_seg

        if not is_dicom_seg(path):
            raise FileFormatError(f"{path.name} is a DICOM image, not a segmentation; open it as the reference volume")
        return read_seg(path, reference, progress)
    from .reading import open_segmentation as _open

    return _open(path, labels, progress)


def save_segmentation(seg: Segmentation, path, compression_level: int = 1, progress: Progress = None) -> None:
    """Write a Slicer `.seg.nrrd` exactly as current Slicer does (3D for one layer, 4D list-axis-first otherwise).
    `compression_level` 0 writes raw data, 1..3 fast gzip (ISA-L), 4..9 zlib gzip."""
    from .seg_nrrd_writer import write

    write(seg, Path(path), compression_level, progress)


def read_volume(path, progress: Progress = None, series: str | None = None) -> Volume:
    """Read a grey-value volume (`.nrrd/.nhdr/.nii/.nii.gz`, or a DICOM series: a folder or one of its files, the
    largest series unless `series` names its UID) in LPS."""
    path = Path(path)
    if is_dicom(path):
        from .dicom_series import read_series

        array, geometry, source = read_series(path, series, progress)
        return Volume(array, geometry, path, source)
    from .reading import read_volume as _read

    array, geometry = _read(path, progress)
    return Volume(array, geometry, path)


def segmentation_from_volume(volume: Volume, labels=None) -> Segmentation:
    """A NIfTI labelmap already read as a Volume (e.g. to see whether it is a labelmap) as a segmentation, without
    reading the file again; `labels` as for `open_segmentation`."""
    from .reading import labelmap_segmentation

    if volume.path is None or not volume.path.name.lower().endswith((".nii", ".nii.gz")):
        raise ValueError("only a NIfTI volume read from a file can be taken as a labelmap this way")
    return labelmap_segmentation(volume.array, volume.geometry, volume.path, labels)


def import_masks(paths, geometry: Geometry | None = None, progress: Progress = None) -> Segmentation:
    """Binary mask files (or folders of them), one segment each named by file stem, into the fewest layers."""
    from .masks import import_masks as _import

    return _import(paths, geometry, progress)


def export_masks(seg: Segmentation, folder, segment_ids=None, suffix: str = ".nii.gz", compression_level: int = 1,
                 progress: Progress = None) -> list[Path]:
    """One binary mask file per segment (`<folder>/<name>.nii.gz`, uint8, on the segmentation's lattice), as
    TotalSegmentator writes its output; what `import_masks` reads back with the same names and voxels."""
    from .mask_export import export_masks as _export

    return _export(seg, folder, segment_ids, suffix, compression_level, progress)


def is_mask_folder(path) -> bool:
    """A folder of binary mask files and no DICOM file (read with `import_masks`)."""
    from .masks import is_mask_folder as _is

    return _is(path)


def export_labelmap(seg: Segmentation, path, progress: Progress = None, compression_level: int = 1) -> list[Path]:
    """Write a labelmap (`.nrrd`, `.nii.gz`) keeping label values, plus an ITK-SNAP `.label` and a Slicer `.ctbl`
    beside it; raises FileFormatError naming the options when segments overlap. Returns the files written."""
    from .export import export_labelmap as _export

    return _export(seg, Path(path), progress, compression_level)
