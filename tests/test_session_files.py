"""A damaged or foreign file given as a session gets one plain sentence naming it, never torch's text."""
import collections
import fractions
import os
import pickle
import zipfile

import pytest
import torch

from otviz.cli import main
from otviz.methods import method_class
from otviz.session.file import VERSION, read_session_file, save_session
from otviz.session.session import Session

LIBRARY_WORDS = ("weights only", "weights_only", "pytorch", "torch", "unpickl", "zip", "errno", "traceback",
                 "central directory", "pickle")


@pytest.fixture(scope="module")
def good_session(tmp_path_factory):
    s = Session(method_class("sinkhorn")(seed=1))
    s.step()
    path = tmp_path_factory.mktemp("good") / "good.otviz"
    save_session(path, s)
    return path


def make(kind: str, folder, good):
    path = folder / f"{kind}.otviz"
    data = good.read_bytes()
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "random":
        path.write_bytes(os.urandom(5000))
    elif kind == "truncated":
        path.write_bytes(data[: len(data) * 2 // 3])
    elif kind == "flipped":                       # same length, a few bytes of the stored data changed
        b = bytearray(data)
        for i in range(len(b) // 2, len(b) // 2 + 8):
            b[i] ^= 0xFF
        path.write_bytes(bytes(b))
    elif kind == "zip":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("notes.txt", "hello")
    elif kind == "dict":
        torch.save({"weights": torch.zeros(3)}, path)
    elif kind == "torch_foreign":
        torch.save({"x": fractions.Fraction(1, 3)}, path)      # a class outside plain data
    elif kind == "pickle_foreign":
        path.write_bytes(pickle.dumps(collections.OrderedDict(a=1)))
    elif kind == "newer":
        doc = torch.load(good, weights_only=True)
        doc["version"] = VERSION + 1
        doc["otviz"] = "9.0"
        torch.save(doc, path)
    return path


CASES = [
    ("empty", "is empty"),
    ("random", "is not an otviz session file"),
    ("truncated", "is truncated"),
    ("flipped", "is damaged"),
    ("zip", "is a zip archive but not an otviz session"),
    ("dict", "is not an otviz session file (it was saved by another program)"),
    ("torch_foreign", "holds Python objects that otviz does not open"),
    ("pickle_foreign", "is not an otviz session file"),
    ("newer", f"was written by a newer otviz (9.0, session format {VERSION + 1})"),
]


@pytest.mark.parametrize("kind, problem", CASES)
def test_bad_session_file_gets_one_plain_sentence(tmp_path, good_session, kind, problem):
    path = make(kind, tmp_path, good_session)
    with pytest.raises(ValueError) as e:
        read_session_file(path)
    msg = str(e.value)
    assert msg.startswith(f"{kind}.otviz") and problem in msg
    assert "\n" not in msg and len(msg) < 200
    said = msg[len(f"{kind}.otviz"):].lower()
    if kind != "zip":
        assert not any(w in said for w in LIBRARY_WORDS), msg


@pytest.mark.parametrize("kind, problem", [c for c in CASES if c[0] in ("truncated", "torch_foreign", "newer")])
def test_cli_load_of_a_bad_file_prints_the_sentence_and_exits_2(tmp_path, good_session, capsys, kind, problem):
    path = make(kind, tmp_path, good_session)
    code = main(["run", "sinkhorn", "--load", str(path), "--steps", "1", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("otviz: ") and problem in err and err.count("\n") == 1
    assert "weights" not in err.lower() and "pytorch" not in err.lower()


def test_good_session_still_opens(good_session):
    doc = read_session_file(good_session)
    assert doc["method"] == "sinkhorn"


def test_state_that_does_not_fit_is_refused_without_library_text(tmp_path, good_session):
    from otviz.session.file import load_session

    doc = torch.load(good_session, weights_only=True)
    doc["state"]["x"] = torch.zeros(3, 5)          # wrong shape for the points
    doc["state"].pop("seed", None)
    path = tmp_path / "odd.otviz"
    torch.save(doc, path)
    with pytest.raises(ValueError, match=r"^odd\.otviz: the session cannot be restored \(it has no 'seed'\)$"):
        load_session(path)
