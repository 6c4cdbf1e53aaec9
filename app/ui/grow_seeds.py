"""Grow from seeds in the Segment editor (Slicer's Grow from seeds: initialise -> preview -> edit seeds -> update ->
apply). `install(editing)` adds the tool (key G), its options under the editor's tool buttons and the preview
overlay. Seeds and the preview live outside the document (`app.model.ops.grow.GrowSession`) until Apply, which
writes the partition as ONE undo step through `apply_mask` with the editor's overwrite mode, editable area and
intensity range. The partition is computed in a worker thread behind `long_task.run_long` (a progress dialog
only when it takes more than a moment); the views keep painting meanwhile and seed strokes wait for it."""
from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QTransform
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
                               QPushButton, QVBoxLayout)

from app.model.segment_editor_state import ToolKind
from app.model.ops.grow import BACKGROUND, DEFAULT_MARGIN_MM, GrowSession, plan_grow
from app.model.ops.plan import apply_plan
from app.model.resample import LatticeCache
from app.model.segmentation import SegmentationError
from app.ui.long_task import run_long
from app.ui.slice_overlay import SliceOverlay
from app.ui.view_tools.grow import BACKGROUND_SEED, ERASE, SEGMENT, GrowSeedTool

HELP = ("Paint seeds for two or more segments (or a segment and the background) with the brush; Shift+drag erases "
        "seeds. The preview shows how the box around the seeds will be shared; Apply writes it (one undo step).")
SEED_ALPHA, RESULT_ALPHA = 255, 110
BACKGROUND_SEED_RGBA, BACKGROUND_RESULT_RGBA = (235, 235, 235, 255), (0, 0, 0, 90)


def install(editing) -> "GrowSeeds":
    editing.grow = GrowSeeds(editing)
    return editing.grow


class GrowSeeds(QObject):
    def __init__(self, editing) -> None:
        super().__init__(editing)
        self.editing = editing
        self.window = editing.window
        self.state = editing.state
        self.session: GrowSession | None = None
        self.preview: np.ndarray | None = None       # full-lattice classes of the last result (0 outside its box)
        self._grey = LatticeCache()
        self._busy = False
        self._seg = None
        self.tool = GrowSeedTool(self.state, self._session_for_stroke, changed=self._seeds_changed,
                                 finished=self._stroke_finished, busy=lambda: self._busy)
        editing.tools[ToolKind.GROW] = self.tool
        self.overlay = GrowOverlay(self.window, self)
        self.panel = GrowPanel(self)
        lay = editing.panel.layout()
        lay.insertWidget(lay.indexOf(editing.panel.message), self.panel)
        editing._action(self.window.menu("Edit"), "Grow from seeds", ["G"], lambda: editing.set_tool(ToolKind.GROW),
                        "Paint seeds of several segments and grow them over the grey volume")
        self.state.tool_changed.connect(self._on_tool)
        self.window.segmentation_changed.connect(self._on_document)
        display = getattr(self.window, "display", None)
        if display is not None and hasattr(display, "document_changed"):
            display.document_changed.connect(self._on_reference)
        self._on_document(self.window.segmentation)
        self._on_tool(self.state.tool)

    # ---------------------------------------------------------------- session
    def grey(self):
        seg, ref = self.window.segmentation, self.window.reference
        if seg is None or ref is None:
            return None
        return self._grey.get(ref, seg.geometry)

    def _session_for_stroke(self):
        seg = self.window.segmentation
        if seg is None:
            self.state.message.emit("Open a segmentation first.")
            return None
        if self.session is None:
            grey = self.grey()
            if grey is None:
                self.state.message.emit("Grow from seeds needs a grey (reference) volume: open one first.")
                return None
            self.session = GrowSession(grey, seg.geometry.spacing, self.panel.margin.value())
            self.preview = np.zeros(seg.geometry.shape, dtype=np.uint16)
        return seg, self.session

    def reset(self) -> None:
        """Forget seeds and preview (Cancel, another document or reference)."""
        self.session = None
        self.preview = None
        self.overlay.refresh()
        self.panel.status.setText("")
        self.panel.enable()

    def _on_document(self, seg) -> None:
        if self._seg is not None:
            self._seg.events.structure_changed.disconnect(self._on_structure)
        self._seg = seg
        if seg is not None:
            seg.events.structure_changed.connect(self._on_structure)
        self.reset()

    def _on_reference(self) -> None:
        if self.session is not None and self.grey() is not self.session.grey:
            self.reset()

    def _on_structure(self) -> None:
        """Segments removed: their seeds go; colours may have changed."""
        if self.session is not None and self._seg is not None:
            for sid in list(self.session.classes):
                if sid != BACKGROUND and sid not in self._seg:
                    self.session.forget(sid)
            self._stale()
        self.overlay.refresh()

    def _on_tool(self, kind) -> None:
        on = kind is ToolKind.GROW
        self.panel.setVisible(on)
        self.overlay.set_visible(on)
        if on:
            self.window.status_message("Grow from seeds: " + HELP)

    # ---------------------------------------------------------------- seeds and updates
    def _seeds_changed(self, box) -> None:
        self.overlay.refresh()

    def _stroke_finished(self) -> None:
        self.panel.enable()
        if self.panel.auto_update.isChecked():
            self.update()
        else:
            self._stale()

    def _stale(self) -> None:
        if self.session is not None and self.session.box is not None:
            self.panel.status.setText("Seeds changed: press Update to see the new result.")

    def set_margin(self, mm: float) -> None:
        if self.session is not None:
            self.session.set_margin(mm)
            if self.session.box is not None:
                self._stroke_finished()

    def update(self) -> bool:
        """Compute (or update) the partition for the current seeds and show it."""
        s = self.session
        if s is None or not s.ready:
            self.panel.status.setText("Paint seeds for at least two segments (or a segment and the background).")
            self.panel.enable()
            return False
        self._busy = True
        try:
            t0 = time.perf_counter()
            # not cancellable: the compiled Dijkstra cannot be interrupted, and a half result is no result
            box, labels = run_long(self.window, lambda _p: s.result(), "Growing from seeds...", cancellable=False)
            dt = time.perf_counter() - t0
        except Exception as exc:      # noqa: BLE001 - shown to the user, nothing was changed
            self.panel.status.setText(f"<span style='color:#c33'>Grow from seeds failed: {exc}</span>")
            return False
        finally:
            self._busy = False
        self.preview[...] = 0
        self.preview[box] = labels
        self.overlay.refresh()
        self.panel.enable()
        if s.last_update == "none" and self.panel.status.text().startswith("Preview"):
            return True                       # nothing changed since the last result: keep its report
        kind = {"full": "computed", "local": "updated near the new seeds", "none": "unchanged"}[s.last_update]
        n = len(s.seed_classes())
        self.panel.status.setText(f"Preview {kind} in {dt:.2f} s: {n} seed classes, box "
                                  + "×".join(str(b.stop - b.start) for b in box) + " voxels.")
        self.panel.enable()
        return True

    def apply(self) -> bool:
        seg = self.window.segmentation
        if seg is None or self.session is None:
            self.panel.status.setText("Nothing to apply: paint seeds first.")
            return False
        try:
            if not self.session.ready:
                raise SegmentationError("paint seeds for at least two segments (or one segment and the background)")
            if self.session.needs_update:
                if not self.update():
                    return False
            plan = plan_grow(seg, self.session)
            result = apply_plan(seg, plan, self.policy())
        except SegmentationError as exc:
            self.panel.status.setText(f"<span style='color:#c33'>{exc}</span>")
            self.window.status_message(str(exc))
            return False
        text = f"Grow from seeds: {result.written} voxels changed in {len(result.changed)} segments"
        if result.skipped:
            text += f" ({len(result.skipped)} locked segments left alone)"
        self.reset()
        self.panel.status.setText(text + ".")
        self.window.status_message(text)
        return True

    def policy(self):
        grey = None
        if self.state.intensity_masking:
            grey = self.grey()
            if grey is None:
                raise SegmentationError("the editable intensity range needs a reference volume: open one or turn "
                                        "it off")
        return self.state.policy(grey)

    # ---------------------------------------------------------------- colours
    def colour_tables(self):
        """(seed table, result table): RGBA per class value, from the segments' colours."""
        n = len(self.session.classes) + 1 if self.session is not None else 1
        seed = np.zeros((n, 4), np.uint8)
        res = np.zeros((n, 4), np.uint8)
        seg = self.window.segmentation
        for v, sid in enumerate(self.session.classes if self.session is not None else [], start=1):
            if sid == BACKGROUND:
                seed[v], res[v] = BACKGROUND_SEED_RGBA, BACKGROUND_RESULT_RGBA
            elif seg is not None and sid in seg:
                rgb = [int(round(c * 255)) for c in seg.segment(sid).color]
                seed[v], res[v] = (*rgb, SEED_ALPHA), (*rgb, RESULT_ALPHA)
        return seed, res


class GrowOverlay(SliceOverlay):
    """One image per slice view above the labels: the partition in the segments' colours (translucent; the
    background class dark) and the seeds on top (opaque). Follows each view's slice."""

    def __init__(self, window, owner: GrowSeeds) -> None:
        self.owner = owner
        self.visible = False
        super().__init__(window, z=41)

    def set_visible(self, on: bool) -> None:
        self.visible = on
        self.refresh()

    def _draw(self, view, item) -> None:
        o = self.owner
        frame = view.frame
        if not self.visible or o.session is None or frame is None or frame.n_slices != o.session.shape[frame.plane_axis]:
            item.clear()
            return
        seed_lut, res_lut = o.colour_tables()
        seeds = frame.extract(o.session.seeds, view.slice_index)
        rgba = res_lut[frame.extract(o.preview, view.slice_index)]
        hit = seeds != 0
        rgba[hit] = seed_lut[seeds[hit]]
        if not rgba[..., 3].any():
            item.clear()
            return
        rmm, cmm = frame.pixel_mm
        item.setTransform(QTransform.fromScale(cmm, rmm))
        item.setImage(np.ascontiguousarray(rgba), autoLevels=False, levels=None)


class GrowPanel(QGroupBox):
    """The tool's options, shown under the Segment editor's tool buttons while the tool is active."""

    def __init__(self, owner: GrowSeeds) -> None:
        super().__init__("Grow from seeds")
        self.owner = owner
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        help_label = QLabel(HELP)
        help_label.setWordWrap(True)
        lay.addWidget(help_label)
        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.WrapLongRows)
        self.seed_mode = QComboBox()
        for text, mode in (("Selected segment", SEGMENT), ("Background", BACKGROUND_SEED), ("Erase seeds", ERASE)):
            self.seed_mode.addItem(text, mode)
        self.seed_mode.setToolTip("What a drag paints (Shift+drag always erases seeds)")
        self.seed_mode.currentIndexChanged.connect(lambda i: setattr(owner.tool, "mode", self.seed_mode.itemData(i)))
        form.addRow("Seeds of:", self.seed_mode)
        self.margin = QDoubleSpinBox()
        self.margin.setRange(0.0, 500.0)
        self.margin.setValue(DEFAULT_MARGIN_MM)
        self.margin.setSuffix(" mm")
        self.margin.setKeyboardTracking(False)
        self.margin.setToolTip("The region shared among the seeded segments: the seeds' bounding box grown by this")
        self.margin.valueChanged.connect(owner.set_margin)
        form.addRow("Margin:", self.margin)
        self.auto_update = QCheckBox("Auto-update after each stroke")
        self.auto_update.setChecked(True)
        form.addRow("", self.auto_update)
        lay.addLayout(form)
        row = QHBoxLayout()
        self.update_button = QPushButton("Update")
        self.update_button.setToolTip("Compute the preview for the current seeds")
        self.update_button.clicked.connect(owner.update)
        self.apply_button = QPushButton("Apply")
        self.apply_button.setToolTip("Write the preview into the segments (one undo step)")
        self.apply_button.clicked.connect(owner.apply)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Forget the seeds and the preview")
        self.cancel_button.clicked.connect(owner.reset)
        for b in (self.update_button, self.apply_button, self.cancel_button):
            row.addWidget(b)
        lay.addLayout(row)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.RichText)
        lay.addWidget(self.status)
        self.setVisible(False)
        self.enable()

    def enable(self) -> None:
        s = self.owner.session
        has_seeds = s is not None and bool(s.seeds.any())
        self.update_button.setEnabled(has_seeds)
        self.apply_button.setEnabled(has_seeds)
        self.cancel_button.setEnabled(has_seeds)
