"""Encoder benchmark: every snn.encoding.encoders encoder, at its default config, on one standard seeded signal.

Reports reconstruction error (through each encoder's decode), spikes per second per channel, and throughput.
"""
from __future__ import annotations

import time

import numpy as np

from snn.encoding.encoders import ENCODERS, make_encoder

N_CHANNELS = 16
SIGNAL_SEED = 0
TAIL_S = 0.1
MIN_TIMING_S = 0.2


def standard_signal(seconds: float, dt_us: int, n_channels: int = N_CHANNELS, seed: int = SIGNAL_SEED) -> np.ndarray:
    """The benchmark signal, float64 (n_samples, n_channels), each channel min-max normalised to [0, 1].

    Channel c: sin(2 pi f1_c t + phi_c) + 0.5 sin(2 pi f2_c t + 2 phi_c) + 0.5 t / T, with f1_c, f2_c
    uniform in [1, 5] Hz and phi_c uniform in [0, 2 pi), drawn from np.random.default_rng(seed);
    t = k * dt_us / 1e6 s for sample k, T the duration in seconds.
    """
    n_samples = int(round(seconds * 1e6 / dt_us))
    gen = np.random.default_rng(seed)
    f1_hz, f2_hz = gen.uniform(1.0, 5.0, (2, n_channels))
    phi = gen.uniform(0.0, 2.0 * np.pi, n_channels)
    t_s = (np.arange(n_samples) * (dt_us / 1e6))[:, None]
    x = np.sin(2 * np.pi * f1_hz * t_s + phi) + 0.5 * np.sin(2 * np.pi * f2_hz * t_s + 2 * phi)
    x += 0.5 * t_s / max(seconds, 1e-12)
    lo, hi = x.min(axis=0), x.max(axis=0)
    return (x - lo) / np.where(hi > lo, hi - lo, 1.0)


def _throughput(name: str, signal: np.ndarray, dt_us: int) -> float:
    """Million channel-samples encoded per second, whole signal per call, repeated for >= MIN_TIMING_S."""
    encoder = make_encoder(name, n_channels=signal.shape[1], dt_us=dt_us)
    encoder.encode(signal[:16])  # compile (or load the cache) outside the timing
    calls, start = 0, time.perf_counter()
    while True:
        encoder.reset()
        encoder.encode(signal)
        calls += 1
        wall_s = time.perf_counter() - start
        if wall_s >= MIN_TIMING_S:
            return calls * signal.size / wall_s / 1e6


def encoders_benchmark(seconds: float = 10.0, dt_us: int = 1000) -> dict:
    """Per encoder name: {"nrmse", "spikes_per_s", "mev_s"} on ``standard_signal(seconds, dt_us)``.

    nrmse: RMS of decode(encode(x)) - x over all channels and samples except the last TAIL_S = 0.1 s (where
        look-ahead encoders, BSA, have not decided yet), divided by the signal range max(x) - min(x).
        Decodes are each encoder's own (rate: counts smoothed over a 50-tick centred box / expected rate;
        latency and phase: value of each window held over it; BSA: spikes convolved with its filter;
        population: Gaussian inversion from the peak field pair; delta, sigma-delta: ±threshold accumulated).
    spikes_per_s: spikes per second of signal per channel.
    mev_s: encoding throughput in million channel-samples (values) per second, one encode call per signal.
    """
    if seconds <= 0 or dt_us <= 0:
        raise ValueError(f"encoders benchmark: seconds and dt_us must be > 0, got {seconds}, {dt_us}")
    signal = standard_signal(seconds, dt_us)
    n_samples = signal.shape[0]
    scored = max(n_samples - int(round(TAIL_S * 1e6 / dt_us)), 1)
    span = float(signal.max() - signal.min()) or 1.0
    results = {}
    for name in ENCODERS:
        encoder = make_encoder(name, n_channels=signal.shape[1], dt_us=dt_us)
        frames = encoder.encode(signal)
        decoded = encoder.decode(frames, n_samples)
        err = decoded[:scored] - signal[:scored]
        results[name] = {
            "nrmse": round(float(np.sqrt(np.mean(err * err)) / span), 4),
            "spikes_per_s": round(frames.n_spikes / (n_samples * dt_us / 1e6) / signal.shape[1], 1),
            "mev_s": round(_throughput(name, signal, dt_us), 1),
        }
    return results
