"""Export a segmentation as one labelmap keeping every label value (`.nrrd`/`.nhdr`/`.nii`/`.nii.gz`), with an
ITK-SNAP label description file (`.label`) and a Slicer colour table (`.ctbl`) beside it."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from app.model.segmentation import Segmentation

from . import nrrd_write as nw
from .atomic import atomic_write, os_error_message, refuse_read_only
from .errors import FileFormatError, quoted
from .lattice import check_writable
from .color_tables import CARET_ECODE, LabelEntry, caret_text, ctbl_text, itksnap_text
from .masks import stem
from .seg_nrrd_writer import check_level, common_dtype, layer_order

LABELMAP_SUFFIXES = (".nrrd", ".nhdr", ".nii", ".nii.gz")
OPTIONS = ("save as .seg.nrrd, which keeps the layers, or force the segments into one layer first "
           "(Segmentation menu, or `segedit convert --single-layer`), where later segments win")


def export_labelmap(seg: Segmentation, path: Path, progress=None, compression_level: int = 1) -> list[Path]:
    name = path.name.lower()
    if name.endswith((".seg.nrrd", ".seg.nhdr")) or not name.endswith(LABELMAP_SUFFIXES):
        raise FileFormatError(f"{path.name}: a labelmap is exported as .nrrd, .nhdr, .nii or .nii.gz "
                              f"(use .seg.nrrd to save the segmentation itself)")
    level = check_level(compression_level)
    check_writable(seg.geometry, path.name)
    order = layer_order(seg)
    _check_single_labelmap(seg, order)
    _check_table_names(seg, path.name)
    arr = merged(seg, order)
    entries = table_entries(seg)
    label_path = path.with_name(stem(path) + ".label")
    ctbl_path = path.with_name(stem(path) + ".ctbl")
    written = [path, label_path, ctbl_path]
    fresh = [p for p in written if not p.exists()]
    try:
        refuse_read_only(*written)           # all or nothing: refused before the image replaces its old copy
        write_image(path, arr, seg, level, progress, [(CARET_ECODE, caret_text(entries))])
        with atomic_write(label_path, "w") as fh:
            fh.write(itksnap_text(entries, *_clear_name(seg)))
        with atomic_write(ctbl_path, "w") as fh:
            fh.write(ctbl_text(entries, stem(path)))
    except BaseException as exc:
        for p in fresh:                      # all or nothing: no image without its tables
            p.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise FileFormatError(os_error_message(path, exc)) from None
        raise
    return written


def table_entries(seg: Segmentation) -> list[LabelEntry]:
    """The label table written beside the labelmap: one entry per segment, and the entries of the table the
    labelmap was opened with whose value no segment has (labels with no voxels, as ITK-SNAP keeps them: MRIcrop's
    AC, PC and arteries), so an ITK-SNAP table comes back whole, less an entry whose name a segment now has under
    another value (renumbered); in value order. ITK-SNAP's VIS is the segment's shown state, MSH the opened
    entry's."""
    table = seg.label_table
    entries = {s.label: LabelEntry(s.label, s.name, s.color, s.opacity, s.visible,
                                   getattr(table.get(s.label), "mesh", True)) for s in seg.segments}
    names = {s.name for s in seg.segments}         # a segment given another value: its old entry is not kept twice
    for value, e in table.items():
        if value > 0 and value not in entries and e.name not in names and _label_file_holds(e.name):
            entries[value] = LabelEntry(value, e.name, e.color, getattr(e, "opacity", 1.0),   # model: .name, .color
                                        getattr(e, "visible", True), getattr(e, "mesh", True))
    return [entries[v] for v in sorted(entries)]


def _clear_name(seg: Segmentation) -> tuple[str, ...]:
    """The opened table's name for value 0, when it has one that a .label line can hold."""
    e = seg.label_table.get(0)
    return (e.name,) if e is not None and e.name.strip() and _label_file_holds(e.name) else ()


def _check_single_labelmap(seg: Segmentation, order: list[int]) -> None:
    if len(order) < 2:
        return
    if seg.overlapping():
        raise FileFormatError(f"segments overlap (they sit in {len(order)} layers), so one labelmap would lose "
                              f"voxels; {OPTIONS}")
    owner: dict[int, str] = {}
    for s in seg.segments:
        if s.label in owner:
            raise FileFormatError(f"segments {quoted(owner[s.label])} and {quoted(s.name)} both use label value "
                                  f"{s.label} in "
                                  f"different layers; collapse the layers first (`segedit convert --collapse`), "
                                  f"which gives clashing segments free values, or {OPTIONS}")
        owner[s.label] = s.name


def _label_file_holds(name: str) -> bool:
    """The ITK-SNAP .label file quotes each name on one line, with no escapes: a line break, tab, other control
    character or double quote in a name cannot come back."""
    return '"' not in name and not any(ord(c) < 32 for c in name)


def _check_table_names(seg: Segmentation, what: str) -> None:
    """A segment whose name the .label cannot hold refuses the export, naming it (a .seg.nrrd keeps such
    names); an opened table's entry with such a name is left out of the tables written."""
    for s in seg.segments:
        if not _label_file_holds(s.name):
            raise FileFormatError(f"{what}: the name of segment {quoted(s.name)} holds a line break, tab or double "
                                  f"quote, "
                                  f"which the .label table beside the labelmap cannot store; rename it, or save "
                                  f"as .seg.nrrd, which keeps it")


def merged(seg: Segmentation, order: list[int]) -> np.ndarray:
    if not order:
        return np.zeros(seg.geometry.shape, dtype=np.uint8)
    if len(order) == 1:
        return seg.layers[order[0]]
    out = np.zeros(seg.geometry.shape, dtype=common_dtype(seg, order))
    for n in order:
        arr = seg.layers[n]
        nz = arr != 0
        out[nz] = arr[nz]
    return out


def write_image(path: Path, arr: np.ndarray, seg: Segmentation, level: int, progress, extensions=()) -> None:
    """`extensions`: NIfTI header extensions (a labelmap's names, so a NIfTI carries them without its tables:
    TotalSegmentator's tools and Workbench read them, and so does segedit); other formats have none."""
    if path.name.lower().endswith((".nii", ".nii.gz")):
        from . import nifti

        nifti.write(path, arr, seg.geometry, level or 1, extensions)
        return
    encoding = "gzip" if level else "raw"
    chunks = nw.volume_chunks(arr, arr.dtype, progress)
    if path.name.lower().endswith(".nhdr"):
        data_name = path.name[:-5] + (".raw.gz" if level else ".raw")
        refuse_read_only(path, path.with_name(data_name))       # not a new header's data beside an old header
        with atomic_write(path.with_name(data_name)) as fh:
            nw.write_payload(fh, chunks, level)
        head = nw.header_text(arr.dtype, arr.shape, seg.geometry, False, encoding, [], data_file=data_name)
        with atomic_write(path) as fh:
            fh.write(head)
        return
    with atomic_write(path) as fh:
        fh.write(nw.header_text(arr.dtype, arr.shape, seg.geometry, False, encoding, []))
        nw.write_payload(fh, chunks, level)
