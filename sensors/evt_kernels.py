"""Numba kernels that decode Prophesee EVT 2.0 and EVT 3.0 words straight into EVENT_DTYPE records.

Written from Prophesee's published format descriptions; the drivers are sensors/evt2.py and sensors/evt3.py.

Both kernels have the signature ``(words, start, stop, state, width, height, out) -> next word index``
and return the number of events written in ``state[N_OUT]``. ``out`` is the int64 ``(n, 2)`` view of an
EVENT_DTYPE array: column 0 is ``t`` (µs), column 1 packs ``x | y << 16 | p << 32`` into bytes 8..15
of the record (x at 8, y at 10, p at 12, zero padding), so one event is two 64-bit stores. Decoder state
carried across chunks lives in the int64 ``state`` array (layout below), so a file of any size is
decoded through a fixed-size word buffer. Words are trusted to be any bit pattern: nothing raises, every
loop is bounded by ``stop`` and by the room left in ``out``, and an event with ``x >= width`` or
``y >= height`` is counted in ``state[DROPPED]`` instead of being written.

EVT 2.0 (32-bit words, type in bits 31..28)::

    CD_OFF 0x0 / CD_ON 0x1   bits 27..22 time low (6 bits), 21..11 x, 10..0 y; p = type
    EVT_TIME_HIGH 0x8        bits 27..0 time high (28 bits)
    t_us = wraps * 2**34 + (time_high << 6 | time_low)
    EXT_TRIGGER 0xA, OTHERS 0xE, CONTINUED 0xF and reserved types: ignored

EVT 3.0 (16-bit words, type in bits 15..12)::

    EVT_ADDR_Y 0x0     bits 10..0 y (bit 11 system type, ignored)
    EVT_ADDR_X 0x2     one event: bit 11 p, bits 10..0 x, at the current y and time
    VECT_BASE_X 0x3    bit 11 p, bits 10..0 base x for the following vectors
    VECT_12 0x4        bits 11..0 mask: event at base x + k for every set bit k; then base x += 12
    VECT_8 0x5         bits 7..0 mask, as VECT_12; then base x += 8
    EVT_TIME_LOW 0x6   bits 11..0 time low
    EVT_TIME_HIGH 0x8  bits 11..0 time high
    t_us = wraps * 2**24 + (time_high << 12 | time_low)        (spec-literal)
    CONTINUED_4 0x7, EXT_TRIGGER 0xA, OTHERS 0xE, CONTINUED_12 0xF and reserved types: ignored

Time high wraps (every 2**34 µs for EVT 2.0, every 2**24 µs = 16.777216 s for EVT 3.0) are detected when
a TIME_HIGH value is below the previous one by more than half its range. A smaller step backwards is
not a wrap and is kept as decoded, so is an EVT_TIME_LOW that steps backwards: timestamps are the
spec-literal ones, not forced to be non-decreasing.
"""
from __future__ import annotations

import numpy as np
from numba import njit

TIME_HIGH = 0
"""state index: last TIME_HIGH payload."""
WRAPS = 1
"""state index: TIME_HIGH wraps seen so far."""
TIME_LOW = 2
"""state index: EVT 3.0 last EVT_TIME_LOW payload."""
ADDR_Y = 3
"""state index: EVT 3.0 current y."""
BASE_X = 4
"""state index: EVT 3.0 vector base x."""
POLARITY = 5
"""state index: EVT 3.0 vector polarity."""
DROPPED = 6
"""state index: events dropped because x >= width or y >= height (cumulative)."""
N_OUT = 7
"""state index: events written by the last kernel call."""
STATE_SIZE = 8

EVT3_MAX_EVENTS_PER_WORD = 12
"""A VECT_12 word carries at most 12 events; ``out`` must keep that much room past the last event."""

_EVT2_TH_BITS = 28
_EVT3_TH_BITS = 12


def make_state() -> np.ndarray:
    """A fresh decoder state (all fields zero: time 0, y 0, base x 0, polarity 0)."""
    return np.zeros(STATE_SIZE, dtype=np.int64)


@njit(cache=True, nogil=True)
def _decode_evt2(words, start, stop, state, width, height, out):
    """Decode EVT 2.0 ``words[start:stop]`` (uint32) into ``out``; return the index of the next word.

    Stops early when ``out`` is full (one row per word is enough); ``state[N_OUT]`` gets the count.
    """
    th_range = np.int64(1) << _EVT2_TH_BITS
    th = state[TIME_HIGH]
    wraps = state[WRAPS]
    base = (wraps << (_EVT2_TH_BITS + 6)) | (th << 6)
    dropped = state[DROPPED]
    stop = min(stop, start + out.shape[0])
    n = 0
    for i in range(start, stop):
        w = np.int64(words[i])
        typ = w >> 28
        if typ == 8:
            new_th = w & (th_range - 1)
            if th - new_th > th_range >> 1:
                wraps += 1
            th = new_th
            base = (wraps << (_EVT2_TH_BITS + 6)) | (th << 6)
        x = (w >> 11) & 0x7FF
        y = w & 0x7FF
        out[n, 0] = base | ((w >> 22) & 0x3F)
        out[n, 1] = x | (y << 16) | (typ << 32)
        is_cd = typ < 2
        inside = (x < width) & (y < height)
        n += is_cd & inside
        dropped += is_cd & ~inside
    state[TIME_HIGH] = th
    state[WRAPS] = wraps
    state[DROPPED] = dropped
    state[N_OUT] = n
    return stop


@njit(cache=True, nogil=True)
def _decode_evt3(words, start, stop, state, width, height, out):
    """Decode EVT 3.0 ``words[start:stop]`` (uint16) into ``out``; return the index of the next word.

    Stops early when fewer than EVT3_MAX_EVENTS_PER_WORD rows of ``out`` are free; ``state[N_OUT]``
    gets the count. Only vector and TIME_HIGH words branch; the other types update the state with
    selects, and EVT_ADDR_X writes its event unconditionally and advances only when it is valid.
    """
    th_range = np.int64(1) << _EVT3_TH_BITS
    th = state[TIME_HIGH]
    wraps = state[WRAPS]
    hi = (wraps << (2 * _EVT3_TH_BITS)) | (th << _EVT3_TH_BITS)
    t = hi | state[TIME_LOW]
    y = state[ADDR_Y]
    bx = state[BASE_X]
    bp = state[POLARITY]
    dropped = state[DROPPED]
    y_bits = y << 16
    y_in = y < height
    limit = out.shape[0] - EVT3_MAX_EVENTS_PER_WORD
    n = 0
    i = start
    while i < stop and n <= limit:
        w = np.int64(words[i])
        i += 1
        typ = w >> 12
        payload = w & 0xFFF
        if (typ >> 1) == 2:  # VECT_12 or VECT_8
            mask = payload if typ == 4 else payload & 0xFF
            row = y_bits | (bp << 32)
            for k in range(EVT3_MAX_EVENTS_PER_WORD):
                xk = bx + k
                bit = (mask >> k) & 1
                out[n, 0] = t
                out[n, 1] = row | xk
                inside = (xk < width) & y_in
                n += bit & inside
                dropped += bit & ~inside
            bx += 20 - 2 * typ  # 12 for VECT_12, 8 for VECT_8
            continue
        if typ == 8:
            if th - payload > th_range >> 1:
                wraps += 1
            th = payload
            hi = (wraps << (2 * _EVT3_TH_BITS)) | (th << _EVT3_TH_BITS)
            t = hi | (t & (th_range - 1))
            continue
        x = w & 0x7FF
        p11 = w & 0x800
        is_x = typ == 2
        out[n, 0] = t
        out[n, 1] = x | y_bits | (p11 << 21)
        inside = (x < width) & y_in
        n += is_x & inside
        dropped += is_x & ~inside
        is_y = typ == 0
        y = x if is_y else y
        y_bits = y << 16
        y_in = y < height
        is_base = typ == 3
        bx = x if is_base else bx
        bp = (p11 >> 11) if is_base else bp
        t = (hi | payload) if typ == 6 else t
    state[TIME_HIGH] = th
    state[WRAPS] = wraps
    state[TIME_LOW] = t & (th_range - 1)
    state[ADDR_Y] = y
    state[BASE_X] = bx
    state[POLARITY] = bp
    state[DROPPED] = dropped
    state[N_OUT] = n
    return i
