"""Two segmentations compared segment by segment (numpy/scipy/edt, no Qt): overlap and surface distances.

Segments are paired by label value, by name, or by an explicit mapping (A name or value -> B name or value). B may
lie on another lattice: its layers are put onto A's by nearest neighbour in physical space
(`app.model.resample.nearest_on_lattice`, as the reference volume is for statistics and the Threshold tool).

Per pair: voxels of A, of B, of both, only in A, only in B; Dice = 2|A∩B| / (|A|+|B|), Jaccard = |A∩B| / |A∪B|;
volumes (mm³) and B − A. All overlaps of a layer pair come from ONE joint histogram of the voxels labelled in
both (a `bincount` of dense-id pairs), not one mask per segment.

Surface distances (mm, with the spacing; optional): a segment's surface is its voxels with a 6-neighbour outside
it (`binary_erosion`); for each surface voxel of A the exact Euclidean distance to the nearest surface voxel of B
(an anisotropic EDT of the complement of B's surface, `edt` package), and the other way round. Mean symmetric
surface distance = mean of both sets together; Hausdorff = the largest; HD95 = the larger of the two directed
95th percentiles (as MONAI and SlicerRT's plastimatch). Everything is done on the pair's joint bounding box plus
one voxel, so its cost follows the segment's size, not the lattice's. An empty side gives no distances (None).
"""
from __future__ import annotations

import csv
import io as _io
from dataclasses import dataclass, field

import numpy as np

from . import labels as lb
from .geometry import Geometry
from .resample import nearest_on_lattice
from .stats import _dense_lookup, _flat_order

MATCH_BY = ("label", "name")


class CompareError(ValueError):
    """A comparison that cannot be made (a mapping naming a missing segment, labels too large to resample)."""


@dataclass
class PairResult:
    name_a: str | None
    name_b: str | None
    id_a: str | None
    id_b: str | None
    label_a: int | None
    label_b: int | None
    voxels_a: int
    voxels_b: int
    both: int
    voxel_volume: float
    box: tuple | None = None                 # joint index box on A's lattice (slices), None when both are empty
    mean_surface_mm: float | None = None
    hausdorff_mm: float | None = None
    hd95_mm: float | None = None
    extra: dict = field(default_factory=dict)

    @property
    def only_a(self) -> int:
        return self.voxels_a - self.both

    @property
    def only_b(self) -> int:
        return self.voxels_b - self.both

    @property
    def dice(self) -> float:
        total = self.voxels_a + self.voxels_b
        return 2.0 * self.both / total if total else 1.0

    @property
    def jaccard(self) -> float:
        union = self.voxels_a + self.voxels_b - self.both
        return self.both / union if union else 1.0

    @property
    def volume_a_mm3(self) -> float:
        return self.voxels_a * self.voxel_volume

    @property
    def volume_b_mm3(self) -> float:
        return self.voxels_b * self.voxel_volume

    @property
    def name(self) -> str:
        if self.name_a and self.name_b and self.name_a != self.name_b:
            return f"{self.name_a} / {self.name_b}"
        return self.name_a or self.name_b or ""


# ------------------------------------------------------------------------------------------------ matching
def parse_mapping(text: str) -> list[tuple[str, str]]:
    """Rows `A,B` of a mapping CSV (segment names or label values; a header row `a,b` / `A,B` is skipped; `#`
    starts a comment). Raises CompareError naming the line of a row that has not two cells."""
    out = []
    for n, row in enumerate(csv.reader(_io.StringIO(text)), start=1):
        cells = [c.strip() for c in row]
        if not cells or not any(cells) or cells[0].startswith("#"):
            continue
        if len(cells) != 2 or not cells[0] or not cells[1]:
            raise CompareError(f"line {n} of the mapping has {len(cells)} cell(s); it needs two: A,B")
        if n == 1 and [c.lower() for c in cells] in (["a", "b"], ["segment_a", "segment_b"], ["name_a", "name_b"]):
            continue
        out.append((cells[0], cells[1]))
    return out


def _find(seg, key: str, side: str):
    s = seg.segment_by_name(key)
    if s is not None:
        return s
    try:
        value = int(key)
    except ValueError:
        value = None
    if value is not None:
        hits = [x for x in seg.segments if x.label == value]
        if len(hits) == 1:
            return hits[0]
    hits = [x for x in seg.segments if x.id == key]
    if hits:
        return hits[0]
    raise CompareError(f"the mapping names {key!r}, which is no segment of {side} (neither a name nor a label value)")


def match_segments(a, b, by: str = "label", mapping=None) -> list[tuple[str | None, str | None]]:
    """[(A segment id or None, B segment id or None)]: matched pairs in A's order, then A's unmatched segments
    (already in the list with None), then B's unmatched ones. By label value pairs across layers only when the
    value is unique in each segmentation; else it pairs (layer position, value)."""
    if mapping is not None:
        pairs = [(_find(a, ka, "A").id, _find(b, kb, "B").id) for ka, kb in mapping]
        used_a, used_b = {p[0] for p in pairs}, {p[1] for p in pairs}
    else:
        if by not in MATCH_BY:
            raise CompareError(f"segments can be matched by {' or '.join(MATCH_BY)}, not {by!r}")

        def key(seg):
            if by == "name":
                return {s.name: s.id for s in reversed(seg.segments)}
            values = [s.label for s in seg.segments]
            return {(s.label if values.count(s.label) == 1 else (s.layer, s.label)): s.id
                    for s in reversed(seg.segments)}

        ka, kb = key(a), key(b)
        pairs = [(sid, kb[k]) for k, sid in ((k, ka[k]) for k in ka) if k in kb]
        order = {sid: n for n, sid in enumerate(a.segment_ids)}
        pairs.sort(key=lambda p: order[p[0]])
        used_a, used_b = {p[0] for p in pairs}, {p[1] for p in pairs}
    pairs += [(sid, None) for sid in a.segment_ids if sid not in used_a]
    pairs += [(None, sid) for sid in b.segment_ids if sid not in used_b]
    return pairs


# ------------------------------------------------------------------------------------------------ lattices
def layers_on(seg, target: Geometry) -> list[np.ndarray]:
    """The layers of `seg` on the lattice `target` (themselves when it is the same lattice)."""
    if seg.geometry.same_lattice(target):
        return list(seg.layers)
    out = []
    for arr in seg.layers:
        if arr.size and max(abs(int(arr.max())), abs(int(arr.min()))) > (1 << 24):
            raise CompareError("label values above 16,777,216 cannot be resampled onto another lattice")
        moved = nearest_on_lattice(arr, seg.geometry, target)
        out.append(np.nan_to_num(moved, nan=0.0).astype(arr.dtype))
    return out


# ------------------------------------------------------------------------------------------------ overlaps
def _layer_counts(arr: np.ndarray, labels: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """(dense ids of the labelled voxels (flat, in arr's order), their positions)."""
    flat = arr.ravel(order=_flat_order(arr))
    nz = np.flatnonzero(flat)
    return _dense_lookup(flat[nz], labels), nz


def compare(a, b, by: str = "label", mapping=None, distances: bool = True, progress=None) -> list[PairResult]:
    """Compare segmentation `b` to `a` (on A's lattice); results in pair order (see `match_segments`)."""
    pairs = match_segments(a, b, by, mapping)
    b_layers = layers_on(b, a.geometry)
    order = _flat_order(a.layers[0]) if a.layers else "C"
    b_layers = [np.asarray(x, order=order) for x in b_layers]
    shape = a.geometry.shape
    # voxel counts and boxes of B on A's lattice (after resampling they differ from B's own)
    b_counts = [lb.histogram(x) for x in b_layers]
    b_boxes = [lb.boxes_of(x) for x in b_layers]
    # overlaps: one joint histogram per pair of layers that has pairs
    both: dict[tuple[str, str], int] = {}
    by_layers: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for ia, ib in pairs:
        if ia is not None and ib is not None:
            sa, sb = a.segment(ia), b.segment(ib)
            by_layers.setdefault((sa.layer, sb.layer), []).append((sa.label, sb.label))
    for (la, lbr), lab_pairs in by_layers.items():
        arr_a, arr_b = a.layers[la], b_layers[lbr]
        fa = arr_a.ravel(order=order)
        fb = arr_b.ravel(order=order)
        idx = np.flatnonzero((fa != 0) & (fb != 0))
        va = sorted({p[0] for p in lab_pairs})
        vb = sorted({p[1] for p in lab_pairs})
        da, db = _dense_lookup(fa[idx], va), _dense_lookup(fb[idx], vb)
        joint = np.bincount(da.astype(np.int64) * (len(vb) + 1) + db,
                            minlength=(len(va) + 1) * (len(vb) + 1)).reshape(len(va) + 1, len(vb) + 1)
        pos_a, pos_b = {v: n + 1 for n, v in enumerate(va)}, {v: n + 1 for n, v in enumerate(vb)}
        for pa, pb in lab_pairs:
            both[(la, pa, lbr, pb)] = int(joint[pos_a[pa], pos_b[pb]])
    results = []
    vv = a.geometry.voxel_volume
    for n, (ia, ib) in enumerate(pairs):
        sa = a.segment(ia) if ia is not None else None
        sb = b.segment(ib) if ib is not None else None
        na = a.voxel_count(ia) if sa else 0
        nb = b_counts[sb.layer].get(sb.label, 0) if sb else 0
        box_a = a.bounding_box(ia) if sa else None
        box_b = b_boxes[sb.layer].get(sb.label) if sb else None
        inter = both.get((sa.layer, sa.label, sb.layer, sb.label), 0) if sa and sb else 0
        r = PairResult(sa.name if sa else None, sb.name if sb else None, ia, ib, sa.label if sa else None,
                       sb.label if sb else None, na, nb, inter, vv, lb.union_box(box_a, box_b))
        if distances and na and nb:
            pad = tuple(slice(max(s.start - 1, 0), min(s.stop + 1, n_)) for s, n_ in zip(r.box, shape))
            ma = a.layers[sa.layer][pad] == sa.label
            mb = b_layers[sb.layer][pad] == sb.label
            r.mean_surface_mm, r.hausdorff_mm, r.hd95_mm = surface_distances(ma, mb, a.geometry.spacing)
        results.append(r)
        if progress is not None:
            progress((n + 1) / max(len(pairs), 1))
    return results


# ------------------------------------------------------------------------------------------------ distances
_SIX = None


def surface(mask: np.ndarray) -> np.ndarray:
    """Voxels of `mask` with a face neighbour outside it (the lattice's edge counts as outside)."""
    from scipy import ndimage

    global _SIX
    if _SIX is None:
        _SIX = ndimage.generate_binary_structure(3, 1)
    return mask & ~ndimage.binary_erosion(mask, _SIX, border_value=0)


def _distance_to(target_surface: np.ndarray, spacing) -> np.ndarray:
    """Exact Euclidean distance (mm) from every voxel to the nearest voxel of `target_surface`."""
    import edt

    free = np.ascontiguousarray(~target_surface)
    return edt.edt(free, anisotropy=tuple(float(s) for s in spacing), black_border=False, parallel=1)


def surface_distances(ma: np.ndarray, mb: np.ndarray, spacing) -> tuple[float, float, float]:
    """(mean symmetric surface distance, Hausdorff, HD95) in mm between two non-empty boolean masks of one box."""
    sa, sb = surface(ma), surface(mb)
    if np.array_equal(sa, sb):
        return 0.0, 0.0, 0.0
    d_ab = _distance_to(sb, spacing)[sa]
    d_ba = _distance_to(sa, spacing)[sb]
    mean = float((d_ab.sum() + d_ba.sum()) / (d_ab.size + d_ba.size))
    hd = float(max(d_ab.max(), d_ba.max()))
    hd95 = float(max(np.percentile(d_ab, 95), np.percentile(d_ba, 95)))
    return mean, hd, hd95


# ------------------------------------------------------------------------------------------------ tables
COLUMNS = ["name_a", "name_b", "label_a", "label_b", "dice", "jaccard", "volume_a_mm3", "volume_b_mm3",
           "volume_diff_mm3", "voxels_a", "voxels_b", "voxels_both", "only_a", "only_b",
           "mean_surface_mm", "hausdorff_mm", "hd95_mm"]


def as_row(r: PairResult) -> dict:
    return {"name_a": r.name_a, "name_b": r.name_b, "label_a": r.label_a, "label_b": r.label_b,
            "dice": r.dice, "jaccard": r.jaccard, "volume_a_mm3": r.volume_a_mm3, "volume_b_mm3": r.volume_b_mm3,
            "volume_diff_mm3": r.volume_b_mm3 - r.volume_a_mm3, "voxels_a": r.voxels_a, "voxels_b": r.voxels_b,
            "voxels_both": r.both, "only_a": r.only_a, "only_b": r.only_b, "mean_surface_mm": r.mean_surface_mm,
            "hausdorff_mm": r.hausdorff_mm, "hd95_mm": r.hd95_mm}


def worst_first(results: list[PairResult]) -> list[PairResult]:
    """Lowest Dice first; ties by the larger Hausdorff distance, then by name."""
    return sorted(results, key=lambda r: (r.dice, -(r.hausdorff_mm or 0.0), r.name))
