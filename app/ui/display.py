"""What the slice views show, shared by all of them: the document, the reference, the lookup tables, display
options (fill/outline, opacities, window/level) and the linked cursor. Views subscribe to its Qt signals.

Why this state lives in a Qt object and not in a Qt-free model (as napari's `components/`): everything that
computes is already Qt-free in `app/render` (`LutSet`, `GreyLut`, `LabelStyle`, `auto_window`, `ReferenceSlicer`,
`frames_for`); what is left here is a handful of values whose only job is to tell the views they changed. A
model class beside it would hold the same values and forward the same notifications: indirection, not thinner ui."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal

from app.render.lut import LutSet
from app.render.overlay import GreyLut, LabelStyle, auto_window
from app.render.reference import ReferenceSlicer
from app.render.view_orientation import frames_for

from .model_bridge import ModelBridge

# (name, window, level): CT presets as in Slicer's volume display module, plus "auto" (set from the volume)
WINDOW_PRESETS = (("CT brain", 100.0, 50.0), ("CT abdomen", 350.0, 40.0), ("CT bone", 1000.0, 400.0),
                  ("CT lung", 1400.0, -500.0))


class Display(QObject):
    document_changed = Signal()          # new segmentation/reference/lattice: everything is rebuilt
    structure_changed = Signal()         # forwarded from the model after the tables are rebuilt
    segments_changed = Signal(object)    # frozenset of ids, after their table entries were rewritten
    labels_recoloured = Signal(object)   # set of layer indices whose tables changed
    voxels_changed = Signal(object)      # list[VoxelChange]
    style_changed = Signal()             # fill/outline toggles or opacities: full label re-render
    grey_changed = Signal()              # window/level
    cursor_changed = Signal(object)      # the cursor, a float ijk on the display lattice

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.segmentation = None
        self.reference = None          # io.Volume
        self.geometry = None           # the display lattice: the segmentation's, else the reference's
        self.frames = {}
        self.luts: LutSet | None = None
        self.ref: ReferenceSlicer | None = None
        self.bridge: ModelBridge | None = None
        self.style = LabelStyle(fill=True, outline=True)
        self.fill_opacity = 0.5
        self.outline_opacity = 1.0
        self.window, self.level = 400.0, 40.0
        self.auto_window_level = (400.0, 40.0)
        self.cursor = np.zeros(3)
        self._grey_lut: GreyLut | None = None

    # ---------------------------------------------------------------- document
    def set_document(self, segmentation, reference) -> None:
        if self.bridge is not None:
            self.bridge.detach()
            self.bridge.deleteLater()
            self.bridge = None
        self.segmentation, self.reference = segmentation, reference
        previous = self.geometry
        self.geometry = segmentation.geometry if segmentation is not None else (
            reference.geometry if reference is not None else None)
        self.frames = frames_for(self.geometry) if self.geometry is not None else {}
        self.luts = None
        if segmentation is not None:
            self.luts = LutSet(segmentation, self._fill_alpha(), self._outline_alpha())
            self.bridge = ModelBridge(segmentation, self)
            self.bridge.structure_changed.connect(self._on_structure)
            self.bridge.segments_changed.connect(self._on_segments)
            self.bridge.voxels_changed.connect(self.voxels_changed)
        self.ref = None
        if reference is not None and self.geometry is not None:
            self.ref = ReferenceSlicer(reference.array, reference.geometry, self.geometry)
            self.auto_window_level = auto_window(reference.array)
            self.window, self.level = self.auto_window_level
        if self.geometry is not None and (previous is None or not previous.same_lattice(self.geometry)):
            self.cursor = (np.array(self.geometry.shape) - 1) / 2.0      # a new lattice: start in the middle
        self.document_changed.emit()

    def flush(self) -> None:
        """Deliver pending model events now (benchmarks, tests)."""
        if self.bridge is not None:
            self.bridge.flush()

    def _on_structure(self) -> None:
        if self.luts is not None:
            self.luts.rebuild()
        self.structure_changed.emit()
        self.labels_recoloured.emit(None)

    def _on_segments(self, ids) -> None:
        layers = self.luts.update(ids) if self.luts is not None else set()
        self.segments_changed.emit(ids)
        if layers:
            self.labels_recoloured.emit(layers)

    # ---------------------------------------------------------------- options
    def _fill_alpha(self) -> float:
        return self.fill_opacity if self.style.fill else 0.0

    def _outline_alpha(self) -> float:
        return self.outline_opacity if self.style.outline else 0.0

    def set_style(self, fill: bool | None = None, outline: bool | None = None, fill_opacity: float | None = None,
                  outline_opacity: float | None = None) -> None:
        self.style = LabelStyle(self.style.fill if fill is None else bool(fill),
                                self.style.outline if outline is None else bool(outline))
        if fill_opacity is not None:
            self.fill_opacity = float(min(1.0, max(0.0, fill_opacity)))
        if outline_opacity is not None:
            self.outline_opacity = float(min(1.0, max(0.0, outline_opacity)))
        if self.luts is not None:
            self.luts.set_opacities(self._fill_alpha(), self._outline_alpha())
        self.style_changed.emit()

    def set_window_level(self, window: float, level: float) -> None:
        self.window, self.level = max(1e-3, float(window)), float(level)
        self.grey_changed.emit()

    def grey_lut(self) -> GreyLut:
        """The window/level table for the reference's dtype (rebuilt when window/level change)."""
        lut = self._grey_lut
        dtype = self.reference.array.dtype
        if lut is None or lut.dtype != dtype or (lut.window, lut.level) != (self.window, self.level):
            lut = self._grey_lut = GreyLut(dtype, self.window, self.level)
        return lut

    # ---------------------------------------------------------------- cursor
    def set_cursor(self, ijk) -> None:
        if self.geometry is None:
            return
        hi = np.array(self.geometry.shape, dtype=float) - 1
        self.cursor = np.clip(np.asarray(ijk, dtype=float), 0, np.maximum(hi, 0))
        self.cursor_changed.emit(tuple(self.cursor))

    def set_cursor_axis(self, axis: int, value: float) -> None:
        c = self.cursor.copy()
        c[axis] = value
        self.set_cursor(c)

    def grey_value(self, ijk):
        return None if self.ref is None else self.ref.value_at(ijk)

    def describe(self, ijk) -> str:
        """Status-bar text for a continuous lattice index: position, index, grey value, every segment there."""
        vox = tuple(int(round(c)) for c in ijk)
        lps = self.geometry.index_to_physical(vox)
        text = f"LPS ({lps[0]:.1f}, {lps[1]:.1f}, {lps[2]:.1f}) mm   ijk ({vox[0]}, {vox[1]}, {vox[2]})"
        if not self.geometry.contains(vox):
            return text + "   (outside)"
        grey = self.grey_value(vox)
        if grey is not None:
            text += f"   grey {grey:g}"
        seg = self.segmentation
        if seg is not None:
            names = [seg.segment(s).name for s in seg.segments_at_voxel(vox)]
            text += "   " + (", ".join(names) if names else "(no segment)")
        return text
