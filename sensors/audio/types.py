"""The audio type at the sensors/snn boundary: a block of float32 samples stamped in sensor time.

NumPy only, like sensors.types; every audio source yields AudioChunk and encode_audio consumes it.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

MAX_SAMPLE_RATE_HZ = 384_000
"""Highest sample rate accepted anywhere in neuroedge (the top rate of professional audio interfaces)."""


def samples_to_us(n_samples: int, sample_rate: int) -> int:
    """Duration of ``n_samples`` at ``sample_rate`` Hz in µs, exactly ``round(1e6 * n / rate)`` (halves to even)."""
    return round(Fraction(1_000_000 * n_samples, sample_rate))


@dataclass(slots=True)
class AudioChunk:
    """Consecutive samples from one audio sensor (treat as immutable; not frozen to keep it cheap per chunk).

    Parameters
    ----------
    samples : float32 array of shape (n_samples, channels), C-contiguous, full scale ±1.0.
    t0_us : sensor time of the first sample, µs.
    sample_rate : samples per second per channel, Hz.
    """

    samples: np.ndarray
    t0_us: int
    sample_rate: int

    @property
    def n_samples(self) -> int:
        """Samples per channel in this chunk."""
        return self.samples.shape[0]

    @property
    def duration_us(self) -> int:
        """Length of the chunk in µs, rounded to the nearest µs (see ``samples_to_us``)."""
        return samples_to_us(self.n_samples, self.sample_rate)

    def __len__(self) -> int:
        return self.n_samples


def check_chunk(chunk: AudioChunk, name: str = "chunk") -> None:
    """Raise ValueError naming the field when ``chunk`` breaks the AudioChunk contract."""
    samples = chunk.samples
    if not isinstance(samples, np.ndarray) or samples.dtype != np.float32:
        raise ValueError(f"{name}: samples must be a float32 array, got {getattr(samples, 'dtype', type(samples))}")
    if samples.ndim != 2 or samples.shape[1] < 1:
        raise ValueError(f"{name}: samples must have shape (n_samples, channels >= 1), got {samples.shape}")
    if not samples.flags.c_contiguous:
        raise ValueError(f"{name}: samples must be C-contiguous")
    if not np.isfinite(samples).all():
        raise ValueError(f"{name}: samples contain NaN or infinity")
    if not isinstance(chunk.t0_us, (int, np.integer)) or isinstance(chunk.t0_us, bool):
        raise ValueError(f"{name}: t0_us must be an integer (µs), got {chunk.t0_us!r}")
    rate = chunk.sample_rate
    if not isinstance(rate, (int, np.integer)) or isinstance(rate, bool) or not 0 < rate <= MAX_SAMPLE_RATE_HZ:
        raise ValueError(f"{name}: sample_rate must be an integer in 1..{MAX_SAMPLE_RATE_HZ} Hz, got {rate!r}")
