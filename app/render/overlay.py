"""Label slices -> RGBA images (uint32 per pixel), whole or one changed box at a time.

Fill colours come from the layer's fill table, the outline (label-boundary pixels of the slice: a pixel whose
4-neighbour has another label) from its outline table. One `np.take` per layer per slice; the result is a
(rows, cols) uint32 array whose uint8 view (rows, cols, 4) is RGBA, composited by the caller over the grey.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .lut import RGBA_DTYPE, LayerLut


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
    """A (rows, cols) label slice (any view) -> contiguous uint32 RGBA of the same shape."""
    if style.fill:
        out = lut.colour(labels)
    else:
        out = np.zeros(labels.shape, dtype=RGBA_DTYPE)
    if style.outline:
        edge = boundary(labels)
        out[edge] = lut.colour(labels[edge], outline=True)
    return out


def recolour_box(out: np.ndarray, labels: np.ndarray, lut: LayerLut, style: LabelStyle,
                 rows: slice, cols: slice) -> None:
    """Recompute `out` where labels changed inside (rows, cols) and on its one-pixel rim (outlines move there)."""
    n_r, n_c = labels.shape
    r0, r1 = max(0, rows.start - 1), min(n_r, rows.stop + 1)         # written back
    c0, c1 = max(0, cols.start - 1), min(n_c, cols.stop + 1)
    e0, e1 = max(0, r0 - 1), min(n_r, r1 + 1)                         # read (neighbours of the rim)
    f0, f1 = max(0, c0 - 1), min(n_c, c1 + 1)
    if r0 >= r1 or c0 >= c1:
        return
    part = colour_labels(labels[e0:e1, f0:f1], lut, style)
    out[r0:r1, c0:c1] = part[r0 - e0:r1 - e0, c0 - f0:c1 - f0]


def as_rgba(img: np.ndarray) -> np.ndarray:
    """uint32 (rows, cols) -> uint8 (rows, cols, 4) view."""
    return img.view(np.uint8).reshape(img.shape + (4,))


def window_level(grey: np.ndarray, window: float, level: float) -> np.ndarray:
    """Grey values -> uint8 display values (linear ramp of width `window` centred on `level`)."""
    window = max(float(window), 1e-6)
    lo = float(level) - window / 2.0
    g = grey.astype(np.float32)
    g -= lo
    g *= 255.0 / window
    np.clip(g, 0.0, 255.0, out=g)
    return g.astype(np.uint8)


def auto_window(array: np.ndarray, sample: int = 200_000) -> tuple[float, float]:
    """A robust default (window, level): the 1st..99th percentile of a strided sample of the volume."""
    flat = array.reshape(-1)
    step = max(1, flat.size // sample)
    lo, hi = np.percentile(flat[::step], [1.0, 99.0]) if flat.size else (0.0, 1.0)
    if hi <= lo:
        hi = lo + 1.0
    return float(hi - lo), float((hi + lo) / 2.0)


class LabelImages:
    """The coloured label images of one view (one uint32 image per layer), kept for partial updates."""

    def __init__(self) -> None:
        self.images: list[np.ndarray] = []
        self.index: int | None = None

    def render(self, layers: list[np.ndarray], luts: list[LayerLut], frame, index: int,
               style: LabelStyle) -> list[np.ndarray]:
        self.index = int(index)
        self.images = [colour_labels(frame.extract(arr, index), lut, style) for arr, lut in zip(layers, luts)]
        return self.images

    def recolour(self, layer: int, layers, luts, frame, style: LabelStyle) -> np.ndarray:
        """A layer's table changed: recolour its whole slice (one np.take)."""
        self.images[layer] = colour_labels(frame.extract(layers[layer], self.index), luts[layer], style)
        return self.images[layer]

    def update_voxels(self, changes, layers, luts, frame, style: LabelStyle) -> set[int]:
        """Voxels changed in boxes: recolour only the part of the shown slice each box covers.
        Returns the layers whose image changed."""
        touched = set()
        for ch in changes:
            if self.index is None or ch.layer >= len(self.images) or not frame.crosses(ch.box, self.index):
                continue
            rows, cols = frame.display_range(ch.box)
            labels = frame.extract(layers[ch.layer], self.index)
            recolour_box(self.images[ch.layer], labels, luts[ch.layer], style, rows, cols)
            touched.add(ch.layer)
        return touched
