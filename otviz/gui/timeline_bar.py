"""The timeline under a tab's history: scrub through the frames drawn so far, fork, switch branch."""
from __future__ import annotations

from PySide6 import QtCore, QtWidgets

DEFAULT_BUDGET_MB = 200


class TimelineBar(QtWidgets.QWidget):
    scrubbed = QtCore.Signal(int)          # the index of a stored frame the user chose
    live_requested = QtCore.Signal()       # back to the newest frame
    fork_requested = QtCore.Signal()       # continue from the frame on screen, as a new branch
    branch_chosen = QtCore.Signal(int)     # a branch id
    budget_changed = QtCore.Signal(int)    # MB for the whole past of the tab

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setToolTip("Drag to see the run as it was (training pauses). Home / End: the first "
                               "frame / now; , and . one stored frame back / forward")
        self.slider.valueChanged.connect(self._moved)
        self.label = QtWidgets.QLabel("no past yet")
        self.label.setMinimumWidth(self.label.fontMetrics().horizontalAdvance("step 0000000 of 0000000"))
        self.live = QtWidgets.QPushButton("Now")
        self.live.setToolTip("Back to the newest frame (End)")
        self.live.clicked.connect(self.live_requested)
        self.fork = QtWidgets.QPushButton("Continue from here")
        self.fork.setToolTip("Train on from the step on screen with the parameters now in the panel, as a "
                             "new branch; the run you leave stays in the branch list and as a faint curve")
        self.fork.clicked.connect(self.fork_requested)
        self.branches = QtWidgets.QComboBox()
        self.branches.setToolTip("The branches of this run: choose one to go back to it")
        self.branches.activated.connect(lambda i: self.branch_chosen.emit(int(self.branches.itemData(i))))
        self.budget = QtWidgets.QSpinBox()
        self.budget.setRange(20, 4000)
        self.budget.setSingleStep(50)
        self.budget.setSuffix(" MB")
        self.budget.setValue(DEFAULT_BUDGET_MB)
        self.budget.setToolTip("Memory this tab keeps of its past (frames to scrub and states to fork "
                               "from); beyond it older frames are thinned, never the newest")
        self.budget.editingFinished.connect(lambda: self.budget_changed.emit(self.budget.value()))
        self.memory = QtWidgets.QLabel()
        self.memory.setMinimumWidth(self.memory.fontMetrics().horizontalAdvance("memory 0000 MB of"))
        self.memory.setToolTip("Memory this tab's past takes now, of the most it may take")
        lay.addWidget(QtWidgets.QLabel("past:"))
        lay.addWidget(self.slider, 1)
        lay.addWidget(self.label)
        lay.addWidget(self.live)
        lay.addWidget(self.fork)
        lay.addWidget(self.branches)
        lay.addWidget(self.memory)
        lay.addWidget(self.budget)
        self._quiet = False
        self.set_scrubbing(False)
        self.set_branches([], None)

    def _moved(self, index: int) -> None:
        if not self._quiet:
            self.scrubbed.emit(index)

    def set_frames(self, count: int, at: int | None) -> None:
        """`count` frames stored; the slider at index `at` (None: the newest, following the run)."""
        self._quiet = True
        self.slider.setRange(0, max(count - 1, 0))
        self.slider.setValue(self.slider.maximum() if at is None else at)
        self._quiet = False

    def set_position(self, step: int, newest: int, scrubbing: bool) -> None:
        self.label.setText(f"step {step} of {newest}" if scrubbing else f"step {newest}")
        self.set_scrubbing(scrubbing)

    def set_scrubbing(self, on: bool) -> None:
        self.fork.setEnabled(on)
        self.live.setEnabled(on)

    def set_memory(self, used_bytes: int) -> None:
        self.memory.setText(f"memory {used_bytes / 2**20:.0f} MB of")

    def set_branches(self, branches: list[dict], current: int | None) -> None:
        self.branches.blockSignals(True)
        self.branches.clear()
        for b in branches:
            self.branches.addItem(b.get("label") or f"branch {b['id']}", b["id"])
            if b["id"] == current:
                self.branches.setCurrentIndex(self.branches.count() - 1)
        self.branches.blockSignals(False)
        self.branches.setVisible(len(branches) > 1)
