"""Topics 2 and 3, training with the window open: each registered method's steps/s with its tab open and
redrawing against a headless Session.step() loop of the same session (in alternating slices), and the GUI
event loop's latency (a 10 ms QTimer's lateness) while it trains. Each method runs in its own process, so
one cannot slow or crash another."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from benchmarks.common import Row, load_average, percentile  # noqa: E402

TARGET_RATIO = 0.9
TARGET_P99_MS = 50.0
TICK_MS = 10


def pace(worker, k: float) -> None:
    """Experiment: lower the worker's max_fps so that a frame's GUI cost (emit to frame_done, which
    includes drawing the previous frame) takes at most 1/k of the time between frames."""
    orig_send, orig_done, base = worker._send_frame, worker.frame_done, worker.max_fps
    sent = [0.0]
    cost = [0.0]

    def send():
        sent[0] = time.perf_counter()
        orig_send()

    def done():
        if sent[0]:
            c = time.perf_counter() - sent[0]
            cost[0] = c if cost[0] == 0 else 0.7 * cost[0] + 0.3 * c
            worker.max_fps = min(base, 1.0 / max(k * cost[0], 1e-6))
        orig_done()
    worker._send_frame, worker.frame_done = send, done


def gui_rate(name: str, seconds: float, size=(1400, 900)) -> dict:
    """Steps/s, frames/s and timer lateness with the method's tab open, shown offscreen, and playing."""
    import pyqtgraph as pg
    from PySide6 import QtCore, QtWidgets

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    from otviz.gui.fastpoints import FastScatter
    from otviz.gui.main_window import MainWindow

    win = MainWindow(methods=[name])
    win.resize(*size)
    win.show()
    tab = win.tab_by_name[name]
    if os.environ.get("OTVIZ_BENCH_MAX_FPS"):         # experiments: cap the frame rate
        tab.worker.max_fps = float(os.environ["OTVIZ_BENCH_MAX_FPS"])
    if os.environ.get("OTVIZ_BENCH_SHARE"):          # experiments: another redraw share (0.01 … 1)
        tab.worker.set_gui_budget(float(os.environ["OTVIZ_BENCH_SHARE"]))
    if os.environ.get("OTVIZ_BENCH_PACE"):           # experiment: keep the GUI thread busy <= 1/k
        pace(tab.worker, float(os.environ["OTVIZ_BENCH_PACE"]))
    frames: list[float] = []
    tab.worker.frame.connect(lambda f: frames.append(time.perf_counter()))
    # CPU seconds spent in the worker thread on steps and on snapshots (thread_time there), and in the
    # GUI thread overall: shares that explain the ratio even when the machine is shared
    cpu = {"step": 0.0, "snap": 0.0}

    def timed_method(attr, key):
        orig = getattr(tab.worker, attr)

        def wrapper(*a):
            c = time.thread_time()
            try:
                return orig(*a)
            finally:
                cpu[key] += time.thread_time() - c
        setattr(tab.worker, attr, wrapper)
    timed_method("_step", "step")
    timed_method("_send_frame", "snap")
    late: list[float] = []
    last = [None]

    def tick():
        now = time.perf_counter()
        if last[0] is not None:
            late.append(max(0.0, (now - last[0]) * 1e3 - TICK_MS))
        last[0] = now
    timer = QtCore.QTimer()
    timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
    timer.timeout.connect(tick)

    def wait(sec):
        end = time.perf_counter() + sec
        while time.perf_counter() < end:
            app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 5)
            time.sleep(0.001)

    wait(0.5)
    if os.environ.get("OTVIZ_BENCH_SWITCH"):          # experiments: the GIL switch interval (s)
        sys.setswitchinterval(float(os.environ["OTVIZ_BENCH_SWITCH"]))
    tab.controls.play.click()
    # warm-up: the first frames pay lazy imports and caches; wait for a few of them (or give up at 30 s)
    end = time.perf_counter() + 30
    while time.perf_counter() < end and (len(frames) < 5 or tab.session.step_count < 5):
        wait(0.1)
    wait(min(1.0, seconds / 3))
    # phase 1, throughput, measured inside a real event loop (app.exec-like) with nothing but the app in
    # it (a probe timer re-entering Python 100 times a second would itself take the GIL from training).
    # This 2-core machine's speed drifts by +-10 % over seconds, more than the effect measured, so the
    # window's slices alternate with headless slices of the same session -- paused worker, a plain
    # Session.step() loop, no frames -- and the sums of each are compared.
    loop = QtCore.QEventLoop()
    slices = max(2, int(os.environ.get("OTVIZ_BENCH_SLICES", "3")))
    part = seconds / slices
    steps = head_steps = n_frames = 0
    dt = head_dt = gui_cpu = 0.0
    cpu0 = dict(cpu)
    for k in range(slices):
        n0, t0, f0, g0 = tab.session.step_count, time.perf_counter(), len(frames), time.thread_time()
        QtCore.QTimer.singleShot(int(part * 1000), loop.quit)
        loop.exec()
        steps += tab.session.step_count - n0
        dt += time.perf_counter() - t0
        n_frames += len(frames) - f0
        gui_cpu += time.thread_time() - g0
        tab.controls.play.click()                       # pause, let the worker finish its step
        wait(0.3)
        # (in a thread of its own, joined: the GUI thread's CPU clock, which paces the frames, stays clean)
        s, n1, t1 = tab.session, tab.session.step_count, time.perf_counter()

        def headless():
            while time.perf_counter() - t1 < part:
                s.step()
        th = threading.Thread(target=headless)
        th.start()
        th.join()
        head_steps += s.step_count - n1
        head_dt += time.perf_counter() - t1
        tab.controls.play.click()                       # and play on
        wait(0.3)
    step_cpu, snap_cpu = cpu["step"] - cpu0["step"], cpu["snap"] - cpu0["snap"]
    # phase 2, responsiveness: the lateness of a 10 ms timer while it keeps training
    late.clear()
    last[0] = None
    n1, t1 = tab.session.step_count, time.perf_counter()
    timer.start(TICK_MS)
    QtCore.QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
    timer.stop()
    probe_rate = (tab.session.step_count - n1) / (time.perf_counter() - t1)
    tab.controls.play.click()
    wait(0.3)
    # which items draw the points: a stock ScatterPlotItem with many points misses the fast path
    stock_max, fast_max = 0, 0
    for plot in tab.view.findChildren(pg.PlotWidget) + tab.view.findChildren(pg.GraphicsLayoutWidget):
        for item in plot.scene().items():
            if isinstance(item, pg.ScatterPlotItem):
                stock_max = max(stock_max, len(item.data))
            elif isinstance(item, FastScatter):
                fast_max = max(fast_max, len(item.data()))
    win.close()
    app.processEvents()
    return {"steps_per_s": steps / dt, "steps": steps, "headless": head_steps / head_dt,
            "headless_steps": head_steps, "fps": n_frames / dt, "late_p50": percentile(late, 50),
            "late_p99": percentile(late, 99), "late_max": max(late) if late else float("nan"),
            "ticks": len(late), "stock_scatter_max": stock_max, "fast_scatter_max": fast_max,
            "step_cpu_ms": 1e3 * step_cpu / max(steps, 1), "snap_cpu_ms": 1e3 * snap_cpu / max(n_frames, 1),
            "gui_cpu_ms": 1e3 * gui_cpu / max(n_frames, 1), "gui_busy": gui_cpu / dt,
            "steps_per_s_probed": probe_rate}


def measure_one(name: str, seconds: float) -> dict:
    from otviz.core.runtime import configure_process

    configure_process()
    return {"name": name, **gui_rate(name, seconds)}


def run(quick: bool = False, flags: set[str] | None = None) -> list[Row]:
    from otviz.methods import method_names

    seconds = 3.0 if quick else 6.0
    env = dict(os.environ)
    rows = []
    for name in method_names():
        la = load_average()[0]
        cmd = [sys.executable, "-m", "benchmarks.gui_live", "--one", name, "--seconds", str(seconds)]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=120 + 6 * seconds, env=env,
                               cwd=Path(__file__).resolve().parents[1])
            line = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
            if p.returncode != 0 or not line:
                raise RuntimeError((p.stdout + p.stderr).strip().splitlines()[-1:] or ["no output"])
            d = json.loads(line[-1])
        except Exception as e:  # one method failing must not hide the others
            rows.append(Row("gui", f"{name}: could not measure", float("nan"), "", ok=False, note=str(e)[:300]))
            continue
        ratio = d["steps_per_s"] / d["headless"] if d["headless"] > 0 else float("nan")
        audit = (f"; largest stock ScatterPlotItem {d['stock_scatter_max']} points, "
                 f"largest FastScatter {d['fast_scatter_max']}")
        rows.append(Row("gui", f"{name}: steps/s, tab open vs headless", d["steps_per_s"], "steps/s",
                        baseline=d["headless"], baseline_name="headless", ratio=ratio,
                        target=f">= {TARGET_RATIO}", ok=ratio >= TARGET_RATIO,
                        note=f"{d['fps']:.0f} frames/s; per step {d['step_cpu_ms']:.1f} ms CPU, per frame "
                             f"{d['snap_cpu_ms']:.1f} ms snapshot (worker) + {d['gui_cpu_ms']:.1f} ms GUI thread; "
                             f"load {la:.1f}" + audit, extra=d))
        rows.append(Row("latency", f"{name}: event-loop lateness p50 / p99", d["late_p99"] / 1e3, "s",
                        baseline=d["late_p50"] / 1e3, baseline_name="p50", target=f"p99 <= {TARGET_P99_MS:.0f} ms",
                        ok=d["late_p99"] <= TARGET_P99_MS,
                        note=f"{d['ticks']} ticks of a {TICK_MS} ms timer, max {d['late_max']:.0f} ms; "
                             f"{d['steps_per_s_probed']:.1f} steps/s meanwhile"))
    return rows


if __name__ == "__main__":
    if "--one" in sys.argv:
        ap = argparse.ArgumentParser()
        ap.add_argument("--one", required=True)
        ap.add_argument("--seconds", type=float, default=5.0)
        a = ap.parse_args()
        print(json.dumps(measure_one(a.one, a.seconds)))
    else:
        from benchmarks.run import topic_main

        topic_main(run)
