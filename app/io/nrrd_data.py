"""NRRD voxel data: where it is (after the header, or a detached data file beside it) and its encodings (raw,
gzip through our own fast path in `gzip_fast`, bzip2, text, hex), decoded straight into one preallocated array.

Arrays are returned in pynrrd's default index order: `arr[i, j, k]` with axis 0 the fastest in the file.
"""
from __future__ import annotations

import bz2
import os
import stat
from pathlib import Path

import numpy as np

from .errors import FileFormatError, quoted
from .gzip_fast import TruncatedData, gunzip_into
from .limits import TooLarge, check_allocation
from .nrrd_header import NrrdFile


def read_data(nf: NrrdFile, progress=None) -> np.ndarray:
    """The voxel array, shape = sizes (axis 0 fastest), native byte order, writable."""
    dtype = nf.dtype
    try:
        check_allocation(nf.sizes, dtype.itemsize, f"{nf.path.name}")
    except TooLarge as exc:
        raise FileFormatError(str(exc)) from None
    flat = np.empty(int(np.prod(nf.sizes, dtype=np.int64)), dtype=dtype.newbyteorder("="))
    src = _data_source(nf)
    try:
        with open(src, "rb") as fh:
            if src == nf.path:
                fh.seek(nf.data_offset)
            _fill(nf, fh, flat, progress)
    except TruncatedData as exc:
        raise FileFormatError(f"{nf.path.name}: {exc}") from None
    except OSError as exc:
        raise FileFormatError(f"{nf.path.name}: the data cannot be read ({exc.strerror or exc})") from None
    if dtype.byteorder == ">":
        flat = flat.view(dtype).astype(dtype.newbyteorder("="))
    return flat.reshape(nf.sizes, order="F")


def _data_source(nf: NrrdFile) -> Path:
    name = nf.header.get("data file", nf.header.get("datafile"))
    if name is None:
        return nf.path
    if isinstance(name, (list, tuple)) or str(name).startswith("LIST") or "%" in str(name):
        raise FileFormatError(f"{nf.path.name}: its voxels are split over several data files (one per slice), "
                              f"which segedit does not read; save the image as one file (e.g. .nrrd) first")
    name = str(name)
    if "\x00" in name or not name.strip():      # the OS cannot even look such a name up
        raise FileFormatError(f"{nf.path.name}: its data file name {quoted(name)} is not a usable file name")
    try:
        folder = nf.path.parent.resolve()
        target = (folder / name).resolve()
        if folder not in target.parents:
            raise FileFormatError(f"{nf.path.name}: its data file {quoted(name)} lies outside the header's folder")
        st = target.stat()
    except FileFormatError:
        raise
    except FileNotFoundError:
        raise FileFormatError(f"{nf.path.name}: its data file {quoted(name)} is missing") from None
    except (OSError, ValueError) as exc:      # a name too long, a folder we may not enter, a loop of links
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not a usable file name"
        raise FileFormatError(f"{nf.path.name}: its data file {quoted(name)} cannot be opened "
                              f"({reason.lower()})") from None
    if not stat.S_ISREG(st.st_mode):
        raise FileFormatError(f"{nf.path.name}: its data file {quoted(name)} is not a regular file")
    return target


def _fill(nf: NrrdFile, fh, flat: np.ndarray, progress=None) -> None:
    h = nf.header
    for _ in range(int(h.get("line skip", h.get("lineskip", 0)))):
        if not fh.readline():          # a huge 'line skip' must not spin past the end of the file
            raise TruncatedData("the data ends inside the lines its header says to skip")
    skip = int(h.get("byte skip", h.get("byteskip", 0)))
    if skip < -1:
        raise FileFormatError(f"{nf.path.name}: 'byte skip' must be -1 or a count of bytes, not {skip}")
    encoding = str(h["encoding"]).lower()
    buf = memoryview(flat).cast("B")
    if encoding == "raw":
        if skip == -1:
            fh.seek(-len(buf), os.SEEK_END)
        else:
            fh.seek(skip, os.SEEK_CUR)
        got = fh.readinto(buf)
        if got != len(buf):
            raise TruncatedData(f"the data ends after {got} of {len(buf)} bytes")
    elif encoding in ("gzip", "gz"):
        if skip == -1:                   # the data are the LAST bytes of the decompressed stream
            skip = _gzip_size(fh) - len(buf)
            if skip < 0:
                raise TruncatedData(f"the decompressed data hold fewer than the {len(buf)} bytes needed")
        gunzip_into(fh.read, buf, skip, progress)
    elif encoding in ("bzip2", "bz2"):
        _bunzip_into(fh.read, buf, max(skip, 0))
    elif encoding in ("ascii", "text", "txt", "hex"):
        try:
            data = (bytes.fromhex(fh.read().decode("ascii")) if encoding == "hex"
                    else np.array(fh.read().split(), dtype=flat.dtype).tobytes())
        except (ValueError, OverflowError):
            raise FileFormatError(f"{nf.path.name}: its {encoding} data holds text that is not a list of "
                                  f"{nf.header['type']} values") from None
        _copy_exact(data, buf)
    else:
        raise FileFormatError(f"{nf.path.name}: NRRD encoding {quoted(encoding)} is not supported")


def _bunzip_into(read, buf: memoryview, skip: int) -> None:
    """Decompress (concatenated) bzip2 streams into `buf` in bounded pieces: a small file that expands to
    gigabytes (a bzip2 bomb) costs no more memory than the image."""
    filled, need = 0, skip + len(buf)
    decomp, data = bz2.BZ2Decompressor(), b""
    while filled < need:
        if decomp.eof:
            data, decomp = decomp.unused_data, bz2.BZ2Decompressor()
        if not data and decomp.needs_input:
            data = read(1 << 20)
            if not data:
                break
        piece = decomp.decompress(data, min(need - filled, 1 << 22))
        data = b""
        start = filled - skip
        if start >= 0:
            buf[start:start + len(piece)] = piece
        elif start + len(piece) > 0:
            buf[0:start + len(piece)] = piece[-start:]
        filled += len(piece)
    if filled < need:
        raise TruncatedData(f"the data ends after {max(0, filled - skip)} of {len(buf)} bytes")


def _gzip_size(fh) -> int:
    """Decompressed size from the gzip trailer (ISIZE, modulo 4 GiB), leaving the file position unchanged."""
    pos = fh.tell()
    fh.seek(-4, os.SEEK_END)
    size = int.from_bytes(fh.read(4), "little")
    fh.seek(pos)
    return size


def _copy_exact(data: bytes, buf: memoryview) -> None:
    if len(data) < len(buf):
        raise TruncatedData(f"the data ends after {len(data)} of {len(buf)} bytes")
    buf[:] = data[:len(buf)]
