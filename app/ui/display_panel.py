"""Display options above the segment table: fill and outline on/off with their opacities, and window/level."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QGridLayout, QLabel, QSlider, QWidget

from .display import WINDOW_PRESETS, Display


class DisplayPanel(QWidget):
    def __init__(self, display: Display, parent=None) -> None:
        super().__init__(parent)
        self.display = display
        self.fill_box = QCheckBox("Fill")
        self.outline_box = QCheckBox("Outline")
        self.fill_slider = self._slider()
        self.outline_slider = self._slider()
        self.preset_box = QComboBox()
        self.preset_box.addItem("Window/level: auto")
        for name, w, lev in WINDOW_PRESETS:
            self.preset_box.addItem(f"{name} (W {w:g} / L {lev:g})")
        self.preset_box.addItem("Custom")          # shown (with W and L) after a right-drag or an odd preset
        # its texts change with W/L: they must never widen the dock (issue 12: the docks kept growing)
        self.preset_box.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.preset_box.setMinimumContentsLength(16)
        self.preset_box.setToolTip("Grey window/level presets (right-drag in a view adjusts them)")
        grid = QGridLayout(self)
        grid.setContentsMargins(2, 2, 2, 2)
        grid.addWidget(self.fill_box, 0, 0)
        grid.addWidget(self.fill_slider, 0, 1)
        grid.addWidget(self.outline_box, 1, 0)
        grid.addWidget(self.outline_slider, 1, 1)
        grid.addWidget(QLabel("Grey:"), 2, 0)
        grid.addWidget(self.preset_box, 2, 1)
        self.sync()
        self.fill_box.toggled.connect(lambda on: display.set_style(fill=on))
        self.outline_box.toggled.connect(lambda on: display.set_style(outline=on))
        self.fill_slider.valueChanged.connect(lambda v: display.set_style(fill_opacity=v / 100))
        self.outline_slider.valueChanged.connect(lambda v: display.set_style(outline_opacity=v / 100))
        self.preset_box.activated.connect(self.apply_preset)
        display.style_changed.connect(self.sync)
        display.grey_changed.connect(self.sync_window_level)
        display.document_changed.connect(self.sync_window_level)
        self.sync_window_level()

    @staticmethod
    def _slider() -> QSlider:
        s = QSlider(Qt.Horizontal)
        s.setRange(0, 100)
        s.setToolTip("Opacity")
        return s

    def sync(self) -> None:
        """Model -> widgets, with the widgets' signals blocked."""
        d = self.display
        for w, value in ((self.fill_box, d.style.fill), (self.outline_box, d.style.outline),
                         (self.fill_slider, round(d.fill_opacity * 100)),
                         (self.outline_slider, round(d.outline_opacity * 100))):
            was = w.blockSignals(True)
            w.setChecked(value) if isinstance(w, QCheckBox) else w.setValue(value)
            w.blockSignals(was)

    def sync_window_level(self) -> None:
        """Name what the grey shows: "auto", a preset, or "Custom (W … / L …)" after a right-drag."""
        d = self.display
        current = (round(d.window, 3), round(d.level, 3))
        known = [d.auto_window_level] + [(w, lev) for _, w, lev in WINDOW_PRESETS]
        n = next((i for i, (w, lev) in enumerate(known) if (round(w, 3), round(lev, 3)) == current), None)
        custom = self.preset_box.count() - 1
        self.preset_box.setItemText(0, "Auto (W {:.0f} / L {:.0f})".format(*d.auto_window_level))
        self.preset_box.setItemText(custom, "Custom" if n is not None else
                                    f"Custom (W {d.window:.0f} / L {d.level:.0f})")
        was = self.preset_box.blockSignals(True)
        self.preset_box.setCurrentIndex(custom if n is None else n)
        self.preset_box.blockSignals(was)

    def apply_preset(self, n: int) -> None:
        d = self.display
        if n == self.preset_box.count() - 1:       # "Custom": nothing to apply
            return
        if n == 0:
            d.set_window_level(*d.auto_window_level)
        else:
            _, w, lev = WINDOW_PRESETS[n - 1]
            d.set_window_level(w, lev)
