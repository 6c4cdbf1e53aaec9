"""Segment statistics: every segment of a layer measured in one pass (numpy only, no Qt, no VTK).

Per segment: voxel count, volume (mm³ and mL), tight index bounding box, centroid (ijk and LPS millimetres) and,
with a grey volume on the segmentation's lattice (see `app.model.resample.nearest_on_lattice`, the Threshold
tool's resampling), min / max / mean / standard deviation / median / chosen percentiles of the grey values inside.

How (measured on the 256³ SPL atlas, 304 segments, 1.7 M labelled voxels): one `flatnonzero` finds the labelled
voxels (a `bincount` over all 16.7 M voxels costs 0.45 s; over the 1.7 M labelled ones a few ms), a lookup table
turns label values into dense ids, weighted `bincount`s give counts, coordinate sums (centroids) and grey sums;
one stable radix `argsort` by id groups the voxels per segment for `minimum/maximum.reduceat` (boxes). Percentiles:
when the grey values inside are whole numbers over a modest range (CT, MR, any integer image) a joint (segment,
value) histogram gives them exactly (26 ms for the atlas); otherwise values are sorted once and regrouped by id
(~0.3 s). Percentiles use numpy's default ("linear") definition, so they equal `np.percentile` of the values.

Volumes use the voxel volume (product of the spacing); centroids go through the geometry's `ijk_to_lps`
(direction matrix included), so a permuted or anisotropic lattice gives the same physical answers.
"""
from __future__ import annotations

import csv
import io as _io
from dataclasses import dataclass, field

import numpy as np

from .geometry import Geometry

DEFAULT_PERCENTILES = (5.0, 25.0, 75.0, 95.0)
HISTOGRAM_BINS_MAX = 1 << 24          # joint histogram size above which percentiles fall back to sorting


@dataclass
class GreyStats:
    voxels: int                  # segment voxels with a grey value (outside the reference: none)
    minimum: float
    maximum: float
    mean: float
    std: float                   # population standard deviation (numpy's default, ddof=0)
    median: float
    percentiles: dict[float, float] = field(default_factory=dict)


@dataclass
class SegmentStats:
    segment_id: str
    name: str
    layer: int
    label: int
    voxels: int
    volume_mm3: float
    bbox: tuple | None                    # ((i0, i1), (j0, j1), (k0, k1)), inclusive index bounds, None if empty
    centroid_ijk: tuple | None
    centroid_lps: tuple | None
    grey: GreyStats | None = None
    surface_mm2: float | None = None

    @property
    def volume_ml(self) -> float:
        return self.volume_mm3 / 1000.0


# ------------------------------------------------------------------------------------------------ one layer
def _dense_lookup(values: np.ndarray, labels: list[int]) -> np.ndarray:
    """1 + position of each value in `labels` (sorted), 0 for any other value."""
    labels = np.asarray(sorted(labels), dtype=np.int64)
    if values.dtype.itemsize <= 2:
        unsigned = np.uint8 if values.dtype.itemsize == 1 else np.uint16
        lut = np.zeros(1 << (8 * values.dtype.itemsize), dtype=np.int32)
        lut[labels.astype(values.dtype).view(unsigned)] = np.arange(1, len(labels) + 1)
        return lut[values.view(unsigned)]
    pos = np.minimum(np.searchsorted(labels, values), len(labels) - 1)
    return np.where(labels[pos] == values, pos + 1, 0).astype(np.int32)


def _flat_order(arr: np.ndarray) -> str:
    """The index order in which `arr` is (closest to) contiguous: ravel without a copy where possible."""
    if arr.flags.f_contiguous and not arr.flags.c_contiguous:
        return "F"
    if arr.flags.c_contiguous:
        return "C"
    return "F" if arr.strides[0] < arr.strides[-1] else "C"


def marginals(dense: np.ndarray, coords, n: int, shape):
    """Per id 1..n: voxel count, coordinate sums (3 arrays) and min / max index along each axis (3 + 3 arrays),
    from ONE integer bincount per axis of (id, coordinate) pairs: the (n, size) marginal histograms give boxes
    and centroids without sorting (measured: 2x faster than a radix argsort + reduceat on the atlas)."""
    if n == 1:                       # one segment (after an edit): plain reductions, no histograms
        k = int(np.count_nonzero(dense == 1)) if dense.size else 0
        if k != dense.size:
            coords = [c[dense == 1] for c in coords]
        if k == 0:
            z = np.zeros(1, np.int64)
            return z, [z.astype(float)] * 3, [z] * 3, [z] * 3
        return (np.array([k]), [np.array([c.sum(dtype=np.float64)]) for c in coords],
                [np.array([int(c.min())]) for c in coords], [np.array([int(c.max())]) for c in coords])
    counts = np.zeros(n, np.int64)
    sums, lo, hi = [], [], []
    for axis, c in enumerate(coords):
        size = int(shape[axis])
        h = np.bincount(dense.astype(np.int64) * size + c, minlength=(n + 1) * size).reshape(n + 1, size)[1:]
        if axis == 0:
            counts = h.sum(axis=1)
        sums.append(h @ np.arange(size, dtype=np.float64))
        seen = h > 0
        lo.append(np.argmax(seen, axis=1).astype(np.int64))
        hi.append((size - 1 - np.argmax(seen[:, ::-1], axis=1)).astype(np.int64))
    return counts, sums, lo, hi


def label_statistics(arr: np.ndarray, labels: dict[int, str], geometry: Geometry, grey: np.ndarray | None = None,
                     percentiles=DEFAULT_PERCENTILES, offset=(0, 0, 0), layer: int = 0,
                     names: dict[str, str] | None = None) -> dict[str, SegmentStats]:
    """Statistics of every label of `labels` ({label value: segment id}) in the integer array `arr`, which is the
    lattice `geometry` or a box of it starting at index `offset` (`grey`, when given, covers the same voxels)."""
    names = names or {}
    wanted = sorted(int(v) for v in labels if v != 0)
    n = len(wanted)
    order = _flat_order(arr)
    flat = arr.ravel(order=order)
    if n == 1:                   # one segment on its own box (after an edit): no lookup table
        nz = np.flatnonzero(flat == wanted[0])
        dense = np.ones(nz.size, np.int32)
    else:
        nz = np.flatnonzero(flat)
        dense = _dense_lookup(flat[nz], wanted) if n else np.zeros(0, np.int32)
        keep = dense > 0
        if not keep.all():
            nz, dense = nz[keep], dense[keep]
    coords = np.unravel_index(nz, arr.shape, order=order)
    counts, sums, lo, hi = marginals(dense, coords, n, arr.shape)
    lo = [x + o for x, o in zip(lo, offset)]
    hi = [x + o for x, o in zip(hi, offset)]
    greys = None
    if grey is not None:
        g = grey.ravel(order=order)[nz] if grey.shape == arr.shape and _flat_order(grey) == order \
            else grey[coords]
        greys = grey_statistics(g, dense, n, percentiles)
    out = {}
    vox = geometry.voxel_volume
    m = geometry.ijk_to_lps
    for pos, value in enumerate(wanted):
        sid = labels[value]
        c = int(counts[pos])
        if c:
            ijk = tuple(float(s[pos] / c + o) for s, o in zip(sums, offset))
            lps = tuple(float(x) for x in m[:3, :3] @ np.array(ijk) + m[:3, 3])
            bbox = tuple((int(lo[a][pos]), int(hi[a][pos])) for a in range(3))
        else:
            ijk = lps = bbox = None
        out[sid] = SegmentStats(sid, names.get(sid, sid), layer, value, c, c * vox, bbox, ijk, lps,
                                greys[pos] if greys is not None else None)
    return out


def grey_statistics(values: np.ndarray, dense: np.ndarray, n: int, percentiles=DEFAULT_PERCENTILES):
    """[GreyStats | None] for ids 1..n: `values[v]` is the grey value of a voxel of id `dense[v]`. NaN values
    (outside the reference volume) are left out."""
    values = np.asarray(values)
    if values.dtype.kind == "f":
        ok = ~np.isnan(values)
        if not ok.all():
            values, dense = values[ok], dense[ok]
    if n == 1:                      # one segment (recomputed after an edit): plain numpy, no bincounts
        if values.size == 0:
            return [None]
        ps = [float(p) for p in percentiles]
        q = _ranked(values, dense, np.array([values.size]), [50.0, *ps])[0]   # histogram for whole numbers
        v64 = values.astype(np.float64)
        return [GreyStats(int(values.size), q["min"], q["max"], float(v64.mean()), float(v64.std()), q[50.0],
                          {p: q[p] for p in ps})]
    cnt = np.bincount(dense, minlength=n + 1)[1:]
    v64 = values.astype(np.float64)
    mean = np.bincount(dense, weights=v64, minlength=n + 1)[1:] / np.maximum(cnt, 1)
    dev = v64 - mean[dense - 1] if dense.size else v64        # two-pass variance: no cancellation
    var = np.bincount(dense, weights=dev * dev, minlength=n + 1)[1:] / np.maximum(cnt, 1)
    ranks = _ranked(values, dense, cnt, [50.0, *percentiles])
    out = []
    for s in range(n):
        if cnt[s] == 0:
            out.append(None)
            continue
        q = ranks[s]
        out.append(GreyStats(int(cnt[s]), q["min"], q["max"], float(mean[s]), float(np.sqrt(var[s])), q[50.0],
                             {float(p): q[float(p)] for p in percentiles}))
    return out


def _positions(cnt: np.ndarray, p: float):
    """numpy's 'linear' percentile: the value between sorted ranks lo and hi at fraction t."""
    pos = (p / 100.0) * (np.maximum(cnt, 1) - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, np.maximum(cnt, 1) - 1)
    return lo, hi, pos - lo


def _lerp(a, b, t):
    d = b - a                                           # numpy's _lerp: exact at both ends
    return np.where(t >= 0.5, b - d * (1 - t), a + d * t)


def _ranked(values: np.ndarray, dense: np.ndarray, cnt: np.ndarray, percentiles) -> list[dict]:
    """Per id: min, max and the percentiles, from a joint histogram (whole-number values) or one sort."""
    n = len(cnt)
    ranks: dict = {}
    if values.size == 0:
        return [dict() for _ in range(n)]
    vmin, vmax = float(values.min()), float(values.max())
    span = vmax - vmin + 1
    whole = values.dtype.kind in "iub" or bool(np.all(values == np.floor(values)))
    if whole and span * (n + 1) <= HISTOGRAM_BINS_MAX:
        shift = values.astype(np.int64) - int(vmin)
        hist = np.bincount(dense.astype(np.int64) * int(span) + shift,
                           minlength=(n + 1) * int(span)).reshape(n + 1, int(span))[1:]
        cum = np.cumsum(hist, axis=1)

        def at(rank):                                   # value of 0-based rank `rank` in each row
            return (cum > rank[:, None]).argmax(axis=1).astype(np.float64) + vmin

        ranks["min"], ranks["max"] = at(np.zeros(n, np.int64)), at(np.maximum(cnt - 1, 0))
        for p in percentiles:
            lo, hi, t = _positions(cnt, p)
            ranks[p] = _lerp(at(lo), at(hi), t)
    else:
        by_value = np.argsort(values, kind="stable")
        regroup = by_value[np.argsort(dense[by_value], kind="stable")]
        sorted_values = values[regroup].astype(np.float64)
        starts = np.concatenate(([0], np.cumsum(cnt)[:-1])).astype(np.int64)
        last = starts + np.maximum(cnt - 1, 0)
        safe = lambda i: sorted_values[np.minimum(i, sorted_values.size - 1)]  # noqa: E731 (empty ids: ignored)
        ranks["min"], ranks["max"] = safe(starts), safe(last)
        for p in percentiles:
            lo, hi, t = _positions(cnt, p)
            ranks[p] = _lerp(safe(starts + lo), safe(starts + hi), t)
    return [{k: float(v[s]) for k, v in ranks.items()} for s in range(n)]


# ------------------------------------------------------------------------------------------------ a segmentation
def segmentation_statistics(seg, grey: np.ndarray | None = None, percentiles=DEFAULT_PERCENTILES,
                            segment_ids=None, progress=None) -> list[SegmentStats]:
    """Statistics of the segments of `seg` (all, or `segment_ids`), in the segment table's order. `grey` must be
    on the segmentation's lattice (`nearest_on_lattice` puts a reference there). Asked for all segments, each
    layer is measured in one pass; asked for a few (after an edit), each is measured on its own bounding box."""
    ids = seg.segment_ids if segment_ids is None else [i for i in seg.segment_ids if i in set(segment_ids)]
    names = {s.id: s.name for s in seg.segments}
    found: dict[str, SegmentStats] = {}
    by_layer: dict[int, list[str]] = {}
    for sid in ids:
        by_layer.setdefault(seg.segment(sid).layer, []).append(sid)
    done, total = 0, max(len(ids), 1)
    for layer, lids in by_layer.items():
        n_layer_ids = len(lids)
        whole = segment_ids is None or 2 * len(lids) >= len(seg.layer_segment_ids(layer))
        arr = seg.layers[layer]
        if whole:
            labels = {seg.segment(s).label: s for s in lids}
            found.update(label_statistics(arr, labels, seg.geometry, grey, percentiles, layer=layer, names=names))
        else:
            boxes = {sid: seg.bounding_box(sid) for sid in lids}
            for sid in lids:
                s = seg.segment(sid)
                box = boxes[sid]
                if box is None:
                    found[sid] = SegmentStats(sid, s.name, layer, s.label, 0, 0.0, None, None, None)
                    continue
                found.update(label_statistics(arr[box], {s.label: sid}, seg.geometry,
                                              None if grey is None else grey[box], percentiles,
                                              offset=tuple(b.start for b in box), layer=layer, names=names))
        done += n_layer_ids
        if progress is not None:
            progress(done / total)
    return [found[sid] for sid in ids]


# ------------------------------------------------------------------------------------------------ tables
def columns(percentiles=DEFAULT_PERCENTILES, grey: bool = False, surface: bool = False) -> list[str]:
    """The column names of the CSV / JSON / dock table, in order (documented in the README)."""
    cols = ["segment_id", "name", "layer", "label_value", "voxels", "volume_mm3", "volume_ml",
            "bbox_i_min", "bbox_i_max", "bbox_j_min", "bbox_j_max", "bbox_k_min", "bbox_k_max",
            "centroid_l_mm", "centroid_p_mm", "centroid_s_mm"]
    if grey:
        cols += ["grey_voxels", "grey_min", "grey_max", "grey_mean", "grey_std", "grey_median"]
        cols += [f"grey_p{_pct_name(p)}" for p in percentiles]
    if surface:
        cols.append("surface_mm2")
    return cols


def _pct_name(p: float) -> str:
    return f"{p:g}".replace(".", "_")


def as_row(s: SegmentStats, percentiles=DEFAULT_PERCENTILES, grey: bool = False, surface: bool = False) -> dict:
    """One row: column name -> value (None where undefined: an empty segment's box, a segment without grey)."""
    box = s.bbox or ((None, None),) * 3
    cen = s.centroid_lps or (None, None, None)
    row = {"segment_id": s.segment_id, "name": s.name, "layer": s.layer, "label_value": s.label,
           "voxels": s.voxels, "volume_mm3": s.volume_mm3, "volume_ml": s.volume_ml,
           "bbox_i_min": box[0][0], "bbox_i_max": box[0][1], "bbox_j_min": box[1][0], "bbox_j_max": box[1][1],
           "bbox_k_min": box[2][0], "bbox_k_max": box[2][1],
           "centroid_l_mm": cen[0], "centroid_p_mm": cen[1], "centroid_s_mm": cen[2]}
    if grey:
        g = s.grey
        row.update({"grey_voxels": g.voxels if g else 0, "grey_min": g and g.minimum, "grey_max": g and g.maximum,
                    "grey_mean": g and g.mean, "grey_std": g and g.std, "grey_median": g and g.median})
        for p in percentiles:
            row[f"grey_p{_pct_name(p)}"] = g.percentiles.get(float(p)) if g else None
    if surface:
        row["surface_mm2"] = s.surface_mm2
    return row


def csv_text(cols, rows) -> str:
    """CSV text: a header of column names, then one line per row dict (empty cell for None, floats in full)."""
    buf = _io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in rows:
        w.writerow(["" if r[c] is None else (repr(float(r[c])) if isinstance(r[c], float) else r[c]) for c in cols])
    return buf.getvalue()
