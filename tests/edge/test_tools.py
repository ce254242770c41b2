"""info / convert / render on the shared recordings: detection by content, exact round trips, pictures."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.config import load_config
from edge.replay import replay
from edge.tools import convert, describe, render
from sensors.source import open_source
from sensors.types import EVENT_DTYPE, SourceError

DATA = Path(os.environ.get("NEUROEDGE_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
EVENTS = DATA / "events"
RECORDINGS = ["dvs.es", "dvs.aedat4", "evt2.raw", "evt2_sample.raw", "evt3_sample.raw", "evt3_sample.npy"]
pytestmark = pytest.mark.skipif(not EVENTS.is_dir(), reason=f"shared recordings missing: {EVENTS}")


def read_all(path) -> np.ndarray:
    source = open_source(path)
    parts = []
    while (batch := source.read()) is not None:
        parts.append(batch.events.copy())
    source.close()
    return np.concatenate(parts, dtype=EVENT_DTYPE)


@pytest.mark.parametrize("name", RECORDINGS)
def test_convert_round_trips_exactly_to_npy(tmp_path, name):
    out = tmp_path / "out.npy"
    summary = convert(str(EVENTS / name), str(out))
    original, converted = read_all(EVENTS / name), np.load(out)
    assert summary["events"] == len(original) == len(converted)
    for field in "txyp":
        assert np.array_equal(original[field], converted[field])


@pytest.mark.parametrize("name", ["evt3_sample.raw", "dvs.es"])
def test_convert_round_trips_exactly_to_aedat4(tmp_path, name):
    out = tmp_path / "out.aedat4"
    convert(str(EVENTS / name), str(out))
    original, converted = read_all(EVENTS / name), read_all(out)
    assert np.array_equal(original, converted)
    info = describe(str(out))
    side = describe(str(EVENTS / name))
    assert (info["width"], info["height"], info["events"]) == (side["width"], side["height"], side["events"])


def test_format_is_detected_from_content_not_extension(tmp_path):
    disguised = tmp_path / "recording.aedat4"
    shutil.copy(EVENTS / "evt3_sample.raw", disguised)
    assert describe(str(disguised))["format"] == "evt3"


def test_convert_refuses_unknown_output_and_overwriting_the_input(tmp_path):
    with pytest.raises(SourceError, match="cannot write .txt"):
        convert(str(EVENTS / "dvs.es"), str(tmp_path / "x.txt"))
    copy = tmp_path / "x.npy"
    convert(str(EVENTS / "dvs.es"), str(copy))
    with pytest.raises(SourceError, match="overwrite the input"):
        convert(str(copy), str(copy))


def test_render_png_window_shows_events_and_mp4_has_frames(tmp_path):
    png = tmp_path / "w.png"
    render(str(EVENTS / "dvs.aedat4"), str(png), at_us=500_000, window_us=20_000, fps=100.0, scale=1)
    image = cv2.imread(str(png))
    assert image.shape == (240, 320, 3)
    assert np.count_nonzero(np.any(image != 128, axis=2)) > 100
    mp4 = tmp_path / "all.mp4"
    result = render(str(EVENTS / "evt2_sample.raw"), str(mp4), at_us=None, window_us=0, fps=1000.0, scale=1)
    video = cv2.VideoCapture(str(mp4))
    assert video.isOpened() and int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == result["frames"] == 51


# every shared recording (sidecars aside), found in the directory rather than listed, so a new file is covered
SHARED = sorted(p.name for p in EVENTS.iterdir() if p.suffix != ".json") if EVENTS.is_dir() else []
UNSUPPORTED = {"color.es": "color", "generic.es": "generic"}  # Event Stream types without polarity events
HAND_BLOCKS = {"dvs.es": 100, "dvs.aedat4": 100, "evt2.raw": 10, "evt2.aedat4": 10, "evt2_sample.raw": 6,
               "evt2_sample.aedat4": 6, "evt3_sample.raw": 1, "evt3_sample.aedat4": 1, "evt3_sample.npy": 6}


def expected_format(name: str) -> str:
    stem, suffix = name.rsplit(".", 1)
    return stem.split("_")[0] if suffix == "raw" else suffix  # evt2*.raw -> evt2, evt3*.raw -> evt3


def test_shared_recordings_cover_every_reader():
    supported = [name for name in SHARED if name not in UNSUPPORTED]
    assert sorted(supported) == sorted(HAND_BLOCKS)
    assert {expected_format(name) for name in supported} == {"es", "aedat4", "evt2", "evt3", "npy"}
    assert set(UNSUPPORTED) <= set(SHARED)


@pytest.mark.parametrize("name", SHARED)
def test_replay_accepts_every_format(name):
    """Replay reads the whole recording (the event count, geometry and time span ``info`` reports, which
    are the sidecar's figures), emits one action per block of run.block_ticks ticks from the first event's
    tick to the last event's block, and is deterministic (the same file twice: the same actions hash)."""
    path, config = str(EVENTS / name), load_config(None)
    if name in UNSUPPORTED:
        for attempt in (lambda: describe(path), lambda: replay(path, config, seed=1, speed=None)):
            with pytest.raises(SourceError, match=f"type '{UNSUPPORTED[name]}' is not supported"):
                attempt()
        return
    info = describe(path)
    sidecar = json.loads((EVENTS / f"{name}.json").read_text())
    assert info["format"] == expected_format(name)
    assert (info["width"], info["height"], info["events"], info["t_first_us"], info["t_last_us"]) == (
        sidecar["width"], sidecar["height"], sidecar["n_events"], sidecar["t_first_us"], sidecar["t_last_us"])

    summary = replay(path, config, seed=1, speed=None)
    assert {key: summary[key] for key in ("format", "width", "height", "events")} == {
        key: info[key] for key in ("format", "width", "height", "events")}
    assert summary["duration_us"] == info["t_last_us"] - info["t_first_us"]
    dt_us, block_ticks = config.run.dt_us, config.run.block_ticks
    t0_us = info["t_first_us"] // dt_us * dt_us  # blocks start at the first event's tick
    blocks = (info["t_last_us"] - t0_us) // (dt_us * block_ticks) + 1  # the last event's block is the last
    assert summary["actions"] == blocks and summary["ticks"] == blocks * block_ticks
    # by hand from the sidecars: (t_last - t0) // 10 ms + 1, e.g. evt2: (913812095 - 913716000) // 10000 + 1
    assert summary["actions"] == HAND_BLOCKS[name]

    again = replay(path, config, seed=1, speed=None)
    assert len(summary["actions_sha256"]) == 64
    assert {k: v for k, v in again.items() if k not in ("wall_s", "realtime_factor")} == {
        k: v for k, v in summary.items() if k not in ("wall_s", "realtime_factor")}


@pytest.mark.parametrize("source", ["dvs.es", "evt2.raw", "evt2_sample.raw", "evt3_sample.raw"])
def test_replay_of_an_aedat4_conversion_gives_the_source_s_actions(source):
    """The AEDAT4 conversions hold the same events (see the data README), so the same actions: the hash
    depends on the events, not on the file format; and on the seed (it hashes the network's output)."""
    config = load_config(None)
    original = replay(str(EVENTS / source), config, seed=1, speed=None)
    converted = replay(str(EVENTS / f"{source.rsplit('.', 1)[0]}.aedat4"), config, seed=1, speed=None)
    assert (original["format"], converted["format"]) == (expected_format(source), "aedat4")
    assert converted["actions_sha256"] == original["actions_sha256"]
    assert converted["actions"] == original["actions"] and converted["events"] == original["events"]
    if source == "dvs.es":  # 100 blocks of a busy scene: another seed gives other weights, other actions
        assert replay(str(EVENTS / source), config, seed=2, speed=None)["actions_sha256"] != original["actions_sha256"]
