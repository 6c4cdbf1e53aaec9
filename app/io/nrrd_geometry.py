"""NRRD geometry: which axes of a NRRD image are spatial (and which one, if any, lists Slicer's layers), and the
LPS lattice they span (RAS and LAS spaces are converted; a space that does not say where the patient lies is
refused)."""
from __future__ import annotations

import numpy as np

from app.model.geometry import Geometry

from .errors import FileFormatError, quoted
from .lattice import check_spacing, column_lengths
from .nrrd_header import NrrdFile

DOMAIN_KINDS = {"domain", "space", "time"}
_SPACE_FLIPS = {  # sign of (x, y, z) to turn the file's space into LPS
    "left-posterior-superior": (1, 1, 1), "lps": (1, 1, 1),
    "right-anterior-superior": (-1, -1, 1), "ras": (-1, -1, 1),
    "left-anterior-superior": (1, -1, 1), "las": (1, -1, 1),
    "rast": (-1, -1, 1), "last": (1, -1, 1), "lpst": (1, 1, 1),      # teem's short names of the "-time" spaces
}


def list_axis(nf: NrrdFile) -> int | None:
    """Index of the one non-spatial axis (Slicer's layer axis), or None for a 3D image."""
    dim = int(nf.header["dimension"])
    kinds = nf.header.get("kinds")
    if kinds is not None:
        other = [n for n, k in enumerate(kinds) if str(k).lower() not in DOMAIN_KINDS]
    else:
        dirs = nf.header.get("space directions")
        other = [n for n in range(dim) if dirs is not None and not np.all(np.isfinite(np.asarray(dirs[n], float)))]
    if len(other) > 1:
        raise FileFormatError(f"{nf.path.name} has {len(other)} non-spatial axes; at most one (the layers) is allowed")
    if other:
        return other[0]
    if dim == 4:
        return 3          # legacy 2016 layout: a 4-D "space" whose last axis is the segment index
    return None


def spatial_axes(nf: NrrdFile) -> list[int]:
    lax = list_axis(nf)
    axes = [n for n in range(int(nf.header["dimension"])) if n != lax]
    if len(axes) != 3:
        raise FileFormatError(f"{nf.path.name} is a {len(axes)}-dimensional image; a 3D image is needed")
    return axes


def geometry(nf: NrrdFile, axes: list[int]) -> Geometry:
    """The LPS lattice of the spatial axes (RAS and LAS spaces are converted)."""
    h = nf.header
    shape = tuple(nf.sizes[a] for a in axes)
    flip = np.array(space_flip(nf), dtype=float)
    dirs = h.get("space directions")
    origin = np.asarray(h.get("space origin", np.zeros(3)), dtype=float).reshape(-1)
    if (dirs is not None and (len(dirs) <= max(axes) or any(np.size(dirs[a]) < 3 for a in axes))) or origin.size < 3:
        raise FileFormatError(f"{nf.path.name}: the space directions or origin do not give 3 numbers for each axis")
    if dirs is not None:
        cols = np.array([np.asarray(dirs[a], dtype=float)[:3] for a in axes]).T
    else:
        spacings = h.get("spacings")
        sp = [float(spacings[a]) if spacings is not None and np.isfinite(spacings[a]) else 1.0 for a in axes]
        cols = np.diag(np.abs(sp))
    origin = origin[:3]
    m = np.eye(4)
    m[:3, :3] = flip[:, None] * cols
    m[:3, 3] = flip * origin
    if not np.all(np.isfinite(m)):
        raise FileFormatError(f"{nf.path.name}: the space directions or origin are not finite numbers")
    check_spacing(column_lengths(cols), nf.path.name)
    try:
        return Geometry.from_ijk_to_lps(shape, m)
    except ValueError as exc:
        raise FileFormatError(f"{nf.path.name}: {exc}") from None


def space_flip(nf: NrrdFile) -> tuple[int, int, int]:
    """Signs turning the file's `space` into LPS. A file without `space` is taken as LPS (ITK's default); the
    "-time" spaces are the same anatomical frame plus a time axis; a space that does not say where the patient
    is (scanner-xyz, 3D-right-handed, ...) or that no one knows is refused, never silently read as LPS."""
    if "space" not in nf.header:
        return 1, 1, 1
    space = str(nf.header["space"]).strip().lower()
    base = space[:-5] if space.endswith("-time") else space
    if base in _SPACE_FLIPS:
        return _SPACE_FLIPS[base]
    if base in ("scanner-xyz", "3d-right-handed", "3d-left-handed"):
        raise FileFormatError(f"{nf.path.name}: its space {quoted(nf.header['space'])} does not say which way "
                              f"the patient lies (left/right, front/back), so it cannot be placed; segedit reads "
                              f"the anatomical spaces (right-anterior-superior, left-anterior-superior, "
                              f"left-posterior-superior)")
    raise FileFormatError(f"{nf.path.name}: its space {quoted(nf.header['space'])} is not a NRRD space segedit "
                          f"knows (right-anterior-superior, left-anterior-superior, left-posterior-superior)")
