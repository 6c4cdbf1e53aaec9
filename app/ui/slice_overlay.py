"""An extra image on every slice view, above the labels, that follows each view's slice: the base of the tool
previews, the Grow-from-seeds partition and the Compare dock's difference. Subclasses draw one view in
`_draw(view, item)` (an RGBA image in display orientation, or `item.clear()`)."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject
from PySide6.QtGui import QTransform


class SliceOverlay(QObject):
    def __init__(self, window, z: float) -> None:
        super().__init__(window)
        self.window = window
        self.items = []
        for view in window.slice_views:
            item = pg.ImageItem(axisOrder="row-major")
            item.setAutoDownsample(False)
            item.setZValue(z)
            view.view_box.addItem(item)
            self.items.append(item)
            view.slice_changed.connect(lambda _i, v=view, it=item: self._draw(v, it))

    def refresh(self) -> None:
        for view, item in zip(self.window.slice_views, self.items):
            self._draw(view, item)

    def image(self, n: int):
        """The RGBA currently shown on slice view n (tests, screenshots)."""
        return self.items[n].image

    def _draw(self, view, item) -> None:
        raise NotImplementedError

    @staticmethod
    def paint_codes(view, item, codes, colours: np.ndarray) -> None:
        """Show a slice of small codes (rows, cols) through a colour table (code -> RGBA), at the view's pixel
        size; None clears the view's image."""
        if codes is None:
            item.clear()
            return
        rmm, cmm = view.frame.pixel_mm
        item.setTransform(QTransform.fromScale(cmm, rmm))
        item.setImage(np.ascontiguousarray(colours[codes]), autoLevels=False, levels=None)
