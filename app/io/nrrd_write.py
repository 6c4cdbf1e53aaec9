"""NRRD writing in teem's (and so 3D Slicer's) layout: header text, number formatting, data chunks."""
from __future__ import annotations

import numpy as np

from app.model.geometry import Geometry

from .gzip_fast import gzip_chunks
from .nrrd_header import NUMPY_TO_NRRD, escape


def format_number(x: float) -> str:
    """Shortest round-trip text; integers without '.0' (as teem prints them)."""
    x = float(x)
    if x == 0:
        return "0"
    text = repr(x)
    return text[:-2] if text.endswith(".0") else text


def format_vector(v) -> str:
    return "(" + ",".join(format_number(c) for c in v) + ")"


def header_text(dtype: np.dtype, sizes, geometry: Geometry, list_first: bool, encoding: str,
                custom: list[tuple[str, str]], data_file: str | None = None) -> bytes:
    """A teem-style header: Slicer's field order, LPS, list axis first when `list_first`."""
    cols = geometry.direction_matrix * np.array(geometry.spacing)[None, :]
    dirs = " ".join(format_vector(cols[:, a]) for a in range(3))
    lines = ["NRRD0004", "# Complete NRRD file format specification at:",
             "# http://teem.sourceforge.net/nrrd/format.html",
             f"type: {NUMPY_TO_NRRD[dtype.str[1:]]}", f"dimension: {len(sizes)}",
             "space: left-posterior-superior", "sizes: " + " ".join(str(int(s)) for s in sizes),
             "space directions: " + ("none " if list_first else "") + dirs,
             "kinds: " + ("list " if list_first else "") + "domain domain domain"]
    if dtype.itemsize > 1:
        lines.append("endian: little")
    lines += [f"encoding: {encoding}", "space origin: " + format_vector(geometry.origin)]
    if data_file is not None:
        lines.append(f"data file: {data_file}")
    for key, value in custom:
        lines.append(f"{escape(key)}:={escape(value)}")
    return ("\n".join(lines) + "\n\n").encode("utf-8")




def write_payload(fh, chunks, level: int) -> None:
    """Write data chunks raw (level 0) or as one gzip member."""
    if level == 0:
        for c in chunks:
            fh.write(c)
        return
    for piece in gzip_chunks(chunks, level):
        fh.write(piece)


def volume_chunks(arr: np.ndarray, dtype: np.dtype, progress=None, slab_bytes: int = 8 << 20):
    """File-order (axis 0 fastest) little-endian bytes of a 3D array, in slabs along the last axis."""
    dtype = np.dtype(dtype).newbyteorder("<")
    per_k = max(1, arr.shape[0] * arr.shape[1] * dtype.itemsize)
    step = max(1, slab_bytes // per_k)
    nk = arr.shape[2]
    for k0 in range(0, nk, step):
        slab = np.asfortranarray(arr[:, :, k0:k0 + step], dtype=dtype)
        yield memoryview(slab.reshape(-1, order="F")) if slab.flags.f_contiguous else slab.tobytes(order="F")
        if progress:
            progress(min(1.0, (k0 + step) / nk))


def layered_chunks(layers: list[np.ndarray], dtype: np.dtype, progress=None, slab_bytes: int = 8 << 20):
    """File-order bytes of the 4D (L, X, Y, Z) image with the list axis first (fastest), built slab by slab."""
    dtype = np.dtype(dtype).newbyteorder("<")
    nx, ny, nk = layers[0].shape
    per_k = max(1, len(layers) * nx * ny * dtype.itemsize)
    step = max(1, slab_bytes // per_k)
    for k0 in range(0, nk, step):
        k1 = min(nk, k0 + step)
        slab = np.empty((len(layers), nx, ny, k1 - k0), dtype=dtype, order="F")
        for n, arr in enumerate(layers):
            slab[n] = arr[:, :, k0:k1]
        yield memoryview(slab.reshape(-1, order="F"))
        if progress:
            progress(k1 / nk)
