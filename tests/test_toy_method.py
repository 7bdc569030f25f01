"""A sixth method, written in this file alone and registered at run time, works everywhere the built-in five do."""
from __future__ import annotations

import math
import pickle
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

import method_checks
from otviz.cli import main
from otviz.methods import (BUILT_IN, adopt_registrations, method_info, method_names, register, registrations,
                           unregister)
from otviz.methods.base import Method
from otviz.methods.params import MethodInfo, param
from otviz.methods.snapshot import Snapshot

NAME = "gauss"
DATA_MEAN = (2.0, -1.0)
DATA_CHOL = ((1.0, 0.0), (0.6, 0.6))       # the data's covariance is this factor times its transpose


@dataclass
class GaussConfig:
    n_points: int = param(400, lo=10, hi=5000, live=False, help="Points drawn from the data's Gaussian")
    lr: float = param(0.05, lo=1e-4, hi=2.0, log=True, help="Gradient-descent step on the negative log-likelihood")


@dataclass(frozen=True)
class GaussSnapshot(Snapshot):
    points: np.ndarray               # (n, 2) the data
    mean: np.ndarray                 # (2,) the fitted mean
    cov: np.ndarray                  # (2, 2) the fitted covariance
    data_mean: np.ndarray            # (2,) the data's own mean


INFO = MethodInfo(name=NAME, title="Gaussian fit", Config=GaussConfig, metrics=("nll", "mean_error"),
                  method=f"{__name__}:GaussMethod")


class GaussMethod(Method, info=INFO):
    """One 2-D Gaussian fitted by gradient descent on the mean negative log-likelihood of the data."""
    Snapshot = GaussSnapshot

    def _build(self) -> None:
        z = self.rng.standard_normal((self.config.n_points, 2))
        x = z @ np.array(DATA_CHOL).T + np.array(DATA_MEAN)
        self.x = torch.tensor(x, dtype=torch.float64, device=self.device)
        self.mu = torch.zeros(2, dtype=torch.float64, device=self.device)
        # the covariance's Cholesky factor as (log L11, L21, log L22): any value gives a valid covariance
        self.raw = torch.zeros(3, dtype=torch.float64, device=self.device)

    @staticmethod
    def _chol(raw: torch.Tensor) -> torch.Tensor:
        zero = raw.new_zeros(())
        return torch.stack([torch.stack([raw[0].exp(), zero]), torch.stack([raw[1], raw[2].exp()])])

    def _step(self) -> dict[str, float]:
        mu = self.mu.clone().requires_grad_(True)
        raw = self.raw.clone().requires_grad_(True)
        z = torch.linalg.solve_triangular(self._chol(raw), (self.x - mu).T, upper=False)
        nll = 0.5 * (z * z).sum(0).mean() + raw[0] + raw[2] + math.log(2 * math.pi)
        g_mu, g_raw = torch.autograd.grad(nll, (mu, raw))
        self.mu = (mu - self.config.lr * g_mu).detach()
        self.raw = (raw - self.config.lr * g_raw).detach()
        return {"nll": float(nll.detach()), "mean_error": float((self.mu - self.x.mean(0)).norm())}

    def _snapshot(self) -> GaussSnapshot:
        L = self._chol(self.raw)
        return GaussSnapshot(points=self.x.cpu().numpy().copy(), mean=self.mu.cpu().numpy().copy(),
                             cov=(L @ L.T).cpu().numpy(), data_mean=self.x.mean(0).cpu().numpy())

    def _state(self) -> dict:
        return {"mu": self.mu, "raw": self.raw, "x": self.x}

    def _load_state(self, state: dict) -> None:
        self.mu, self.raw, self.x = (state[k].to(self.device, torch.float64) for k in ("mu", "raw", "x"))


def _define_view():
    import pyqtgraph as pg
    from PySide6 import QtWidgets

    from otviz.gui.view_base import FAKE, REAL, MethodView, make_plot

    t = np.linspace(0, 2 * np.pi, 65)
    circle = np.stack([np.cos(t), np.sin(t)])

    class GaussView(MethodView):
        """The data, the fitted mean and its 2-σ ellipse: items built once, then only setData."""

        def __init__(self, info, parent=None):
            super().__init__(info, parent)
            self.plot = make_plot(info.title, x="x", y="y")
            self.points = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(*REAL))
            self.ellipse = pg.PlotDataItem(pen=pg.mkPen(FAKE[:3], width=3))
            self.mean = pg.ScatterPlotItem(size=16, symbol="+", pen=None, brush=pg.mkBrush(*FAKE[:3]))
            for item in (self.points, self.ellipse, self.mean):
                self.plot.addItem(item)
            QtWidgets.QVBoxLayout(self).addWidget(self.plot)

        def update_snapshot(self, snap: GaussSnapshot) -> None:
            x, m = snap.points, snap.mean
            self.points.setData(x[:, 0], x[:, 1])
            w, v = np.linalg.eigh(snap.cov)
            ring = m[:, None] + 2.0 * (v * np.sqrt(np.clip(w, 0.0, None))) @ circle     # 2 σ
            self.ellipse.setData(ring[0], ring[1])
            self.mean.setData([m[0]], [m[1]])

        def plots(self) -> dict:
            return {"fit": self.plot}

    return GaussView


def __getattr__(attr: str):
    # The view is defined on first use: the training processes import this module for the method's
    # classes, and they must not import Qt.
    if attr == "GaussView":
        view = globals()["GaussView"] = _define_view()
        return view
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")


@pytest.fixture(scope="module", autouse=True)
def registered():
    """The toy method is known only while this file's tests run: the other files see the built-in five."""
    from otviz.gui.views import register_view, unregister_view

    register(INFO)
    register_view(NAME, f"{__name__}:GaussView")
    yield
    unregister(NAME)
    unregister_view(NAME)
    assert NAME not in method_names()


def non_increasing(values, slack=1e-9) -> bool:
    return all(b <= a + slack for a, b in zip(values, values[1:]))


# ---------------------------------------------------------------------------- the registry and the CLI

def test_it_is_the_last_tab_and_named_in_the_cli(capsys):
    assert method_names() == [i.name for i in BUILT_IN] + [NAME]
    assert method_info(NAME) is INFO
    with pytest.raises(ValueError, match=r"choose from swgmm, .*, coulomb, gauss\)"):
        method_info("nope")
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    assert "coulomb or gauss" in " ".join(capsys.readouterr().out.split())
    assert main(["params", NAME]) == 0
    out = capsys.readouterr().out
    assert "lr = 0.05 [0.0001, 2]\n    Gradient-descent step" in out and "n_points = 400 [10, 5000]  (restart)" in out


def test_registration_refuses_a_second_method_of_the_same_name():
    from otviz.gui.views import register_view

    register(INFO)                                       # the same registration again changes nothing
    other = MethodInfo(name=NAME, title="Another", Config=GaussConfig, metrics=("nll",), method=INFO.method)
    with pytest.raises(ValueError, match="a method named 'gauss' is already registered \\(Gaussian fit\\)"):
        register(other)
    with pytest.raises(ValueError, match="method name 'two words'"):
        register(MethodInfo(name="two words", title="x", Config=GaussConfig, metrics=("nll",), method=INFO.method))
    @dataclass
    class LocalConfig:                                   # no process started from here could import it
        lr: float = param(0.1, lo=0.0, hi=1.0, help="step")

    with pytest.raises(ValueError, match="local: its Config must be a module-level class, importable by name"):
        register(MethodInfo(name="local", title="x", Config=LocalConfig, metrics=("nll",), method=INFO.method))
    assert "local" not in method_names()
    with pytest.raises(ValueError, match="already has a view"):
        register_view(NAME, "elsewhere:OtherView")
    assert method_info(NAME) is INFO


def test_started_processes_get_the_registration_and_say_when_it_cannot_load():
    # what a started process receives: the methods beyond the built-in ones, pickled
    given = registrations()
    assert [name for name, _ in given] == [NAME] and pickle.loads(given[0][1]) == INFO
    blob = given[0][1]
    missing = "x" * len(__name__)                          # same length: the pickle stays well formed
    import otviz.methods as registry

    try:
        adopt_registrations([("ghost", blob.replace(__name__.encode(), missing.encode()))])
        with pytest.raises(ValueError, match=f"method 'ghost' cannot be loaded in this process "
                                             f"\\(ModuleNotFoundError: No module named '{missing}'\\)"):
            method_info("ghost")
    finally:
        registry._UNAVAILABLE.pop("ghost", None)
    assert "ghost" not in method_names()


def test_this_module_imports_without_qt_and_registers_nothing_by_itself():
    # the worker processes import this module to unpickle the registration: no Qt there, and the
    # method comes from the window's registration, not from importing the module
    code = ("import sys\n"
            f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
            f"import {__name__}\n"
            "from otviz.methods import method_names\n"
            "bad = sorted({m.split('.')[0] for m in sys.modules} & {'PySide6', 'pyqtgraph'})\n"
            "print(bad, method_names()); sys.exit(1 if bad or 'gauss' in method_names() else 0)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("check", method_checks.CHECKS, ids=lambda c: c.__name__)
def test_the_checks_every_method_passes(check):
    check(NAME)


def test_cli_runs_it_and_writes_history_snapshot_and_session(tmp_path, capsys):
    from PIL import Image

    from otviz.session.file import read_session_file

    hist, png, saved = tmp_path / "h.csv", tmp_path / "s.png", tmp_path / "run.otviz"
    code = main(["run", NAME, "--steps", "60", "--set", "lr=0.1", "--history", str(hist), "--snapshot", str(png),
                 "--scale", "1", "--save", str(saved), "--quiet"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.startswith("gauss: 60 steps in ")
    lines = hist.read_text().splitlines()
    assert lines[0] == "step,nll,mean_error,changes"
    assert [int(row.split(",")[0]) for row in lines[1:]] == list(range(1, 61))
    errors = [float(row.split(",")[2]) for row in lines[1:]]
    assert non_increasing(errors) and errors[0] > 1.5 and errors[-1] < 0.1
    img = np.asarray(Image.open(png).convert("RGB")).astype(int)
    assert img.shape == (800, 1280, 3)
    # the view drew the ellipse: pixels of its colour
    assert (np.abs(img - (230, 90, 30)).max(axis=2) < 40).sum() > 200
    doc = read_session_file(saved)
    assert doc["method"] == NAME and doc["state"]["step"] == 60
    assert main(["run", NAME, "--load", str(saved), "--steps", "5", "--quiet"]) == 0
    assert "gauss: 5 steps in " in (out := capsys.readouterr().out) and "now at step 65" in out


# ---------------------------------------------------------------------------- the window

def test_window_shows_trains_saves_exports_and_reopens_it(qtbot, open_window, tmp_path):
    from PIL import Image

    from conftest import FIRST_FRAME_MS, wait_paused
    from otviz.session.file import read_session_file

    win = open_window(size=(1200, 800))                  # every registered method
    assert list(win.tab_by_name) == method_names()
    assert win.tabs.tabText(win.tabs.count() - 1) == "Gaussian fit"
    tab = win.tab_by_name[NAME]
    win.tabs.setCurrentWidget(tab)
    # before Play, the field helper (another process) builds the method for the preview
    qtbot.waitUntil(lambda: tab.last_frame is not None or tab.banner.isVisible(), timeout=FIRST_FRAME_MS)
    preview = tab.last_frame
    assert preview is not None and preview.get("preview") and preview["snap"].step == 0, tab.banner.text()
    assert type(tab.view).__name__ == "GaussView"
    points = preview["snap"].points
    data_mean = points.mean(0)
    assert points.shape == (400, 2) and np.abs(data_mean - DATA_MEAN).max() < 0.15
    assert np.array_equal(preview["snap"].mean, [0.0, 0.0])

    # (step, distance of the fitted mean to the data's mean) of each frame seen, from the preview on
    seen = [(0, float(np.linalg.norm(data_mean)))]
    other_data = []

    def frames_until(step: int):
        def done() -> bool:
            f = tab.last_frame
            if not f.get("preview") and f["step"] != seen[-1][0]:
                seen.append((f["step"], float(np.linalg.norm(f["snap"].mean - data_mean))))
                if not np.array_equal(f["snap"].points, points):
                    other_data.append(f["step"])         # the worker must build the helper's data
            return seen[-1][0] >= step
        return done

    tab.controls.speed.setValue(10)                       # a frame every 10 steps, each one drawn
    tab.controls.play.click()
    qtbot.waitUntil(frames_until(100), timeout=FIRST_FRAME_MS)
    tab.set_params({"lr": 0.2})                           # the live parameter, as the panel sends it
    qtbot.waitUntil(lambda: tab.config.lr == 0.2, timeout=10_000)
    qtbot.waitUntil(frames_until(seen[-1][0] + 100), timeout=30_000)
    tab.controls.play.click()
    wait_paused(qtbot, tab)
    assert not tab.banner.isVisible(), tab.banner.text()
    assert not other_data
    steps, errors = [s for s, _ in seen], [e for _, e in seen]
    assert len(seen) >= 8 and all(b > a for a, b in zip(steps, steps[1:])) and steps[1] <= 20
    assert non_increasing(errors) and errors[0] > 2.0 and errors[-1] < 0.01
    assert [text for _, text in tab.history.events] == ["lr=0.2"]
    mean_error = tab.history.column("mean_error")
    assert len(mean_error) == tab.step and mean_error[-1] == pytest.approx(tab.last_frame["metrics"]["mean_error"])
    mx, my = tab.view.mean.getData()                      # the view shows the newest frame
    assert (mx[0], my[0]) == tuple(tab.last_frame["snap"].mean)

    # the snapshot of the tab, at the size it has on screen
    png = win.snapshot(tab, tmp_path / "tab.png", scale=1.0)
    img = np.asarray(Image.open(png).convert("RGB")).astype(int)
    assert img.shape[:2] == (tab.height(), tab.width())
    assert (np.abs(img - (230, 90, 30)).max(axis=2) < 40).sum() > 100

    # the session, saved by the worker, then opened by another worker process
    saved_step, path = tab.step, tmp_path / "gauss.otviz"
    tab.save_session(str(path))
    qtbot.waitUntil(path.exists, timeout=10_000)
    assert read_session_file(path)["state"]["step"] == saved_step
    old_pid = tab.link.handle.pid
    tab.controls.play.click()
    qtbot.waitUntil(lambda: tab.step >= saved_step + 20, timeout=30_000)
    tab.controls.play.click()
    wait_paused(qtbot, tab)
    win.open_session(str(path))
    qtbot.waitUntil(lambda: tab.link is not None and tab.link.handle.pid != old_pid and tab.step == saved_step,
                    timeout=FIRST_FRAME_MS)
    assert not tab.banner.isVisible(), tab.banner.text()
    tab.controls.play.click()
    qtbot.waitUntil(lambda: tab.step >= saved_step + 10, timeout=30_000)
