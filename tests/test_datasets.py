"""The data catalogue: every name makes its points, old names still open, one strict cached CSV loader."""
import dataclasses
import os

import numpy as np
import pytest

from otviz.cli import parse_sets
from otviz.core import datasets as D
from otviz.methods import REGISTRY, method_class, method_info
from otviz.session.file import load_session, save_session
from otviz.session.session import Session


def options(name, tmp_path):
    """What a dataset needs beyond n and rng: only csv needs a file."""
    if name != "csv":
        return {}
    f = tmp_path / "pts.csv"
    np.savetxt(f, np.random.default_rng(9).normal(size=(23, 2)), delimiter=",", header="x,y", comments="")
    return {"path": str(f)}


@pytest.mark.parametrize("name", [n for n in D.NAMES if D.CATALOGUE[n].one])
def test_every_name_makes_finite_points_of_its_size(name, tmp_path):
    opts = options(name, tmp_path)
    x = D.make(name, 37, np.random.default_rng(0), **opts)
    size = 23 if name == "csv" else D.CATALOGUE[name].size or 37
    assert x.shape == (size, 2) and x.dtype == np.float64 and np.isfinite(x).all()
    again = D.make(name, 37, np.random.default_rng(0), **opts)
    np.testing.assert_array_equal(x, again)                       # the same seed, the same points


@pytest.mark.parametrize("name", [n for n in D.NAMES if D.CATALOGUE[n].pair])
def test_every_pair_makes_finite_source_and_target(name, tmp_path):
    opts = {"paths": (options(name, tmp_path)["path"],) * 2} if name == "csv" else {}
    x, y = D.make_pair(name, 12, np.random.default_rng(0), **opts)
    size = 23 if name == "csv" else D.CATALOGUE[name].size or 12
    assert x.shape == y.shape == (size, 2) and np.isfinite(x).all() and np.isfinite(y).all()
    x2, y2 = D.make_pair(name, 12, np.random.default_rng(0), **opts)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)


@pytest.mark.parametrize("name, first", [
    ("two_moons", [0.3363286490573228, -0.20815026856821828]),
    ("gaussians", [0.1257302210933933, -0.1321048632913019]),
    ("ring8", [1.8802459552171239e-03, -2.0148699849870764]),
    ("grid25", [-20.960240613062833, -21.041775225798567]),
    ("swiss_roll", [-0.3828789211200476, -1.4133981828081137]),
    ("parallel_lines", [0.0, 0.6369616873214543]),
    ("old_faithful", [0.09849885677570017, 0.5971234377971167]),
])
def test_seeded_points_keep_their_values(name, first):
    # the points a seed gives are part of a saved run: a change here changes every method's data
    x = D.make(name, 50, np.random.default_rng(0))
    np.testing.assert_allclose(x[0], first, rtol=1e-13, atol=1e-15)
    assert not np.array_equal(x, D.make(name, 50, np.random.default_rng(1))) or name == "old_faithful"


def test_what_the_datasets_look_like():
    rng = np.random.default_rng(3)
    ring = D.make("ring8", 4000, rng, radius=2.0, std=0.02)
    np.testing.assert_allclose(np.hypot(*ring.T), 2.0, atol=0.1)
    g = D.make("gaussians", 20000, rng, mean=(1.0, -0.5), std=0.5)
    np.testing.assert_allclose(g.mean(0), [1.0, -0.5], atol=0.02)
    np.testing.assert_allclose(g.std(0), [0.5, 0.5], atol=0.02)
    lines = D.make("parallel_lines", 100, rng, theta=1.5)
    assert set(lines[:, 0]) == {0.0, 1.5} and (lines[:, 1] >= 0).all() and (lines[:, 1] < 1).all()
    grid = D.make("grid25", 250, rng, spacing=1.0, std=0.05)
    np.testing.assert_array_equal(np.bincount(np.abs(grid[:, None] - D.grid25_centers(1.0)).sum(2).argmin(1)),
                                  np.full(25, 10))
    faithful = D.make("old_faithful", 5, rng)
    np.testing.assert_allclose(faithful.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(faithful.std(0), 1, atol=1e-12)
    src, tgt = D.make_pair("seed_rows", 99, rng)
    np.testing.assert_array_equal(src, [[i, 0] for i in range(5)])
    np.testing.assert_array_equal(tgt, [[i, 1] for i in range(5)])
    up, down = D.make_pair("two_moons", 300, rng)
    assert up[:, 1].mean() > 0.4 and down[:, 1].mean() < 0.1            # the upper moon is the source


def test_methods_draw_their_data_from_the_catalogue():
    wgan = method_class("wgan")
    m = wgan(wgan.Config(dataset="two_moons", n_points=500, width=8, batch_size=32), seed=4)
    # WGAN's real data depend on the dataset's place in its list, not on the run's seed
    np.testing.assert_array_equal(m.data_np, D.make("two_moons", 500, np.random.default_rng(12345 + 3)))
    nvp = method_class("realnvp")
    m = nvp(nvp.Config(dataset="gaussians", n_data=200, hidden=8, batch_size=64), seed=2)
    x = D.make("gaussians", 1200, np.random.default_rng(2), mean=(1.0, -0.5), std=0.5)
    np.testing.assert_array_equal(m.x_train.numpy(), x[:200].astype(np.float32))
    sk = method_class("sinkhorn")
    m = sk(sk.Config(dataset="gaussians", n_points=30), seed=6)
    src, tgt = D.make_pair("gaussians", 30, np.random.default_rng(6))
    np.testing.assert_array_equal(m.x.numpy(), src)
    np.testing.assert_array_equal(m.y.numpy(), tgt)


def test_every_method_offers_catalogue_names_only():
    offered = {}
    for name in REGISTRY:
        specs = [s for s in method_info(name).specs() if s.name == "dataset"]
        for s in specs:
            assert set(s.choices) <= set(D.NAMES), (name, s.choices)
            assert s.default in s.choices
            offered[name] = s.choices
    assert {"realnvp", "swgmm", "wgan", "sinkhorn"} <= set(offered)
    assert all("csv" in offered[n] for n in ("realnvp", "swgmm", "wgan", "sinkhorn"))


def test_old_names_map_to_the_catalogue():
    assert D.ALIASES == {"moons": "two_moons", "gaussian": "gaussians"}
    assert D.canonical("moons") == "two_moons" and D.canonical("ring8") == "ring8"
    with pytest.raises(ValueError, match="'spiral' is not one of two_moons, gaussians"):
        D.canonical("spiral")
    np.testing.assert_array_equal(D.make("moons", 20, np.random.default_rng(1)),
                                  D.make("two_moons", 20, np.random.default_rng(1)))


@pytest.mark.parametrize("method, old, new", [
    ("realnvp", "moons", "two_moons"), ("realnvp", "gaussian", "gaussians"), ("sinkhorn", "moons", "two_moons"),
    ("swgmm", "gaussian", "gaussians"), ("wgan", "moons", "two_moons"),
])
def test_a_config_with_an_old_name_is_coerced(method, old, new):
    cls = method_class(method)
    assert cls.spec("dataset").coerce(old) == new                             # the window's controls
    assert parse_sets(cls, [f"dataset={old}"]) == {"dataset": new}            # the CLI's --set
    assert cls.renamed(cls.Config(dataset=old)).dataset == new                # a config built in code


def test_a_name_a_method_does_not_offer_is_refused_as_given():
    with pytest.raises(ValueError, match="dataset: 'gaussian' is not one of ring8"):
        method_class("wgan").spec("dataset").coerce("gaussian")


def test_a_session_saved_with_an_old_name_opens(tmp_path):
    cls = method_class("sinkhorn")
    m = cls(cls.Config(n_points=15), seed=3)
    s = Session(m)
    s.step()
    # what an older otviz wrote: the same run under the dataset's former name
    m.config = dataclasses.replace(m.config, dataset="moons")
    path = tmp_path / "old.otviz"
    save_session(path, s)
    loaded, _ = load_session(path)
    assert loaded.method.config.dataset == "two_moons" and loaded.step_count == 1
    np.testing.assert_array_equal(loaded.method.y.numpy(), m.y.numpy())
    np.testing.assert_array_equal(loaded.method.x.numpy(), m.x.numpy())       # the moved source points too
    assert loaded.method.snapshot(fields=False).x.shape == (15, 2)


@pytest.mark.parametrize("content, message", [
    ("", "pts.csv: the file is empty"),
    ("x,y\n", "pts.csv: a header but no points"),
    ("1,2\n3\n", "pts.csv, line 2: expected two numbers, found only '3'"),
    ("x,y\n1,2\n\n3,abc\n", "pts.csv, line 4: expected two numbers, found 'abc'"),
    ("1,2\n,4\n", "pts.csv, line 2: expected two numbers, found an empty cell"),
    ("1,2\n3,4\n5,nan\n", "pts.csv, line 3: expected two finite numbers, found 'nan'"),
    ("1,2\n-inf,4\n", "pts.csv, line 2: expected two finite numbers, found '-inf'"),
    ("1,2\n3,\"4\n5\",6\n7,8\n", "pts.csv, line 2: expected two numbers, found '4\\n5'"),
])
def test_csv_errors_are_one_sentence_naming_file_and_line(tmp_path, content, message):
    f = tmp_path / "pts.csv"
    f.write_text(content)
    with pytest.raises(ValueError) as e:
        D.load_points_csv(f)
    assert str(e.value) == message


def test_csv_errors_for_missing_folder_and_binary_files(tmp_path):
    with pytest.raises(ValueError, match=r"^gone\.csv: no such file$"):
        D.load_points_csv(tmp_path / "gone.csv")
    with pytest.raises(ValueError, match=r"is a folder, not a CSV file$"):
        D.load_points_csv(tmp_path)
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81" * 10)
    with pytest.raises(ValueError, match=r"^b\.csv: not a text CSV file$"):
        D.load_points_csv(binary)
    with pytest.raises(ValueError, match="no CSV file chosen"):
        D.load_points_csv("")


def test_csv_loader_reads_header_extra_columns_and_windows_lines(tmp_path):
    f = tmp_path / "pts.csv"
    f.write_bytes("\ufeffx,y,label\r\n1,2,a\r\n\r\n 3.5 , -4e-1 ,b\r\n".encode())
    np.testing.assert_array_equal(D.load_points_csv(f), [[1, 2], [3.5, -0.4]])


def test_csv_is_cached_until_the_file_changes(tmp_path):
    f = tmp_path / "pts.csv"
    f.write_text("1,2\n3,4\n")
    first = D.load_points_csv(f)
    st = os.stat(f)
    first[0, 0] = 99.0                        # the caller's copy: the cached points stay as read
    np.testing.assert_array_equal(D.load_points_csv(f), [[1, 2], [3, 4]])
    f.write_text("5,6\n7,8\n")                # same size; with the old time it is the same version
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    np.testing.assert_array_equal(D.load_points_csv(str(f)), [[1, 2], [3, 4]])
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))      # touched: a new version
    np.testing.assert_array_equal(D.load_points_csv(f), [[5, 6], [7, 8]])
    f.write_text("5,6\n7,8\n9,10\n")          # a new size is a new version even within the same tick
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
    np.testing.assert_array_equal(D.load_points_csv(f), [[5, 6], [7, 8], [9, 10]])


def test_a_bad_csv_is_refused_before_the_run_changes(tmp_path):
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    np.savetxt(good, np.random.default_rng(0).normal(size=(40, 2)), delimiter=",")
    bad.write_text("1,2\n3,oops\n")
    for method, key in (("wgan", "csv_path"), ("realnvp", "csv_path"), ("swgmm", "csv_path"),
                        ("sinkhorn", "source_csv")):
        cls = method_class(method)
        extra = {"target_csv": str(good)} if method == "sinkhorn" else {}
        small = {"width": 8, "batch_size": 16} if method == "wgan" else {"hidden": 8} if method == "realnvp" else {}
        m = cls(cls.Config(dataset="csv", **{key: str(good)}, **extra, **small), seed=0)
        with pytest.raises(ValueError, match=r"bad\.csv, line 2: expected two numbers, found 'oops'"):
            m.update({key: str(bad)})
        assert getattr(m.config, key) == str(good), method
