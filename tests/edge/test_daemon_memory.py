"""End-to-end tests of the hippocampal memory in ``neuroedge run``: real subprocesses, real loopback sockets,
checkpoints on disk. ``recall``/``novelty`` actions on the PUB socket, the ``store`` control command, the
memory in the checkpoint and back after ``--resume``; audio: one recall/novelty pair per utterance.

Hermetic: free loopback ports, LINGER 0, every receive and every wait has a deadline, every process is killed.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import soundfile as sf
import zmq

sys.path.insert(0, str(Path(__file__).parent))
import helpers  # noqa: E402
from helpers import DEADLINE_S, STARTUP_S, Proc, control, eventually, make_socket, wait_ready  # noqa: E402

from edge.bus import control_request, parse_action  # noqa: E402
from edge.checkpoint import load_checkpoint  # noqa: E402
from edge.hearing import load_model  # noqa: E402

WINDOW_US = 50_000
K_CA3 = 50  # default HippocampusConfig: 5 % of 1000 CA3 cells
MEMORY_KEYS = {"memory.ca3_recurrent", "memory.perforant", "memory.ca1_readout", "memory.n_stored"}


def store(address: str, **fields) -> dict:
    return control_request(address, "store", timeout_ms=5000, **fields)


def receive(sub: zmq.Socket, proc: Proc, until, what: str, deadline_s: float = DEADLINE_S) -> list[dict]:
    """Actions from ``sub`` (parsed and checked) until ``until(messages)`` holds."""
    messages: list[dict] = []

    def attempt():
        if sub.poll(50):
            messages.append(parse_action(sub.recv_multipart(zmq.NOBLOCK)))
        return messages if until(messages) else None
    return eventually(attempt, what, deadline_s, proc)


def drain(sub: zmq.Socket, quiet_ms: int = 300) -> list[dict]:
    messages = []
    while sub.poll(quiet_ms):
        messages.append(parse_action(sub.recv_multipart(zmq.NOBLOCK)))
    return messages


def check_memory_actions(messages: list[dict], word: str) -> None:
    """One seq sequence over all names, t_us never going back, recall+novelty pairs with well-formed values."""
    seqs = [m["seq"] for m in messages]
    assert all(b > a for a, b in zip(seqs, seqs[1:])), seqs
    t_us = [m["t_us"] for m in messages]
    assert all(b >= a for a, b in zip(t_us, t_us[1:])), t_us
    assert {m["name"] for m in messages} <= {word, "recall", "novelty"}
    for a, b in zip(messages, messages[1:]):
        if a["name"] == "recall":
            assert b["name"] == "novelty" and b["seq"] == a["seq"] + 1 and b["t_us"] == a["t_us"], (a, b)
            label, confidence = a["values"]
            novelty, stored = b["values"]
            assert type(label) is int and -1 <= label < 10 and 0.0 <= confidence <= 1.0, a
            assert 0.0 <= novelty <= 1.0 and stored in (0, 1), b


def test_scene_recall_novelty_store_checkpoint_and_resume(tmp_path):
    memory = {"enabled": True, "store": "novelty", "min_activity": 1}  # only empty windows skipped: store works
    cfg, tables = helpers.daemon_config(tmp_path, "novelty.toml", run={"realtime": True}, memory=memory)
    bus, ckpt = tables["bus"], Path(tables["checkpoint"]["path"])
    with helpers.zmq_context() as ctx:
        sub = make_socket(ctx, zmq.SUB)
        sub.setsockopt(zmq.SUBSCRIBE, b"action")
        sub.connect(bus["actions"])
        with Proc(["run", "--config", cfg], tmp_path) as proc:
            wait_ready(proc, bus["control"])
            messages = receive(sub, proc, lambda ms: sum(m["name"] == "novelty" for m in ms) >= 4,
                               "4 novelty actions")
            check_memory_actions(messages, "pan")
            recalls = [m for m in messages if m["name"] == "recall"]
            assert all(m["t_us"] % WINDOW_US == 0 for m in recalls), recalls
            assert any(m["name"] == "pan" for m in messages)

            assert control(bus["control"], "pause")["ok"] is True
            before = control(bus["control"], "status")
            assert before["memory_windows"] >= 4 and before["memory_stored"] >= 1, before  # the first is novel
            assert 0.0 <= before["last_novelty"] <= 1.0

            reply = store(bus["control"], label=3)
            assert reply == {"ok": True, "stored": K_CA3, "n_stored": before["memory_stored"] + 1}, reply
            reply = store(bus["control"])  # no label: stored again, without one
            assert reply["ok"] is True and reply["n_stored"] == before["memory_stored"] + 2, reply
            n_stored = reply["n_stored"]

            for bad in ("3", 3.5, 10, -1, True, [3]):
                reply = store(bus["control"], label=bad)
                assert reply["ok"] is False and "label" in reply["error"], (bad, reply)
            after = control(bus["control"], "status")
            assert proc.alive() and after["ok"] is True and after["memory_stored"] == n_stored, after

            assert control(bus["control"], "stop")["ok"] is True
            assert proc.wait(DEADLINE_S) == 0, proc.describe()

    arrays, meta = load_checkpoint(ckpt)
    assert MEMORY_KEYS <= set(arrays) and int(arrays["memory.n_stored"][0]) == n_stored
    assert arrays["memory.perforant"].shape == (128, 1000) and meta["memory"]["n_input"] == 128
    final_line = [line for line in proc.stdout().splitlines() if line.startswith("status ")][-1]
    assert f" memory_stored={n_stored} " in final_line, final_line

    # resume in command mode (nothing stored on its own): the memory comes back as it was
    cfg2, tables2 = helpers.daemon_config(tmp_path, "command.toml", run={"realtime": True},
                                          checkpoint=tables["checkpoint"], memory={**memory, "store": "command"})
    with Proc(["run", "--resume", "--config", cfg2], tmp_path) as proc2:
        status = wait_ready(proc2, tables2["bus"]["control"])
        assert status["memory_stored"] == n_stored, status
        assert f"resumed learned state from {ckpt}" in proc2.stdout(), proc2.describe()
        resumed = wait_status_windows(proc2, tables2["bus"]["control"])
        assert resumed["memory_stored"] == n_stored, resumed
        assert control(tables2["bus"]["control"], "stop")["ok"] is True
        assert proc2.wait(DEADLINE_S) == 0, proc2.describe()
    assert proc2.stderr().strip() == "", proc2.describe()


def wait_status_windows(proc: Proc, address: str) -> dict:
    return helpers.wait_status(proc, address, lambda s: s["memory_windows"] >= 2, "2 memory windows")


def test_store_without_memory_and_resume_errors(tmp_path):
    cfg, tables = helpers.daemon_config(tmp_path, "plain.toml", run={"realtime": True})
    address = tables["bus"]["control"]
    with Proc(["run", "--config", cfg], tmp_path) as proc:
        status = wait_ready(proc, address)
        assert "memory_stored" not in status and "last_novelty" not in status
        reply = store(address, label=1)
        assert reply["ok"] is False and "memory is disabled" in reply["error"], reply
        assert control(address, "stop")["ok"] is True
        assert proc.wait(DEADLINE_S) == 0, proc.describe()
    arrays, _ = load_checkpoint(Path(tables["checkpoint"]["path"]))
    assert not any(k.startswith("memory.") for k in arrays)

    # a checkpoint without a memory, resumed with one: an empty memory and one warning line
    cfg2, _ = helpers.daemon_config(tmp_path, "memory.toml", run={"realtime": False},
                                    checkpoint=tables["checkpoint"], memory={"enabled": True})
    result = helpers.run_cli(["run", "--resume", "--config", cfg2, "--seconds", 0.3], tmp_path)
    assert result.returncode == 0, result.stderr
    lines = helpers.stderr_lines(result.stderr)
    assert len(lines) == 1 and "holds no memory" in lines[0] and "empty memory" in lines[0], result.stderr
    final_line = [line for line in result.stdout.splitlines() if line.startswith("status ")][-1]
    assert " memory_windows=6 " in final_line, final_line
    assert MEMORY_KEYS <= set(load_checkpoint(Path(tables["checkpoint"]["path"]))[0])

    # a memory that does not fit the configured one: refused, one line
    cfg3, _ = helpers.daemon_config(tmp_path, "other.toml", checkpoint=tables["checkpoint"],
                                    memory={"enabled": True}, **{"memory.hippocampus": {"n_ca3": 500}})
    result = helpers.run_cli(["run", "--resume", "--config", cfg3, "--seconds", 0.1], tmp_path)
    lines = helpers.stderr_lines(result.stderr)
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert "memory does not fit" in lines[0] and "n_ca3" in lines[0] and "Traceback" not in result.stderr


SAMPLE_RATE_HZ = 16000
LEAD_S, BURST_S, GAP_S = 0.4, 0.25, 0.35
TONES_HZ = (440.0, 1000.0, 2500.0)


def write_tones(path: Path) -> Path:
    """Silence, then one tone burst per frequency, each followed by silence (16 kHz, mono, 10 ms fades)."""
    t = np.arange(round(BURST_S * SAMPLE_RATE_HZ)) / SAMPLE_RATE_HZ
    ramp = np.minimum(1.0, np.minimum(t, BURST_S - t) / 0.01)
    parts = [np.zeros(round(LEAD_S * SAMPLE_RATE_HZ), np.float32)]
    for f in TONES_HZ:
        parts += [(0.5 * ramp * np.sin(2 * np.pi * f * t)).astype(np.float32),
                  np.zeros(round(GAP_S * SAMPLE_RATE_HZ), np.float32)]
    sf.write(path, np.concatenate(parts), SAMPLE_RATE_HZ, subtype="PCM_16")
    return path


def test_audio_utterances_give_recall_and_novelty(tmp_path):
    wav = write_tones(tmp_path / "tones.wav")
    # paced to the audio time, so the subscriber (connected before the daemon binds) misses nothing
    cfg, tables = helpers.daemon_config(tmp_path, bus=helpers.free_bus(), run={"realtime": True},
                                        source={"kind": "audio", "path": str(wav)}, memory={"enabled": True})
    with helpers.zmq_context() as ctx:
        sub = make_socket(ctx, zmq.SUB)
        sub.setsockopt(zmq.SUBSCRIBE, b"action")
        sub.connect(tables["bus"]["actions"])
        with Proc(["run", "--config", cfg, "--seconds", 30], tmp_path) as proc:
            assert proc.wait(STARTUP_S) == 0, proc.describe()
            messages = drain(sub)
    assert [m["name"] for m in messages] == ["word", "recall", "novelty"] * len(TONES_HZ), messages
    assert [m["seq"] for m in messages] == list(range(3 * len(TONES_HZ)))
    check_memory_actions(messages, "word")
    novelty = [m["values"] for m in messages if m["name"] == "novelty"]
    assert novelty[0] == [1.0, 1], novelty  # the first utterance meets an empty memory: novel, stored
    final_line = [line for line in proc.stdout().splitlines() if line.startswith("status ")][-1]
    n_stored = sum(stored for _, stored in novelty)
    assert f" memory_stored={n_stored} memory_windows={len(TONES_HZ)} " in final_line, final_line

    ckpt = Path(tables["checkpoint"]["path"])
    arrays, meta = load_checkpoint(ckpt)
    assert meta["kind"] == "hearing" and MEMORY_KEYS <= set(arrays)
    assert arrays["memory.perforant"].shape == (meta["memory"]["n_input"], 1000)
    assert load_model(ckpt).net.n_map == meta["memory"]["n_input"]  # still a loadable hearing model
