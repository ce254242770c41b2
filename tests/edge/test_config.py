"""Config: TOML over defaults, validated on load, errors that name the key."""
from __future__ import annotations

import pytest

from edge.config import ConfigError, load_config


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


def test_launch_configs_load():
    from pathlib import Path

    launch = Path(__file__).resolve().parents[2] / "launch"
    for name in ("daemon.toml", "replay.toml"):
        load_config(launch / name)
