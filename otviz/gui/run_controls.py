"""The run controls of a tab: Play/Pause, Step, Reset, A | B compare, steps per frame, seed, device."""
from __future__ import annotations

from PySide6 import QtCore, QtWidgets


class RunControls(QtWidgets.QWidget):
    """Play/Pause, Step, Reset, steps per frame, seed, device."""

    def __init__(self, parent=None):
        super().__init__(parent)
        grid = QtWidgets.QGridLayout(self)
        grid.setContentsMargins(4, 4, 4, 4)
        self.play = QtWidgets.QPushButton("▶ Play")
        self.play.setCheckable(True)
        self.play.setToolTip("Play / pause training (Space)")
        self.step = QtWidgets.QPushButton("Step ▸")
        self.step.setToolTip("One training step (→)")
        self.reset = QtWidgets.QPushButton("⟲ Reset")
        self.reset.setToolTip("Start again from the initial state with the seed below (R); the same seed "
                              "gives the same initial state")
        self.compare = QtWidgets.QToolButton()
        self.compare.setText("A | B")
        self.compare.setCheckable(True)
        self.compare.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.compare.setPopupMode(QtWidgets.QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.compare.setToolTip("Compare: a second run B beside this one, from the same data and seed "
                                "(a copy of this run at its present step, once it has begun); change B's "
                                "parameters in its panel. The arrow holds ready-made contrasts, which start "
                                "both runs from step 0")
        grid.addWidget(self.compare, 0, 3)
        grid.addWidget(self.play, 0, 0)
        grid.addWidget(self.step, 0, 1)
        grid.addWidget(self.reset, 0, 2)
        self.speed = QtWidgets.QSpinBox()
        self.speed.setRange(0, 100_000)
        self.speed.setSpecialValueText("max")
        self.speed.setToolTip("Training steps per redraw: 'max' trains as fast as it can and draws up to 60 "
                              "frames a second; N draws after every N steps and waits for the frame (slow "
                              "motion for demos)")
        self.seed = QtWidgets.QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setToolTip("Random seed used by Reset")
        self.device = QtWidgets.QComboBox()
        # the unavailable devices carry their reason in the text: do not let it widen the panel
        self.device.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.device.setMinimumContentsLength(10)
        self.set_devices([("cpu", True, "")])
        grid.addWidget(QtWidgets.QLabel("steps/frame"), 1, 0)
        grid.addWidget(self.speed, 1, 1, 1, 3)
        grid.addWidget(QtWidgets.QLabel("seed"), 2, 0)
        grid.addWidget(self.seed, 2, 1, 1, 3)
        grid.addWidget(QtWidgets.QLabel("device"), 3, 0)
        grid.addWidget(self.device, 3, 1, 1, 3)

    def set_devices(self, devices: list) -> None:
        """The devices as the training processes see them (the GUI process never initialises a GPU)."""
        current = self.device.currentText().split(" ")[0] or "cpu"
        self.device.blockSignals(True)
        self.device.clear()
        for name, ok, why in devices:
            self.device.addItem(name if ok else f"{name} — {why}", name)
            item = self.device.model().item(self.device.count() - 1)
            item.setEnabled(bool(ok))
            item.setToolTip(why or name)
        i = self.device.findData(current)
        self.device.setCurrentIndex(max(i, 0))
        self.device.blockSignals(False)
