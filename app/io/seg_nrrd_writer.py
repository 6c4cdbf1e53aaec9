"""Write a Slicer `.seg.nrrd` (or `.seg.nhdr` + data file) as current Slicer does (checklist of
slicer-segmentations.md §1.8), without changing the user's segmentation:

- layers in order of first appearance in display order (Layer keys renumbered accordingly);
- 3D for one layer, 4D with the list axis first otherwise; LPS; gzip (ISA-L at level 1 by default);
- all 8 per-segment keys, every key sorted as Slicer's std::map writes them (tags keep their order); Tags and
  contained representation names end in `|`, every conversion parameter in `&`; unknown keys written back;
- Extent = the layer's effective (non-zero) extent, an empty extent for an empty segment;
- an empty segmentation is a 1x1x1 image (Slicer's "no image data" sentinel).
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from app.model import label_values as lb
from app.model.geometry import Geometry
from app.model.segmentation import Segmentation

from . import nrrd_write as nw
from .atomic import atomic_write, os_error_message, refuse_read_only
from .errors import FileFormatError, quoted
from .lattice import check_writable
from .seg_nrrd import (_SEG_KEY, KEY_CONTAINED, KEY_MASTER, KEY_OFFSET, KEY_PARAMS, PARAM_GEOMETRY, reference_geometry)

GEOMETRY_DESCRIPTION = ("Image geometry description string determining the geometry of the labelmap that is "
                        "created in course of conversion. Can be copied from a volume, using the button.")


def check_level(level) -> int:
    if isinstance(level, bool) or not isinstance(level, (int, np.integer)) or not 0 <= int(level) <= 9:
        raise FileFormatError(f"the compression level must be a whole number from 0 (none) to 9, not {level!r}")
    return int(level)


def write(seg: Segmentation, path: Path, level: int = 1, progress=None) -> None:
    level = check_level(level)
    if not path.name.lower().endswith((".nrrd", ".nhdr")):
        raise FileFormatError(f"{path.name}: a segmentation is saved as .seg.nrrd or .seg.nhdr (export writes "
                              f"labelmaps such as .nii.gz)")
    check_writable(seg.geometry, path.name)
    check_label_values(seg, path.name)
    check_texts(seg, path.name)
    order = layer_order(seg)
    offset = _offset(seg)
    if order:
        layers = [seg.layers[n] for n in order]
        geometry = seg.geometry
        extents = [_nonzero_extent(arr) for arr in layers]
    else:
        layers, geometry, extents = [np.zeros((1, 1, 1), np.uint8)], _sentinel_geometry(seg.geometry), []
    dtype = common_dtype(seg, order) if order else np.dtype(np.uint8)
    custom = _segment_keys(seg, order, extents, offset) + _segmentation_keys(seg, offset)
    custom.sort(key=lambda kv: kv[0])
    sizes = layers[0].shape if len(layers) == 1 else (len(layers), *layers[0].shape)
    encoding = "gzip" if level else "raw"
    chunks = (nw.volume_chunks(layers[0], dtype, progress) if len(layers) == 1
              else nw.layered_chunks(layers, dtype, progress))
    try:
        _write_files(path, dtype, sizes, geometry, len(layers) > 1, encoding, custom, chunks, level)
    except OSError as exc:
        raise FileFormatError(os_error_message(path, exc)) from None


SLICER_MAX_LABEL = 2**31 - 1     # Slicer reads LabelValue as a signed 32-bit int (vtkVariant::ToInt)


def check_label_values(seg: Segmentation, what: str) -> None:
    """A label above 2^31-1 would open in Slicer as a negative value, i.e. an empty segment: refuse, naming the
    segment and the way out (segedit renumbers only when asked to, see `renumber_large_labels`)."""
    for s in seg.segments:
        if s.label > SLICER_MAX_LABEL:
            raise FileFormatError(f"{what}: segment {quoted(s.name)} has label value {s.label}, above "
                                  f"{SLICER_MAX_LABEL}, "
                                  f"which 3D Slicer reads as a negative number (the segment would open empty); "
                                  f"give it a smaller value, e.g. `segedit convert IN OUT --renumber-large-labels`")


_UNSTORABLE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")     # a newline is escaped (teem's \n); these are not


def check_texts(seg: Segmentation, what: str) -> None:
    """Names, IDs and tags must come back as they are: a newline is escaped as teem does (Slicer reads it back);
    a tab or another control character would come back as a space, and a '|' inside a tag (or ':' in a tag's
    name) would split it, so those are refused naming the segment."""
    for s in seg.segments:
        texts = [("name", s.name), ("ID", s.id)] + [("tag", f"{k}:{v}") for k, v in s.tags.items()]
        for kind, text in texts:
            bad = _UNSTORABLE.search(text)
            if bad:
                raise FileFormatError(f"{what}: the {kind} of segment {quoted(s.name)} holds a "
                                      f"{_CHAR_NAMES.get(bad[0], 'control character')}, which a .seg.nrrd cannot "
                                      f"store; rename it")
        for key, value in s.tags.items():
            if "|" in key + value or ":" in key:
                raise FileFormatError(f"{what}: the tag {quoted(key)} of segment {quoted(s.name)} holds a '|' (or its "
                                      f"name a "
                                      f"':'), which splits tags in a .seg.nrrd; rename the tag")


_CHAR_NAMES = {"\t": "tab", "\r": "carriage return", "\x00": "NUL byte"}


def renumber_large_labels(seg: Segmentation) -> list[tuple[str, int]]:
    """Give every segment whose label exceeds Slicer's range the smallest free value of its layer (one undo step
    each, no voxel moves to another place). Returns (name, new label) of the segments renumbered."""
    done = []
    for s in list(seg.segments):
        if s.label > SLICER_MAX_LABEL:
            used = set(seg.labels_in_layer(s.layer))
            free = next(v for v in range(1, len(used) + 2) if v not in used)
            seg.move_to_layer(s.id, s.layer, free)
            done.append((s.name, free))
    return done


def _write_files(path, dtype, sizes, geometry, list_first, encoding, custom, chunks, level) -> None:
    if path.name.lower().endswith(".nhdr"):
        data_name = path.name[:-5] + (".raw.gz" if level else ".raw")
        refuse_read_only(path, path.with_name(data_name))       # not a new header's data beside an old header
        with atomic_write(path.with_name(data_name)) as fh:
            nw.write_payload(fh, chunks, level)
        head = nw.header_text(dtype, sizes, geometry, list_first, encoding, custom, data_file=data_name)
        with atomic_write(path) as fh:
            fh.write(head)
        return
    head = nw.header_text(dtype, sizes, geometry, list_first, encoding, custom)
    with atomic_write(path) as fh:
        fh.write(head)
        nw.write_payload(fh, chunks, level)


def layer_order(seg: Segmentation) -> list[int]:
    """Model layer indices in order of first appearance in display order (Slicer's layer numbering)."""
    order: list[int] = []
    for s in seg.segments:
        if s.layer not in order:
            order.append(s.layer)
    return order


def common_dtype(seg: Segmentation, order: list[int]) -> np.dtype:
    """The type of the layer with the largest item size (first met wins ties), promoted if a label needs it."""
    dtype = max((seg.layers[n].dtype for n in order), key=lambda d: d.itemsize)
    for s in seg.segments:
        dtype = lb.dtype_for(dtype, s.label)
    return np.dtype(dtype)


def _nonzero_extent(arr: np.ndarray):
    """Inclusive [i0, i1, j0, j1, k0, k1] of the non-zero voxels, or None when the layer is empty."""
    box = lb.tight_box(arr != 0)
    return None if box is None else [v for s in box for v in (s.start, s.stop - 1)]


def _offset(seg: Segmentation) -> tuple[int, int, int]:
    try:
        values = [int(v) for v in seg.extra.get(KEY_OFFSET, "0 0 0").split()]
    except ValueError:
        values = []
    return tuple(values) if len(values) == 3 else (0, 0, 0)


def _segment_keys(seg: Segmentation, order: list[int], extents, offset) -> list[tuple[str, str]]:
    empty = " ".join(str(v - offset[a // 2]) for a, v in enumerate((0, -1, 0, -1, 0, -1)))
    out = []
    for n, s in enumerate(seg.segments):
        file_layer = order.index(s.layer)
        ext = extents[file_layer]
        p = f"Segment{n}_"
        out += [
            (p + "Color", " ".join(f"{float(c):g}" for c in s.color)),
            (p + "ColorAutoGenerated", "1" if s.color_auto_generated else "0"),
            (p + "Extent", empty if ext is None or seg.voxel_count(s.id) == 0 else " ".join(map(str, ext))),
            (p + "ID", s.id),
            (p + "LabelValue", str(int(s.label))),
            (p + "Layer", str(file_layer)),
            (p + "Name", s.name),
            (p + "NameAutoGenerated", "1" if s.name_auto_generated else "0"),
            (p + "Tags", "".join(f"{k}:{v}|" for k, v in s.tags.items())),      # verbatim, in the order read
        ]
        out += [(p + k, v) for k, v in s.extra.items()]
    return out


def _segmentation_keys(seg: Segmentation, offset) -> list[tuple[str, str]]:
    # every key but the per-segment ones (rebuilt from the segments): SegmentationVersion, SegmentEditor_*, ...
    keys = {k: v for k, v in seg.extra.items() if not _SEG_KEY.match(k)}
    keys[KEY_MASTER] = "Binary labelmap"
    keys[KEY_OFFSET] = " ".join(map(str, offset))
    contained = keys.get(KEY_CONTAINED, "Binary labelmap|")
    keys[KEY_CONTAINED] = contained if contained.endswith("|") else contained + "|"
    params = keys.get(KEY_PARAMS, "")
    if params and not params.endswith("&"):
        params += "&"
    if reference_geometry(params) is None and PARAM_GEOMETRY + "|" not in params:
        params += f"{PARAM_GEOMETRY}|{geometry_string(seg.geometry, offset)}|{GEOMETRY_DESCRIPTION}&"
    keys[KEY_PARAMS] = params
    return list(keys.items())


def geometry_string(geometry: Geometry, offset) -> str:
    """Slicer's serialized reference geometry: the IJK->RAS matrix (row-major) of the internal index frame,
    then its extent, each item followed by ';'."""
    m = np.diag([-1.0, -1.0, 1.0, 1.0]) @ geometry.ijk_to_lps
    m[:3, 3] -= m[:3, :3] @ np.asarray(offset, dtype=float)
    ext = []
    for a in range(3):
        ext += [offset[a], offset[a] + geometry.shape[a] - 1]
    return "".join(f"{nw.format_number(v)};" for v in m.reshape(-1)) + "".join(f"{int(v)};" for v in ext)


def _sentinel_geometry(g: Geometry) -> Geometry:
    return Geometry((1, 1, 1), g.spacing, g.origin, g.directions)
