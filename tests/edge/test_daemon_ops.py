"""Operating the daemon under abuse and change: control and reward floods do not stall the actions, the memory
can be cleared and its ``store`` command is rate-limited, JSON-lines logs, SIGHUP reloads what it may.

Real subprocesses, real loopback sockets (free ports, LINGER 0), real signals; every wait has a deadline.
"""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import zmq

sys.path.insert(0, str(Path(__file__).parent))
import helpers  # noqa: E402
from helpers import DEADLINE_S, Proc, control, eventually, make_socket, wait_ready, wait_status  # noqa: E402

from edge.bus import Bus, control_request, parse_action  # noqa: E402
from edge.config import MemoryConfig, config_from_dict  # noqa: E402
from edge.daemon import CHECKPOINT_REQUEST_MIN_S  # noqa: E402
from edge.drivers import MAX_LABELS_PER_BLOCK, AudioDriver  # noqa: E402
from edge.memory_stage import MemoryStage  # noqa: E402
from snn.memory.hippocampus import HippocampusConfig  # noqa: E402

MAX_ACTION_GAP_S = 0.2  # blocks are 10 ms; 300 checkpoints froze the actions 0.86 s (here ~3 s) before the fix


class ActionGaps:
    """Receives actions on a SUB socket and records the longest gap between two of them as the daemon published
    them (their ``wall_ns``), so the receiver's own pauses do not count."""

    def __init__(self, sub: zmq.Socket) -> None:
        self.sub = sub
        self.count = 0
        self.longest_s = 0.0
        self._last_ns: int | None = None

    def take(self, seconds: float) -> None:
        """Receive for ``seconds`` (each wait bounded)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if self.sub.poll(20):
                while True:
                    try:
                        wall_ns = parse_action(self.sub.recv_multipart(zmq.NOBLOCK))["wall_ns"]
                    except zmq.Again:
                        break
                    if self._last_ns is not None:
                        self.longest_s = max(self.longest_s, (wall_ns - self._last_ns) * 1e-9)
                    self._last_ns = wall_ns
                    self.count += 1


def dealer_replies(dealer: zmq.Socket, n: int, gaps: ActionGaps) -> list[dict]:
    """``n`` replies ``[b"", json]`` from a DEALER, receiving actions meanwhile."""
    replies: list[dict] = []
    end = time.monotonic() + DEADLINE_S
    while len(replies) < n and time.monotonic() < end:
        gaps.take(0.02)
        while len(replies) < n and dealer.poll(0):
            empty, payload = dealer.recv_multipart(zmq.NOBLOCK)
            replies.append(json.loads(payload))
    assert len(replies) == n, f"{len(replies)} of {n} replies"
    return replies


def test_floods_of_checkpoints_statuses_and_rewards_do_not_stall_the_actions(tmp_path):
    cfg, tables = helpers.daemon_config(tmp_path, run={"realtime": True})
    bus = tables["bus"]
    with helpers.zmq_context() as ctx, Proc(["run", "--config", cfg], tmp_path) as proc:
        sub = make_socket(ctx, zmq.SUB)
        sub.setsockopt(zmq.SUBSCRIBE, b"action")
        sub.connect(bus["actions"])
        wait_ready(proc, bus["control"])
        gaps = ActionGaps(sub)
        eventually(lambda: gaps.take(0.05) or (gaps.count >= 5 or None), "actions flowing", proc=proc)

        dealer = make_socket(ctx, zmq.DEALER)
        dealer.connect(bus["control"])
        gaps.longest_s = 0.0
        for _ in range(300):
            dealer.send_multipart([b"", b'{"cmd": "checkpoint"}'])
        replies = dealer_replies(dealer, 300, gaps)
        written = [r for r in replies if r["ok"]]
        busy = [r for r in replies if not r["ok"]]
        assert 1 <= len(written) <= 2 and Path(written[0]["path"]).is_file(), written
        assert all(r["error"].startswith("checkpoint: busy") and "\n" not in r["error"] for r in busy), busy[:3]
        gaps.take(0.2)
        assert gaps.longest_s < MAX_ACTION_GAP_S, f"actions stalled {gaps.longest_s:.3f} s by 300 checkpoints"

        gaps.longest_s = 0.0
        for _ in range(2000):
            dealer.send_multipart([b"", b"status"])
        assert all(r["ok"] for r in dealer_replies(dealer, 2000, gaps))
        assert gaps.longest_s < MAX_ACTION_GAP_S, f"actions stalled {gaps.longest_s:.3f} s by 2000 statuses"

        pub = make_socket(ctx, zmq.PUB)
        pub.setsockopt(zmq.SNDHWM, 0)
        pub.connect(bus["reward"])
        eventually(lambda: pub.send_multipart([b"reward", b'{"value": 0.0}'])
                   or (control(bus["control"], "status")["rewards_received"] > 0 or None), "rewards arriving", proc=proc)
        gaps.longest_s = 0.0
        for _ in range(20_000):
            pub.send_multipart([b"reward", b'{"value": 0.001}'])
        status = wait_status(proc, bus["control"], lambda s: s["rewards_received"] > 10_000, "the reward flood")
        gaps.take(0.2)
        assert gaps.longest_s < MAX_ACTION_GAP_S, f"actions stalled {gaps.longest_s:.3f} s by 20000 rewards"
        assert status["control_refused"] == len(busy) and status["malformed_messages"] == 0, status
        proc.signal(signal.SIGTERM)
        assert proc.wait() == 0, proc.describe()


def test_a_label_flood_teaches_at_most_max_labels_per_block(tmp_path):
    wav = tmp_path / "quiet.wav"
    sf.write(wav, np.zeros(8000, np.float32), 16000, subtype="PCM_16")
    config = config_from_dict({"source": {"kind": "audio", "path": str(wav)}, "bus": helpers.free_bus(),
                               "checkpoint": {"path": str(tmp_path / "a.ckpt")}})
    driver = AudioDriver(config)
    with helpers.zmq_context() as ctx, Bus(config.bus) as bus:
        pub = make_socket(ctx, zmq.PUB)
        pub.connect(config.bus.reward)

        def connected():
            pub.send_multipart([b"reward", b'{"value": 0.0}'])
            helpers.pace(0.01)
            return driver.receive(bus) or None
        eventually(connected, "the reward publisher to be connected")
        for i in range(100):
            pub.send_multipart([b"reward", json.dumps({"label": str(i % 10)}).encode()])
        helpers.pace(0.3)  # all 100 queued on loopback
        driver.receive(bus)
    driver.close()
    status = driver.status(0.0)
    assert status["labels"] == MAX_LABELS_PER_BLOCK and status["labels_dropped"] == 100 - MAX_LABELS_PER_BLOCK, status


SMALL = HippocampusConfig(n_dg=400, dg_fan_in=8, n_ca3=200, mossy_fan_in=40, n_labels=4)


def test_store_on_command_obeys_max_stores_per_s_and_clear_forgets():
    stage = MemoryStage(MemoryConfig(enabled=True, store="command", min_activity=1, max_stores_per_s=2,
                                      hippocampus=SMALL), 16, None)
    stage.observe_vector(np.arange(16.0), 0)
    stage.store_on_command(1, now_s=10.0)
    stage.store_on_command(None, now_s=10.5)
    with pytest.raises(ValueError, match=r"memory: refused, 2 stores in the last second \(memory.max_stores_per_s = 2\)"):
        stage.store_on_command(2, now_s=10.9)
    assert stage.stored == 2 and stage.stores_refused == 1
    stage.store_on_command(3, now_s=11.0)  # the first has left the last second
    assert stage.stored == 3
    assert stage.clear() == 3 and stage.stored == 0 and stage.clear() == 0
    assert stage.hippocampus.recall(np.arange(16.0)).label == -1  # nothing left to recall
    status = stage.status()
    assert status["memory_clears"] == 1 and status["memory_stores_refused"] == 1 and not status["memory_full"]


def test_memory_clear_and_store_rate_over_the_bus(tmp_path):
    memory = {"enabled": True, "store": "command", "min_activity": 1, "max_stores_per_s": 2}
    cfg, tables = helpers.daemon_config(tmp_path, memory=memory)
    address = tables["bus"]["control"]
    with Proc(["run", "--config", cfg], tmp_path) as proc:
        wait_ready(proc, address)
        wait_status(proc, address, lambda s: s["memory_windows"] >= 2, "2 memory windows")
        assert control(address, "pause")["ok"] is True
        assert control_request(address, "store", label=1)["n_stored"] == 1
        assert control_request(address, "store")["n_stored"] == 2
        refused = control_request(address, "store", label=2)
        assert refused["ok"] is False and "memory.max_stores_per_s = 2" in refused["error"], refused
        assert control(address, "status")["memory_stores_refused"] == 1

        assert control(address, "memory_clear") == {"ok": True, "cleared": 2, "n_stored": 0}
        status = control(address, "status")
        assert status["memory_stored"] == 0 and status["memory_clears"] == 1, status
        assert control(address, "stop")["ok"] is True
        assert proc.wait(DEADLINE_S) == 0, proc.describe()

    cfg2, tables2 = helpers.daemon_config(tmp_path, "plain.toml")
    with Proc(["run", "--config", cfg2, "--seconds", 30], tmp_path) as proc:
        wait_ready(proc, tables2["bus"]["control"])
        reply = control(tables2["bus"]["control"], "memory_clear")
        assert reply["ok"] is False and "memory is disabled" in reply["error"], reply
        assert control(tables2["bus"]["control"], "stop")["ok"] is True
        assert proc.wait(DEADLINE_S) == 0


def json_lines(text: str) -> list[dict]:
    """Every non-empty line parsed as one JSON object with the log keys (fails naming the line otherwise)."""
    records = []
    for line in text.splitlines():
        if line.strip():
            record = json.loads(line)
            assert {"ts", "level", "logger", "event", "msg"} <= set(record), line
            records.append(record)
    return records


def test_json_logs_make_every_stdout_and_stderr_line_one_json_object(tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    cfg, tables = helpers.daemon_config(tmp_path, run={"status_interval_s": 0.2},
                                        checkpoint={"path": str(blocker / "c.ckpt"), "interval_s": 0.3})
    address = tables["bus"]["control"]
    with helpers.zmq_context() as ctx, Proc(["run", "--config", cfg, "--resume", "--log-format", "json"],
                                            tmp_path) as proc:
        wait_ready(proc, address)
        req = make_socket(ctx, zmq.REQ)
        req.connect(address)
        req.send(b'{"cmd": "status",')  # malformed: a warning from neuroedge.bus
        assert req.poll(int(DEADLINE_S * 1000)) and json.loads(req.recv())["ok"] is False
        wait_status(proc, address, lambda s: s["checkpoint_failures"] >= 1 and s["uptime_s"] >= 1.0,
                    "a second of running and a failed checkpoint")
        assert control(address, "stop")["ok"] is True
        assert proc.wait(DEADLINE_S) == 0, proc.describe()
    out, err = json_lines(proc.stdout()), json_lines(proc.stderr())
    assert [r["event"] for r in out][0] == "started" and out[0]["control"] == address
    statuses = [r for r in out if r["event"] == "status"]
    assert len(statuses) >= 3 and all(r["level"] == "info" and r["ticks"] >= 0 for r in statuses), out
    assert all(r["level"] == "warning" for r in err), err
    events = {(r["logger"], r["event"]) for r in err}
    assert {("neuroedge.daemon", "resume_fresh"), ("neuroedge.daemon", "checkpoint_failed"),
            ("neuroedge.bus", "log")} <= events, events
    failed = next(r for r in err if r["event"] == "checkpoint_failed")
    assert failed["path"] == str(blocker / "c.ckpt") and failed["failures"] == 1 and str(blocker) in failed["error"]


def json_statuses(proc: Proc, n: int) -> list[dict] | None:
    """The JSON status lines on the daemon's stdout once there are ``n`` (after a short pause), else None."""
    helpers.pace(0.05)
    lines = [json.loads(line) for line in proc.stdout().splitlines() if line.startswith("{")]
    statuses = [r for r in lines if r["event"] == "status"]
    return statuses if len(statuses) >= n else None


def test_json_logs_capture_stray_stderr_lines_and_the_command_error(tmp_path):
    code = ("import sys, warnings; from edge.logs import configure; configure('json', capture_stderr=True); "
            "print('warning: numerical guard: projection/x held non-finite values', file=sys.stderr); "
            "warnings.warn('a library warning'); print('neuroedge run: error: x.toml.run.dt_us: 0', file=sys.stderr)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=DEADLINE_S,
                            cwd=helpers.REPO)
    guard, warned, error = json_lines(result.stderr)
    assert (guard["logger"], guard["level"]) == ("neuroedge.stderr", "warning") and guard["msg"].startswith("numerical")
    assert warned["logger"] == "py.warnings" and "a library warning" in warned["msg"], warned
    assert error["level"] == "error" and error["msg"] == "neuroedge run: error: x.toml.run.dt_us: 0", error

    bad = tmp_path / "bad.toml"
    bad.write_text("[run]\nblock_ticks = 1000000000\n", encoding="utf-8")
    result = helpers.run_cli(["run", "--config", bad, "--log-format", "json"], tmp_path)
    (line,) = json_lines(result.stderr)
    assert result.returncode == 2 and result.stdout == "" and line["level"] == "error", result.stderr
    assert line["msg"].endswith("bad.toml.run.block_ticks: 1000000000 outside 1..100000"), line


def test_sighup_reloads_what_it_may_and_refuses_the_rest(tmp_path):
    tables = {"run": {"seed": 3, "status_interval_s": 30.0}, "bus": helpers.free_bus(),
              "checkpoint": {"path": str(tmp_path / "c.ckpt"), "interval_s": 300.0}}
    cfg = helpers.write_config(tmp_path / "reload.toml", tables)
    address = tables["bus"]["control"]
    with Proc(["run", "--config", cfg], tmp_path) as proc:
        assert wait_ready(proc, address)["status_interval_s"] == 30.0

        helpers.write_config(cfg, {**tables, "run": {"seed": 3, "status_interval_s": 0.1},
                                   "checkpoint": {**tables["checkpoint"], "interval_s": 100.0},
                                   "log": {"format": "json"}})
        proc.signal(signal.SIGHUP)
        status = wait_status(proc, address, lambda s: s["reloads"] == 1, "the reload")
        assert (status["status_interval_s"], status["checkpoint_interval_s"]) == (0.1, 100.0), status
        eventually(lambda: json_statuses(proc, 3), "JSON status lines every 0.1 s", proc=proc)

        helpers.write_config(cfg, {**tables, "network": {"n_per_group": 4}})
        proc.signal(signal.SIGHUP)
        wait_status(proc, address, lambda s: s["reloads_refused"] == 1, "the refusal of a network change")
        refusal = json.loads(proc.stderr().splitlines()[-1])
        assert refusal["event"] == "reload_refused" and refusal["level"] == "warning", refusal
        assert "network.n_per_group" in refusal["keys"] and "run.status_interval_s" not in refusal["keys"], refusal

        cfg.write_text("[run\n", encoding="utf-8")
        proc.signal(signal.SIGHUP)
        status = wait_status(proc, address, lambda s: s["reloads_refused"] == 2, "the refusal of a broken file")
        assert "not valid TOML" in json.loads(proc.stderr().splitlines()[-1])["msg"]
        assert status["status_interval_s"] == 0.1 and status["reloads"] == 1 and status["checkpoints"] >= 3, status
        proc.signal(signal.SIGTERM)
        assert proc.wait() == 0, proc.describe()
    assert len(proc.stderr().splitlines()) == 2, proc.describe()


def test_a_checkpoint_request_is_refused_while_the_last_is_recent(tmp_path):
    cfg, tables = helpers.daemon_config(tmp_path)
    address = tables["bus"]["control"]
    with Proc(["run", "--config", cfg, "--seconds", 30], tmp_path) as proc:
        wait_ready(proc, address)
        assert control(address, "checkpoint")["ok"] is True
        busy = control(address, "checkpoint")
        assert busy["ok"] is False and f"at most one every {CHECKPOINT_REQUEST_MIN_S:g} s" in busy["error"], busy
        helpers.pace(CHECKPOINT_REQUEST_MIN_S)
        assert control(address, "checkpoint")["ok"] is True
        assert control(address, "status")["control_refused"] == 1
        assert control(address, "stop")["ok"] is True
        assert proc.wait(DEADLINE_S) == 0
