"""File tools behind the CLI: describe, convert and render recordings, streaming batch by batch.

Memory stays bounded by one batch (plus one frame when rendering), whatever the file size. Every recording is
read through ``TimeCheckedSource`` (sensors/formats/time_guard.py): its time anomalies are counted
(``time_anomalies`` in the result), reported on stderr in one line naming the file, and with ``strict``
refused (SourceError). A recording that holds no events is refused by ``describe`` and ``convert``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from sensors.render import FrameRenderer, accumulate, open_video, to_image, write_png
from edge.watched_source import open_recording
from sensors.formats.time_guard import TimeCheckedSource
from sensors.types import Geometry, SourceError
from sensors.formats.writers import open_writer

NO_EVENTS = {
    "dat": "a DAT header and no complete record",
    "es": "an Event Stream header and no complete event",
    "npy": "an array of 0 events",
    "aedat4": "an event stream without events",
}
"""Why a well-formed recording of each format gave no events (RAW: see ``_no_events``)."""


def describe_audio(path: str) -> dict:
    """``info`` on an audio file: its rate, channels and duration, and the level statistics (peak, RMS,
    clipped fraction, silent) of the file at its own rate, read in chunks."""
    from sensors.audio.sources import AudioFileSource, audio_stats

    with AudioFileSource(path) as probe:
        file_rate = probe.file_sample_rate
    peak = sum_sq = clipped = 0.0
    n = 0
    with AudioFileSource(path, sample_rate_hz=file_rate, chunk_samples=65536, mono=False) as source:
        while (chunk := source.read()) is not None:
            stats = audio_stats(chunk.samples)
            peak = max(peak, stats["peak"])
            sum_sq += stats["rms"] ** 2 * chunk.samples.size
            clipped += stats["clipped_fraction"] * chunk.samples.size
            n += chunk.samples.size
    rms = (sum_sq / n) ** 0.5 if n else 0.0
    return {"path": path, "format": "audio", "sample_rate": source.file_sample_rate, "channels": source.channels,
            "duration_s": round(source.duration_s, 6), "peak": round(peak, 6), "rms": round(rms, 6),
            "clipped_fraction": round(clipped / max(n, 1), 6), "silent": rms < 1e-4}


def open_checked(path: str, geometry: Geometry | None = None, strict: bool = False) -> TimeCheckedSource:
    """The recording at ``path`` (edge.watched_source.open_recording), its time checked; ``strict`` refuses it
    at its first time anomaly."""
    return TimeCheckedSource(open_recording(path, geometry), strict)


def warn_time_anomalies(source: TimeCheckedSource) -> None:
    """One line on stderr naming the file when it had time anomalies (their times were re-based)."""
    warning = source.warning()
    if warning is not None:
        print(warning, file=sys.stderr)


def _no_events(path: str, source: TimeCheckedSource) -> SourceError:
    """The error for a recording that gave no events, saying why as far as the format tells."""
    dropped = getattr(source.source, "dropped_out_of_range", 0)
    g = source.geometry
    if dropped:
        why = f"all {dropped} of its events lie outside the geometry {g.width}x{g.height} (see --geometry)"
    else:
        why = NO_EVENTS.get(source.format, "event words without a CD event")
    return SourceError(f"{path}: no events: {why}")


def describe(path: str, geometry: Geometry | None = None, strict: bool = False) -> dict:
    """``info``: format, geometry, event count, first and last timestamp (µs), time anomalies.

    SourceError when the recording holds no events, and with ``strict`` at its first time anomaly.
    """
    source = open_checked(path, geometry, strict)
    n, t_first, t_last = 0, None, None
    try:
        while (batch := source.read()) is not None:
            if len(batch.events):
                n += len(batch.events)
                t_first = int(batch.events["t"][0]) if t_first is None else t_first
                t_last = int(batch.events["t"][-1])
    finally:
        source.close()
    if n == 0:
        raise _no_events(path, source)
    warn_time_anomalies(source)
    return {"path": path, "format": source.format, "width": source.geometry.width,
            "height": source.geometry.height, "events": n, "t_first_us": t_first, "t_last_us": t_last,
            "time_anomalies": source.time_anomalies}


def convert(src: str, dst: str, geometry: Geometry | None = None, strict: bool = False) -> dict:
    """``convert``: copy every event of ``src`` to ``dst`` (.aedat4 or .npy); returns a summary.

    The output appears under ``dst`` only when the whole conversion succeeded (sensors/formats/writers.py):
    on any error (a corrupt input, no events, a time anomaly with ``strict``) nothing is left behind.
    """
    out = Path(dst)
    if out.resolve() == Path(src).resolve():
        raise SourceError(f"{dst}: output would overwrite the input")
    source = open_checked(src, geometry, strict)
    n = 0
    try:
        writer = open_writer(out, source.geometry)
        try:
            while (batch := source.read()) is not None:
                writer.write(batch)
                n += len(batch.events)
            if n == 0:
                raise _no_events(src, source)
        except BaseException:
            writer.abort()
            raise
        writer.close()
    finally:
        source.close()
    warn_time_anomalies(source)
    return {"input": src, "output": dst, "format": source.format, "events": n,
            "width": source.geometry.width, "height": source.geometry.height,
            "time_anomalies": source.time_anomalies}


def render(src: str, dst: str, at_us: int | None, window_us: int, fps: float, scale: int,
           geometry: Geometry | None = None) -> dict:
    """``render``: a PNG of one window [at, at + window) or an MP4 of the whole recording (by dst's extension)."""
    out = Path(dst)
    if out.suffix not in (".png", ".mp4"):
        raise SourceError(f"{dst}: render writes .png (one window) or .mp4 (whole recording)")
    source = open_checked(src, geometry)
    g = source.geometry
    frames = 0
    try:
        if out.suffix == ".png":
            counts = np.zeros((2, g.height, g.width), dtype=np.int32)
            start = at_us
            while (batch := source.read()) is not None:
                if len(batch.events) == 0:
                    continue
                start = int(batch.events["t"][0]) if start is None else start
                accumulate(batch.events, start, start + window_us, counts)
                if batch.events["t"][-1] >= start + window_us:
                    break
            write_png(out, to_image(counts, scale))
            frames = 1
        else:
            video = open_video(out, g, fps, scale)
            renderer = None
            try:
                while (batch := source.read()) is not None:
                    if len(batch.events) == 0:
                        continue
                    if renderer is None:
                        renderer = FrameRenderer(g, int(round(1e6 / fps)), int(batch.events["t"][0]))
                    for counts in renderer.feed(batch.events):
                        video.write(to_image(counts, scale))
                        frames += 1
                        if frames % 500 == 0:
                            print(f"render: {frames} frames", file=sys.stderr)
                if renderer is not None:
                    video.write(to_image(renderer.counts, scale))
                    frames += 1
            finally:
                video.release()
    finally:
        source.close()
    warn_time_anomalies(source)
    return {"input": src, "output": dst, "frames": frames, "width": g.width * scale, "height": g.height * scale}
