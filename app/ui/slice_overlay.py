"""An extra image on every slice view, above the labels, that follows each view's slice: the base of the tool
previews, the Grow-from-seeds partition and the Compare dock's difference. Subclasses draw one view in
`_draw(view, item)` (an RGBA image in display orientation, or `item.clear()`)."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QObject


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
