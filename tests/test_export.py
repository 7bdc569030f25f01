"""Export: animations decode back, snapshots have the size asked for, sessions continue exactly, bad files are refused."""
import numpy as np
import pytest
import torch
from PIL import Image

from method_checks import check_session_round_trip_continues_exactly
from otviz.methods import method_class, method_names
from otviz.session.file import VERSION, _encode, load_session, read_session_file, save_session
from otviz.session.session import Session
from otviz.util.recording import AnimationWriter


def moving_square(i, w=96, h=64):
    a = np.full((h, w, 3), 255, np.uint8)
    a[10:30, 5 + 3 * i: 25 + 3 * i] = (200, 30, 30)
    return a


@pytest.mark.parametrize("suffix", [".gif", ".apng", ".mp4"])
def test_animation_of_n_frames_decodes_to_n_frames(tmp_path, suffix):
    path = tmp_path / f"anim{suffix}"
    w = AnimationWriter(path, fps=10)
    for i in range(12):
        w.add(moving_square(i))
    w.close()
    assert [p.name for p in tmp_path.iterdir()] == [path.name]          # no temporary left
    if suffix == ".mp4":
        import imageio_ffmpeg
        frames = imageio_ffmpeg.read_frames(str(path))
        meta = next(frames)
        assert tuple(meta["size"]) == (96, 64)
        decoded = [np.frombuffer(f, np.uint8).reshape(64, 96, 3) for f in frames]
    else:
        im = Image.open(path)
        assert im.size == (96, 64) and im.n_frames == 12
        decoded = []
        for k in range(im.n_frames):
            im.seek(k)
            decoded.append(np.asarray(im.convert("RGB")))
    assert len(decoded) == 12
    # the square moved: first and last frames differ where it was, and the colour survived encoding
    assert np.abs(decoded[0][20, 10].astype(int) - (200, 30, 30)).max() < 40
    assert np.abs(decoded[-1][20, 10].astype(int) - 255).max() < 40


def test_animation_refuses_bad_target(tmp_path):
    with pytest.raises(ValueError, match="unknown animation type"):
        AnimationWriter(tmp_path / "a.avi")
    with pytest.raises(OSError, match="does not exist"):
        AnimationWriter(tmp_path / "missing" / "a.gif")
    w = AnimationWriter(tmp_path / "a.gif")
    with pytest.raises(ValueError, match="no frame"):
        w.close()
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("name", method_names())
def test_session_round_trip_continues_exactly(name):
    check_session_round_trip_continues_exactly(name)


def test_damaged_and_foreign_session_files_are_refused(tmp_path):
    cls = method_class(method_names()[0])
    s = Session(cls(seed=1))
    s.step()
    good = tmp_path / "good.otviz"
    save_session(good, s)
    data = good.read_bytes()
    (tmp_path / "cut.otviz").write_bytes(data[: len(data) // 2])
    (tmp_path / "junk.otviz").write_bytes(b"not a session at all")
    torch.save({"hello": 1}, tmp_path / "other.otviz")
    doc = torch.load(good, weights_only=True)
    doc["version"] = VERSION + 1
    doc["otviz"] = "9.0"
    torch.save(doc, tmp_path / "newer.otviz")
    for name, message in [("cut", "is truncated"), ("junk", "is not an otviz session"),
                          ("other", "not an otviz session"), ("newer", "written by a newer otviz"),
                          ("missing", "no such session file")]:
        with pytest.raises(ValueError, match=message) as e:
            read_session_file(tmp_path / f"{name}.otviz")
        assert f"{name}.otviz" in str(e.value)


def test_session_with_a_tampered_config_is_refused(tmp_path):
    cls = method_class(method_names()[0])
    s = Session(cls(seed=1))
    path = tmp_path / "t.otviz"
    save_session(path, s)
    doc = torch.load(path, weights_only=True)
    k = next(sp for sp in cls.specs() if sp.type is float and sp.lo is not None)
    doc["state"]["config"][k.name] = k.lo - 1.0
    torch.save(doc, path)
    with pytest.raises(ValueError, match="cannot be restored"):
        load_session(path)


def test_encode_keeps_numpy_arrays():
    x = {"a": np.arange(3.0), "b": [np.int64(4), "s"]}
    enc = _encode(x)
    assert isinstance(enc["a"]["__ndarray__"], torch.Tensor) and enc["b"][0] == 4
