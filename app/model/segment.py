"""One segment: (layer, label value) inside a shared labelmap layer, plus its metadata and display state."""
from __future__ import annotations

import colorsys
import uuid
from dataclasses import dataclass, field

from app.resources import default_colors

STATUS_TAG = "Segmentation.Status"
STATUSES = ("notstarted", "inprogress", "completed", "flagged")

# The colours Slicer gives new segments (first entries of its GenericAnatomyColors; the table ships as
# app/resources/default_colors.json; `ANATOMY_COLORS`, read when first asked for: opening a file whose segments
# have their colours never needs it); past these, colours are spread around the hue circle by the golden ratio.
def __getattr__(name: str):
    if name == "ANATOMY_COLORS":
        return default_colors()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def generated_color(n: int) -> tuple[float, float, float]:
    """The n-th automatic colour (n >= 0), RGB in 0..1, deterministic."""
    colors = default_colors()
    if n < len(colors):
        return tuple(c / 255.0 for c in colors[n])
    h = (n * 0.618033988749895) % 1.0
    s = 0.45 + 0.25 * ((n * 7) % 3) / 2
    v = 0.75 + 0.2 * ((n * 5) % 2)
    return colorsys.hsv_to_rgb(h, s, v)


def new_segment_id() -> str:
    """A DICOM-style UUID-derived id, as current Slicer generates (2.25.<decimal uuid>)."""
    return f"2.25.{uuid.uuid4().int}"


@dataclass
class Segment:
    """Metadata of one segment. `layer` and `label` are owned by the Segmentation: change them through it.

    `tags` are round-tripped verbatim (Slicer `SegmentN_Tags`, insertion order kept). `extra` holds unknown
    per-segment file keys (`SegmentN_<Key>`) so they survive a round trip. visible/opacity/locked are display
    and editing state: they are not stored in .seg.nrrd (Slicer keeps them in the scene).
    """

    id: str
    name: str
    color: tuple[float, float, float]
    layer: int
    label: int
    tags: dict[str, str] = field(default_factory=dict)
    name_auto_generated: bool = False
    color_auto_generated: bool = False
    visible: bool = True
    opacity: float = 1.0
    locked: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return self.tags.get(STATUS_TAG, "notstarted")

    def copy(self) -> "Segment":
        return Segment(self.id, self.name, tuple(self.color), self.layer, self.label, dict(self.tags),
                       self.name_auto_generated, self.color_auto_generated, self.visible, self.opacity,
                       self.locked, dict(self.extra))
