"""Export the surfaces the 3D view shows (STL, OBJ, PLY or VTP, one file per segment or merged, LPS millimetres)."""
from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QMessageBox

from app.ui.long_task import Cancelled

EXPORT_FILTERS = {  # file-dialog filter -> (format value, one file per segment)
    "STL, one file per segment (*.stl)": ("stl", True),
    "STL, all segments in one file (*.stl)": ("stl", False),
    "OBJ, one file per segment (*.obj)": ("obj", True),
    "OBJ, all segments in one file (*.obj)": ("obj", False),
    "PLY, one file per segment (*.ply)": ("ply", True),
    "PLY, all segments in one file (*.ply)": ("ply", False),
    "VTP (VTK XML), one file per segment (*.vtp)": ("vtp", True),
    "VTP (VTK XML), all segments in one file (*.vtp)": ("vtp", False),
}


def prepare_export(view):
    """GUI thread: what to write: [(name, mesh or None)] for the segments `view` shows (visible, not hidden in 3D,
    non-empty), and the jobs meshing those whose surface is not current (voxels copied out now)."""
    from app.render.surfaces import detached, plan_jobs

    seg = view.segmentation
    if seg is None:
        raise ValueError("there is no segmentation to export")
    ids = [sid for sid in view.shown_ids() if not seg.is_empty(sid)]
    cache = view.cache
    current = [sid for sid in ids if cache is not None and cache.is_current(sid) and cache.get(sid) is not None]
    meshes = {sid: detached(cache.get(sid)) for sid in current}     # another thread may read these
    jobs, _empty = plan_jobs(seg, [sid for sid in ids if sid not in meshes], view.smoothing)
    return [(sid, seg.segment(sid).name) for sid in ids], meshes, jobs


def write_prepared(prepared, path, fmt: str, one_file_per_segment: bool, progress=None) -> list:
    """Any thread: run the jobs and write the files; `progress(fraction)` may raise to cancel."""
    from app.render.surfaces import ExportFormat, export_surfaces

    names, meshes, jobs = prepared
    for n, job in enumerate(jobs):
        if progress is not None:
            progress(0.9 * n / len(jobs))
        meshes.update(job.run())
    if progress is not None:
        progress(0.9)
    return export_surfaces([(name, meshes.get(sid)) for sid, name in names], path, ExportFormat(fmt),
                           one_file_per_segment)


def export_shown(view, path, fmt: str = "stl", one_file_per_segment: bool = False) -> list:
    """Write the surfaces `view` shows, on this thread. Returns the paths written."""
    return write_prepared(prepare_export(view), path, fmt, one_file_per_segment)


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

    try:
        prepared = prepare_export(view)

        def work(progress=None):
            return write_prepared(prepared, path, fmt, per_segment, progress)
        written = run_long(work, "Exporting surfaces...") if run_long is not None else work()
    except (OSError, ValueError) as exc:
        QMessageBox.warning(view.window(), "Export surfaces", f"The surfaces were not exported: {exc}.")
        return
    except Cancelled:
        view.status.setText("Export cancelled")
        return
    view.status.setText(f"Exported {len(written)} file{'s' if len(written) > 1 else ''}")
