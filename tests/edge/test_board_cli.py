"""The board from the command line: ``board serve`` on a real pty, ``hil`` against it, ``replay`` on it giving
the emulator's actions, a missing board refused in one line, and the daemon riding out a board that is killed
and restarted (status ``board=DISCONNECTED``, then ``CONNECTED`` again with the reconnect counted)."""
from __future__ import annotations

import json
import re
import signal
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import helpers  # noqa: E402
from test_cli_errors import assert_one_line_error  # noqa: E402

from edge.backends import open_backend  # noqa: E402
from edge.hil import LockstepBackend  # noqa: E402
from snn.workloads import cuba_spec  # noqa: E402
from snn.frames import SpikeFrames  # noqa: E402


def serve(tmp_path: Path, *extra: str) -> tuple[helpers.Proc, str]:
    """``neuroedge board serve`` in the background; (process, device path from its first line)."""
    proc = helpers.Proc(["board", "serve", *extra], tmp_path)
    found = helpers.eventually(lambda: (re.search(r"/dev/\S+", proc.stdout().split("\n")[0]) or time.sleep(0.05)),
                               "the board's device path", helpers.STARTUP_S, proc)
    return proc, found.group(0).rstrip(":")


def last_json(text: str) -> dict:
    return json.loads(text.strip().splitlines()[-1])


def test_hil_and_replay_on_a_served_board_match_the_emulator(tmp_path):
    board, path = serve(tmp_path)
    with board:
        hil = helpers.run_cli(["hil", helpers.dvs_path(), "--board", path, "--seconds", "0.3", "--json"], tmp_path)
        assert hil.returncode == 0, hil.stderr
        result = last_json(hil.stdout)
        assert result["identical"] is True and result["ticks"] == 300 and result["mismatched_ticks"] == 0
        assert result["state_identical"] is True and result["reconnects"] == 0
        on_board = helpers.run_cli(["replay", helpers.dvs_path(), "--json", "--backend", f"serial://{path}"], tmp_path)
        assert on_board.returncode == 0, on_board.stderr
    in_process = helpers.run_cli(["replay", helpers.dvs_path(), "--json", "--backend", "emulator"], tmp_path)
    assert last_json(on_board.stdout)["actions_sha256"] == last_json(in_process.stdout)["actions_sha256"]


def test_replay_on_a_missing_board_exits_2_in_one_line(tmp_path):
    result = helpers.run_cli(["replay", helpers.dvs_path(), "--json", "--backend",
                              f"serial://{tmp_path}/no-such-tty"], tmp_path)
    assert_one_line_error(result, "no-such-tty")


def test_lockstep_names_the_first_tick_where_the_two_differ():
    spec = cuba_spec(200, seed=1)
    pair = LockstepBackend(open_backend("emulator"), open_backend("numba"))
    pair.load(spec, 0)
    pair.step(SpikeFrames.empty(400), 0.0)
    assert pair.mismatched_ticks > 0
    assert re.match(rf"tick \d+: population '{spec.readout}' spiked", pair.first_mismatch)


@pytest.mark.guard
def test_the_daemon_rides_out_a_board_killed_and_restarted(tmp_path):
    link = tmp_path / "board"
    board, _ = serve(tmp_path, "--link", str(link))
    cfg, _tables = helpers.daemon_config(tmp_path, run={"status_interval_s": 0.2})
    with helpers.Proc(["run", "--config", cfg, "--backend", f"serial://{link}?reconnect_s=0.5"], tmp_path) as daemon:
        helpers.eventually(lambda: "board=CONNECTED" in daemon.stdout() or time.sleep(0.05) or None,
                           "a status line with board=CONNECTED", helpers.STARTUP_S, daemon)
        board.kill()
        helpers.eventually(lambda: "board=DISCONNECTED" in daemon.stdout() or time.sleep(0.05) or None,
                           "a status line with board=DISCONNECTED", 20, daemon)
        assert daemon.alive()
        board, _ = serve(tmp_path, "--link", str(link))
        with board:
            helpers.eventually(
                lambda: re.search(r"board=DISCONNECTED.*board=CONNECTED reconnects=[1-9]", daemon.stdout(), re.S)
                or time.sleep(0.05), "board=CONNECTED again, the reconnect counted", 30, daemon)
            daemon.signal(signal.SIGTERM)
            assert daemon.wait(20) == 0, daemon.describe()
