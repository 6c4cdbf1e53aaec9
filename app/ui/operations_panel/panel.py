"""The Tools dock: pick a tool, its parameters and the segments it applies to; Preview shows what it would do (an
overlay on every slice view and voxel counts) and Apply applies exactly that, as one undo step.

The heavy part (planning: distance transforms, filters, connected components) runs off the GUI thread through
`window.run_long` with progress and Cancel; applying the plan (writes through app.model.edits.apply_mask with the
Segment editor's overwrite mode, editable area and locks) runs on the GUI thread, where the views listen. A preview
stays valid until a parameter, the scope or the segmentation changes."""
from __future__ import annotations

import enum
import logging

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QComboBox, QFormLayout, QHBoxLayout, QLabel, QPushButton, QStackedWidget, QVBoxLayout, QWidget

from app.model.edits import EditPolicy
from app.model.ops import apply_plan
from app.model.segmentation import SegmentationError

from .overlay import PreviewOverlay
from app.model.ops.effect import plan_effect

from .overlay import GAINED, LOST
from .report import describe_effect, describe_result
from .pages import FillPage, HollowPage, IslandPicker, IslandsPage, LogicalPage, MarginPage, SmoothingPage
from app.model.resample import LatticeCache
from .threshold_page import ThresholdPage

log = logging.getLogger(__name__)


def _fit_narrow_dock(page: QWidget) -> None:
    """Long help texts, long combo items and long form rows must not widen the dock past ~300 px."""
    for label in page.findChildren(QLabel):
        label.setWordWrap(True)
    for combo in page.findChildren(QComboBox):
        combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(12)
    for form in page.findChildren(QFormLayout):
        form.setRowWrapPolicy(QFormLayout.WrapLongRows)


class Scope(enum.Enum):
    CURRENT = "Current segment"
    SELECTED = "Selected segments"
    VISIBLE = "Visible segments"
    ALL = "All segments"


class ToolsPanel(QWidget):
    def __init__(self, window) -> None:
        super().__init__()
        self.window = window
        self.overlay = PreviewOverlay(window)
        self._grey = LatticeCache()
        self._plan = None
        self._seg = None
        self._saved_tools = None
        self.pages = [ThresholdPage(self), IslandsPage(self), MarginPage(self), SmoothingPage(self),
                      LogicalPage(self), FillPage(self), HollowPage(self)]
        self._build()
        for page in self.pages:
            page.changed.connect(self.invalidate)
        window.segmentation_changed.connect(self._on_document)
        d = window.display                   # model events reach widgets through the window's Display, coalesced
        d.structure_changed.connect(self._on_segments)
        d.segments_changed.connect(self._on_segments)
        d.voxels_changed.connect(self._on_voxels)
        window.current_segment_changed.connect(self._on_selection)
        display = getattr(window, "display", None)          # also told when only the reference volume changes
        if display is not None and hasattr(display, "document_changed"):
            display.document_changed.connect(lambda: self.current_page().activated())
        self._on_document(window.segmentation)

    def _build(self) -> None:
        self.tool_combo = QComboBox()
        self.stack = QStackedWidget()
        for page in self.pages:
            self.tool_combo.addItem(page.title)
            self.stack.addWidget(page)
            _fit_narrow_dock(page)
        self.tool_combo.currentIndexChanged.connect(self.set_page)
        self.scope = QComboBox()
        for s in Scope:
            self.scope.addItem(s.value, s)
        self.scope.setCurrentIndex(1)
        self.scope.currentIndexChanged.connect(self.invalidate)
        self.preview_button = QPushButton("Preview")
        self.preview_button.setToolTip("Show what the tool would do on the slice views (green: added, magenta: "
                                       "removed) without changing anything")
        self.preview_button.clicked.connect(self.preview)
        self.apply_button = QPushButton("Apply")
        self.apply_button.setToolTip("Apply the tool to the chosen segments (one undo step)")
        self.apply_button.clicked.connect(self.apply)
        self.clear_button = QPushButton("Clear preview")
        self.clear_button.clicked.connect(self.clear_preview)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        top = QFormLayout()
        for combo in (self.tool_combo, self.scope):
            combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(12)
        top.addRow("Tool:", self.tool_combo)
        top.addRow("Apply to:", self.scope)
        buttons = QHBoxLayout()
        for b in (self.preview_button, self.apply_button, self.clear_button):
            buttons.addWidget(b)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addWidget(self.stack)
        lay.addLayout(buttons)
        lay.addWidget(self.summary)
        lay.addStretch(1)

    # ---------------------------------------------------------------- document and model events
    def _on_document(self, seg) -> None:
        self._seg = seg
        self.page_of(LogicalPage).set_segments(seg)
        self.page_of(FillPage).set_views(self.window.slice_views)
        self.set_picker(None)
        self.invalidate()
        self.current_page().activated()

    def _on_segments(self, *_args) -> None:
        """Segments added, removed, renamed, shown/hidden, locked: the modifier list and any preview are stale."""
        self.page_of(LogicalPage).set_segments(self._seg)
        self.invalidate()

    def _on_voxels(self, _changes) -> None:
        self.invalidate()

    def _on_selection(self, _sid) -> None:
        """Another current segment: a preview made for other segments is stale."""
        if self._plan is not None:
            try:
                same = self._plan[3] == self.segment_ids()
            except SegmentationError:
                same = False
            if not same:
                self.invalidate()

    def invalidate(self) -> None:
        """The cached plan no longer matches the parameters or the segmentation."""
        if self._plan is not None:
            self._plan = None
            self.overlay.clear()
            self.summary.setText("Preview out of date: press Preview again.")

    # ---------------------------------------------------------------- pages
    def page_of(self, cls):
        return next(p for p in self.pages if isinstance(p, cls))

    def current_page(self):
        return self.pages[self.stack.currentIndex()]

    def page_shown(self) -> bool:
        """The panel is on screen: shown AND in front of its tab group (a dock behind another tab can still
        report isVisible(); its visible region is empty)."""
        return self.isVisible() and not self.visibleRegion().isEmpty()

    def dock_visibility_changed(self, shown: bool) -> None:
        """The dock's tab came to the front (or the dock was shown), or went behind another tab (or closed)."""
        if shown:                              # once laid out: the threshold's live preview comes back
            QTimer.singleShot(0, self, lambda: self.current_page().activated() if self.page_shown() else None)
        elif self._saved_tools is None:        # not while picking an island in a view
            self.current_page().deactivated()
            self._plan = None
            self.overlay.clear()               # no preview tint left on the views behind another tab

    def set_page(self, index: int) -> None:
        if index == self.stack.currentIndex() and self.tool_combo.currentIndex() == index:
            return
        self.current_page().deactivated()
        self.clear_preview()
        self.stack.setCurrentIndex(index)
        if self.tool_combo.currentIndex() != index:
            self.tool_combo.setCurrentIndex(index)
        self.current_page().activated()

    # ---------------------------------------------------------------- what the tools need from the window
    def grey(self) -> np.ndarray | None:
        """The reference volume on the segmentation lattice (nearest neighbour), or None. A resampling (another
        lattice, first use) runs off the GUI thread; then it is cached."""
        seg, ref = self.window.segmentation, self.window.reference
        if seg is None or ref is None:
            return None
        if self._grey.cached(ref, seg.geometry) or ref.geometry.same_lattice(seg.geometry):
            return self._grey.get(ref, seg.geometry)
        return self.window.run_long(lambda _p: self._grey.get(ref, seg.geometry), "Resampling the reference...")

    def voxel_volume(self) -> float:
        seg = self.window.segmentation
        return seg.geometry.voxel_volume if seg is not None else 1.0

    def segment_ids(self) -> list[str]:
        seg = self.window.segmentation
        if seg is None:
            raise SegmentationError("open or create a segmentation first")
        scope = self.scope.currentData()
        if scope is Scope.ALL:
            return seg.segment_ids
        if scope is Scope.VISIBLE:
            ids = [s.id for s in seg.segments if s.visible]
        elif scope is Scope.SELECTED and hasattr(self.window, "segment_panel"):
            ids = [i for i in self.window.segment_panel.selected_ids() if i in seg]
        else:
            ids = []
        if scope is Scope.CURRENT or (scope is Scope.SELECTED and not ids):
            cur = self.window.current_segment_id()
            ids = [cur] if cur and cur in seg else []
        if not ids:
            raise SegmentationError(f"no segment to work on ({scope.value.lower()}): select one in the table")
        return ids

    def policy(self) -> EditPolicy:
        """The Segment editor's overwrite mode, editable area and intensity range (defaults without it)."""
        editing = getattr(self.window, "editing", None)
        if editing is None:
            return EditPolicy()
        state = editing.state
        intensity = None
        if state.intensity_masking:
            from app.model.resample import LatticeCache

            if self.window.reference is None:
                raise SegmentationError("the editable intensity range needs a reference volume: open one or turn "
                                        "it off in the Segment editor")
            self._intensity = getattr(self, "_intensity", None) or LatticeCache()
            intensity = self._intensity.get(self.window.reference, self.window.segmentation.geometry)
        return state.policy(intensity)

    # ---------------------------------------------------------------- preview and apply
    def _compute(self):
        """(plan, summary, code volume) for the current page and scope, computed off the GUI thread."""
        seg = self.window.segmentation
        ids = self.segment_ids()
        job = self.current_page().job()
        shape = seg.geometry.shape
        policy = self.policy()

        def work(progress):
            plan = job(seg, ids, lambda f: progress(0.7 * f))
            progress(0.7)
            effect = plan_effect(seg, plan, policy)     # a dry run: exactly what Apply will change
            progress(0.95)
            return plan, effect, effect.codes(shape, GAINED, LOST), ids

        return self.window.run_long(work, f"{self.current_page().title}: computing...")

    def preview(self) -> bool:
        try:
            self._plan = self._compute()
        except Exception as exc:      # noqa: BLE001 - shown to the user, nothing was changed
            return self._fail(exc)
        plan, effect, codes, _ = self._plan
        self.overlay.show_codes(codes)
        self.summary.setText(describe_effect(self.window.segmentation, plan, effect))
        return True

    def apply(self) -> bool:
        seg = self.window.segmentation
        try:
            planned = self._plan
            if planned is None or planned[3] != self.segment_ids():     # the selection moved since Preview
                planned = self._compute()
            policy = self.policy()
        except Exception as exc:      # noqa: BLE001
            return self._fail(exc)
        plan = planned[0]
        QGuiApplication.setOverrideCursor(Qt.WaitCursor)
        try:
            result = apply_plan(seg, plan, policy)
        except SegmentationError as exc:
            return self._fail(exc)
        finally:
            QGuiApplication.restoreOverrideCursor()
        self.clear_preview()
        text = describe_result(result)
        self.summary.setText(text)
        self.window.status_message(text)
        return True

    def clear_preview(self) -> None:
        self._plan = None
        self.overlay.clear()
        self.summary.setText("")
        if self._saved_tools is not None:            # Esc also stops picking an island
            for page in self.pages:
                page.deactivated()
            self.set_picker(None)
            self.current_page().activated()

    def _fail(self, exc) -> bool:
        from app.ui.long_task import Cancelled

        text = "Cancelled." if isinstance(exc, Cancelled) else str(exc)
        if not isinstance(exc, (SegmentationError, Cancelled)):
            text = f"{self.current_page().title} failed: {exc}"
            # not a refusal the user can act on: a bug or an environment failure, so keep its traceback
            log.error("%s failed", self.current_page().title, exc_info=(type(exc), exc, exc.__traceback__))
        self.summary.setText(f"<span style='color:#c33'>{text}</span>")
        self.window.status_message(text)
        return False

    # ---------------------------------------------------------------- picking a voxel in the views
    def set_picker(self, callback) -> None:
        """With a callback: the next left click in any slice view reports its voxel; None restores the tools."""
        views = self.window.slice_views
        if callback is None:
            if self._saved_tools is not None:
                for v, t in zip(views, self._saved_tools):
                    v.set_tool(t)
                self._saved_tools = None
            return
        if self._saved_tools is None:
            self._saved_tools = [v.tool for v in views]

        def picked(ijk):
            self.set_picker(None)
            callback(ijk)

        for v in views:
            v.set_tool(IslandPicker(picked))
