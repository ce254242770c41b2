"""snn.encoding.cochlea and snn.encoding.encode_audio: kernels against plain-Python references, chunking invariance (bit for
bit), unity gain at the centre frequency, log-spaced channels, config validation, silence, state round trip."""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.hearing import HearingConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from naive import audio as ref  # noqa: E402
from snn.encoding.cochlea import Cochlea, CochleaConfig, erb_hz  # noqa: E402
from snn.encoding.cochlea_kernels import ORDER, compress_adapt, gammatone_envelopes  # noqa: E402
from snn.encoding.encode_audio import AudioEncoder, AudioEncoderConfig  # noqa: E402
from snn.frames import SpikeFrames  # noqa: E402

SMALL = CochleaConfig(n_channels=3, f_min_hz=300.0, f_max_hz=2500.0, sample_rate_hz=8000, dt_us=1000,
                      reference=1e-3, adapt_tau_ms=20.0, adapt_strength=0.7)


def test_order_matches_reference():
    assert ORDER == ref.ORDER == 4


def speechy(gen: np.random.Generator, n: int, sample_rate_hz: int) -> np.ndarray:
    """Noise plus two tones, amplitude-modulated at 4 Hz, with a silent stretch in the middle."""
    t = np.arange(n) / sample_rate_hz
    x = 0.05 * gen.standard_normal(n) + 0.2 * np.sin(2 * np.pi * 440.0 * t) + 0.1 * np.sin(2 * np.pi * 1300 * t)
    x *= 0.5 * (1.0 + np.sin(2 * np.pi * 4.0 * t))
    x[n // 3 : n // 2] = 0.0
    return x


def concat(parts: list[SpikeFrames]) -> SpikeFrames:
    ptr = [np.zeros(1, dtype=np.int64)]
    offset = 0
    for part in parts:
        ptr.append(part.tick_ptr[1:] + offset)
        offset += part.n_spikes
    return SpikeFrames(np.concatenate(ptr), np.concatenate([p.neuron_ids for p in parts] + [np.zeros(0, np.int32)]))


def split(x: np.ndarray, cuts: list[int]) -> list[np.ndarray]:
    bounds = [0, *sorted(cuts), len(x)]
    return [x[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


# ---------------------------------------------------------------- kernels against the references


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gammatone_kernel_matches_complex_reference(seed):
    gen = np.random.default_rng(seed)
    n_channels, spt = 3, 7
    radius = gen.uniform(0.8, 0.99, n_channels)
    angle = gen.uniform(0.1, 2.5, n_channels)
    poles = radius * np.exp(1j * angle)
    gains = gen.uniform(0.01, 1.0, n_channels)
    x = gen.uniform(-1.0, 1.0, 300)

    state = ref.new_cochlea_state(n_channels)
    # start from a non-zero state, as in the middle of a stream
    for s in range(ORDER):
        state["stages"][s] = [complex(a, b) for a, b in gen.normal(0, 0.3, (n_channels, 2))]
    state["tick_sum"] = gen.uniform(0, 0.5, n_channels).tolist()
    state["fill"] = 3
    stage_re = np.array([[z.real for z in row] for row in state["stages"]])
    stage_im = np.array([[z.imag for z in row] for row in state["stages"]])
    tick_sum = np.array(state["tick_sum"])
    tick_fill = np.array([3], dtype=np.int64)

    expected = ref.gammatone_envelopes_ref(x.tolist(), poles.tolist(), gains.tolist(), state, spt)
    envelope = np.full(((3 + len(x)) // spt, n_channels), np.nan)
    written = gammatone_envelopes(x, poles.real.copy(), poles.imag.copy(), gains, stage_re, stage_im, tick_sum,
                                  tick_fill, spt, envelope)
    assert written == len(expected) == (3 + len(x)) // spt
    np.testing.assert_allclose(envelope, np.array(expected), rtol=1e-9, atol=1e-12)
    assert tick_fill[0] == state["fill"] == (3 + len(x)) % spt
    np.testing.assert_allclose(tick_sum, state["tick_sum"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(stage_re + 1j * stage_im, np.array(state["stages"]), rtol=1e-9, atol=1e-12)


def test_compress_adapt_kernel_matches_reference():
    gen = np.random.default_rng(7)
    envelope = gen.exponential(0.01, (60, 3))
    envelope[10:20] = 0.0
    level0 = gen.uniform(0.0, 3.0, 3)
    keep, strength, reference = 0.9, 0.6, 2e-3
    level_ref = level0.tolist()
    expected = ref.compress_adapt_ref(envelope.tolist(), reference, level_ref, keep, strength)
    level = level0.copy()
    out = np.empty_like(envelope)
    compress_adapt(envelope, reference, level, keep, strength, out)
    np.testing.assert_allclose(out, np.array(expected), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(level, level_ref, rtol=1e-12, atol=1e-14)
    assert (out >= 0).all() and (out[10:20] == 0).any()


@pytest.mark.parametrize("n_samples", [400, 403])
def test_cochlea_matches_reference_built_from_the_documented_physics(n_samples):
    x = speechy(np.random.default_rng(3), n_samples, SMALL.sample_rate_hz)
    cochlea = Cochlea(SMALL)
    raw = cochlea.raw_envelopes(x[:200])
    cochlea.reset()
    out = cochlea.process(x)
    keep = math.exp(-SMALL.dt_us / (1000.0 * SMALL.adapt_tau_ms))
    raw_ref, out_ref = ref.cochlea_ref(x.tolist(), cochlea.centre_hz.tolist(), SMALL.sample_rate_hz,
                                       SMALL.samples_per_tick, SMALL.reference, keep, SMALL.adapt_strength)
    assert out.shape == (n_samples // SMALL.samples_per_tick, 3)
    np.testing.assert_allclose(raw, np.array(raw_ref[: raw.shape[0]]), rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(out, np.array(out_ref), rtol=1e-9, atol=1e-12)
    assert out.max() > 0


# ---------------------------------------------------------------- chunking: bit-identical


X_CHUNK = speechy(np.random.default_rng(11), 2400, 16000)  # 150 ms at 16 kHz
CHUNK_CONFIG = CochleaConfig(n_channels=8, f_min_hz=150.0, f_max_hz=5000.0, sample_rate_hz=16000, dt_us=1000,
                             adapt_tau_ms=30.0)
ENCODERS = {
    "rate": {"max_rate_hz": 800.0, "seed": 5},
    "sigma_delta": {"threshold": 0.05},
    "bsa": {"filter_len": 6, "threshold": 0.5},
    "latency": {"window_ticks": 5},
}


@settings(max_examples=40, deadline=None)
@given(cuts=st.lists(st.integers(0, len(X_CHUNK)), max_size=8))
def test_cochlea_chunked_equals_whole(cuts):
    whole = Cochlea(CHUNK_CONFIG).process(X_CHUNK)
    cochlea = Cochlea(CHUNK_CONFIG)
    chunked = np.concatenate([cochlea.process(part) for part in split(X_CHUNK, cuts)])
    assert chunked.shape == whole.shape == (150, 8)
    assert np.array_equal(chunked, whole)


@settings(max_examples=40, deadline=None)
@given(encoder=st.sampled_from(sorted(ENCODERS)), cuts=st.lists(st.integers(0, len(X_CHUNK)), max_size=8))
def test_audio_encoder_chunked_equals_whole(encoder, cuts):
    config = AudioEncoderConfig(cochlea=CHUNK_CONFIG, encoder=encoder, encoder_params=ENCODERS[encoder], gain=0.3)
    whole_env, whole_spikes = AudioEncoder(config).encode(X_CHUNK)
    chunker = AudioEncoder(config)
    parts = [chunker.encode(part) for part in split(X_CHUNK, cuts)]
    env = np.concatenate([p[0] for p in parts])
    spikes = concat([p[1] for p in parts])
    assert np.array_equal(env, whole_env)
    assert np.array_equal(spikes.tick_ptr, whole_spikes.tick_ptr)
    assert np.array_equal(spikes.neuron_ids, whole_spikes.neuron_ids)
    assert whole_spikes.n_spikes > 0
    whole_spikes.validate(chunker.n_neurons)


def test_chunks_smaller_than_a_tick_and_empty_chunks():
    whole = Cochlea(CHUNK_CONFIG).process(X_CHUNK)
    cochlea = Cochlea(CHUNK_CONFIG)
    rows = []
    for start in range(0, len(X_CHUNK), 5):
        rows.append(cochlea.process(X_CHUNK[start:start + 5]))
        rows.append(cochlea.process(X_CHUNK[:0]))
    assert np.array_equal(np.concatenate(rows), whole)


# ---------------------------------------------------------------- physics


def test_unity_gain_at_centre_frequency_and_that_channel_wins():
    config = CochleaConfig(n_channels=16, f_min_hz=200.0, f_max_hz=5000.0, sample_rate_hz=16000, dt_us=1000)
    amplitude = 0.2
    t = np.arange(int(0.25 * config.sample_rate_hz)) / config.sample_rate_hz
    for k in (0, 3, 8, 12, 15):
        cochlea = Cochlea(config)
        f = cochlea.centre_hz[k]
        raw = cochlea.raw_envelopes(amplitude * np.sin(2 * np.pi * f * t))
        settled = raw[-100:].mean(axis=0)  # the last 100 ms
        assert settled[k] == pytest.approx(amplitude, rel=0.05), (k, f, settled[k])
        assert int(np.argmax(settled)) == k
        processed = Cochlea(config).process(amplitude * np.sin(2 * np.pi * f * t))
        assert int(np.argmax(processed[-100:].mean(axis=0))) == k


def test_envelope_scales_linearly_with_amplitude():
    config = CochleaConfig(n_channels=4, f_min_hz=300.0, f_max_hz=3000.0, sample_rate_hz=16000)
    t = np.arange(2000) / 16000
    x = np.sin(2 * np.pi * 700.0 * t) + 0.3 * np.sin(2 * np.pi * 2100.0 * t)
    a = Cochlea(config).raw_envelopes(x)
    b = Cochlea(config).raw_envelopes(0.25 * x)
    np.testing.assert_allclose(b, 0.25 * a, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("n_channels, f_min, f_max, fs", [(32, 100.0, 6000.0, 16000), (5, 250.0, 3900.0, 8000),
                                                          (2, 50.0, 20000.0, 44100)])
def test_centre_frequencies_are_log_spaced_within_bounds(n_channels, f_min, f_max, fs):
    cochlea = Cochlea(CochleaConfig(n_channels=n_channels, f_min_hz=f_min, f_max_hz=f_max, sample_rate_hz=fs,
                                    dt_us=1000 if fs != 44100 else 20000))
    centre = cochlea.centre_hz
    assert centre.shape == (n_channels,)
    assert centre[0] == pytest.approx(f_min, rel=1e-12) and centre[-1] == pytest.approx(f_max, rel=1e-12)
    assert (centre >= f_min * (1 - 1e-12)).all() and (centre <= f_max * (1 + 1e-12)).all()
    ratios = centre[1:] / centre[:-1]
    assert (ratios > 1).all()
    np.testing.assert_allclose(ratios, (f_max / f_min) ** (1 / (n_channels - 1)), rtol=1e-9)


def test_erb_formula():
    np.testing.assert_allclose(erb_hz([0.0, 1000.0]), [24.7, 132.7])


@pytest.mark.parametrize("kwargs, key", [
    ({"f_max_hz": 8000.0}, "f_max_hz"),                      # at Nyquist of 16 kHz
    ({"f_max_hz": 9000.0}, "f_max_hz"),                      # above Nyquist
    ({"sample_rate_hz": 44100, "dt_us": 1000}, "dt_us"),     # 44.1 samples per tick
    ({"sample_rate_hz": 16000, "dt_us": 1001}, "dt_us"),
    ({"n_channels": 0}, "n_channels"),
    ({"n_channels": 257}, "n_channels"),
    ({"dt_us": 0}, "dt_us"),
    ({"sample_rate_hz": 0}, "sample_rate_hz"),
    ({"f_min_hz": 0.0}, "f_min_hz"),
    ({"f_min_hz": 7000.0, "f_max_hz": 6000.0}, "f_min_hz"),
    ({"reference": 0.0}, "reference"),
    ({"adapt_tau_ms": -1.0}, "adapt_tau_ms"),
    ({"adapt_strength": 1.5}, "adapt_strength"),
])
def test_config_validation_names_the_key(kwargs, key):
    with pytest.raises(ValueError, match=rf"cochlea\.{key}\b"):
        CochleaConfig(**kwargs)


def test_audio_encoder_config_validation():
    with pytest.raises(ValueError, match=r"audio\.gain"):
        AudioEncoderConfig(gain=0.0)
    with pytest.raises(ValueError, match=r"hearing\.audio\.bogus"):
        HearingConfig.from_dict({"audio": {"bogus": 1}})
    with pytest.raises(ValueError, match=r"hearing\.audio\.cochlea\.bogus"):
        HearingConfig.from_dict({"audio": {"cochlea": {"bogus": 1}}})
    with pytest.raises(ValueError, match=r"cochlea\.f_max_hz"):
        HearingConfig.from_dict({"audio": {"cochlea": {"sample_rate_hz": 8000}}})  # default f_max 6000 > 4000


def test_samples_must_be_mono():
    with pytest.raises(ValueError, match="1-D"):
        Cochlea(SMALL).process(np.zeros((80, 2)))


@pytest.mark.parametrize("encoder, params", [("rate", {"max_rate_hz": 1000.0}), ("sigma_delta", {}),
                                             ("delta", {}), ("bsa", {})])
def test_silence_gives_zero_envelopes_and_no_spikes(encoder, params):
    config = AudioEncoderConfig(cochlea=CHUNK_CONFIG, encoder=encoder, encoder_params=params)
    envelopes, spikes = AudioEncoder(config).encode(np.zeros(1600))
    assert envelopes.shape == (100, 8)
    assert not envelopes.any()
    assert spikes.n_ticks == 100 and spikes.n_spikes == 0


# ---------------------------------------------------------------- state


def test_cochlea_state_restore_continues_identically():
    x = X_CHUNK
    cochlea = Cochlea(CHUNK_CONFIG)
    cochlea.process(x[:1003])  # leaves an open tick
    saved = cochlea.state()
    assert saved["tick_fill"][0] == 1003 % CHUNK_CONFIG.samples_per_tick
    rest = cochlea.process(x[1003:])
    other = Cochlea(CHUNK_CONFIG)
    other.restore(saved)
    assert np.array_equal(other.process(x[1003:]), rest)
    cochlea.restore(saved)  # the same object, rewound
    assert np.array_equal(cochlea.process(x[1003:]), rest)
    # state() returns copies
    saved["stage_re"][...] = 99.0
    assert not (cochlea.state()["stage_re"] == 99.0).any()


def test_cochlea_restore_rejects_a_wrong_shape():
    cochlea = Cochlea(CHUNK_CONFIG)
    bad = Cochlea(CochleaConfig(n_channels=3, f_min_hz=150.0, f_max_hz=5000.0)).state()
    with pytest.raises(ValueError, match="stage_re"):
        cochlea.restore(bad)


def test_cochlea_reset_replays():
    cochlea = Cochlea(CHUNK_CONFIG)
    first = cochlea.process(X_CHUNK[:777])
    cochlea.reset()
    assert np.array_equal(cochlea.process(X_CHUNK[:777]), first)


@pytest.mark.parametrize("encoder", sorted(ENCODERS))
def test_audio_encoder_state_restore_continues_identically(encoder):
    config = AudioEncoderConfig(cochlea=CHUNK_CONFIG, encoder=encoder, encoder_params=ENCODERS[encoder], gain=0.3)
    a = AudioEncoder(config)
    a.encode(X_CHUNK[:1111])
    saved = a.state()
    assert any(k.startswith("cochlea.") for k in saved) and any(k.startswith("encoder.") for k in saved)
    env_a, spikes_a = a.encode(X_CHUNK[1111:])
    b = AudioEncoder(config)
    b.restore(saved)
    env_b, spikes_b = b.encode(X_CHUNK[1111:])
    assert np.array_equal(env_a, env_b)
    assert np.array_equal(spikes_a.tick_ptr, spikes_b.tick_ptr)
    assert np.array_equal(spikes_a.neuron_ids, spikes_b.neuron_ids)
