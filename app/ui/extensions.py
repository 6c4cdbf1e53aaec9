"""The features the main window adds to itself after its own views, docks and menus, in this order.

Each entry is `(name, install)`; `install(window)` builds its docks, menus, actions and shortcuts through the
window's contract (see `app.ui.main_window`). They are imported here, plainly: a feature that fails to import or
install is a bug that stops the start with its traceback, never a silently missing menu. A new feature adds one
line. `segedit --no-extensions` (screenshots of the bare window) installs none of them.
"""
from __future__ import annotations

from . import segment_editor, measure, organise, crash_recovery, operations_panel, view_3d

INSTALLERS = (
    ("editing", segment_editor.install),          # Segment editor dock, Edit menu (Undo/Redo), brushes and their keys
    ("3D view", view_3d.install),          # the 3D dock (VTK is loaded when it is first shown)
    ("tools", operations_panel.install),        # Tools dock and menu: threshold, islands, margin, smoothing, ...
    ("recovery", crash_recovery.install),        # autosave and the recovery offer at start
    ("organise", organise.install),        # group tree, name picker, review status (Segmentation menu)
    ("measure", measure.install),          # Statistics and Compare docks
)
