"""What a change event carries, without the signal machinery: a model used without subscribers (the command line,
scripts) never imports psygnal."""
from __future__ import annotations

from dataclasses import dataclass, field

Box = tuple  # tuple[slice, slice, slice]: an index box on the segmentation lattice


@dataclass
class VoxelChange:
    """Voxels changed in `layer` inside `box`; `segment_ids` are the segments that gained or lost voxels."""

    layer: int
    box: Box
    segment_ids: frozenset = field(default_factory=frozenset)
