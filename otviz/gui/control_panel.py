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


REFUSED_EDITOR = "border: 2px solid #d32f2f; border-radius: 3px;"
REFUSED_TEXT = "color: #b00020; font-size: 9pt;"


class ControlPanel(QtWidgets.QWidget):
    """All of a method's parameters. Emits live changes at once; restart changes wait for 'Apply & reset'.

    `top_bar` holds what must be seen wherever the panel is scrolled to (the last refusal, and the
    staged ⟲ changes with Apply & reset and Discard): the host places it where it stays visible, above
    the panel's scroll area. A refused value is also shown at its control: a red frame and the reason
    under the row.
    """

    live_changed = QtCore.Signal(dict)
    restart_requested = QtCore.Signal(dict)
    refused = QtCore.Signal(str)              # a value refused at its control: the message, for the status bar

    def __init__(self, specs: list[ParamSpec], config: Any, parent=None):
        super().__init__(parent)
        self.specs = {s.name: s for s in specs}
        self.rows: dict[str, ParamRow] = {}
        self.row_errors: dict[str, QtWidgets.QLabel] = {}
        self.staged: dict[str, Any] = {}
        self._config = config                # the values in force
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
            err = QtWidgets.QLabel()
            err.setWordWrap(True)
            err.setMinimumWidth(10)
            err.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
            err.setStyleSheet(REFUSED_TEXT)
            err.hide()
            v.addWidget(err)
            self.row_errors[s.name] = err
            if s.help:
                h = QtWidgets.QLabel(s.help)
                h.setWordWrap(True)
                h.setMinimumWidth(10)
                h.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
                h.setStyleSheet("color: #666; font-size: 9pt;")
                v.addWidget(h)
            form.addRow(label, box)
        outer.addLayout(form)
        outer.addStretch(1)
        self._build_top_bar()

    def _build_top_bar(self) -> None:
        self.top_bar = QtWidgets.QWidget()
        lay = QtWidgets.QVBoxLayout(self.top_bar)
        lay.setContentsMargins(4, 2, 4, 2)
        lay.setSpacing(2)
        self.message = QtWidgets.QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b00020;")
        self.message.hide()
        lay.addWidget(self.message)
        self.staged_box = QtWidgets.QFrame()
        self.staged_box.setObjectName("staged")
        self.staged_box.setStyleSheet("QFrame#staged { background: #fff4e0; border: 1px solid #e0a040; "
                                      "border-radius: 3px; }")
        grid = QtWidgets.QGridLayout(self.staged_box)
        grid.setContentsMargins(6, 4, 6, 4)
        self.staged_label = QtWidgets.QLabel()
        self.staged_label.setWordWrap(True)
        self.staged_label.setStyleSheet("color: #7a3e00;")
        grid.addWidget(self.staged_label, 0, 0, 1, 2)
        self.apply_button = QtWidgets.QPushButton("Apply && reset")
        self.apply_button.setToolTip("Parameters marked ⟲ change the model or the data: applying them restarts the run")
        self.apply_button.setStyleSheet("font-weight: bold; color: #b35c00;")
        self.apply_button.setEnabled(False)
        self.apply_button.clicked.connect(self.apply_restart)
        self.discard_button = QtWidgets.QPushButton("Discard")
        self.discard_button.setToolTip("Forget the staged changes and show the values in force again")
        self.discard_button.clicked.connect(self.discard_staged)
        grid.addWidget(self.apply_button, 1, 0)
        grid.addWidget(self.discard_button, 1, 1)
        self.staged_box.hide()
        lay.addWidget(self.staged_box)

    def _show_staged(self) -> None:
        """The staged ⟲ changes, listed where they stay in sight, or nothing when none are staged."""
        self.apply_button.setEnabled(bool(self.staged))
        self.staged_label.setText("Staged until Apply & reset: " + ", ".join(
            f"{_short_label(self.specs[k])} → {_fmt(v)}" for k, v in self.staged.items()))
        self.staged_box.setVisible(bool(self.staged))

    def _on_commit(self, name: str, value: Any) -> None:
        in_force = getattr(self._config, name, None)
        if value != in_force:
            # a new value: the last refusal is over. Not a field left unchanged (leaving it re-commits
            # its text), or the reason would vanish as soon as the user clicks elsewhere.
            self.clear_message()
        if self.specs[name].live:
            self.live_changed.emit({name: value})
        else:
            if value == in_force:
                self.staged.pop(name, None)          # back to the value in force: nothing to apply
            else:
                self.staged[name] = value
            self._show_staged()

    def _on_refused(self, name: str, reason: str) -> None:
        text = f"Refused — {reason}"
        self.show_message(text)
        self.refused.emit(text)

    def show_message(self, text: str, top: bool = True) -> bool:
        """A refusal or a problem: shown at the control when it names a parameter ("<name>: why", as the
        methods and the specs word their refusals; then True), else at the top of the panel if `top`
        (not where the caller tells it elsewhere). `message` holds the text either way."""
        self.message.setText(text)
        body = text.removeprefix("Refused — ")
        head, sep, why = body.partition(": ")
        name = self._row_named(head.strip()) if sep else None
        if name is not None:
            self._mark(name, why.strip())
        # once at the control is enough: a line appearing above the panel would also push the row
        # being edited away from under the pointer
        self.message.setVisible(bool(text) and name is None and top)
        return name is not None

    def clear_message(self) -> None:
        self.message.clear()
        self.message.hide()
        for name in self.row_errors:
            self._mark(name, "")

    def _row_named(self, head: str) -> str | None:
        for name, s in self.specs.items():
            if head in (name, name.replace("_", " "), s.label):
                return name
        return None

    def _mark(self, name: str, why: str) -> None:
        err, editor = self.row_errors[name], self.rows[name].editor
        err.setText(why)
        err.setVisible(bool(why))
        editor.setStyleSheet(REFUSED_EDITOR if why else "")
        if why:
            self._reveal(self.rows[name])

    def _reveal(self, row: QtWidgets.QWidget) -> None:
        """Scroll the refused row into sight: a refusal from the training process comes later, when the
        panel may have been scrolled elsewhere."""
        w = self.parentWidget()
        while w is not None and not isinstance(w, QtWidgets.QScrollArea):
            w = w.parentWidget()
        if w is not None:
            w.ensureWidgetVisible(row, 0, 40)

    def apply_restart(self) -> None:
        if self.staged:
            staged, self.staged = self.staged, {}
            self._show_staged()
            self.restart_requested.emit(staged)

    def discard_staged(self) -> None:
        """Forget the staged ⟲ changes: the rows show the values in force again."""
        for name in self.staged:
            self.rows[name].set_value(getattr(self._config, name))
        self.staged = {}
        self._show_staged()

    def show_config(self, config: Any) -> None:
        """Show the values in force, leaving values staged for 'Apply & reset' as they are."""
        self._config = config
        for name, row in self.rows.items():
            if name not in self.staged:
                row.set_value(getattr(config, name))

    def set_config(self, config: Any) -> None:
        """Show the values in force at once (after a refused change). Staged ⟲ changes stay staged:
        a refusal of something else must not silently drop them; Discard does."""
        self.show_config(config)


def _short_label(s: ParamSpec) -> str:
    return s.label or s.name.replace("_", " ")


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v) if str(v) else "(empty)"


def _label(s: ParamSpec) -> str:
    text = s.label or s.name.replace("_", " ")
    if s.unit:
        text += f" [{s.unit}]"
    if s.type in (int, float) and s.lo is not None and s.hi is not None:
        text += f"  ({s.lo:g}…{s.hi:g})"
    if not s.live:
        text += "  ⟲"
    return text
