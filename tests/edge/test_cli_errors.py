"""The ``neuroedge`` command as a subprocess: bad input exits 2 with one line naming it; help; replay determinism.

Every subprocess runs under a deadline; the port-in-use test binds a loopback port with LINGER 0.
"""
import json
import random
import sys
from pathlib import Path

import pytest
import zmq

sys.path.insert(0, str(Path(__file__).parent))
import helpers  # noqa: E402


def assert_one_line_error(result, *names: str) -> str:
    """Exit status 2, exactly one non-empty stderr line, no traceback, and the line names every ``names``."""
    lines = helpers.stderr_lines(result.stderr)
    assert result.returncode == 2, (result.returncode, result.stdout[-2000:], result.stderr[-2000:])
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1, f"expected one stderr line, got {len(lines)}:\n{result.stderr[:3000]}"
    for name in names:
        assert name in lines[0], (name, lines[0])
    return lines[0]


@pytest.mark.parametrize("text, names", [
    ("[scene]\nwidht = 3\n", ["scene.widht", "unknown key"]),
    ('[run]\nseed = "x"\n', ["run.seed", "expected int"]),
    ("[run]\ndt_us = 0\n", ["run.dt_us", "> 0"]),
    ("[run\nseed = 1\n", ["not valid TOML"]),
], ids=["unknown-key", "wrong-type", "invalid-value", "not-toml"])
def test_bad_config_is_refused_naming_the_key(tmp_path, text, names):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    result = helpers.run_cli(["run", "--config", cfg, "--seconds", 0.05], tmp_path)
    assert_one_line_error(result, "bad.toml", *names)


def test_missing_config_file(tmp_path):
    result = helpers.run_cli(["run", "--config", tmp_path / "absent.toml", "--seconds", 0.05], tmp_path)
    assert_one_line_error(result, "absent.toml")


def _truncated(tmp_path: Path, n_bytes: int) -> Path:
    path = tmp_path / f"first{n_bytes}.aedat4"
    path.write_bytes(helpers.dvs_path().read_bytes()[:n_bytes])
    return path


def test_replay_of_missing_empty_foreign_and_truncated_files(tmp_path):
    empty = tmp_path / "empty.aedat4"
    empty.write_bytes(b"")
    foreign = tmp_path / "random.aedat4"
    foreign.write_bytes(random.Random(0).randbytes(4096))
    cases = [(tmp_path / "absent.aedat4", "no such file"), (empty, "empty"), (foreign, "unrecognised"),
             (_truncated(tmp_path, 1000), "corrupt")]
    for path, why in cases:
        result = helpers.run_cli(["replay", path, "--json"], tmp_path)
        assert_one_line_error(result, path.name, why)
        assert result.stdout == ""


def test_replay_of_file_truncated_inside_the_header_is_one_line(tmp_path):
    path = _truncated(tmp_path, 200)
    assert_one_line_error(helpers.run_cli(["replay", path], tmp_path), path.name, "corrupt")


def test_replay_of_corrupted_packet_does_not_hang(tmp_path):
    """dv-processing's getNextEventBatch() spins forever on this packet, holding the GIL: the AEDAT4 reader
    runs in a watched child process (edge/watched_source.py), stopped after 5 s without a batch."""
    data = bytearray(helpers.dvs_path().read_bytes())
    rng = random.Random(1)
    offset = rng.randrange(900, len(data) - 2000)  # 564464: inside the compressed event packets
    data[offset:offset + 64] = bytes(rng.randrange(256) for _ in range(64))
    path = tmp_path / "corrupted.aedat4"
    path.write_bytes(bytes(data))
    result = helpers.run_cli(["replay", path], tmp_path, deadline_s=30.0)  # the intact file replays in < 1 s
    assert "stalled" in assert_one_line_error(result, path.name)


def test_run_with_a_missing_recording_as_source(tmp_path):
    cfg, _ = helpers.daemon_config(tmp_path, source={"kind": "file", "path": str(tmp_path / "absent.aedat4")})
    result = helpers.run_cli(["run", "--config", cfg, "--seconds", 0.05], tmp_path)
    assert_one_line_error(result, "absent.aedat4", "no such file")


def test_run_with_the_actions_port_in_use(tmp_path):
    cfg, tables = helpers.daemon_config(tmp_path)
    actions = tables["bus"]["actions"]
    with helpers.zmq_context() as ctx:
        squatter = helpers.make_socket(ctx, zmq.PUB)
        squatter.bind(actions)
        result = helpers.run_cli(["run", "--config", cfg, "--seconds", 0.05], tmp_path)
    assert_one_line_error(result, actions, "in use")


@pytest.mark.parametrize("args", [[], ["run"], ["replay"], ["info"], ["listen"], ["bench"]],
                         ids=["top", "run", "replay", "info", "listen", "bench"])
def test_help_exits_zero(tmp_path, args):
    result = helpers.run_cli([*args, "--help"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: neuroedge") and result.stderr == ""


def _replay_json(tmp_path: Path, seed: int) -> dict:
    result = helpers.run_cli(["replay", helpers.dvs_path(), "--json", "--seed", seed], tmp_path)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_replay_json_is_deterministic_for_a_seed(tmp_path):
    first, again, other = (_replay_json(tmp_path, seed) for seed in (7, 7, 8))
    for key in ("input", "format", "events", "duration_us", "wall_s", "realtime_factor", "ticks", "actions",
                "actions_sha256", "backend"):
        assert key in first, key
    assert first["input"] == str(helpers.dvs_path())
    assert first["format"] == "aedat4" and first["backend"] == "numba?dtype=float64"
    assert first["events"] == 473225
    assert first["duration_us"] == 999000
    assert first["ticks"] > 0 and first["actions"] > 0 and first["seed"] == 7
    assert len(first["actions_sha256"]) == 64
    assert again["actions_sha256"] == first["actions_sha256"]
    assert other["actions_sha256"] != first["actions_sha256"]
