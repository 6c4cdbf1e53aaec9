"""How the three slice views are arranged in the window (View > Layout, `--layout`, saved in the settings)."""
from __future__ import annotations

import enum


class Layout(enum.Enum):
    ONE_PLUS_TWO = "Axial large, coronal and sagittal"
    ROW = "Three views in a row"
    AXIAL = "Axial only"
    CORONAL = "Coronal only"
    SAGITTAL = "Sagittal only"
    FOUR_UP = "Four-up: axial, 3D, sagittal, coronal"       # Slicer's Four-Up (needs the 3D extension)
    THREE_D = "3D only"

    @property
    def has_3d(self) -> bool:
        return self in (Layout.FOUR_UP, Layout.THREE_D)
