"""End-to-end tests of ``neuroedge run``: a real subprocess on real loopback sockets, checkpoints on disk.

Hermetic: free loopback ports, LINGER 0, every receive and every wait has a deadline, every process is killed.
"""
import json
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import zmq

sys.path.insert(0, str(Path(__file__).parent))
import helpers  # noqa: E402
from helpers import DEADLINE_S, STARTUP_S, Proc, control, eventually, make_socket, wait_ready, wait_status  # noqa: E402

from edge.checkpoint import load_checkpoint  # noqa: E402

STATUS_KEYS = ("ticks", "ticks_per_s", "overruns", "actions", "mean_reward", "on_target")


def test_actions_are_published_and_run_ends_cleanly(tmp_path):
    cfg, tables = helpers.daemon_config(tmp_path)
    ckpt = Path(tables["checkpoint"]["path"])
    actions = []
    with helpers.zmq_context() as ctx, Proc(["run", "--seconds", 4, "--config", cfg], tmp_path) as proc:
        sub = make_socket(ctx, zmq.SUB)
        sub.setsockopt(zmq.SUBSCRIBE, b"action")
        sub.connect(tables["bus"]["actions"])
        end = time.monotonic() + STARTUP_S
        while time.monotonic() < end:
            if sub.poll(100):
                actions.append(sub.recv_multipart(zmq.NOBLOCK))
            elif not proc.alive():
                break
        else:
            pytest.fail(f"daemon still running after {STARTUP_S} s\n{proc.describe()}")
        assert proc.wait() == 0, proc.describe()

    assert len(actions) >= 10, proc.describe()
    messages = []
    for frames in actions:
        assert len(frames) == 2 and frames[0] == b"action"
        msg = json.loads(frames[1])
        assert set(msg) >= {"seq", "t_us", "wall_ns", "name", "values"}
        assert msg["name"] == "pan"
        assert len(msg["values"]) == 2 and all(-80.0 <= v <= 80.0 for v in msg["values"])
        messages.append(msg)
    seqs = [m["seq"] for m in messages]
    assert all(b > a for a, b in zip(seqs, seqs[1:])), seqs
    t_us = [m["t_us"] for m in messages]
    assert all(b > a for a, b in zip(t_us, t_us[1:]))
    assert ckpt.is_file()
    assert any(line.startswith("status ") for line in proc.stdout().splitlines()), proc.describe()


def test_control_status_pause_resume_checkpoint_stop_and_bad_requests(tmp_path):
    cfg, tables = helpers.daemon_config(tmp_path)
    address = tables["bus"]["control"]
    with helpers.zmq_context() as ctx, Proc(["run", "--config", cfg], tmp_path) as proc:
        status = wait_ready(proc, address)
        assert status["ok"] is True
        assert all(key in status for key in STATUS_KEYS), status
        assert status["state"] == "running"

        assert control(address, "pause") == {"ok": True, "state": "paused"}
        paused = control(address, "status")
        assert paused["state"] == "paused"
        # the tick count must stay put: ask repeatedly over a bounded window
        window_end, polls = time.monotonic() + 0.3, 0
        while time.monotonic() < window_end or polls < 2:
            helpers.pace(0.05)
            again = control(address, "status")
            assert again["state"] == "paused" and again["ticks"] == paused["ticks"], (paused, again)
            polls += 1

        assert control(address, "resume") == {"ok": True, "state": "running"}
        wait_status(proc, address, lambda s: s["state"] == "running" and s["ticks"] > paused["ticks"],
                    "ticks to advance after resume")

        reply = control(address, "checkpoint")
        assert reply["ok"] is True and Path(reply["path"]).is_file(), reply

        reply = control(address, "frobnicate")
        assert reply["ok"] is False and "frobnicate" in reply["error"], reply

        req = make_socket(ctx, zmq.REQ)
        req.connect(address)
        req.send(b'{"cmd": "status",')  # truncated JSON
        assert req.poll(int(DEADLINE_S * 1000)), "no reply to a malformed request"
        reply = json.loads(req.recv())
        assert reply["ok"] is False and "JSON" in reply["error"], reply
        after = control(address, "status")
        assert after["ok"] is True and after["malformed_messages"] >= 1

        assert control(address, "stop")["ok"] is True
        assert proc.wait(DEADLINE_S) == 0, proc.describe()


def _run_recording(tmp_path: Path, name: str, send_reward: bool) -> tuple[dict, dict]:
    """Run the daemon on the 1 s recording in real time, optionally rewarding it; return (final arrays, status)."""
    cfg, tables = helpers.daemon_config(
        tmp_path / name, source={"kind": "file", "path": str(helpers.dvs_path())},
        run={"realtime": True, "seed": 5}, learning={"enabled": True})
    address = tables["bus"]["control"]
    with helpers.zmq_context() as ctx, Proc(["run", "--config", cfg], tmp_path / name) as proc:
        wait_ready(proc, address)
        # hold the recording at its start while the reward publisher connects
        assert control(address, "pause")["ok"] is True
        last = None
        if send_reward:
            pub = make_socket(ctx, zmq.PUB)
            pub.connect(tables["bus"]["reward"])

            def send_until(condition, what):
                def attempt():
                    pub.send_multipart([b"reward", b'{"value": 1.0}'])
                    status = control(address, "status")
                    if condition(status):
                        return status
                    helpers.pace(0.02)
                    return None
                return eventually(attempt, what, DEADLINE_S, proc)

            connected = send_until(lambda s: s["rewards_received"] > 0, "the reward publisher to be connected")
            assert control(address, "resume")["ok"] is True
            last = send_until(lambda s: s["rewards_received"] > connected["rewards_received"] and s["ticks"] > 0,
                              "rewards to arrive while the recording plays")
            end = time.monotonic() + STARTUP_S
            while proc.alive() and time.monotonic() < end:  # keep rewarding until the recording ends
                pub.send_multipart([b"reward", b'{"value": 1.0}'])
                helpers.pace(0.02)
        else:
            assert control(address, "resume")["ok"] is True
        assert proc.wait(STARTUP_S) == 0, proc.describe()
    arrays, meta = load_checkpoint(Path(tables["checkpoint"]["path"]))
    return arrays, {"meta": meta, "status": last, "tables": tables, "cfg": cfg}


def test_external_reward_over_zmq_changes_the_weights(tmp_path):
    (tmp_path / "rewarded").mkdir()
    (tmp_path / "plain").mkdir()
    rewarded, info = _run_recording(tmp_path, "rewarded", send_reward=True)
    plain, plain_info = _run_recording(tmp_path, "plain", send_reward=False)
    assert info["status"]["rewards_received"] > 0
    assert rewarded["projection/input_motor/weight_mv"].shape == plain["projection/input_motor/weight_mv"].shape
    assert not np.array_equal(rewarded["projection/input_motor/weight_mv"], plain["projection/input_motor/weight_mv"])

    # without reward there is no dopamine on an open-loop recording: the weights are the initial ones
    from edge.config import load_config
    from edge.pipeline import build_pipeline

    fresh = build_pipeline(load_config(plain_info["cfg"])).backend.state()
    np.testing.assert_array_equal(plain["projection/input_motor/weight_mv"], fresh["projection/input_motor/weight_mv"])


def test_checkpoint_kill_resume_restores_weights_exactly(tmp_path):
    bus = helpers.free_bus()
    ckpt_path = tmp_path / "ckpt" / "neuroedge.ckpt"
    cfg, tables = helpers.daemon_config(tmp_path, "learn.toml", bus=bus, learning={"enabled": True})
    address = bus["control"]
    with Proc(["run", "--config", cfg], tmp_path) as proc:
        wait_ready(proc, address)
        wait_status(proc, address, lambda s: s["ticks"] >= 300, "some learning to happen")
        reply = control(address, "checkpoint")
        assert reply["ok"] is True, reply
        saved, saved_meta = load_checkpoint(Path(reply["path"]))
        proc.signal(signal.SIGKILL)
        assert proc.wait() == -signal.SIGKILL
    assert Path(reply["path"]) == ckpt_path
    assert saved_meta["ticks"] >= 300

    cfg2, _ = helpers.daemon_config(tmp_path, "frozen.toml", bus=helpers.free_bus(), learning={"enabled": False})
    with Proc(["run", "--resume", "--seconds", 0.05, "--config", cfg2], tmp_path) as proc:
        assert proc.wait(STARTUP_S) == 0, proc.describe()
        assert f"resumed learned state from {ckpt_path}" in proc.stdout(), proc.describe()
    final, final_meta = load_checkpoint(ckpt_path)
    assert final_meta["ticks"] == 50
    assert np.array_equal(final["projection/input_motor/weight_mv"], saved["projection/input_motor/weight_mv"])
    assert np.array_equal(final["network/reward_baseline"], saved["network/reward_baseline"])


def test_sigterm_stops_gracefully_with_a_final_checkpoint(tmp_path):
    cfg, tables = helpers.daemon_config(tmp_path)
    ckpt = Path(tables["checkpoint"]["path"])
    with Proc(["run", "--config", cfg], tmp_path) as proc:
        wait_ready(proc, tables["bus"]["control"])
        wait_status(proc, tables["bus"]["control"], lambda s: s["ticks"] > 0, "ticks > 0")
        assert not ckpt.exists()
        proc.signal(signal.SIGTERM)
        assert proc.wait() == 0, proc.describe()
    arrays, meta = load_checkpoint(ckpt)
    assert meta["ticks"] > 0 and meta["kind"] == "tracking"


def _short_run(tmp_path: Path, cfg: Path, *extra: str) -> Proc:
    with Proc(["run", "--seconds", 0.05, "--config", cfg, *extra], tmp_path) as proc:
        proc.wait(STARTUP_S)
    return proc


def test_corrupt_checkpoint_falls_back_to_prev_then_refuses(tmp_path):
    cfg, tables = helpers.daemon_config(tmp_path, run={"realtime": False})
    ckpt = Path(tables["checkpoint"]["path"])
    prev = ckpt.with_name(ckpt.name + ".prev")
    for _ in range(2):
        proc = _short_run(tmp_path, cfg)
        assert proc.popen.returncode == 0, proc.describe()
    assert ckpt.is_file() and prev.is_file()
    prev_arrays, _ = load_checkpoint(prev)

    ckpt.write_bytes(b"garbage, not a zip archive\n" * 10)
    proc = _short_run(tmp_path, cfg, "--resume")
    assert proc.popen.returncode == 0, proc.describe()
    lines = helpers.stderr_lines(proc.stderr())
    assert len(lines) == 1 and str(ckpt) in lines[0] and "corrupt" in lines[0], proc.describe()
    assert f"resumed learned state from {prev}" in proc.stdout(), proc.describe()
    assert "Traceback" not in proc.stderr()
    load_checkpoint(ckpt)  # the run's final checkpoint replaced the garbage
    assert np.array_equal(load_checkpoint(prev)[0]["projection/input_motor/weight_mv"], prev_arrays["projection/input_motor/weight_mv"])  # .prev kept

    ckpt.write_bytes(b"\x00garbage" * 50)
    prev.write_bytes(b"PK\x03\x04 still garbage")
    proc = _short_run(tmp_path, cfg, "--resume")
    assert proc.popen.returncode == 2, proc.describe()
    lines = helpers.stderr_lines(proc.stderr())
    assert len(lines) == 1 and str(ckpt) in lines[0], proc.describe()
    assert "Traceback" not in proc.stderr()


def test_malformed_reward_messages_keep_the_daemon_up(tmp_path):
    cfg, tables = helpers.daemon_config(tmp_path)
    address = tables["bus"]["control"]
    with helpers.zmq_context() as ctx, Proc(["run", "--config", cfg], tmp_path) as proc:
        wait_ready(proc, address)
        pub = make_socket(ctx, zmq.PUB)
        pub.connect(tables["bus"]["reward"])

        def connected():
            pub.send_multipart([b"reward", b'{"value": 0.0}'])
            status = control(address, "status")
            return status if status["rewards_received"] > 0 else None

        eventually(connected, "the reward publisher to be connected", DEADLINE_S, proc)
        bad = [
            [b"reward", b'{"value": 1.0'],          # invalid JSON
            [b"reward", b'{"valeur": 1.0}'],        # missing "value"
            [b"reward", b'{"value": "high"}'],      # a string value
            [b"reward"],                            # one frame
            [b"reward", b'{"value": 1.0}', b"x"],   # three frames
        ]
        for frames in bad:
            pub.send_multipart(frames)
        status = wait_status(proc, address, lambda s: s["malformed_messages"] >= len(bad) - 1,
                             "malformed messages to be counted")
        assert status["ok"] is True and proc.alive()
        assert control(address, "status")["state"] == "running"
        assert control(address, "stop")["ok"] is True
        assert proc.wait() == 0, proc.describe()


def test_rewards_received_while_paused_reach_the_next_block(tmp_path):
    # open loop on a recording: the only reward is the external one, so mean_reward > 0 iff a reward was applied
    cfg, tables = helpers.daemon_config(tmp_path, source={"kind": "file", "path": str(helpers.dvs_path())},
                                        run={"realtime": True})
    address = tables["bus"]["control"]
    with helpers.zmq_context() as ctx, Proc(["run", "--config", cfg], tmp_path) as proc:
        wait_ready(proc, address)
        assert control(address, "pause")["ok"] is True
        pub = make_socket(ctx, zmq.PUB)
        pub.connect(tables["bus"]["reward"])

        def rewarded():
            pub.send_multipart([b"reward", b'{"value": 1.0}'])
            status = control(address, "status")
            if status["rewards_received"] > 0:
                return status
            helpers.pace(0.02)
            return None

        paused = eventually(rewarded, "a reward to be received while paused", DEADLINE_S, proc)
        assert paused["mean_reward"] == 0.0
        assert control(address, "resume")["ok"] is True
        after = wait_status(proc, address, lambda s: s["ticks"] > paused["ticks"], "ticks to advance after resume")
        assert after["mean_reward"] > 0.0, (paused, after)
