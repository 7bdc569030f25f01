"""The foundation: the Qt-free boundary, parameter validation, bounded history, atomic files, the CLI."""
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from method_checks import check_registry_entry
from otviz.util.atomic import atomic_write_text
from otviz.cli import main
from otviz.core.datasets import load_points_csv
from otviz.core.devices import resolve_device
from otviz.methods import REGISTRY, method_info, method_names
from otviz.methods.base import ParamSpec
from otviz.session.history import History


def test_core_and_methods_do_not_import_qt():
    mods = ["otviz.core.datasets", "otviz.session.session", "otviz.cli"]
    mods += [REGISTRY[n].method.split(":")[0] for n in REGISTRY]
    code = ("import sys, importlib\n"
            f"for m in {mods!r}: importlib.import_module(m)\n"
            "import pkgutil, otviz.core, otviz.methods, otviz.session, otviz.util\n"
            "for pkg in (otviz.core, otviz.methods, otviz.session, otviz.util):\n"
            "    for info in pkgutil.iter_modules(pkg.__path__):\n"
            "        importlib.import_module(pkg.__name__ + '.' + info.name)\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'PyQt5', 'PyQt6')\n"
            "       or m.startswith('otviz.gui')]\n"
            "print(bad); sys.exit(1 if bad else 0)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_core_and_methods_do_not_name_the_gui():
    # not even in a string: a lazily imported "otviz.gui..." path would tie the training side to Qt
    root = os.path.join(os.path.dirname(__file__), os.pardir, "otviz")
    bad = []
    for pkg in ("core", "methods", "session", "util", "worker"):
        for fn in sorted(os.listdir(os.path.join(root, pkg))):
            if fn.endswith(".py"):
                with open(os.path.join(root, pkg, fn), encoding="utf-8") as f:
                    text = f.read()
                bad += [f"{pkg}/{fn}: {w}" for w in ("otviz.gui", "PySide6", "pyqtgraph") if w in text]
    assert not bad, bad


def test_window_side_imports_without_torch_or_sklearn():
    # the window's process draws and edits parameters; training (torch, scikit-learn) runs in workers
    code = ("import sys, importlib, pkgutil\n"
            "import otviz.methods, otviz.gui.views\n"
            "from otviz.methods import REGISTRY, method_info\n"
            "from otviz.gui.views import VIEWS\n"
            "mods = [m.name for m in pkgutil.iter_modules(otviz.methods.__path__) if m.name.endswith('_config')]\n"
            "assert len(mods) == len(REGISTRY), mods\n"
            "for m in mods: importlib.import_module('otviz.methods.' + m)\n"
            "for m in ['control_panel', 'history_plot', 'export', 'draw_target', 'view_base', 'fastpoints']:\n"
            "    importlib.import_module('otviz.gui.' + m)\n"
            "for m in ['session.history', 'util.atomic', 'util.recording', 'util.output_paths', 'util.resources_path']:\n"
            "    importlib.import_module('otviz.' + m)\n"
            "for n, path in VIEWS.items():\n"
            "    importlib.import_module(path.split(':')[0])\n"
            "    info = method_info(n)\n"
            "    assert info.specs() and info.metrics and info.title\n"
            "bad = sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'sklearn'})\n"
            "print(bad); sys.exit(1 if bad else 0)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("value, reason", [
    ("0", "greater than 0"), ("-1", "greater than 0"), ("abc", "not a number"), ("nan", "finite"),
    ("100", "at most 10"),
])
def test_param_refusals_say_why(value, reason):
    spec = ParamSpec("eps", float, 0.1, lo=0.0, hi=10.0, lo_open=True)
    with pytest.raises(ValueError, match=reason):
        spec.coerce(value)
    assert spec.coerce("0.5") == 0.5


def test_int_and_choice_params():
    k = ParamSpec("n_components", int, 5, lo=1, hi=50)
    assert k.coerce("7") == 7
    with pytest.raises(ValueError, match="at least 1"):
        k.coerce(0)
    with pytest.raises(ValueError, match="whole number"):
        k.coerce(2.5)
    c = ParamSpec("optimizer", str, "adam", choices=("adam", "rmsprop"))
    with pytest.raises(ValueError, match="not one of"):
        c.coerce("sgd")
    b = ParamSpec("flag", bool, False)
    assert b.coerce("yes") is True and b.coerce("off") is False


def test_history_is_bounded_and_keeps_the_span():
    h = History(("loss",), cap=1000)
    for step in range(1, 100_001):
        h.append(step, {"loss": 1.0 / step})
    assert len(h) <= 1000
    steps = h.steps
    assert steps[0] == 1 and steps[-1] > 99_000          # still covers the whole run
    assert np.all(np.diff(steps) > 0)
    np.testing.assert_allclose(h.column("loss"), 1.0 / steps)


def test_history_events_merge_per_step_and_go_to_csv(tmp_path):
    h = History(("a", "b"))
    h.append(1, {"a": 1.0, "b": 2.0})
    h.add_event(1, "lr=0.1")
    h.add_event(1, "eps=0.5")
    h.append(2, {"a": 3.0})
    assert h.events == [(1, "lr=0.1, eps=0.5")]
    f = tmp_path / "h.csv"
    h.to_csv(f)
    lines = f.read_text().splitlines()
    assert lines[0] == "step,a,b,changes"
    assert lines[1] == "1,1,2,\"lr=0.1, eps=0.5\""
    assert lines[2].startswith("2,3,nan")


def test_atomic_write_refuses_missing_folder_and_keeps_old_file(tmp_path):
    with pytest.raises(OSError, match="does not exist"):
        atomic_write_text(tmp_path / "nope" / "f.txt", "x")
    f = tmp_path / "f.txt"
    f.write_text("old")
    atomic_write_text(f, "new")
    assert f.read_text() == "new"
    umask = os.umask(0)
    os.umask(umask)
    assert f.stat().st_mode & 0o777 == 0o666 & ~umask          # not mkstemp's private mode
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]     # no temporary left behind


@pytest.mark.parametrize("content, problem", [
    ("", "empty"), ("1\n2\n3\n", "line 1: expected two numbers, found only '1'"),
    ("x,y\n1,2\nfoo,bar\n", "line 3: expected two numbers, found 'foo'"),
    ("1,2\n3,nan\n", "line 2: expected two finite numbers, found 'nan'"), ("x,y\n", "header but no points"),
])
def test_csv_errors_name_file_and_problem(tmp_path, content, problem):
    f = tmp_path / "pts.csv"
    f.write_text(content)
    with pytest.raises(ValueError, match=problem) as e:
        load_points_csv(f)
    assert "pts.csv" in str(e.value)


def test_csv_points_with_header(tmp_path):
    f = tmp_path / "pts.csv"
    f.write_text("x,y,label\n1,2,a\n3.5,-4,b\n")
    np.testing.assert_array_equal(load_points_csv(f), [[1, 2], [3.5, -4]])


def test_unavailable_device_is_refused_with_reason():
    assert str(resolve_device("cpu")) == "cpu"
    with pytest.raises(ValueError, match="unknown device"):
        resolve_device("tpu")
    import torch
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="not available"):
            resolve_device("cuda")


def test_registry_lists_methods_in_tab_order():
    names = method_names()
    assert names == ["swgmm", "wgan", "sinkhorn", "realnvp", "coulomb"]
    from otviz.gui.views import VIEWS
    assert list(VIEWS) == names
    with pytest.raises(ValueError, match="choose from swgmm, wgan"):
        method_info("nope")
    for n in names:
        check_registry_entry(n)


def test_cli_run_writes_history(tmp_path, capsys):
    out = tmp_path / "h.csv"
    code = main(["run", "sinkhorn", "--steps", "3", "--set", "eps=0.5", "--set", "dataset=seed_rows",
                 "--history", str(out), "--quiet"])
    assert code == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "step,cost,divergence,changes"
    assert [int(l.split(",")[0]) for l in lines[1:]] == [1, 2, 3]
    assert all(math.isfinite(float(l.split(",")[1])) for l in lines[1:])


@pytest.mark.parametrize("args, message", [
    (["--set", "eps=0"], "eps: must be at least"), (["--set", "nosuch=1"], "no parameter 'nosuch'"),
    (["--set", "eps"], "expected KEY=VALUE"), (["--device", "tpu"], "unknown device"),
])
def test_cli_refuses_bad_input(capsys, args, message):
    code = main(["run", "sinkhorn", "--steps", "1", "--quiet"] + args)
    assert code == 2
    assert message in capsys.readouterr().err
