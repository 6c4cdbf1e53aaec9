"""The File menu: open/import/new/save/export, recent files, drag and drop, "save changes?" and settings.
All reading and writing goes through the app.io facade inside `run_long` (worker thread + progress dialog)."""
from __future__ import annotations

import enum
import warnings
from pathlib import Path

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMessageBox

from app import io
from app.io import parallel_reads
from app.io.atomic import is_read_only
from app.io.plain_labelmap import looks_like_labelmap
from app.model.segmentation import Segmentation

from . import dicom_actions, window_settings
from .long_task import Cancelled

MAX_RECENT = 10


def quit_key():
    """The platform's Quit key; some platforms (offscreen, some Linux desktops) have none: Ctrl+Q as in Slicer.
    Asked when the menu is built: the platform's key table needs a running QGuiApplication (asking at import time
    crashes under xcb)."""
    return QKeySequence.Quit if not QKeySequence(QKeySequence.Quit).isEmpty() else "Ctrl+Q"
IMAGE_FILTER = "Images (*.nrrd *.nhdr *.nii *.nii.gz);;All files (*)"
SEG_FILTER = ("Segmentations and labelmaps (*.seg.nrrd *.seg.nhdr *.nrrd *.nhdr *.nii *.nii.gz *.dcm);;"
              "DICOM SEG (*.dcm);;All files (*)")
TABLE_SUFFIXES = (".label", ".txt", ".ctbl", ".csv")


class Kind(enum.Enum):
    SEGMENTATION = "segmentation"
    TABLE = "label table"
    IMAGE = "image"


def classify(path) -> Kind:
    name = Path(path).name.lower()
    if name.endswith((".seg.nrrd", ".seg.nhdr")):
        return Kind.SEGMENTATION
    if name.endswith(TABLE_SUFFIXES):
        return Kind.TABLE
    return Kind.IMAGE


class FileActions:
    def __init__(self, window) -> None:
        self.w = window
        m = window.menu("File")
        self.recent_menu = None
        spec = [("New segmentation", self.new_segmentation, "Ctrl+N"),
                ("Open segmentation...", self.ask_open_segmentation, QKeySequence.Open),
                ("Open labelmap with label table...", self.ask_open_labelmap, "Ctrl+Shift+O"),
                ("Open reference volume...", self.ask_open_reference, "Ctrl+Shift+R"),
                ("Open DICOM folder...", lambda: dicom_actions.ask_open_dicom(self), "Ctrl+Shift+I"),
                ("Import masks...", self.ask_import_masks, None),
                ("Import mask folder...", self.ask_import_mask_folder, None), None,
                ("Save", self.save, QKeySequence.Save), ("Save as...", self.save_as, QKeySequence.SaveAs),
                ("Export labelmap...", self.ask_export_labelmap, "Ctrl+E"),
                ("Export masks (one file per segment)...", self.ask_export_masks, None),
                ("Export DICOM SEG...", lambda: dicom_actions.ask_export_seg(self), None), None,
                ("Close", self.close_document, QKeySequence.Close), ("Quit", window.close, quit_key())]
        self.actions = {}
        for item in spec:
            if item is None:
                m.addSeparator()
                continue
            text, slot, key = item
            a = QAction(text, window)
            if key is not None:
                a.setShortcut(QKeySequence(key))
            a.triggered.connect(slot)
            m.addAction(a)
            self.actions[text] = a
            if text == "Import mask folder...":
                m.addSeparator()
                self.recent_menu = m.addMenu("Recent files")
        self._refresh_recent()

    # ---------------------------------------------------------------- opening
    def open_paths(self, paths, labels=None, reference=None, reads=None) -> bool:
        """Open what the paths are (drag and drop, command line). Returns False after an error (reported).
        The plain image files among them and the reference are read at once, each on its own thread (both
        cores decode); `reads`: those reads already started (`parallel_reads.start`, by the command line before
        the window was built). Each file's error is its own, as when they are read one after the other; a Cancel
        stops every read (what was opened before it stays, as when they are read one after the other)."""
        paths = [Path(p) for p in paths]
        tables = [p for p in paths if classify(p) == Kind.TABLE]
        if labels is None and tables:          # labels=False (--no-labels): no table, not even one given here
            labels = tables[0]
        if reads is None:
            reads = parallel_reads.start(paths, reference)

        def read_of(role):
            """That file's (result, warnings), waited for behind the progress dialog: the labelmap is made into a
            segmentation (its labels counted) while the CT still decodes."""
            if reads is None or role not in reads.roles:
                return None
            n = reads.roles.index(role)
            names = " and ".join(p.name for p in reads.paths)
            return self.w.run_long(lambda p: reads.wait_for(n, p), f"Reading {names}..."), reads.notes[n]

        ok = True
        try:
            for p in paths:
                if classify(p) == Kind.TABLE:
                    continue
                ok &= self.open_any(p, labels, read_of(("image", p)))
            if reference is not None:
                ok &= self.open_reference(reference, read_of(("reference", Path(reference))))
        except Cancelled as exc:            # every read stopped; what was opened before the Cancel stays
            return self._report(self._sentence(exc, None))
        if tables and not [p for p in paths if classify(p) != Kind.TABLE]:
            ok &= self._report("A label table needs its labelmap: open the image and the table together.")
        return ok

    def open_any(self, path, labels=None, read=None) -> bool:
        """`read`: (ImageRead or the exception it raised, its warnings) when the file was read already."""
        path = Path(path)
        if io.is_mask_folder(path):             # TotalSegmentator's output folder: its masks, one segment each
            return self.import_masks([path])
        if dicom_actions.is_dicom_path(path):
            return dicom_actions.open_dicom(self, path)
        if classify(path) == Kind.SEGMENTATION:
            return self.open_segmentation(path, labels)
        try:
            if read is None:
                maybe = labels not in (None, False) or self.w.segmentation is None
                got = self.w.run_long(lambda p: parallel_reads.read_image(path, p, maybe_labelmap=maybe),
                                      f"Reading {path.name}...")
            else:
                got = self._taken(read)
                for note in read[1]:           # as a read on this thread would have warned
                    warnings.warn(note, io.FileFormatWarning)
        except (io.FileFormatError, OSError, Cancelled, NotImplementedError) as exc:
            return self._report(self._sentence(exc, path))
        volume = got.volume
        if labels not in (None, False) or (self.w.segmentation is None and (
                got.labelmap_like if got.labelmap_like is not None else looks_like_labelmap(volume.array))):
            nifti = path.name.lower().endswith((".nii", ".nii.gz"))    # no segment metadata: not read twice
            return self.open_segmentation(path, labels, volume if nifti else None)
        return self._adopt_reference(volume, path)

    @staticmethod
    def _taken(read):
        """The result of a read made on a reading thread, or the exception it raised, raised here."""
        result = read[0]
        if isinstance(result, BaseException):
            raise result
        return result

    def open_segmentation(self, path, labels=None, volume=None) -> bool:
        """`volume`: the file already read as a Volume (a NIfTI labelmap), taken as it is."""
        path = Path(path)
        if path.is_file() and dicom_actions.is_dicom_path(path):
            return dicom_actions.open_dicom(self, path)
        if not self.maybe_save():
            return False
        try:
            read = (lambda p: io.segmentation_from_volume(volume, labels)) if volume is not None else \
                (lambda p: io.open_segmentation(path, labels=labels, progress=p))
            seg = self._read_warned(read, path, f"Opening {path.name}...")
        except (io.FileFormatError, OSError, Cancelled, NotImplementedError) as exc:
            return self._report(self._sentence(exc, path))
        ref = self.w.reference
        if ref is not None and not _overlaps(ref.geometry, seg.geometry):
            ref = None
        self.w.set_document(seg, ref, path=path)
        self.add_recent(path)
        notes = f", with {len(self.last_warnings)} warning(s)" if self.last_warnings else ""
        self.w.status_message(f"Opened {path.name}: {len(seg)} segments in {seg.n_layers} layer(s){notes}")
        return True

    def open_reference(self, path, read=None) -> bool:
        """`read`: as for `open_any`."""
        path = Path(path)
        try:
            if read is None:
                volume = self._read_warned(lambda p: io.read_volume(path, progress=p), path,
                                           f"Reading {path.name}...")
            else:
                volume = self._taken(read).volume
                self._tell_notes(read[1], path)
        except (io.FileFormatError, OSError, Cancelled, NotImplementedError) as exc:
            return self._report(self._sentence(exc, path))
        return self._adopt_reference(volume, path)

    def _adopt_reference(self, volume, path) -> bool:
        seg = self.w.segmentation
        if seg is not None and not _overlaps(volume.geometry, seg.geometry):
            return self._report(f"{path.name} does not overlap the open segmentation in physical space.")
        self.w.set_reference(volume)
        self.add_recent(path)
        self.w.status_message(f"Reference volume {path.name}: {volume.array.shape}")
        return True

    def new_segmentation(self) -> None:
        ref = self.w.reference
        if ref is None:
            self._report("Open a reference volume first: a new segmentation takes its lattice.")
            return
        if not self.maybe_save():
            return
        self.w.set_document(Segmentation(ref.geometry), ref, path=None, unsaved=False)
        self.w.status_message("New empty segmentation on the reference volume's lattice")

    def import_masks(self, paths) -> bool:
        if not self.maybe_save():
            return False
        geo = self.w.reference.geometry if self.w.reference is not None else None
        try:
            seg = self.w.run_long(lambda p: io.import_masks(paths, geometry=geo, progress=p), "Importing masks...")
        except (io.FileFormatError, OSError, Cancelled, NotImplementedError) as exc:
            return self._report(self._sentence(exc, Path(paths[0]) if paths else None))
        self.w.set_document(seg, path=None, unsaved=True)
        return True

    def close_document(self) -> None:
        if self.maybe_save():
            self.w.set_document(None, None)

    # ---------------------------------------------------------------- dialogs
    def document_folder(self) -> Path:
        """Where a save dialog starts: the open document's folder (else its reference volume's, else the last
        folder used)."""
        ref = self.w.reference
        for p in (self.w.path, getattr(ref, "path", None) if ref is not None else None):
            if p is not None and Path(p).parent.is_dir():
                return Path(p).parent
        return Path(self.w.settings.value("last_dir", "") or Path.home())

    def _ask(self, title, filter_, save=False, default=""):
        start = default or self.w.settings.value("last_dir", "")
        fn = QFileDialog.getSaveFileName if save else QFileDialog.getOpenFileName
        path, _ = fn(self.w, title, str(start), filter_)
        if path:
            self.w.settings.setValue("last_dir", str(Path(path).parent))
        return Path(path) if path else None

    def ask_open_segmentation(self) -> None:
        path = self._ask("Open segmentation", SEG_FILTER)
        if path is not None:
            self.open_segmentation(path)

    def ask_open_labelmap(self) -> None:
        path = self._ask("Open labelmap", SEG_FILTER)
        if path is None:
            return
        choice = self.ask_table_choice(path)
        if choice == "cancel":
            return
        if choice == "choose":
            table, _ = QFileDialog.getOpenFileName(self.w, "Label table", str(path.parent),
                                                   "Label tables (*.label *.txt *.ctbl *.csv)")
            if not table:
                return
            self.open_segmentation(path, Path(table))
        else:
            self.open_segmentation(path, None if choice == "beside" else False)

    def ask_table_choice(self, path: Path) -> str:
        """'choose' a table, use the one 'beside' the image (when there is one), 'none', or 'cancel'."""
        from app.io.color_tables import find_beside

        beside = find_beside(path)
        box = QMessageBox(QMessageBox.Question, "Label table", f"Names and colours for {path.name}:", parent=self.w)
        buttons = {"choose": box.addButton("Choose a table...", QMessageBox.AcceptRole)}
        if beside is not None:
            buttons["beside"] = box.addButton(f"Use {beside.name}", QMessageBox.AcceptRole)
            box.setDefaultButton(buttons["beside"])
        buttons["none"] = box.addButton("No table", QMessageBox.AcceptRole)
        buttons["cancel"] = box.addButton(QMessageBox.Cancel)
        box.setObjectName("table_choice")
        box.exec()
        clicked = box.clickedButton()
        return next((k for k, b in buttons.items() if b is clicked), "cancel")

    def ask_open_reference(self) -> None:
        path = self._ask("Open reference volume", IMAGE_FILTER)
        if path is not None:
            self.open_reference(path)

    def ask_import_masks(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self.w, "Import binary masks", "", IMAGE_FILTER)
        if paths:
            self.import_masks(paths)

    def ask_import_mask_folder(self) -> None:
        """A folder of masks, one file per structure (TotalSegmentator's `segmentations/`)."""
        folder = QFileDialog.getExistingDirectory(self.w, "Import a folder of binary masks",
                                                  str(self.w.settings.value("last_dir", "")))
        if folder:
            self.import_masks([folder])

    def ask_export_masks(self) -> None:
        """Every segment as its own mask file in a folder (`<name>.nii.gz`): TotalSegmentator's layout, and what
        Import mask folder reads back."""
        seg = self.w.segmentation
        if seg is None:
            return
        folder = QFileDialog.getExistingDirectory(self.w, "Export masks into a folder", str(self.document_folder()))
        if not folder:
            return
        try:
            files = self.w.run_long(lambda p: io.export_masks(seg, folder, progress=p), "Exporting masks...")
        except (io.FileFormatError, OSError, Cancelled, NotImplementedError) as exc:
            self._report(self._sentence(exc, Path(folder), "export"))
            return
        self.w.settings.setValue("last_dir", folder)
        self.w.status_message(f"Exported {len(files)} masks into {Path(folder).name}")

    # ---------------------------------------------------------------- saving
    def save(self) -> bool:
        if self.w.segmentation is None:
            return False
        if self.w.path is None or classify(self.w.path) != Kind.SEGMENTATION:
            return self.save_as()
        if is_read_only(self.w.path):             # (replacing it would need only the folder's permission)
            self.w.status_message(f"{self.w.path.name} is read-only: save it under another name")
            return self.save_as()
        return self.save_to(self.w.path)

    def save_as(self) -> bool:
        if self.w.segmentation is None:
            return False
        stem = self.w.path.name.split(".")[0] if self.w.path is not None else "segmentation"
        default = self.document_folder() / f"{stem}.seg.nrrd"
        if is_read_only(default):
            default = default.with_name(f"{stem}-edited.seg.nrrd")
        path = self._ask("Save segmentation", "Slicer segmentation (*.seg.nrrd)", save=True, default=str(default))
        if path is None:
            return False
        if not path.name.lower().endswith(".seg.nrrd"):
            path = path.with_name(path.name.split(".")[0] + ".seg.nrrd")
        return self.save_to(path)

    def save_to(self, path) -> bool:
        seg = self.w.segmentation
        try:
            self.w.run_long(lambda p: io.save_segmentation(seg, path, progress=p), f"Saving {Path(path).name}...")
        except (io.FileFormatError, OSError, Cancelled, NotImplementedError) as exc:
            return self._report(self._sentence(exc, Path(path), "save"))
        self.w.mark_saved(Path(path))
        self.add_recent(path)
        self.w.status_message(f"Saved {Path(path).name}")
        return True

    def ask_export_labelmap(self) -> None:
        seg = self.w.segmentation
        if seg is None:
            return
        stem = self.w.path.name.split(".")[0] if self.w.path is not None else "labelmap"
        path = self._ask("Export labelmap", "NRRD (*.nrrd);;NIfTI (*.nii.gz)", save=True,
                         default=str(self.document_folder() / f"{stem}-labelmap.nrrd"))
        if path is None:
            return
        try:
            files = self.w.run_long(lambda p: io.export_labelmap(seg, path, progress=p), "Exporting...")
        except (io.FileFormatError, OSError, Cancelled, NotImplementedError) as exc:
            self._report(self._sentence(exc, path, "export"))
            return
        self.w.status_message("Exported " + ", ".join(Path(f).name for f in files))

    def maybe_save(self) -> bool:
        """Before discarding the open document: True to go on (saved or discarded), False to stay."""
        if not self.w.is_modified():
            return True
        answer = QMessageBox.question(self.w, "Unsaved changes", "The segmentation has unsaved changes. Save them?",
                                      QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel, QMessageBox.Save)
        if answer == QMessageBox.Save:
            return self.save()
        return answer == QMessageBox.Discard

    # ---------------------------------------------------------------- errors
    @staticmethod
    def _sentence(exc, path, verb="open") -> str:
        if isinstance(exc, Cancelled):
            return "Cancelled."
        if isinstance(exc, NotImplementedError):
            return f"Cannot {verb} {path.name if path else 'the file'}: this format is not supported yet."
        if isinstance(exc, OSError):
            return f"Cannot {verb} {path.name if path else 'the file'}: {exc.strerror or exc}."
        return str(exc)

    def _read_warned(self, read, path, label: str):
        """Run a reader through run_long and tell the user, once, what it read tolerantly (orphan voxels
        cleared, junk table lines skipped, ...): the readers warn with io.FileFormatWarning."""
        def job(progress):
            with warnings.catch_warnings(record=True) as caught:    # one reader at a time: the GUI waits on it
                warnings.simplefilter("always", io.FileFormatWarning)
                result = read(progress)
            return result, [str(w.message) for w in caught if issubclass(w.category, io.FileFormatWarning)]

        result, notes = self.w.run_long(job, label)
        self._tell_notes(notes, path)
        return result

    def _tell_notes(self, notes, path) -> None:
        self.last_warnings = notes
        if notes:
            shown = "\n".join(f"- {n}" for n in notes[:8]) + (f"\n(and {len(notes) - 8} more)" if len(notes) > 8 else "")
            if self.w.isVisible():
                QMessageBox.warning(self.w, "segedit", f"{Path(path).name} was opened, but:\n{shown}")

    def _report(self, message: str) -> bool:
        self.w.status_message(message)
        if self.w.isVisible():
            QMessageBox.critical(self.w, "segedit", message)
        self.last_error = message
        return False

    # ---------------------------------------------------------------- recent files and settings
    def recent(self) -> list[str]:
        value = self.w.settings.value("recent_files", [])
        return [value] if isinstance(value, str) else list(value or [])

    def add_recent(self, path) -> None:
        p = str(Path(path).resolve())
        items = [p] + [r for r in self.recent() if r != p]
        self.w.settings.setValue("recent_files", items[:MAX_RECENT])
        self._refresh_recent()

    def _refresh_recent(self) -> None:
        if self.recent_menu is None:
            return
        self.recent_menu.clear()
        for p in self.recent():
            a = self.recent_menu.addAction(Path(p).name)
            a.setToolTip(p)
            a.triggered.connect(lambda _=False, p=p: self.open_paths([p]))
        self.recent_menu.setEnabled(bool(self.recent()))

    def restore_settings(self) -> None:
        window_settings.restore(self.w)

    def save_settings(self) -> None:
        window_settings.save(self.w)


def _overlaps(a, b) -> bool:
    """Do two lattices' physical boxes intersect?"""
    full = lambda g: tuple(slice(0, n) for n in g.shape)  # noqa: E731
    lo1, hi1 = a.box_bounds_lps(full(a))
    lo2, hi2 = b.box_bounds_lps(full(b))
    return bool((lo1 <= hi2 + 1e-3).all() and (lo2 <= hi1 + 1e-3).all())
