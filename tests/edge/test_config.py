"""Config: TOML over defaults, validated on load, errors that name the key."""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from edge.bus import BusAddresses
from edge.config import AUDIO_SOURCE_KINDS, CheckpointConfig, ConfigError, HearingRunConfig, load_config


def write(tmp_path, text: str):
    path = tmp_path / "c.toml"
    path.write_text(text)
    return path


def test_default_config_is_the_built_in_scene_on_numba():
    config = load_config(None)
    assert config.backend.url == "numba" and config.source.kind == "scene"
    assert config.bus.actions == "tcp://127.0.0.1:5556"
    assert config.run.dt_us == 1000


def test_values_override_defaults_and_nested_tables_load(tmp_path):
    config = load_config(write(tmp_path, "[run]\nseed = 5\n[network.rule]\nlearning_rate = 0.02\n[scene]\nnoise_hz_per_px = 1\n"))
    assert config.run.seed == 5
    assert config.network.rule.learning_rate == 0.02
    assert config.scene.noise_hz_per_px == 1.0


@pytest.mark.parametrize("text, key", [
    ("[scene]\nwidht = 3\n", "scene.widht"),
    ("[run]\nseed = 'x'\n", "run.seed"),
    ("[run]\ndt_us = 0\n", "run.dt_us"),
    ("[network.motor]\ntau_mem_ms = -1\n", "tau_mem_ms"),
    ("[source]\nkind = 'file'\n", "source.path"),
    ("bogus = 1\n", "bogus"),
    ("[run]\nrealtime = 1\n", "run.realtime"),
    ("run = 3\n", "run"),
])
def test_bad_values_name_the_key(tmp_path, text, key):
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text))
    message = str(err.value)
    assert key in message and "\n" not in message


def test_missing_and_invalid_files(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "absent.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[run\n"))


LAUNCH = Path(__file__).resolve().parents[2] / "launch"


def test_every_launch_file_is_covered():
    assert sorted(p.name for p in LAUNCH.glob("*.toml")) == ["daemon.toml", "hearing.toml", "memory.toml",
                                                             "replay.toml"]


def flatten(table: dict, prefix: str = "") -> dict:
    """{"run.seed": 0, "memory.hippocampus.n_dg": 4000, ...} from a parsed TOML file."""
    out = {}
    for key, value in table.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def config_value(config, dotted: str):
    value = config
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


@pytest.mark.parametrize("name", ["daemon.toml", "replay.toml", "memory.toml", "hearing.toml"])
def test_launch_file_loads_with_every_value_as_written(name):
    """Every key in the file is known (loading refuses unknown keys) and every value written in the file is
    the loaded config's value (nothing dropped, renamed or defaulted over)."""
    path = LAUNCH / name
    written = flatten(tomllib.loads(path.read_text(encoding="utf-8")))
    assert len(written) >= 5
    config = load_config(path)
    for key, value in written.items():
        assert config_value(config, key) == value, key


def test_launch_configs_load():
    """The values that make each launch file what it is, as the loader sees them."""
    daemon = load_config(LAUNCH / "daemon.toml")
    assert daemon.backend.url == "numba" and daemon.source.kind == "scene" and not daemon.source.is_audio
    assert daemon.learning.enabled and daemon.run.realtime and not daemon.memory.enabled
    assert (daemon.run.dt_us, daemon.run.block_ticks) == (1000, 10)
    assert daemon.checkpoint == CheckpointConfig(path="/var/lib/neuroedge/neuroedge.ckpt", interval_s=300.0)
    assert daemon.bus == BusAddresses("tcp://127.0.0.1:5556", "tcp://127.0.0.1:5557", "tcp://127.0.0.1:5558")

    replay = load_config(LAUNCH / "replay.toml")  # the recording comes from the command line
    assert replay.source.kind == "scene" and replay.source.path == ""
    assert replay.run.seed == 7 and replay.run.realtime is False and replay.run.speed == 1.0
    assert (replay.encoder.grid_w, replay.encoder.grid_h, replay.encoder.min_count) == (8, 8, 1)
    assert replay.learning.enabled

    memory = load_config(LAUNCH / "memory.toml")
    assert memory.memory.enabled and memory.memory.store == "novelty" and memory.backend.url == "numba"
    assert memory.memory.window_ticks(memory.run.dt_us) == 50
    assert memory.memory.hippocampus.n_ca3 == 1000 and memory.memory.hippocampus.n_labels == 10
    assert memory.checkpoint.path == "checkpoints/memory.ckpt"

    hearing = load_config(LAUNCH / "hearing.toml")
    assert hearing.source.kind == "microphone" and hearing.source.kind in AUDIO_SOURCE_KINDS
    assert hearing.source.is_audio and hearing.source.path == ""
    assert hearing.hearing == HearingRunConfig(model="/var/lib/neuroedge/hearing.model", learn=True, chunk_ms=32.0)
    assert hearing.checkpoint.path == "/var/lib/neuroedge/hearing.ckpt" and not hearing.memory.enabled
