"""CurveZMQ on the bus with real sockets: key generation and checks, allow-listed clients, refused strangers,
off-loopback binds through the CLI, and private (0600) checkpoints.

Hermetic: free ports, a private context per Bus, LINGER 0, every wait polls with a deadline.
"""
import os
import stat
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import zmq

from controllers.action import Action
from edge.bus import Bus, BusAddresses, BusError, control_request, listen
from edge.checkpoint import save_checkpoint
from edge.config import ConfigError, config_from_dict
from edge.keys import (ClientKeys, KeyFileError, apply_client_keys, generate_keys, load_client_keys,
                       load_server_keys)

sys.path.insert(0, str(Path(__file__).parent))
import helpers  # noqa: E402

DEADLINE_S = 2.0
REFUSED_MS = 300  # how long a refused client is given to (not) get through


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def addresses(keys: Path | str = "", host: str = "127.0.0.1") -> BusAddresses:
    return BusAddresses(*(f"tcp://{host}:{helpers.free_port()}" for _ in range(3)), keys=str(keys))


def wait_for(condition, what: str):
    """Poll ``condition()`` (which blocks briefly itself) until truthy; fail after DEADLINE_S."""
    end = time.monotonic() + DEADLINE_S
    while time.monotonic() < end:
        result = condition()
        if result:
            return result
    pytest.fail(f"timed out after {DEADLINE_S} s waiting for {what}")


@pytest.fixture(scope="module")
def keydir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("curve") / "keys"
    generate_keys(directory)
    return directory


@pytest.fixture(scope="module")
def stranger(tmp_path_factory, keydir) -> ClientKeys:
    """A valid client keypair that knows the daemon's public key but is not in its allow-list."""
    other = tmp_path_factory.mktemp("other") / "keys"
    generate_keys(other)
    mine = load_client_keys(other)
    return ClientKeys(mine.public, mine.secret, load_client_keys(keydir).server_public)


@pytest.fixture
def ctx():
    with helpers.zmq_context() as context:
        yield context


@pytest.fixture
def bus(ctx, keydir):
    with Bus(addresses(keydir), context=ctx) as b:
        yield b


def serve(bus: Bus, future, served: list) -> None:
    """Answer control requests on ``bus`` until ``future`` is done, recording each command served."""
    def handler(cmd: str, request: dict) -> dict:
        served.append(cmd)
        return {"ok": True, "state": "running"}

    wait_for(lambda: bus.poll_control(handler, timeout_ms=20) or future.done(), "the control request to end")


# --- keys generate and the checks on loading --------------------------------------------------------------

def test_generate_writes_private_files_that_load(keydir):
    assert mode(keydir) == 0o700 and mode(keydir / "authorized") == 0o700
    files = sorted(p.relative_to(keydir).as_posix() for p in keydir.rglob("*") if p.is_file())
    assert files == ["authorized/client.key", "client.key", "client.key_secret", "server.key", "server.key_secret"]
    assert all(mode(keydir / name) == 0o600 for name in files)
    server, client = load_server_keys(keydir), load_client_keys(keydir)
    assert server.authorized == {client.public} and client.server_public == server.public


def test_generate_refuses_to_overwrite_unless_forced(tmp_path):
    first = generate_keys(tmp_path / "k")
    before = {p: p.read_bytes() for p in first}
    (tmp_path / "k" / "authorized" / "laptop.key").write_bytes((tmp_path / "k" / "client.key").read_bytes())
    with pytest.raises(KeyFileError, match=r"k/server\.key: already exists; refusing .*--force"):
        generate_keys(tmp_path / "k")
    assert {p: p.read_bytes() for p in first} == before
    assert generate_keys(tmp_path / "k", force=True) == first
    assert all(p.read_bytes() != before[p] and mode(p) == 0o600 for p in first)
    assert (tmp_path / "k" / "authorized" / "laptop.key").exists()  # --force keeps the other allowed clients
    assert [p.name for p in (tmp_path / "k").iterdir() if p.name.startswith(".")] == []  # no staging left


def test_cli_keys_generate_then_refuse(tmp_path):
    result = helpers.run_cli(["keys", "generate", "robot-keys"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "robot-keys/server.key_secret" in result.stdout and "[bus] keys" in result.stdout
    again = helpers.run_cli(["keys", "generate", "robot-keys"], tmp_path)
    lines = helpers.stderr_lines(again.stderr)
    assert again.returncode == 2 and len(lines) == 1 and "already exists" in lines[0] and "--force" in lines[0]


def copy_keys(source: Path, target: Path) -> Path:
    generate_keys(target)
    for name in ("server.key_secret", "client.key_secret", "server.key", "authorized/client.key"):
        (target / name).write_bytes((source / name).read_bytes())
    return target


@pytest.mark.parametrize("damage, file, why", [
    (lambda d: os.chmod(d / "server.key_secret", 0o640), "server.key_secret", "accessible by group or others"),
    (lambda d: os.chmod(d / "server.key_secret", 0o604), "server.key_secret", "mode 0604"),
    (lambda d: (d / "server.key_secret").unlink(), "server.key_secret", "no such key file"),
    (lambda d: (d / "server.key_secret").write_bytes(b"\x00\xffjunk\n"), "server.key_secret", "no public-key"),
    (lambda d: (d / "server.key_secret").write_text("curve\n    public-key\n"), "server.key_secret", "malformed"),
    (lambda d: (d / "server.key_secret").write_text((d / "server.key").read_text()), "server.key_secret",
     "no secret-key"),
    (lambda d: (d / "server.key_secret").write_text((d / "client.key_secret").read_text().replace(
        "public-key = \"", "public-key = \"x")), "server.key_secret", "not 40 Z85"),
    (lambda d: (d / "authorized" / "client.key").write_text("public-key = \"short\"\n"), "authorized/client.key",
     "not 40 Z85"),
    (lambda d: (d / "authorized" / "client.key").unlink(), "authorized", "no client public keys"),
    (lambda d: os.chmod(d / "authorized", 0o770), "authorized", "writable by group or others"),
], ids=["group-readable", "world-readable", "missing", "binary", "no-equals", "public-only", "bad-z85",
        "bad-allowed", "empty-allow-list", "open-allow-list"])
def test_bad_server_keys_are_refused_with_one_line(tmp_path, keydir, damage, file, why):
    directory = copy_keys(keydir, tmp_path / "keys")
    damage(directory)
    with pytest.raises(KeyFileError) as info:
        load_server_keys(directory)
    message = str(info.value)
    assert "\n" not in message and str(directory / file) in message and why in message, message


def test_mismatched_secret_and_missing_dir_are_refused(tmp_path, keydir):
    directory = copy_keys(keydir, tmp_path / "keys")
    text = (directory / "server.key_secret").read_text()
    public = (directory / "client.key").read_text().split("public-key = ")[1].split()[0]
    (directory / "server.key_secret").write_text(text.replace(text.split("public-key = ")[1].split()[0], public))
    with pytest.raises(KeyFileError, match="does not match"):
        load_server_keys(directory)
    with pytest.raises(KeyFileError, match=r"nowhere: no such key directory .*neuroedge keys generate"):
        load_client_keys(tmp_path / "nowhere")


def test_config_takes_keys_as_a_path_string():
    assert config_from_dict({"bus": {"keys": "/etc/neuroedge/keys"}}).bus.keys == "/etc/neuroedge/keys"
    assert config_from_dict({}).bus.keys == ""
    with pytest.raises(ConfigError, match=r"config\.bus\.keys: expected str, got 3"):
        config_from_dict({"bus": {"keys": 3}})


def test_bus_names_the_config_key_and_file(ctx, tmp_path, keydir):
    directory = copy_keys(keydir, tmp_path / "keys")
    os.chmod(directory / "server.key_secret", 0o644)
    with pytest.raises(BusError) as info:
        Bus(addresses(directory), context=ctx)
    assert str(info.value).startswith(f"bus.keys: {directory / 'server.key_secret'}: secret key is accessible")


# --- allow-listed clients in, strangers out ----------------------------------------------------------------

def test_authorised_client_gets_a_status_reply(bus, keydir):
    served: list = []
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(control_request, bus.addresses.control, "status", 1500, load_client_keys(keydir))
        serve(bus, future, served)
        assert future.result() == {"ok": True, "state": "running"}
    assert served == ["status"]


@pytest.mark.parametrize("who", ["stranger", "no keys"])
def test_unauthorised_client_gets_no_reply(bus, stranger, who):
    served: list = []
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(control_request, bus.addresses.control, "status", REFUSED_MS,
                             stranger if who == "stranger" else None)
        serve(bus, future, served)
        with pytest.raises(BusError, match=f"no reply to 'status' within {REFUSED_MS} ms"):
            future.result()
    assert served == []
    if who == "stranger":
        assert bus.allow_list.denied >= 1  # the ZAP handler saw and refused its key


def reward_publisher(ctx: zmq.Context, address: str, keys: ClientKeys | None) -> zmq.Socket:
    sock = helpers.make_socket(ctx, zmq.PUB)
    if keys is not None:
        apply_client_keys(sock, keys)
    sock.connect(address)
    return sock


def test_only_authorised_rewards_are_counted(bus, keydir, stranger):
    with helpers.zmq_context() as client_ctx:
        good = reward_publisher(client_ctx, bus.addresses.reward, load_client_keys(keydir))
        bad = [reward_publisher(client_ctx, bus.addresses.reward, keys) for keys in (stranger, None)]
        received: list[float] = []

        def send_and_poll() -> bool:
            for sock, value in ((good, 0.5), *((sock, -0.25) for sock in bad)):
                sock.send_multipart([b"reward", b'{"value": %g}' % value])
            received.extend(bus.poll_rewards(timeout_ms=10))
            return bool(received) and bus.allow_list.denied >= 1

        wait_for(send_and_poll, "an authorised reward and a refused stranger")
        end = time.monotonic() + REFUSED_MS / 1000
        while time.monotonic() < end:  # the refused peers keep sending: still nothing of theirs arrives
            send_and_poll()
        for sock in (good, *bad):
            sock.close(linger=0)
    assert set(received) == {0.5} and bus.malformed == 0


def test_authorised_listener_receives_actions(bus, keydir):
    got: list[dict] = []
    arrived = threading.Event()

    def on_message(message: dict) -> None:
        got.append(message)
        arrived.set()

    end = time.monotonic() + DEADLINE_S
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(listen, bus.addresses.actions, on_message,
                             lambda: arrived.is_set() or time.monotonic() > end, 20, load_client_keys(keydir))

        def publish() -> bool:
            bus.publish(Action("pan", (1.0, 2.0), t_us=5, seq=0))
            return arrived.wait(0.01)

        wait_for(publish, "an action to reach the listener")
        future.result(DEADLINE_S)
    assert got[0]["name"] == "pan" and got[0]["values"] == [1.0, 2.0]


# --- the daemon through the CLI ---------------------------------------------------------------------------

def run_daemon(tmp_path: Path, bus: BusAddresses):
    tables = {"actions": bus.actions, "reward": bus.reward, "control": bus.control}
    if bus.keys:
        tables["keys"] = bus.keys
    config, _ = helpers.daemon_config(tmp_path, bus=tables, run={"realtime": False})
    return helpers.run_cli(["run", "--config", config, "--seconds", 1], tmp_path)


def test_daemon_binds_all_interfaces_with_keys(tmp_path, keydir):
    bus = addresses(keydir, host="0.0.0.0")
    result = run_daemon(tmp_path, bus)
    assert result.returncode == 0, result.stderr
    assert f"actions on {bus.actions}" in result.stdout


def test_daemon_refuses_all_interfaces_without_keys(tmp_path):
    bus = addresses(host="0.0.0.0")
    lines = helpers.stderr_lines(run_daemon(tmp_path, bus).stderr)
    assert len(lines) == 1 and lines[0].startswith(f"neuroedge run: error: {bus.actions}: binding off loopback")
    assert "neuroedge keys generate" in lines[0]


def test_daemon_refuses_missing_keys_naming_key_and_path(tmp_path):
    result = run_daemon(tmp_path, addresses(tmp_path / "absent"))
    lines = helpers.stderr_lines(result.stderr)
    assert result.returncode == 2 and len(lines) == 1
    assert f"bus.keys: {tmp_path / 'absent'}: no such key directory" in lines[0]


# --- checkpoints are private ------------------------------------------------------------------------------

def test_checkpoint_and_prev_are_mode_0600(tmp_path):
    path = tmp_path / "state.ckpt"
    old_umask = os.umask(0)  # even a permissive umask gives 0600
    try:
        save_checkpoint(path, {"w": np.ones(3)}, {})
        os.chmod(path, 0o644)  # as written by an older version
        save_checkpoint(path, {"w": np.zeros(3)}, {})
    finally:
        os.umask(old_umask)
    assert mode(path) == 0o600 and mode(path.with_name("state.ckpt.prev")) == 0o600
