"""NRRD headers: the type names, reading and checking a header (standard fields through pynrrd, custom
`key:=value` lines kept as raw text), and teem's key/value escaping.

The rest of NRRD reading lives beside it: `nrrd_data` (the voxels: attached or detached, raw/gzip/bzip2/text),
`nrrd_geometry` (which axes are spatial, the LPS lattice); writing is `nrrd_write`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import nrrd
import numpy as np

from .errors import FileFormatError, printable, quoted, warn

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
            raise FileFormatError(f"{self.path.name}: NRRD type {quoted(self.header['type'])} is not supported") from None
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
        raise FileFormatError(f"{path.name} has an invalid NRRD header ({printable(exc)})") from None
    except UnicodeDecodeError:
        raise FileFormatError(f"{path.name} has a NRRD header that is not text") from None
    nf = NrrdFile(path, header, offset, custom)
    _check_header(nf)
    return nf


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
        raise FileFormatError(f"{nf.path.name}: 'sizes' must be positive, got {quoted([int(v) for v in h['sizes']])}")
    for key in PER_AXIS_FIELDS:
        if key in h and h[key] is not None and len(h[key]) != len(h["sizes"]):
            raise FileFormatError(f"{nf.path.name}: '{key}' lists {len(h[key])} axes but the image has "
                                  f"{len(h['sizes'])}")
    nf.dtype  # noqa: B018 - validates the type


def escape(value: str) -> str:
    """Teem's key/value escaping: backslash and newline are escaped, other whitespace becomes a space."""
    out = str(value).replace("\\", "\\\\").replace("\n", "\\n")
    return _OTHER_SPACE.sub(" ", out)


def unescape(value: str) -> str:
    """Teem's airUnescape: only "\\n" and "\\\\" are escapes."""
    return _ESCAPES.sub(lambda m: "\n" if m[0] == "\\n" else "\\", value) if "\\" in value else value


_ESCAPES = re.compile(r"\\[n\\]")
_OTHER_SPACE = re.compile(r"[\r\t\v\f]")
