"""Where the window runs on a machine with few cores: on one core of its own, while training uses all.

On a machine of two to four cores the scheduler moves the GUI thread, at each of its wake-ups, onto
whichever core looks free, and that is often the one a training step runs on: the step is put off or
moved, and loses its caches. Kept to one core, the GUI leaves the others to training undisturbed (on two
cores, SW-GMM and Coulomb GAN played in the window kept 0.89–0.93 of their headless speed instead
of 0.85–0.88, at the same frame rates). The processes the window starts (workers, their frame painters,
the field helper) may use every core again, the window's included, so that two runs side by side
share the machine and their frames are not all queued behind the GUI. With more cores the scheduler
finds training a free core anyway, and the last core of a hybrid processor is one of its slow ones:
nothing is pinned there.

Two runs side by side (A | B) on two cores: one worker shares the window's core, the other the
helpers' core, and the scheduler leaves them there. The first trained a fifth slower than the second,
so that a side changed in nothing looked slower. share_window_core lets the window swap them every
so often, and each gets the same share.
"""
from __future__ import annotations

import contextlib
import os

MAX_CORES = 4
ALL_CORES = "OTVIZ_ALL_CORES"          # set by a pinned GUI process for the processes it starts


def keep_window_on_one_core() -> int | None:
    """In the GUI process, before Qt or anything else starts a thread (a thread takes the cores of the
    thread that starts it): keep to the last core this process may use, and tell the processes it
    will start which cores they may use. The core, or None where nothing was pinned.
    OTVIZ_PIN_WINDOW=0 turns this off."""
    if os.environ.get("OTVIZ_PIN_WINDOW") == "0" or not hasattr(os, "sched_setaffinity"):
        return None
    try:
        allowed = sorted(os.sched_getaffinity(0))
        if not 2 <= len(allowed) <= MAX_CORES:
            return None
        os.sched_setaffinity(0, {allowed[-1]})
    except OSError:
        return None
    os.environ[ALL_CORES] = ",".join(map(str, allowed))
    return allowed[-1]


def take_all_cores() -> None:
    """In a process started by a pinned window: use every core the window was allowed."""
    _set(_all_cores())


@contextlib.contextmanager
def every_core():
    """Inside it, the calling thread of a pinned window may use every core, and so does a process it
    starts (a video encoder must not take turns with the GUI); the thread keeps to its core again after."""
    cores = _all_cores()
    before = os.sched_getaffinity(0) if cores else None
    _set(cores)
    try:
        yield
    finally:
        _set(before)


def _all_cores() -> set[int] | None:
    cores = os.environ.get(ALL_CORES)
    if not cores or not hasattr(os, "sched_setaffinity"):
        return None
    try:
        return {int(c) for c in cores.split(",")}
    except ValueError:
        return None


def share_window_core(on_window: int, off_window: int) -> bool:
    """On two cores with the window kept to one of them: process `on_window` trains on the window's
    core and `off_window` on the other. Called again with the two swapped, two runs side by side take
    turns. False where turns do not apply: more cores (training has a free one), or a window not kept
    to one core. With three or four, the two workers find the cores the window leaves free. A process
    already gone is passed over: the next turn has the worker that replaced it."""
    cores = _all_cores()
    if not cores or len(cores) != 2:
        return False
    window = max(cores)                # keep_window_on_one_core keeps to the last one
    _set({window}, on_window)
    _set(cores - {window}, off_window)
    return True


def release_cores(*pids: int) -> None:
    """Every core of the machine again for these processes (the turns of share_window_core are over)."""
    cores = _all_cores()
    for pid in pids:
        _set(cores, pid)


def _set(cores: set[int] | None, pid: int = 0) -> None:
    if cores:
        try:
            os.sched_setaffinity(pid, cores)
        except OSError:
            pass           # the machine's cores changed since the window started, or the process is gone
