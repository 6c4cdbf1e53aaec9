"""Label tables: ITK-SNAP label description files, Slicer colour tables (.ctbl/.txt and the Slicer 5 .csv),
FreeSurferColorLUT-style files, and the Caret XML label table a NIfTI may carry (TotalSegmentator, Workbench).
Reading is tolerant (blank lines, CRLF, tabs, float or integer alpha, quoted names with spaces); lines that are
none of these are skipped with one warning. Writing produces ITK-SNAP `.label` and Slicer `.ctbl` files."""
from __future__ import annotations

import csv
import io
import math
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from .errors import FileFormatError, warn

SUFFIXES = (".label", ".txt", ".ctbl", ".csv")
_ITKSNAP = re.compile(r'^\s*(-?\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+([0-9.eE+-]+)\s+(\d+)\s+(\d+)\s+"(.*)"\s*$')
_MAX_BYTES = 16 << 20


@dataclass(frozen=True)
class LabelEntry:
    value: int
    name: str
    color: tuple[float, float, float]      # 0..1
    opacity: float = 1.0
    visible: bool = True                    # ITK-SNAP's VIS and MSH columns (label shown; in the 3D mesh): a
    mesh: bool = True                       # .label keeps them, the other formats have none
    opacity_applies: bool = False           # ITK-SNAP's alpha is the label's opacity; the alpha columns of Slicer's
                                            # tables and FreeSurfer's LUT (0 for every label) are not applied


def read_table(path) -> dict[int, LabelEntry]:
    """{label value: entry}; raises FileFormatError when the file holds no usable entry."""
    path = Path(path)
    try:
        if path.stat().st_size > _MAX_BYTES:
            raise FileFormatError(f"{path.name} is too large to be a label table")
        text = decode(path.read_bytes())
    except FileNotFoundError:
        raise FileFormatError(f"label table {path} does not exist") from None
    except IsADirectoryError:
        raise FileFormatError(f"label table {path} is a folder, not a file") from None
    first = next((ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")), "")
    if first.replace(" ", "").lower().startswith("labelvalue,"):
        entries, bad = _parse_csv(text)
    else:
        entries, bad = _parse_lines(text)
    if not entries:
        raise FileFormatError(f"{path.name} is not a label table (no line reads as 'value name r g b' or as an "
                              f"ITK-SNAP label line)")
    if all(_is_number(e.name) for e in entries.values()):      # "1 2 3 4 5" lines: a matrix, not a table
        raise FileFormatError(f"{path.name} is not a label table (it holds only numbers, no names)")
    if bad:
        warn(f"{path.name}: skipped {len(bad)} line(s) that are not label entries (first: line {bad[0]})")
    return entries


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM) when the bytes are UTF-8, else Windows-1252 / Latin-1 (tables written by
    Windows tools and older Slicer/FreeSurfer versions): a name never turns into U+FFFD."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:       # 0x81, 0x8d, 0x8f, 0x90, 0x9d: undefined in cp1252, Latin-1 controls
        return data.decode("latin-1")


def _parse_lines(text: str):
    entries, bad = {}, []
    for n, line in enumerate(text.splitlines(), start=1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        entry = (_itksnap_line(s) if '"' in s else None) or _colortable_line(s)
        if entry is None:
            bad.append(n)
        else:
            entries[entry.value] = entry
    return entries, bad


def _itksnap_line(s: str) -> LabelEntry | None:
    m = _ITKSNAP.match(s)
    if not m:
        return None
    value, r, g, b, alpha = int(m[1]), int(m[2]), int(m[3]), int(m[4]), float(m[5])
    return LabelEntry(value, m[8], _rgb(r, g, b), min(1.0, max(0.0, alpha)), m[6] != "0", m[7] != "0", True)


def _colortable_line(s: str) -> LabelEntry | None:
    """Slicer .ctbl / FreeSurferColorLUT: `value name r g b [a]` (names without spaces, or quoted)."""
    parts = s.split()
    if "'" in s or '"' in s:
        try:
            parts = shlex.split(s)
        except ValueError:
            pass
    if len(parts) < 5:
        return None
    try:
        value = int(parts[0])
        r, g, b = (int(float(p)) for p in parts[2:5])
        a = float(parts[5]) if len(parts) > 5 else 255.0
    except (ValueError, OverflowError):          # words, "nan", "inf"
        return None
    return LabelEntry(value, parts[1], _rgb(r, g, b), min(1.0, max(0.0, a / 255.0)))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _parse_csv(text: str):
    entries, bad = {}, []
    reader = csv.DictReader(io.StringIO(text, newline=""))   # newline="": csv itself handles \r, \r\n, \n
    try:
        fields = {f.strip().lower(): f for f in (reader.fieldnames or [])}
    except csv.Error:
        return {}, [1]
    need = ("labelvalue", "name", "color_r", "color_g", "color_b")
    if not all(k in fields for k in need):
        return {}, [1]
    rows = enumerate(reader, start=2)
    while True:
        try:
            n, row = next(rows)
        except StopIteration:
            break
        except csv.Error:                      # a stray quote or NUL: the rest of the file is not a table
            bad.append(reader.line_num)
            break
        try:
            value = int(row[fields["labelvalue"]])
            rgb = [int(float(row[fields[k]])) for k in need[2:]]
            a = float(row[fields["color_a"]]) if "color_a" in fields and row[fields["color_a"]] else 255.0
        except (TypeError, ValueError, OverflowError):
            bad.append(n)
            continue
        entries[value] = LabelEntry(value, (row[fields["name"]] or "").strip(), _rgb(*rgb), a / 255.0)
    return entries, bad


def _rgb(r: int, g: int, b: int) -> tuple[float, float, float]:
    return tuple(min(255, max(0, c)) / 255.0 for c in (r, g, b))


def caret_label_table(xml: bytes) -> dict[int, LabelEntry]:
    """The `<LabelTable>` of a Caret/Connectome Workbench XML NIfTI extension, which TotalSegmentator also writes
    into its multi-label files (`--ml`): `<Label Key="5" Red="1" Green="0" Blue="0" Alpha="1">liver</Label>`,
    colours 0..1. {} when there is none; FileFormatError when the XML cannot be read."""
    import xml.etree.ElementTree as ET     # (expat >= 2.4.1, bundled since Python 3.10.x: entity expansion bounded)

    if b"LabelTable" not in xml:
        return {}
    try:
        root = ET.fromstring(xml.rstrip(b"\0 \t\r\n"))
    except ET.ParseError as exc:
        raise FileFormatError(f"its embedded label table is not valid XML ({exc})") from None
    out = {}
    for lab in root.iter("Label"):
        try:
            value = int(lab.get("Key", ""))
            rgb = tuple(min(1.0, max(0.0, float(lab.get(c, "0.5")))) for c in ("Red", "Green", "Blue"))
        except ValueError:
            continue
        name = (lab.text or "").strip()
        if name and all(math.isfinite(c) for c in rgb):
            out[value] = LabelEntry(value, name, rgb)
    return out


CARET_ECODE = 0         # as TotalSegmentator writes it: its load_multilabel_nifti reads the first extension with
                        # nibabel's get_content(), which nibabel 5.4 refuses for Workbench's code 30 (caret); the
                        # reader here takes the table from any code


def caret_text(entries: list[LabelEntry]) -> bytes:
    """A Caret XML label table (what `caret_label_table` reads, TotalSegmentator's `load_multilabel_nifti` and
    Connectome Workbench too): names escaped, colours 0..1."""
    from xml.sax.saxutils import escape, quoteattr

    rows = "".join(f'<Label Key="{e.value}" Red={quoteattr(f"{e.color[0]:.6g}")} '
                   f'Green={quoteattr(f"{e.color[1]:.6g}")} Blue={quoteattr(f"{e.color[2]:.6g}")} '
                   f'Alpha={quoteattr(f"{e.opacity:.6g}")}>{escape(e.name)}</Label>\n' for e in entries)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<CaretExtension>\n<VolumeInformation Index="0">\n'
            f"<LabelTable>\n{rows}</LabelTable>\n<VolumeType>Label</VolumeType>\n"
            "</VolumeInformation>\n</CaretExtension>\n").encode("utf-8")


def find_beside(image: Path) -> Path | None:
    """A table with the image's stem (`x.nii.gz` -> `x.label`, `x.txt`, `x.ctbl`, `x.csv`), if one exists."""
    image = Path(image)
    stem = image.name
    for suffix in (".seg.nrrd", ".seg.nhdr", ".nii.gz", ".nrrd", ".nhdr", ".nii", ".gz"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    for suffix in SUFFIXES:
        candidate = image.with_name(stem + suffix)
        if candidate.is_file():
            return candidate
    return None


# ------------------------------------------------------------------------------------------------ writing
ITKSNAP_HEADER = """################################################
# ITK-SnAP Label Description File
# File format:
# IDX   -R-  -G-  -B-  -A--  VIS MSH  LABEL
# Fields:
#    IDX:   Zero-based index
#    -R-:   Red color component (0..255)
#    -G-:   Green color component (0..255)
#    -B-:   Blue color component (0..255)
#    -A-:   Label transparency (0.00 .. 1.00)
#    VIS:   Label visibility (0 or 1)
#    IDX:   Label mesh visibility (0 or 1)
#  LABEL:   Label description
################################################
"""


def _byte(c: float) -> int:
    return int(round(min(1.0, max(0.0, float(c))) * 255))


def itksnap_text(entries: list[LabelEntry], clear: str = "Clear Label") -> str:
    """An ITK-SNAP label description file; `clear`: the name of value 0 (ITK-SNAP's default, or the opened
    table's own: its tutorial calls it "Clear")."""
    clear = clear.replace('"', "'")
    lines = [ITKSNAP_HEADER.rstrip("\n"), f'{0:5d} {0:5d} {0:4d} {0:4d} {0:8.2f} {0:2d} {0:2d}    "{clear}"']
    for e in entries:
        r, g, b = (_byte(c) for c in e.color)
        name = e.name.replace('"', "'")
        lines.append(f'{e.value:5d} {r:5d} {g:4d} {b:4d} {e.opacity:8.2f} {int(e.visible):2d} {int(e.mesh):2d}    '
                     f'"{name}"')
    return "\n".join(lines) + "\n"


def ctbl_text(entries: list[LabelEntry], title: str) -> str:
    lines = [f"# Color table file {title}", f"# {len(entries) + 1} values", "0 background 0 0 0 0"]
    for e in entries:
        r, g, b = (_byte(c) for c in e.color)
        name = re.sub(r"[\s\"']+", "_", e.name.strip()) or f"Segment_{e.value}"
        lines.append(f"{e.value} {name} {r} {g} {b} {_byte(e.opacity)}")
    return "\n".join(lines) + "\n"
