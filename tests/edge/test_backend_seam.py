"""The back-end seam from the outside: URLs checked where they enter (config, command line), a network file's
dt_us against the run's, and checkpoints that move between back ends but not between networks."""
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import helpers  # noqa: E402
from test_cli_errors import assert_one_line_error  # noqa: E402

from edge.backends import check_backend_url, open_backend, parse_backend_url  # noqa: E402
from edge.checkpoint import CheckpointError  # noqa: E402
from edge.config import ConfigError, config_from_dict, load_network_file  # noqa: E402
from edge.drivers import EventDriver  # noqa: E402

NETWORK = Path(__file__).resolve().parents[2] / "launch" / "networks" / "tracking_stdp.toml"


@pytest.mark.parametrize("url, canonical", [
    ("numba", "numba?dtype=float64"),
    ("numba?dtype=float32", "numba?dtype=float32"),
    ("numba?dtype=float64", "numba?dtype=float64"),
    ("emulator", "emulator?discretize=1&profile=loihi&strict=0"),
    ("emulator?strict=1&discretize=0", "emulator?discretize=0&profile=loihi&strict=1"),
    ("serial:///dev/ttyACM0?baud=115200", "serial:///dev/ttyACM0?baud=115200&profile=loihi&reconnect_s=10&retries=5"
                                          "&snapshot_every=1000&timeout_ms=50"),
])
def test_good_urls_have_a_canonical_form(url, canonical):
    assert check_backend_url(url) == canonical
    assert open_backend(url).url == canonical


@pytest.mark.parametrize("url, words", [
    ("nosuch?x=1", ["nosuch", "unknown back end"]),
    ("numba?dtype=int8", ["dtype", "float32, float64"]),
    ("numba?speed=2", ["unknown option 'speed'"]),
    ("numba?dtype", ["numba?dtype"]),
    ("serial:///dev/ttyACM0?parity=odd", ["serial", "unknown option 'parity'"]),
    ("serial", ["serial://DEVICE"]),
    ("emulator?profile=truenorth", ["profile", "loihi"]),
    ("", ["empty"]),
])
def test_bad_urls_are_refused_in_one_line(url, words):
    with pytest.raises(ValueError) as info:
        parse_backend_url(url)
    assert "\n" not in str(info.value)
    for word in words:
        assert word in str(info.value)


def test_config_names_the_backend_key():
    with pytest.raises(ConfigError, match=r"cfg\.backend\.url: backend 'bogus'"):
        config_from_dict({"backend": {"url": "bogus"}}, where="cfg")
    assert config_from_dict({"backend": {"url": "numba?dtype=float64"}}).backend.url == "numba?dtype=float64"


def test_replay_with_an_unknown_backend_exits_2_naming_it(tmp_path):
    result = helpers.run_cli(["replay", helpers.dvs_path(), "--json", "--backend", "nosuch?x=1"], tmp_path)
    assert_one_line_error(result, "nosuch")


def test_network_file_dt_us_must_match_the_run(tmp_path):
    text = NETWORK.read_text().replace('readout = "motor"', 'readout = "motor"\ndt_us = 500')
    path = tmp_path / "net500.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"dt_us = 500 .* run\.dt_us = 1000"):
        load_network_file(path, 1000)
    assert load_network_file(path, 500).dt_us == 500


def driver(tmp_path: Path, url: str, network: str = "") -> EventDriver:
    config = config_from_dict({"backend": {"url": url}, "network_file": network,
                               "checkpoint": {"path": str(tmp_path / "state.ckpt")}})
    return EventDriver(config)


def test_float32_checkpoint_resumes_in_float64_and_continues(tmp_path):
    a = driver(tmp_path, "numba?dtype=float32")
    for _ in range(30):
        a.step()
    path = a.save(tmp_path / "state.ckpt")
    from edge.checkpoint import load_checkpoint

    arrays, meta = load_checkpoint(path)
    assert meta["backend"] == "numba?dtype=float32" and len(meta["network_sha256"]) == 64
    b = driver(tmp_path, "numba?dtype=float64")
    b.restore(arrays, meta, path)
    weights = "projection/input_motor/weight_mv"
    np.testing.assert_allclose(b.pipeline.backend.read(weights), a.pipeline.backend.read(weights), rtol=1e-6)
    for _ in range(5):
        assert b.step() is not None


def test_checkpoint_of_another_network_is_refused_naming_both(tmp_path):
    a = driver(tmp_path, "numba")
    a.step()
    path = a.save(tmp_path / "state.ckpt")
    from edge.checkpoint import load_checkpoint

    arrays, meta = load_checkpoint(path)
    other = driver(tmp_path, "numba", network=str(NETWORK))
    with pytest.raises(CheckpointError) as info:
        other.restore(arrays, meta, path)
    message = str(info.value)
    assert "built-in tracking network" in message and "tracking_stdp.toml" in message and "\n" not in message
