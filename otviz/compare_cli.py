"""`otviz run METHOD --compare KEY=VALUE … | --preset NAME`: A and B trained headless, in one process
(a step of A, then one of B), their outputs holding both sides. The runs themselves are
otviz.session.compare's; this module reads the command line and writes the files."""
from __future__ import annotations

import sys
import time
from otviz.cli import EXIT_BAD_INPUT, EXIT_DIVERGED, ProgressBar, open_recording, parse_sets, run_output_jobs
from otviz.session.compare import b_session_path


def wants_compare(args) -> bool:
    return bool(getattr(args, "compare", None) or getattr(args, "preset", None))


def open_compare(args):
    """The Compare `otviz run` trains: A from the defaults with --set (and the preset's A side), B the
    same with the preset's B side and --compare; ValueError in one sentence if it cannot be had."""
    from otviz.methods import method_class
    from otviz.session.compare import Compare, parse_changes
    from otviz.util.output_paths import check_outputs

    if args.load or args.from_step is not None:
        raise ValueError("--compare and --preset start two new runs: they cannot continue a saved one (--load)")
    if args.steps < 0:
        raise ValueError("--steps must be 0 or more")
    base = parse_sets(method_class(args.method), args.set)
    b = parse_changes(args.method, args.compare or [])
    check_outputs({"--snapshot": args.snapshot, "--record": args.record, "--history": args.history,
                   "--save": args.save})
    if args.preset:
        return Compare.from_preset(args.method, args.preset, b, base, seed=args.seed, device=args.device)
    return Compare.start(args.method, b, base, seed=args.seed, device=args.device)


def cmd_compare(args) -> int:
    try:
        cmp = open_compare(args)
    except ValueError as e:
        print(f"otviz: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"{args.method} A | B: {cmp.describe()}")
    renderer = writer = None
    if args.snapshot or args.record:
        from otviz.gui.headless_compare import CompareRenderer

        renderer = CompareRenderer(cmp)
    try:
        writer = open_recording(args)
    except ValueError as e:
        print(f"otviz: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    code = train_both(args, cmp, renderer, writer)
    failed = write_outputs(args, cmp, renderer, writer)
    return code or failed


def train_both(args, cmp, renderer, writer) -> int:
    """args.steps steps of each side, a frame of both every --record-every steps; EXIT_DIVERGED if a
    side diverged (the outputs are written all the same), else 0."""
    from otviz.methods.base import Diverged

    every = args.record_every or max(1, args.steps // 100)
    bar = None if args.quiet else ProgressBar(args.steps)
    t0 = time.perf_counter()
    try:
        if writer is not None:
            renderer.draw()
            writer.add(renderer.frame())
        for i in range(1, args.steps + 1):
            cmp.step()
            if writer is not None and (i % every == 0 or i == args.steps):
                renderer.draw()
                writer.add(renderer.frame())
            if bar and (i == args.steps or i % max(1, args.steps // 200) == 0):
                bar(i, cmp.a.last_metrics)
    except Diverged as e:
        if bar:
            bar.close()
        print(f"otviz: {e}", file=sys.stderr)
        return EXIT_DIVERGED
    if bar:
        bar.close()
    dt = time.perf_counter() - t0
    print(f"{args.method} A | B: {args.steps} steps each in {dt:.2f} s "
          f"({2 * args.steps / max(dt, 1e-9):.1f} steps/s in all)")
    for label, s in cmp.sides:
        print(f"  {label}: " + "  ".join(f"{k}={v:.6g}" for k, v in s.last_metrics.items()))
    return 0


def write_outputs(args, cmp, renderer, writer) -> int:
    """Each requested output on its own (one that fails does not cost the others); EXIT_BAD_INPUT if
    any failed."""
    def record():
        writer.close()
        return f"recorded {writer.frames} frames of A | B to {args.record}"

    def snapshot():
        renderer.draw()
        renderer.save(args.snapshot, args.scale)
        return f"snapshot of A | B saved to {args.snapshot}"

    def history():
        cmp.to_csv(args.history)
        return f"history of A and B written to {args.history}"

    def save():
        from otviz.session.file import save_session

        save_session(args.save, cmp.a)
        save_session(b_session_path(args.save), cmp.b)
        return f"session A saved to {args.save}, B to {b_session_path(args.save)}"

    jobs = [(args.record, record if writer is not None else None), (args.snapshot, snapshot),
            (args.history, history), (args.save, save)]
    _written, failed = run_output_jobs(jobs, writer)
    return EXIT_BAD_INPUT if failed else 0
