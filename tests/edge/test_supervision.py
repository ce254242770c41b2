"""Supervision and observability of the daemon: sd_notify datagrams over a real $NOTIFY_SOCKET (READY=1 after
the first block, WATCHDOG=1 from the loop, STATUS=, STOPPING=1) and Prometheus series over HTTP."""
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import helpers  # noqa: E402

from edge.config import ConfigError, config_from_dict  # noqa: E402
from edge.notify import Notifier  # noqa: E402


def test_notify_and_metrics_from_a_running_daemon(tmp_path):
    port = helpers.free_port()
    cfg, _ = helpers.daemon_config(tmp_path, run={"status_interval_s": 0.3},
                                   metrics={"address": f"127.0.0.1:{port}"})
    sock_path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    sock.settimeout(0.2)
    env = dict(os.environ, NOTIFY_SOCKET=str(sock_path), WATCHDOG_USEC="1000000")
    proc = subprocess.Popen(helpers.neuroedge_cmd() + ["run", "--config", str(cfg), "--seconds", "3"], cwd=tmp_path,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    got, page = [], ""
    deadline = time.monotonic() + helpers.STARTUP_S
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                got += sock.recv(4096).decode().split("\n")
            except socket.timeout:
                pass
            if not page and any(line.startswith("STATUS=status") for line in got):
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        assert proc.wait(helpers.STARTUP_S) == 0, proc.stderr.read().decode()[-2000:]
        while True:  # what was sent before the exit
            try:
                got += sock.recv(4096).decode().split("\n")
            except socket.timeout:
                break
    finally:
        proc.kill()
        sock.close()
    keys = [line.split("=", 1)[0] for line in got if line]
    assert keys.index("READY") < keys.index("STOPPING") and "WATCHDOG" not in keys[keys.index("STOPPING"):]
    assert keys.count("WATCHDOG") >= 3  # every 0.5 s over 3 s
    series = {line.split()[0]: float(line.split()[1]) for line in page.splitlines()
              if line.startswith("neuroedge_") and not line.startswith("#")}
    assert series["neuroedge_ticks"] > 0 and "neuroedge_guard_trips" in series
    assert series["neuroedge_block_latency_seconds_count"] > 0


def test_notifier_without_systemd_does_nothing_and_abstract_sockets_are_named():
    quiet = Notifier({})
    quiet.send("READY=1")
    assert not quiet.enabled and not quiet.watchdog_due()
    assert Notifier({"NOTIFY_SOCKET": "@neuroedge"}).address == "\0neuroedge"


@pytest.mark.parametrize("address", ["0.0.0.0:9108", "127.0.0.1", "127.0.0.1:99999"])
def test_metrics_address_must_be_loopback_host_and_port(address):
    with pytest.raises(ConfigError, match="metrics.address"):
        config_from_dict({"metrics": {"address": address}})


def test_metrics_export_the_memory_load_and_its_expected_recall_quality():
    from edge.metrics import Metrics

    port = helpers.free_port()
    metrics = Metrics(f"127.0.0.1:{port}")
    try:
        metrics.update({"memory_stored": 450, "memory_load": 0.45, "memory_expected_label_accuracy": 0.995,
                        "last_novelty": 0.25}, None)
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    finally:
        metrics.close()
    series = {line.split()[0]: float(line.split()[1]) for line in page.splitlines()
              if line.startswith("neuroedge_memory")}
    assert series == {"neuroedge_memory_stored": 450.0, "neuroedge_memory_load": 0.45,
                      "neuroedge_memory_expected_label_accuracy": 0.995, "neuroedge_memory_last_novelty": 0.25}
