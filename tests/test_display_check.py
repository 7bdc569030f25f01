"""`otviz` without a display or without X's libraries: one sentence and exit 1, before Qt can abort."""
import os
import shutil
import subprocess
import sys

import pytest

from otviz.gui import display_check
from otviz.gui.display_check import debian_package, display_problem, missing_libraries


def bare_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(extra)
    return env


@pytest.mark.parametrize("soname, package", [
    ("libxcb-cursor.so.0", "libxcb-cursor0"), ("libxcb-icccm.so.4", "libxcb-icccm4"),
    ("libxcb-keysyms.so.1", "libxcb-keysyms1"), ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
    ("libxcb-xinerama.so.0", "libxcb-xinerama0"), ("libX11-xcb.so.1", "libx11-xcb1"),
    ("libEGL.so.1", "libegl1"), ("libdbus-1.so.3", "libdbus-1-3"), ("libglib-2.0.so.0", "libglib2.0-0"),
])
def test_debian_package_names(soname, package):
    assert debian_package(soname) == package


def test_no_display_is_said_plainly(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    for k in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(k, raising=False)
    assert display_problem().startswith("cannot open the window: there is no display (DISPLAY is not set)")
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")      # Qt's own choice: nothing to check
    assert display_problem() is None


def test_missing_libraries_are_named_with_their_packages(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setattr(display_check, "missing_libraries", lambda: ["libxcb-cursor.so.0", "libxcb-icccm.so.4"])
    msg = display_problem()
    assert msg.endswith("(libxcb-cursor.so.0, libxcb-icccm.so.4); on Debian/Ubuntu: "
                        "sudo apt-get install libxcb-cursor0 libxcb-icccm4")


@pytest.mark.skipif(not (shutil.which("gcc") and shutil.which("ldd")), reason="needs gcc and ldd")
def test_missing_libraries_reads_what_the_loader_cannot_find(tmp_path):
    # a plugin linked against a library that is then removed: what ldd reports for a missing X library
    (tmp_path / "stub.c").write_text("int stub(void) { return 1; }\n")
    (tmp_path / "plugin.c").write_text("int stub(void); int plugin(void) { return stub(); }\n")
    cc = ["gcc", "-shared", "-fPIC"]
    subprocess.run(cc + ["-Wl,-soname,libotviz-gone-x11.so.0", "-o", str(tmp_path / "libotviz-gone-x11.so"),
                         str(tmp_path / "stub.c")], check=True)
    subprocess.run(cc + ["-o", str(tmp_path / "libqfake.so"), str(tmp_path / "plugin.c"), "-L", str(tmp_path),
                         "-lotviz-gone-x11"], check=True)
    (tmp_path / "libotviz-gone-x11.so").unlink()
    assert missing_libraries(tmp_path / "libqfake.so") == ["libotviz-gone-x11.so.0"]
    assert debian_package("libotviz-gone-x11.so.0") == "libotviz-gone-x11-0"


def test_installed_xcb_plugin_has_what_it_needs():
    if display_check._xcb_plugin() is None:
        pytest.skip("this Qt has no xcb plugin")
    assert missing_libraries() == []          # this machine (and CI, which installs them) has every library


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11 displays are a Linux matter here")
@pytest.mark.parametrize("env, problem", [
    ({}, "there is no display (DISPLAY is not set)"),
    ({"DISPLAY": ":93", "QT_QPA_PLATFORM": "xcb"}, "the X display :93 does not accept a connection"),
])
def test_window_without_display_exits_1_with_one_line(env, problem):
    if env.get("DISPLAY") and os.path.exists("/tmp/.X11-unix/X93"):
        pytest.skip("display :93 exists here")
    r = subprocess.run([sys.executable, "-m", "otviz"], env=bare_env(**env), capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 1
    assert r.stderr.startswith("otviz: cannot open the window: ") and problem in r.stderr
    assert r.stderr.count("\n") == 1 and "qt.qpa" not in r.stderr and r.stdout == ""
