"""Dispatch by file type: which reader opens a path as a segmentation or a volume."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from app.model.geometry import Geometry
from app.model.progress import scaled
from app.model.segmentation import Segmentation

from . import color_tables, nrrd_data, nrrd_geometry, nrrd_header, seg_nrrd
from .errors import FileFormatError, warn
from .plain_labelmap import segmentation_from_labelmap


def kind_of(path: Path) -> str:
    """'nrrd' or 'nifti' by name, else by content; FileFormatError when neither."""
    name = path.name.lower()
    if name.endswith((".nrrd", ".nhdr")):
        return "nrrd"
    if name.endswith((".nii", ".nii.gz")):
        return "nifti"
    if nrrd_header.is_nrrd(path):
        return "nrrd"
    raise FileFormatError(f"{path.name}: unsupported file type (expected .seg.nrrd, .nrrd, .nhdr, .nii or .nii.gz)")


def _check_file(path: Path) -> None:
    if not path.exists():
        raise FileFormatError(f"{path} does not exist")
    if path.is_dir():
        raise FileFormatError(f"{path} is a folder, not a file")
    if not path.is_file():
        raise FileFormatError(f"{path} is not a regular file")


def open_segmentation(path: Path, labels=None, progress=None) -> Segmentation:
    _check_file(path)
    kind = kind_of(path)
    if kind == "nrrd":
        header = nrrd_header.read_header(path)
        if seg_nrrd.is_segmentation(header):
            if labels not in (None, False):
                warn(f"{path.name} names its own segments; the label table {Path(labels).name} was not used")
            return seg_nrrd.read(header, progress)
        axes = nrrd_geometry.spatial_axes(header)
        if len(header.sizes) != 3:
            raise FileFormatError(f"{path.name} has {len(header.sizes)} axes and no segment names; a plain "
                                  f"labelmap must be a 3D image")
        geometry = nrrd_geometry.geometry(header, axes)
        arr = nrrd_data.read_data(header, scaled(progress, 0.0, 0.7))
    else:
        from . import nifti

        arr, geometry = nifti.read(path)
    if progress:
        progress(0.7)
    seg = labelmap_segmentation(arr, geometry, path, labels)
    if progress:
        progress(1.0)
    return seg


def labelmap_segmentation(arr: np.ndarray, geometry: Geometry, path: Path, labels=None) -> Segmentation:
    """A plain labelmap already in memory (read from `path`) as a segmentation, with its label table."""
    table = _table(path, labels)
    seg = segmentation_from_labelmap(arr, geometry, table, path.name)
    seg.label_table = dict(table or {})      # every entry, also those without voxels (painted later)
    return seg


def _table(path: Path, labels):
    """The table the user named (its errors are errors), none (`labels=False`), or the one found beside the image,
    which is help, not a gate: if it cannot be read, the image opens without names and one warning says why."""
    if labels is False:
        return None
    if labels is not None:
        return color_tables.read_table(labels)
    beside = color_tables.find_beside(path)
    if beside is None:
        return _embedded_table(path)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            table = color_tables.read_table(beside)
    except FileFormatError as exc:
        warn(f"{path.name}: the label table beside it was not used ({exc}); the segments are named by value")
        return None
    for w in caught:                       # the table's own warnings (skipped lines), passed on once each
        warn(str(w.message))
    return table


def _embedded_table(path: Path):
    """A NIfTI labelmap's own label table (TotalSegmentator `--ml` names its 117 classes in a header extension),
    used when no table is given or found beside it; one warning if it cannot be read."""
    if kind_of(path) != "nifti":
        return None
    from . import nifti

    try:
        return nifti.embedded_label_table(path)
    except FileFormatError as exc:
        warn(f"{path.name}: {exc}; the segments are named by value")
        return None


def read_volume(path: Path, progress=None) -> tuple[np.ndarray, Geometry]:
    _check_file(path)
    if kind_of(path) == "nifti":
        from . import nifti

        return nifti.read(path, progress)
    header = nrrd_header.read_header(path)
    axes = nrrd_geometry.spatial_axes(header)
    lax = nrrd_geometry.list_axis(header)
    if lax is not None and header.sizes[lax] != 1:
        raise FileFormatError(f"{path.name} holds {header.sizes[lax]} values per voxel; a grey-value volume "
                              f"needs one")
    geometry = nrrd_geometry.geometry(header, axes)
    arr = nrrd_data.read_data(header, progress)
    if lax is not None:
        arr = np.take(arr, 0, axis=lax)
    if progress:
        progress(1.0)
    return arr, geometry
