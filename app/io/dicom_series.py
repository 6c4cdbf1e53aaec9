"""DICOM image series as grey-value volumes (Qt-free): find the series in a folder, choose one, sort its slices
along their normal, check the lattice, decode, rescale.

Geometry is LPS like every other reader (DICOM patient coordinates are LPS): i runs along a row (the first
ImageOrientationPatient vector, spacing PixelSpacing[1]), j down the columns (the second vector, PixelSpacing[0]),
k along the normal row x column, ascending; the origin is the first slice's ImagePositionPatient (the centre of its
first voxel, as ITK).

Refused with one sentence, as ITK's series readers do (segedit never resamples): images of different sizes,
orientations or pixel spacings in one series; slices not stacked along their normal (gantry tilt); slice spacing that
is not uniform (missing slices); several images at one position (phases, echoes). Enhanced multi-frame CT/MR files
are read frame by frame from their functional groups. Compressed transfer syntaxes decode through pydicom's pixel
handlers (pylibjpeg for JPEG, JPEG-LS, JPEG 2000; RLE natively).

Hand-written rather than highdicom's `get_volume_from_series`: that one needs every dataset with its pixels in
memory at once (2x the volume), always produces one dtype chosen in advance (float64 by default: 4x an int16 CT),
reports no progress and words its errors for programmers; here slices are decoded one at a time into the final
array, kept in the smallest integer type that holds the rescaled values.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.model.geometry import Geometry
from app.model.progress import scaled

from .errors import FileFormatError
from .grey_values import rescale_slices
from .limits import TooLarge, check_allocation

SEGMENTATION_STORAGE = "1.2.840.10008.5.1.4.1.1.66.4"
LABEL_MAP_SEGMENTATION_STORAGE = "1.2.840.10008.5.1.4.1.1.66.7"
SEGMENTATION_CLASSES = (SEGMENTATION_STORAGE, LABEL_MAP_SEGMENTATION_STORAGE)
# Relative tolerances: orientation cosines, and positions/spacings as a fraction of the slice spacing (1 % finds a
# missing slice, 100 % off, while forgiving the rounding of positions written as 16-character decimal strings).
ORIENTATION_TOL = 1e-4
SPACING_TOL = 0.01
HEADER_TAGS = ["SOPClassUID", "SOPInstanceUID", "SeriesInstanceUID", "StudyInstanceUID", "SeriesDescription",
               "SeriesNumber", "Modality", "Rows", "Columns", "NumberOfFrames", "FrameOfReferenceUID"]
# What placing a file's frames needs (the full header is read once, with the pixels, for the SEG writer's sake)
GEOMETRY_TAGS = HEADER_TAGS + ["ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing", "ImagerPixelSpacing",
                               "RescaleSlope", "RescaleIntercept", "SliceThickness", "SpacingBetweenSlices",
                               "SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence"]


@dataclass
class SeriesInfo:
    """One series found in a folder: what a chooser shows, and its files."""

    uid: str
    description: str
    modality: str
    number: int | None
    files: list[Path] = field(default_factory=list)
    frames: int = 0
    rows: int = 0
    columns: int = 0
    is_segmentation: bool = False

    def label(self) -> str:
        what = "DICOM SEG" if self.is_segmentation else f"{self.frames} images {self.columns}x{self.rows}"
        desc = f" '{self.description}'" if self.description else ""
        return f"{self.modality or '?'} series {self.number if self.number is not None else ''}{desc}: {what}"


@dataclass
class DicomSource:
    """Where a volume read from DICOM came from: what a DICOM SEG of it must reference and copy."""

    series_uid: str
    study_uid: str
    frame_of_reference: str
    datasets: list          # pydicom Datasets without pixel data, in slice (k) order; one per multi-frame file
    sop_uids: list[str]     # the image (SOP instance) of each slice k
    frame_numbers: list[int | None]   # the frame of that image (1-based) for multi-frame files, else None
    folder: Path


def is_dicom_file(path: Path) -> bool:
    """A DICOM Part 10 file (the facade's check, here for this module's callers)."""
    from . import is_dicom_file as check

    return check(path)


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileFormatError(f"{path} does not exist")
    out = []
    for root, dirs, names in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        out += [Path(root) / n for n in sorted(names) if not n.startswith(".") and n.upper() != "DICOMDIR"]
    return out


def scan(path, progress=None) -> list[SeriesInfo]:
    """Every DICOM series under `path` (a folder, searched recursively, or one file), largest first."""
    import pydicom

    path = Path(path)
    files = _files(path)
    found: dict[str, SeriesInfo] = {}
    for n, f in enumerate(files):
        if progress and n % 64 == 0:
            progress(n / max(1, len(files)))
        if not is_dicom_file(f):
            continue
        try:
            ds = pydicom.dcmread(f, stop_before_pixels=True, specific_tags=HEADER_TAGS)
        except Exception:       # a damaged file among many: it is simply not part of any series
            continue
        uid = str(ds.get("SeriesInstanceUID", ""))
        if not uid:
            continue
        is_seg = str(ds.get("SOPClassUID", "")) in SEGMENTATION_CLASSES
        if not is_seg and "Rows" not in ds:
            continue            # structured reports, RT structures, presentation states: no image
        info = found.get(uid)
        if info is None:
            number = ds.get("SeriesNumber")
            info = found[uid] = SeriesInfo(uid, str(ds.get("SeriesDescription", "")), str(ds.get("Modality", "")),
                                           int(number) if number not in (None, "") else None,
                                           is_segmentation=is_seg)
        info.files.append(f)
        info.frames += int(ds.get("NumberOfFrames", 1) or 1)
        info.rows, info.columns = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
    return sorted(found.values(), key=lambda s: (s.is_segmentation, -s.frames, s.uid))


def choose(series: list[SeriesInfo], uid: str | None, where: Path) -> SeriesInfo:
    """The image series to read: the one named by `uid`, else the largest; refuse a tie, naming the choices."""
    images = [s for s in series if not s.is_segmentation]
    if not images:
        raise FileFormatError(f"{where} holds no DICOM images")
    if uid:
        match = [s for s in images if s.uid == uid]
        if not match:
            raise FileFormatError(f"{where} has no image series {uid}; it holds "
                                  + "; ".join(f"{s.uid} ({s.label()})" for s in images))
        return match[0]
    if len(images) > 1 and images[0].frames == images[1].frames:
        tied = [s for s in images if s.frames == images[0].frames]
        raise FileFormatError(f"{where} holds {len(tied)} image series of {tied[0].frames} images each ("
                              + "; ".join(f"{s.uid}: {s.label()}" for s in tied)
                              + "); choose one (--series UID on the command line)")
    return images[0]


@dataclass
class _Frame:
    path: Path
    frame: int | None           # 0-based frame in a multi-frame file, None for single-frame files
    position: np.ndarray
    orientation: np.ndarray     # 6 cosines
    pixel_spacing: tuple[float, float]
    slope: float
    intercept: float
    sop_uid: str
    thickness: float | None


def _number(value, default: float | None = None) -> float | None:
    try:
        return float(value) if value not in (None, "") else default
    except (TypeError, ValueError):
        return default


def _first(ds, keyword: str):
    seq = ds.get(keyword)
    return seq[0] if seq else None


def _frames_of(path: Path, ds) -> list[_Frame]:
    """The 2D images of one file with their plane geometry and rescale."""
    sop = str(ds.get("SOPInstanceUID", ""))
    n_frames = int(ds.get("NumberOfFrames", 1) or 1)
    if "PerFrameFunctionalGroupsSequence" not in ds:
        if "ImagePositionPatient" not in ds or "ImageOrientationPatient" not in ds:
            raise FileFormatError(f"{path.name} has no image position or orientation, so it cannot be placed in "
                                  f"space")
        spacing = ds.get("PixelSpacing") or ds.get("ImagerPixelSpacing") or [1.0, 1.0]
        base = dict(orientation=np.asarray(ds.ImageOrientationPatient, float),
                    pixel_spacing=(float(spacing[0]), float(spacing[1])),
                    slope=_number(ds.get("RescaleSlope"), 1.0), intercept=_number(ds.get("RescaleIntercept"), 0.0),
                    sop_uid=sop, thickness=_number(ds.get("SpacingBetweenSlices"), _number(ds.get("SliceThickness"))))
        if n_frames == 1:
            return [_Frame(path, None, np.asarray(ds.ImagePositionPatient, float), **base)]
        raise FileFormatError(f"{path.name} holds {n_frames} frames without per-frame positions")
    shared = _first(ds, "SharedFunctionalGroupsSequence")
    per = ds.PerFrameFunctionalGroupsSequence
    if len(per) != n_frames:
        raise FileFormatError(f"{path.name} describes {len(per)} frames but holds {n_frames}")

    def group(item, keyword):
        found = _first(item, keyword) if keyword in item else None
        return found if found is not None else (_first(shared, keyword) if shared is not None else None)

    out = []
    for f, item in enumerate(per):
        pos, orient, measures = (group(item, "PlanePositionSequence"), group(item, "PlaneOrientationSequence"),
                                 group(item, "PixelMeasuresSequence"))
        if pos is None or orient is None:
            raise FileFormatError(f"{path.name}: frame {f + 1} has no plane position or orientation")
        rescale = group(item, "PixelValueTransformationSequence")
        spacing = measures.PixelSpacing if measures is not None and "PixelSpacing" in measures else [1.0, 1.0]
        thick = None
        if measures is not None:
            thick = _number(measures.get("SpacingBetweenSlices"), _number(measures.get("SliceThickness")))
        out.append(_Frame(path, f, np.asarray(pos.ImagePositionPatient, float),
                          np.asarray(orient.ImageOrientationPatient, float),
                          (float(spacing[0]), float(spacing[1])),
                          _number(rescale.get("RescaleSlope"), 1.0) if rescale is not None else 1.0,
                          _number(rescale.get("RescaleIntercept"), 0.0) if rescale is not None else 0.0,
                          sop, thick))
    return out


def lattice(frames: list[_Frame], what: str) -> tuple[Geometry, list[int]]:
    """The lattice the frames stack into, and the frames' order along k; FileFormatError when they do not form one
    (different orientations or spacings, gantry tilt, gaps, duplicates)."""
    o = frames[0].orientation
    if any(np.abs(f.orientation - o).max() > ORIENTATION_TOL for f in frames):
        raise FileFormatError(f"{what} mixes images of different orientations, so they do not form one volume")
    if any(not np.allclose(f.pixel_spacing, frames[0].pixel_spacing, rtol=1e-4) for f in frames):
        raise FileFormatError(f"{what} mixes images of different pixel spacings, so they do not form one volume")
    row, col = o[:3] / np.linalg.norm(o[:3]), o[3:] / np.linalg.norm(o[3:])
    if abs(float(row @ col)) > 1e-3:
        raise FileFormatError(f"{what}: the image orientation's row and column directions are not perpendicular")
    normal = np.cross(row, col)
    s = np.array([f.position @ normal for f in frames])
    order = [int(n) for n in np.argsort(s, kind="stable")]
    s_sorted = s[order]
    row_sp, col_sp = frames[0].pixel_spacing
    if len(frames) == 1:
        dk = frames[0].thickness or 1.0
    else:
        gaps = np.diff(s_sorted)
        dk = float(np.median(gaps))
        if gaps.min() <= SPACING_TOL * max(dk, 1e-6):
            n = int(np.argmin(gaps))
            raise FileFormatError(f"{what} holds several images at the position {s_sorted[n]:.2f} mm along the "
                                  f"slice normal (several phases, echoes or series in one?); segedit reads one image "
                                  f"per position")
        bad = np.flatnonzero(np.abs(gaps - dk) > SPACING_TOL * dk)
        if bad.size:
            n = int(bad[0])
            raise FileFormatError(f"{what}: the slice spacing is not uniform ({gaps[n]:.3g} mm between slices {n + 1} "
                                  f"and {n + 2}, {dk:.3g} mm elsewhere: missing slices?); segedit does not resample")
        first = frames[order[0]].position
        for k, idx in enumerate(order):
            off = frames[idx].position - first - (s_sorted[k] - s_sorted[0]) * normal
            if np.linalg.norm(off) > SPACING_TOL * max(dk, min(row_sp, col_sp)):
                angle = np.degrees(np.arctan2(np.linalg.norm(off), s_sorted[k] - s_sorted[0]))
                raise FileFormatError(f"{what}: the slices are not stacked along their normal (gantry tilt of about "
                                      f"{angle:.1f} degrees); segedit does not resample tilted series")
    directions = np.column_stack([row, col, normal])
    geometry = Geometry((0, 0, 0), (col_sp, row_sp, dk), tuple(frames[order[0]].position), tuple(map(tuple, directions)))
    return geometry, order


def read_series(path, series_uid: str | None = None, progress=None) -> tuple[np.ndarray, Geometry, DicomSource]:
    """Read one image series of a folder (or the series of one file) as `array[i, j, k]` in LPS."""
    import pydicom

    path = Path(path)
    if path.is_file():
        if not is_dicom_file(path):
            raise FileFormatError(f"{path.name} is not a DICOM file")
        folder = path.parent
        if series_uid is None:
            head = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=HEADER_TAGS)
            series_uid = str(head.get("SeriesInstanceUID", "")) or None
    else:
        folder = path
    info = choose(scan(folder, scaled(progress, 0.0, 0.15)), series_uid, folder)
    frames, datasets, geometry, order = _collect(folder, info, full=False)
    shape = geometry.shape
    rows, cols = shape[1], shape[0]
    try:
        check_allocation(shape, 4, f"the series {info.label()}")
    except TooLarge as exc:
        raise FileFormatError(str(exc)) from None
    arr, ranges = None, []
    k_of = {id(frames[idx]): k for k, idx in enumerate(order)}
    progress_read = scaled(progress, 0.15, 1.0)
    done = 0
    by_file: dict[Path, list[_Frame]] = {}
    for fr in frames:
        by_file.setdefault(fr.path, []).append(fr)
    for f in list(datasets):        # one file at a time: its pixels decoded, copied, dropped; its header kept
        full, pixels = _pixels(f)
        datasets[f] = full
        mine = by_file[f]
        planes = pixels[None] if pixels.ndim == 2 else pixels
        if planes.ndim != 3 or planes.shape[0] != len(mine):
            raise FileFormatError(f"{f.name} holds pixel data of shape {pixels.shape}, not {len(mine)} grey image(s) "
                                  f"of {rows}x{cols}")
        if arr is None:
            arr = np.empty(shape, dtype=planes.dtype, order="F")
        for fr, plane in zip(mine, planes):
            arr[:, :, k_of[id(fr)]] = plane.T
            ranges.append((fr.slope, fr.intercept, float(plane.min()), float(plane.max())))
        done += len(mine)
        if progress:
            progress_read(done / len(frames))
        del pixels, planes
    arr = rescale_slices(arr, [(frames[idx].slope, frames[idx].intercept) for idx in order], ranges)
    return arr, geometry, _source(info, folder, datasets, frames, order)


def _collect(folder: Path, info: SeriesInfo, full: bool = True):
    """Headers of a series' files (`full`: every attribute, else only what placement needs), their frames, the
    lattice they stack into and the frames' order along k."""
    import pydicom

    frames, datasets = [], {}
    for f in info.files:
        try:
            ds = pydicom.dcmread(f, stop_before_pixels=True, specific_tags=None if full else GEOMETRY_TAGS)
        except Exception as exc:
            raise FileFormatError(f"{f.name} is not a readable DICOM file ({type(exc).__name__})") from None
        datasets[f] = ds
        frames += _frames_of(f, ds)
    sizes = {(int(datasets[f].Rows), int(datasets[f].Columns)) for f in datasets}
    if len(sizes) > 1:
        raise FileFormatError(f"series {info.uid} in {folder} mixes images of different sizes "
                              f"({', '.join(f'{c}x{r}' for r, c in sorted(sizes))})")
    rows, cols = sizes.pop()
    geometry, order = lattice(frames, f"series {info.label()} in {folder.name}")
    geometry = Geometry((cols, rows, len(frames)), geometry.spacing, geometry.origin, geometry.directions)
    return frames, datasets, geometry, order


def read_series_lattice(path, series_uid: str | None = None, progress=None):
    """A Volume with the lattice and headers of a series but no pixels (array None): all that placing or writing
    a DICOM SEG needs."""
    from . import Volume

    path = Path(path)
    folder = path.parent if path.is_file() else path
    if not path.exists():
        raise FileFormatError(f"{path} does not exist")
    if path.is_file():
        if not is_dicom_file(path):
            raise FileFormatError(f"{path.name} is not a DICOM file")
        if series_uid is None:
            import pydicom

            head = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=HEADER_TAGS)
            series_uid = str(head.get("SeriesInstanceUID", "")) or None
    info = choose(scan(folder, progress), series_uid, folder)
    frames, datasets, geometry, order = _collect(folder, info)
    return Volume(None, geometry, path, _source(info, folder, datasets, frames, order))


def _source(info: SeriesInfo, folder: Path, datasets: dict, frames: list, order: list[int]) -> DicomSource:
    first = next(iter(datasets.values()))
    return DicomSource(info.uid, str(first.get("StudyInstanceUID", "")), str(first.get("FrameOfReferenceUID", "")),
                       _ordered_datasets(datasets, frames, order), [frames[idx].sop_uid for idx in order],
                       [None if frames[idx].frame is None else frames[idx].frame + 1 for idx in order], folder)


def lattice_of_series(folder, uid: str) -> Geometry | None:
    """The lattice of series `uid` under `folder` from its headers alone (no pixels decoded); None when absent."""
    folder = Path(folder)
    match = [s for s in scan(folder) if s.uid == uid and not s.is_segmentation]
    if not match:
        return None
    return _collect(folder, match[0])[2]


def _ordered_datasets(datasets: dict, frames: list[_Frame], order: list[int]) -> list:
    out, seen = [], set()
    for idx in order:
        p = frames[idx].path
        if p not in seen:
            seen.add(p)
            out.append(datasets[p])
    return out


def _pixels(path: Path):
    import pydicom

    try:
        ds = pydicom.dcmread(path)
        if ds.get("SamplesPerPixel", 1) != 1:
            raise FileFormatError(f"{path.name} is a colour image ({ds.get('PhotometricInterpretation')}); segedit "
                                  f"reads grey-value images")
        pixels = ds.pixel_array
        del ds.PixelData                  # the header stays (a DICOM SEG copies from it), the pixels go
        return ds, pixels
    except FileFormatError:
        raise
    except Exception as exc:
        ts = getattr(getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None), "name", "its transfer syntax") \
            if "ds" in locals() else "its encoding"
        raise FileFormatError(f"{path.name}: the pixel data could not be decoded ({ts}: "
                              f"{str(exc).splitlines()[0][:160]})") from None
