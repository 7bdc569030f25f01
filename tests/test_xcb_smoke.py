"""The real app on a real X server: `python -m otviz` under Xvfb with Qt's xcb platform, Play, close.

Everything else tests the window offscreen; this is the one run through the platform users have.
Skipped without Xvfb and xdotool; CI installs both and sets OTVIZ_REQUIRE_XVFB=1, which turns the
skip into a failure.
"""
import os
import shutil
import subprocess
import sys
import time

import pytest

TOOLS = ("Xvfb", "xdotool")
missing = [t for t in TOOLS if shutil.which(t) is None]
required = os.environ.get("OTVIZ_REQUIRE_XVFB") == "1"
pytestmark = [pytest.mark.xvfb,
              pytest.mark.skipif(bool(missing) and not required,
                                 reason=f"needs {' and '.join(missing)} (apt-get install xvfb xdotool)"),
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11 under Xvfb: Linux only")]


@pytest.fixture
def xvfb():
    """A private X server; yields its DISPLAY (Xvfb picks a free number and tells it on a pipe)."""
    if missing:
        pytest.fail(f"OTVIZ_REQUIRE_XVFB=1 but {' and '.join(missing)} is not installed")
    r, w = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
                            pass_fds=(w,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(w)
    with os.fdopen(r) as f:
        number = f.readline().strip()
    if not number:
        proc.kill()
        pytest.fail("Xvfb did not start")
    yield f":{number}"
    proc.terminate()
    proc.wait(10)


def xdo(display, *args, check=True):
    return subprocess.run(["xdotool", *args], env={**os.environ, "DISPLAY": display}, capture_output=True,
                          text=True, timeout=20, check=check).stdout.strip()


def screen(display, path):
    """The whole screen (ImageMagick's import) as a PIL image, or None without ImageMagick."""
    if shutil.which("import") is None:
        return None
    from PIL import Image

    subprocess.run(["import", "-display", display, "-window", "root", str(path)], timeout=30, check=True,
                   capture_output=True)
    return Image.open(path).convert("RGB")


def painted(image) -> bool:
    lo, hi = image.convert("L").getextrema()
    return hi - lo > 100                   # a drawn window, not the X server's black root alone


def test_app_opens_plays_and_closes_under_xcb(xvfb, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY",)}
    env.update(DISPLAY=xvfb, QT_QPA_PLATFORM="xcb")
    out, err = open(tmp_path / "out.txt", "w+"), open(tmp_path / "err.txt", "w+")
    app = subprocess.Popen([sys.executable, "-m", "otviz"], env=env, stdout=out, stderr=err)
    try:
        wid = ""
        deadline = time.monotonic() + 60
        while not wid and time.monotonic() < deadline and app.poll() is None:
            time.sleep(0.25)
            wid = xdo(xvfb, "search", "--onlyvisible", "--name", "otviz", check=False).split("\n")[0]
        err.seek(0)
        assert wid, f"no otviz window appeared (exit {app.poll()}): {err.read()[-2000:]}"
        before = screen(xvfb, tmp_path / "before.png")
        while before is not None and not painted(before) and time.monotonic() < deadline:
            time.sleep(0.5)                               # mapped is not drawn: wait for the first paint
            before = screen(xvfb, tmp_path / "before.png")
        assert before is None or painted(before), "the otviz window was never drawn"
        xdo(xvfb, "windowfocus", "--sync", wid)           # no window manager: focus it by hand
        xdo(xvfb, "key", "--clearmodifiers", "space")     # Play
        time.sleep(4.0)
        assert app.poll() is None, "otviz quit while playing"
        after = screen(xvfb, tmp_path / "after.png")
        if before is not None:
            from PIL import ImageChops

            assert ImageChops.difference(before, after).getbbox() is not None, "nothing changed in 4 s of Play"
        xdo(xvfb, "key", "--clearmodifiers", "ctrl+q")    # File > Quit: the window's own close path
        code = app.wait(timeout=10)
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
    err.seek(0)
    text = err.read()
    assert code == 0, text[-2000:]
    assert "Traceback" not in text and "QThread: Destroyed" not in text, text[-2000:]
