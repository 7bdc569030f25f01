"""Before the window opens: is there a display, and can Qt's X11 (xcb) platform load?

Without either, Qt aborts the process (exit 134) with text that points at the wrong fix ("no Qt
platform plugin could be initialized... reinstalling the application may fix this problem"). This
check says in one sentence what is missing, before any QApplication exists. It imports no Qt module.
"""
from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

# Debian/Ubuntu packages of the libraries Qt's xcb platform loads; other names follow Debian's rule
# (libfoo-bar.so.N -> libfoo-barN, libfoo2.so.N -> libfoo2-N).
PACKAGES = {
    "libglib-2.0.so.0": "libglib2.0-0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libGLX.so.0": "libglx0",
    "libOpenGL.so.0": "libopengl0",
    "libGLdispatch.so.0": "libglvnd0",
}
# what the xcb platform of Qt 6 loads, for systems without ldd (the plugin itself tells us otherwise)
XCB_LIBRARIES = ("libxcb.so.1", "libX11-xcb.so.1", "libX11.so.6", "libxkbcommon.so.0", "libxkbcommon-x11.so.0",
                 "libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-image.so.0", "libxcb-keysyms.so.1",
                 "libxcb-randr.so.0", "libxcb-render.so.0", "libxcb-render-util.so.0", "libxcb-shape.so.0",
                 "libxcb-shm.so.0", "libxcb-sync.so.1", "libxcb-util.so.1", "libxcb-xfixes.so.0", "libxcb-xkb.so.1",
                 "libfontconfig.so.1", "libfreetype.so.6", "libEGL.so.1", "libGL.so.1")
ALTERNATIVE = "`otviz run METHOD --steps N --snapshot out.png` trains and renders without a window"


def debian_package(soname: str) -> str:
    """The Debian package that ships a shared library, by Debian's naming rule and a few exceptions."""
    if soname in PACKAGES:
        return PACKAGES[soname]
    m = re.match(r"^(lib.+?)\.so\.(\d+)", soname)
    if not m:
        return soname
    stem, major = m.group(1).lower(), m.group(2)
    return f"{stem}-{major}" if stem[-1].isdigit() else f"{stem}{major}"


def _platform() -> str:
    """The platform Qt will use: QT_QPA_PLATFORM's first choice, else the default for this session."""
    wanted = os.environ.get("QT_QPA_PLATFORM", "").strip()
    if wanted:
        return re.split(r"[;:]", wanted)[0].strip().lower()
    if os.environ.get("WAYLAND_DISPLAY"):
        return "wayland"
    return "xcb"


def _xcb_plugin() -> Path | None:
    try:
        import PySide6
    except ImportError:
        return None
    plugin = Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return plugin if plugin.is_file() else None


def missing_libraries(plugin: Path | None = None) -> list[str]:
    """Shared libraries the xcb platform plugin needs that this system lacks (sonames)."""
    plugin = plugin or _xcb_plugin()
    ldd = shutil.which("ldd")
    needed = XCB_LIBRARIES
    if plugin is not None and ldd:
        try:
            r = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.SubprocessError):
            r = None
        if r is not None:
            missing = re.findall(r"^\s*(\S+)\s*=>\s*not found", r.stdout, flags=re.M)
            if missing or r.returncode == 0:
                return list(dict.fromkeys(missing))
            # ldd gave up on a broken library before listing the rest: try each one it named
            needed = tuple(dict.fromkeys(re.findall(r"^\s*(\S+\.so[.\d]*)\s*=>", r.stdout, flags=re.M)
                                         + list(XCB_LIBRARIES)))
    missing = []
    for soname in needed:
        try:
            ctypes.CDLL(soname)
        except OSError:
            missing.append(soname)
    return missing


def _connect_error(display: str) -> int | None:
    """0 if the X display accepts a connection, the xcb error code if not, None if it cannot be tried."""
    try:
        xcb = ctypes.CDLL("libxcb.so.1")
    except OSError:
        return None
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)]
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    conn = xcb.xcb_connect(display.encode(), None)
    try:
        return int(xcb.xcb_connection_has_error(conn))
    finally:
        xcb.xcb_disconnect(conn)           # also frees a connection that failed


def display_problem() -> str | None:
    """One sentence saying why the window cannot open here, or None when it can (or when only Qt can tell)."""
    if not sys.platform.startswith("linux"):
        return None
    platform = _platform()
    if platform != "xcb":                  # wayland, offscreen, vnc…: Qt's own choice, not checked here
        return None
    display = os.environ.get("DISPLAY", "").strip()
    if not display:
        return f"cannot open the window: there is no display (DISPLAY is not set); {ALTERNATIVE}"
    missing = missing_libraries()
    if missing:
        packages = " ".join(dict.fromkeys(debian_package(s) for s in missing))
        return (f"cannot open the window: Qt's X11 platform needs system libraries that are missing "
                f"({', '.join(missing)}); on Debian/Ubuntu: sudo apt-get install {packages}")
    err = _connect_error(display)
    if err:
        return (f"cannot open the window: the X display {display} does not accept a connection (no X server "
                f"running there, or this user may not use it); {ALTERNATIVE}")
    return None
