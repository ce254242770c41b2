"""Nothing from outside can corrupt learned state: out-of-range rewards, non-finite config values and
checkpoints, and a state that went non-finite anyway (the numerical guard); replies stay valid JSON; the bus
refuses to listen off loopback."""
import io
import json
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from edge.bus import Bus, BusAddresses, BusError, _dumps, parse_reward
from edge.checkpoint import CheckpointError, _digest, load_checkpoint, load_latest_valid, save_checkpoint
from edge.config import ConfigError, config_from_dict
from edge.drivers import EventDriver
from edge.watched_source import open_recording
from sensors.types import SourceError

sys.path.insert(0, str(Path(__file__).parent))
import helpers  # noqa: E402


@pytest.mark.parametrize("value", [b"-1.7e308", b"1e300", b"10.5", b"-10.01"])
def test_rewards_outside_the_documented_range_are_refused(value):
    with pytest.raises(ValueError, match="outside"):
        parse_reward([b"reward", b'{"value": ' + value + b"}"])
    assert parse_reward([b"reward", b'{"value": -10}']) == -10.0


@pytest.mark.parametrize("table, key", [
    ({"network": {"rule": {"learning_rate": float("nan")}}}, "network.rule.learning_rate"),
    ({"network": {"rule": {"a_plus": float("inf")}}}, "network.rule.a_plus"),
    ({"checkpoint": {"interval_s": float("nan")}}, "checkpoint.interval_s"),
])
def test_non_finite_config_values_are_refused_naming_the_key(table, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.") + ": must be a finite number"):
        config_from_dict(table, where="config")


def test_a_non_finite_checkpoint_is_never_written_and_the_good_one_is_kept(tmp_path):
    path = tmp_path / "c.ckpt"
    save_checkpoint(path, {"w": np.ones(3)}, {})
    with pytest.raises(CheckpointError, match="'w' holds non-finite"):
        save_checkpoint(path, {"w": np.array([1.0, np.nan, 2.0])}, {})
    assert np.array_equal(load_checkpoint(path)[0]["w"], np.ones(3))
    assert not path.with_name("c.ckpt.prev").exists()


def test_a_non_finite_checkpoint_on_disk_is_refused_and_prev_is_used(tmp_path):
    path = tmp_path / "c.ckpt"
    save_checkpoint(path, {"w": np.ones(3)}, {"n": 1})
    save_checkpoint(path, {"w": np.full(3, 2.0)}, {"n": 2})  # the first becomes .prev
    arrays = {"w": np.array([np.nan, 0.0, 1.0])}  # written by something else, with a matching checksum
    doc = {"format": "neuroedge-checkpoint", "version": 1, "meta": {"n": 3}, "sha256": _digest(arrays)}
    with zipfile.ZipFile(path, "w") as zf:
        for name, array in {**arrays, "__meta__": np.frombuffer(json.dumps(doc).encode(), np.uint8)}.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, array, allow_pickle=False)
            zf.writestr(name + ".npy", buffer.getvalue())
    with pytest.raises(CheckpointError, match="non-finite"):
        load_checkpoint(path)
    arrays, meta, used = load_latest_valid(path)
    assert meta == {"n": 1} and used == path.with_name("c.ckpt.prev")


def test_numerical_guard_restores_the_last_good_state(tmp_path):
    driver = EventDriver(config_from_dict({"checkpoint": {"path": str(tmp_path / "x.ckpt")}}))
    backend = driver.pipeline.backend
    for _ in range(120):
        driver.step()
    backend.syn.weight_mv[3] = np.nan  # what an overflow inside a kernel would do (no input can: all are checked)
    assert driver.guard.check() is False
    restored = backend.read("projection/input_motor/weight_mv")
    assert np.all(np.isfinite(restored)) and driver.status(0.0)["guard_trips"] == 1
    assert driver.step() is not None


def test_status_replies_are_valid_json_even_with_nan():
    assert json.loads(_dumps({"mean_reward": float("nan"), "x": [float("inf"), 1.0]})) == \
        {"mean_reward": None, "x": [None, 1.0]}


@pytest.mark.parametrize("address", ["tcp://0.0.0.0:38556", "tcp://*:38556", "tcp://192.168.1.2:38556"])
def test_the_bus_refuses_to_listen_off_loopback(address):
    with pytest.raises(BusError, match="off loopback"):
        Bus(BusAddresses(actions=address, reward="tcp://127.0.0.1:38557", control="tcp://127.0.0.1:38558"))


@pytest.mark.parametrize("seed", [100, 101])
def test_aedat4_with_flipped_bytes_never_hangs_or_crashes_the_reader(tmp_path, seed):
    """10 bytes flipped in the event data hung dv-processing (19 of 20 files) or crashed it: the watched reader
    either reads the file to its end or stops with one SourceError naming it, within seconds."""
    data = np.frombuffer(helpers.dvs_path().read_bytes(), np.uint8).copy()
    rng = np.random.default_rng(seed)
    where = rng.choice(np.arange(len(data) // 10, 9 * len(data) // 10), 10, replace=False)
    data[where] ^= rng.integers(1, 256, 10, dtype=np.uint8)
    path = tmp_path / f"flipped{seed}.aedat4"
    path.write_bytes(data.tobytes())
    start = time.monotonic()
    try:
        source = open_recording(path)
        while source.read() is not None:
            pass
    except SourceError as e:
        assert path.name in str(e) and "\n" not in str(e)
    assert time.monotonic() - start < 45
