"""info / convert / render on the shared recordings: detection by content, exact round trips, pictures."""
from __future__ import annotations

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


@pytest.mark.parametrize("name", RECORDINGS)
def test_replay_accepts_every_format(name):
    summary = replay(str(EVENTS / name), load_config(None), seed=1, speed=None)
    assert summary["events"] > 0 and summary["actions"] > 0 and summary["format"] in name.replace("raw", "evt")
