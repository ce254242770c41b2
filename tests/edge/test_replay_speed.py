"""Pacing: the clocks' overrun tolerance, and ``replay`` pacing from ``--speed`` / ``--realtime`` / ``run.speed``.

Paced runs use a synthetic recording with 2 s of sensor time replayed at 4x (about 0.5 s of wall time); runs
that must not be paced use a pace that would take minutes, so they cannot pass by accident.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

sys.path.insert(0, str(Path(__file__).parent))
import helpers  # noqa: E402

from edge import clock as clock_module  # noqa: E402
from edge.cli import main  # noqa: E402
from edge.clock import WAKEUP_JITTER_S, RealtimeClock, ReplayClock, late_tolerance_s  # noqa: E402
from edge.config import RunConfig, load_config  # noqa: E402
from edge.replay import replay_speed  # noqa: E402

DT_US = 1000
BLOCK_TICKS = 10
N_TICKS = 2000  # 2 s of sensor time, one event per tick
SLOW = 0.01  # a pace at which the recording would take 200 s


# ----------------------------------------------------------------------------------------------- clocks


class FakeTime:
    """time.monotonic / time.sleep without waiting: ``sleep`` advances the clock, ``work`` simulates computing."""

    def __init__(self) -> None:
        self.now = 100.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.now += seconds

    def work(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def fake_time(monkeypatch) -> FakeTime:
    fake = FakeTime()
    monkeypatch.setattr(clock_module, "time", fake)
    return fake


def test_late_tolerance_is_wakeup_jitter_at_most_half_a_period():
    assert late_tolerance_s(0.010) == WAKEUP_JITTER_S == 0.002
    assert late_tolerance_s(0.001) == 0.0005
    assert late_tolerance_s(1.0) == WAKEUP_JITTER_S
    for bad in (0.0, -0.01):
        with pytest.raises(ValueError, match="period"):
            late_tolerance_s(bad)


def test_realtime_clock_counts_blocks_that_miss_their_period(fake_time):
    period_s = BLOCK_TICKS * DT_US * 1e-6
    clock = RealtimeClock(late_tolerance_s(period_s))
    t_us = 0
    clock.wait_until(t_us)  # starts the schedule
    for compute_s, overrun in [(0.004, False),                      # fits: sleeps the rest of the period
                               (period_s + 0.001, False),           # 1 ms late: within wake-up jitter
                               (period_s + 0.002, True),            # 3 ms late in all: an overrun
                               (2 * period_s, True)]:               # a whole period late: always an overrun
        before = clock.overruns
        fake_time.work(compute_s)
        t_us += BLOCK_TICKS * DT_US
        clock.wait_until(t_us)
        assert clock.overruns - before == overrun, compute_s


def test_realtime_clock_at_a_speed_and_resync(fake_time):
    clock = RealtimeClock(late_tolerance_s(0.005), speed=2.0)
    clock.wait_until(0)
    start = fake_time.now
    clock.wait_until(1_000_000)
    assert fake_time.now == pytest.approx(start + 0.5)  # 1 s of sensor time at 2x
    fake_time.work(10.0)  # a pause
    clock.resync()
    clock.wait_until(1_010_000)
    clock.wait_until(1_020_000)
    assert clock.overruns == 0
    with pytest.raises(ValueError, match="speed"):
        ReplayClock(0.0)


# ------------------------------------------------------------------------------------- pacing resolution


def write_config(tmp_path: Path, name: str, run: dict) -> Path:
    return helpers.write_config(tmp_path / name, {"run": run})


def test_replay_speed_precedence(tmp_path):
    paced = write_config(tmp_path, "paced.toml", {"realtime": True, "speed": 3.0})
    unpaced = write_config(tmp_path, "unpaced.toml", {"realtime": False, "speed": 3.0})
    unset = write_config(tmp_path, "unset.toml", {"speed": 3.0})
    run = RunConfig(speed=3.0)
    assert replay_speed(None, False, None, RunConfig()) is None  # today's default: as fast as possible
    assert replay_speed(None, False, paced, load_config(paced).run) == 3.0
    assert replay_speed(None, False, unpaced, load_config(unpaced).run) is None
    assert replay_speed(None, False, unset, load_config(unset).run) is None  # the daemon's default is not asked for
    assert replay_speed(5.0, False, paced, run) == 5.0  # --speed overrides
    assert replay_speed(None, True, paced, run) == 1.0  # --realtime is real time
    assert replay_speed(None, True, unpaced, run) == 1.0


# ------------------------------------------------------------------------------------------- the CLI


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    """2 s of sensor time on a 32x32 sensor, one event per millisecond."""
    rng = np.random.default_rng(0)
    events = np.zeros(N_TICKS, dtype=[("t", "<i8"), ("x", "<i2"), ("y", "<i2"), ("p", "u1")])
    events["t"] = np.arange(N_TICKS) * DT_US
    events["x"], events["y"] = rng.integers(0, 32, N_TICKS), rng.integers(0, 32, N_TICKS)
    events["p"] = rng.integers(0, 2, N_TICKS)
    path = tmp_path_factory.mktemp("recording") / "sparse.npy"
    np.save(path, events)
    return path


def replay_json(capsys, *args) -> dict:
    assert main(["replay", *map(str, args), "--json"]) == 0
    return json.loads(capsys.readouterr().out.splitlines()[-1])


def paced_wall_s(summary: dict, speed: float) -> float:
    """The wall time pacing alone takes: the first block's end starts the schedule, the last one's ends it."""
    return (summary["ticks"] - BLOCK_TICKS) * DT_US * 1e-6 / speed


def test_replay_speed_flag_paces(capsys, recording):
    fast = replay_json(capsys, recording, "--geometry", "32x32")  # also warms up the kernels
    assert fast["ticks"] == N_TICKS
    paced = replay_json(capsys, recording, "--geometry", "32x32", "--speed", 4)
    expected = paced_wall_s(paced, 4.0)
    assert expected == pytest.approx(0.4975)
    assert expected - 1e-3 <= paced["wall_s"] < 2.0, paced
    assert fast["wall_s"] < expected, fast  # pacing, not computing, is what took the time
    assert paced["actions_sha256"] == fast["actions_sha256"]  # pacing changes nothing else


def test_run_speed_from_the_config_paces_replay_and_speed_flag_overrides_it(capsys, recording, tmp_path):
    replay_json(capsys, recording, "--geometry", "32x32")  # warm-up
    cfg = write_config(tmp_path, "paced.toml", {"realtime": True, "speed": 4.0})
    paced = replay_json(capsys, recording, "--geometry", "32x32", "--config", cfg)
    assert paced_wall_s(paced, 4.0) - 1e-3 <= paced["wall_s"] < 2.0, paced

    # run.speed alone (realtime not set, or false) leaves replay as fast as possible: at 0.01 it would take 200 s
    for name, run in (("unset.toml", {"speed": SLOW}), ("off.toml", {"realtime": False, "speed": SLOW})):
        fast = replay_json(capsys, recording, "--geometry", "32x32", "--config", write_config(tmp_path, name, run))
        assert fast["wall_s"] < 2.0, fast

    # --speed overrides the config's run.speed
    slow_cfg = write_config(tmp_path, "slow.toml", {"realtime": True, "speed": SLOW})
    overridden = replay_json(capsys, recording, "--geometry", "32x32", "--config", slow_cfg, "--speed", 4)
    assert paced_wall_s(overridden, 4.0) - 1e-3 <= overridden["wall_s"] < 2.0, overridden


def test_audio_replay_honours_run_speed(capsys, tmp_path):
    wav = tmp_path / "tone.wav"
    t = np.arange(16000) / 16000
    sf.write(wav, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 16000)
    fast = replay_json(capsys, wav)  # warm-up, as fast as possible
    cfg = write_config(tmp_path, "paced.toml", {"realtime": True, "speed": 2.0})
    paced = replay_json(capsys, wav, "--config", cfg)
    assert paced["actions_sha256"] == fast["actions_sha256"]
    # 1 s of audio in 4096-sample chunks: the first chunk (0.256 s) starts the schedule, the last ends it
    expected = (1.0 - 4096 / 16000) / 2.0
    assert expected - 1e-3 <= paced["wall_s"] < 2.0 and fast["wall_s"] < expected, (fast, paced)
