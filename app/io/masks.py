"""Import binary masks (one file per segment, named by file stem) into the fewest layers, overlaps allowed.

Each mask goes into the first layer where none of its voxels is taken (first fit, in the order given; folders are
read in name order), else into a new layer, under the smallest label value not yet taken in that layer. An empty
mask (TotalSegmentator writes one file per class, most of them empty for a given scan) is a segment too, with a
value of its own, so the user can paint it. All masks must share one lattice (no resampling)."""
from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from app.model import label_values as lb
from app.model.geometry import Geometry
from app.model.segment import Segment, generated_color
from app.model.segmentation import Segmentation

from .errors import FileFormatError, warn
from .plain_labelmap import unique_id
from .reading import read_volume

MASK_SUFFIXES = (".nrrd", ".nhdr", ".nii", ".nii.gz")


def mask_files(paths) -> list[Path]:
    """Files given, with folders expanded to their mask files in name order."""
    out = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file() and f.name.lower().endswith(MASK_SUFFIXES)
                           and not f.name.startswith("."))
            if not found:
                raise FileFormatError(f"the folder {p} holds no mask files (.nrrd, .nhdr, .nii, .nii.gz)")
            out += found
        elif p.exists():
            out.append(p)
        else:
            raise FileFormatError(f"{p} does not exist")
    if not out:
        raise FileFormatError("no mask files were given")
    return out


def is_mask_folder(path) -> bool:
    """A folder of mask files (TotalSegmentator's output: one .nii.gz per structure) and no DICOM file: what a
    folder dropped on the window, or given to `segedit` or `segedit info`, is read as. A folder of DICOM files,
    or with none of either, stays the DICOM readers' (which say what they found). Reads the first bytes of the
    folder's other files only, and only when it holds mask files."""
    from .dicom_series import is_dicom_file

    path = Path(path)
    if not path.is_dir():
        return False
    files = [f for f in path.iterdir() if f.is_file() and not f.name.startswith(".")]
    masks = [f for f in files if f.name.lower().endswith(MASK_SUFFIXES)
             and not f.name.lower().endswith((".seg.nrrd", ".seg.nhdr"))]
    return bool(masks) and not any(is_dicom_file(f) for f in files if f not in masks)


def stem(path: Path) -> str:
    name = path.name
    for suffix in (".seg.nrrd", ".nii.gz", ".nrrd", ".nhdr", ".nii"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def import_masks(paths, geometry: Geometry | None = None, progress=None) -> Segmentation:
    files = mask_files(paths)
    layers: list[np.ndarray] = []           # Fortran-ordered, so that flat indices are the files' own order
    used: list[set[int]] = []              # label values taken in each layer (empty masks take one too)
    segments: list[Segment] = []
    used_ids: set[str] = set()
    # Files are decoded two at a time (ISA-L and numpy release the GIL); each arrives as the flat indices of its
    # voxels, so an empty 512x512x1000 mask costs its decoding and nothing else. Files whose compressed data is the
    # same (every empty mask a tool writes for one scan) are decoded once.
    keys = [_content_key(p) if len(files) > 1 else None for p in files]
    source = [k if k is not None else p for p, k in zip(files, keys)]
    first: dict = {}
    for path, key in zip(files, source):
        first.setdefault(key, path)
    unique = list(first.values())
    decoded = {}
    with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
        for n, (path, result) in enumerate(zip(unique, pool.map(_indices, unique))):
            decoded[path] = result
            if progress:
                progress(0.9 * (n + 1) / len(unique))
    for n, (path, key) in enumerate(zip(files, source)):
        idx, g, message = decoded[first[key]]
        geometry = _check_lattice(geometry, g, path)
        if message:
            warn(message.replace(first[key].name, path.name))
        layer, label = _place(layers, used, idx, geometry.shape)
        layers[layer] = _fit(layers[layer], label)
        _flat(layers[layer])[idx] = label
        name = stem(path)
        sid = unique_id(name, used_ids)
        segments.append(Segment(sid, name, generated_color(n), layer, label, color_auto_generated=True))
        if progress:
            progress(0.9 + 0.1 * (n + 1) / len(files))
    return Segmentation.from_layers(geometry, layers, segments)


def _content_key(path: Path):
    """For a gzip file: its size and a hash of its compressed data after the gzip header (which carries a time and
    a name that differ between otherwise identical files); equal keys, equal voxels. None for other files."""
    if not path.name.lower().endswith(".gz"):
        return None
    try:
        data = path.read_bytes() if path.stat().st_size <= 64 << 20 else None
    except OSError:
        return None
    if data is None or len(data) < 18 or data[:3] != b"\x1f\x8b\x08":
        return None
    flags, pos = data[3], 10
    try:
        if flags & 4:                                   # FEXTRA
            pos += 2 + int.from_bytes(data[pos:pos + 2], "little")
        for bit in (8, 16):                             # FNAME, FCOMMENT: zero-terminated
            if flags & bit:
                pos = data.index(b"\x00", pos) + 1
        if flags & 2:                                   # FHCRC
            pos += 2
    except ValueError:
        return None
    return len(data) - pos, hashlib.blake2b(memoryview(data)[pos:], digest_size=16).digest()


def _indices(path: Path) -> tuple[np.ndarray, Geometry, str | None]:
    """(flat Fortran-order indices of the mask's voxels, its lattice, a warning or None)."""
    if path.name.lower().endswith((".nii", ".nii.gz")):
        from . import nifti

        found = nifti.foreground(path)
        if found is not None:
            idx, g, several, values = found
            return idx, g, _several_values(path.name, values) if several else None
    arr, g = read_volume(path)
    mask, message = foreground(arr, path.name)
    return np.flatnonzero(mask.reshape(-1, order="F")), g, message


def foreground(arr: np.ndarray, what: str) -> tuple[np.ndarray, str | None]:
    """The voxels of a mask: non-zero and not NaN (a NaN background is no foreground), and a warning when it holds
    several distinct non-zero values (a multi-label file passed as a mask: it is taken whole)."""
    if arr.dtype.kind == "f":
        mask = (arr != 0) & ~np.isnan(arr)
    else:
        mask = arr != 0
    message = None
    if mask.any():
        values = arr[mask]
        if values.min() != values.max():
            message = _several_values(what, np.unique(values[: 1 << 20])[:4])
    return mask, message


def _several_values(what: str, shown) -> str:
    examples = ", ".join(f"{float(v):g}" for v in shown)
    return (f"{what} holds several distinct non-zero values ({examples}, ...), so it looks like a labelmap rather "
            f"than a mask; all of them were taken as one segment (open it as a labelmap to get one segment per value)")


def _check_lattice(geometry: Geometry | None, g: Geometry, path: Path) -> Geometry:
    if geometry is None:
        return g
    if not geometry.same_lattice(g):
        raise FileFormatError(f"{path.name} is on a different voxel lattice ({'x'.join(map(str, g.shape))} voxels) "
                              f"than the first mask ({'x'.join(map(str, geometry.shape))}); resample it first")
    return geometry


def _place(layers: list[np.ndarray], used: list[set[int]], idx: np.ndarray, shape) -> tuple[int, int]:
    """First layer with no voxel at the mask's flat indices, and the smallest label value not yet taken there (an
    empty mask takes one too, so that every segment has its own value); a new layer if none fits."""
    for n, arr in enumerate(layers):
        if not np.any(_flat(arr)[idx]):
            label = next(v for v in range(1, len(used[n]) + 2) if v not in used[n])
            used[n].add(label)
            return n, label
    layers.append(np.zeros(shape, dtype=np.uint8, order="F"))
    used.append({1})
    return len(layers) - 1, 1


def _flat(arr: np.ndarray) -> np.ndarray:
    """The layer as a flat view in Fortran order (a view, never a copy: writes through it reach the layer)."""
    assert arr.flags.f_contiguous
    return arr.reshape(-1, order="F")


def _fit(arr: np.ndarray, label: int) -> np.ndarray:
    dtype = lb.dtype_for(arr.dtype, label)
    return arr if dtype == arr.dtype else arr.astype(dtype, order="F")
