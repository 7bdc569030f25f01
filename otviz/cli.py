"""The `otviz` command: open the window, or run a method headless with a terminal progress bar."""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time

EXIT_BAD_INPUT = 2
EXIT_DIVERGED = 3
EXIT_NO_DISPLAY = 1


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="otviz", description="Watch optimal-transport and generative-model "
                                "training live on 2-D data. With no command, opens the window.")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--device", default="cpu", help="torch device: cpu, cuda or mps (default cpu)")
    p.add_argument("--self-test", action="store_true",
                   help="check the installation: train every tab a few steps offscreen, export a snapshot, exit")
    sub = p.add_subparsers(dest="command")
    r = sub.add_parser("run", help="train a method headless (no window)")
    from otviz.methods import method_names      # the registry alone: no torch before a method is chosen

    names = method_names()
    r.add_argument("method", help=f"{', '.join(names[:-1])} or {names[-1]}")
    r.add_argument("--steps", type=int, required=True, help="number of training steps")
    r.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="set a parameter (repeatable); `otviz params METHOD` lists them")
    r.add_argument("--seed", type=int, default=argparse.SUPPRESS)
    r.add_argument("--device", default=argparse.SUPPRESS)
    r.add_argument("--history", metavar="FILE.csv", help="write the metric history to a CSV file")
    r.add_argument("--snapshot", metavar="FILE.png|svg", help="render the views at the end to PNG or SVG")
    r.add_argument("--scale", type=float, default=2.0, help="PNG size as a multiple of 1280×800 (default 2)")
    r.add_argument("--record", metavar="FILE.mp4|gif|apng", help="record the views as an animation")
    r.add_argument("--record-every", type=int, default=0, metavar="N",
                   help="one frame every N steps (default: about 100 frames in all)")
    r.add_argument("--fps", type=float, default=15.0, help="frame rate of the recording (default 15)")
    r.add_argument("--save", metavar="FILE.otviz", help="save the session at the end (reopen with `otviz open`)")
    r.add_argument("--load", metavar="FILE.otviz", help="continue from a saved session instead of starting anew")
    r.add_argument("--from-step", type=int, metavar="K",
                   help="with --load: go back to step K of the saved run and continue from there as a new "
                        "branch, with the --set changes (--history then holds the steps before K too)")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.add_argument("--compare", action="append", default=[], metavar="KEY=VALUE",
                   help="A | B: train a second run B beside this one (same data and seed) with this parameter "
                        "changed (repeatable); --history, --snapshot, --record and --save then hold both")
    r.add_argument("--preset", metavar="NAME", help="A | B: one of the method's contrasts (e.g. clip-vs-gp), "
                                                   "optionally with --compare changes to B on top")
    pp = sub.add_parser("params", help="list a method's parameters, ranges and help")
    pp.add_argument("method")
    op = sub.add_parser("open", help="open a saved session in the window")
    op.add_argument("session")
    from otviz.lessons.command import add_parser as add_lesson_parser
    add_lesson_parser(sub)
    return p


def parse_sets(method_cls, items: list[str]) -> dict:
    """`key=value` strings into validated, typed config values (ValueError with the reason)."""
    changes = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"--set {item!r}: expected KEY=VALUE")
        k, v = item.split("=", 1)
        changes[k.strip()] = method_cls.spec(k.strip()).coerce(v)
    return changes


def make_method(name: str, sets: list[str], seed: int, device: str):
    from otviz.methods import method_class

    cls = method_class(name)
    changes = parse_sets(cls, sets)
    cfg = dataclasses.replace(cls.Config(), **changes)
    return cls(cfg, seed=seed, device=device)


class ProgressBar:
    def __init__(self, total: int, stream=sys.stderr, width: int = 30):
        self.total, self.stream, self.width = total, stream, width
        self.t0 = time.perf_counter()

    def __call__(self, done: int, metrics: dict[str, float]) -> None:
        frac = done / max(self.total, 1)
        bar = "#" * int(frac * self.width) + "." * (self.width - int(frac * self.width))
        rate = done / max(time.perf_counter() - self.t0, 1e-9)
        m = "  ".join(f"{k} {v:.4g}" for k, v in list(metrics.items())[:3])
        self.stream.write(f"\r[{bar}] {done}/{self.total}  {rate:.1f} steps/s  {m}  ")
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\n")


def open_session(args):
    """The session `otviz run` trains: loaded (--load) or new, with the --set changes; ValueError if it
    or any requested output cannot be had."""
    from otviz.session.session import Session

    fork = None
    if args.from_step is not None and not args.load:
        raise ValueError("--from-step needs --load: the saved run to go back into")
    if args.load:
        from otviz.session.file import load_session

        session, _ = load_session(args.load, device=getattr(args, "device", None))
        if session.method.name != args.method:
            raise ValueError(f"{args.load}: a {session.method.name} session, not {args.method}")
        if args.from_step is not None:
            first, last = session.timeline.first_step(), session.step_count
            if not first <= args.from_step <= last:
                held = f"steps {first} to {last}" if first < last else f"step {last} only"
                raise ValueError(f"--from-step {args.from_step}: {args.load} holds {held}")
            fork = parse_sets(type(session.method), args.set)
        elif args.set:
            session.update(parse_sets(type(session.method), args.set))
    else:
        session = Session(make_method(args.method, args.set, args.seed, args.device))
    if args.steps < 0:
        raise ValueError("--steps must be 0 or more")
    # every output is checked before training: a refusal after an hour's run loses the hour
    from otviz.util.output_paths import check_outputs
    check_outputs({"--snapshot": args.snapshot, "--record": args.record, "--history": args.history,
                   "--save": args.save})
    if fork is not None:          # (after the checks: going back replays steps)
        session.fork(args.from_step, fork)
    return session


def cmd_run(args) -> int:
    from otviz.compare_cli import cmd_compare, wants_compare

    if wants_compare(args):
        return cmd_compare(args)
    try:
        session = open_session(args)
    except ValueError as e:
        print(f"otviz: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    renderer = writer = every = None
    if args.snapshot or args.record:
        from otviz.gui.headless import HeadlessRenderer

        renderer = HeadlessRenderer(session)
    try:
        writer = open_recording(args)
    except ValueError as e:
        print(f"otviz: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if writer is not None:
        every = args.record_every or max(1, args.steps // 100)
    code = train(args, session, renderer, writer, every)
    failed = write_outputs(args, session, renderer, writer)
    return code or failed


def train(args, session, renderer, writer, every: int | None) -> int:
    """args.steps steps with a progress bar (unless --quiet), a frame recorded every `every` steps, and a
    summary line; EXIT_DIVERGED if the method diverged, else 0."""
    from otviz.methods.base import Diverged

    method = session.method
    bar = None if args.quiet else ProgressBar(args.steps)
    code = 0
    first_step = session.step_count        # a loaded session starts where it was saved
    t0 = time.perf_counter()

    def on_step(i: int) -> None:
        if writer is not None and (i % every == 0 or i == args.steps):
            renderer.draw()
            writer.add(renderer.frame())

    try:
        if writer is not None:
            renderer.draw()
            writer.add(renderer.frame())
        for i in range(1, args.steps + 1):
            session.step()
            on_step(i)
            if bar and (i == args.steps or i % max(1, args.steps // 200) == 0):
                bar(i, session.last_metrics)
    except Diverged as e:
        code = EXIT_DIVERGED
        if bar:
            bar.close()
            bar = None
        print(f"otviz: {e}", file=sys.stderr)
    if bar:
        bar.close()
    elapsed = time.perf_counter() - t0
    if code == 0:
        done = session.step_count - first_step
        m = "  ".join(f"{k}={v:.6g}" for k, v in session.last_metrics.items())
        at = f", now at step {session.step_count}" if first_step else ""
        print(f"{method.name}: {done} steps in {elapsed:.2f} s ({done / max(elapsed, 1e-9):.1f} steps/s{at})  {m}")
    return code


def write_outputs(args, session, renderer, writer) -> int:
    """Write every requested output, each on its own: one that fails does not cost the others.
    Lists what was written and what failed; EXIT_BAD_INPUT if anything failed, else 0."""
    def record():
        writer.close()
        return f"recorded {writer.frames} frames to {args.record}"

    def snapshot():
        renderer.draw()
        renderer.save(args.snapshot, args.scale)
        return f"snapshot saved to {args.snapshot}"

    def history():
        session.history.to_csv(args.history)
        return f"history written to {args.history}"

    def save():
        from otviz.session.file import save_session

        save_session(args.save, session)
        return f"session saved to {args.save}"

    jobs = [(args.record, record if writer is not None else None), (args.snapshot, snapshot),
            (args.history, history), (args.save, save)]
    written, failed = run_output_jobs(jobs, writer)
    if not failed:
        return 0
    print(f"otviz: written: {', '.join(written) or 'nothing'}; failed: {', '.join(failed)}", file=sys.stderr)
    return EXIT_BAD_INPUT


def run_output_jobs(jobs, writer) -> tuple[list[str], list[str]]:
    """Run each (path, job) whose path was asked for, printing what it says or why it failed; the
    recording is aborted at the end unless its job closed it. Returns (written, failed) paths."""
    written, failed = [], []
    try:
        for path, job in jobs:
            if not path or job is None:
                continue
            try:
                print(job())
                written.append(path)
            except (OSError, ValueError) as e:
                # the OS's own errors come as "[Errno 28] ...: '/tmp/.x.1a2b.tmp'": say it plainly
                raw = isinstance(e, OSError) and e.strerror
                print(f"otviz: cannot write {path}: {e.strerror.lower()}" if raw else f"otviz: {e}", file=sys.stderr)
                failed.append(path)
    finally:
        if writer is not None:
            writer.abort()
    return written, failed


def open_recording(args):
    """The animation writer for --record (None without it); ValueError in one sentence if it cannot be opened."""
    if not args.record:
        return None
    from otviz.util.recording import AnimationWriter

    try:
        return AnimationWriter(args.record, fps=args.fps)
    except OSError as e:
        raise ValueError(str(e)) from None


def cmd_params(args) -> int:
    from otviz.methods import method_class

    try:
        cls = method_class(args.method)
    except ValueError as e:
        print(f"otviz: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for s in cls.specs():
        rng = f" [{s.lo:g}, {s.hi:g}]" if s.lo is not None and s.hi is not None else ""
        ch = f" {{{', '.join(map(str, s.choices))}}}" if s.choices else ""
        print(f"{s.name} = {s.default!r}{rng}{ch}{'' if s.live else '  (restart)'}\n    {s.help}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from otviz.core.runtime import configure_process, tune_allocator

    if args.command in ("run", "params", "lesson") or args.self_test:
        configure_process()
    else:
        tune_allocator()            # the window's process never imports torch: its workers do
    if args.self_test:
        from otviz.selftest import run_self_test
        return run_self_test()
    if args.command == "run":
        return cmd_run(args)
    if args.command == "params":
        return cmd_params(args)
    if args.command == "lesson":
        from otviz.lessons.command import cmd_lesson
        return cmd_lesson(args)
    if args.command == "open" and not os.path.isfile(args.session):
        print(f"otviz: {os.path.basename(args.session)}: no such session file", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.device.strip().lower().split(":")[0] not in ("cpu", "cuda", "mps"):
        print(f"otviz: unknown device {args.device!r} (choose from cpu, cuda, mps)", file=sys.stderr)
        return EXIT_BAD_INPUT
    # (whether the device is available is decided by the training processes: the window never
    # initialises a GPU; a tab refuses an unavailable one with the reason and trains on the CPU)
    # before any QApplication: without a display or X's libraries Qt aborts with a misleading text
    from otviz.gui.display_check import display_problem
    problem = display_problem()
    if problem:
        print(f"otviz: {problem}", file=sys.stderr)
        return EXIT_NO_DISPLAY
    from otviz.gui.app import run_app
    return run_app(seed=args.seed, device=args.device, session=getattr(args, "session", None))


if __name__ == "__main__":
    raise SystemExit(main())
