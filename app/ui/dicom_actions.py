"""DICOM in the window: open a folder (choose its series), open a DICOM SEG (with its images when they lie beside it),
export the segmentation as a DICOM SEG of the DICOM reference. Reading and writing go through app.io in `run_long`
(worker thread, progress dialog), like every other file."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QInputDialog

from app import io
from app.io.dicom_series import DicomSource, is_dicom_file

from .long_task import Cancelled

ERRORS = (io.FileFormatError, OSError, Cancelled, NotImplementedError)


def is_dicom_path(path: Path) -> bool:
    """A folder or a DICOM Part 10 file: what the DICOM readers open."""
    return path.is_dir() or is_dicom_file(path)


def has_dicom_reference(window) -> bool:
    return window.reference is not None and isinstance(getattr(window.reference, "source", None), DicomSource)


def choose_series(files, folder: Path) -> str | None | bool:
    """The series UID to read from `folder`: the only one, or the user's choice among several (False: cancelled,
    None: the folder holds no image series, let the reader say so)."""
    w = files.w
    try:
        series = w.run_long(lambda p: io.list_dicom_series(folder, progress=p), f"Scanning {folder.name}...")
    except ERRORS as exc:
        return files._report(files._sentence(exc, folder))
    images = [s for s in series if not s.is_segmentation]
    if len(images) <= 1:
        return images[0].uid if images else None
    if not w.isVisible():               # no one to ask (scripted use): the largest, as on the command line
        return images[0].uid
    labels = [s.label() for s in images]
    choice, ok = QInputDialog.getItem(w, "Choose a DICOM series", f"{folder.name} holds {len(images)} image series:",
                                      labels, 0, False)
    return images[labels.index(choice)].uid if ok else False


def open_dicom(files, path: Path) -> bool:
    """A DICOM SEG opens as the segmentation; a folder or image file as the reference volume (series chosen)."""
    path = Path(path)
    if path.is_file():
        from app.io.dicom_seg import is_dicom_seg

        if is_dicom_seg(path):
            return open_seg(files, path)
    folder = path if path.is_dir() else path.parent
    uid = choose_series(files, folder) if path.is_dir() else None
    if uid is False:
        return False
    try:
        volume = files._read_warned(lambda p: io.read_volume(path, progress=p, series=uid), path,
                                    f"Reading {path.name}...")
    except ERRORS as exc:
        return files._report(files._sentence(exc, path))
    return files._adopt_reference(volume, path)


def open_seg(files, path: Path) -> bool:
    """Open a DICOM SEG on the open DICOM reference, or with its referenced images from beside it."""
    w = files.w
    if not files.maybe_save():
        return False
    reference = w.reference if has_dicom_reference(w) else None

    def read(progress):
        seg = io.open_segmentation(path, progress=progress, reference=reference)
        volume = reference
        if volume is None:
            volume = _images_beside(path)
        return seg, volume

    try:
        seg, volume = files._read_warned(read, path, f"Opening {path.name}...")
    except ERRORS as exc:
        return files._report(files._sentence(exc, path))
    w.set_document(seg, volume if volume is not None else w.reference, path=path)
    files.add_recent(path)
    w.status_message(f"Opened {path.name}: {len(seg)} segments in {seg.n_layers} layer(s)"
                     + (" over its DICOM images" if volume is not None else ""))
    return True


def _images_beside(path: Path):
    """The series a SEG references, read from the SEG's folder, or None when it is not there."""
    import pydicom

    ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["ReferencedSeriesSequence"])
    seq = ds.get("ReferencedSeriesSequence")
    if not seq:
        return None
    uid = str(seq[0].SeriesInstanceUID)
    if not any(s.uid == uid and not s.is_segmentation for s in io.list_dicom_series(path.parent)):
        return None
    return io.read_volume(path.parent, series=uid)


def ask_open_dicom(files) -> None:
    folder = QFileDialog.getExistingDirectory(files.w, "Open DICOM folder", str(files.w.settings.value("last_dir", "")))
    if folder:
        files.w.settings.setValue("last_dir", folder)
        open_dicom(files, Path(folder))


def ask_export_seg(files) -> None:
    w = files.w
    if w.segmentation is None:
        return
    if not has_dicom_reference(w):
        files._report("A DICOM SEG references the DICOM images it was drawn on: open the DICOM series as the "
                      "reference volume first (File > Open DICOM folder).")
        return
    stem = w.path.name.split(".")[0] if w.path is not None else "segmentation"
    path = files._ask("Export DICOM SEG", "DICOM SEG (*.dcm)", save=True,
                      default=str(Path(w.settings.value("last_dir", "")) / f"{stem}.dcm"))
    if path is None:
        return
    if not path.name.lower().endswith(".dcm"):
        path = path.with_name(path.name + ".dcm")
    export_seg(files, path)


def export_seg(files, path: Path) -> bool:
    w = files.w
    seg, reference = w.segmentation, w.reference
    try:
        w.run_long(lambda p: io.write_dicom_seg(seg, reference, path, progress=p), f"Writing {path.name}...")
    except ERRORS as exc:
        return files._report(files._sentence(exc, path, "export"))
    w.status_message(f"Exported {path.name}: {len(seg)} segments as DICOM SEG")
    return True
