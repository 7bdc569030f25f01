"""Process set-up (otviz.core.runtime): torch threads from the environment, the allocator settings
that stop a redraw from page-faulting its buffers in again every frame, and Qt's thread pool turned off."""
import json
import os
import subprocess
import sys

import pytest

# a redraw's buffers, frame after frame: FastScatter's raster of 25,000 points into a 666 x 549 image
FRAMES = r"""
import json, resource, sys
from otviz.core.runtime import tune_allocator
applied = tune_allocator() if sys.argv[1] == "tune" else False
import numpy as np
from PySide6 import QtGui
from otviz.gui.fastpoints import alpha_lut, disk_offsets, rasterise_padded
rng = np.random.default_rng(0)
W, H = 666, 549
clouds = [rng.normal(0, 1, (25000, 2)) for _ in range(4)]
pts = [((c[:, 0] + 3.5) / 7 * W, (c[:, 1] + 3.5) / 7 * H) for c in clouds]
off, shift = disk_offsets(4)
lut = alpha_lut(QtGui.QColor(30, 120, 220, 200))
keep = None
for i in range(10):
    keep = rasterise_padded(*pts[i % 4], W, H, off, lut, shift)
f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for i in range(60):
    keep = rasterise_padded(*pts[i % 4], W, H, off, lut, shift)
print(json.dumps([applied, (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0) / 60]))
"""


def _run(code, *args, env_extra=None, drop=()):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k not in drop}
    env.update(env_extra or {})
    p = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env,
                       timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    return json.loads(p.stdout.strip().splitlines()[-1])


def test_torch_threads_follow_the_environment():
    code = "import json; from otviz.core.runtime import configure_threads; print(json.dumps(configure_threads()))"
    assert _run(code, env_extra={"OTVIZ_TORCH_THREADS": "2"}) == 2
    assert _run(code, drop=("OTVIZ_TORCH_THREADS",)) == 1


def _glibc() -> bool:
    import ctypes

    try:
        ctypes.CDLL(None).gnu_get_libc_version
        return sys.platform.startswith("linux")
    except (OSError, AttributeError):
        return False


@pytest.mark.skipif(not _glibc(), reason="the allocator settings are for glibc only")
def test_allocator_settings_stop_per_frame_page_faults():
    applied, faults = _run(FRAMES, "tune")
    assert applied is True
    assert faults < 5, f"{faults:.0f} page faults per frame with the settings applied"
    # without them the same frames fault their buffers in again (the reason the settings exist)
    applied, untuned = _run(FRAMES, "plain")
    assert applied is False
    assert untuned > 10 * max(faults, 1.0)


@pytest.mark.skipif(not _glibc(), reason="the allocator settings are for glibc only")
def test_allocator_settings_can_be_declined():
    code = "import json; from otviz.core.runtime import tune_allocator; print(json.dumps(tune_allocator()))"
    assert _run(code, env_extra={"OTVIZ_MALLOC_TUNING": "0"}) is False
    assert _run(code, env_extra={"MALLOC_ARENA_MAX": "2"}) is False     # the user's own malloc settings win
    assert _run(code) is True


def test_qt_thread_pool_is_turned_off_where_the_app_starts_not_on_import():
    code = ("import json, os; import otviz.gui.fastpoints; seen = [os.environ.get('QT_NO_GUI_THREADPOOL')]\n"
            "from otviz.gui.app import disable_qt_gui_thread_pool; disable_qt_gui_thread_pool()\n"
            "print(json.dumps(seen + [os.environ.get('QT_NO_GUI_THREADPOOL')]))")
    drop = ("QT_NO_GUI_THREADPOOL", "OTVIZ_QT_THREADPOOL")
    assert _run(code, drop=drop) == [None, "1"]
    assert _run(code, env_extra={"OTVIZ_QT_THREADPOOL": "1"}, drop=drop) == [None, None]     # the pool kept
