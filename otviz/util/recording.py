"""Stream animation frames to GIF, APNG or MP4 through ffmpeg (imageio-ffmpeg): memory stays flat.

Frames go to ffmpeg as they come, so a long recording never holds its frames in memory; the file
is written under a temporary name and renamed when the recording is closed.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from otviz.util.atomic import temp_beside
from otviz.util.cores import every_core

FORMATS = {".gif": "gif", ".apng": "apng", ".png": "apng", ".mp4": "mp4"}


def animation_format(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"{Path(path).name}: unknown animation type {suffix!r} (use .gif, .apng or .mp4)")
    return FORMATS[suffix]


class AnimationWriter:
    """Write RGB frames (H, W, 3 uint8) of one size to `path`; the first frame fixes the size."""

    def __init__(self, path: str | Path, fps: float = 15.0, size: tuple[int, int] | None = None):
        self.path = Path(path)
        self.kind = animation_format(self.path)
        if not 0 < fps <= 120:
            raise ValueError(f"frame rate must be in (0, 120], got {fps}")
        self.fps = float(fps)
        self.size = size                      # (width, height), fixed by the first frame if None
        self.frames = 0
        self._gen = None
        self._tmp = temp_beside(self.path)

    def _open(self, width: int, height: int) -> None:
        import imageio_ffmpeg

        if self.kind == "mp4":           # H.264 in yuv420p needs even sizes
            width, height = width - width % 2, height - height % 2
        self.size = (width, height)
        common = dict(fps=self.fps, quality=None, macro_block_size=1, ffmpeg_log_level="error")
        if self.kind == "gif":           # a palette per frame, computed as the frame arrives
            kw = dict(codec="gif", pix_fmt_out="pal8", output_params=[
                "-filter_complex", "split[a][b];[a]palettegen=stats_mode=single[p];[b][p]paletteuse=new=1",
                "-loop", "0", "-f", "gif"])
        elif self.kind == "apng":
            kw = dict(codec="apng", pix_fmt_out="rgb24", output_params=["-plays", "0", "-f", "apng"])
        else:
            kw = dict(codec="libx264", pix_fmt_out="yuv420p", output_params=["-crf", "20", "-f", "mp4"])
        self._gen = imageio_ffmpeg.write_frames(str(self._tmp), (width, height), **common, **kw)
        with every_core():                  # ffmpeg starts here, and encodes beside the window, not on its core
            self._gen.send(None)

    def add(self, frame: np.ndarray) -> None:
        frame = np.asarray(frame)
        if frame.ndim != 3 or frame.shape[2] not in (3, 4):
            raise ValueError("a frame must be an (H, W, 3) RGB array")
        frame = frame[..., :3]
        if self._gen is None:
            w, h = self.size or (frame.shape[1], frame.shape[0])
            self._open(w, h)
        w, h = self.size
        if frame.shape[:2] != (h, w):
            from PIL import Image
            frame = np.asarray(Image.fromarray(np.ascontiguousarray(frame)).resize((w, h), Image.BILINEAR))
        self._gen.send(np.ascontiguousarray(frame, dtype=np.uint8))
        self.frames += 1

    def close(self) -> Path:
        """Finish the file and move it into place. Returns the path."""
        try:
            if self._gen is None:
                raise ValueError(f"{self.path.name}: no frame was recorded")
            self._gen.close()
            self._gen = None
            os.replace(self._tmp, self.path)
            return self.path
        finally:
            self.abort()

    def abort(self) -> None:
        """Drop the recording (the temporary file is removed)."""
        if self._gen is not None:
            try:
                self._gen.close()
            except Exception:
                pass
            self._gen = None
        if self._tmp.exists():
            self._tmp.unlink()
