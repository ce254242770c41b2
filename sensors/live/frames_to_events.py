"""Frame→event emulation: frames from OpenCV (a webcam or a video file) turned into DVS-like EventBatches.

Grayscale log intensity, per-pixel ON/OFF contrast thresholds, a refractory period, interpolated event times.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from sensors.live.frames_kernels import NEVER_US, _frame_events
from sensors.types import EVENT_DTYPE, EventBatch, Geometry, SourceError

__all__ = ["FrameEventConfig", "FrameEventSource"]


@dataclass(frozen=True)
class FrameEventConfig:
    """How frames become events.

    Parameters
    ----------
    threshold_on, threshold_off : positive log-intensity contrast of one ON / OFF event.
    refractory_us : µs after a pixel's event during which its further crossings are dropped (>= 0).
    eps : offset in ``log(I + eps)``, with I the gray level scaled to 0..1 (> 0; larger is less noisy in the dark).
    resize : optional ``(width, height)`` in pixels the frames are resized to (cv2.INTER_AREA) before
        detection; the source's geometry is this size.
    """

    threshold_on: float = 0.2
    threshold_off: float = 0.2
    refractory_us: int = 0
    eps: float = 0.02
    resize: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        for key in ("threshold_on", "threshold_off", "eps"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"FrameEventConfig.{key}: must be a finite number > 0, got {value!r}")
        if isinstance(self.refractory_us, bool) or not isinstance(self.refractory_us, int) or self.refractory_us < 0:
            raise ValueError(f"FrameEventConfig.refractory_us: must be an int >= 0, got {self.refractory_us!r}")
        if self.resize is not None:
            size = self.resize
            if (
                not isinstance(size, tuple)
                or len(size) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 32767 for v in size)
            ):
                raise ValueError(f"FrameEventConfig.resize: must be None or (width, height) ints in 1..32767, got {size!r}")


class FrameEventSource:
    """Events emulated from the frames of a webcam (``target`` an int index) or a video file (a path).

    The first frame sets every pixel's reference and emits nothing; each later ``read()`` returns the events
    between the previous frame and the next one, sorted by ``t`` (µs), and None at the end of the video.
    File frame times are ``index * 1e6 / fps`` (CAP_PROP_POS_MSEC when the file has no frame rate), from 0;
    webcam frame times are the monotonic clock in µs since the source was opened.
    """

    format = "frames"

    def __init__(self, target: str | Path | int, config: FrameEventConfig = FrameEventConfig()) -> None:
        self.config = config
        self._is_camera = isinstance(target, int) and not isinstance(target, bool)
        self._name = f"camera {target}" if self._is_camera else str(target)
        if not self._is_camera:
            path = Path(target)
            if not path.exists():
                raise SourceError(f"{self._name}: no such file")
            if path.is_dir():
                raise SourceError(f"{self._name}: is a directory, not a video")
            self._capture = cv2.VideoCapture(str(path))
            if not self._capture.isOpened():
                raise SourceError(f"{self._name}: cannot open as a video (OpenCV found no decoder for it)")
        else:
            cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
            self._capture = cv2.VideoCapture(target)
            if not self._capture.isOpened():
                raise SourceError(f"{self._name}: no such camera (OpenCV cannot open it)")
        fps = float(self._capture.get(cv2.CAP_PROP_FPS)) if not self._is_camera else 0.0
        self._fps = fps if math.isfinite(fps) and 0.0 < fps < 1e6 else 0.0
        self._clock_origin_ns = time.monotonic_ns()
        self._frame_index = 0

        ok, frame = self._capture.read()
        if not ok or frame is None:
            self._capture.release()
            raise SourceError(f"{self._name}: no frame could be read")
        if frame.dtype != np.uint8 or frame.ndim not in (2, 3):
            self._capture.release()
            raise SourceError(f"{self._name}: frames must be 8-bit gray or colour, got {frame.dtype} {frame.shape}")
        self._frame = frame
        if config.resize is not None:
            width, height = config.resize
        else:
            height, width = frame.shape[:2]
        self.geometry = Geometry(int(width), int(height))

        self._log_lut = np.log(np.arange(256, dtype=np.float64) / 255.0 + config.eps)
        self._gray_native = np.empty(frame.shape[:2], dtype=np.uint8)
        self._gray = np.empty((height, width), dtype=np.uint8)
        self._log_prev = np.empty((height, width), dtype=np.float64)
        self._log_now = np.empty((height, width), dtype=np.float64)
        self._ref_log = np.empty((height, width), dtype=np.float64)
        self._last_t_us = np.full((height, width), NEVER_US, dtype=np.int64)
        self._events = np.zeros(2 * width * height, dtype=EVENT_DTYPE)

        self._to_log(frame, self._log_now)
        self._ref_log[:] = self._log_now
        self._t_now_us = self._frame_time_us()

    @property
    def frame_time_us(self) -> int:
        """Time in µs of the last frame read (the end of the last batch's interval)."""
        return self._t_now_us

    def read(self) -> EventBatch | None:
        """The events between the previous frame and the next one (time-ordered), or None at the end."""
        if self._capture is None:
            return None
        ok, frame = self._capture.read(self._frame)
        if not ok or frame is None:
            return None
        if frame.shape != self._frame.shape or frame.dtype != np.uint8:
            raise SourceError(f"{self._name}: frame {self._frame_index + 1} changed shape to {frame.shape} {frame.dtype}")
        self._frame = frame
        self._frame_index += 1
        self._log_prev, self._log_now = self._log_now, self._log_prev
        self._to_log(frame, self._log_now)
        t_prev_us = self._t_now_us
        self._t_now_us = max(self._frame_time_us(), t_prev_us + 1)

        c = self.config
        n_px = self.geometry.width * self.geometry.height
        n_events, next_px = 0, 0
        while True:
            n_events, next_px = _frame_events(
                self._log_prev, self._log_now, t_prev_us, self._t_now_us, self._ref_log, self._last_t_us,
                float(c.threshold_on), float(c.threshold_off), c.refractory_us, next_px, self._events, n_events,
            )
            if next_px >= n_px:
                break
            grown = np.zeros(2 * len(self._events), dtype=EVENT_DTYPE)
            grown[:n_events] = self._events[:n_events]
            self._events = grown
        written = self._events[:n_events]
        order = np.argsort(written["t"], kind="stable")
        return EventBatch(written[order], self.geometry)

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None

    def _to_log(self, frame: np.ndarray, out: np.ndarray) -> None:
        """Frame (BGR, BGRA or gray uint8) → gray, resized when configured → log(I/255 + eps) into ``out``."""
        if frame.ndim == 2:
            gray = frame
        elif frame.shape[2] == 1:
            gray = frame[:, :, 0]
        else:
            code = cv2.COLOR_BGRA2GRAY if frame.shape[2] == 4 else cv2.COLOR_BGR2GRAY
            gray = cv2.cvtColor(frame, code, dst=self._gray_native)
        if gray.shape != self._gray.shape:
            gray = cv2.resize(gray, (self.geometry.width, self.geometry.height), dst=self._gray,
                              interpolation=cv2.INTER_AREA)
        np.take(self._log_lut, gray, out=out)

    def _frame_time_us(self) -> int:
        if self._is_camera:
            return (time.monotonic_ns() - self._clock_origin_ns) // 1000
        if self._fps > 0.0:
            return int(round(self._frame_index * 1e6 / self._fps))
        return int(round(float(self._capture.get(cv2.CAP_PROP_POS_MSEC)) * 1000.0))
