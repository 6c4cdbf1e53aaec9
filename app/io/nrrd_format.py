"""NRRD reading and writing (headers through pynrrd; data through our own gzip path, see gzip_fast).

Arrays are returned in pynrrd's default index order: `arr[i, j, k]` with axis 0 the fastest in the file.
"""
from __future__ import annotations

import bz2
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

import nrrd
import numpy as np

from app.model.geometry import Geometry

from .errors import FileFormatError, warn
from .gzip_fast import TruncatedData, gunzip_into
from .lattice import check_spacing, column_lengths
from .limits import TooLarge, check_allocation

_BASE_TYPES = {
    "i1": ("signed char", "int8", "int8_t"),
    "u1": ("uchar", "unsigned char", "uint8", "uint8_t"),
    "i2": ("short", "short int", "signed short", "signed short int", "int16", "int16_t"),
    "u2": ("ushort", "unsigned short", "unsigned short int", "uint16", "uint16_t"),
    "i4": ("int", "signed int", "int32", "int32_t"),
    "u4": ("uint", "unsigned int", "uint32", "uint32_t"),
    "i8": ("longlong", "long long", "long long int", "signed long long", "signed long long int", "int64", "int64_t"),
    "u8": ("ulonglong", "unsigned long long", "unsigned long long int", "uint64", "uint64_t"),
    "f4": ("float",),
    "f8": ("double",),
}
NRRD_TO_NUMPY = {name: code for code, names in _BASE_TYPES.items() for name in names}
NUMPY_TO_NRRD = {"i1": "signed char", "u1": "unsigned char", "i2": "short", "u2": "unsigned short", "i4": "int",
                 "u4": "unsigned int", "i8": "long long", "u8": "unsigned long long", "f4": "float", "f8": "double"}
DOMAIN_KINDS = {"domain", "space", "time"}
_SPACE_FLIPS = {  # sign of (x, y, z) to turn the file's space into LPS
    "left-posterior-superior": (1, 1, 1), "lps": (1, 1, 1),
    "right-anterior-superior": (-1, -1, 1), "ras": (-1, -1, 1),
    "left-anterior-superior": (1, -1, 1), "las": (1, -1, 1),
    "rast": (-1, -1, 1), "last": (1, -1, 1), "lpst": (1, 1, 1),      # teem's short names of the "-time" spaces
}
MAGIC = b"NRRD000"
PER_AXIS_FIELDS = ("kinds", "space directions", "spacings", "thicknesses", "axis mins", "axis maxs", "centers",
                   "centerings", "labels", "units")


@dataclass
class NrrdFile:
    """A parsed header: standard fields (pynrrd's parsed values), where the data starts, and the custom
    `key:=value` lines kept as raw text."""

    path: Path
    header: dict
    data_offset: int
    custom: dict = field(default_factory=dict)

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(int(s) for s in self.header["sizes"])

    @property
    def dtype(self) -> np.dtype:
        try:
            code = NRRD_TO_NUMPY[self.header["type"]]
        except KeyError:
            raise FileFormatError(f"{self.path.name}: NRRD type {_shown(self.header['type'])} is not supported") from None
        dt = np.dtype(code)
        if dt.itemsize > 1 and self.header.get("endian", "little") == "big":
            dt = dt.newbyteorder(">")
        return dt


def is_nrrd(path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(len(MAGIC)) == MAGIC


def read_header(path) -> NrrdFile:
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            if fh.read(len(MAGIC)) != MAGIC:
                raise FileFormatError(f"{path.name} is not a NRRD file (it does not start with 'NRRD000')")
            fh.seek(0)
            custom = {}
            header = nrrd.read_header(_header_lines(fh, custom, path.name))
            offset = _header_size(path)
    except FileFormatError:
        raise
    except (nrrd.NRRDError, ValueError, TypeError, IndexError, KeyError) as exc:
        raise FileFormatError(f"{path.name} has an invalid NRRD header ({_printable(exc)})") from None
    except UnicodeDecodeError:
        raise FileFormatError(f"{path.name} has a NRRD header that is not text") from None
    nf = NrrdFile(path, header, offset, custom)
    _check_header(nf)
    return nf


def _printable(exc, limit: int = 120) -> str:
    """A parser's complaint fit for one sentence: it may quote kilobytes of binary junk from the file."""
    text = "".join(c if c.isprintable() else "?" for c in str(exc))
    return text if len(text) <= limit else text[:limit] + "..."


def _shown(value, limit: int = 60) -> str:
    """A header value quoted in a message: a mutated header can carry kilobytes of binary data in one field."""
    return _printable(repr(value) if isinstance(value, str) else value, limit)


def _header_lines(fh, custom: dict, name: str):
    """Lines for pynrrd; `key:=value` lines are kept aside verbatim (pynrrd would strip/parse them) and never
    sent to pynrrd, which also keeps the parse fast for headers with thousands of segment keys."""
    latin1 = []
    for n, raw in enumerate(fh):
        if n > 200_000:
            raise FileFormatError(f"{name}: the NRRD header is too long (no blank line ends it)")
        line = _decode_line(raw, n, latin1).rstrip("\r\n")
        if len(latin1) == 1 and latin1[0] == n:
            warn(f"{name}: its header is not all UTF-8 (line {n + 1} first); it was read as Latin-1, as 3D "
                 f"Slicer does (check the names)")
        if not line.strip():
            yield line
            return
        key, sep, value = line.partition(":=")
        if sep and not line.startswith("#") and (":" not in key):
            custom[unescape(key.strip())] = unescape(value)
            continue
        yield line


def _decode_line(raw: bytes, n: int, latin1: list) -> str:
    """UTF-8, else Latin-1 (Slicer reads header bytes as they are, so a segment name written by an old tool in
    Latin-1 opens there too; `latin1` collects the line numbers); a line with control bytes is not text at all."""
    try:
        return raw.decode("utf-8", "strict")
    except UnicodeDecodeError:
        pass
    line = raw.decode("latin-1")
    if _CONTROL.search(line.rstrip("\r\n")):
        raise UnicodeDecodeError("latin-1", raw, 0, len(raw), "control bytes")
    latin1.append(n)
    return line


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _header_size(path: Path) -> int:
    """Byte offset of the first data byte of an attached NRRD (after the blank line)."""
    with open(path, "rb") as fh:
        pos = 0
        for raw in fh:
            pos += len(raw)
            if not raw.strip():
                return pos
    return pos


def _check_header(nf: NrrdFile) -> None:
    h = nf.header
    for key in ("type", "dimension", "sizes", "encoding"):
        if key not in h:
            raise FileFormatError(f"{nf.path.name}: the NRRD header has no '{key}' field")
    if int(h["dimension"]) != len(h["sizes"]):
        raise FileFormatError(f"{nf.path.name}: 'sizes' lists {len(h['sizes'])} numbers but 'dimension' is "
                              f"{h['dimension']}")
    if any(int(s) <= 0 for s in h["sizes"]):
        raise FileFormatError(f"{nf.path.name}: 'sizes' must be positive, got {_shown([int(v) for v in h['sizes']])}")
    for key in PER_AXIS_FIELDS:
        if key in h and h[key] is not None and len(h[key]) != len(h["sizes"]):
            raise FileFormatError(f"{nf.path.name}: '{key}' lists {len(h[key])} axes but the image has "
                                  f"{len(h['sizes'])}")
    nf.dtype  # noqa: B018 - validates the type


# ------------------------------------------------------------------------------------------------ data
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
        raise FileFormatError(f"{nf.path.name}: its data file name {_shown(name)} is not a usable file name")
    try:
        folder = nf.path.parent.resolve()
        target = (folder / name).resolve()
        if folder not in target.parents:
            raise FileFormatError(f"{nf.path.name}: its data file {_shown(name)} lies outside the header's folder")
        st = target.stat()
    except FileFormatError:
        raise
    except FileNotFoundError:
        raise FileFormatError(f"{nf.path.name}: its data file {_shown(name)} is missing") from None
    except (OSError, ValueError) as exc:      # a name too long, a folder we may not enter, a loop of links
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not a usable file name"
        raise FileFormatError(f"{nf.path.name}: its data file {_shown(name)} cannot be opened "
                              f"({reason.lower()})") from None
    if not stat.S_ISREG(st.st_mode):
        raise FileFormatError(f"{nf.path.name}: its data file {_shown(name)} is not a regular file")
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
        raise FileFormatError(f"{nf.path.name}: NRRD encoding {_shown(encoding)} is not supported")


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


# ------------------------------------------------------------------------------------------------ axes, lattice
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
        raise FileFormatError(f"{nf.path.name}: its space {_shown(nf.header['space'])} does not say which way "
                              f"the patient lies (left/right, front/back), so it cannot be placed; segedit reads "
                              f"the anatomical spaces (right-anterior-superior, left-anterior-superior, "
                              f"left-posterior-superior)")
    raise FileFormatError(f"{nf.path.name}: its space {_shown(nf.header['space'])} is not a NRRD space segedit "
                          f"knows (right-anterior-superior, left-anterior-superior, left-posterior-superior)")


def scaled(progress, lo: float, hi: float):
    """A progress callback mapping 0..1 onto lo..hi of `progress` (None stays None)."""
    if progress is None:
        return None
    return lambda f: progress(lo + (hi - lo) * f)


def escape(value: str) -> str:
    """Teem's key/value escaping: backslash and newline are escaped, other whitespace becomes a space."""
    out = str(value).replace("\\", "\\\\").replace("\n", "\\n")
    return _OTHER_SPACE.sub(" ", out)


def unescape(value: str) -> str:
    """Teem's airUnescape: only "\\n" and "\\\\" are escapes."""
    return _ESCAPES.sub(lambda m: "\n" if m[0] == "\\n" else "\\", value) if "\\" in value else value


_ESCAPES = re.compile(r"\\[n\\]")
_OTHER_SPACE = re.compile(r"[\r\t\v\f]")
