"""One strictness for every ``restore()``: state() → restore() round-trips exactly, and a missing, extra,
mis-shaped or mis-typed array raises ValueError naming the array, leaving the object untouched.

Covers every restorable class outside the back ends (those have their own conformance tests): the signal
encoders, the cochlea, the audio encoder, the word net, CA3, the hippocampus and the memory stage, plus the
hearing model checkpoint assembled from the word net and the memory."""
from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pytest

from edge.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from edge.config import MemoryConfig
from edge.hearing import Hearing, HearingConfig, load_model, save_model
from edge.memory_stage import MemoryStage, split_memory
from snn.encoding.cochlea import Cochlea, CochleaConfig
from snn.encoding.encode_audio import AudioEncoder, AudioEncoderConfig
from snn.encoding.encoders import ENCODERS, make_encoder
from snn.memory.hippocampus import CA3Memory, Hippocampus, HippocampusConfig
from snn.hearing.utterance import Utterance
from snn.hearing.word_net import WordNet, WordNetConfig

DT_US = 1000
COCHLEA = CochleaConfig(n_channels=4, f_min_hz=200.0, f_max_hz=3000.0, sample_rate_hz=8000)
SMALL_MEMORY = HippocampusConfig(n_dg=300, dg_fan_in=8, n_ca3=120, mossy_fan_in=40, ca3_sparsity=0.05,
                                 n_labels=4, seed=2)
ENCODER_PARAMS = {"rate": {"max_rate_hz": 500.0, "seed": 3}, "latency": {"window_ticks": 7},
                  "phase": {"n_phases": 5}, "bsa": {"filter_len": 6, "threshold": 0.9},
                  "population": {"n_fields": 4, "window_ticks": 6}, "delta": {"threshold": 0.1},
                  "sigma_delta": {"threshold": 0.1}}
SOUND = np.sin(2 * np.pi * 440.0 * np.arange(1237) / 8000.0) * np.linspace(0.0, 0.5, 1237)


def _encoder(name: str):
    encoder = make_encoder(name, n_channels=3, dt_us=DT_US, **ENCODER_PARAMS[name])
    encoder.encode(np.random.default_rng(1).uniform(0.0, 1.0, (23, 3)))  # leave a window open
    return encoder, lambda: make_encoder(name, n_channels=3, dt_us=DT_US, **ENCODER_PARAMS[name])


def _cochlea():
    cochlea = Cochlea(COCHLEA)
    cochlea.process(SOUND)
    return cochlea, lambda: Cochlea(COCHLEA)


def _audio_encoder():
    config = AudioEncoderConfig(cochlea=COCHLEA, encoder="delta", encoder_params={"threshold": 0.2})
    encoder = AudioEncoder(config)
    encoder.encode(SOUND)
    return encoder, lambda: AudioEncoder(config)


def _word_net():
    config = WordNetConfig(n_classes=3, n_bins=4, replay_ticks=8)
    net = WordNet(config, 5)
    rng = np.random.default_rng(2)
    ticks = np.sort(rng.integers(0, 40, 60))
    net.present(Utterance(ticks, rng.integers(0, 5, 60).astype(np.int32), 40, 0))
    net.reinforce(1)
    return net, lambda: WordNet(config, 5)


def _patterns(n_input: int, count: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(rng.random(n_input) < 0.3) * rng.uniform(1.0, 5.0, n_input) for _ in range(count)]


def _ca3():
    memory = CA3Memory(60, 4, seed=1)
    for p in range(3):
        memory.store(np.arange(4) + 7 * p)
    return memory, lambda: CA3Memory(60, 4, seed=1)


def _hippocampus():
    memory = Hippocampus(SMALL_MEMORY, 32)
    for label, x in enumerate(_patterns(32, 3, 3)):
        memory.store(x, label)
    return memory, lambda: Hippocampus(SMALL_MEMORY, 32)


def _memory_stage():
    config = MemoryConfig(enabled=True, store="novelty", min_activity=1, hippocampus=SMALL_MEMORY)
    stage = MemoryStage(config, 32, None)
    for i, x in enumerate(_patterns(32, 3, 4)):
        stage.observe_vector(np.round(x), i * 1000)
    assert stage.stored > 0
    return stage, lambda: MemoryStage(config, 32, None)


FACTORIES: dict[str, Callable] = {
    **{f"encoder_{name}": (lambda name=name: _encoder(name)) for name in ENCODERS},
    "cochlea": _cochlea, "audio_encoder": _audio_encoder, "word_net": _word_net, "ca3": _ca3,
    "hippocampus": _hippocampus, "memory_stage": _memory_stage,
}


def _cases() -> list[tuple[str, str]]:
    """(class, array) for every array of every restorable class."""
    return [(name, key) for name, factory in FACTORIES.items() for key in factory()[0].state()]


def _assert_same_state(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert list(a) == list(b)
    for key in a:
        assert a[key].dtype == b[key].dtype and a[key].shape == b[key].shape, key
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def _other_dtype(dtype: np.dtype) -> np.dtype:
    return np.dtype(np.float32) if dtype == np.float64 else np.dtype(np.float64)


def _names(key: str) -> str:
    return re.escape(repr(key))


@pytest.mark.parametrize("name", FACTORIES)
def test_state_restore_round_trips_into_a_fresh_object(name):
    loaded, fresh_of = FACTORIES[name]()
    saved = loaded.state()
    fresh = fresh_of()
    assert any(not np.array_equal(v, fresh.state()[k]) for k, v in saved.items()), "the state should be non-trivial"
    fresh.restore(saved)
    _assert_same_state(fresh.state(), saved)
    fresh.restore(fresh_of().state())  # and back: restore overwrites everything it owns
    _assert_same_state(fresh.state(), fresh_of().state())


@pytest.mark.parametrize("name, key", _cases())
@pytest.mark.parametrize("fault", ["missing", "wrong_shape", "wrong_dtype", "not_an_array"])
def test_a_bad_array_raises_naming_it_and_nothing_is_loaded(name, key, fault):
    loaded, fresh_of = FACTORIES[name]()
    state = loaded.state()
    value = state[key]
    if fault == "missing":
        del state[key]
    elif fault == "wrong_shape":
        state[key] = np.concatenate([value, value[:1]])
    elif fault == "wrong_dtype":
        state[key] = value.astype(_other_dtype(value.dtype))
    else:
        state[key] = value.tolist()
    fresh = fresh_of()
    before = fresh.state()
    with pytest.raises(ValueError, match=_names(key)):
        fresh.restore(state)
    _assert_same_state(fresh.state(), before)


@pytest.mark.parametrize("name", FACTORIES)
def test_an_extra_array_raises_naming_it(name):
    loaded, fresh_of = FACTORIES[name]()
    fresh = fresh_of()
    before = fresh.state()
    with pytest.raises(ValueError, match=_names("stray")):
        fresh.restore({**loaded.state(), "stray": np.zeros(1)})
    _assert_same_state(fresh.state(), before)


@pytest.mark.parametrize("name", FACTORIES)
def test_a_state_that_is_not_a_mapping_is_refused(name):
    loaded, fresh_of = FACTORIES[name]()
    with pytest.raises(ValueError, match="mapping"):
        fresh_of().restore(list(loaded.state().values()))


# ------------------------------------------------------------- a hearing model assembled from its parts


def _small_hearing() -> Hearing:
    config = HearingConfig(audio=AudioEncoderConfig(cochlea=COCHLEA, encoder="delta",
                                                    encoder_params={"threshold": 0.2}),
                           word_net=WordNetConfig(n_classes=3, n_bins=4, replay_ticks=8), labels=("a", "b", "c"))
    hearing = Hearing(config)
    hearing.net.weights[...] = np.random.default_rng(5).normal(size=hearing.net.weights.shape)
    return hearing


def test_a_model_saved_with_its_memory_still_loads_as_a_model(tmp_path):
    hearing = _small_hearing()
    config = MemoryConfig(enabled=True, store="novelty", min_activity=1, hippocampus=SMALL_MEMORY)
    stage = MemoryStage(config, hearing.net.n_map, None)
    stage.observe_vector(np.ones(hearing.net.n_map), 0)
    path = save_model(tmp_path / "model.ckpt", hearing, {"note": "x"}, memory=stage)
    arrays, meta = load_checkpoint(path)
    assert meta["memory"] == stage.meta() and meta["note"] == "x"
    weights, memory = split_memory(arrays)
    assert set(weights) == {"weights"} and set(memory) == set(stage.state())
    np.testing.assert_array_equal(load_model(path).net.weights, hearing.net.weights)
    restored = MemoryStage(config, hearing.net.n_map, None)
    restored.restore(memory)
    _assert_same_state(restored.state(), stage.state())


def test_a_model_with_a_stray_or_mistyped_array_is_refused(tmp_path):
    hearing = _small_hearing()
    weights = hearing.net.state()["weights"]
    meta = {"kind": "hearing", "config": hearing.config.to_dict()}
    stray = save_checkpoint(tmp_path / "stray.ckpt", {"weights": weights, "bias": np.zeros(3)}, meta)
    with pytest.raises(CheckpointError, match="'bias'"):
        load_model(stray)
    mistyped = save_checkpoint(tmp_path / "f32.ckpt", {"weights": weights.astype(np.float32)}, meta)
    with pytest.raises(CheckpointError, match="'weights' is float32"):
        load_model(mistyped)
