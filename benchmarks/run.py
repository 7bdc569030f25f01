"""Run the benchmark suite: every topic in its own process, then one table of times, ratios and targets.

    python -m benchmarks                 # everything (a few minutes on 2 cores)
    python -m benchmarks --quick         # fewer repeats, shorter runs
    python -m benchmarks --only redraw,sinkhorn --json results.json
    python -m benchmarks --coulomb-modes # also train Coulomb GAN until 24/25 modes (minutes)
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):                  # `python benchmarks/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import Row, load_average, print_table  # noqa: E402

TOPICS = {
    "redraw": "benchmarks.redraw",
    "gui": "benchmarks.gui_live",
    "sinkhorn": "benchmarks.sinkhorn_bench",
    "swgmm": "benchmarks.swgmm_bench",
    "coulomb": "benchmarks.coulomb_bench",
    "scaling": "benchmarks.scaling",
    "timeline": "benchmarks.timeline_bench",
    "yardstick": "benchmarks.yardstick_bench",
}
ROOT = Path(__file__).resolve().parents[1]


def topic_main(run) -> None:
    """Entry point of a topic module run as a process: rows as JSON to --out, a table on stdout."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default="")
    ap.add_argument("--flag", action="append", default=[], help="topic-specific switches")
    args = ap.parse_args()
    from otviz.core.runtime import configure_process

    configure_process()                      # what the app and the CLI do: one torch thread, the allocator
    kwargs = {"quick": args.quick}
    if args.flag:
        kwargs["flags"] = set(args.flag)
    rows = run(**kwargs)
    print_table(rows)
    if args.out:
        Path(args.out).write_text(json.dumps([r.as_dict() for r in rows]))


def run_topic(name: str, quick: bool, flags: list[str], timeout: float) -> tuple[list[Row], str]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rows.json"
        cmd = [sys.executable, "-m", TOPICS[name], "--out", str(out)] + (["--quick"] if quick else [])
        for f in flags:
            cmd += ["--flag", f]
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT) + os.pathsep
                   + os.environ.get("PYTHONPATH", ""))
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(cmd, cwd=ROOT, env=env, timeout=timeout, capture_output=True, text=True)
        except subprocess.TimeoutExpired:
            return [Row(name, "topic did not finish", timeout, "s", ok=False, note="timed out")], ""
        dt = time.perf_counter() - t0
        log = proc.stdout + proc.stderr
        if proc.returncode != 0 or not out.exists():
            tail = " | ".join(log.strip().splitlines()[-3:])
            return [Row(name, f"topic failed (exit {proc.returncode})", dt, "s", ok=False, note=tail)], log
        rows = [Row(**d) for d in json.loads(out.read_text())]
        return rows, log


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default="", help=f"comma-separated topics: {', '.join(TOPICS)}")
    ap.add_argument("--quick", action="store_true", help="fewer repeats and shorter runs")
    ap.add_argument("--coulomb-modes", action="store_true",
                    help="also train Coulomb GAN until 24 of 25 modes are captured (takes minutes)")
    ap.add_argument("--no-pot", action="store_true", help="skip POT's sinkhorn_log (about a minute at eps 0.01)")
    ap.add_argument("--json", default="", help="write every row to this JSON file")
    ap.add_argument("--verbose", action="store_true", help="print each topic's own output")
    args = ap.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(TOPICS)
    unknown = [n for n in names if n not in TOPICS]
    if unknown:
        ap.error(f"unknown topic(s) {', '.join(unknown)}; choose from {', '.join(TOPICS)}")

    import torch

    la = load_average()
    print(f"otviz benchmarks · {platform.node()} · {os.cpu_count()} cores · Python {platform.python_version()}"
          f" · torch {torch.__version__} (1 thread) · load average at start {la[0]:.2f} {la[1]:.2f} {la[2]:.2f}")
    all_rows: list[Row] = []
    t_start = time.perf_counter()
    for name in names:
        flags = []
        if name == "coulomb" and args.coulomb_modes:
            flags.append("modes")
        if name == "sinkhorn" and args.no_pot:
            flags.append("no-pot")
        timeout = 1800 if flags else 900
        t0 = time.perf_counter()
        print(f"\n[{name}] running (load {load_average()[0]:.2f}) ...", flush=True)
        rows, log = run_topic(name, args.quick, flags, timeout)
        if args.verbose and log:
            print(log)
        print_table(rows, f"{name} ({time.perf_counter() - t0:.0f} s)")
        all_rows += rows
    la = load_average()
    total = time.perf_counter() - t_start
    print_table(all_rows, f"summary ({total:.0f} s; load average at the end {la[0]:.2f} {la[1]:.2f} {la[2]:.2f})")
    missed = [r for r in all_rows if r.ok is False]
    print(f"\n{sum(r.ok is True for r in all_rows)} targets met, {len(missed)} missed"
          + (": " + "; ".join(f"{r.topic} / {r.what}" for r in missed) if missed else ""))
    if args.json:
        Path(args.json).write_text(json.dumps({"load_start": load_average(), "rows": [r.as_dict() for r in all_rows]},
                                              indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
