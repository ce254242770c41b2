"""Streaming cochlear filterbank: audio samples → per-tick channel envelopes (the audio front end).

Stages, after the classic auditory-periphery models:

1. **Basilar membrane**: a 4th-order gammatone filter per channel, realised as a cascade of complex
   one-pole filters (Hohmann 2002), centre frequencies log-spaced from ``f_min_hz`` to ``f_max_hz``,
   bandwidth 1.019 ERB (Glasberg & Moore 1990: ERB = 24.7 + 0.108 f Hz). Unity gain at the centre
   frequency: a sine of amplitude A at a channel's centre gives a real output of amplitude A.
2. **Inner hair cell**: half-wave rectification, averaged over each tick of ``dt_us`` (the low-pass),
   scaled by pi so that the envelope of a steady sine equals its amplitude.
3. **Compression**: log1p(envelope / ``reference``), ``reference`` in full-scale units.
4. **Adaptation**: subtract ``adapt_strength`` times a slow (``adapt_tau_ms``) running mean of the
   compressed level, floor at 0: steady sounds fade, onsets stand out, loudness matters less.

All state (filter stages, the open tick, adaptation levels) is carried across calls, so feeding a file in
chunks of any size gives bit-identical envelopes to feeding it whole.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from snn.encoding.cochlea_kernels import ORDER, compress_adapt, gammatone_envelopes
from snn.state_check import check_state_arrays


@dataclass(frozen=True)
class CochleaConfig:
    """Front-end parameters.

    Parameters
    ----------
    n_channels : filterbank channels, 16-64 typical.
    f_min_hz, f_max_hz : lowest and highest centre frequency, in hertz; f_max_hz < sample_rate_hz / 2.
    sample_rate_hz : input sample rate, in hertz; sample_rate_hz * dt_us must be a whole number of samples.
    dt_us : tick length, in microseconds: one envelope row per tick.
    reference : envelope level (full scale = 1) that compresses to log(2).
    adapt_tau_ms : time constant of the adaptation level, in milliseconds.
    adapt_strength : fraction of the adaptation level subtracted, in [0, 1]; 0 turns adaptation off.
    """

    n_channels: int = 32
    f_min_hz: float = 100.0
    f_max_hz: float = 6000.0
    sample_rate_hz: int = 16000
    dt_us: int = 1000
    reference: float = 1e-3
    adapt_tau_ms: float = 200.0
    adapt_strength: float = 0.5

    def __post_init__(self) -> None:
        def fail(key: str, message: str) -> None:
            raise ValueError(f"cochlea.{key}: {message}, got {getattr(self, key)!r}")

        if not 1 <= self.n_channels <= 256:
            fail("n_channels", "must be in 1..256")
        if self.sample_rate_hz <= 0:
            fail("sample_rate_hz", "must be positive")
        if self.dt_us <= 0:
            fail("dt_us", "must be positive")
        if (self.sample_rate_hz * self.dt_us) % 1_000_000:
            fail("dt_us", f"must hold a whole number of samples at {self.sample_rate_hz} Hz")
        if not 0.0 < self.f_min_hz < self.f_max_hz:
            fail("f_min_hz", "must be positive and below f_max_hz")
        if self.f_max_hz >= self.sample_rate_hz / 2:
            fail("f_max_hz", f"must be below the Nyquist frequency {self.sample_rate_hz / 2:g} Hz")
        if self.reference <= 0.0:
            fail("reference", "must be positive")
        if self.adapt_tau_ms <= 0.0:
            fail("adapt_tau_ms", "must be positive")
        if not 0.0 <= self.adapt_strength <= 1.0:
            fail("adapt_strength", "must be in [0, 1]")

    @property
    def samples_per_tick(self) -> int:
        return self.sample_rate_hz * self.dt_us // 1_000_000


def erb_hz(frequency_hz: np.ndarray) -> np.ndarray:
    """Equivalent rectangular bandwidth, in hertz, at ``frequency_hz`` (Glasberg & Moore 1990)."""
    return 24.7 + 0.108 * np.asarray(frequency_hz, dtype=np.float64)


class Cochlea:
    """The filterbank with its state: ``process(samples)`` returns the envelopes of the ticks completed."""

    def __init__(self, config: CochleaConfig) -> None:
        self.config = config
        fs = config.sample_rate_hz
        self.centre_hz = np.geomspace(config.f_min_hz, config.f_max_hz, config.n_channels)
        bandwidth_hz = 1.019 * erb_hz(self.centre_hz)
        pole = np.exp(-2.0 * math.pi * bandwidth_hz / fs) * np.exp(2j * math.pi * self.centre_hz / fs)
        self._pole_re = np.ascontiguousarray(pole.real)
        self._pole_im = np.ascontiguousarray(pole.imag)
        # Each stage has gain |1 / (1 - |pole|)| at the centre; the factor 2 restores the real part's
        # amplitude (a real sine splits evenly into positive and negative frequencies).
        self._gain = 2.0 * (1.0 - np.abs(pole)) ** ORDER
        self._adapt_keep = math.exp(-config.dt_us / (1000.0 * config.adapt_tau_ms))
        self._state = self._make_state()

    def _make_state(self) -> dict[str, np.ndarray]:
        c = self.config.n_channels
        return {
            "stage_re": np.zeros((ORDER, c)),
            "stage_im": np.zeros((ORDER, c)),
            "tick_sum": np.zeros(c),
            "tick_fill": np.zeros(1, dtype=np.int64),
            "adapt_level": np.zeros(c),
        }

    @property
    def n_channels(self) -> int:
        return self.config.n_channels

    def reset(self) -> None:
        """Silence: every filter, the open tick and the adaptation levels back to zero."""
        for key, value in self._make_state().items():
            self._state[key][...] = value

    def state(self) -> dict[str, np.ndarray]:
        """Copies of the state arrays, by name."""
        return {key: value.copy() for key, value in self._state.items()}

    def restore(self, state: dict[str, np.ndarray]) -> None:
        """Load arrays from ``state()``; ValueError naming the array when one is missing, extra, or of another
        dtype or shape (see ``snn.state_check``); nothing is loaded then."""
        check_state_arrays("Cochlea.restore", self._state, state)
        for key, current in self._state.items():
            current[...] = state[key]

    def raw_envelopes(self, samples: np.ndarray) -> np.ndarray:
        """Rectified, tick-averaged filter outputs (before compression), float64 (ticks, channels),
        in full-scale amplitude units; ``samples`` is 1-D at ``sample_rate_hz``."""
        x = np.ascontiguousarray(samples, dtype=np.float64)
        if x.ndim != 1:
            raise ValueError(f"Cochlea: samples must be 1-D (mono), got shape {x.shape}")
        st = self._state
        spt = self.config.samples_per_tick
        rows = (int(st["tick_fill"][0]) + x.shape[0]) // spt
        envelope = np.empty((rows, self.n_channels))
        written = gammatone_envelopes(x, self._pole_re, self._pole_im, self._gain, st["stage_re"],
                                      st["stage_im"], st["tick_sum"], st["tick_fill"], spt, envelope)
        envelope *= math.pi
        return envelope[:written]

    def process(self, samples: np.ndarray) -> np.ndarray:
        """Compressed, adapted envelopes, float64 (ticks completed, channels), non-negative; about 0-8."""
        envelope = self.raw_envelopes(samples)
        out = np.empty_like(envelope)
        compress_adapt(envelope, self.config.reference, self._state["adapt_level"], self._adapt_keep,
                       self.config.adapt_strength, out)
        return out
