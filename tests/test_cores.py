"""Where the app's processes run on machines of 2–4 cores: the GUI on one core, what it starts on all."""
import os
import subprocess
import sys
import textwrap

import pytest

from otviz.util import cores

linux_only = pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity on this platform")


@pytest.fixture
def fake_affinity(monkeypatch):
    """A machine of `n` cores whose affinity calls are recorded instead of made."""
    calls = []

    def machine(n):
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: calls[-1] if calls else set(range(n)), raising=False)
        monkeypatch.setattr(os, "sched_setaffinity", lambda pid, cpus: calls.append(set(cpus)), raising=False)
        for var in (cores.ALL_CORES, "OTVIZ_PIN_WINDOW"):
            monkeypatch.setenv(var, "")           # restored (or removed) after the test, whoever sets it
            monkeypatch.delenv(var)
        return calls
    return machine


@pytest.mark.parametrize("n", [2, 3, 4])
def test_a_few_cores_keep_the_window_on_the_last_and_what_it_starts_on_all(fake_affinity, n):
    calls = fake_affinity(n)
    assert cores.keep_window_on_one_core() == n - 1
    with cores.every_core():                  # the window starting an encoder
        assert calls[-1] == set(range(n))
    cores.take_all_cores()                    # a worker started by the window
    assert calls == [{n - 1}, set(range(n)), {n - 1}, set(range(n))]


@pytest.mark.parametrize("n", [1, 8])
def test_one_core_or_many_pin_nothing(fake_affinity, n):
    calls = fake_affinity(n)
    assert cores.keep_window_on_one_core() is None
    cores.take_all_cores()
    with cores.every_core():
        pass
    assert calls == []


def test_pinning_can_be_turned_off(fake_affinity, monkeypatch):
    calls = fake_affinity(2)
    monkeypatch.setenv("OTVIZ_PIN_WINDOW", "0")
    assert cores.keep_window_on_one_core() is None
    assert calls == [] and cores.ALL_CORES not in os.environ


@pytest.fixture
def pid_affinity(monkeypatch):
    """A window pinned on a machine of `n` cores; affinity calls on other processes are recorded."""
    calls = []

    def machine(n):
        monkeypatch.setattr(os, "sched_setaffinity", lambda pid, cpus: calls.append((pid, set(cpus))), raising=False)
        monkeypatch.setenv(cores.ALL_CORES, ",".join(map(str, range(n))))
        return calls
    return machine


def test_two_runs_on_two_cores_take_turns_on_the_window_s_core(pid_affinity):
    calls = pid_affinity(2)
    assert cores.share_window_core(101, 202)
    assert calls == [(101, {1}), (202, {0})]           # 101 beside the window, 202 on the other core
    assert cores.share_window_core(202, 101)
    assert calls[2:] == [(202, {1}), (101, {0})]       # and the other way round
    cores.release_cores(101, 202)
    assert calls[4:] == [(101, {0, 1}), (202, {0, 1})]


@pytest.mark.parametrize("n", [3, 4])
def test_more_cores_leave_two_runs_to_the_scheduler(pid_affinity, n):
    calls = pid_affinity(n)
    assert not cores.share_window_core(101, 202)
    assert calls == []


def test_an_unpinned_window_shares_nothing(pid_affinity, monkeypatch):
    calls = pid_affinity(2)
    monkeypatch.delenv(cores.ALL_CORES)
    assert not cores.share_window_core(101, 202)
    cores.release_cores(101, 202)
    assert calls == []


def test_a_process_gone_is_not_an_error(pid_affinity, monkeypatch):
    pid_affinity(2)

    def gone(pid, cpus):
        raise ProcessLookupError(3, "No such process")
    monkeypatch.setattr(os, "sched_setaffinity", gone)
    assert cores.share_window_core(101, 202)        # still turns: the next has the worker that replaced it
    cores.release_cores(101)


PROBE = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path

    def main():
        allowed = sorted(os.sched_getaffinity(0))[:2]
        os.sched_setaffinity(0, allowed)            # a two-core machine, as far as this process knows
        from otviz.util.cores import keep_window_on_one_core
        assert keep_window_on_one_core() == allowed[1]
        from otviz.worker.pool import spawn_fields, spawn_worker
        worker, fields = spawn_worker(), spawn_fields()
        for h in (worker, fields):
            assert h.channel.recv()[0] == "ready"
        worker.channel.send("init", {"method": "coulomb", "seed": 0, "config": {
            "batch_size": 64, "samples_per_mode": 50, "n_show": 200, "heatmap_res": 16, "gmm_every": 0}})
        worker.channel.send("play")
        painter = []
        end = time.monotonic() + 60
        while not painter and time.monotonic() < end:
            while worker.channel.poll(0):
                worker.channel.recv()
            painter = [int(d.name) for d in Path("/proc").iterdir() if d.name.isdigit()
                       and _parent(d) == worker.pid]
            time.sleep(0.05)
        print("GUI", sorted(os.sched_getaffinity(0)))
        print("WORKER", sorted(os.sched_getaffinity(worker.pid)))
        print("FIELDS", sorted(os.sched_getaffinity(fields.pid)))
        print("PAINTER", sorted(os.sched_getaffinity(painter[0])) if painter else None)
        from otviz.worker.pool import stop_all
        stop_all([worker, fields])
        import imageio_ffmpeg, numpy as np
        from otviz.util.recording import AnimationWriter
        encoder = []
        real_writer = imageio_ffmpeg.write_frames
        def write_frames(*a, **k):
            gen = real_writer(*a, **k)
            def watched():
                frame = yield next(gen)      # ffmpeg has started: note where it may run
                encoder.extend(sorted(os.sched_getaffinity(int(d.name))) for d in Path("/proc").iterdir()
                               if d.name.isdigit() and _parent(d) == os.getpid() and "ffmpeg" in _name(d))
                while True:
                    frame = yield gen.send(frame)
            return watched()
        imageio_ffmpeg.write_frames = write_frames
        w = AnimationWriter(sys.argv[1], fps=10)
        w.add(np.zeros((32, 32, 3), np.uint8))
        w.close()
        print("ENCODER", encoder[0] if len(encoder) == 1 else encoder)
        print("GUI", sorted(os.sched_getaffinity(0)))

    def _parent(d):
        try:
            return int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return None

    def _name(d):
        try:
            return (d / "comm").read_text()
        except OSError:
            return ""

    if __name__ == "__main__":
        main()
""")


@linux_only
@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2 if hasattr(os, "sched_getaffinity") else True,
                    reason="needs two cores")
def test_the_window_keeps_to_one_core_and_its_workers_painters_helpers_and_encoder_use_both(tmp_path):
    """The real processes, started as the app starts them after pinning its window."""
    script = tmp_path / "probe.py"
    script.write_text(PROBE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTVIZ_")}
    p = subprocess.run([sys.executable, str(script), str(tmp_path / "a.gif")], capture_output=True, text=True,
                       timeout=240, env=env)
    assert p.returncode == 0, p.stderr[-2000:]
    got = [line.split(" ", 1) for line in p.stdout.splitlines() if line.split(" ", 1)[0].isupper()]
    both = str(sorted(os.sched_getaffinity(0))[:2])
    window = str(sorted(os.sched_getaffinity(0))[1:2])
    assert got == [["GUI", window], ["WORKER", both], ["FIELDS", both], ["PAINTER", both], ["ENCODER", both],
                   ["GUI", window]]
