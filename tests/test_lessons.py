"""Guided lessons: every shipped one loads and plays headless to its end with its conditions met; a
malformed file is refused with its name and the reason; `otviz lesson` lists and plays them."""
from __future__ import annotations

import pytest

from otviz.cli import main
from otviz.lessons.catalogue import find_lesson, lesson_names, lesson_paths
from otviz.lessons.format import LessonError, load_lesson
from otviz.lessons.runner import LessonRun, describe_outcomes
from otviz.methods import BUILT_IN

SHIPPED = [p.stem for p in lesson_paths()]


def test_every_built_in_method_has_a_lesson():
    methods = {load_lesson(p).method for p in lesson_paths()}
    assert methods == {info.name for info in BUILT_IN}
    assert len(SHIPPED) >= 5


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_lesson_plays_to_its_end_with_its_conditions_met(name):
    lesson = find_lesson(name)
    run = LessonRun(lesson)
    outcomes = run.run()
    assert [o.index for o in outcomes] == list(range(len(lesson.steps)))
    assert describe_outcomes(lesson, outcomes) == []
    for step, o in zip(lesson.steps, outcomes):
        assert o.played <= step.play
        if step.play and step.until is None and not o.diverged:
            assert o.played == step.play and o.end - o.start == step.play
        if step.reset:
            assert o.start == 0


def test_swgmm_lesson_tells_the_directions_story_in_numbers():
    lesson = find_lesson("swgmm_directions")
    run = LessonRun(lesson)
    nll = []
    for i in range(3):
        run.play_step(i)
        nll.append(run.session.last_metrics["nll"])
        assert run.session.method.config.directions == 0
    assert nll[0] > nll[1] > nll[2]          # x only, then x + y, then with the diagonals


def test_realnvp_lesson_diverges_without_tanh_and_learns_with_it():
    lesson = find_lesson("realnvp_tanh")
    run = LessonRun(lesson)
    first = run.play_step(0)
    assert first.diverged and "NaN/Inf" in first.diverged and first.ok and first.played < 200
    assert run.session.method.config.tanh_s is False
    second = run.play_step(1)
    assert second.ok and not second.diverged and second.end == 300 and run.session.method.config.tanh_s


def test_an_unmet_condition_is_reported(tmp_path):
    p = tmp_path / "too_much.toml"
    p.write_text('title = "t"\nmethod = "swgmm"\n[[step]]\ncaption = "c"\nplay = 3\n'
                 'expect = [{ metric = "nll", below = 0.001 }]\n'
                 '[[step]]\ncaption = "d"\nplay = 4\nuntil = { metric = "sw", above = 1e9 }\n')
    lesson = load_lesson(p)
    outcomes = LessonRun(lesson).run()
    lines = describe_outcomes(lesson, outcomes)
    assert len(lines) == 2
    assert lines[0].startswith("too_much step 1: expected nll < 0.001, it is ")
    assert "until sw > 1e+09 (not within 4 steps)" in lines[1]
    assert outcomes[1].played == 4 and outcomes[1].end == 7


BAD = {
    "not toml": ('title = "x\n', "not valid TOML"),
    "no steps": ('title = "x"\nmethod = "swgmm"\n', "a lesson needs at least one [[step]]"),
    "unknown method": ('title = "x"\nmethod = "nosuch"\n[[step]]\ncaption = "c"\n', "unknown method 'nosuch'"),
    "unknown key": ('title = "x"\nmethod = "swgmm"\ncolour = 1\n[[step]]\ncaption = "c"\n', "unknown key 'colour'"),
    "no caption": ('title = "x"\nmethod = "swgmm"\n[[step]]\nplay = 3\n', "step 1 needs a caption"),
    "bad value": ('title = "x"\nmethod = "sinkhorn"\n[[step]]\ncaption = "c"\nset = { eps = -1 }\n',
                  "step 1: set: eps: must be at least 0.001, got -1"),
    "bad parameter": ('title = "x"\nmethod = "swgmm"\n[config]\nfoo = 1\n[[step]]\ncaption = "c"\n',
                      "[config]: swgmm has no parameter 'foo'"),
    "bad play": ('title = "x"\nmethod = "swgmm"\n[[step]]\ncaption = "c"\nplay = -2\n', "step 1: play must be"),
    "until without play": ('title = "x"\nmethod = "swgmm"\n[[step]]\ncaption = "c"\n'
                           'until = { metric = "nll", below = 1 }\n', "until needs play"),
    "unknown metric": ('title = "x"\nmethod = "swgmm"\n[[step]]\ncaption = "c"\nplay = 1\n'
                       'until = { metric = "loss", below = 1 }\n', "swgmm records no metric 'loss'"),
    "unknown field": ('title = "x"\nmethod = "sinkhorn"\n[[step]]\ncaption = "c"\n'
                      'expect = { field = "colour", above = 1 }\n', "the sinkhorn snapshot has no field 'colour'"),
    "two comparisons": ('title = "x"\nmethod = "swgmm"\n[[step]]\ncaption = "c"\nplay = 1\n'
                        'expect = { metric = "nll", below = 1, above = 0 }\n', "a condition is"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_malformed_lesson_is_refused_with_its_file_name_and_the_reason(tmp_path, case):
    text, reason = BAD[case]
    p = tmp_path / "broken_lesson.toml"
    p.write_text(text)
    with pytest.raises(LessonError) as e:
        load_lesson(p)
    msg = str(e.value)
    assert msg.startswith("broken_lesson.toml: ") and reason in msg
    assert "Traceback" not in msg and "\n" not in msg


def test_cli_lists_plays_and_refuses(tmp_path, capsys):
    assert main(["lesson", "--list"]) == 0
    out = capsys.readouterr().out
    for name in lesson_names():
        assert name in out
    assert main(["lesson", "nosuch"]) == 2
    assert "no lesson named 'nosuch'" in capsys.readouterr().err
    assert main(["lesson", "swgmm_directions", "--record", str(tmp_path / "x.txt")]) == 2
    assert "recordings are .gif" in capsys.readouterr().err
    assert main(["lesson", "swgmm_directions", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.count(". ok") == 4 and "NOT MET" not in out
    bad = tmp_path / "fails.toml"
    bad.write_text('title = "t"\nmethod = "swgmm"\n[[step]]\ncaption = "c"\nplay = 2\n'
                   'expect = { metric = "nll", below = 0.001 }\n')
    assert main(["lesson", str(bad), "--quiet"]) == 4
    captured = capsys.readouterr()
    assert "NOT MET" in captured.out and "fails step 1: expected nll < 0.001" in captured.err
