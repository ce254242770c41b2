"""Numba kernels of the signal encoders in snn.encoding.encoders: one call encodes a block of ticks.

Every kernel takes ``x`` (float64, (n_samples, n_channels), one sample per tick), the encoder's state arrays,
scalar parameters, and the CSR outputs ``tick_ptr`` (int64, n_samples + 1, ``tick_ptr[0] == 0``) and
``neuron_ids`` (int32, large enough for the encoder's most spikes per tick times n_samples). It writes neuron
ids in ascending order within each tick, mutates only the arrays it is handed, and returns the spike count.
"""
from __future__ import annotations

import math

from numba import njit

from snn.rng import next_uniform


@njit(cache=True)
def _clip01(v: float) -> float:
    if v < 0.0:
        return 0.0
    if v > 1.0:
        return 1.0
    return v


@njit(cache=True)
def _latency_offset(v: float, window_ticks: int, log_mapping: bool, log_floor: float) -> int:
    """Spike tick within the window for value v: 1 -> 0 (first tick), 0 (or <= log_floor) -> window_ticks - 1.

    Linear: frac = 1 - clip(v, 0, 1). Log: frac = ln(max(clip(v), log_floor)) / ln(log_floor).
    The tick is floor(frac * (window_ticks - 1) + 0.5).
    """
    v = _clip01(v)
    if log_mapping:
        if v < log_floor:
            v = log_floor
        frac = math.log(v) / math.log(log_floor)
    else:
        frac = 1.0 - v
    return int(math.floor(frac * (window_ticks - 1) + 0.5))


@njit(cache=True)
def _rate_encode(x, rng_state, p_max, tick_ptr, neuron_ids) -> int:
    """Bernoulli spikes: channel c fires in a tick with probability clip(x, 0, 1) * p_max.

    One uniform draw per channel per tick, channel order, whatever the value (so the draw sequence is
    independent of the signal).
    """
    n = 0
    for t in range(x.shape[0]):
        for c in range(x.shape[1]):
            if next_uniform(rng_state) < _clip01(x[t, c]) * p_max:
                neuron_ids[n] = c
                n += 1
        tick_ptr[t + 1] = n
    return n


@njit(cache=True)
def _latency_encode(x, phase, fire_tick, window_ticks, log_mapping, log_floor, tick_ptr, neuron_ids) -> int:
    """Time-to-first-spike: at each window's first tick, schedule channel c's one spike of the window.

    ``phase`` (int64, 1): tick within the current window. ``fire_tick`` (int64, n_channels): the scheduled tick.
    """
    n = 0
    n_channels = x.shape[1]
    for t in range(x.shape[0]):
        k = phase[0]
        if k == 0:
            for c in range(n_channels):
                fire_tick[c] = _latency_offset(x[t, c], window_ticks, log_mapping, log_floor)
        for c in range(n_channels):
            if fire_tick[c] == k:
                neuron_ids[n] = c
                n += 1
        tick_ptr[t + 1] = n
        phase[0] = k + 1 if k + 1 < window_ticks else 0
    return n


@njit(cache=True)
def _phase_encode(x, phase, level, n_phases, tick_ptr, neuron_ids) -> int:
    """Bit-plane phase code: at each window's first tick quantise q = min(floor(clip(x) * 2^K + 0.5), 2^K - 1).

    Channel c fires at phase j (0-based tick of the window) when the binary fraction bit of weight 2^-(j+1)
    is set in q / 2^K, i.e. bit K-1-j of q. ``phase`` (int64, 1); ``level`` (int64, n_channels) holds q.
    """
    n = 0
    n_channels = x.shape[1]
    full = 1 << n_phases
    for t in range(x.shape[0]):
        k = phase[0]
        if k == 0:
            for c in range(n_channels):
                q = int(math.floor(_clip01(x[t, c]) * full + 0.5))
                level[c] = q if q < full else full - 1
        shift = n_phases - 1 - k
        for c in range(n_channels):
            if (level[c] >> shift) & 1:
                neuron_ids[n] = c
                n += 1
        tick_ptr[t + 1] = n
        phase[0] = k + 1 if k + 1 < n_phases else 0
    return n


@njit(cache=True)
def _bsa_encode(x, residual, head, fir, threshold, tick_ptr, neuron_ids) -> int:
    """Ben's Spiker Algorithm with a look-ahead of L = len(fir) samples; output delayed by L - 1 ticks.

    ``residual`` (float64, (n_channels, L)) is a ring of the last L samples minus the filter copies of earlier
    spikes; ``head`` (int64, 1) is the ring slot of the oldest sample. At tick n the new sample replaces the
    oldest, then time tau = n - L + 1 is decided: with s the residual at tau..tau+L-1,
    err_spike = sum |s_j - fir_j|, err_none = sum |s_j|; fire (at output tick n) when
    err_spike <= err_none - threshold, and subtract fir from s. Before reset the ring holds zeros.
    """
    n = 0
    n_taps = fir.shape[0]
    n_channels = x.shape[1]
    for t in range(x.shape[0]):
        slot = head[0]
        oldest = slot + 1 if slot + 1 < n_taps else 0
        for c in range(n_channels):
            residual[c, slot] = x[t, c]
            err_spike = 0.0
            err_none = 0.0
            i = oldest
            for j in range(n_taps):
                s = residual[c, i]
                err_spike += abs(s - fir[j])
                err_none += abs(s)
                i = i + 1 if i + 1 < n_taps else 0
            if err_spike <= err_none - threshold:
                i = oldest
                for j in range(n_taps):
                    residual[c, i] -= fir[j]
                    i = i + 1 if i + 1 < n_taps else 0
                neuron_ids[n] = c
                n += 1
        head[0] = oldest
        tick_ptr[t + 1] = n
    return n


@njit(cache=True)
def _population_rate_encode(x, rng_state, centres, inv_width, p_max, tick_ptr, neuron_ids) -> int:
    """Gaussian receptive fields, Bernoulli spikes: neuron c*F+j fires with probability a_j(x) * p_max.

    a_j(x) = exp(-0.5 * ((x - centres[j]) * inv_width)^2). One uniform draw per neuron per tick, id order.
    """
    n = 0
    n_fields = centres.shape[0]
    for t in range(x.shape[0]):
        for c in range(x.shape[1]):
            v = x[t, c]
            for j in range(n_fields):
                d = (v - centres[j]) * inv_width
                if next_uniform(rng_state) < math.exp(-0.5 * d * d) * p_max:
                    neuron_ids[n] = c * n_fields + j
                    n += 1
        tick_ptr[t + 1] = n
    return n


@njit(cache=True)
def _population_latency_encode(x, phase, fire_tick, centres, inv_width, window_ticks, min_activation,
                               tick_ptr, neuron_ids) -> int:
    """Gaussian receptive fields, one latency spike per field and window (Bohte-style population latency).

    At each window's first tick, field j of channel c with activation a >= min_activation is scheduled at
    tick floor((1 - a) * (window_ticks - 1) + 0.5); weaker fields stay silent (``fire_tick`` = -1).
    """
    n = 0
    n_fields = centres.shape[0]
    n_neurons = x.shape[1] * n_fields
    for t in range(x.shape[0]):
        k = phase[0]
        if k == 0:
            for c in range(x.shape[1]):
                v = x[t, c]
                for j in range(n_fields):
                    d = (v - centres[j]) * inv_width
                    a = math.exp(-0.5 * d * d)
                    if a >= min_activation:
                        fire_tick[c * n_fields + j] = int(math.floor((1.0 - a) * (window_ticks - 1) + 0.5))
                    else:
                        fire_tick[c * n_fields + j] = -1
        for i in range(n_neurons):
            if fire_tick[i] == k:
                neuron_ids[n] = i
                n += 1
        tick_ptr[t + 1] = n
        phase[0] = k + 1 if k + 1 < window_ticks else 0
    return n


@njit(cache=True)
def _delta_encode(x, level, baseline, threshold, tick_ptr, neuron_ids) -> int:
    """Delta modulation: reference r = baseline + level * threshold; ON (2c) when x - r >= threshold and
    level += 1, OFF (2c+1) when x - r <= -threshold and level -= 1. At most one spike per channel per tick.

    ``level`` (int64, n_channels) is the signed count of ON minus OFF spikes since reset.
    """
    n = 0
    for t in range(x.shape[0]):
        for c in range(x.shape[1]):
            diff = x[t, c] - (baseline + level[c] * threshold)
            if diff >= threshold:
                level[c] += 1
                neuron_ids[n] = 2 * c
                n += 1
            elif diff <= -threshold:
                level[c] -= 1
                neuron_ids[n] = 2 * c + 1
                n += 1
        tick_ptr[t + 1] = n
    return n


@njit(cache=True)
def _sigma_delta_encode(x, level, integral, baseline, threshold, tick_ptr, neuron_ids) -> int:
    """Sigma-delta: integral += x - r with r = baseline + level * threshold (the decoded value before this
    tick); ON (2c) when integral >= threshold (level += 1), OFF (2c+1) when integral <= -threshold
    (level -= 1); a spike resets the integral to 0. At most one spike per channel per tick.

    Reset to zero (not by subtraction) keeps the loop stable when the signal outruns one level per tick:
    subtraction winds the integral up and the reconstruction overshoots into limit cycles.
    ``level`` (int64, n_channels); ``integral`` (float64, n_channels) in value * ticks.
    """
    n = 0
    for t in range(x.shape[0]):
        for c in range(x.shape[1]):
            integral[c] += x[t, c] - (baseline + level[c] * threshold)
            if integral[c] >= threshold:
                level[c] += 1
                integral[c] = 0.0
                neuron_ids[n] = 2 * c
                n += 1
            elif integral[c] <= -threshold:
                level[c] -= 1
                integral[c] = 0.0
                neuron_ids[n] = 2 * c + 1
                n += 1
        tick_ptr[t + 1] = n
    return n
