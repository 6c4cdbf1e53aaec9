"""Plain labelmaps (no segment metadata) as segmentations, and the label-array type rules shared by the readers.

One segment per non-zero value present, the value kept as the label, one layer. Names and colours come from the
label table; values it lacks become `Segment_<value>` with a generated colour; table entries without voxels are
not segments (Slicer's and ITK-SNAP's behaviour)."""
from __future__ import annotations

import numpy as np

from app.model import label_values as lb
from app.model.geometry import Geometry
from app.model.segment import Segment, generated_color
from app.model.segmentation import Segmentation

from .errors import FileFormatError, warn
from .color_tables import LabelEntry

LABEL_DTYPES = tuple(np.dtype(t) for t in lb.PROMOTION_ORDER)
MAX_LABELMAP_VALUES = 1024      # an integer image with at most this many distinct values opens as a labelmap


def looks_like_labelmap(array) -> bool:
    """Integer voxels with few distinct values (sampled): a labelmap rather than a grey image."""
    if array.dtype.kind not in "iu":
        return False
    flat = array.ravel(order="K")       # a view in the array's own order (reshape(-1) copied a Fortran volume: 4 s)
    sample = flat[:: max(1, flat.size // 2_000_000)]
    return len(np.unique(sample)) <= MAX_LABELMAP_VALUES


def as_label_array(arr: np.ndarray, what: str) -> np.ndarray:
    """Keep (u)int8/16/32; cast 64-bit integers and integral floats to the smallest type that holds them;
    refuse non-integral floats (one clear sentence)."""
    if arr.dtype == np.bool_:
        return arr.view(np.uint8)
    if arr.dtype in LABEL_DTYPES:
        return arr
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)):
            raise FileFormatError(f"{what} holds NaN or infinite values, so it is not a labelmap")
        if not np.array_equal(arr, np.trunc(arr)):
            raise FileFormatError(f"{what} holds fractional values (e.g. {_first_fraction(arr)}), so it is not a "
                                  f"labelmap; round or threshold it first")
    elif arr.dtype.kind not in "iu":
        raise FileFormatError(f"{what} has voxel type {arr.dtype}, which cannot hold label values")
    if arr.size == 0:
        return arr.astype(np.uint8)
    lo, hi = int(arr.min()), int(arr.max())
    for t in LABEL_DTYPES:
        info = np.iinfo(t)
        if info.min <= lo and hi <= info.max:
            if arr.dtype.kind == "f":
                warn(f"{what} stores labels as floating point; they were converted to {t.name}")
            return arr.astype(t, order="K")
    raise FileFormatError(f"{what} holds label values from {lo} to {hi}, beyond the 32-bit range a labelmap allows")


def _first_fraction(arr: np.ndarray) -> float:
    flat = arr.ravel(order="K")
    idx = np.flatnonzero(flat != np.trunc(flat))
    return float(flat[idx[0]])


def label_counts(arr: np.ndarray) -> dict[int, int]:
    """{value: voxels} of the non-zero values, in one pass for every label type."""
    if arr.dtype.itemsize <= 2:
        return lb.histogram(arr)
    lo, hi = int(arr.min()), int(arr.max())
    if 0 <= lo and hi < 1 << 16:
        return lb.histogram(arr.astype(np.uint16))
    return lb.histogram(arr)


def segmentation_from_labelmap(arr: np.ndarray, geometry: Geometry, table: dict[int, LabelEntry] | None,
                               what: str) -> Segmentation:
    arr = as_label_array(arr, what)
    counts = label_counts(arr)
    segments, used_ids, generated = [], set(), 0
    for value in sorted(counts):
        entry = (table or {}).get(value)
        if entry is not None and entry.name:
            name, color, auto_name, auto_color = entry.name, entry.color, False, False
        else:
            name, auto_name = f"Segment_{value}", True
            if entry is not None:
                color, auto_color = entry.color, False
            else:
                color, auto_color = generated_color(generated), True
                generated += 1
        sid = unique_id(name, used_ids)
        segments.append(Segment(sid, name, tuple(float(c) for c in color), 0, value,
                                name_auto_generated=auto_name, color_auto_generated=auto_color,
                                visible=getattr(entry, "visible", True),     # ITK-SNAP's VIS 0: hidden
                                opacity=entry.opacity if getattr(entry, "opacity_applies", False) else 1.0))
    # the counts made here are the layer's statistics: the segment table's volumes are not counted a second time
    return Segmentation.from_layers(geometry, [arr] if segments else [], segments, [counts] if segments else None)


def unique_id(name: str, used: set) -> str:
    """`name`, or `name_1`, `name_2`, ... : the first not in `used` (which it joins)."""
    sid, n = name, 1
    while sid in used:
        sid, n = f"{name}_{n}", n + 1
    used.add(sid)
    return sid
