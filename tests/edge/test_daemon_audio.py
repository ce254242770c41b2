"""End-to-end tests of ``neuroedge run`` on audio: a real WAV file, a real subprocess, real loopback sockets.

Words are published as ``word`` actions, labels arrive as reward and teach the network, the checkpoint is a
hearing model. Hermetic: free loopback ports, LINGER 0, every receive and every wait has a deadline.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import zmq

sys.path.insert(0, str(Path(__file__).parent))
import helpers  # noqa: E402
from helpers import DEADLINE_S, STARTUP_S, Proc, control, eventually, make_socket, wait_ready, wait_status  # noqa: E402

from edge.checkpoint import load_checkpoint  # noqa: E402
from edge.config import ConfigError, config_from_dict, load_config  # noqa: E402
from edge.hearing import load_model  # noqa: E402

SAMPLE_RATE_HZ = 16000
LEAD_S, BURST_S, GAP_S, TAIL_S = 1.0, 0.3, 0.5, 0.5
TONES_HZ = (440.0, 1000.0, 2500.0)
BURST_STARTS_S = tuple(LEAD_S + i * (BURST_S + GAP_S) for i in range(len(TONES_HZ)))


def write_tones(path: Path) -> Path:
    """Silence, then one 0.3 s tone burst per frequency, each followed by 0.5 s of silence (16 kHz, mono)."""
    def silence(seconds: float) -> np.ndarray:
        return np.zeros(round(seconds * SAMPLE_RATE_HZ), np.float32)

    t = np.arange(round(BURST_S * SAMPLE_RATE_HZ)) / SAMPLE_RATE_HZ
    ramp = np.minimum(1.0, np.minimum(t, BURST_S - t) / 0.01)  # 10 ms fades: no clicks
    parts = [silence(LEAD_S)]
    for i, f in enumerate(TONES_HZ):
        parts += [(0.5 * ramp * np.sin(2 * np.pi * f * t)).astype(np.float32),
                  silence(GAP_S if i < len(TONES_HZ) - 1 else TAIL_S)]
    sf.write(path, np.concatenate(parts), SAMPLE_RATE_HZ, subtype="PCM_16")
    return path


def audio_config(tmp_path: Path, name: str, wav: Path, **tables: dict) -> tuple[Path, dict]:
    return helpers.daemon_config(tmp_path, name, bus=helpers.free_bus(),
                                 source={"kind": "audio", "path": str(wav)}, **tables)


def recv_words(sub: zmq.Socket, n: int, proc: Proc, deadline_s: float = DEADLINE_S) -> list[dict]:
    """The next ``n`` messages on ``sub`` as dicts (each checked to be a well-formed ``word`` action)."""
    words: list[dict] = []

    def attempt():
        if sub.poll(50):
            frames = sub.recv_multipart(zmq.NOBLOCK)
            assert len(frames) == 2 and frames[0] == b"action", frames
            msg = json.loads(frames[1])
            assert set(msg) >= {"seq", "t_us", "wall_ns", "name", "values"} and msg["name"] == "word", msg
            words.append(msg)
        return words if len(words) >= n else None
    return eventually(attempt, f"{n} word action(s)", deadline_s, proc)


def test_words_labels_malformed_checkpoint_and_resume(tmp_path):
    wav = write_tones(tmp_path / "tones.wav")
    # real-time pacing holds the file long enough to pause it, teach it and inspect it
    cfg, tables = audio_config(tmp_path, "live.toml", wav, run={"realtime": True, "status_interval_s": 0.5},
                               hearing={"learn": True, "chunk_ms": 32.0})
    bus, ckpt = tables["bus"], Path(tables["checkpoint"]["path"])
    with helpers.zmq_context() as ctx:
        sub = make_socket(ctx, zmq.SUB)
        sub.setsockopt(zmq.SUBSCRIBE, b"action")
        sub.connect(bus["actions"])  # before the daemon binds: no word can be missed
        with Proc(["run", "--config", cfg, "--seconds", 30], tmp_path) as proc:
            ready = wait_ready(proc, bus["control"])
            assert control(bus["control"], "pause") == {"ok": True, "state": "paused"}
            status = control(bus["control"], "status")
            assert status["source"] == {"format": "audio"} and status["learn"] is True
            assert status["audio_s"] <= status["uptime_s"] + 0.1, status  # paced to the audio time
            assert all(k in ready for k in ("utterances", "labels", "updates", "last_word", "audio_s", "actions"))

            pub = make_socket(ctx, zmq.PUB)
            pub.connect(bus["reward"])

            def connected():  # a bare value has no effect on audio, but is counted: proves the connection
                pub.send_multipart([b"reward", b'{"value": 0.0}'])
                s = control(bus["control"], "status")
                return s if s["rewards_received"] > 0 else None
            eventually(connected, "the reward publisher to be connected", DEADLINE_S, proc)

            assert control(bus["control"], "resume")["ok"] is True
            first = recv_words(sub, 1, proc)[0]
            assert control(bus["control"], "pause")["ok"] is True
            label_index, confidence, start_s = first["values"]
            assert abs(start_s - BURST_STARTS_S[0]) < 0.1 and 0.0 <= confidence <= 1.0, first
            assert first["t_us"] > start_s * 1e6 and label_index == 0  # a fresh model: all drives zero

            pub.send_multipart([b"reward", b'{"label": "1"}'])
            taught = wait_status(proc, bus["control"], lambda s: s["labels"] >= 1, "the label to be taught")
            assert taught["labels"] == 1 and taught["updates"] == 1 and taught["utterances"] == 1, taught

            bad = [b'{"label": "banana"}', b'{"label": [1]}', b'{"nothing": 1}', b'{"label": "1"']
            for payload in bad:
                pub.send_multipart([b"reward", payload])
            pub.send_multipart([b"reward", b'{"label": 1}'])  # sentinel: an integer label, after the bad ones
            after = wait_status(proc, bus["control"], lambda s: s["labels"] >= 2, "the sentinel label")
            assert after["malformed_messages"] == len(bad), after
            assert after["state"] == "paused" and proc.alive()
            assert "\n" not in after["last_error"] and after["last_error"].startswith("reward message: ")

            assert control(bus["control"], "resume")["ok"] is True
            rest = recv_words(sub, len(TONES_HZ) - 1, proc)
            assert proc.wait(DEADLINE_S) == 0, proc.describe()  # the end of the file ends the run
            assert not sub.poll(200), "more words than bursts"

    words = [first, *rest]
    assert [w["seq"] for w in words] == list(range(len(TONES_HZ)))
    assert all(abs(w["values"][2] - s) < 0.1 for w, s in zip(words, BURST_STARTS_S)), words
    final_line = [line for line in proc.stdout().splitlines() if line.startswith("status ")][-1]
    assert f"utterances={len(TONES_HZ)} labels=2 " in final_line and "malformed=4" in final_line, final_line

    _, meta = load_checkpoint(ckpt)
    assert meta["kind"] == "hearing" and meta["labels"] == 2 and meta["updates"] >= 1, meta
    learned = load_model(ckpt).net.state()["weights"]
    assert np.any(learned != 0.0)

    # resume with learning off and no pacing: the learned readout comes back and stays as it was
    cfg2, tables2 = audio_config(tmp_path, "resume.toml", wav, run={"realtime": False}, hearing={"learn": False})
    with Proc(["run", "--resume", "--config", cfg2, "--seconds", 30], tmp_path) as proc2:
        assert proc2.wait(STARTUP_S) == 0, proc2.describe()
    assert f"resumed learned state from {ckpt}" in proc2.stdout(), proc2.describe()
    final_line = [line for line in proc2.stdout().splitlines() if line.startswith("status ")][-1]
    assert f"utterances={len(TONES_HZ)} " in final_line and f"actions={len(TONES_HZ)} " in final_line, final_line
    np.testing.assert_array_equal(load_model(ckpt).net.state()["weights"], learned)
    assert load_checkpoint(ckpt.with_name(ckpt.name + ".prev"))[1]["labels"] == 2  # the taught model kept


def test_seconds_limit_counts_audio_time(tmp_path):
    wav = write_tones(tmp_path / "tones.wav")
    cfg, tables = audio_config(tmp_path, "short.toml", wav, run={"realtime": False})
    started = time.monotonic()
    with Proc(["run", "--config", cfg, "--seconds", BURST_STARTS_S[1]], tmp_path) as proc:
        assert proc.wait(STARTUP_S) == 0, proc.describe()
    assert time.monotonic() - started < STARTUP_S
    _, meta = load_checkpoint(Path(tables["checkpoint"]["path"]))
    assert meta["kind"] == "hearing" and meta["utterances"] == 1
    assert BURST_STARTS_S[1] <= meta["audio_s"] < BURST_STARTS_S[1] + 0.1, meta


def _microphone_problem() -> str | None:
    """What the one error line must say on this machine: how to install PortAudio when it is missing, that
    there is no input device when there is none; None when there is a microphone (the test is skipped)."""
    from sensors.audio.sources import list_input_devices
    from sensors.types import SourceError

    try:
        return None if list_input_devices() else "no audio input device"
    except SourceError:  # no PortAudio library: no microphone either
        return "apt-get install libportaudio2"


@pytest.mark.skipif(_microphone_problem() is None, reason="this machine has an audio input device")
def test_microphone_without_a_device_exits_2_with_one_line(tmp_path):
    cfg, _ = helpers.daemon_config(tmp_path, source={"kind": "microphone"})
    result = helpers.run_cli(["run", "--config", cfg, "--seconds", 1], tmp_path)
    lines = helpers.stderr_lines(result.stderr)
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert "default microphone" in lines[0] and "Traceback" not in result.stderr
    assert _microphone_problem() in lines[0], lines[0]


def test_bad_hearing_model_and_kind_mismatch_exit_2_with_one_line(tmp_path):
    wav = write_tones(tmp_path / "tones.wav")
    cfg, _ = audio_config(tmp_path, "nomodel.toml", wav, hearing={"model": str(tmp_path / "missing.model")})
    result = helpers.run_cli(["run", "--config", cfg], tmp_path)
    lines = helpers.stderr_lines(result.stderr)
    assert result.returncode == 2 and len(lines) == 1 and "missing.model" in lines[0], result.stderr

    # an event daemon's checkpoint is not a hearing model: --resume refuses it
    ev_cfg, tables = helpers.daemon_config(tmp_path, "events.toml", run={"realtime": False})
    assert helpers.run_cli(["run", "--config", ev_cfg, "--seconds", 0.02], tmp_path).returncode == 0
    cfg, _ = audio_config(tmp_path, "mismatch.toml", wav, checkpoint=tables["checkpoint"])
    result = helpers.run_cli(["run", "--resume", "--config", cfg], tmp_path)
    lines = helpers.stderr_lines(result.stderr)
    assert result.returncode == 2 and len(lines) == 1 and "'tracking'" in lines[0], result.stderr


@pytest.mark.parametrize("table, key", [
    ({"source": {"kind": "audio"}}, "source.path"),
    ({"source": {"kind": "mic"}}, "source.kind"),
    ({"source": {"kind": "microphone", "geometry": "64x64"}}, "source.geometry"),
    ({"hearing": {"chunk_ms": 0}}, "hearing.chunk_ms"),
    ({"hearing": {"learn": "yes"}}, "hearing.learn"),
    ({"hearing": {"modle": "m.ckpt"}}, "hearing.modle"),
])
def test_audio_config_errors_name_the_key(table, key):
    with pytest.raises(ConfigError, match=rf"^config\.{key}: "):
        config_from_dict(table)


def test_hearing_launch_config_loads():
    config = load_config(helpers.REPO / "launch" / "hearing.toml")
    assert config.source.kind == "microphone" and config.source.is_audio
    assert config.hearing.model and config.hearing.learn and config.hearing.chunk_ms == 32.0
    assert config_from_dict({"source": {"kind": "microphone"}}).hearing.model == ""
