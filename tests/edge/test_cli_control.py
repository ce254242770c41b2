"""neuroedge control: one request to a running daemon, its JSON reply on stdout, exit codes for refusal and
silence."""
import json

from tests.edge.helpers import Proc, daemon_config, run_cli, wait_ready


def test_control_status_and_an_unknown_command_against_a_running_daemon(tmp_path):
    config, tables = daemon_config(tmp_path)
    address = tables["bus"]["control"]
    with Proc(["run", "--config", config, "--seconds", "30"], tmp_path) as proc:
        wait_ready(proc, address)
        status = run_cli(["control", "status", "--address", address], tmp_path)
        assert status.returncode == 0, status.stderr
        reply = json.loads(status.stdout)
        assert reply["ok"] is True and reply["state"] == "running"
        unknown = run_cli(["control", "nosuch", "--address", address], tmp_path)
        assert unknown.returncode == 1 and "unknown command 'nosuch'" in json.loads(unknown.stdout)["error"]
        stop = run_cli(["control", "stop", "--address", address], tmp_path)
        assert stop.returncode == 0 and json.loads(stop.stdout)["state"] == "stopping"
        assert proc.wait() == 0


def test_control_without_a_daemon_is_one_line_and_exit_2(tmp_path):
    result = run_cli(["control", "status", "--address", "tcp://127.0.0.1:9", "--timeout-s", "0.2"], tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["neuroedge control: error: tcp://127.0.0.1:9: no reply to "
                                                  "'status' within 200 ms"]
    bad = run_cli(["control", "store", "--field", "label"], tmp_path)
    assert bad.returncode == 2 and "expected KEY=VALUE" in bad.stderr
