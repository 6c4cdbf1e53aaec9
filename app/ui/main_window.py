"""The main window: three slice views, the Segments and Layers docks, menus, status bar; it composes widgets and
holds the open document. The features listed in `app.ui.extensions` (editing, 3D view, tools, recovery) are
installed at the end, explicitly.

The contract other modules rely on: `segmentation`, `reference`, `segmentation_changed(object)`, `slice_views`,
`current_segment_id()`, `current_segment_changed(str)`, `select_segment(id)`, `menu(title)`, `add_dock(widget,
title, area)`, `status_message(text)`, `run_long(fn, label)`.
"""
from __future__ import annotations

import logging

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (QDockWidget, QFormLayout, QGridLayout, QLabel, QMainWindow, QMenu, QTabBar,
                               QVBoxLayout, QWidget)

from app.render.view_orientation import Plane
from app.resources import ICON, resource_path

from . import extensions, long_task
from .display import Display
from .display_panel import DisplayPanel
from .file_actions import FileActions
from .heap import settle_objects
from .layers_panel import LayersPanel
from .main_menus import build_help_menu, build_segmentation_menu, build_view_menu
from .segment_panel import SegmentPanel
from .slice_view import SliceView
from .view_layout import Layout

log = logging.getLogger(__name__)

MENU_TITLES = ("File", "Edit", "View", "Segmentation", "Tools", "Help")
APP_NAME = "segedit"


class MainWindow(QMainWindow):
    segmentation_changed = Signal(object)
    current_segment_changed = Signal(str)

    def __init__(self, settings: QSettings | None = None, extensions: bool = True) -> None:
        super().__init__()
        self.settings = settings if settings is not None else QSettings(APP_NAME, APP_NAME)
        self.setWindowIcon(QIcon(str(resource_path(ICON))))     # also the About box's icon
        self.segmentation = None
        self.reference = None
        self.path = None                   # where the segmentation was read from / last saved
        self._saved_step = None            # top of the undo stack when last saved
        self._unsaved_new = False          # a document that exists only in memory (import, new)
        self.layout_mode = Layout.ONE_PLUS_TWO
        self.display = Display(self)
        self.slice_views = [SliceView(self.display, p) for p in Plane]
        self._menus: dict[str, QMenu] = {}
        for title in MENU_TITLES:
            self.menu(title)
        self._build_central()
        self._build_docks()
        self._build_status()
        self.files = FileActions(self)
        build_view_menu(self)
        build_segmentation_menu(self)
        build_help_menu(self)
        self.setAcceptDrops(True)
        self.resize(1280, 900)
        if extensions:
            self._install_extensions()
            self._keep_quit_last()
        self._arrange_default_docks()
        self._keep_dock_widths()
        self.files.restore_settings()        # after the extensions: their docks' places are saved too
        self._stray_tab_bars_checked = False
        self._update_title()

    # ---------------------------------------------------------------- construction
    def _build_central(self) -> None:
        self.view_area = QWidget()
        self.view_area.setAccessibleName("the slice views")
        self.view_grid = QGridLayout(self.view_area)
        self.view_grid.setContentsMargins(0, 0, 0, 0)
        self.view_grid.setSpacing(2)
        self.setCentralWidget(self.view_area)
        for v in self.slice_views:
            v.segment_picked.connect(self.select_segment)
            v.hover_text.connect(self._show_hover)
        self.set_layout(self.layout_mode)

    def _build_docks(self) -> None:
        panel = QWidget()
        lay = QVBoxLayout(panel)
        lay.setContentsMargins(0, 0, 0, 0)
        self.display_panel = DisplayPanel(self.display)
        self.segment_panel = SegmentPanel()
        lay.addWidget(self.display_panel)
        lay.addWidget(self.segment_panel, 1)
        self.segments_dock = self.add_dock(panel, "Segments", Qt.RightDockWidgetArea)
        self.layers_panel = LayersPanel()
        self.layers_panel.collapsed.connect(self.status_message)
        self.layers_dock = self.add_dock(self.layers_panel, "Layers", Qt.RightDockWidgetArea)
        self.segment_panel.current_segment_changed.connect(self.current_segment_changed)
        self.segment_panel.jump_requested.connect(self.jump_to_segment)
        d = self.display
        d.structure_changed.connect(self.segment_panel.on_structure_changed)
        d.structure_changed.connect(self.layers_panel.refresh)
        d.segments_changed.connect(self.segment_panel.model.on_segments_changed)
        d.voxels_changed.connect(self.segment_panel.model.on_voxels_changed)

    def _build_status(self) -> None:
        self.hover_label = QLabel("")
        self.statusBar().addPermanentWidget(self.hover_label, 1)

    def _install_extensions(self) -> None:
        for name, install in extensions.INSTALLERS:
            log.debug("installing %s", name)
            install(self)

    def _keep_dock_widths(self) -> None:
        """Docks keep the width the user gave them: a label whose text changes (the segment being edited, a
        tool's summary, a long segment name) must not push its dock wider, which shrank the views during a
        session (320 -> 375 px, and ~1000 px for a long name). Labels in docks wrap and never demand their
        text's width (minimumWidth 1 overrides the hint); a label with the `one_line` property (a status line sized
        by its layout) stays one line."""
        for dock in self.findChildren(QDockWidget):
            row_labels = set()              # a form's row labels are short and fixed: they keep their width
            for form in dock.findChildren(QFormLayout):
                for row in range(form.rowCount()):
                    item = form.itemAt(row, QFormLayout.LabelRole)
                    if item is not None and item.widget() is not None:
                        row_labels.add(id(item.widget()))
            for label in dock.findChildren(QLabel):
                if id(label) not in row_labels and not label.property("one_line"):   # one_line: cut, not wrapped
                    label.setWordWrap(True)
                    label.setMinimumWidth(1)

    def _keep_quit_last(self) -> None:
        """Extensions append to the File menu (Export surfaces, Recover...): Quit stays its last entry."""
        m = self.menu("File")
        quit_action = self.files.actions.get("Quit")
        if quit_action is not None and m.actions() and m.actions()[-1] is not quit_action:
            m.removeAction(quit_action)
            m.addSeparator()
            m.addAction(quit_action)

    def _arrange_default_docks(self) -> None:
        """The first-run layout: the slice views get the width. Docks sharing a side become tabs (the editor and
        tools on the left, one at a time as in Slicer's Segment Editor; Layers and 3D under the segment table)."""
        left = [d for d in self.findChildren(QDockWidget) if self.dockWidgetArea(d) == Qt.LeftDockWidgetArea]
        under = [d for d in self.findChildren(QDockWidget)
                 if self.dockWidgetArea(d) == Qt.RightDockWidgetArea and d is not self.segments_dock]
        for group in (left, under):
            for other in group[1:]:
                self.tabifyDockWidget(group[0], other)
            if group:
                group[0].raise_()
        self.resizeDocks(left[:1] + [self.segments_dock], [300] * bool(left) + [380], Qt.Horizontal)
        if under:
            self.resizeDocks([self.segments_dock, under[0]], [640, 200], Qt.Vertical)

    def showEvent(self, ev) -> None:
        super().showEvent(ev)
        if not self._stray_tab_bars_checked:
            self._stray_tab_bars_checked = True
            QTimer.singleShot(0, self._hide_stray_tab_bars)      # once laid out

    def _hide_stray_tab_bars(self) -> None:
        """Qt 6.10-6.11: every tabifyDockWidget after a window's first, and every restoreState, leaves a copy of the
        group's tab bar that Qt never lays out again: a second "Segment editor | Tools" bar stood above the real one,
        at the size the docks had then, with empty space around it. The bar Qt lays out is the group's last made
        (checked through the window's resizes by tests/ui/test_dock_tab_bars.py); the copies are hidden. Laying
        the window out again instead would show only Qt's bars too, but resets the docks' sizes."""
        groups: dict[tuple, list[QTabBar]] = {}
        for bar in self.findChildren(QTabBar):                  # in the order they were made
            if bar.parent() is self and bar.count():            # the docks' tab bars (widgets' own live inside)
                groups.setdefault(tuple(bar.tabData(i) for i in range(bar.count())), []).append(bar)
        for bars in groups.values():
            for stray in bars[:-1]:
                stray.hide()

    # ---------------------------------------------------------------- the contract
    def menu(self, title: str) -> QMenu:
        if title not in self._menus:
            self._menus[title] = self.menuBar().addMenu(f"&{title}")
        return self._menus[title]

    def add_dock(self, widget: QWidget, title: str, area=Qt.RightDockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{title.replace(' ', '_')}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        if not hasattr(self, "panels_menu"):
            self.panels_menu = self.menu("View").addMenu("Panels")
        self.panels_menu.addAction(dock.toggleViewAction())
        return dock

    def status_message(self, text: str, ms: int = 6000) -> None:
        self.statusBar().showMessage(text, ms)

    def run_long(self, fn, label: str):
        return long_task.run_long(self, fn, label)

    def current_segment_id(self) -> str:
        return self.segment_panel.current_segment_id()

    def select_segment(self, segment_id: str) -> None:
        self.segment_panel.select_segment(segment_id)

    def jump_to_segment(self, segment_id: str) -> None:
        """Move the linked cursor to the segment (its voxel nearest its centroid) and centre every view there."""
        from app.model.locate import segment_centre

        seg = self.segmentation
        if seg is None or segment_id not in seg:
            return
        name = seg.segment(segment_id).name
        ijk = segment_centre(seg, segment_id)
        if ijk is None:
            self.status_message(f"{name} is empty: nothing to jump to")
            return
        self.display.set_cursor(ijk)
        for v in self.slice_views:
            v.centre_on(ijk)
        self.select_segment(segment_id)
        self.status_message(f"{name}: ijk ({ijk[0]}, {ijk[1]}, {ijk[2]})")

    # ---------------------------------------------------------------- document
    def set_document(self, segmentation, reference=..., path=None, unsaved: bool = False) -> None:
        """Show a new segmentation (None closes it); `reference` unchanged unless given."""
        if self.segmentation is not None:
            self.segmentation.history.changed.disconnect(self._update_title)
        if reference is not ...:
            self.reference = reference
        self.segmentation = segmentation
        self.path = path
        self._unsaved_new = unsaved
        self._saved_step = None
        if segmentation is not None:
            h = segmentation.history
            self._saved_step = h.undo_stack[-1] if h.undo_stack else None
            h.changed.connect(self._update_title)
        self.display.set_document(segmentation, self.reference)
        self.segment_panel.set_segmentation(segmentation)
        self.layers_panel.set_segmentation(segmentation)
        self._update_title()
        self.segmentation_changed.emit(segmentation)
        QTimer.singleShot(0, settle_objects)   # once shown: its objects (and the last one's garbage) out of the way

    def set_reference(self, volume) -> None:
        self.reference = volume
        self.display.set_document(self.segmentation, volume)
        self._update_title()

    def is_modified(self) -> bool:
        if self.segmentation is None:
            return False
        h = self.segmentation.history
        return self._unsaved_new or (h.undo_stack[-1] if h.undo_stack else None) is not self._saved_step

    def mark_saved(self, path) -> None:
        h = self.segmentation.history
        self.path = path
        self._saved_step = h.undo_stack[-1] if h.undo_stack else None
        self._unsaved_new = False
        self._update_title()

    def _update_title(self) -> None:
        if self.segmentation is not None:
            name = self.path.name if self.path is not None else "untitled segmentation"
        elif self.reference is not None and self.reference.path is not None:
            name = self.reference.path.name
        else:
            name = ""
        self.setWindowTitle(f"{name}[*] — {APP_NAME}" if name else APP_NAME)
        self.setWindowModified(self.is_modified())

    # ---------------------------------------------------------------- layout
    def set_layout(self, mode: Layout) -> None:
        grid_3d = getattr(self, "grid_3d", None)       # (take, give back) the 3D view: set by app.ui.view_3d
        if mode.has_3d and grid_3d is None:
            mode = Layout.ONE_PLUS_TWO
        view_3d = grid_3d[0]() if mode.has_3d else None
        if not mode.has_3d and self.layout_mode.has_3d and grid_3d is not None:
            grid_3d[1]()                               # back into its dock
        self.layout_mode = mode
        for v in self.slice_views:
            self.view_grid.removeWidget(v)
            v.hide()
        for n in range(3):
            self.view_grid.setColumnStretch(n, 0)
            self.view_grid.setRowStretch(n, 0)
        ax, co, sa = self.slice_views
        if mode == Layout.ROW:
            places = [(ax, 0, 0, 1, 1), (co, 0, 1, 1, 1), (sa, 0, 2, 1, 1)]
            stretch = {"col": (1, 1, 1), "row": (1,)}
        elif mode == Layout.ONE_PLUS_TWO:
            places = [(ax, 0, 0, 2, 1), (co, 0, 1, 1, 1), (sa, 1, 1, 1, 1)]
            stretch = {"col": (2, 1), "row": (1, 1)}
        elif mode == Layout.FOUR_UP:                   # as Slicer: axial | 3D over sagittal | coronal
            places = [(ax, 0, 0, 1, 1), (view_3d, 0, 1, 1, 1), (sa, 1, 0, 1, 1), (co, 1, 1, 1, 1)]
            stretch = {"col": (1, 1), "row": (1, 1)}
        elif mode == Layout.THREE_D:
            places = [(view_3d, 0, 0, 1, 1)]
            stretch = {"col": (1,), "row": (1,)}
        else:
            view = {Layout.AXIAL: ax, Layout.CORONAL: co, Layout.SAGITTAL: sa}[mode]
            places = [(view, 0, 0, 1, 1)]
            stretch = {"col": (1,), "row": (1,)}
        for w, r, c, rs, cs in places:
            self.view_grid.addWidget(w, r, c, rs, cs)
            w.show()
        for n, s in enumerate(stretch["col"]):
            self.view_grid.setColumnStretch(n, s)
        for n, s in enumerate(stretch["row"]):
            self.view_grid.setRowStretch(n, s)

    def view(self, plane: Plane) -> SliceView:
        return next(v for v in self.slice_views if v.plane == plane)

    def reset_views(self) -> None:
        for v in self.slice_views:
            v.reset_view()

    def _show_hover(self, text: str) -> None:
        self.hover_label.setText(text)

    # ---------------------------------------------------------------- window events
    def dragEnterEvent(self, ev) -> None:
        if ev.mimeData().hasUrls():
            ev.acceptProposedAction()

    def dropEvent(self, ev) -> None:
        paths = [u.toLocalFile() for u in ev.mimeData().urls() if u.isLocalFile()]
        if paths:
            ev.acceptProposedAction()
            self.files.open_paths(paths)

    def closeEvent(self, ev) -> None:
        if not self.files.maybe_save():
            ev.ignore()
            return
        self.files.save_settings()
        ev.accept()
