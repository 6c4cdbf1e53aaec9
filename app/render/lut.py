"""Per-layer colour lookup tables packed as uint32 (Slicer's one-pipeline-per-layer design, §6).

Entries are premultiplied ARGB32 (`0xAARRGGBB`, colour channels already multiplied by alpha): the format Qt blends
fastest, so a coloured slice goes to the screen without any conversion. A table maps a label value of one layer to the colour of the segment that owns it; hidden segments, label 0 and
labels owned by no segment are fully transparent. A slice is coloured with one `np.take(table, labels,
mode="clip")`: the table ends with a transparent entry, so values above the largest label (orphan voxels) clip to
it, and negative values clip to entry 0 unless a segment owns a negative label (then `offset` shifts indices).
Colour, visibility and opacity changes only rewrite table entries: the cost never depends on the segment count.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.model.segment import Segment

RGBA_DTYPE = np.dtype("=u4")     # one premultiplied ARGB32 pixel (Qt's QImage.Format_ARGB32_Premultiplied)


def pack_argb(rgb, alpha: float) -> int:
    """RGB in 0..1 and alpha in 0..1 -> one premultiplied ARGB32 value."""
    a = int(round(min(1.0, max(0.0, alpha)) * 255))
    r, g, b = (int(round(min(1.0, max(0.0, c)) * a)) for c in rgb)
    return (a << 24) | (r << 16) | (g << 8) | b


def pack_argb_many(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """`pack_argb` for N colours at once (N x 3 and N values in 0..1): the same values (np.rint and round() both
    round half to even)."""
    a = np.rint(np.clip(np.asarray(alpha, dtype=np.float64), 0.0, 1.0) * 255).astype(np.int64)
    c = np.rint(np.clip(np.asarray(rgb, dtype=np.float64).reshape(-1, 3), 0.0, 1.0) * a[:, None]).astype(np.int64)
    return ((a << 24) | (c[:, 0] << 16) | (c[:, 1] << 8) | c[:, 2]).astype(RGBA_DTYPE)


def unpack_rgba(value: int) -> tuple[int, int, int, int]:
    """Premultiplied ARGB32 -> straight (r, g, b, a) in 0..255 (for tests and colour pickers)."""
    v = int(value)
    a = (v >> 24) & 255
    if a == 0:
        return 0, 0, 0, 0
    return tuple(min(255, round(((v >> s) & 255) * 255 / a)) for s in (16, 8, 0)) + (a,)


def to_rgba(image: np.ndarray) -> np.ndarray:
    """Premultiplied ARGB32 image (..., uint32) -> straight RGBA uint8 (..., 4)."""
    v = image.astype(np.uint32)
    a = (v >> 24).astype(np.float32)
    out = np.zeros(image.shape + (4,), dtype=np.uint8)
    safe = np.where(a > 0, a, 1.0)
    for n, s in enumerate((16, 8, 0)):
        out[..., n] = np.clip(np.rint(((v >> s) & 255) * 255.0 / safe), 0, 255)
    out[..., 3] = a
    return out


MAX_DENSE = 1 << 20      # label values spanning more than this (uint32 layers) use a sorted-key table


@dataclass
class LayerLut:
    """The fill and outline tables of one layer. Dense: `index = label + offset` (last entry transparent).
    Sparse (`keys` set, for label values too large for a direct table): `index = 1 + position in keys`, 0 for
    values that are no segment's."""

    fill: np.ndarray
    outline: np.ndarray
    offset: int = 0
    keys: np.ndarray | None = None

    def index(self, labels: np.ndarray) -> np.ndarray:
        if self.keys is None:
            return labels if self.offset == 0 else labels.astype(np.int64) + self.offset
        pos = np.minimum(np.searchsorted(self.keys, labels), len(self.keys) - 1)
        return np.where(self.keys[pos] == labels, pos + 1, 0)

    def entry(self, label: int) -> int:
        if self.keys is None:
            return label + self.offset
        pos = int(np.searchsorted(self.keys, label))
        return pos + 1 if pos < len(self.keys) and self.keys[pos] == label else -1

    def colour(self, labels: np.ndarray, outline: bool = False) -> np.ndarray:
        """Label array (any shape, any integer dtype) -> premultiplied ARGB32 array of the same shape."""
        table = self.outline if outline else self.fill
        return np.take(table, self.index(labels), mode="clip")


def build_lut(segments: list[Segment], fill_opacity: float = 0.5, outline_opacity: float = 1.0) -> LayerLut:
    """Tables for the segments of ONE layer (their `label`s index the tables)."""
    labels = [s.label for s in segments]
    lo, hi = (min(labels), max(labels)) if labels else (0, 0)
    if hi - min(lo, 0) <= MAX_DENSE:
        offset = max(0, -lo)
        size = hi + offset + 2
        lut = LayerLut(np.zeros(size, dtype=RGBA_DTYPE), np.zeros(size, dtype=RGBA_DTYPE), offset)
    else:
        keys = np.array(sorted(labels), dtype=np.int64)
        size = len(keys) + 1
        lut = LayerLut(np.zeros(size, dtype=RGBA_DTYPE), np.zeros(size, dtype=RGBA_DTYPE), 0, keys)
    set_entries(lut, segments, fill_opacity, outline_opacity)
    return lut


def set_entry(lut: LayerLut, segment: Segment, fill_opacity: float, outline_opacity: float) -> None:
    """Rewrite the entries of one segment (colour/visibility/opacity change: O(1))."""
    i = lut.entry(segment.label)
    if not 0 <= i < len(lut.fill) - (1 if lut.keys is None else 0) or (lut.keys is not None and i == 0):
        raise IndexError(f"label {segment.label} is outside this table: rebuild it")
    if not segment.visible:
        lut.fill[i] = lut.outline[i] = 0
        return
    lut.fill[i] = pack_argb(segment.color, segment.opacity * fill_opacity)
    lut.outline[i] = pack_argb(segment.color, segment.opacity * outline_opacity)


def set_entries(lut: LayerLut, segments: list[Segment], fill_opacity: float, outline_opacity: float) -> None:
    """`set_entry` for many segments of one layer at once, in numpy (hiding a group of 300: 3 ms -> 0.2 ms)."""
    if len(segments) < 8:
        for segment in segments:
            set_entry(lut, segment, fill_opacity, outline_opacity)
        return
    labels = np.array([s.label for s in segments], dtype=np.int64)
    if lut.keys is None:
        idx = labels + lut.offset
        bad = (idx < 0) | (idx >= len(lut.fill) - 1)
    else:
        pos = np.minimum(np.searchsorted(lut.keys, labels), len(lut.keys) - 1)
        bad = lut.keys[pos] != labels
        idx = pos + 1
    if bad.any():
        raise IndexError(f"label {int(labels[bad][0])} is outside this table: rebuild it")
    shown = np.array([s.visible for s in segments], dtype=bool)
    opacity = np.array([s.opacity for s in segments], dtype=np.float64)
    colour = np.array([s.color for s in segments], dtype=np.float64)
    lut.fill[idx] = np.where(shown, pack_argb_many(colour, opacity * fill_opacity), 0)
    lut.outline[idx] = np.where(shown, pack_argb_many(colour, opacity * outline_opacity), 0)


class LutSet:
    """The tables of every layer of one segmentation, kept current from its change events by the caller."""

    def __init__(self, segmentation, fill_opacity: float = 0.5, outline_opacity: float = 1.0) -> None:
        self.segmentation = segmentation
        self.fill_opacity = fill_opacity
        self.outline_opacity = outline_opacity
        self.luts: list[LayerLut] = []
        self.rebuild()

    def rebuild(self) -> None:
        seg = self.segmentation
        by_layer: list[list[Segment]] = [[] for _ in range(seg.n_layers)]
        for s in seg.segments:
            by_layer[s.layer].append(s)
        self.luts = [build_lut(ss, self.fill_opacity, self.outline_opacity) for ss in by_layer]

    def set_opacities(self, fill: float, outline: float) -> None:
        self.fill_opacity, self.outline_opacity = float(fill), float(outline)
        self.rebuild()

    def update(self, segment_ids) -> set[int]:
        """Rewrite the entries of these segments; returns the layers whose tables changed."""
        seg = self.segmentation
        if len(self.luts) != seg.n_layers:
            self.rebuild()
            return set(range(seg.n_layers))
        by_layer: dict[int, list[Segment]] = {}
        for sid in segment_ids:
            if sid in seg:
                s = seg.segment(sid)
                by_layer.setdefault(s.layer, []).append(s)
        try:
            for layer, segments in by_layer.items():
                set_entries(self.luts[layer], segments, self.fill_opacity, self.outline_opacity)
        except IndexError:              # a label beyond the table (relabelled segment): rebuild everything
            self.rebuild()
            return set(range(seg.n_layers))
        return set(by_layer)
