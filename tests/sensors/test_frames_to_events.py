"""Frame→event emulation: a moving edge in a real video file, determinism, errors, and the kernel vs a reference."""
from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from sensors.live.frames_kernels import NEVER_US, _frame_events
from sensors.live.frames_to_events import FrameEventConfig, FrameEventSource
from sensors.types import EVENT_DTYPE, Geometry, SourceError, check_events

WIDTH, HEIGHT, FPS = 64, 48, 30.0
DARK, BRIGHT = 30, 200
BAR_LEFT0, BAR_WIDTH, STEP_PX, N_FRAMES = 10, 6, 4, 10


def bar_frame(left: int) -> np.ndarray:
    frame = np.full((HEIGHT, WIDTH, 3), DARK, dtype=np.uint8)
    frame[:, left:left + BAR_WIDTH] = BRIGHT
    return frame


def write_video(path: Path, frames: list[np.ndarray], fourcc: str = "MJPG") -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), FPS, (WIDTH, HEIGHT))
    if not writer.isOpened():
        raise RuntimeError(f"cv2.VideoWriter cannot write {fourcc} to {path}")
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


@pytest.fixture
def moving_edge(tmp_path: Path) -> Path:
    """A bright vertical bar moving right by STEP_PX per frame over a dark background (MJPG in .avi)."""
    frames = [bar_frame(BAR_LEFT0 + STEP_PX * i) for i in range(N_FRAMES)]
    return write_video(tmp_path / "edge.avi", frames)


def read_all(source: FrameEventSource) -> list[np.ndarray]:
    batches = []
    while (batch := source.read()) is not None:
        assert batch.geometry == source.geometry
        batches.append(batch.events)
    return batches


def frame_time_us(index: int) -> int:
    return int(round(index * 1e6 / FPS))


def test_moving_edge_gives_on_at_leading_and_off_at_trailing_columns(moving_edge: Path):
    source = FrameEventSource(str(moving_edge), FrameEventConfig())
    assert source.format == "frames"
    assert source.geometry == Geometry(WIDTH, HEIGHT)
    batches = read_all(source)
    source.close()
    assert len(batches) == N_FRAMES - 1
    for k, events in enumerate(batches, start=1):
        left_prev, left_now = BAR_LEFT0 + STEP_PX * (k - 1), BAR_LEFT0 + STEP_PX * k
        on, off = events[events["p"] == 1], events[events["p"] == 0]
        # leading edge: columns that turned bright; trailing edge: columns that turned dark
        assert set(np.unique(on["x"]).tolist()) == set(range(left_prev + BAR_WIDTH, left_now + BAR_WIDTH))
        assert set(np.unique(off["x"]).tolist()) == set(range(left_prev, left_now))
        assert set(np.unique(events["y"]).tolist()) == set(range(HEIGHT))


def test_events_are_time_ordered_and_between_the_frame_times(moving_edge: Path):
    source = FrameEventSource(moving_edge, FrameEventConfig(threshold_on=0.1, threshold_off=0.1))
    for k, events in enumerate(read_all(source), start=1):
        check_events(events, source.geometry, name=f"frame {k}")
        assert len(events) > 0
        assert np.all(np.diff(events["t"]) >= 0)
        assert events["t"].min() >= frame_time_us(k - 1)
        assert events["t"].max() <= frame_time_us(k)
        # several thresholds per step: the crossings spread over the interval
        assert len(np.unique(events["t"])) > 1


def test_same_video_twice_gives_identical_events(moving_edge: Path):
    config = FrameEventConfig(threshold_on=0.15, threshold_off=0.25, refractory_us=5000)
    first = np.concatenate(read_all(FrameEventSource(moving_edge, config)), dtype=EVENT_DTYPE)
    second = np.concatenate(read_all(FrameEventSource(moving_edge, config)), dtype=EVENT_DTYPE)
    assert first.dtype == EVENT_DTYPE
    assert len(first) > 0
    assert np.array_equal(first, second)


def test_still_video_gives_no_events_after_the_first_frame(tmp_path: Path):
    path = write_video(tmp_path / "still.avi", [bar_frame(20)] * 8)
    source = FrameEventSource(path, FrameEventConfig(threshold_on=0.05, threshold_off=0.05))
    batches = read_all(source)
    assert len(batches) == 7
    assert all(len(events) == 0 for events in batches)
    assert source.read() is None


def test_resize_sets_the_geometry_and_keeps_events_on_sensor(moving_edge: Path):
    source = FrameEventSource(moving_edge, FrameEventConfig(resize=(32, 24)))
    assert source.geometry == Geometry(32, 24)
    events = np.concatenate(read_all(source), dtype=EVENT_DTYPE)
    assert len(events) > 0
    check_events(events, source.geometry)


def test_unreadable_inputs_raise_one_line_source_errors(tmp_path: Path):
    missing = tmp_path / "missing.avi"
    with pytest.raises(SourceError, match="missing.avi: no such file"):
        FrameEventSource(missing, FrameEventConfig())
    not_video = tmp_path / "notes.avi"
    not_video.write_text("not a video\n")
    with pytest.raises(SourceError) as info:
        FrameEventSource(str(not_video), FrameEventConfig())
    assert "notes.avi" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(SourceError, match="camera 97: no such camera"):
        FrameEventSource(97, FrameEventConfig())


@pytest.mark.parametrize(
    ("key", "kwargs"),
    [
        ("threshold_on", {"threshold_on": 0.0}),
        ("threshold_off", {"threshold_off": float("nan")}),
        ("refractory_us", {"refractory_us": -1}),
        ("eps", {"eps": -0.1}),
        ("resize", {"resize": (0, 10)}),
    ],
)
def test_config_errors_name_the_key(key: str, kwargs: dict):
    with pytest.raises(ValueError, match=f"FrameEventConfig.{key}:"):
        FrameEventConfig(**kwargs)


def reference_frame_events(log_prev, log_now, t_prev_us, t_now_us, ref_log, last_t_us, th_on, th_off, refractory_us):
    """Plain-Python change detector: one pixel at a time, one crossing at a time (mutates ref_log, last_t_us)."""
    events = []
    height, width = log_now.shape
    for y in range(height):
        for x in range(width):
            l0, l1, ref = float(log_prev[y, x]), float(log_now[y, x]), float(ref_log[y, x])
            if l1 - ref >= th_on:
                step, n, polarity = th_on, math.floor((l1 - ref) / th_on), 1
            elif ref - l1 >= th_off:
                step, n, polarity = -th_off, math.floor((ref - l1) / th_off), 0
            else:
                continue
            for k in range(1, n + 1):
                level = ref + k * step
                frac = min(max((level - l0) / (l1 - l0), 0.0), 1.0)
                t_us = t_prev_us + math.floor(frac * (t_now_us - t_prev_us) + 0.5)
                if t_us - last_t_us[y, x] >= refractory_us:
                    events.append((t_us, x, y, polarity))
                    last_t_us[y, x] = t_us
            ref_log[y, x] = ref + n * step
    return np.array(events, dtype=EVENT_DTYPE)


def run_kernel(log_prev, log_now, t_prev_us, t_now_us, ref_log, last_t_us, th_on, th_off, refractory_us, capacity):
    """Drive the kernel the way FrameEventSource does, growing a deliberately small buffer."""
    out = np.zeros(capacity, dtype=EVENT_DTYPE)
    n, next_px, n_px = 0, 0, log_now.size
    while True:
        n, next_px = _frame_events(log_prev, log_now, t_prev_us, t_now_us, ref_log, last_t_us,
                                   th_on, th_off, refractory_us, next_px, out, n)
        if next_px >= n_px:
            return out[:n]
        grown = np.zeros(2 * len(out) + 1, dtype=EVENT_DTYPE)
        grown[:n] = out[:n]
        out = grown


@pytest.mark.parametrize("refractory_us", [0, 4000, 50_000])
def test_kernel_matches_plain_python_reference_on_random_frames(refractory_us: int):
    rng = np.random.default_rng(11)
    height, width, n_frames = 4, 5, 12
    logs = np.log(rng.random((n_frames, height, width)) + 0.02)
    th_on, th_off = 0.15, 0.25
    ref_k, ref_r = logs[0].copy(), logs[0].copy()
    last_k = np.full((height, width), NEVER_US, dtype=np.int64)
    last_r = last_k.copy()
    total = 0
    for k in range(1, n_frames):
        t_prev, t_now = frame_time_us(k - 1), frame_time_us(k)
        got = run_kernel(logs[k - 1], logs[k], t_prev, t_now, ref_k, last_k, th_on, th_off, refractory_us, capacity=3)
        want = reference_frame_events(logs[k - 1], logs[k], t_prev, t_now, ref_r, last_r, th_on, th_off,
                                      refractory_us)
        assert np.array_equal(got, want)
        assert np.array_equal(ref_k, ref_r)
        assert np.array_equal(last_k, last_r)
        total += len(got)
    assert total > 50


def test_kernel_times_crossings_on_the_interpolated_ramp_and_applies_refractory():
    log_prev = np.array([[0.0, 1.0]])
    log_now = np.array([[1.0, 0.0]])
    ref_log = log_prev.copy()
    last_t_us = np.full((1, 2), NEVER_US, dtype=np.int64)
    out = np.zeros(16, dtype=EVENT_DTYPE)
    n, next_px = _frame_events(log_prev, log_now, 0, 1000, ref_log, last_t_us, 0.25, 0.3, 0, 0, out, 0)
    assert next_px == 2
    # pixel 0 rises 0→1: ON at levels 0.25, 0.5, 0.75, 1.0; pixel 1 falls 1→0: OFF at 0.7, 0.4, 0.1
    assert out[:n]["t"].tolist() == [250, 500, 750, 1000, 300, 600, 900]
    assert out[:n]["p"].tolist() == [1, 1, 1, 1, 0, 0, 0]
    assert out[:n]["x"].tolist() == [0, 0, 0, 0, 1, 1, 1]
    assert ref_log[0, 0] == pytest.approx(1.0) and ref_log[0, 1] == pytest.approx(0.1)
    assert last_t_us.tolist() == [[1000, 900]]

    ref_log = log_prev.copy()
    last_t_us = np.full((1, 2), NEVER_US, dtype=np.int64)
    n, _ = _frame_events(log_prev, log_now, 0, 1000, ref_log, last_t_us, 0.25, 0.3, 400, 0, out, 0)
    assert out[:n]["t"].tolist() == [250, 750, 300, 900]
    assert ref_log[0, 0] == pytest.approx(1.0)
