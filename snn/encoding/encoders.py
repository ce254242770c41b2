"""Signal encoders: any real-valued signal, one sample per tick, to SpikeFrames, streaming across calls.

One API for rate, latency, phase, BSA, population, delta and sigma-delta coding, chosen by name for configs.

Every encoder is built as ``Encoder(config, n_channels, dt_us)`` from a frozen, validated config and owns
its state arrays, so ``encode(a); encode(b)`` gives exactly the spikes of ``encode(concat(a, b))``.

- ``encode(signal)``: ``signal`` is float, shape (n_samples, n_channels); one output tick per sample.
- ``n_neurons(n_channels=None)``: k * n_channels for k neurons per channel.
- ``decode(frames, n_samples)``: float64 (n_samples, n_channels) reconstruction of a signal encoded from
  the reset state (windows aligned to the reset tick); used to measure reconstruction error.
- ``reset()``, ``state()``, ``restore(state)``: transient state (and RNG state) by name.

Neuron layout: neuron id = channel * k + j. k = 1 for rate, latency, phase and BSA (id = channel);
k = n_fields for population (j = receptive field, centres ascending); k = 2 for delta and sigma-delta
(j = 0 ON, j = 1 OFF). Within a tick ids are ascending and each neuron spikes at most once.
Windowed encoders (latency, phase, population latency) sample the signal at each window's first tick
and hold it for the window. BSA looks L = filter_len samples ahead, so its output lags by L - 1 ticks.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import ClassVar

import numpy as np

from snn.encoding import encoder_kernels as k
from snn.frames import SpikeFrames
from snn.rng import make_rng_state
from snn.state_check import check_state_arrays


def _fail(owner: str, key: str, message: str, value: object) -> None:
    raise ValueError(f"{owner}.{key}: {message}, got {value!r}")


def _check_int(owner: str, key: str, value: object, low: int, high: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        _fail(owner, key, "must be an integer", value)
    if value < low or (high is not None and value > high):
        _fail(owner, key, f"must be in [{low}, {high if high is not None else 'inf'}]", value)


def _check_float(owner: str, key: str, value: object, low: float | None = None, high: float | None = None,
                 low_open: bool = False, high_open: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        _fail(owner, key, "must be a number", value)
    if not math.isfinite(value):
        _fail(owner, key, "must be finite", value)
    if low is not None and (value <= low if low_open else value < low):
        _fail(owner, key, f"must be {'>' if low_open else '>='} {low}", value)
    if high is not None and (value >= high if high_open else value > high):
        _fail(owner, key, f"must be {'<' if high_open else '<='} {high}", value)


def _check_choice(owner: str, key: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        _fail(owner, key, f"must be one of {', '.join(choices)}", value)


def _spike_probability(owner: str, max_rate_hz: float, dt_us: int) -> float:
    """max_rate_hz * dt as a per-tick probability; raises naming max_rate_hz when it exceeds 1."""
    p_max = max_rate_hz * dt_us / 1e6
    if p_max > 1.0:
        raise ValueError(f"{owner}.max_rate_hz: {max_rate_hz} Hz at dt_us={dt_us} is p={p_max:g} per tick, above 1")
    return p_max


def _smooth(counts: np.ndarray, window_ticks: int) -> np.ndarray:
    """Centred moving average over window_ticks along axis 0 (fewer ticks at the edges)."""
    n = counts.shape[0]
    cs = np.concatenate((np.zeros((1,) + counts.shape[1:]), np.cumsum(counts, axis=0)))
    t = np.arange(n)
    lo = np.clip(t - window_ticks // 2, 0, n)
    hi = np.clip(t - window_ticks // 2 + window_ticks, 0, n)
    return (cs[hi] - cs[lo]) / (hi - lo).reshape((-1,) + (1,) * (counts.ndim - 1))


def _window_offsets(spikes: np.ndarray, window_ticks: int) -> tuple[np.ndarray, np.ndarray]:
    """Per window (aligned to tick 0) and neuron: tick of the first spike within the window, and whether any.

    Returns (offset, fired), each (n_windows, n_neurons).
    """
    n, n_neurons = spikes.shape
    n_windows = -(-n // window_ticks)
    padded = np.zeros((n_windows * window_ticks, n_neurons), dtype=bool)
    padded[:n] = spikes > 0
    padded = padded.reshape(n_windows, window_ticks, n_neurons)
    return padded.argmax(axis=1), padded.any(axis=1)


def _hold(per_window: np.ndarray, window_ticks: int, n: int) -> np.ndarray:
    """Repeat each window's row over its ticks and crop to n ticks."""
    return np.repeat(per_window, window_ticks, axis=0)[:n]


class _Encoder:
    """Shared driver: validation, output allocation, state by name. Subclasses declare ``_make_state``."""

    name: ClassVar[str]
    Config: ClassVar[type]
    neurons_per_channel: int = 1

    def __init__(self, config, n_channels: int, dt_us: int) -> None:
        owner = type(self).__name__
        if type(config) is not self.Config:
            raise TypeError(f"{owner}: config must be a {self.Config.__name__}, got {type(config).__name__}")
        _check_int(owner, "n_channels", n_channels, 1)
        _check_int(owner, "dt_us", dt_us, 1)
        self.config = config
        self.n_channels = int(n_channels)
        self.dt_us = int(dt_us)
        self._prepare()
        self._state = self._make_state()

    def _prepare(self) -> None:
        """Derive constants (filters, probabilities) from the validated config; runs before _make_state."""

    def _make_state(self) -> dict[str, np.ndarray]:
        """The transient state arrays at reset, by name: the one place an encoder declares its state."""
        raise NotImplementedError

    def n_neurons(self, n_channels: int | None = None) -> int:
        """Neurons for ``n_channels`` channels (default: this encoder's): neurons_per_channel * n_channels."""
        return self.neurons_per_channel * (self.n_channels if n_channels is None else int(n_channels))

    def reset(self) -> None:
        """Return every state array (and the RNG) to its value at construction."""
        for key, value in self._make_state().items():
            self._state[key][...] = value

    def state(self) -> dict[str, np.ndarray]:
        """Copies of the transient state arrays, by name."""
        return {key: value.copy() for key, value in self._state.items()}

    def restore(self, state: dict[str, np.ndarray]) -> None:
        """Load arrays produced by ``state()``; ValueError naming the array when one is missing, extra, or of
        another dtype or shape (see ``snn.state_check``); nothing is loaded then."""
        check_state_arrays(f"{type(self).__name__}.restore", self._state, state)
        for key, current in self._state.items():
            current[...] = state[key]

    def _check_signal(self, signal: np.ndarray) -> np.ndarray:
        owner = type(self).__name__
        if not isinstance(signal, np.ndarray):
            raise TypeError(f"{owner}.encode: signal must be a numpy array, got {type(signal).__name__}")
        if signal.ndim != 2 or signal.shape[1] != self.n_channels:
            raise ValueError(f"{owner}.encode: signal must have shape (n_samples, {self.n_channels}), "
                             f"got {signal.shape}")
        if not np.issubdtype(signal.dtype, np.floating):
            raise TypeError(f"{owner}.encode: signal must be a float array, got dtype {signal.dtype}")
        x = np.ascontiguousarray(signal, dtype=np.float64)
        if not np.isfinite(x).all():
            raise ValueError(f"{owner}.encode: signal contains NaN or inf")
        return x

    def encode(self, signal: np.ndarray) -> SpikeFrames:
        """Spikes for ``signal`` (float, (n_samples, n_channels)): one tick per sample, state carried on."""
        x = self._check_signal(signal)
        tick_ptr = np.zeros(x.shape[0] + 1, dtype=np.int64)
        neuron_ids = np.empty(x.shape[0] * self.n_neurons(), dtype=np.int32)
        n = self._encode(x, tick_ptr, neuron_ids)
        return SpikeFrames(tick_ptr, neuron_ids[:n].copy())

    def _encode(self, x: np.ndarray, tick_ptr: np.ndarray, neuron_ids: np.ndarray) -> int:
        raise NotImplementedError

    def decode(self, frames: SpikeFrames, n_samples: int) -> np.ndarray:
        """Reconstruction, float64 (n_samples, n_channels), of the first n_samples ticks encoded since reset."""
        owner = type(self).__name__
        frames.validate(self.n_neurons(), name=f"{owner}.decode: frames")
        _check_int(owner, "decode.n_samples", n_samples, 0, frames.n_ticks)
        ticks = np.repeat(np.arange(frames.n_ticks), np.diff(frames.tick_ptr))
        keep = ticks < n_samples
        spikes = np.zeros((n_samples, self.n_neurons()))
        np.add.at(spikes, (ticks[keep], frames.neuron_ids[keep]), 1.0)
        return self._decode(spikes)

    def _decode(self, spikes: np.ndarray) -> np.ndarray:
        raise NotImplementedError


@dataclass(frozen=True)
class RateConfig:
    """Bernoulli rate code: p = clip(x, 0, 1) * max_rate_hz * dt per tick.

    Parameters
    ----------
    max_rate_hz : rate at x >= 1, in hertz; max_rate_hz * dt must not exceed 1.
    seed : seed of the encoder's own generator.
    decode_window_ticks : width, in ticks, of the centred box that smooths spike counts in ``decode``.
    """

    max_rate_hz: float = 200.0
    seed: int = 0
    decode_window_ticks: int = 50

    def __post_init__(self) -> None:
        _check_float("RateEncoder", "max_rate_hz", self.max_rate_hz, low=0.0, low_open=True)
        _check_int("RateEncoder", "seed", self.seed, 0)
        _check_int("RateEncoder", "decode_window_ticks", self.decode_window_ticks, 1)


class RateEncoder(_Encoder):
    """Rate (Bernoulli) coding, one neuron per channel. Decode: smoothed counts / (max_rate_hz * dt)."""

    name = "rate"
    Config = RateConfig

    def _prepare(self) -> None:
        self.p_max = _spike_probability("RateEncoder", self.config.max_rate_hz, self.dt_us)

    def _make_state(self) -> dict[str, np.ndarray]:
        return {"rng_state": make_rng_state(self.config.seed)}

    def _encode(self, x, tick_ptr, neuron_ids) -> int:
        return k._rate_encode(x, self._state["rng_state"], self.p_max, tick_ptr, neuron_ids)

    def _decode(self, spikes: np.ndarray) -> np.ndarray:
        return _smooth(spikes, self.config.decode_window_ticks) / self.p_max


@dataclass(frozen=True)
class LatencyConfig:
    """Time-to-first-spike code: one spike per channel per window; larger values fire earlier.

    Parameters
    ----------
    window_ticks : window length in ticks (>= 2); x = 1 fires on the first tick, x <= 0 on the last.
    mapping : "linear" (tick = (1 - x) * (window_ticks - 1)) or "log"
        (tick = ln(max(x, log_floor)) / ln(log_floor) * (window_ticks - 1)); both rounded to nearest.
    log_floor : smallest value the log mapping distinguishes, in (0, 1).
    """

    window_ticks: int = 10
    mapping: str = "linear"
    log_floor: float = 0.01

    def __post_init__(self) -> None:
        _check_int("LatencyEncoder", "window_ticks", self.window_ticks, 2)
        _check_choice("LatencyEncoder", "mapping", self.mapping, ("linear", "log"))
        _check_float("LatencyEncoder", "log_floor", self.log_floor, 0.0, 1.0, low_open=True, high_open=True)


class LatencyEncoder(_Encoder):
    """Latency coding, one neuron per channel. Decode: each window's spike tick mapped back, held."""

    name = "latency"
    Config = LatencyConfig

    def _make_state(self) -> dict[str, np.ndarray]:
        return {"phase": np.zeros(1, dtype=np.int64), "fire_tick": np.full(self.n_channels, -1, dtype=np.int64)}

    def _encode(self, x, tick_ptr, neuron_ids) -> int:
        c = self.config
        return k._latency_encode(x, self._state["phase"], self._state["fire_tick"], c.window_ticks,
                                 c.mapping == "log", c.log_floor, tick_ptr, neuron_ids)

    def _decode(self, spikes: np.ndarray) -> np.ndarray:
        c = self.config
        offset, fired = _window_offsets(spikes, c.window_ticks)
        frac = offset / (c.window_ticks - 1)
        value = c.log_floor ** frac if c.mapping == "log" else 1.0 - frac
        return _hold(np.where(fired, value, 0.0), c.window_ticks, spikes.shape[0])


@dataclass(frozen=True)
class PhaseConfig:
    """Phase (bit-plane) code over windows of n_phases ticks; phase j carries weight 2^-(j+1).

    Parameters
    ----------
    n_phases : ticks per window = bits of the quantised value, in [1, 30].
    """

    n_phases: int = 8

    def __post_init__(self) -> None:
        _check_int("PhaseEncoder", "n_phases", self.n_phases, 1, 30)


class PhaseEncoder(_Encoder):
    """Phase coding, one neuron per channel. Decode: sum of 2^-(j+1) over the window's spikes, held."""

    name = "phase"
    Config = PhaseConfig

    def _make_state(self) -> dict[str, np.ndarray]:
        return {"phase": np.zeros(1, dtype=np.int64), "level": np.zeros(self.n_channels, dtype=np.int64)}

    def _encode(self, x, tick_ptr, neuron_ids) -> int:
        return k._phase_encode(x, self._state["phase"], self._state["level"], self.config.n_phases,
                               tick_ptr, neuron_ids)

    def _decode(self, spikes: np.ndarray) -> np.ndarray:
        n_phases = self.config.n_phases
        n = spikes.shape[0]
        n_windows = -(-n // n_phases)
        padded = np.zeros((n_windows * n_phases, spikes.shape[1]))
        padded[:n] = spikes
        weights = 0.5 ** np.arange(1, n_phases + 1)
        value = np.einsum("wjc,j->wc", padded.reshape(n_windows, n_phases, -1), weights)
        return _hold(value, n_phases, n)


@dataclass(frozen=True)
class BSAConfig:
    """Ben's Spiker Algorithm (Schrauwen & Van Campenhout 2003) with a unit-sum FIR filter.

    Parameters
    ----------
    filter : "hann" (h_i = 1 - cos(2 pi (i + 1) / (L + 1)), no zero taps) or "gaussian"
        (h_i = exp(-((i - (L - 1) / 2) / (L / 4))^2 / 2)); normalised so sum(h) = 1, so a spike every tick
        reconstructs 1.0: inputs belong in [0, 1].
    filter_len : L, filter taps = look-ahead in ticks, in [2, 1024].
    threshold : spike when sum|s - h| <= sum|s| - threshold over the look-ahead (units of signal * taps).
    """

    filter: str = "hann"
    filter_len: int = 20
    threshold: float = 0.95

    def __post_init__(self) -> None:
        _check_choice("BSAEncoder", "filter", self.filter, ("hann", "gaussian"))
        _check_int("BSAEncoder", "filter_len", self.filter_len, 2, 1024)
        _check_float("BSAEncoder", "threshold", self.threshold)


def bsa_filter(kind: str, filter_len: int) -> np.ndarray:
    """The unit-sum FIR filter of BSAConfig (float64, filter_len taps)."""
    i = np.arange(filter_len, dtype=np.float64)
    if kind == "hann":
        h = 1.0 - np.cos(2.0 * np.pi * (i + 1.0) / (filter_len + 1.0))
    else:
        h = np.exp(-0.5 * ((i - (filter_len - 1) / 2.0) / (filter_len / 4.0)) ** 2)
    return h / h.sum()


class BSAEncoder(_Encoder):
    """BSA coding, one neuron per channel; spikes lag by filter_len - 1 ticks (``lag_ticks``).

    Decode: the spike train convolved with the filter, shifted back by the lag (spikes decided for times
    before reset count too); the last lag_ticks samples are only partly reconstructed because their
    spikes are not decided yet.
    """

    name = "bsa"
    Config = BSAConfig

    def _prepare(self) -> None:
        self.fir = bsa_filter(self.config.filter, self.config.filter_len)
        self.lag_ticks = self.config.filter_len - 1

    def _make_state(self) -> dict[str, np.ndarray]:
        return {"residual": np.zeros((self.n_channels, self.config.filter_len)),
                "head": np.zeros(1, dtype=np.int64)}

    def _encode(self, x, tick_ptr, neuron_ids) -> int:
        return k._bsa_encode(x, self._state["residual"], self._state["head"], self.fir, self.config.threshold,
                             tick_ptr, neuron_ids)

    def _decode(self, spikes: np.ndarray) -> np.ndarray:
        n = spikes.shape[0]
        out = np.zeros_like(spikes)
        for j, h in enumerate(self.fir):  # r(t) = sum_j h_j * spike for time t - j, emitted at tick t - j + lag
            shift = self.lag_ticks - j
            if shift < n:
                out[: n - shift] += h * spikes[shift:]
        return out


@dataclass(frozen=True)
class PopulationConfig:
    """Gaussian receptive fields: n_fields per channel, centres evenly over [lo, hi].

    Field j has activation a_j(x) = exp(-((x - centre_j) / width)^2 / 2), width = width_factor * spacing.

    Parameters
    ----------
    n_fields : fields (neurons) per channel, >= 2.
    lo, hi : first and last centre (signal units), lo < hi.
    width_factor : field width in units of the centre spacing, > 0.
    mode : "latency" (deterministic: per window of window_ticks, each field with a_j >= min_activation
        spikes once at tick round((1 - a_j) * (window_ticks - 1))) or "rate" (Bernoulli each tick with
        p = a_j * max_rate_hz * dt, seeded).
    window_ticks : latency window in ticks (>= 2).
    min_activation : weakest activation that still spikes in latency mode, in (0, 1].
    max_rate_hz : rate at a_j = 1 in rate mode, in hertz.
    seed : seed of the encoder's own generator (rate mode).
    decode_window_ticks : smoothing window of rate-mode decode, in ticks.
    """

    n_fields: int = 8
    lo: float = 0.0
    hi: float = 1.0
    width_factor: float = 1.0
    mode: str = "latency"
    window_ticks: int = 10
    min_activation: float = 0.05
    max_rate_hz: float = 200.0
    seed: int = 0
    decode_window_ticks: int = 50

    def __post_init__(self) -> None:
        owner = "PopulationEncoder"
        _check_int(owner, "n_fields", self.n_fields, 2)
        _check_float(owner, "lo", self.lo)
        _check_float(owner, "hi", self.hi)
        if not self.hi > self.lo:
            _fail(owner, "hi", f"must be above lo={self.lo}", self.hi)
        _check_float(owner, "width_factor", self.width_factor, low=0.0, low_open=True)
        _check_choice(owner, "mode", self.mode, ("latency", "rate"))
        _check_int(owner, "window_ticks", self.window_ticks, 2)
        _check_float(owner, "min_activation", self.min_activation, 0.0, 1.0, low_open=True)
        _check_float(owner, "max_rate_hz", self.max_rate_hz, low=0.0, low_open=True)
        _check_int(owner, "seed", self.seed, 0)
        _check_int(owner, "decode_window_ticks", self.decode_window_ticks, 1)


class PopulationEncoder(_Encoder):
    """Population coding, n_fields neurons per channel (id = channel * n_fields + field).

    Decode: activations estimated per tick (latency: 1 - tick / (window_ticks - 1) per window, 0 when silent;
    rate: smoothed counts / p), then the peak field j and its larger neighbour i invert the Gaussian exactly:
    x = (c_i + c_j) / 2 + width^2 * ln(a_j / a_i) / (c_j - c_i), clipped to [c_i, c_j] (activations
    floored at 1e-3).
    """

    name = "population"
    Config = PopulationConfig

    def _prepare(self) -> None:
        c = self.config
        self.centres = np.linspace(c.lo, c.hi, c.n_fields)
        self.width = c.width_factor * (c.hi - c.lo) / (c.n_fields - 1)
        self.p_max = _spike_probability("PopulationEncoder", c.max_rate_hz, self.dt_us)
        self.neurons_per_channel = c.n_fields

    def _make_state(self) -> dict[str, np.ndarray]:
        return {"rng_state": make_rng_state(self.config.seed), "phase": np.zeros(1, dtype=np.int64),
                "fire_tick": np.full(self.n_neurons(), -1, dtype=np.int64)}

    def _encode(self, x, tick_ptr, neuron_ids) -> int:
        c, s = self.config, self._state
        if c.mode == "rate":
            return k._population_rate_encode(x, s["rng_state"], self.centres, 1.0 / self.width, self.p_max,
                                             tick_ptr, neuron_ids)
        return k._population_latency_encode(x, s["phase"], s["fire_tick"], self.centres, 1.0 / self.width,
                                            c.window_ticks, c.min_activation, tick_ptr, neuron_ids)

    def activations(self, spikes: np.ndarray) -> np.ndarray:
        """Estimated field activations (n_ticks, n_channels, n_fields) from a dense spike matrix."""
        c = self.config
        if c.mode == "rate":
            act = _smooth(spikes, c.decode_window_ticks) / self.p_max
        else:
            offset, fired = _window_offsets(spikes, c.window_ticks)
            act = _hold(np.where(fired, 1.0 - offset / (c.window_ticks - 1), 0.0), c.window_ticks, len(spikes))
        return act.reshape(len(spikes), self.n_channels, c.n_fields)

    def _decode(self, spikes: np.ndarray) -> np.ndarray:
        act = np.maximum(self.activations(spikes), 1e-3)
        last = self.config.n_fields - 1
        peak = act.argmax(axis=2)
        left = np.take_along_axis(act, np.maximum(peak - 1, 0)[..., None], axis=2)[..., 0]
        right = np.take_along_axis(act, np.minimum(peak + 1, last)[..., None], axis=2)[..., 0]
        go_right = ((right >= left) & (peak < last)) | (peak == 0)
        i = np.where(go_right, peak, peak - 1)  # pair (i, i + 1) holds the peak and its larger neighbour
        a_i = np.take_along_axis(act, i[..., None], axis=2)[..., 0]
        a_next = np.take_along_axis(act, (i + 1)[..., None], axis=2)[..., 0]
        c_i = self.centres[i]
        spacing = self.centres[1] - self.centres[0]
        x = c_i + 0.5 * spacing + self.width ** 2 * np.log(a_next / a_i) / spacing
        return np.clip(x, c_i, c_i + spacing)


@dataclass(frozen=True)
class DeltaConfig:
    """Delta modulation with ON/OFF neurons.

    Parameters
    ----------
    threshold : change, in signal units, that fires one spike and moves the reference by threshold; > 0.
    baseline : reference (and decode start) value at reset, in signal units.
    """

    _owner: ClassVar[str] = "DeltaEncoder"
    threshold: float = 0.05
    baseline: float = 0.0

    def __post_init__(self) -> None:
        _check_float(self._owner, "threshold", self.threshold, low=0.0, low_open=True)
        _check_float(self._owner, "baseline", self.baseline)


@dataclass(frozen=True)
class SigmaDeltaConfig(DeltaConfig):
    """Sigma-delta modulation with ON/OFF neurons: the error x - reconstruction is integrated per tick,
    and a spike fires (moving the reconstruction by ±threshold, integral reset to 0) when the integral
    reaches ±threshold (value * ticks). Parameters as DeltaConfig."""

    _owner: ClassVar[str] = "SigmaDeltaEncoder"


class DeltaEncoder(_Encoder):
    """Delta coding, 2 neurons per channel (2c ON, 2c+1 OFF). Decode: baseline + threshold * (ON - OFF) so far."""

    name = "delta"
    Config = DeltaConfig
    neurons_per_channel = 2

    def _make_state(self) -> dict[str, np.ndarray]:
        return {"level": np.zeros(self.n_channels, dtype=np.int64)}

    def _encode(self, x, tick_ptr, neuron_ids) -> int:
        return k._delta_encode(x, self._state["level"], self.config.baseline, self.config.threshold,
                               tick_ptr, neuron_ids)

    def _decode(self, spikes: np.ndarray) -> np.ndarray:
        level = np.cumsum(spikes[:, 0::2] - spikes[:, 1::2], axis=0)
        return self.config.baseline + level * self.config.threshold


class SigmaDeltaEncoder(DeltaEncoder):
    """Sigma-delta coding, 2 neurons per channel (2c ON, 2c+1 OFF); decoded like DeltaEncoder."""

    name = "sigma_delta"
    Config = SigmaDeltaConfig

    def _make_state(self) -> dict[str, np.ndarray]:
        return {"level": np.zeros(self.n_channels, dtype=np.int64), "integral": np.zeros(self.n_channels)}

    def _encode(self, x, tick_ptr, neuron_ids) -> int:
        return k._sigma_delta_encode(x, self._state["level"], self._state["integral"], self.config.baseline,
                                     self.config.threshold, tick_ptr, neuron_ids)


ENCODERS: dict[str, type[_Encoder]] = {
    cls.name: cls
    for cls in (RateEncoder, LatencyEncoder, PhaseEncoder, BSAEncoder, PopulationEncoder, DeltaEncoder,
                SigmaDeltaEncoder)
}


def make_encoder(name: str, *, n_channels: int, dt_us: int, **params) -> _Encoder:
    """Build ``ENCODERS[name]`` from config keys (as in a TOML table) for n_channels channels at dt_us.

    Unknown names and unknown keys raise ValueError listing the known ones.
    """
    if name not in ENCODERS:
        raise ValueError(f"unknown encoder {name!r}; known: {', '.join(ENCODERS)}")
    cls = ENCODERS[name]
    known = [f.name for f in fields(cls.Config)]
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ValueError(f"{cls.__name__}.{unknown[0]}: unknown key; known: {', '.join(known)}")
    return cls(cls.Config(**params), n_channels, dt_us)
