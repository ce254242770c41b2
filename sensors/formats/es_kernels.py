"""Numba kernel of the Event Stream 2.0 decoder (dvs and atis types): bytes in, EVENT_DTYPE fields out.

The decoder is a byte-level state machine whose state lives in a small int64 array, so a file can be fed
in chunks of any size and the events come out the same. Time only grows (by deltas and overflow bytes); with
the time guard (sensors/formats/time_guard.py) a step of more than ``max_gap_us`` between two events is a
time anomaly: counted, and the time re-based so that the event continues at the previous one's time.
"""
from __future__ import annotations

import numpy as np
from numba import njit

# Layout of the decoder state array (int64).
ES_T_US = 0  # time of the last event, µs (deltas and overflows accumulate here)
ES_PHASE = 1  # 0 = idle (expecting byte 0, overflow or reset); k = 1..4 = expecting byte k
ES_X = 2  # x of the event being assembled
ES_Y = 3  # stored (bottom-left) y of the event being assembled
ES_P = 4  # polarity of the event being assembled (1 = increase)
ES_TC = 5  # 1 when the event being assembled is an ATIS threshold crossing (exposure measurement)
ES_LAST_US = 6  # time of the last event, µs (ES_NO_EVENT before the first)
ES_ANOMALIES = 7  # time anomalies so far
ES_FIRST_ANOMALY = 8  # index in the call's data of the last byte of the first anomalous event
ES_STATE_SIZE = 9

ES_NO_EVENT = 1 << 62
"""``state[ES_LAST_US]`` before the first event: far enough ahead that no step from it is a gap."""
ES_NO_GUARD = np.iinfo(np.int64).max
"""``max_gap_us`` that no step exceeds: the guard off."""

# Error codes returned by the kernel.
ES_OK = 0
ES_X_OUT_OF_RANGE = 1
ES_Y_OUT_OF_RANGE = 2

DVS_SPECIAL = 0xFE  # byte 0 values >= this are reset (0xFE) or overflow (0xFF, +127 µs)
DVS_OVERFLOW_US = 127
ATIS_SPECIAL = 0xFC  # byte 0 values >= this are reset (0xFC) or overflow (0xFD..0xFF, +63 µs × low 2 bits)
ATIS_OVERFLOW_US = 63


def make_es_state() -> np.ndarray:
    """A fresh decoder state: t = 0 µs, idle, no event yet."""
    state = np.zeros(ES_STATE_SIZE, dtype=np.int64)
    state[ES_LAST_US] = ES_NO_EVENT
    return state


@njit(cache=True)
def _gap(t, t_last, end_index, state):
    """A time anomaly: a gap from ``t_last`` to ``t`` (µs) for the event ending at ``end_index``. Count it and
    return the re-based time (``t_last``)."""
    if state[ES_ANOMALIES] == 0:
        state[ES_FIRST_ANOMALY] = end_index
    state[ES_ANOMALIES] += 1
    return t_last


@njit(cache=True)
def _decode_whole_events(data, i, t, t_last, atis, width, height, max_gap_us, state, out_t, out_x, out_y, out_p):
    """Idle-state fast path of _decode_es over events that lie wholly in ``data``; stops before a
    partial event, when the out arrays are full, or at an event off the sensor.

    Returns (n, i, t, t_last, error, x, y): events written from ``out_*[0]``, next byte index, time and last
    event's time (µs), error code and the coordinates of the offending event. (Counting from 0 here, not
    from the caller's count, lets the compiler drop negative-index handling: about 20 % faster.)
    """
    special = ATIS_SPECIAL if atis else DVS_SPECIAL
    unit = ATIS_OVERFLOW_US if atis else DVS_OVERFLOW_US
    shift = 2 if atis else 1
    tc_mask = 1 if atis else 0
    p_shift = 1 if atis else 0
    cap = out_t.shape[0]
    last = data.shape[0] - 4  # an event starting before this index is whole
    n = 0
    while i < last and n < cap:
        b = np.int64(data[i])
        if b >= special:
            t += (b - special) * unit  # overflow; a reset adds nothing
            i += 1
            continue
        t += b >> shift
        x = np.int64(data[i + 1]) | (np.int64(data[i + 2]) << 8)
        y = np.int64(data[i + 3]) | (np.int64(data[i + 4]) << 8)
        i += 5
        if x >= width or y >= height:
            return n, i, t, t_last, ES_X_OUT_OF_RANGE if x >= width else ES_Y_OUT_OF_RANGE, x, y
        if t - t_last > max_gap_us:
            t = _gap(t, t_last, i - 1, state)
        t_last = t
        out_t[n] = t
        out_x[n] = x
        out_y[n] = height - 1 - y
        out_p[n] = (b >> p_shift) & 1
        n += 1 - (b & tc_mask)  # an ATIS threshold crossing is overwritten by the next event
    return n, i, t, t_last, ES_OK, 0, 0


@njit(cache=True)
def _decode_es(data, start, state, atis, width, height, max_gap_us, out_t, out_x, out_y, out_p):
    """Decode Event Stream 2.0 dvs/atis bytes ``data[start:]`` into the out arrays.

    Parameters
    ----------
    data : uint8 array of event bytes (after the 20-byte header).
    start : index of the first byte to decode.
    state : int64[ES_STATE_SIZE], carried across calls (see the ES_* layout above); updated in place.
    atis : True for the atis type (6-bit time delta, polarity and is_tc bits), False for dvs
        (7-bit time delta, is_increase bit).
    width, height : sensor size in pixels from the header; stored y is flipped to top-left
        (``y = height - 1 - y_stored``).
    max_gap_us : the time guard's bound (µs), ES_NO_GUARD for none: a longer step between two events is
        a time anomaly, counted in ``state``, and the event gets the previous one's time.
    out_t, out_x, out_y, out_p : field views of an EVENT_DTYPE array; decoding stops when they are full.
        ATIS threshold crossings (is_tc = 1, exposure measurements) advance time but are not written.

    Returns
    -------
    (n_out, next_index, error) : events written, the index of the next undecoded byte, and ES_OK or
    ES_X_OUT_OF_RANGE / ES_Y_OUT_OF_RANGE (the offending event is left in ``state``, nothing after it
    is decoded).
    """
    if atis:
        special, unit, shift, tc_mask, p_shift = ATIS_SPECIAL, ATIS_OVERFLOW_US, 2, 1, 1
    else:
        special, unit, shift, tc_mask, p_shift = DVS_SPECIAL, DVS_OVERFLOW_US, 1, 0, 0
    t = state[ES_T_US]
    phase = state[ES_PHASE]
    x = state[ES_X]
    y = state[ES_Y]
    p = state[ES_P]
    tc = state[ES_TC]
    t_last = state[ES_LAST_US]
    cap = out_t.shape[0]
    end = data.shape[0]
    n = 0
    i = start
    error = ES_OK
    while i < end:
        if phase == 0:
            # Fast path: the decoder is idle and whole events lie inside the chunk.
            k, i, t, t_last, error, ex, ey = _decode_whole_events(
                data, i, t, t_last, atis, width, height, max_gap_us, state, out_t[n:], out_x[n:], out_y[n:],
                out_p[n:],
            )
            n += k
            if error != ES_OK:
                x, y = ex, ey
            if error != ES_OK or n >= cap or i >= end:
                break
        # Slow path, one byte at a time: an event split across chunks.
        b = np.int64(data[i])
        i += 1
        if phase == 0:
            if b >= special:
                t += (b - special) * unit
                continue
            t += b >> shift
            tc = b & tc_mask
            p = (b >> p_shift) & 1
            phase = 1
            continue
        if phase == 1:
            x = b
        elif phase == 2:
            x |= b << 8
        elif phase == 3:
            y = b
        else:
            y |= b << 8
        if phase < 4:
            phase += 1
            continue
        phase = 0
        if x >= width or y >= height:
            error = ES_X_OUT_OF_RANGE if x >= width else ES_Y_OUT_OF_RANGE
            break
        if t - t_last > max_gap_us:
            t = _gap(t, t_last, i - 1, state)
        t_last = t
        if tc == 0:
            out_t[n] = t
            out_x[n] = x
            out_y[n] = height - 1 - y
            out_p[n] = p
            n += 1
    state[ES_T_US] = t
    state[ES_PHASE] = phase
    state[ES_X] = x
    state[ES_Y] = y
    state[ES_P] = p
    state[ES_TC] = tc
    state[ES_LAST_US] = t_last
    return n, i, error
