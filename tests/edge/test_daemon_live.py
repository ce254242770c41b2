"""The daemon on a live DV network stream: it processes the stream, reports a server crash in status, reconnects."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import helpers  # noqa: E402
from helpers import Proc, control, wait_ready, wait_status  # noqa: E402

SERVER_SCRIPT = Path(__file__).resolve().parents[1] / "sensors" / "test_dv_live.py"
pytestmark = pytest.mark.skipif(not helpers.dvs_path().exists(), reason="shared recording dvs.aedat4 missing")


class DvServer:
    """A real dv-processing NetworkWriter in a child process (the dv_live test's server mode)."""

    def __init__(self, port: int, start: int, stop: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(SERVER_SCRIPT), "serve", str(port), str(start), str(stop), str(helpers.dvs_path())],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening"):
            self.kill()
            raise AssertionError(f"DV server did not start: {line!r}")

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)


def test_daemon_runs_on_a_live_stream_and_survives_a_server_restart(tmp_path):
    port = helpers.free_port()
    url = f"tcp://127.0.0.1:{port}"
    cfg, tables = helpers.daemon_config(tmp_path, source={"kind": "live", "path": url, "geometry": "320x240"})
    address = tables["bus"]["control"]
    first = DvServer(port, 0, 500)
    servers = [first]
    try:
        with Proc(["run", "--config", cfg], tmp_path) as proc:
            wait_ready(proc, address)
            status = wait_status(proc, address, lambda s: s["events"] > 0 and s["actions"] > 0, "live events processed")
            assert status["source"]["format"] == "dv-network" and status["source"]["connected"] is True
            first.kill()
            wait_status(proc, address, lambda s: s["source"]["connected"] is False, "the disconnect to show in status")
            servers.append(DvServer(port, 500, 1000))
            before = control(address, "status")["events"]
            status = wait_status(proc, address, lambda s: s["source"]["reconnects"] >= 1 and s["events"] > before,
                                 "a reconnect and more events")
            assert status["source"]["connected"] is True
            assert control(address, "stop")["ok"] is True
            assert proc.wait() == 0, proc.describe()
            assert "source=" in proc.stdout()
    finally:
        for server in servers:
            server.kill()
