"""Draw events as images: ON events brighten, OFF events darken a grey frame; PNG of one window or an MP4 of all.

Lets a user see what a file or stream holds (``neuroedge render``).
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from numba import njit

from sensors.types import Geometry, SourceError

ON_BGR = np.array([60, 60, 255], dtype=np.uint8)
OFF_BGR = np.array([255, 140, 40], dtype=np.uint8)


@njit(cache=True)
def accumulate(events: np.ndarray, t0_us: int, t1_us: int, counts: np.ndarray) -> None:
    """Add each event with t in [t0_us, t1_us) to ``counts[p, y, x]`` (events outside the frame are skipped)."""
    _, height, width = counts.shape
    for i in range(events.shape[0]):
        e = events[i]
        if t0_us <= e["t"] < t1_us and 0 <= e["x"] < width and 0 <= e["y"] < height:
            counts[1 if e["p"] > 0 else 0, e["y"], e["x"]] += 1


def to_image(counts: np.ndarray, scale: int = 1) -> np.ndarray:
    """BGR uint8 image: grey background, ON pixels red, OFF pixels blue, mixed pixels by majority."""
    off, on = counts[0], counts[1]
    image = np.full(on.shape + (3,), 128, dtype=np.uint8)
    image[off > on] = OFF_BGR
    image[on > off] = ON_BGR
    if scale > 1:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    return image


class FrameRenderer:
    """Accumulates a stream's events into consecutive frames of ``frame_us`` starting at ``t0_us``."""

    def __init__(self, geometry: Geometry, frame_us: int, t0_us: int) -> None:
        self.counts = np.zeros((2, geometry.height, geometry.width), dtype=np.int32)
        self.frame_us = frame_us
        self.t0_us = t0_us

    def feed(self, events: np.ndarray):
        """Yield the counts of every frame completed by ``events`` (time-ordered), keeping the open one."""
        while len(events):
            t1 = self.t0_us + self.frame_us
            cut = int(np.searchsorted(events["t"], t1, side="left"))
            accumulate(events[:cut], self.t0_us, t1, self.counts)
            events = events[cut:]
            if len(events) == 0:
                break
            yield self.counts
            self.counts[...] = 0
            self.t0_us = t1


def write_png(path: Path, image: np.ndarray) -> None:
    if not cv2.imwrite(str(path), image):
        raise SourceError(f"{path}: cannot write the image")


def open_video(path: Path, geometry: Geometry, fps: float, scale: int) -> cv2.VideoWriter:
    """An MP4 writer (OpenCV, mp4v codec) for frames of the given geometry."""
    size = (geometry.width * scale, geometry.height * scale)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    if not writer.isOpened():
        raise SourceError(f"{path}: OpenCV cannot write an MP4 video here")
    return writer
