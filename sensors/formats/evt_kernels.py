"""Numba kernels that decode Prophesee EVT 2.0 and EVT 3.0 words straight into EVENT_DTYPE records.

Written from Prophesee's published format descriptions; the drivers are sensors/formats/evt2.py and sensors/formats/evt3.py.

Both kernels have the signature ``(words, start, stop, state, width, height, max_gap_us, out) -> next word
index`` and leave the number of events written in ``state[N_OUT]``. ``out`` is the flat int64 view of an
EVENT_DTYPE array (two int64 per record): ``out[2k]`` is ``t`` (µs) and ``out[2k + 1]`` packs
``x | y << 16 | p << 32`` into bytes 8..15 of the record (x at 8, y at 10, p at 12, zero padding), so one
event is two 64-bit stores. Decoder state carried across chunks lives in the int64 ``state`` array
(layout below), so a file of any size is decoded through a fixed-size word buffer. Words may hold any
bit pattern: nothing raises, every loop is bounded by ``stop`` and by the room left in ``out``, and an
event with ``x >= width`` or ``y >= height`` is counted in ``state[DROPPED]`` instead of being emitted.

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

The time base (``state[BASE_US]``, the time of the current TIME_HIGH period in µs) moves by each TIME_HIGH
word's step from the previous one. With ``max_gap_us`` < 0 (no guard) the steps are spec-literal: a
TIME_HIGH below the previous one by more than half its range is a wrap (every 2**34 µs for EVT 2.0, every
2**24 µs = 16.777216 s for EVT 3.0), and a smaller step back is kept.

With ``max_gap_us`` >= 0 the time rule of sensors/formats/time_guard.py applies at the TIME_HIGH words (the
first one sets the base), in the kernels' rare TIME_HIGH branch, so the guard costs the hot loops nothing.
A healthy stream repeats its TIME_HIGH or steps it by one period (the shared recordings never do otherwise):

* a TIME_HIGH that follows the last one taken (the same value, or one period on, modulo the range, so a
  wrap is a step of one) is taken;
* any other TIME_HIGH is held pending (``state[PENDING]``) and the time holds meanwhile. If the next
  TIME_HIGH follows it, it is taken: a jump forward of at most ``max_gap_us`` (a quiet stretch) as it is;
  a jump back, or forward by more, is a time anomaly and re-bases (the base stays where it was and later
  steps count from the new TIME_HIGH). If the next one does not follow it, it is a time anomaly and is
  ignored (a single corrupt word costs nothing).

Events before the first TIME_HIGH have no time base (a healthy file starts with a TIME_HIGH): they are not
emitted, and are counted in ``state[UNTIMED]`` (the geometry bound is empty until then, which costs
nothing per word). So the time base never steps back nor jumps by more than ``max_gap_us``. Within one
TIME_HIGH period the time low is taken as the stream gives it, as the format does: an event may be earlier
than the one before it by less than one period (64 µs for EVT 2.0, 4096 µs for EVT 3.0), never by more.
"""
from __future__ import annotations

import numpy as np
from numba import njit

TIME_HIGH = 0
"""state index: last TIME_HIGH payload."""
BASE_US = 1
"""state index: time base of the current TIME_HIGH period (µs), wraps and guard re-basing included."""
TIME_LOW = 2
"""state index: EVT 3.0 last EVT_TIME_LOW payload."""
ADDR_Y = 3
"""state index: EVT 3.0 current y."""
BASE_X = 4
"""state index: EVT 3.0 vector base x."""
POLARITY = 5
"""state index: EVT 3.0 vector polarity."""
DROPPED = 6
"""state index: events dropped because x >= width or y >= height (cumulative; UNTIMED ones aside)."""
N_OUT = 7
"""state index: events written by the last kernel call."""
HAVE_TIME_HIGH = 8
"""state index: 1 once a TIME_HIGH word has set the time base."""
PENDING = 9
"""state index: guard only, a TIME_HIGH payload waiting for the next TIME_HIGH to follow it, -1 for none."""
ANOMALIES = 10
"""state index: time anomalies so far (cumulative)."""
FIRST_ANOMALY = 11
"""state index: index in ``words`` of the TIME_HIGH at which the first anomaly was found, written by that call."""
UNTIMED = 12
"""state index: guard only, events before the first TIME_HIGH, not emitted (cumulative)."""
STATE_SIZE = 13

EVT3_MAX_EVENTS_PER_WORD = 12
"""A VECT_12 word carries at most 12 events; ``out`` must keep that much room past the last event."""

_EVT2_TH_BITS = 28
_EVT2_PERIOD_BITS = 6
"""An EVT 2.0 TIME_HIGH period is 2**6 µs."""
_EVT3_TH_BITS = 12
_EVT3_PERIOD_BITS = 12
"""An EVT 3.0 TIME_HIGH period is 2**12 µs."""


def _type_table(types: tuple[int, ...], value: int) -> np.ndarray:
    table = np.zeros(16, dtype=np.int64)
    table[list(types)] = value
    return table


# EVT 3.0 word type -> bits that the word replaces in the decoder's running values (0: unchanged).
_EVT3_SET_Y = _type_table((0x0,), 0x7FF << 16)  # EVT_ADDR_Y: y, kept pre-shifted by 16
_EVT3_SET_TIME_LOW = _type_table((0x6,), 0xFFF)  # EVT_TIME_LOW: low 12 bits of t
_EVT3_IS_X = _type_table((0x2,), 1)  # EVT_ADDR_X: one event
# 12-bit vector masks: index of the lowest set bit, and the number of set bits.
_LOWEST_BIT = np.array([(m & -m).bit_length() - 1 if m else 0 for m in range(4096)], dtype=np.int8)
_BIT_COUNT = np.array([bin(m).count("1") for m in range(4096)], dtype=np.int8)


def make_state() -> np.ndarray:
    """A fresh decoder state: time 0, no TIME_HIGH yet, none pending, y 0, base x 0, polarity 0."""
    state = np.zeros(STATE_SIZE, dtype=np.int64)
    state[PENDING] = -1
    return state


@njit(cache=True, nogil=True)
def _time_high(payload, state, bits, max_gap_periods):
    """Follow a TIME_HIGH word: update ``state`` (TIME_HIGH, HAVE_TIME_HIGH, PENDING) and return
    ``(step, anomalous)``, the periods the time base moves and whether a time anomaly was found.

    ``bits``: width of the TIME_HIGH field; ``max_gap_periods``: the bound in periods, < 0 for spec-literal
    steps (module docstring).
    """
    span = np.int64(1) << bits
    previous = state[TIME_HIGH]
    if max_gap_periods < 0 or state[HAVE_TIME_HIGH] == 0:
        step = payload - previous
        if -step > span >> 1:
            step += span
        state[TIME_HIGH] = payload
        state[HAVE_TIME_HIGH] = 1
        return step, False
    pending = state[PENDING]
    step = (payload - previous) & (span - 1)
    if step <= 1:  # follows the last one taken; a word pending meanwhile was not followed
        state[TIME_HIGH] = payload
        state[PENDING] = -1
        return step, pending >= 0
    if pending >= 0 and ((payload - pending) & (span - 1)) <= 1:  # follows the pending word: take it
        state[TIME_HIGH] = payload
        state[PENDING] = -1
        jump = (pending - previous) & (span - 1)
        step = (payload - pending) & (span - 1)
        if jump <= max_gap_periods:
            return jump + step, False
        return step, True
    state[PENDING] = payload
    return np.int64(0), pending >= 0


@njit(cache=True, nogil=True)
def _decode_evt2(words, start, stop, state, width, height, max_gap_us, out):
    """Decode EVT 2.0 ``words[start:stop]`` (uint32) into ``out``; return the index of the next word.

    ``max_gap_us``: the time guard's bound (µs), < 0 for spec-literal times (module docstring). Stops early
    when ``out`` is full (one record per word is enough); ``state[N_OUT]`` gets the count. Every word writes
    one record at the current position, which advances only for a CD event inside the geometry, so the loop
    has no data-dependent branch but the rare TIME_HIGH.
    """
    th_mask = (np.int64(1) << _EVT2_TH_BITS) - 1
    max_periods = max_gap_us >> _EVT2_PERIOD_BITS if max_gap_us >= 0 else np.int64(-1)
    base = state[BASE_US]
    timed = max_gap_us < 0 or state[HAVE_TIME_HIGH] != 0
    y_end = np.int64(height) if timed else np.int64(0)  # 0: nothing is emitted before the first TIME_HIGH
    untimed = np.int64(0)
    n_cd = np.int64(0)
    n = np.uint64(0)
    one = np.uint64(1)
    stop = min(stop, start + out.shape[0] // 2)
    for i in range(np.uint64(max(start, 0)), np.uint64(max(stop, 0))):
        w = np.int64(words[i])
        typ = w >> 28
        if typ == 8:
            step, anomalous = _time_high(w & th_mask, state, _EVT2_TH_BITS, max_periods)
            if anomalous:
                if state[ANOMALIES] == 0:
                    state[FIRST_ANOMALY] = np.int64(i)
                state[ANOMALIES] += 1
            base += step << _EVT2_PERIOD_BITS
            if not timed:
                timed = True
                untimed = n_cd
                y_end = np.int64(height)
        x = (w >> 11) & 0x7FF
        y = w & 0x7FF
        k = n + n
        out[k] = base | ((w >> 22) & 0x3F)
        out[k + one] = x | (y << 16) | (typ << 32)
        is_cd = typ < 2
        n_cd += is_cd
        n += np.uint64(is_cd & (x < width) & (y < y_end))
    if not timed:
        untimed = n_cd
    state[BASE_US] = base
    state[UNTIMED] += untimed
    state[DROPPED] += n_cd - np.int64(n) - untimed
    state[N_OUT] = n
    return max(stop, start)


@njit(cache=True, nogil=True)
def _decode_evt3(words, start, stop, state, width, height, max_gap_us, out):
    """Decode EVT 3.0 ``words[start:stop]`` (uint16) into ``out``; return the index of the next word.

    ``max_gap_us``: the time guard's bound (µs), < 0 for spec-literal times (module docstring). Stops early
    when fewer than EVT3_MAX_EVENTS_PER_WORD records of ``out`` are free; ``state[N_OUT]`` gets the count.
    Only VECT_BASE_X, vector and the rare TIME_HIGH words branch; the other types write one record at the
    current position (which advances only for an EVT_ADDR_X inside the geometry) and update y and the time
    low through per-type bit masks, without branching.
    """
    th_range = np.int64(1) << _EVT3_TH_BITS
    max_periods = max_gap_us >> _EVT3_PERIOD_BITS if max_gap_us >= 0 else np.int64(-1)
    base = state[BASE_US]
    t = base | (state[TIME_LOW] & (th_range - 1))
    y16 = (state[ADDR_Y] & 0x7FF) << 16
    bx = state[BASE_X]
    bp = state[POLARITY] & 1
    x_max = np.int64(width) - 1
    timed = max_gap_us < 0 or state[HAVE_TIME_HIGH] != 0
    y16_max = (np.int64(height) - 1) << 16 if timed else np.int64(-1)  # -1: no event before the first TIME_HIGH
    untimed = np.int64(0)
    cap = out.shape[0] // 2
    one = np.uint64(1)
    n = np.uint64(0)
    n_seen = np.int64(0)
    i = max(start, 0)
    stop = max(stop, i)
    while i < stop:
        room = (cap - np.int64(n)) // EVT3_MAX_EVENTS_PER_WORD
        if room <= 0:
            break
        block_end = min(stop, i + room)
        j = np.uint64(i)
        j_end = np.uint64(block_end)
        while j < j_end:
            w = np.int64(words[j])
            j += one
            typ = w >> 12
            if typ >= 3 and typ <= 5:
                # A VECT_BASE_X and the vectors after it are decoded here in one go, which keeps the
                # data-dependent branch to one per group (a group usually spans 32 pixels: 12 + 12 + 8).
                if typ == 3:  # VECT_BASE_X
                    bx = w & 0x7FF
                    bp = (w >> 11) & 1
                    if j >= j_end:
                        continue
                    w = np.int64(words[j])
                    typ = w >> 12
                    if typ < 4 or typ > 5:
                        continue
                    j += one
                row = y16 | (bp << 32)
                y_ok = -np.int64(y16 <= y16_max)
                while True:  # VECT_12 (typ 4) or VECT_8 (typ 5)
                    size = 12 if typ == 4 else 8
                    mask = w & ((1 << size) - 1)
                    inside = min(max(np.int64(width) - bx, 0), EVT3_MAX_EVENTS_PER_WORD)
                    valid = mask & ((1 << inside) - 1) & y_ok
                    n_seen += _BIT_COUNT[mask]
                    # Most vectors carry 0..2 events: two unconditional records, a loop for the rest.
                    k = n + n
                    out[k] = t
                    out[k + one] = row | (bx + _LOWEST_BIT[valid])
                    n += np.uint64(valid != 0)
                    valid &= valid - 1
                    k = n + n
                    out[k] = t
                    out[k + one] = row | (bx + _LOWEST_BIT[valid])
                    n += np.uint64(valid != 0)
                    valid &= valid - 1
                    while valid:
                        k = n + n
                        out[k] = t
                        out[k + one] = row | (bx + _LOWEST_BIT[valid])
                        n += one
                        valid &= valid - 1
                    bx += size
                    if j >= j_end:
                        break
                    w = np.int64(words[j])
                    typ = w >> 12
                    if typ < 4 or typ > 5:
                        break
                    j += one
                continue
            if typ == 8:  # EVT_TIME_HIGH
                step, anomalous = _time_high(w & (th_range - 1), state, _EVT3_TH_BITS, max_periods)
                if anomalous:
                    if state[ANOMALIES] == 0:
                        state[FIRST_ANOMALY] = np.int64(j) - 1
                    state[ANOMALIES] += 1
                base += step << _EVT3_PERIOD_BITS
                t = base | (t & (th_range - 1))
                if not timed:
                    timed = True
                    untimed = n_seen
                    y16_max = (np.int64(height) - 1) << 16
                continue
            x = w & 0x7FF
            k = n + n
            out[k] = t
            out[k + one] = x | y16 | ((w & 0x800) << 21)
            is_x = _EVT3_IS_X[typ]
            n_seen += is_x
            n += np.uint64(is_x & (((x_max - x) | (y16_max - y16)) >= 0))
            y16 ^= ((x << 16) ^ y16) & _EVT3_SET_Y[typ]
            t ^= (w ^ t) & _EVT3_SET_TIME_LOW[typ]
        i = np.int64(j)
    if not timed:
        untimed = n_seen
    state[BASE_US] = base
    state[TIME_LOW] = t & (th_range - 1)
    state[ADDR_Y] = y16 >> 16
    state[BASE_X] = bx
    state[POLARITY] = bp
    state[UNTIMED] += untimed
    state[DROPPED] += n_seen - np.int64(n) - untimed
    state[N_OUT] = n
    return i
