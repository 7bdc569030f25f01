"""`otviz lesson`: list the shipped lessons, play one headless, or render it to a video for slides."""
from __future__ import annotations

import argparse
import sys
import time

EXIT_BAD_INPUT = 2
EXIT_UNMET = 4                  # the lesson played, but a step's condition did not hold


def add_parser(sub) -> argparse.ArgumentParser:
    lp = sub.add_parser("lesson", help="list the guided lessons, play one headless, or record it as a video")
    lp.add_argument("name", nargs="?", help="a lesson's name (see --list) or the path of a lesson file (.toml)")
    lp.add_argument("--list", action="store_true", help="list the shipped lessons")
    lp.add_argument("--record", metavar="FILE.mp4|gif|apng", help="render the whole lesson, captions and all")
    lp.add_argument("--fps", type=float, default=15.0, help="frame rate of the recording (default 15)")
    lp.add_argument("--device", default=argparse.SUPPRESS)
    lp.add_argument("--quiet", action="store_true", help="no progress bar")
    return lp


def cmd_lesson(args) -> int:
    from otviz.lessons.catalogue import find_lesson, lesson_paths
    from otviz.lessons.format import LessonError, load_lesson

    if args.list or not args.name:
        if not args.list:
            print("otviz: name a lesson, or --list them", file=sys.stderr)
            return EXIT_BAD_INPUT
        for path in lesson_paths():
            try:
                lesson = load_lesson(path)
            except LessonError as e:
                print(f"{path.stem:<22} (cannot be used: {e})")
                continue
            print(f"{lesson.name:<22} {lesson.method:<9} {len(lesson.steps)} steps, "
                  f"{lesson.total_steps():>5} training steps   {lesson.title}")
        return 0
    try:
        lesson = find_lesson(args.name)
        if args.record:
            from otviz.util.output_paths import check_outputs
            check_outputs({"--record": args.record})
        if not args.fps > 0:
            raise ValueError(f"--fps must be more than 0, not {args.fps:g}")
    except ValueError as e:                   # LessonError is one
        print(f"otviz: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return _play(args, lesson)


def _play(args, lesson) -> int:
    from otviz.cli import ProgressBar
    from otviz.lessons.runner import LessonRun, describe_outcomes

    device = getattr(args, "device", "cpu")
    total = lesson.total_steps()
    bar = None if args.quiet else ProgressBar(total)
    t0 = time.perf_counter()

    def progress(done: int, _total: int) -> None:
        if bar and (done == total or done % max(1, total // 200) == 0):
            bar(done, {})

    try:
        if args.record:
            from otviz.gui.lesson_video import record_lesson

            run, frames = record_lesson(lesson, args.record, fps=args.fps, device=device, progress=progress)
        else:
            run = LessonRun(lesson, device=device)

            def on_step(index: int, k: int) -> None:
                progress(sum(s.play for s in lesson.steps[:index]) + k, total)
            run.run(on_step)
    except (OSError, ValueError) as e:
        if bar:
            bar.close()
        raw = isinstance(e, OSError) and e.strerror
        print(f"otviz: cannot write {args.record}: {e.strerror.lower()}" if raw else f"otviz: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if bar:
        bar.close()
    elapsed = time.perf_counter() - t0
    for o in run.outcomes:
        step = lesson.steps[o.index]
        trained = f" (steps {o.start + 1}–{o.end})" if o.end > o.start else ""
        print(f"{o.index + 1}. {'ok' if o.ok else 'NOT MET'}{trained}  {' '.join(step.caption.split())[:90]}")
    if args.record:
        print(f"recorded {frames} frames to {args.record}")
    print(f"{lesson.name}: {len(lesson.steps)} steps in {elapsed:.1f} s")
    unmet = describe_outcomes(lesson, run.outcomes)
    for line in unmet:
        print(f"otviz: {line}", file=sys.stderr)
    return EXIT_UNMET if unmet else 0
