"""Plain-Python references for snn.encoding.encoder_kernels: whole signal from the reset state, one value at a time.

Each returns the spiking neuron ids per tick (list of lists); ``x`` is a list of per-tick lists of floats.
"""
from __future__ import annotations

import math

from naive.rng import XorShift64Star


def _clip01(v: float) -> float:
    return min(max(v, 0.0), 1.0)


def rate_ref(x, rng_state: int, p_max: float) -> list[list[int]]:
    """Channel c spikes when its uniform draw (one per channel per tick) is below clip(x) * p_max."""
    rng = XorShift64Star(rng_state)
    return [[c for c, v in enumerate(row) if rng.next_uniform() < _clip01(v) * p_max] for row in x]


def latency_tick_ref(v: float, window_ticks: int, mapping: str, log_floor: float) -> int:
    v = _clip01(v)
    if mapping == "log":
        frac = math.log(max(v, log_floor)) / math.log(log_floor)
    else:
        frac = 1.0 - v
    return math.floor(frac * (window_ticks - 1) + 0.5)


def latency_ref(x, window_ticks: int, mapping: str, log_floor: float) -> list[list[int]]:
    """Windows start at tick 0; channel c spikes once per window at the tick its first sample maps to."""
    ticks = [[] for _ in x]
    for start in range(0, len(x), window_ticks):
        for c, v in enumerate(x[start]):
            t = start + latency_tick_ref(v, window_ticks, mapping, log_floor)
            if t < len(x):
                ticks[t].append(c)
    return [sorted(tick) for tick in ticks]


def phase_ref(x, n_phases: int) -> list[list[int]]:
    """Binary fraction digits of each window's first sample, most significant digit first."""
    ticks = [[] for _ in x]
    for start in range(0, len(x), n_phases):
        for c, v in enumerate(x[start]):
            q = min(math.floor(_clip01(v) * 2**n_phases + 0.5), 2**n_phases - 1)
            digits = format(q, f"0{n_phases}b")
            for j, digit in enumerate(digits):
                if digit == "1" and start + j < len(x):
                    ticks[start + j].append(c)
    return ticks


def bsa_ref(x, fir: list[float], threshold: float) -> list[list[int]]:
    """BSA over the zero-padded signal: the decision for time tau is emitted at tick tau + L - 1."""
    n_taps = len(fir)
    n = len(x)
    ticks = [[] for _ in x]
    for c in range(len(x[0]) if x else 0):
        s = [0.0] * (n_taps - 1) + [row[c] for row in x]  # s[p] holds time p - (L - 1)
        for tick in range(n):  # decide time tau = tick - L + 1, window s[tick : tick + L]
            window = s[tick : tick + n_taps]
            err_spike = 0.0
            err_none = 0.0
            for j in range(n_taps):
                err_spike += abs(window[j] - fir[j])
                err_none += abs(window[j])
            if err_spike <= err_none - threshold:
                ticks[tick].append(c)
                for j in range(n_taps):
                    s[tick + j] -= fir[j]
    return [sorted(tick) for tick in ticks]


def bsa_decode_ref(ticks: list[list[int]], n_channels: int, fir: list[float]) -> list[list[float]]:
    """r(t) = sum of fir[t - tau] over spikes at time tau = tick - (L - 1), 0 <= t - tau < L."""
    n = len(ticks)
    lag = len(fir) - 1
    out = [[0.0] * n_channels for _ in range(n)]
    for tick, ids in enumerate(ticks):
        tau = tick - lag
        for c in ids:
            for j, h in enumerate(fir):
                if 0 <= tau + j < n:
                    out[tau + j][c] += h
    return out


def _activation(v: float, centre: float, inv_width: float) -> float:
    d = (v - centre) * inv_width
    return math.exp(-0.5 * d * d)


def population_rate_ref(x, rng_state: int, centres: list[float], inv_width: float, p_max: float):
    """Neuron c * F + j spikes when its uniform draw (one per neuron per tick) is below a_j(x) * p_max."""
    rng = XorShift64Star(rng_state)
    n_fields = len(centres)
    ticks = []
    for row in x:
        tick = []
        for c, v in enumerate(row):
            for j, centre in enumerate(centres):
                if rng.next_uniform() < _activation(v, centre, inv_width) * p_max:
                    tick.append(c * n_fields + j)
        ticks.append(tick)
    return ticks


def population_latency_ref(x, centres: list[float], inv_width: float, window_ticks: int, min_activation: float):
    """Each field with activation >= min_activation spikes once per window at round((1 - a) * (W - 1))."""
    n_fields = len(centres)
    ticks = [[] for _ in x]
    for start in range(0, len(x), window_ticks):
        for c, v in enumerate(x[start]):
            for j, centre in enumerate(centres):
                a = _activation(v, centre, inv_width)
                t = start + math.floor((1.0 - a) * (window_ticks - 1) + 0.5)
                if a >= min_activation and t < len(x):
                    ticks[t].append(c * n_fields + j)
    return [sorted(tick) for tick in ticks]


def delta_ref(x, baseline: float, threshold: float) -> list[list[int]]:
    """ON 2c / OFF 2c+1 when the sample is >= threshold above / below baseline + level * threshold."""
    level = [0] * (len(x[0]) if x else 0)
    ticks = []
    for row in x:
        tick = []
        for c, v in enumerate(row):
            diff = v - (baseline + level[c] * threshold)
            if diff >= threshold:
                level[c] += 1
                tick.append(2 * c)
            elif diff <= -threshold:
                level[c] -= 1
                tick.append(2 * c + 1)
        ticks.append(tick)
    return ticks


def sigma_delta_ref(x, baseline: float, threshold: float) -> list[list[int]]:
    """Integrate x - (baseline + level * threshold); a spike at |integral| >= threshold resets it to 0."""
    n_channels = len(x[0]) if x else 0
    level = [0] * n_channels
    integral = [0.0] * n_channels
    ticks = []
    for row in x:
        tick = []
        for c, v in enumerate(row):
            integral[c] += v - (baseline + level[c] * threshold)
            if integral[c] >= threshold:
                level[c] += 1
                integral[c] = 0.0
                tick.append(2 * c)
            elif integral[c] <= -threshold:
                level[c] -= 1
                integral[c] = 0.0
                tick.append(2 * c + 1)
        ticks.append(tick)
    return ticks


def step_decode_ref(ticks: list[list[int]], n_channels: int, baseline: float, threshold: float):
    """Delta / sigma-delta reconstruction: baseline + threshold * (ON - OFF count so far)."""
    level = [0] * n_channels
    out = []
    for ids in ticks:
        for i in ids:
            level[i // 2] += 1 if i % 2 == 0 else -1
        out.append([baseline + lv * threshold for lv in level])
    return out
