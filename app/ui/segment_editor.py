"""Editing in the main window: the Segment editor dock, the paint/erase tools on every slice view, Undo/Redo in
the Edit menu, and the editing shortcuts. `install(window)` is called by MainWindow at the end of its __init__.

Shortcuts: 1 paint, 2 erase, 3 draw, 4 level tracing, 7 scissors, 8 flood fill (tools/catalog.py), G grow from seeds, Esc no tool
(or cancel the stroke in progress), W / Q next / previous segment, ] / [ (or + / -) and Shift+wheel over a view grow / shrink the brush, Ctrl+Z undo, Ctrl+Shift+Z or Ctrl+Y redo.
The undo memory (MB, default 500) is the QSettings key `editing/undo_memory_mb`.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QInputDialog

from app.model.segment_editor_state import EditorState, ToolKind
from app.model.tool_options import Scope, ToolOptions
from app.ui.view_tools import catalog
from app.ui.view_tools.paint import PaintTool

from .segment_editor_panel import EditorPanel

UNDO_MEMORY_KEY = "editing/undo_memory_mb"
DEFAULT_UNDO_MB = 500


def install(window) -> "Editing":
    window.editing = Editing(window)
    return window.editing


class Editing(QObject):
    """Glue between the window, the EditorState, the tools and the undo history of the open document."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.state = EditorState()
        self.tools = {kind: PaintTool(self.state, lambda: window.segmentation, lambda: window.reference,
                                      erase=kind is ToolKind.ERASE, defer=self._next_turn)
                      for kind in (ToolKind.PAINT, ToolKind.ERASE)}
        self.options = ToolOptions()              # Draw, Scissors, Level tracing, Flood fill (tools/catalog.py)
        for e in catalog.ENTRIES:
            tool = catalog.make_tool(e.kind, self.state, lambda: window.segmentation, lambda: window.reference,
                                     self.options, self._next_turn, self._scope_ids)
            tool.changed.connect(lambda t=tool: self._show_marks(t))
            self.tools[e.kind] = tool
        self.panel = EditorPanel(self.state, self.options)
        self.dock = window.add_dock(self.panel, "Segment editor", Qt.LeftDockWidgetArea)
        window.resizeDocks([self.dock], [340], Qt.Horizontal)      # leave the views most of the width
        self._seg = None
        self._history = None
        self._build_menu()
        self._build_shortcuts()
        self.state.tool_changed.connect(self._on_tool)
        self.state.brush_changed.connect(self._on_brush)
        self.state.message.connect(self._say)
        self.state.active_segment_changed.connect(self._show_active)
        window.segmentation_changed.connect(self._on_document)
        window.display.structure_changed.connect(self._on_structure)     # model events reach widgets via Display
        window.display.segments_changed.connect(self._on_segments)
        window.current_segment_changed.connect(self._on_current_segment)
        for v in window.slice_views:
            v.canvas.viewport().installEventFilter(self)
            v.slice_changed.connect(lambda _i, v=v: v.show_marks(self._marks()))
        self._on_document(window.segmentation)
        from app.ui import grow_seeds   # Grow from seeds: its tool, options and preview (key G)

        grow_seeds.install(self)

    # ---------------------------------------------------------------- menu and shortcuts
    def _action(self, menu, text, keys, slot, tip="") -> QAction:
        a = QAction(text, self.window)
        if keys:
            a.setShortcuts([QKeySequence(k) for k in keys])
        a.setStatusTip(tip)
        a.triggered.connect(slot)
        menu.addAction(a)
        return a

    def _build_menu(self) -> None:
        m = self.window.menu("Edit")
        self.undo_action = self._action(m, "Undo", [QKeySequence.Undo], self.undo, "Undo the last change")
        self.redo_action = self._action(m, "Redo", ["Ctrl+Shift+Z", "Ctrl+Y"], self.redo, "Redo what was undone")
        m.addSeparator()
        self.tool_actions = {
            ToolKind.PAINT: self._action(m, "Paint brush", ["1"], lambda: self.set_tool(ToolKind.PAINT)),
            ToolKind.ERASE: self._action(m, "Erase brush", ["2"], lambda: self.set_tool(ToolKind.ERASE)),
        }
        for e in catalog.ENTRIES:
            self.tool_actions[e.kind] = self._action(m, e.label, [e.key], lambda _=False, k=e.kind: self.set_tool(k),
                                                     e.help)
        self._action(m, "No tool", [], lambda: self.set_tool(ToolKind.NONE), "Esc over a view")
        self._action(m, "Larger brush", ["]", "+", "="], lambda: self.state.scale_brush(1))
        self._action(m, "Smaller brush", ["[", "-"], lambda: self.state.scale_brush(-1))
        m.addSeparator()
        self._action(m, "Next segment", ["W"], lambda: self.step_segment(1))
        self._action(m, "Previous segment", ["Q"], lambda: self.step_segment(-1))
        m.addSeparator()
        self._action(m, "Undo memory…", [], self.ask_undo_memory, "How much memory undo may use")
        self._update_undo()

    def _build_shortcuts(self) -> None:
        # Esc only over the views and this panel: elsewhere it must keep closing editors and dialogs
        views = getattr(self.window, "view_area", None) or self.window.centralWidget()
        for widget in (views, self.panel):
            sc = QShortcut(QKeySequence(Qt.Key_Escape), widget)
            sc.setContext(Qt.WidgetWithChildrenShortcut)
            sc.setWhatsThis("Cancel the stroke in progress, else put the tool down")
            sc.activated.connect(self.escape)

    # ---------------------------------------------------------------- tools
    def _next_turn(self, fn) -> None:
        """Run fn at the next event-loop turn: the mouse moves received until then become one edit."""
        QTimer.singleShot(0, self, fn)

    def set_tool(self, kind: ToolKind) -> None:
        self.state.tool = kind

    def escape(self) -> None:
        """Esc: cancel the stroke in progress, else put the tool down."""
        busy = [t for t in self.tools.values() if t.active]
        for t in busy:
            t.cancel()
        if busy:
            for v in self.window.slice_views:
                v.canvas.dragging_tool = False
            self.window.status_message("Stroke cancelled")
        else:
            self.set_tool(ToolKind.NONE)

    def _on_tool(self, kind: ToolKind) -> None:
        tool = self.tools.get(kind)
        for other in self.tools.values():          # a half-drawn contour does not outlive its tool
            if other is not tool and other.active:
                other.cancel()
        for v in self.window.slice_views:
            v.set_tool(tool)
        self._on_brush()
        self._show_marks(None)
        entry = next((e for e in catalog.ENTRIES if e.kind is kind), None)
        for v in self.window.slice_views:          # a cross-hair pointer: a click there places a point or fills
            if entry is not None:
                v.canvas.viewport().setCursor(Qt.CrossCursor)
            else:
                v.canvas.viewport().unsetCursor()
        if entry is not None:
            self.window.status_message(entry.help)
        elif kind is not ToolKind.NONE:
            self.window.status_message(f"{tool.name} brush: drag over a view ([ ] or Shift+wheel: brush size, "
                                       f"Esc: no tool)")

    # ---------------------------------------------------------------- tools beyond the brush
    def _marks(self):
        tool = self.tools.get(self.state.tool)
        return getattr(tool, "marks", None)

    def _show_marks(self, tool) -> None:
        """A tool's marks changed (or the tool did): every view draws the current tool's marks."""
        marks = self._marks()
        for v in self.window.slice_views:
            v.show_marks(marks)

    def _scope_ids(self, seg, scope) -> list:
        """The segments the scissors erase: current, selected in the table, visible, or all."""
        if scope == Scope.ALL:
            return list(seg.segment_ids)
        if scope == Scope.VISIBLE:
            return [s.id for s in seg.segments if s.visible]
        if scope == Scope.SELECTED:
            panel = getattr(self.window, "segment_panel", None)
            ids = panel.selected_ids() if panel is not None else []
            return ids or ([self.state.active_segment] if self.state.active_segment else [])
        return [self.state.active_segment] if self.state.active_segment else []

    def _on_brush(self) -> None:
        brushes = (ToolKind.PAINT, ToolKind.ERASE)
        radius = self.state.brush_radius_mm if self.state.tool in brushes else None
        for v in self.window.slice_views:
            v.set_brush_outline(radius)

    def eventFilter(self, obj, ev) -> bool:
        """Shift+wheel over a view resizes the brush while a brush tool is active."""
        if ev.type() == QEvent.Wheel and ev.modifiers() & Qt.ShiftModifier and \
                self.state.tool in (ToolKind.PAINT, ToolKind.ERASE):
            delta = ev.angleDelta().y() or ev.angleDelta().x()      # some platforms turn Shift+wheel sideways
            if delta:
                self.state.scale_brush(1 if delta > 0 else -1)
                view = next((v for v in self.window.slice_views if v.canvas.viewport() is obj), None)
                if view is not None:
                    view.hover(view.canvas.to_view(ev.position()))      # redraw the outline at its new size
            return True
        return False

    # ---------------------------------------------------------------- segments
    def _on_current_segment(self, segment_id: str) -> None:
        self.state.active_segment = segment_id or None

    def _show_active(self, _=None) -> None:
        self.panel.set_active(self.window.segmentation, self.state.active_segment)

    def step_segment(self, delta: int) -> None:
        """W / Q: select the next / previous segment in display order (wrapping)."""
        seg = self.window.segmentation
        if seg is None or not len(seg):
            return
        ids = seg.segment_ids
        cur = self.state.active_segment
        n = (ids.index(cur) + delta) % len(ids) if cur in ids else (0 if delta > 0 else len(ids) - 1)
        self.window.select_segment(ids[n])
        self.state.active_segment = ids[n]

    def _say(self, text: str) -> None:
        self.window.status_message(text)

    # ---------------------------------------------------------------- document and undo
    def _on_document(self, seg) -> None:
        for t in self.tools.values():
            t.cancel()
        old = self._seg
        if old is not None:
            old.history.changed.disconnect(self._update_undo)
        self._seg = seg
        self._history = seg.history if seg is not None else None
        if seg is not None:
            seg.history.changed.connect(self._update_undo)
            seg.history.set_budget(self.undo_memory_mb() * 2**20)
        self.panel.set_segments(seg)
        self.panel.set_reference(self.window.reference)
        self._on_current_segment(self.window.current_segment_id())
        self._show_active()
        self._update_undo()

    def _on_voxels(self, _changes) -> None:
        for t in self.tools.values():          # a region preview made before the edit is stale
            if hasattr(t, "invalidate"):
                t.invalidate()

    def _on_structure(self) -> None:
        if self._seg is None:
            return
        self.panel.set_segments(self.window.segmentation)
        self._show_active()

    def _on_segments(self, ids) -> None:
        if self._seg is None:
            return
        if self.state.active_segment in ids:
            self._show_active()
        self.panel.set_segments(self.window.segmentation)      # names may have changed (cheap if not)

    def undo(self) -> None:
        self._replay(True)

    def redo(self) -> None:
        self._replay(False)

    def _replay(self, undo: bool) -> None:
        seg = self.window.segmentation
        if seg is None:
            return
        h = seg.history
        name = h.undo_name if undo else h.redo_name
        if any(t.active for t in self.tools.values()):
            self.window.status_message("Finish or cancel (Esc) the stroke first")
            return
        if (seg.undo() if undo else seg.redo()):
            self.window.status_message(f"{'Undone' if undo else 'Redone'}: {name}")

    def _update_undo(self) -> None:
        h = self._history
        self.undo_action.setEnabled(bool(h and h.can_undo))
        self.redo_action.setEnabled(bool(h and h.can_redo))
        self.undo_action.setText(f"Undo {h.undo_name}" if h and h.can_undo else "Undo")
        self.redo_action.setText(f"Redo {h.redo_name}" if h and h.can_redo else "Redo")

    def undo_memory_mb(self) -> int:
        try:
            return max(16, int(self.window.settings.value(UNDO_MEMORY_KEY, DEFAULT_UNDO_MB)))
        except (TypeError, ValueError):
            return DEFAULT_UNDO_MB

    def set_undo_memory_mb(self, mb: int) -> None:
        self.window.settings.setValue(UNDO_MEMORY_KEY, int(mb))
        seg = self.window.segmentation
        if seg is not None:
            seg.history.set_budget(int(mb) * 2**20)

    def ask_undo_memory(self) -> None:
        mb, ok = QInputDialog.getInt(self.window, "Undo memory", "Memory for undo (MB); the oldest steps are "
                                     "forgotten beyond it:", self.undo_memory_mb(), 16, 1 << 20, 50)
        if ok:
            self.set_undo_memory_mb(mb)
