"""Packaging: the self-test passes and fails when it should, desktop files validate, icons match the SVG, the wheel round trip."""
import configparser
import io
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from otviz.methods import method_names

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "packaging"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256)


def test_self_test_passes_and_exports_non_blank_snapshots(qapp, tmp_path):
    from PySide6 import QtGui

    from otviz.selftest import MIN_INK, ink_fraction, run_self_test

    out = io.StringIO()
    assert run_self_test(steps=1, out_dir=str(tmp_path), stream=out) == 0, out.getvalue()
    text = out.getvalue()
    assert "self-test passed" in text
    for name in method_names():
        line = next(ln for ln in text.splitlines() if ln.split()[:1] == [name])
        assert " ok " in line, line
        img = QtGui.QImage(str(tmp_path / f"otviz-selftest-{name}.png"))
        assert img.width() >= 600 and img.height() >= 400
        assert ink_fraction(img) > MIN_INK                # data drawn in colour, not just grey axes
    assert "icon       ok    7 sizes, 16 to 256 px" in text


def test_blank_check_tells_empty_plot_from_drawn_one(qapp):
    import pyqtgraph as pg

    from otviz.gui.export import render_image
    from otviz.gui.view_base import REAL, make_plot
    from otviz.selftest import MIN_INK, ink_fraction

    from PySide6 import QtWidgets

    box = QtWidgets.QWidget()                                # a tab renders its views as children, like this
    plot = make_plot("empty", x="x", y="y")
    QtWidgets.QVBoxLayout(box).addWidget(plot)
    box.resize(400, 300)
    box.show()
    qapp.processEvents()
    assert ink_fraction(render_image(box)) < MIN_INK        # axes, grid and title are grey/black: blank
    xy = np.random.default_rng(0).normal(size=(200, 2))
    plot.addItem(pg.ScatterPlotItem(xy[:, 0], xy[:, 1], size=8, brush=pg.mkBrush(REAL), pen=None))
    qapp.processEvents()
    assert ink_fraction(render_image(box)) > 10 * MIN_INK
    box.close()


def test_self_test_fails_with_a_message(qapp, tmp_path, monkeypatch):
    import otviz.gui.main_window as mw
    from otviz.selftest import run_self_test

    def broken(*_a, **_k):
        raise OSError("disk full")

    monkeypatch.setattr(mw, "save_snapshot", broken)
    out = io.StringIO()
    assert run_self_test(methods=["wgan"], steps=1, out_dir=str(tmp_path), stream=out) == 1
    assert "wgan       FAIL  snapshot failed: snapshot not saved: disk full  (after " in out.getvalue()
    assert "self-test FAILED: 1 problem(s)" in out.getvalue()
    out = io.StringIO()
    assert run_self_test(methods=["nosuchmethod"], stream=out) == 1
    assert "unknown method 'nosuchmethod'" in out.getvalue()


def test_cli_flag_runs_the_self_test_before_any_window(monkeypatch):
    import otviz.selftest
    from otviz.cli import main

    calls = []
    monkeypatch.setattr(otviz.selftest, "run_self_test", lambda: calls.append(1) or 7)
    monkeypatch.setattr("otviz.gui.app.run_app", lambda **k: pytest.fail("the window opened"))
    assert main(["--self-test"]) == 7 and calls == [1]


def desktop_entry() -> configparser.SectionProxy:
    cp = configparser.ConfigParser(interpolation=None)
    cp.optionxform = str
    cp.read(PKG / "otviz.desktop", encoding="utf-8")
    return cp["Desktop Entry"]


def test_desktop_entry_and_metainfo_agree():
    import tomllib
    import xml.etree.ElementTree as ET

    entry = desktop_entry()
    meta = ET.parse(PKG / "io.github.otviz.metainfo.xml").getroot()
    assert meta.findtext("launchable") == "otviz.desktop"
    assert meta.findtext("icon") == entry["Icon"] == meta.findtext("id")
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert entry["Exec"].split()[0] in scripts
    assert meta.findtext("provides/binary") == entry["Exec"].split()[0]
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert meta.find("releases/release").get("version") == version


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None, reason="desktop-file-utils not installed")
def test_desktop_file_validates():
    r = subprocess.run(["desktop-file-validate", str(PKG / "otviz.desktop")], capture_output=True, text=True)
    assert r.returncode == 0 and "error" not in r.stdout.lower(), r.stdout + r.stderr


@pytest.mark.skipif(shutil.which("appstreamcli") is None, reason="appstream not installed")
def test_metainfo_validates():
    r = subprocess.run(["appstreamcli", "validate", "--no-net", str(PKG / "io.github.otviz.metainfo.xml")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "W:" not in r.stdout and "E:" not in r.stdout, r.stdout


def test_icon_pngs_are_the_svg_rendered(qapp, tmp_path):
    """The committed PNGs are up to date with resources/otviz.svg (re-run packaging/render_icons.py)."""
    sys.path.insert(0, str(PKG))
    try:
        import render_icons
    finally:
        sys.path.remove(str(PKG))
    from PIL import Image

    fresh = render_icons.render(ROOT / "resources" / "otviz.svg", tmp_path)
    for n, path in zip(ICON_SIZES, fresh):
        shipped = np.asarray(Image.open(ROOT / "resources" / f"otviz-{n}.png").convert("RGBA"), dtype=float)
        assert shipped.shape == (n, n, 4)
        assert np.abs(shipped - np.asarray(Image.open(path).convert("RGBA"), dtype=float)).max() <= 2
        assert shipped[n // 2, n // 2, 3] == 255 and shipped[0, 0, 3] == 0    # opaque tile, rounded corners


def test_resources_are_found_and_not_ignored_by_git():
    from otviz.util.resources_path import resource_path

    names = ["otviz.svg", "old_faithful.csv"] + [f"otviz-{n}.png" for n in ICON_SIZES]
    for name in names:
        assert resource_path(name).is_file()
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    r = subprocess.run(["git", "check-ignore", *[f"resources/{n}" for n in names]], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 1 and r.stdout == "", f"ignored by git: {r.stdout}"


@pytest.mark.slow
def test_wheel_and_sdist_install_into_a_fresh_venv_and_pass_the_self_test(tmp_path):
    pytest.importorskip("build")
    dist = tmp_path / "dist"
    # no isolation: builds offline with this environment's setuptools
    subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--skip-dependency-check", "--outdir",
                    str(dist), str(ROOT)], check=True, capture_output=True, timeout=600)
    wheel = next(dist.glob("otviz-*.whl"))
    sdist = next(dist.glob("otviz-*.tar.gz"))
    shipped = ["otviz/resources/otviz.svg", "otviz/resources/old_faithful.csv", "otviz/selftest.py"]
    shipped += [f"otviz/resources/otviz-{n}.png" for n in ICON_SIZES]
    names = set(zipfile.ZipFile(wheel).namelist())
    assert set(shipped) <= names, set(shipped) - names
    top = sdist.name[: -len(".tar.gz")]
    members = set(tarfile.open(sdist).getnames())
    for rel in ["resources/otviz.svg", "resources/otviz-256.png", "resources/old_faithful.csv",
                "packaging/otviz.spec", "packaging/build.sh", "packaging/otviz.desktop"]:
        assert f"{top}/{rel}" in members, rel

    venv = tmp_path / "venv"
    # the system site-packages provide torch and Qt (no download, and pip checks the dependencies are
    # met); the wheel's otviz, in the venv, shadows any other install
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True, timeout=300)
    py = venv / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-index", str(wheel)], check=True, capture_output=True, timeout=600)
    where = subprocess.run([str(py), "-c", "import otviz; print(otviz.__file__)"], cwd=tmp_path,
                           capture_output=True, text=True, check=True).stdout.strip()
    assert where.startswith(str(venv)), where
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    r = subprocess.run([str(venv / "bin" / "otviz"), "--self-test"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "self-test passed" in r.stdout and r.stdout.count(" ok ") == len(method_names()) + 2
