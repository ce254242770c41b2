"""Plain-Python references for the audio path: snn.encoding.cochlea_kernels (gammatone_envelopes, compress_adapt),
snn.hearing.utterance_kernels (segment_ticks) and the word network's non-leaky integrate-and-fire readout
(integrate_readout_ref, what snn.hearing.word_net runs on the engine).

Loops over Python floats and complex numbers, no NumPy arithmetic and no Numba. State is held in plain
lists (or a small dict) that the functions update in place, like the kernels update their arrays, so a
reference can be driven chunk by chunk too.
"""
from __future__ import annotations

import math

ORDER = 4
"""Complex one-pole stages of the gammatone cascade (matches snn.encoding.cochlea_kernels.ORDER)."""


# --------------------------------------------------------------------------------------------- cochlea


def new_cochlea_state(n_channels: int) -> dict:
    """Reset state of the reference filterbank: complex stage outputs [stage][channel], the open tick's
    rectified sum per channel, samples already in the open tick, and the adaptation levels."""
    return {
        "stages": [[0j] * n_channels for _ in range(ORDER)],
        "tick_sum": [0.0] * n_channels,
        "fill": 0,
        "adapt_level": [0.0] * n_channels,
    }


def gammatone_envelopes_ref(samples, poles, gains, state: dict, samples_per_tick: int) -> list[list[float]]:
    """Each channel c: ORDER complex one-pole stages y_s[n] = u_s[n] + pole_c * y_s[n-1], with
    u_0 = gain_c * x[n] and u_s = y_{s-1}; the real part of the last stage is half-wave rectified and
    averaged over each tick of ``samples_per_tick`` samples. Returns one row (list per channel) per tick
    completed; ``state`` (``new_cochlea_state``) carries the stages, the open tick and its fill."""
    n_channels = len(poles)
    stages = state["stages"]
    tick_sum = state["tick_sum"]
    rows = []
    for x in samples:
        x = float(x)
        for c in range(n_channels):
            u = complex(x * float(gains[c]), 0.0)
            for s in range(ORDER):
                y = u + complex(poles[c]) * stages[s][c]
                stages[s][c] = y
                u = y
            tick_sum[c] += max(u.real, 0.0)
        state["fill"] += 1
        if state["fill"] == samples_per_tick:
            rows.append([tick_sum[c] / samples_per_tick for c in range(n_channels)])
            for c in range(n_channels):
                tick_sum[c] = 0.0
            state["fill"] = 0
    return rows


def compress_adapt_ref(envelope, reference: float, adapt_level: list, adapt_keep: float,
                       adapt_strength: float) -> list[list[float]]:
    """Per tick and channel: level = log(1 + e / reference); out = max(level - strength * a, 0), then the
    adaptation level a <- keep * a + (1 - keep) * level (``adapt_level`` updated in place)."""
    out = []
    for row in envelope:
        out_row = []
        for c, e in enumerate(row):
            level = math.log1p(float(e) / reference)
            out_row.append(max(level - adapt_strength * adapt_level[c], 0.0))
            adapt_level[c] = adapt_keep * adapt_level[c] + (1.0 - adapt_keep) * level
        out.append(out_row)
    return out


def cochlea_ref(samples, centre_hz, sample_rate_hz: int, samples_per_tick: int, reference: float,
                adapt_keep: float, adapt_strength: float, state: dict | None = None):
    """The whole front end from its documented physics (poles and gains derived here, independently of
    snn.encoding.cochlea): pole = exp(-2 pi 1.019 ERB(f) / fs) * exp(2 pi i f / fs), ERB(f) = 24.7 + 0.108 f,
    gain = 2 (1 - |pole|)^ORDER; envelope = pi * rectified tick mean; then compression and adaptation.
    Returns (raw envelopes, processed envelopes) as lists of rows."""
    poles, gains = [], []
    for f in centre_hz:
        erb = 24.7 + 0.108 * float(f)
        radius = math.exp(-2.0 * math.pi * 1.019 * erb / sample_rate_hz)
        poles.append(radius * complex(math.cos(2.0 * math.pi * f / sample_rate_hz),
                                      math.sin(2.0 * math.pi * f / sample_rate_hz)))
        gains.append(2.0 * (1.0 - radius) ** ORDER)
    state = state if state is not None else new_cochlea_state(len(poles))
    raw = [[math.pi * v for v in row] for row in gammatone_envelopes_ref(samples, poles, gains, state,
                                                                         samples_per_tick)]
    out = compress_adapt_ref(raw, reference, state["adapt_level"], adapt_keep, adapt_strength)
    return raw, out


# ------------------------------------------------------------------------------------------- segmenter


def new_segmenter_state() -> list[int]:
    """[onset tick or -1 when silent, last active tick, silent run length]."""
    return [-1, -1, 0]


def segment_ticks_ref(level, first_tick: int, on_level: float, hangover_ticks: int, max_ticks: int,
                      state: list) -> list[tuple[int, int]]:
    """Voice-activity state machine over one chunk of per-tick levels (tick k of the chunk is absolute
    tick first_tick + k). Active: level > on_level. Silent -> speech at the first active tick. In speech,
    the utterance closes with bounds [onset, last active + 1) once ``hangover_ticks`` silent ticks have
    followed the last active tick, or once it spans ``max_ticks`` ticks (counting the current tick).
    Returns the closed (start, end) pairs; ``state`` carries across calls."""
    closed = []
    onset, last_active, silent_run = state
    for k, value in enumerate(level):
        tick = first_tick + k
        active = float(value) > on_level
        if onset < 0:
            if active:
                onset, last_active, silent_run = tick, tick, 0
            continue
        if active:
            last_active, silent_run = tick, 0
        else:
            silent_run += 1
        if silent_run >= hangover_ticks or tick - onset + 1 >= max_ticks:
            closed.append((onset, last_active + 1))
            onset, silent_run = -1, 0
    state[0], state[1], state[2] = onset, last_active, silent_run
    return closed


# -------------------------------------------------------------------------------------------- word net


def integrate_readout_ref(ticks, weights, threshold: float, membrane_v=None, spike_counts=None):
    """Non-leaky integrate-and-fire readout: ``ticks`` is a list (per tick) of lists of map neuron ids;
    every spike of map neuron j adds weights[j][c] to readout c; after each tick every readout at or above
    ``threshold`` spikes once and loses ``threshold``. Returns (membrane_v, spike_counts) as lists."""
    n_out = len(weights[0]) if len(weights) else 0
    v = [0.0] * n_out if membrane_v is None else [float(x) for x in membrane_v]
    counts = [0] * n_out if spike_counts is None else [int(x) for x in spike_counts]
    for tick in ticks:
        for j in tick:
            for c in range(n_out):
                v[c] += float(weights[j][c])
        for c in range(n_out):
            if v[c] >= threshold:
                v[c] -= threshold
                counts[c] += 1
    return v, counts
