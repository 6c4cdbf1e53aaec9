"""DICOM Segmentation objects (SEG) read and written with highdicom (Qt-free).

Reading: BINARY, LABELMAP and FRACTIONAL (thresholded at one half, with a warning). Each DICOM segment becomes a
segment whose label value is its segment number (the standard numbers segments 1..N); its label, recommended colour
(CIELab -> RGB) and coded category / type / modifier / anatomic region become the name, colour and Slicer's
`TerminologyEntry` tag. The voxels go onto the lattice of the referenced image series when that series is given or
found beside the SEG (same folder, searched recursively), else onto the lattice the SEG's own frames define.
Segments that overlap go to separate layers by first fit, the rule of every other reader.

Writing: only for a segmentation drawn on a DICOM series (the SEG references those images and copies the patient and
study from them). LABELMAP when no two segments overlap; otherwise BINARY, in one instance. A LABELMAP instance cannot
hold overlapping segments (Supplement 243), and one LABELMAP instance per layer would split one segmentation into
several objects that PACS, OHIF and Slicer show as separate segmentations; BINARY keeps it one object every reader
supports (its empty frames are omitted). Segments are numbered 1..N in table order: the label values of a `.seg.nrrd`
are not kept in a SEG (the standard has no place for them). Descriptions come from the `TerminologyEntry` tag, else a
generic tissue code (SCT 85756007 "Tissue"); algorithm type MANUAL; new series and instance UIDs.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from app.model import label_values as lb
from app.model import terminology
from app.model.terminology import Terminology
from app.model.geometry import Geometry
from app.model.resample import embed_aligned
from app.model.segment import Segment, generated_color
from app.model.segmentation import Segmentation

from .dicom_series import SEGMENTATION_CLASSES, DicomSource, is_dicom_file, lattice_of_series
from .errors import FileFormatError, warn
from .limits import TooLarge, check_allocation

TERMINOLOGY_TAG = terminology.TERMINOLOGY_TAG
CATEGORY_CONTEXT = "Segmentation category and type - DICOM master list"
ANATOMIC_CONTEXT = "Anatomic codes - DICOM master list"
TISSUE = ("SCT", "85756007", "Tissue")
POSITION_TOL = 1e-2      # of a voxel: frame positions must land on the lattice's voxel centres


def is_dicom_seg(path: Path) -> bool:
    """A DICOM file of the Segmentation Storage SOP class."""
    if not is_dicom_file(path):
        return False
    import pydicom

    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["SOPClassUID"])
    except Exception:
        return False
    return str(ds.get("SOPClassUID", "")) in SEGMENTATION_CLASSES


# --- terminology: Slicer's TerminologyEntry <-> DICOM codes (app.model.terminology reads and writes the tag) ------

def terminology_entry(category, type_, modifier=None, region=None, region_modifier=None) -> str:
    """Slicer's `TerminologyEntry` tag for DICOM codes given as (scheme, value, meaning) tuples."""
    empty = ("", "", "")
    return Terminology(CATEGORY_CONTEXT, category, type_, modifier or empty, ANATOMIC_CONTEXT, region or empty,
                       region_modifier or empty).serialize()


def parse_terminology(entry: str | None) -> dict:
    """{'category', 'type', 'modifier', 'region', 'region_modifier'} as (scheme, value, meaning) or None each."""
    t = terminology.parse(entry) if entry else None
    codes = dict.fromkeys(("category", "type", "modifier", "region", "region_modifier"))
    if t is not None:
        for key in codes:
            code = getattr(t, key)
            codes[key] = tuple(code) if code[0] and code[1] else None
    return codes


# --- reading ---------------------------------------------------------------------------------------------------

def read_seg(path, reference=None, progress=None) -> Segmentation:
    """Read a DICOM SEG file. `reference`: a Volume read from DICOM (its `source`) to place the voxels on; when
    None, the referenced series is looked for beside the file."""
    import highdicom as hd

    path = Path(path)
    try:
        dcm = hd.seg.segread(path)
    except Exception as exc:
        raise FileFormatError(f"{path.name} is not a readable DICOM segmentation "
                              f"({str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__})") from None
    kind = str(dcm.SegmentationType)
    if kind not in ("BINARY", "LABELMAP", "FRACTIONAL"):
        raise FileFormatError(f"{path.name} has segmentation type {kind}, which segedit does not read")
    if kind == "FRACTIONAL":
        warn(f"{path.name} holds fractional segments: voxels at or above one half were taken as inside")
    ref_uid = _referenced_series(dcm)
    target = _target_lattice(path, dcm, reference, ref_uid)
    frames = _frame_table(path, dcm, kind, target)
    numbers = [int(n) for n in dcm.segment_numbers]
    descriptions = {n: dcm.get_segment_description(n) for n in numbers}
    try:
        check_allocation(target.shape, np.dtype(lb.dtype_for(np.dtype(np.uint8), max(numbers, default=1))).itemsize,
                         f"the segmentation {path.name}")
    except TooLarge as exc:
        raise FileFormatError(str(exc)) from None
    layers = _layers(dcm, kind, frames, numbers, target, progress)
    layer_of = {}
    for n_layer, (arr, members) in enumerate(layers):
        for number in members:
            layer_of[number] = n_layer
    segments = []
    for n, number in enumerate(numbers):
        d = descriptions[number]
        segments.append(Segment(f"Segment_{number}", str(d.segment_label), _color(d, n), layer_of.get(number, 0),
                                number, _tags(d)))
    arrays = [arr for arr, _ in layers] or [np.zeros(target.shape, dtype=np.uint8)]
    return Segmentation.from_layers(target, arrays, segments)


def _referenced_series(dcm) -> str | None:
    seq = dcm.get("ReferencedSeriesSequence")
    return str(seq[0].SeriesInstanceUID) if seq else None


def _target_lattice(path: Path, dcm, reference, ref_uid) -> Geometry:
    source = getattr(reference, "source", None) if reference is not None else None
    if reference is not None:
        if not isinstance(source, DicomSource):
            return reference.geometry     # a non-DICOM reference: placed through physical space below
        if source.frame_of_reference and str(dcm.get("FrameOfReferenceUID", "")) not in ("", source.frame_of_reference):
            raise FileFormatError(f"{path.name} was drawn in another frame of reference than the series "
                                  f"{source.series_uid}; open the images it references ({ref_uid})")
        return reference.geometry
    if ref_uid:
        found = lattice_of_series(path.parent, ref_uid)
        if found is not None:
            return found
        warn(f"{path.name}: its images (series {ref_uid}) are not beside it; the voxels were placed on the lattice "
             f"of its own frames")
    return _own_lattice(path, dcm)


def _plane(dcm, f: int, key: str):
    per = dcm.PerFrameFunctionalGroupsSequence[f]
    if key in per:
        return per[key][0]
    shared = dcm.get("SharedFunctionalGroupsSequence")
    return shared[0][key][0] if shared and key in shared[0] else None


def _orientation(dcm) -> np.ndarray:
    item = _plane(dcm, 0, "PlaneOrientationSequence")
    if item is None:
        raise FileFormatError("the segmentation has no plane orientation")
    return np.asarray(item.ImageOrientationPatient, float)


def _positions(path: Path, dcm) -> np.ndarray:
    out = np.empty((int(dcm.NumberOfFrames), 3))
    for f in range(out.shape[0]):
        item = _plane(dcm, f, "PlanePositionSequence")
        if item is None:
            raise FileFormatError(f"{path.name}: frame {f + 1} has no plane position")
        out[f] = np.asarray(item.ImagePositionPatient, float)
    return out


def _own_lattice(path: Path, dcm) -> Geometry:
    """The lattice the SEG's frames define: their orientation and pixel spacing, the slice spacing from the
    file (SpacingBetweenSlices) or the smallest gap between frame positions, spanning first to last frame."""
    o = _orientation(dcm)
    row, col = o[:3] / np.linalg.norm(o[:3]), o[3:] / np.linalg.norm(o[3:])
    normal = np.cross(row, col)
    pos = _positions(path, dcm)
    s = pos @ normal
    uniq = np.unique(np.round(s, 4))
    measures = _plane(dcm, 0, "PixelMeasuresSequence")
    spacing = [float(v) for v in measures.PixelSpacing] if measures is not None and "PixelSpacing" in measures \
        else [1.0, 1.0]
    dk = float(measures.get("SpacingBetweenSlices", 0) or 0) if measures is not None else 0.0
    if dk <= 0:
        dk = float(np.min(np.diff(uniq))) if uniq.size > 1 else float(measures.get("SliceThickness", 1.0) or 1.0) \
            if measures is not None else 1.0
    first = pos[int(np.argmin(s))]
    nk = int(round((uniq[-1] - uniq[0]) / dk)) + 1
    return Geometry((int(dcm.Columns), int(dcm.Rows), nk), (spacing[1], spacing[0], dk), tuple(first),
                    tuple(map(tuple, np.column_stack([row, col, normal]))))


def _frame_table(path: Path, dcm, kind: str, target: Geometry) -> list[tuple[int, int, int, int]]:
    """For every frame: (segment number or 0 for LABELMAP, k, i offset, j offset) on the target lattice."""
    o = _orientation(dcm)
    d = target.direction_matrix
    if not (np.allclose(o[:3], d[:, 0], atol=1e-4) and np.allclose(o[3:], d[:, 1], atol=1e-4)):
        raise FileFormatError(f"{path.name}: its frames are not oriented like the rows and columns of the images it "
                              f"is placed on")
    pos = _positions(path, dcm)
    ijk = target.physical_to_index(pos)
    rounded = np.rint(ijk)
    if np.abs(ijk - rounded).max(initial=0) > POSITION_TOL:
        raise FileFormatError(f"{path.name}: its frames do not lie on the voxel lattice of the images it references")
    out = []
    for f in range(pos.shape[0]):
        number = 0
        if kind != "LABELMAP":
            per = dcm.PerFrameFunctionalGroupsSequence[f]
            number = int(per.SegmentIdentificationSequence[0].ReferencedSegmentNumber)
        i, j, k = (int(v) for v in rounded[f])
        if not (0 <= k < target.shape[2]) or i + int(dcm.Columns) <= 0 or j + int(dcm.Rows) <= 0 \
                or i >= target.shape[0] or j >= target.shape[1]:
            raise FileFormatError(f"{path.name}: frame {f + 1} lies outside the images it references")
        out.append((number, k, i, j))
    return out


def _paste(dst: np.ndarray, plane: np.ndarray, i: int, j: int) -> tuple:
    """dst[i:i+w, j:j+h] (clipped) <- plane (w, h), returning the destination and source slices."""
    w, h = plane.shape
    di = slice(max(0, i), min(dst.shape[0], i + w))
    dj = slice(max(0, j), min(dst.shape[1], j + h))
    si = slice(di.start - i, di.stop - i)
    sj = slice(dj.start - j, dj.stop - j)
    return (di, dj), (si, sj)


def _taken(arr: np.ndarray, k: int, i: int, j: int, plane: np.ndarray) -> bool:
    """Does slice k of the layer hold anything where the frame (placed at i, j) is inside?"""
    (di, dj), (si, sj) = _paste(arr, plane, i, j)
    return bool(np.any(arr[di, dj, k][plane[si, sj]]))


def _inside(dcm, f: int, kind: str) -> np.ndarray:
    """Frame f (0-based) as a [i, j] array: booleans (BINARY, FRACTIONAL >= 1/2) or segment numbers."""
    plane = np.asarray(dcm.get_stored_frame(f + 1)).T
    if kind == "FRACTIONAL":
        return plane * 2 >= int(dcm.get("MaximumFractionalValue", 255))
    if kind == "BINARY":
        return plane.astype(bool, copy=False)
    return plane


def _layers(dcm, kind: str, frames, numbers, target: Geometry, progress) -> list[tuple[np.ndarray, list[int]]]:
    shape = target.shape
    if kind == "LABELMAP":
        dtype = lb.dtype_for(np.dtype(np.uint8), max(numbers, default=1))
        arr = np.zeros(shape, dtype=dtype, order="F")
        for f, (_, k, i, j) in enumerate(frames):
            plane = _inside(dcm, f, kind)
            (di, dj), (si, sj) = _paste(arr, plane, i, j)
            arr[di, dj, k] = plane[si, sj]
            if progress and f % 32 == 0:
                progress(f / max(1, len(frames)))
        return [(arr, list(numbers))]
    by_segment: dict[int, list[int]] = {}
    for f, (number, *_rest) in enumerate(frames):
        by_segment.setdefault(number, []).append(f)
    layers: list[tuple[np.ndarray, list[int]]] = []
    for n, number in enumerate(numbers):       # first fit, one segment's frames decoded once
        planes = [(frames[f][1], frames[f][2], frames[f][3], _inside(dcm, f, kind)) for f in by_segment.get(number, [])]
        home = None
        for layer_n, (arr, members) in enumerate(layers):
            if not any(_taken(arr, k, i, j, p) for k, i, j, p in planes):
                home = layer_n
                break
        if home is None:
            layers.append((np.zeros(shape, dtype=np.uint8, order="F"), []))
            home = len(layers) - 1
        arr, members = layers[home]
        dtype = lb.dtype_for(arr.dtype, number)
        if dtype != arr.dtype:
            arr = arr.astype(dtype, order="F")
            layers[home] = (arr, members)
        for k, i, j, p in planes:
            (di, dj), (si, sj) = _paste(arr, p, i, j)
            view = arr[di, dj, k]
            view[p[si, sj]] = number
        members.append(number)
        if progress:
            progress((n + 1) / max(1, len(numbers)))
    return layers


def _code(seq) -> tuple[str, str, str] | None:
    if not seq:
        return None
    c = seq[0]
    return str(c.CodingSchemeDesignator), str(c.CodeValue), str(c.CodeMeaning)


def _tags(d) -> dict[str, str]:
    cat = _code(d.get("SegmentedPropertyCategoryCodeSequence"))
    typ_seq = d.get("SegmentedPropertyTypeCodeSequence")
    typ = _code(typ_seq)
    mod = _code(typ_seq[0].get("SegmentedPropertyTypeModifierCodeSequence")) if typ_seq else None
    region_seq = d.get("AnatomicRegionSequence")
    region = _code(region_seq)
    region_mod = _code(region_seq[0].get("AnatomicRegionModifierSequence")) if region_seq else None
    if cat is None or typ is None:
        return {}
    return {TERMINOLOGY_TAG: terminology_entry(cat, typ, mod, region, region_mod)}


def _color(d, n: int) -> tuple[float, float, float]:
    import highdicom as hd

    value = d.get("RecommendedDisplayCIELabValue")
    if value is None:
        return generated_color(n)
    r, g, b = hd.color.CIELabColor.from_dicom_value(list(value)).to_rgb(clip=True)
    return (r / 255.0, g / 255.0, b / 255.0)


# --- writing ---------------------------------------------------------------------------------------------------

def write_seg(seg: Segmentation, reference, path, progress=None, software_version: str = "") -> None:
    """Write `seg` as a DICOM SEG referencing the DICOM series `reference` (a Volume read from DICOM)."""
    import highdicom as hd
    from pydicom.uid import generate_uid

    path = Path(path)
    source = getattr(reference, "source", None) if reference is not None else None
    if not isinstance(source, DicomSource):
        raise FileFormatError(f"cannot write {path.name}: a DICOM SEG must reference the DICOM images it was drawn "
                              f"on, and the reference volume did not come from a DICOM series (open the series, or "
                              f"pass --reference DICOM_FOLDER)")
    if not seg.segments:
        raise FileFormatError(f"cannot write {path.name}: the segmentation has no segments")
    layers = [_on_reference(seg, n, reference.geometry, path) for n in range(seg.n_layers)]
    numbers = {s.id: n + 1 for n, s in enumerate(seg.segments)}
    overlap = _overlaps(layers)
    shape = reference.geometry.shape
    n_frames = shape[2]
    source_images = source.datasets
    if overlap:
        pixels, source_images = _binary_frames(seg, layers, source, path)
        kind = hd.seg.SegmentationTypeValues.BINARY
    else:
        pixels = _labelmap_frames(seg, layers, numbers, n_frames)
        kind = hd.seg.SegmentationTypeValues.LABELMAP
    if progress:
        progress(0.3)
    if not overlap:
        pixels = _source_frame_order(pixels, source)
    descriptions = [_description(s, numbers[s.id]) for s in seg.segments]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")    # highdicom's notes on optional attributes are not the user's business
        try:
            out = hd.seg.Segmentation(
                source_images=source_images, pixel_array=pixels, segmentation_type=kind,
                segment_descriptions=descriptions, series_instance_uid=generate_uid(), series_number=300,
                sop_instance_uid=generate_uid(), instance_number=1, manufacturer="segedit",
                manufacturer_model_name="segedit", software_versions=software_version or "segedit",
                device_serial_number="0", content_label="SEGMENTATION",
                content_description=f"{len(seg.segments)} segments edited in segedit", omit_empty_frames=True)
        except (ValueError, TypeError) as exc:
            raise FileFormatError(f"cannot write {path.name}: {str(exc).splitlines()[0][:200]}") from None
    if progress:
        progress(0.8)
    from .atomic import atomic_write

    with atomic_write(path) as fh:
        out.save_as(fh, enforce_file_format=True)
    if progress:
        progress(1.0)


def _labelmap_frames(seg: Segmentation, layers: list[np.ndarray], numbers: dict, n_frames: int) -> np.ndarray:
    """(frames, rows, columns) of segment numbers: each layer's labels through a lookup table, one slice at a time
    (a whole-volume take would first widen 78 M indices to 64 bits: 5 s and 600 MB for a 512x512x300 CT)."""
    dtype = np.uint8 if len(seg.segments) < 256 else np.uint16
    shape = layers[0].shape
    pixels = np.zeros((n_frames, shape[1], shape[0]), dtype=dtype)
    luts = []
    for layer_n, arr in enumerate(layers):
        lut = np.zeros(max([s.label for s in seg.segments if s.layer == layer_n], default=0) + 1, dtype=dtype)
        for s in seg.segments:
            if s.layer == layer_n:
                lut[s.label] = numbers[s.id]
        if int(arr.max(initial=0)) >= lut.size:          # voxels of no segment (should not happen): left out
            lut = np.concatenate([lut, np.zeros(int(arr.max()) + 1 - lut.size, dtype=dtype)])
        identity = np.array_equal(lut, np.arange(lut.size)) and arr.dtype.itemsize <= np.dtype(dtype).itemsize
        luts.append(None if identity else lut)
    if len(layers) == 1 and luts[0] is None:
        return np.ascontiguousarray(layers[0].T, dtype=dtype)   # a free view when the layer is Fortran-ordered
    for k in range(n_frames):
        frame = pixels[k]
        for arr, lut in zip(layers, luts):
            plane = arr[:, :, k]
            values = plane if lut is None else lut[plane]
            if len(layers) == 1:
                frame[...] = values.T
            else:
                np.maximum(frame, values.T, out=frame)       # layers are disjoint here: the maximum is the union
    return pixels


def _on_reference(seg: Segmentation, layer: int, target: Geometry, path: Path) -> np.ndarray:
    found = embed_aligned(seg.layers[layer], seg.geometry, target)
    if found is None:
        raise FileFormatError(f"cannot write {path.name}: the segmentation's voxels are not on the lattice of the DICOM "
                              f"series (a DICOM SEG stores the images' own pixels; segedit does not resample)")
    arr, lost = found
    if lost:
        raise FileFormatError(f"cannot write {path.name}: {lost} segmented voxels lie outside the DICOM series")
    return arr


# highdicom builds a BINARY SEG from a dense (frames, rows, columns, segments) array and copies it while encoding
BINARY_WORKING_FACTOR = 3


def _binary_frames(seg: Segmentation, layers: list[np.ndarray], source: DicomSource, path: Path):
    """The stacked-segments array highdicom needs for a BINARY SEG, over the slices that hold any segment only
    (their images are the ones the SEG references), and those images."""
    from .limits import available_memory

    shape = layers[0].shape
    if all(n is None for n in source.frame_numbers):
        used = np.zeros(shape[2], dtype=bool)
        for arr in layers:
            used |= np.any(arr != 0, axis=(0, 1))
        ks = np.flatnonzero(used)
        if ks.size == 0:
            ks = np.array([0])
        images = [source.datasets[int(k)] for k in ks]
    else:       # one multi-frame image: its frames cannot be referenced apart, all slices go in source order
        ks = np.argsort(np.asarray(source.frame_numbers))
        images = source.datasets
    n_bytes = int(ks.size) * shape[1] * shape[0] * len(seg.segments)
    if n_bytes * BINARY_WORKING_FACTOR > available_memory():
        raise FileFormatError(f"cannot write {path.name}: {len(seg.segments)} segments that overlap must be written as "
                              f"a binary DICOM SEG, which needs {n_bytes / 2**30:.1f} GB of working memory here (more "
                              f"than is available); remove the overlap (Layers > Force collapse to single layer) to "
                              f"write a compact labelmap SEG")
    pixels = np.zeros((ks.size, shape[1], shape[0], len(seg.segments)), dtype=bool)
    for n, s in enumerate(seg.segments):
        pixels[..., n] = np.transpose(layers[s.layer][:, :, ks] == s.label, (2, 1, 0))
    return pixels, images


def _overlaps(layers: list[np.ndarray]) -> bool:
    if len(layers) < 2:
        return False
    taken = layers[0] != 0
    for arr in layers[1:]:
        here = arr != 0
        if np.any(taken & here):
            return True
        taken |= here
    return False


def _source_frame_order(pixels: np.ndarray, source: DicomSource) -> np.ndarray:
    """highdicom pairs pixel frames with the source frames in the source's own order: for a multi-frame source,
    frame f of the array must be the slice showing source frame f."""
    if all(n is None for n in source.frame_numbers):
        return pixels
    order = np.argsort(np.asarray(source.frame_numbers))
    return pixels[order]


def _description(s: Segment, number: int):
    import highdicom as hd

    terms = parse_terminology(s.tags.get(TERMINOLOGY_TAG))
    code = (lambda t: hd.sr.CodedConcept(t[1], t[0], t[2]) if t else None)
    d = hd.seg.SegmentDescription(
        segment_number=number, segment_label=s.name[:64] or f"Segment {number}",
        segmented_property_category=code(terms["category"] or TISSUE),
        segmented_property_type=code(terms["type"] or TISSUE),
        algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
        anatomic_regions=[code(terms["region"])] if terms["region"] else None,
        display_color=hd.color.CIELabColor.from_rgb(*(float(np.clip(c, 0, 1)) * 255.0 for c in s.color)))
    if terms["modifier"]:
        d.SegmentedPropertyTypeCodeSequence[0].SegmentedPropertyTypeModifierCodeSequence = [code(terms["modifier"])]
    if terms["region"] and terms["region_modifier"]:
        d.AnatomicRegionSequence[0].AnatomicRegionModifierSequence = [code(terms["region_modifier"])]
    return d
