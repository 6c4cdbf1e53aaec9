"""Label and grey slices -> 32-bit images, whole or one changed box at a time.

Each layer's slice is gathered once into a contiguous array (a lattice stored in Fortran order makes some planes
strided: every later pass is then cache-friendly), coloured with one `np.take` through the layer's table (premultiplied
ARGB32), and its outline (label-boundary pixels: a 4-neighbour with another label) taken from the outline table.
The grey goes through a window/level table straight to opaque RGB32. The caller stacks grey and layers (Qt blends
premultiplied ARGB32 without conversion).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .lut import RGBA_DTYPE, LayerLut
from .plane_slabs import PlaneSlicer


@dataclass(frozen=True)
class LabelStyle:
    fill: bool = True
    outline: bool = True


def boundary(labels: np.ndarray) -> np.ndarray:
    """Boolean (rows, cols): True where a 4-neighbour has a different label (both sides of every border)."""
    b = np.zeros(labels.shape, dtype=bool)
    d = labels[1:, :] != labels[:-1, :]
    b[1:, :] |= d
    b[:-1, :] |= d
    d = labels[:, 1:] != labels[:, :-1]
    b[:, 1:] |= d
    b[:, :-1] |= d
    return b


def colour_labels(labels: np.ndarray, lut: LayerLut, style: LabelStyle) -> np.ndarray:
    """A (rows, cols) label slice -> contiguous premultiplied ARGB32 of the same shape."""
    labels = np.ascontiguousarray(labels)
    if style.fill:
        out = lut.colour(labels)
    else:
        out = np.zeros(labels.shape, dtype=RGBA_DTYPE)
    if style.outline:
        edge = boundary(labels)
        out[edge] = lut.colour(labels[edge], outline=True)
    return out


def recolour_box(out: np.ndarray, labels: np.ndarray, lut: LayerLut, style: LabelStyle,
                 rows: slice, cols: slice) -> tuple[slice, slice] | None:
    """Recompute `out` where labels changed inside (rows, cols) and on its one-pixel rim (outlines move there).
    Returns the (rows, cols) region of `out` that was rewritten."""
    n_r, n_c = labels.shape
    r0, r1 = max(0, rows.start - 1), min(n_r, rows.stop + 1)         # written back
    c0, c1 = max(0, cols.start - 1), min(n_c, cols.stop + 1)
    e0, e1 = max(0, r0 - 1), min(n_r, r1 + 1)                         # read (neighbours of the rim)
    f0, f1 = max(0, c0 - 1), min(n_c, c1 + 1)
    if r0 >= r1 or c0 >= c1:
        return None
    part = colour_labels(labels[e0:e1, f0:f1], lut, style)
    out[r0:r1, c0:c1] = part[r0 - e0:r1 - e0, c0 - f0:c1 - f0]
    return slice(r0, r1), slice(c0, c1)


def window_level(grey: np.ndarray, window: float, level: float) -> np.ndarray:
    """Grey values -> uint8 display values (linear ramp of width `window` centred on `level`)."""
    window = max(float(window), 1e-6)
    lo = float(level) - window / 2.0
    g = grey.astype(np.float32)
    g -= lo
    g *= 255.0 / window
    np.clip(g, 0.0, 255.0, out=g)
    return g.astype(np.uint8)


_GREY_RGB32 = (np.uint32(0xFF000000) | (np.arange(256, dtype=np.uint32) * np.uint32(0x010101))).astype(RGBA_DTYPE)


class GreyLut:
    """Window/level as a table from every value of a (u)int8/16 dtype to opaque RGB32 (0xFFgggggg); other dtypes
    are ramped arithmetically. `apply(slice)` -> contiguous uint32 image."""

    def __init__(self, dtype, window: float, level: float) -> None:
        self.dtype = np.dtype(dtype)
        self.window, self.level = float(window), float(level)
        self.table = None
        if self.dtype.kind in "iu" and self.dtype.itemsize <= 2:
            unsigned = np.dtype(f"u{self.dtype.itemsize}")
            values = np.arange(2 ** (8 * self.dtype.itemsize), dtype=np.uint64).astype(unsigned).view(self.dtype)
            self.table = _GREY_RGB32[window_level(values, window, level)]
            self._unsigned = unsigned

    def apply(self, grey: np.ndarray) -> np.ndarray:
        if self.table is not None:
            return np.take(self.table, grey.view(self._unsigned))
        return np.take(_GREY_RGB32, window_level(grey, self.window, self.level))


def auto_window(array: np.ndarray, sample: int = 200_000, spike: float = 0.01) -> tuple[float, float]:
    """A robust default (window, level): the 1st..99th percentile of a strided sample of the volume's own
    values. Padding is left out: when the lowest value is a spike (>= `spike` of the voxels, e.g.
    -3024 outside a CT's field of view, 21 % of Slicer's chest CT), voxels of that value are not counted; air
    (-1000) then lands at the dark end instead of mid-grey. Non-finite values are ignored."""
    flat = array.ravel(order="K")      # a view for C- or Fortran-ordered volumes
    step = max(1, flat.size // sample)
    values = flat[::step]
    if values.dtype.kind == "f":
        values = values[np.isfinite(values)]
    if values.size == 0:
        return 1.0, 0.5
    at = values == values.min()
    if np.count_nonzero(at) >= spike * values.size:
        rest = values[~at]
        if rest.size and rest.min() < rest.max():          # not for a two-valued (mask-like) image
            values = rest
    lo, hi = np.percentile(values, [1.0, 99.0])
    if hi <= lo:
        hi = lo + 1.0
    return float(hi - lo), float((hi + lo) / 2.0)


class LabelImages:
    """The coloured label images of one view (one uint32 image per layer) and the contiguous label slices they
    came from, kept so a table change recolours without re-slicing and a paint stroke redoes only its box."""

    def __init__(self) -> None:
        self.images: list[np.ndarray] = []
        self.slices: list[np.ndarray] = []
        self.index: int | None = None
        self._planes: list[PlaneSlicer] = []

    def _slicer(self, n: int, arr: np.ndarray, axis: int) -> PlaneSlicer:
        while len(self._planes) <= n:
            self._planes.append(None)
        ps = self._planes[n]
        if ps is None or ps.array is not arr or ps.axis != axis:
            ps = self._planes[n] = PlaneSlicer(arr, axis)
        return ps

    def render(self, layers: list[np.ndarray], luts: list[LayerLut], frame, index: int,
               style: LabelStyle) -> list[np.ndarray]:
        self.index = int(index)
        del self._planes[len(layers):]
        self.slices = [np.ascontiguousarray(frame.orient(self._slicer(n, arr, frame.plane_axis).plane(index)))
                       for n, arr in enumerate(layers)]
        self.images = [colour_labels(s, lut, style) for s, lut in zip(self.slices, luts)]
        return self.images

    def recolour(self, layer: int, luts, style: LabelStyle) -> np.ndarray:
        """A layer's table changed: recolour its slice (one np.take; same buffer, rewritten in place)."""
        self.images[layer][...] = colour_labels(self.slices[layer], luts[layer], style)
        return self.images[layer]

    def note_voxels(self, changes) -> None:
        """Voxels changed (shown slice or not, view drawn or not): keep the gathered plane blocks current."""
        for ch in changes:
            if ch.layer < len(self._planes) and self._planes[ch.layer] is not None:
                self._planes[ch.layer].update(ch.box)

    def update_voxels(self, changes, layers, luts, frame, style: LabelStyle) -> dict[int, list]:
        """Voxels changed in boxes: refresh the part of the shown slice each box covers (call `note_voxels`
        first). Returns {layer: [(rows, cols) regions rewritten]}."""
        touched: dict[int, list] = {}
        for ch in changes:
            if self.index is None or ch.layer >= len(self.images) or not frame.crosses(ch.box, self.index):
                continue
            rows, cols = frame.display_range(ch.box)
            self.slices[ch.layer][rows, cols] = frame.extract(layers[ch.layer], self.index)[rows, cols]
            region = recolour_box(self.images[ch.layer], self.slices[ch.layer], luts[ch.layer], style, rows, cols)
            if region is not None:
                touched.setdefault(ch.layer, []).append(region)
        return touched
