"""Export the surfaces the 3D view shows (STL or OBJ, one file per segment or merged, LPS millimetres)."""
from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QMessageBox

from app.ui.long_task import Cancelled

EXPORT_FILTERS = {  # file-dialog filter -> (format value, one file per segment)
    "STL, one file per segment (*.stl)": ("stl", True),
    "STL, all segments in one file (*.stl)": ("stl", False),
    "OBJ, one file per segment (*.obj)": ("obj", True),
    "OBJ, all segments in one file (*.obj)": ("obj", False),
}


def export_shown(view, path, fmt: str = "stl", one_file_per_segment: bool = False, progress=None) -> list:
    """Write the surfaces of the segments `view` shows (visible, not hidden in 3D, non-empty); segments whose
    surface is not current are meshed now, on this thread. `progress(fraction)` is called between steps (and may
    raise to cancel). Returns the paths written."""
    from app.render.surfaces import ExportFormat, export_surfaces, plan_jobs

    seg = view.segmentation
    if seg is None:
        raise ValueError("there is no segmentation to export")
    ids = [sid for sid in view.shown_ids() if not seg.is_empty(sid)]
    cache = view.cache
    meshes = {sid: cache.get(sid) for sid in ids if cache is not None and cache.is_current(sid)}
    missing = [sid for sid in ids if sid not in meshes]
    jobs, _empty = plan_jobs(seg, missing, view.smoothing)
    for n, job in enumerate(jobs):
        if progress is not None:
            progress(0.9 * n / len(jobs))
        meshes.update(job.run())
    if progress is not None:
        progress(0.9)
    named = [(seg.segment(sid).name, meshes.get(sid)) for sid in ids]
    return export_surfaces(named, path, ExportFormat(fmt), one_file_per_segment)


def export_dialog(view) -> None:
    """Ask where and how, export, and say what happened (a warning in one sentence when it failed)."""
    if view.segmentation is None:
        return
    path, chosen = QFileDialog.getSaveFileName(view.window(), "Export surfaces", "surfaces.stl",
                                               ";;".join(EXPORT_FILTERS))
    if not path:
        return
    fmt, per_segment = EXPORT_FILTERS.get(chosen, ("stl", False))
    run_long = getattr(view.window(), "run_long", None)     # the main window's progress dialog, off the GUI thread

    def work(progress=None):
        return export_shown(view, path, fmt, per_segment, progress)
    try:
        written = run_long(work, "Exporting surfaces...") if run_long is not None else work()
    except (OSError, ValueError) as exc:
        QMessageBox.warning(view.window(), "Export surfaces", f"The surfaces were not exported: {exc}.")
        return
    except Cancelled:
        view.status.setText("Export cancelled")
        return
    view.status.setText(f"Exported {len(written)} file{'s' if len(written) > 1 else ''}")
