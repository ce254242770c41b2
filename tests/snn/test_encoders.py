"""snn.encoding.encoders: kernels against plain-Python references, streaming equality, determinism, physics, configs."""
from __future__ import annotations

import dataclasses
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from naive import encoders as ref  # noqa: E402
from snn.encoding.encoders import (  # noqa: E402
    ENCODERS,
    BSAConfig,
    BSAEncoder,
    DeltaConfig,
    DeltaEncoder,
    LatencyConfig,
    LatencyEncoder,
    PhaseConfig,
    PhaseEncoder,
    PopulationConfig,
    PopulationEncoder,
    RateConfig,
    RateEncoder,
    SigmaDeltaConfig,
    SigmaDeltaEncoder,
    bsa_filter,
    make_encoder,
)
from snn.frames import SpikeFrames  # noqa: E402

DT_US = 1000

# (name, params): every encoder and every mode, small enough for the plain-Python references
CASES = {
    "rate": ("rate", {"max_rate_hz": 500.0, "seed": 3}),
    "latency_linear": ("latency", {"window_ticks": 7}),
    "latency_log": ("latency", {"window_ticks": 9, "mapping": "log", "log_floor": 0.05}),
    "phase": ("phase", {"n_phases": 5}),
    "bsa_hann": ("bsa", {"filter_len": 6, "threshold": 0.9}),
    "bsa_gaussian": ("bsa", {"filter": "gaussian", "filter_len": 9, "threshold": 0.5}),
    "population_latency": ("population", {"n_fields": 5, "window_ticks": 6, "min_activation": 0.2}),
    "population_rate": ("population", {"n_fields": 4, "mode": "rate", "max_rate_hz": 400.0, "seed": 11,
                                       "lo": -0.5, "hi": 1.5, "width_factor": 0.7}),
    "delta": ("delta", {"threshold": 0.1, "baseline": 0.2}),
    "sigma_delta": ("sigma_delta", {"threshold": 0.1, "baseline": -0.1}),
}


def make(case: str, n_channels: int = 3):
    name, params = CASES[case]
    return make_encoder(name, n_channels=n_channels, dt_us=DT_US, **params)


def walk_signal(gen: np.random.Generator, n: int, n_channels: int) -> np.ndarray:
    """A random walk around [0, 1] with jumps and excursions outside it (exercises clipping)."""
    walk = 0.5 + np.cumsum(gen.normal(0.0, 0.08, (n, n_channels)), axis=0)
    jumps = gen.random((n, n_channels)) < 0.05
    walk[jumps] = gen.uniform(-0.3, 1.3, jumps.sum())
    return walk


def as_lists(frames: SpikeFrames) -> list[list[int]]:
    return [frames.tick(k).tolist() for k in range(frames.n_ticks)]


def concat(parts: list[SpikeFrames]) -> SpikeFrames:
    ptr = [np.zeros(1, dtype=np.int64)]
    offset = 0
    for part in parts:
        ptr.append(part.tick_ptr[1:] + offset)
        offset += part.n_spikes
    return SpikeFrames(np.concatenate(ptr), np.concatenate([p.neuron_ids for p in parts] + [np.zeros(0, np.int32)]))


def reference(case: str, encoder, x: np.ndarray) -> list[list[int]]:
    name, params = CASES[case]
    rows = x.tolist()
    c = encoder.config
    if name == "rate":
        return ref.rate_ref(rows, int(encoder.state()["rng_state"][0]), c.max_rate_hz * DT_US / 1e6)
    if name == "latency":
        return ref.latency_ref(rows, c.window_ticks, c.mapping, c.log_floor)
    if name == "phase":
        return ref.phase_ref(rows, c.n_phases)
    if name == "bsa":
        return ref.bsa_ref(rows, encoder.fir.tolist(), c.threshold)
    if name == "population" and c.mode == "rate":
        return ref.population_rate_ref(rows, int(encoder.state()["rng_state"][0]), encoder.centres.tolist(),
                                       1.0 / encoder.width, c.max_rate_hz * DT_US / 1e6)
    if name == "population":
        return ref.population_latency_ref(rows, encoder.centres.tolist(), 1.0 / encoder.width, c.window_ticks,
                                          c.min_activation)
    if name == "delta":
        return ref.delta_ref(rows, c.baseline, c.threshold)
    return ref.sigma_delta_ref(rows, c.baseline, c.threshold)


# ---------------------------------------------------------------- kernels against the references


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("seed", [0, 1])
def test_encoder_matches_plain_python_reference(case, seed):
    encoder = make(case)
    x = walk_signal(np.random.default_rng(seed), 150, 3)
    expected = reference(case, encoder, x)
    frames = encoder.encode(x)
    frames.validate(encoder.n_neurons())
    assert as_lists(frames) == expected
    assert frames.n_spikes > 0
    for tick in as_lists(frames):
        assert tick == sorted(set(tick))  # ascending, each neuron at most once per tick


def test_bsa_decode_matches_reference_convolution():
    encoder = make("bsa_gaussian", n_channels=2)
    x = walk_signal(np.random.default_rng(5), 80, 2)
    frames = encoder.encode(x)
    expected = ref.bsa_decode_ref(as_lists(frames), 2, encoder.fir.tolist())
    np.testing.assert_allclose(encoder.decode(frames, 80), np.array(expected), rtol=0, atol=1e-12)


@pytest.mark.parametrize("case", ["delta", "sigma_delta"])
def test_step_decode_matches_reference_and_the_encoder_reference_level(case):
    encoder = make(case)
    x = walk_signal(np.random.default_rng(2), 120, 3)
    frames = encoder.encode(x)
    c = encoder.config
    decoded = encoder.decode(frames, 120)
    assert decoded.tolist() == ref.step_decode_ref(as_lists(frames), 3, c.baseline, c.threshold)
    assert np.array_equal(decoded[-1], c.baseline + encoder.state()["level"] * c.threshold)


@pytest.mark.parametrize("kind", ["hann", "gaussian"])
@pytest.mark.parametrize("filter_len", [2, 7, 20])
def test_bsa_filter_has_unit_sum_and_documented_shape(kind, filter_len):
    h = bsa_filter(kind, filter_len)
    i = np.arange(filter_len)
    if kind == "hann":
        shape = 1 - np.cos(2 * np.pi * (i + 1) / (filter_len + 1))
    else:
        shape = np.exp(-0.5 * ((i - (filter_len - 1) / 2) / (filter_len / 4)) ** 2)
    assert math.isclose(h.sum(), 1.0) and (h > 0).all()
    np.testing.assert_allclose(h, shape / shape.sum(), rtol=1e-12)
    np.testing.assert_allclose(h, h[::-1], rtol=1e-12)  # symmetric


# ---------------------------------------------------------------- streaming, state and determinism


@settings(max_examples=30, deadline=None)
@given(case=st.sampled_from(sorted(CASES)), cuts=st.lists(st.integers(0, 90), max_size=6), seed=st.integers(0, 3))
def test_chunked_encoding_equals_whole_signal(case, cuts, seed):
    x = walk_signal(np.random.default_rng(seed), 90, 3)
    whole_encoder, chunk_encoder = make(case), make(case)
    whole = whole_encoder.encode(x)
    bounds = [0, *sorted(cuts), 90]
    chunked = concat([chunk_encoder.encode(x[a:b]) for a, b in zip(bounds[:-1], bounds[1:])])
    assert np.array_equal(chunked.tick_ptr, whole.tick_ptr)
    assert np.array_equal(chunked.neuron_ids, whole.neuron_ids)
    for key, value in whole_encoder.state().items():
        assert np.array_equal(chunk_encoder.state()[key], value), key


@pytest.mark.parametrize("case", ["rate", "population_rate"])
def test_two_instances_with_one_seed_agree_at_every_step_and_seeds_differ(case):
    gen = np.random.default_rng(9)
    a, b = make(case), make(case)
    name, params = CASES[case]
    other = make_encoder(name, n_channels=3, dt_us=DT_US, **{**params, "seed": params["seed"] + 1})
    differs = False
    for _ in range(20):
        x = gen.uniform(0, 1, (int(gen.integers(1, 15)), 3))
        fa, fb, fo = a.encode(x), b.encode(x), other.encode(x)
        assert np.array_equal(fa.tick_ptr, fb.tick_ptr) and np.array_equal(fa.neuron_ids, fb.neuron_ids)
        differs |= not np.array_equal(fa.neuron_ids, fo.neuron_ids)
    assert differs


@pytest.mark.parametrize("case", CASES)
def test_reset_replays_and_restore_continues_exactly(case):
    x = walk_signal(np.random.default_rng(4), 100, 3)
    encoder = make(case)
    first = encoder.encode(x)
    encoder.reset()
    assert as_lists(encoder.encode(x)) == as_lists(first)

    encoder.reset()
    encoder.encode(x[:37])
    saved = encoder.state()
    copy = make(case)
    copy.restore(saved)
    assert as_lists(copy.encode(x[37:])) == as_lists(encoder.encode(x[37:]))


def test_restore_names_the_bad_array():
    encoder = make("sigma_delta")
    with pytest.raises(ValueError, match="SigmaDeltaEncoder.restore"):
        encoder.restore({"level": np.zeros(3, dtype=np.int64)})
    with pytest.raises(ValueError, match="integral"):
        encoder.restore({"level": np.zeros(3, dtype=np.int64), "integral": np.zeros(4)})


def test_encode_does_not_touch_the_callers_signal_and_accepts_float32():
    x = walk_signal(np.random.default_rng(0), 50, 3).astype(np.float32)
    before = x.copy()
    a, b = make("delta"), make("delta")
    assert as_lists(a.encode(x)) == as_lists(b.encode(x.astype(np.float64)))
    assert np.array_equal(x, before)


# ---------------------------------------------------------------- physics


def test_rate_encoder_mean_rate_is_x_times_max_rate_within_binomial_tolerance():
    values = np.array([0.0, 0.05, 0.3, 0.6, 1.0, 1.7, -0.4])
    n_ticks, max_rate_hz = 20_000, 200.0
    encoder = RateEncoder(RateConfig(max_rate_hz=max_rate_hz, seed=1), len(values), DT_US)
    counts = encoder.encode(np.tile(values, (n_ticks, 1))).counts(len(values))
    p = np.clip(values, 0, 1) * max_rate_hz * DT_US / 1e6
    tolerance = 5 * np.sqrt(n_ticks * p * (1 - p))
    assert np.all(np.abs(counts - n_ticks * p) <= tolerance)
    assert counts[0] == counts[-1] == 0


@pytest.mark.parametrize("mapping", ["linear", "log"])
def test_latency_is_monotone_in_x_with_one_spike_per_channel_per_window(mapping):
    values = np.linspace(-0.1, 1.1, 60)
    window = 12
    encoder = LatencyEncoder(LatencyConfig(window_ticks=window, mapping=mapping), len(values), DT_US)
    frames = encoder.encode(np.tile(values, (3 * window, 1)))
    first = np.full(len(values), -1)
    for k in range(window):
        first[frames.tick(k)] = k
    assert np.all(np.diff(first) <= 0)  # larger value, earlier (or equal) spike
    assert first[0] == window - 1 and first[-1] == 0
    assert np.array_equal(frames.counts(len(values)), np.full(len(values), 3))


def test_latency_and_phase_decode_within_their_quantisation_step():
    gen = np.random.default_rng(8)
    window, n_phases = 11, 6
    held = np.repeat(gen.uniform(0, 1, (8, 4)), window * n_phases, axis=0)  # constant over every window
    lat = LatencyEncoder(LatencyConfig(window_ticks=window), 4, DT_US)
    assert np.abs(lat.decode(lat.encode(held), len(held)) - held).max() <= 0.5 / (window - 1) + 1e-12
    ph = PhaseEncoder(PhaseConfig(n_phases=n_phases), 4, DT_US)
    err = ph.decode(ph.encode(held), len(held)) - np.minimum(held, 1 - 2.0**-n_phases)
    assert np.abs(err).max() <= 2.0 ** -(n_phases + 1) + 1e-12


def slow_signal(n: int, n_channels: int, slope_per_tick: float) -> np.ndarray:
    t = np.arange(n)[:, None]
    freq = slope_per_tick / 0.4 / (2 * np.pi)  # amplitude 0.4: max slope 0.4 * 2 pi f per tick
    return 0.5 + 0.4 * np.sin(2 * np.pi * freq * t + np.arange(n_channels))


def test_delta_reconstruction_error_stays_below_threshold_on_a_slow_signal():
    threshold = 0.05
    x = slow_signal(3000, 4, slope_per_tick=0.8 * threshold)
    encoder = DeltaEncoder(DeltaConfig(threshold=threshold, baseline=0.5), 4, DT_US)
    encoder.reset()
    first = make_encoder("delta", n_channels=4, dt_us=DT_US, threshold=threshold, baseline=float(x[0, 0]))
    decoded = first.decode(first.encode(x), len(x))
    assert np.abs(decoded[:, 0] - x[:, 0]).max() < threshold
    frames = encoder.encode(x)
    assert np.abs(encoder.decode(frames, len(x)) - x)[20:].max() < threshold  # after catching up from 0.5
    assert frames.n_spikes < 0.5 * x.size  # silent while the signal stays within a threshold


def test_sigma_delta_tracks_a_slow_signal_and_a_constant_on_average():
    threshold = 0.05
    x = slow_signal(3000, 4, slope_per_tick=0.5 * threshold)
    encoder = SigmaDeltaEncoder(SigmaDeltaConfig(threshold=threshold, baseline=0.5), 4, DT_US)
    assert np.abs(encoder.decode(encoder.encode(x), len(x)) - x)[20:].max() < 2 * threshold
    constant = np.full((2000, 3), [0.123, 0.5, 0.871])
    encoder = SigmaDeltaEncoder(SigmaDeltaConfig(threshold=threshold), 3, DT_US)
    decoded = encoder.decode(encoder.encode(constant), len(constant))
    np.testing.assert_allclose(decoded[500:].mean(axis=0), constant[0], atol=0.1 * threshold)


def test_bsa_reconstructs_a_smooth_signal():
    x = slow_signal(2000, 3, slope_per_tick=0.01)
    encoder = BSAEncoder(BSAConfig(), 3, DT_US)
    decoded = encoder.decode(encoder.encode(x), len(x))
    inner = slice(50, len(x) - encoder.lag_ticks)
    assert np.sqrt(np.mean((decoded[inner] - x[inner]) ** 2)) < 0.03


@pytest.mark.parametrize("mode", ["latency", "rate"])
def test_population_peak_field_tracks_the_value(mode):
    config = PopulationConfig(n_fields=9, lo=-1.0, hi=3.0, mode=mode, max_rate_hz=300.0, window_ticks=20)
    centres = np.linspace(-1.0, 3.0, 9)
    # each value within 0.3 spacing of a centre: the nearest field's rate exceeds the next by >= 5 sigma
    values = np.repeat(centres, 3) + np.tile([-0.3, 0.0, 0.3], 9) * 0.5
    encoder = PopulationEncoder(config, len(values), DT_US)
    assert np.allclose(encoder.centres, centres) and math.isclose(encoder.width, 0.5)
    frames = encoder.encode(np.tile(values, (4000 if mode == "rate" else 20, 1)))
    nearest = np.abs(values[:, None] - encoder.centres[None, :]).argmin(axis=1)
    if mode == "rate":
        peak = frames.counts(encoder.n_neurons()).reshape(len(values), 9).argmax(axis=1)
    else:
        first = np.full(encoder.n_neurons(), 99)
        for k in range(20)[::-1]:
            first[frames.tick(k)] = k
        peak = first.reshape(len(values), 9).argmin(axis=1)
    assert np.array_equal(peak, nearest)


def test_population_latency_decode_inverts_the_gaussian():
    values = np.linspace(0.0, 1.0, 41)
    encoder = PopulationEncoder(PopulationConfig(n_fields=6, window_ticks=64), len(values), DT_US)
    decoded = encoder.decode(encoder.encode(np.tile(values, (64, 1))), 64)
    assert np.abs(decoded - values).max() < 0.02


def test_population_rate_decode_is_unbiased_on_average():
    values = np.linspace(0.05, 0.95, 10)
    encoder = PopulationEncoder(PopulationConfig(mode="rate", seed=2), len(values), DT_US)
    decoded = encoder.decode(encoder.encode(np.tile(values, (3000, 1))), 3000)[100:-100]
    assert np.abs(decoded.mean(axis=0) - values).max() < 0.03
    assert np.sqrt(np.mean((decoded - values) ** 2)) < 0.1


# ---------------------------------------------------------------- layout, configs and errors


@pytest.mark.parametrize("case,per_channel", [("rate", 1), ("latency_linear", 1), ("phase", 1), ("bsa_hann", 1),
                                              ("population_latency", 5), ("delta", 2), ("sigma_delta", 2)])
def test_neuron_layout_and_decode_shape(case, per_channel):
    encoder = make(case, n_channels=4)
    assert encoder.n_neurons() == 4 * per_channel and encoder.n_neurons(7) == 7 * per_channel
    frames = encoder.encode(walk_signal(np.random.default_rng(1), 40, 4))
    assert frames.n_ticks == 40
    assert encoder.decode(frames, 40).shape == (40, 4)
    assert encoder.decode(frames, 25).shape == (25, 4)
    with pytest.raises(ValueError, match="n_samples"):
        encoder.decode(frames, 41)


def test_empty_signal_gives_empty_frames():
    frames = make("bsa_hann").encode(np.zeros((0, 3)))
    assert frames.n_ticks == 0 and frames.n_spikes == 0


BAD_CONFIGS = [
    (RateConfig, "max_rate_hz", 0.0), (RateConfig, "max_rate_hz", float("nan")), (RateConfig, "seed", -1),
    (RateConfig, "decode_window_ticks", 0), (LatencyConfig, "window_ticks", 1), (LatencyConfig, "window_ticks", 2.5),
    (LatencyConfig, "mapping", "cubic"), (LatencyConfig, "log_floor", 1.0), (PhaseConfig, "n_phases", 0),
    (PhaseConfig, "n_phases", 31), (BSAConfig, "filter", "boxcar"), (BSAConfig, "filter_len", 1),
    (BSAConfig, "threshold", float("inf")), (PopulationConfig, "n_fields", 1), (PopulationConfig, "hi", -1.0),
    (PopulationConfig, "width_factor", 0.0), (PopulationConfig, "mode", "spiky"),
    (PopulationConfig, "min_activation", 0.0), (PopulationConfig, "seed", True),
    (DeltaConfig, "threshold", -0.1), (DeltaConfig, "baseline", float("nan")), (SigmaDeltaConfig, "threshold", 0),
]
OWNERS = {RateConfig: "RateEncoder", LatencyConfig: "LatencyEncoder", PhaseConfig: "PhaseEncoder",
          BSAConfig: "BSAEncoder", PopulationConfig: "PopulationEncoder", DeltaConfig: "DeltaEncoder",
          SigmaDeltaConfig: "SigmaDeltaEncoder"}


@pytest.mark.parametrize("config_cls,key,value", BAD_CONFIGS)
def test_configs_reject_bad_values_naming_encoder_and_key(config_cls, key, value):
    with pytest.raises(ValueError, match=rf"^{OWNERS[config_cls]}\.{key}: "):
        config_cls(**{key: value})


def test_configs_are_frozen_and_rate_above_one_per_tick_is_refused():
    with pytest.raises(dataclasses.FrozenInstanceError):
        RateConfig().max_rate_hz = 5.0
    with pytest.raises(ValueError, match=r"RateEncoder\.max_rate_hz: 2000.0 Hz at dt_us=1000"):
        RateEncoder(RateConfig(max_rate_hz=2000.0), 2, 1000)
    with pytest.raises(ValueError, match=r"PopulationEncoder\.max_rate_hz"):
        make_encoder("population", n_channels=2, dt_us=10_000, max_rate_hz=200.0)
    with pytest.raises(TypeError, match="DeltaConfig"):
        DeltaEncoder(SigmaDeltaConfig(), 2, DT_US)
    with pytest.raises(ValueError, match=r"PhaseEncoder\.n_channels"):
        PhaseEncoder(PhaseConfig(), 0, DT_US)


def test_registry_and_make_encoder_errors():
    assert set(ENCODERS) == {"rate", "latency", "phase", "bsa", "population", "delta", "sigma_delta"}
    assert all(cls.name == name for name, cls in ENCODERS.items())
    with pytest.raises(ValueError, match="unknown encoder 'poisson'; known: rate, latency, phase, bsa"):
        make_encoder("poisson", n_channels=2, dt_us=DT_US)
    with pytest.raises(ValueError, match=r"LatencyEncoder\.window: unknown key; known: window_ticks"):
        make_encoder("latency", n_channels=2, dt_us=DT_US, window=5)


def test_encode_rejects_bad_signals_naming_the_encoder():
    encoder = make("phase", n_channels=3)
    with pytest.raises(ValueError, match=r"PhaseEncoder\.encode: signal must have shape \(n_samples, 3\)"):
        encoder.encode(np.zeros((10, 2)))
    with pytest.raises(ValueError, match="PhaseEncoder.encode"):
        encoder.encode(np.zeros(10))
    with pytest.raises(TypeError, match="float"):
        encoder.encode(np.zeros((10, 3), dtype=np.int64))
    with pytest.raises(ValueError, match="NaN"):
        encoder.encode(np.full((4, 3), np.nan))
    with pytest.raises(TypeError, match="numpy array"):
        encoder.encode([[0.0, 0.0, 0.0]])
