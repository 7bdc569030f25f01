"""The control panel, generated from a method's Config specs: live values apply at once, restart ones on demand."""
from __future__ import annotations

import math
from typing import Any

from PySide6 import QtCore, QtWidgets

from otviz.methods.params import ParamSpec

SLIDER_STEPS = 1000


class ParamRow(QtWidgets.QWidget):
    """One parameter: an editor suited to its type, plus a slider when it has a range."""

    committed = QtCore.Signal(str, object)    # (name, typed value) once validated
    refused = QtCore.Signal(str, str)         # (name, reason)

    def __init__(self, spec: ParamSpec, value: Any, parent=None):
        super().__init__(parent)
        self.spec = spec
        self.value = value
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.slider = None
        self.editor: QtWidgets.QWidget
        if spec.type is bool:
            self.editor = QtWidgets.QCheckBox()
            self.editor.toggled.connect(lambda on: self._commit(on))
        elif spec.choices:
            self.editor = QtWidgets.QComboBox()
            self.editor.addItems([str(c) for c in spec.choices])
            self.editor.currentTextChanged.connect(self._commit)
        else:
            self.editor = QtWidgets.QLineEdit()
            self.editor.editingFinished.connect(lambda: self._commit(self.editor.text()))
            if spec.type in (int, float) and spec.lo is not None and spec.hi is not None:
                self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
                self.slider.setRange(0, SLIDER_STEPS if spec.type is float else int(spec.hi - spec.lo))
                self.slider.valueChanged.connect(self._slid)
                lay.addWidget(self.slider, 3)
            if spec.widget == "file":
                browse = QtWidgets.QToolButton(text="…")
                browse.setToolTip("Choose a file")
                browse.clicked.connect(self._browse)
                lay.addWidget(browse)
        lay.insertWidget(0, self.editor, 2)
        self.editor.setMinimumWidth(50)
        if self.slider is not None:
            self.slider.setMinimumWidth(40)
        self.editor.setToolTip(spec.help)
        self.set_value(value)

    # slider position <-> value (log or linear)
    def _to_pos(self, v: float) -> int:
        s = self.spec
        if s.type is int:
            return int(v - s.lo)
        lo, hi = s.lo, s.hi
        if s.log and lo > 0:
            t = (math.log(v) - math.log(lo)) / (math.log(hi) - math.log(lo))
        else:
            t = (v - lo) / (hi - lo)
        return int(round(min(max(t, 0.0), 1.0) * SLIDER_STEPS))

    def _from_pos(self, pos: int) -> float:
        s = self.spec
        if s.type is int:
            return s.lo + pos
        t = pos / SLIDER_STEPS
        if s.log and s.lo > 0:
            return float(f"{math.exp(math.log(s.lo) + t * (math.log(s.hi) - math.log(s.lo))):.3g}")
        return float(f"{s.lo + t * (s.hi - s.lo):.4g}")

    def _slid(self, pos: int) -> None:
        if self._syncing:
            return
        self._commit(self._from_pos(pos))

    def _browse(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, f"Choose {self.spec.name}", "",
                                                        "CSV files (*.csv);;All files (*)")
        if path:
            self._commit(path)

    def _commit(self, raw: Any) -> None:
        if self._syncing:
            return
        try:
            v = self.spec.coerce(raw)
        except ValueError as e:
            self.refused.emit(self.spec.name, str(e))
            self.set_value(self.value)          # show the value still in force
            return
        if v == self.value and not isinstance(raw, str):
            return
        self.set_value(v)
        self.committed.emit(self.spec.name, v)

    _syncing = False

    def set_value(self, v: Any) -> None:
        self.value = v
        self._syncing = True
        try:
            e = self.editor
            if isinstance(e, QtWidgets.QCheckBox):
                e.setChecked(bool(v))
            elif isinstance(e, QtWidgets.QComboBox):
                e.setCurrentText(str(v))
            else:
                e.setText(f"{v:.6g}" if isinstance(v, float) else str(v))
            if self.slider is not None:
                self.slider.setValue(self._to_pos(v))
        finally:
            self._syncing = False


class ControlPanel(QtWidgets.QWidget):
    """All of a method's parameters. Emits live changes at once; restart changes wait for 'Apply & reset'."""

    live_changed = QtCore.Signal(dict)
    restart_requested = QtCore.Signal(dict)

    def __init__(self, specs: list[ParamSpec], config: Any, parent=None):
        super().__init__(parent)
        self.specs = {s.name: s for s in specs}
        self.rows: dict[str, ParamRow] = {}
        self.staged: dict[str, Any] = {}
        outer = QtWidgets.QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        form = QtWidgets.QFormLayout()
        form.setRowWrapPolicy(QtWidgets.QFormLayout.RowWrapPolicy.WrapLongRows)
        for s in specs:
            row = ParamRow(s, getattr(config, s.name))
            row.committed.connect(self._on_commit)
            row.refused.connect(self._on_refused)
            self.rows[s.name] = row
            label = QtWidgets.QLabel(_label(s))
            label.setToolTip(s.help)
            box = QtWidgets.QWidget()
            v = QtWidgets.QVBoxLayout(box)
            v.setContentsMargins(0, 0, 0, 0)
            v.setSpacing(0)
            v.addWidget(row)
            if s.help:
                h = QtWidgets.QLabel(s.help)
                h.setWordWrap(True)
                h.setMinimumWidth(10)
                h.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
                h.setStyleSheet("color: #666; font-size: 9pt;")
                v.addWidget(h)
            form.addRow(label, box)
        outer.addLayout(form)
        self.message = QtWidgets.QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b00020;")
        outer.addWidget(self.message)
        self.apply_button = QtWidgets.QPushButton("Apply && reset")
        self.apply_button.setToolTip("Parameters marked ⟲ change the model or the data: applying them restarts the run")
        self.apply_button.setEnabled(False)
        self.apply_button.clicked.connect(self.apply_restart)
        outer.addWidget(self.apply_button)
        outer.addStretch(1)

    def _on_commit(self, name: str, value: Any) -> None:
        self.message.clear()
        if self.specs[name].live:
            self.live_changed.emit({name: value})
        else:
            self.staged[name] = value
            self.apply_button.setEnabled(True)
            self.apply_button.setStyleSheet("font-weight: bold; color: #b35c00;")

    def _on_refused(self, name: str, reason: str) -> None:
        self.show_message(f"Refused — {reason}")

    def show_message(self, text: str) -> None:
        self.message.setText(text)

    def apply_restart(self) -> None:
        if self.staged:
            staged, self.staged = self.staged, {}
            self.apply_button.setEnabled(False)
            self.apply_button.setStyleSheet("")
            self.restart_requested.emit(staged)

    def show_config(self, config: Any) -> None:
        """Show the values in force, leaving values staged for 'Apply & reset' as they are."""
        for name, row in self.rows.items():
            if name not in self.staged:
                row.set_value(getattr(config, name))

    def set_config(self, config: Any) -> None:
        """Show the values in force (after a reset, a refused change or an opened session)."""
        self.staged = {}
        self.apply_button.setEnabled(False)
        self.apply_button.setStyleSheet("")
        for name, row in self.rows.items():
            row.set_value(getattr(config, name))


def _label(s: ParamSpec) -> str:
    text = s.label or s.name.replace("_", " ")
    if s.unit:
        text += f" [{s.unit}]"
    if s.type in (int, float) and s.lo is not None and s.hi is not None:
        text += f"  ({s.lo:g}…{s.hi:g})"
    if not s.live:
        text += "  ⟲"
    return text
