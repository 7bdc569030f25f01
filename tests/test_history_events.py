"""Decimating a long history thins the metric rows, never the parameter changes."""
import csv
import io

import numpy as np

from otviz.methods import method_class
from otviz.session.history import History
from otviz.session.session import Session


def csv_rows(h: History) -> list[dict]:
    return list(csv.DictReader(io.StringIO(h.to_csv_text())))


def test_every_change_keeps_its_own_row_after_decimation():
    h = History(("loss", "lr"), cap=1000)
    changes = (7, 2503, 25_003, 29_999)
    for step in range(1, 30_001):
        h.append(step, {"loss": 1.0 / step, "lr": float(step)})
        if step in changes:
            h.add_event(step, f"eps={step}")
    assert h.stride >= 32 and len(h) <= 1000             # still decimated, still bounded
    rows = {int(r["step"]): r for r in csv_rows(h)}
    for step in changes:
        assert step % h.stride                           # none of them is on the kept stride...
        r = rows[step]                                   # ...and each has its row, with its own metrics
        assert r["changes"] == f"eps={step}"
        assert float(r["loss"]) == float(f"{1.0 / step:.9g}") and float(r["lr"]) == step
    assert np.all(np.diff(h.steps) > 0)
    assert sum(bool(r["changes"]) for r in rows.values()) == len(changes)


def test_change_survives_a_later_halving_and_a_save():
    h = History(("loss",), cap=100)
    for step in range(1, 2_000):
        h.append(step, {"loss": float(step)})
        if step == 51:                                   # stored as an ordinary row at stride 1
            h.add_event(step, "lr=0.1")
    h2 = History(("loss",), cap=100)
    h2.load_state_dict(h.state_dict())
    for hist in (h, h2):
        row = next(r for r in csv_rows(hist) if r["step"] == "51")
        assert row == {"step": "51", "loss": "51", "changes": "lr=0.1"}


def test_session_change_at_a_skipped_step_is_in_the_csv():
    cls = method_class("sinkhorn")
    s = Session(cls(cls.Config(dataset="seed_rows"), seed=0))
    s.history = History(s.method.metrics, cap=16)
    for _ in range(45):
        s.step()
    assert s.history.stride > 1 and 45 % s.history.stride
    expected_cost = s.last_metrics["cost"]
    s.update({"eps": 0.2})
    s.step()
    row = next(r for r in csv_rows(s.history) if r["step"] == "45")
    assert row["changes"] == "eps=0.2"
    assert float(row["cost"]) == float(f"{expected_cost:.9g}")


def test_change_with_no_recorded_metrics_gets_an_empty_row():
    h = History(("a",))
    h.add_event(5, "lr=1")                 # no step seen (e.g. right after opening an older file)
    h.append(6, {"a": 2.0})
    assert h.to_csv_text().splitlines() == ["step,a,changes", "5,,lr=1", "6,2,"]
