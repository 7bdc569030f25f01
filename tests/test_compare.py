"""A | B headless: two runs of one method side by side, their CSV, the presets, refusals in one sentence."""
import csv
import dataclasses
import io

import numpy as np
import pytest

from otviz.cli import main
from otviz.methods import method_class, method_names
from otviz.session.compare import PRESETS, Compare, differences, find_preset, parse_changes
from tests.test_timeline import assert_same_state

SMALL = {"swgmm": {}, "wgan": {"batch_size": 64, "heatmap_res": 16, "n_show": 200, "w2_every": 4},
         "sinkhorn": {"n_points": 20}, "realnvp": {"batch_size": 64, "n_data": 400, "hidden": 32, "w2_every": 4},
         "coulomb": {"batch_size": 64, "samples_per_mode": 50, "n_show": 200, "heatmap_res": 16, "gmm_every": 0,
                     "w2_every": 4}}


def columns(text: str) -> dict[str, list[str]]:
    rows = list(csv.reader(io.StringIO(text)))
    return {name: [r[i] for r in rows[1:]] for i, name in enumerate(rows[0])}


@pytest.mark.parametrize("name", ["swgmm", "wgan", "sinkhorn", "realnvp", "coulomb"])
def test_a_compare_with_nothing_changed_is_two_identical_runs(name):
    cmp = Compare.start(name, {}, SMALL[name], seed=4)
    assert cmp.differences() == {} and cmp.describe() == "A and B are the same run"
    for _ in range(9):
        a, b = cmp.step()
        assert a == b
    assert_same_state(cmp.a.method.state_dict(), cmp.b.method.state_dict())
    cols = columns(cmp.history_csv_text())
    assert cols["step"] == [str(i) for i in range(1, 10)]
    for metric in method_class(name).metrics:
        assert cols[f"A.{metric}"] == cols[f"B.{metric}"]
    assert set(cols["changes"]) == {""}


def test_the_csv_holds_both_sides_and_says_which_side_changed(tmp_path):
    cmp = Compare.start("sinkhorn", {"eps": 1.0}, {"n_points": 20}, seed=1)
    assert cmp.differences() == {"eps": (0.1, 1.0)} and cmp.describe() == "A: eps=0.1; B: eps=1"
    for i in range(6):
        cmp.step()
        if i == 2:
            cmp.update("B", {"lr": 0.05})
            cmp.update("A", {"max_iter": 400})
    path = tmp_path / "h.csv"
    cmp.to_csv(str(path))
    text = path.read_text()
    cols = columns(text)
    assert list(cols) == ["step", "A.cost", "A.divergence", "B.cost", "B.divergence", "changes"]
    assert cols["step"] == [str(i) for i in range(7)]
    assert cols["changes"][0] == "A: eps=0.1; B: eps=1"                  # as they started
    assert cmp.describe() == "A: eps=0.1, max_iter=400, lr=0.1; B: eps=1, max_iter=5000, lr=0.05"
    assert cols["changes"][3] == "A: max_iter=400; B: lr=0.05"
    assert cols["A.cost"][0] == "" and cols["A.cost"][1] != cols["B.cost"][1]
    with pytest.raises(ValueError, match="side 'C'"):
        cmp.update("C", {"lr": 1.0})
    assert cmp.update("B", {"n_points": 10})                 # restarts B, and A with it
    assert cmp.a.step_count == cmp.b.step_count == 0 and len(cmp.b.method.x) == 10
    assert columns(cmp.history_csv_text())["changes"] == ["A: n_points=20, eps=0.1, max_iter=400, lr=0.1; "
                                                          "B: n_points=10, eps=1, max_iter=5000, lr=0.05"]


def test_b_may_change_parameters_that_restart_a_run():
    cmp = Compare.start("realnvp", {"n_flows": 2}, SMALL["realnvp"], seed=0)
    assert cmp.differences() == {"n_flows": (4, 2)}
    assert len(cmp.a.method.flow.layers) == 4 and len(cmp.b.method.flow.layers) == 2
    # the same data and seed: the training points are the same on both sides
    assert np.array_equal(cmp.a.method.x_train.numpy(), cmp.b.method.x_train.numpy())


@pytest.mark.parametrize("method", sorted(PRESETS))
def test_a_preset_sets_exactly_what_it_names_and_validates(method):
    assert method in method_names()
    cls = method_class(method)
    defaults = cls.Config()
    for p in PRESETS[method]:
        for side in (p.a, p.b):
            assert side and all(cls.spec(k).coerce(v) == v for k, v in side.items())
        cmp = Compare.from_preset(method, p.key, base=SMALL[method])
        base = dataclasses.replace(defaults, **SMALL[method])
        for (label, s), named in zip(cmp.sides, (p.a, p.b)):
            changed = differences(base, s.method.config)
            assert set(changed) <= set(named), (label, changed)          # nothing it does not name
            assert all(getattr(s.method.config, k) == v for k, v in named.items())
        assert set(cmp.differences()) == {k for k in {**p.a, **p.b} if p.a.get(k) != p.b.get(k)}
        assert find_preset(method, p.title.upper()) is p


def test_every_seeded_contrast_has_its_preset():
    titles = {p.title for ps in PRESETS.values() for p in ps}
    assert titles == {"Coulomb vs plain GAN", "WGAN clip vs GP", "Sinkhorn ε 0.01 vs 1",
                      "SW-GMM x+y vs x+y+diagonals", "RealNVP 2 vs 8 coupling layers"}
    assert PRESETS["realnvp"][0].a == {"n_flows": 2} and PRESETS["realnvp"][0].b == {"n_flows": 8}


@pytest.mark.parametrize("items, sentence", [
    (["lr"], "--compare 'lr': expected KEY=VALUE"),
    (["=3"], "--compare '=3': expected KEY=VALUE"),
    (["nope=1"], "--compare 'nope=1': wgan has no parameter 'nope'"),
    (["lr=abc"], "--compare 'lr=abc': lr: 'abc' is not a number"),
    (["mode=wgan"], "--compare 'mode=wgan': mode: 'wgan' is not one of clip, gp, gan"),
])
def test_bad_compare_input_is_refused_in_one_sentence(items, sentence, capsys):
    with pytest.raises(ValueError, match=sentence.replace("(", r"\(")):
        parse_changes("wgan", items)
    assert main(["run", "wgan", "--steps", "3", "--quiet", *sum((["--compare", i] for i in items), [])]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"otviz: {sentence}") and "\n" not in err and "Traceback" not in err


@pytest.mark.parametrize("args, sentence", [
    (["--preset", "nope"], "--preset 'nope': wgan has the presets clip-vs-gp"),
    (["--compare", "lr=0.001", "--load", "x.otviz"], "--compare and --preset start two new runs"),
    (["--compare", "batch_size=100000"], "batch_size: must be at most"),
])
def test_bad_compare_runs_are_refused_in_one_sentence(args, sentence, capsys):
    assert main(["run", "wgan", "--steps", "3", "--quiet", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("otviz: ") and sentence in err and "\n" not in err


def test_cli_compare_with_nothing_changed_writes_two_identical_runs(tmp_path, capsys):
    path = tmp_path / "h.csv"
    args = ["run", "sinkhorn", "--steps", "6", "--seed", "3", "--quiet", "--set", "n_points=20",
            "--compare", "eps=0.1", "--history", str(path)]                 # 0.1: the default, so no change
    assert main(args) == 0
    assert "A and B are the same run" in capsys.readouterr().out
    cols = columns(path.read_text())
    assert list(cols) == ["step", "A.cost", "A.divergence", "B.cost", "B.divergence", "changes"]
    assert cols["A.cost"] == cols["B.cost"] and cols["A.divergence"] == cols["B.divergence"]
    assert len(cols["step"]) == 6 and set(cols["changes"]) == {""}
    # and A is the very run `otviz run` makes alone
    single = tmp_path / "single.csv"
    assert main(["run", "sinkhorn", "--steps", "6", "--seed", "3", "--quiet", "--set", "n_points=20",
                 "--history", str(single)]) == 0
    assert columns(single.read_text())["cost"] == cols["A.cost"]


def test_cli_preset_writes_both_sides_everywhere(tmp_path, capsys):
    out = {k: tmp_path / f"ab.{k}" for k in ("csv", "png", "gif", "otviz")}
    assert main(["run", "sinkhorn", "--steps", "4", "--quiet", "--set", "n_points=12", "--preset", "eps-0.01-vs-1",
                 "--history", str(out["csv"]), "--snapshot", str(out["png"]), "--scale", "0.5",
                 "--record", str(out["gif"]), "--record-every", "2", "--save", str(out["otviz"])]) == 0
    assert "A: eps=0.01; B: eps=1" in capsys.readouterr().out
    assert all(p.stat().st_size > 0 for p in out.values()) and (tmp_path / "ab-B.otviz").exists()
    assert columns(out["csv"].read_text())["changes"][0] == "A: eps=0.01; B: eps=1"
    from otviz.session.file import load_session

    b, _ = load_session(str(tmp_path / "ab-B.otviz"))
    assert b.method.config.eps == 1.0 and b.step_count == 4


def test_the_window_can_read_presets_and_write_the_csv_without_torch():
    import subprocess
    import sys

    code = ("import sys; from otviz.session.compare import PRESETS, differences, write_compare_csv; "
            "from otviz.session.history import History; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
    from otviz.session.compare import compare_csv_text
    from otviz.session.history import History

    a, b = History(("loss",)), History(("loss",))
    for step in (1, 2):
        a.append(step, {"loss": 1.0 / step})
        b.append(step, {"loss": 2.0 / step})
    b.add_event(2, "lr=0.1")
    assert compare_csv_text(a, b, "A: lr=1; B: lr=2").splitlines() == [
        "step,A.loss,B.loss,changes", "0,,,A: lr=1; B: lr=2", "1,1,2,", "2,0.5,1,B: lr=0.1"]


def test_headless_picture_draws_both_histories_on_one_plot(qtbot):
    from otviz.gui.headless_compare import CompareRenderer
    from otviz.session.session import Session

    cls = method_class("sinkhorn")
    a = Session(cls(cls.Config(n_points=20, eps=0.01), seed=0))
    b = Session(cls(cls.Config(n_points=20, eps=1.0), seed=0))
    cmp = Compare(a, b)
    for _ in range(6):
        cmp.step()
    r = CompareRenderer(cmp, size=(1200, 600))
    try:
        r.draw()
        assert all(side.history is None for side in r.sides)          # one plot for both, not one each
        r.history.choice.setCurrentText("cost")
        xa, ya = r.history.curve.getData()
        xb, yb = r.history.overlay.getData()
        np.testing.assert_array_equal(xa, np.arange(1, 7))
        np.testing.assert_array_equal(xb, np.arange(1, 7))
        np.testing.assert_allclose(ya, a.history.column("cost"))
        np.testing.assert_allclose(yb, b.history.column("cost"))
        assert r.history.height() >= 100
    finally:
        r.close()
