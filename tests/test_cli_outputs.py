"""Headless runs: outputs are checked before training, written each on its own at the end; the summary
counts this run's steps; offscreen rendering prints nothing of Qt's."""
import os
import shutil
import subprocess
import sys

import pytest

from otviz.cli import main
from otviz.session.session import Session

FAST = ["--set", "dataset=seed_rows", "--quiet"]


@pytest.fixture
def counted_steps(monkeypatch):
    calls = []
    step = Session.step

    def counting(self):
        calls.append(1)
        return step(self)

    monkeypatch.setattr(Session, "step", counting)
    return calls


@pytest.mark.parametrize("option, path, problem", [
    ("--snapshot", "/proc/nope/s.png", "the folder /proc/nope does not exist"),
    ("--snapshot", "{tmp}/s.jpg", "snapshots are .png or .svg"),
    ("--record", "{tmp}/r.avi", "recordings are .gif, .apng or .mp4"),
    ("--history", "{tmp}/h.txt", "histories are .csv files"),
    ("--history", "{tmp}/missing/h.csv", "the folder {tmp}/missing does not exist"),
    ("--save", "{tmp}/s.pt", "sessions are .otviz files"),
    ("--save", "{tmp}/dir.otviz", "it is a folder"),
])
def test_bad_output_is_refused_before_training(tmp_path, capsys, counted_steps, option, path, problem):
    (tmp_path / "dir.otviz").mkdir()
    path, problem = path.format(tmp=tmp_path), problem.format(tmp=tmp_path)
    others = {"--history": tmp_path / "ok.csv", "--save": tmp_path / "ok.otviz"}
    others.pop(option, None)
    args = ["run", "sinkhorn", "--steps", "50", option, path] + FAST
    for opt, p in others.items():
        args += [opt, str(p)]
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2 and not counted_steps                # refused, and not one step trained
    assert err == f"otviz: cannot write {path} ({option}): {problem}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir.otviz"]    # no output, no probe left


def test_unwritable_folder_is_refused_before_training(tmp_path, capsys, counted_steps, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    if os.geteuid() == 0:                  # root writes into read-only folders: refuse as the OS would
        import otviz.util.output_paths as op

        def refused(*a, dir=None, **k):
            raise PermissionError(13, "Permission denied")
        monkeypatch.setattr(op.tempfile, "mkstemp", refused)
    try:
        code = main(["run", "sinkhorn", "--steps", "5", "--history", str(ro / "h.csv")] + FAST)
    finally:
        ro.chmod(0o755)
    assert code == 2 and not counted_steps
    assert "is not writable" in capsys.readouterr().err


def test_one_file_for_two_outputs_is_refused(tmp_path, capsys, counted_steps):
    p = tmp_path / "x.png"
    code = main(["run", "sinkhorn", "--steps", "5", "--snapshot", str(p), "--record", str(p)] + FAST)
    assert code == 2 and not counted_steps
    assert "named for both --snapshot and --record" in capsys.readouterr().err


def test_a_write_failing_at_the_end_does_not_cost_the_others(tmp_path, capsys, monkeypatch):
    gone = tmp_path / "gone"
    gone.mkdir()
    step = Session.step

    def step_then_lose_the_folder(self):
        m = step(self)
        if self.step_count == 4:
            shutil.rmtree(gone)            # e.g. a removable disk unplugged during the run
        return m

    monkeypatch.setattr(Session, "step", step_then_lose_the_folder)
    h, s = tmp_path / "h.csv", tmp_path / "s.otviz"
    code = main(["run", "sinkhorn", "--steps", "4", "--snapshot", str(gone / "s.png"), "--history", str(h),
                 "--save", str(s)] + FAST)
    out, err = capsys.readouterr()
    assert code == 2
    assert h.read_text().count("\n") == 5 and s.stat().st_size > 0     # both written all the same
    assert f"history written to {h}" in out and f"session saved to {s}" in out
    assert f"cannot write {gone / 's.png'}" in err and "does not exist" in err
    assert err.splitlines()[-1] == f"otviz: written: {h}, {s}; failed: {gone / 's.png'}"


def test_summary_after_load_counts_this_runs_steps(tmp_path, capsys):
    s = tmp_path / "s.otviz"
    assert main(["run", "sinkhorn", "--steps", "7", "--save", str(s)] + FAST) == 0
    capsys.readouterr()
    assert main(["run", "sinkhorn", "--load", str(s), "--steps", "3", "--quiet"]) == 0
    summary = capsys.readouterr().out.splitlines()[0]
    assert summary.startswith("sinkhorn: 3 steps in ") and "steps/s, now at step 10)" in summary
    rate = float(summary.split("(")[1].split(" steps/s")[0])
    secs = float(summary.split(" steps in ")[1].split(" s ")[0])
    assert rate == pytest.approx(3 / secs, rel=0.2) if secs >= 0.05 else rate > 0


def test_headless_snapshot_prints_no_qt_noise(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    r = subprocess.run([sys.executable, "-m", "otviz", "run", "sinkhorn", "--steps", "2", "--snapshot",
                        str(tmp_path / "s.png")] + FAST, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and (tmp_path / "s.png").stat().st_size > 0
    assert r.stderr == "", r.stderr


def test_other_qt_messages_still_pass(tmp_path):
    code = ("from otviz.gui.headless import ensure_app, OFFSCREEN_NOISE\n"
            "from PySide6 import QtCore\n"
            "app = ensure_app()\n"
            "QtCore.qWarning(OFFSCREEN_NOISE)\n"
            "QtCore.qWarning('a real warning')\n")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stderr == "a real warning\n"
