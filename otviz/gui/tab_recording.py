"""A tab's recording: the plots and history to an animation, in real time or one frame per N steps.

Mixed into MethodTab, whose attributes it uses: plot_area, recorder, status_changed, show_error.
"""
from __future__ import annotations

from otviz.gui.export import Recorder


class TabRecording:
    def start_recording(self, path: str, fps: float = 15.0, scale: float = 1.0, every_steps: int = 0) -> None:
        """Record the plots and the history: in real time (`every_steps` 0: the video lasts as long as the
        recording), or one frame per `every_steps` training steps (a time-lapse). The indicator is the
        window's (`recording_text`), outside what is captured, so it is never in the video."""
        self.stop_recording()
        self.recorder = Recorder(self.plot_area, path, fps=fps, scale=scale, every_steps=every_steps,
                                 on_error=self._recording_failed)
        self.status_changed.emit(f"recording to {path}")

    def recording_text(self) -> str:
        """'● REC 0:07 (real time)' or '● REC 120 frames = 8.0 s at 15 fps'; empty when not recording."""
        return "" if self.recorder is None else f"● REC {self.recorder.describe()}"

    def _capture(self, step: int) -> None:
        try:
            self.recorder.capture(step)
        except Exception as e:
            self._recording_failed(e)

    def _recording_failed(self, e: Exception) -> None:
        rec, self.recorder = self.recorder, None
        if rec is not None:
            rec.abort()
        self.show_error(f"recording stopped: {e}")

    def stop_recording(self) -> str | None:
        """Finish the file; returns its path (None if nothing was recording)."""
        rec, self.recorder = self.recorder, None
        if rec is None:
            return None
        try:
            path = rec.finish()
        except Exception as e:
            self.show_error(f"the recording could not be saved: {e}")
            return None
        self.status_changed.emit(f"saved {rec.frames} frames ({rec.seconds:.1f} s of video) to {path}")
        return str(path)
