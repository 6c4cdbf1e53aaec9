"""The preview overlay of the Tools panel: one extra image on every slice view, above the labels, showing what a
tool would do (green: voxels gained, magenta: voxels lost, amber: voxels in the threshold range). It follows each
view's slice; nothing is written to the segmentation until Apply."""
from __future__ import annotations

import numpy as np

from ..slice_overlay import SliceOverlay

GAINED, LOST, IN_RANGE = 1, 2, 3
COLOURS = np.array([[0, 0, 0, 0], [40, 255, 60, 175], [255, 40, 210, 175], [255, 190, 0, 150]], dtype=np.uint8)


class PreviewOverlay(SliceOverlay):
    """`show(fn)`: fn(frame, index) -> (rows, cols) uint8 codes in display orientation, or None; `clear()`."""

    def __init__(self, window) -> None:
        self._fn = None
        super().__init__(window, z=40)

    @property
    def shown(self) -> bool:
        return self._fn is not None

    def show(self, fn) -> None:
        self._fn = fn
        self.refresh()

    def show_codes(self, codes: np.ndarray) -> None:
        """A full-lattice uint8 code volume."""
        self.show(lambda frame, index: frame.extract(codes, index))

    def clear(self) -> None:
        self._fn = None
        for item in self.items:
            item.clear()

    def _draw(self, view, item) -> None:
        frame = view.frame
        codes = None if self._fn is None or frame is None else self._fn(frame, view.slice_index)
        self.paint_codes(view, item, codes, COLOURS)
