"""Faults around the daemon that must not stop it: SIGHUP (a checkpoint, then on), its stdout's reader going
away (``run | head -1``), a full checkpoint disk (logged with the path, counted, retried), poisoned rewards."""
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import zmq

sys.path.insert(0, str(Path(__file__).parent))
import helpers  # noqa: E402
from helpers import Proc, control, wait_ready, wait_status  # noqa: E402

from edge.checkpoint import load_checkpoint  # noqa: E402


def test_sighup_writes_a_checkpoint_and_the_daemon_carries_on(tmp_path):
    cfg, tables = helpers.daemon_config(tmp_path, checkpoint={"interval_s": 300.0})
    ckpt = Path(tables["checkpoint"]["path"])
    address = tables["bus"]["control"]
    with Proc(["run", "--config", cfg], tmp_path) as proc:
        wait_ready(proc, address)
        wait_status(proc, address, lambda s: s["ticks"] > 100, "ticks > 100")
        assert not ckpt.exists()
        proc.signal(signal.SIGHUP)
        helpers.eventually(lambda: ckpt.exists() or None, "a checkpoint after SIGHUP", proc=proc)
        ticks = control(address, "status")["ticks"]
        wait_status(proc, address, lambda s: s["ticks"] > ticks, "ticks going on after SIGHUP")
        assert proc.alive()
        proc.signal(signal.SIGTERM)
        assert proc.wait() == 0, proc.describe()


def test_a_closed_stdout_does_not_stop_the_daemon(tmp_path):
    cfg, tables = helpers.daemon_config(tmp_path, run={"status_interval_s": 0.2})
    run = subprocess.Popen(helpers.neuroedge_cmd() + ["run", "--config", str(cfg), "--seconds", "2"], cwd=tmp_path,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    run.stdout.readline()
    run.stdout.close()  # the reader goes away, as `| head -1` does
    assert run.wait(helpers.STARTUP_S) == 0, run.stderr.read().decode()[-2000:]
    assert load_checkpoint(Path(tables["checkpoint"]["path"]))[1]["ticks"] == 2000


def test_a_full_checkpoint_disk_is_survived_and_named(tmp_path):
    full = tmp_path / "full"
    full.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=120k", "tmpfs", str(full)], capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        cfg, _ = helpers.daemon_config(tmp_path, run={"realtime": False},
                                       checkpoint={"path": str(full / "c.ckpt"), "interval_s": 0.01})
        result = helpers.run_cli(["run", "--config", cfg, "--seconds", 20], tmp_path)
        assert result.returncode == 0, result.stderr[-2000:]
        warnings = [line for line in result.stderr.splitlines() if "No space left" in line]
        assert warnings and str(full / "c.ckpt") in warnings[0]
        assert len(warnings) < 10  # logged 1st, 2nd, 4th, ... time, not every time
    finally:
        subprocess.run(["umount", str(full)], capture_output=True)


def test_poisoned_rewards_are_refused_and_the_weights_stay_finite(tmp_path):
    cfg, tables = helpers.daemon_config(tmp_path)
    address = tables["bus"]["control"]
    with Proc(["run", "--config", cfg], tmp_path) as proc, helpers.zmq_context() as ctx:
        wait_ready(proc, address)
        pub = helpers.make_socket(ctx, zmq.PUB)
        pub.connect(tables["bus"]["reward"])
        helpers.pace(0.5)
        for value in (b"-1.7e308", b"-1.7e308", b"1e300", b"NaN", b"Infinity"):
            pub.send_multipart([b"reward", b'{"value": ' + value + b"}"])
        status = wait_status(proc, address, lambda s: s["malformed_messages"] >= 5, "five refused rewards")
        assert status["guard_trips"] == 0 and status["last_error"]
        reply = control(address, "checkpoint")
        arrays, _ = load_checkpoint(Path(reply["path"]))
        assert all(np.all(np.isfinite(a)) for a in arrays.values() if a.dtype.kind == "f")
        proc.signal(signal.SIGTERM)
        assert proc.wait() == 0
