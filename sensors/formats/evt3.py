"""Prophesee RAW EVT 3.0 recordings (16-bit vectorised words) as EventBatch, decoded by a Numba kernel.

The word layout and time reconstruction are documented in sensors/formats/evt_kernels.py.
"""
from __future__ import annotations

import numpy as np

from sensors.formats.evt_kernels import EVT3_MAX_EVENTS_PER_WORD, _decode_evt3
from sensors.formats.prophesee_header import MAX_BATCH_EVENTS, RawEventSource

__all__ = ["Evt3Source"]

_MIN_ROWS = 256


class Evt3Source(RawEventSource):
    """Stream a Prophesee EVT 3.0 RAW file; ``read()`` returns None at the end.

    Parameters
    ----------
    path : the ``.raw`` file (a ``% evt 3.0`` or ``% format EVT3`` header, then 16-bit words).
    geometry : sensor size; overrides the header's and the fallback (1280x720 for Gen4.1/IMX636
        plugins and for EVT 3.0 files that state none). Events outside it are dropped
        (``dropped_out_of_range``).
    chunk_bytes : size of the word buffer; the file is decoded this many bytes at a time.
    max_gap_us : the time guard's bound (sensors/formats/time_guard.py); None for spec-literal times.

    Timestamps are ``time_high << 12 | time_low`` in µs plus 2**24 µs per TIME_HIGH wrap (16.777216 s).
    With the guard (the default), a TIME_HIGH that steps back or jumps more than ``max_gap_us`` is counted
    in ``time_anomalies`` and re-based, and events before the first TIME_HIGH are left out
    (``untimed_events``); an EVT_TIME_LOW that steps back is kept as decoded, so an event may be earlier than
    the one before it by less than 4096 µs (one TIME_HIGH period; it never is in the shared sample). With
    ``max_gap_us=None`` the times are spec-literal. A file that ends inside a word is decoded
    up to its last complete word (``truncated_bytes`` says how much was left). SourceError (one line
    naming the path): missing or empty file, no RAW header, header only, a format other than EVT 3.0,
    a malformed geometry in the header.
    """

    format = "evt3"
    _word_dtype = np.dtype("<u2")
    _kernel = staticmethod(_decode_evt3)

    @staticmethod
    def _rows(n_words: int) -> int:
        """A record per word (the usual rate is below one event per word), plus one vector's worth of room;
        a denser stream takes more than one ``read()`` per buffer."""
        return min(max(n_words, _MIN_ROWS), MAX_BATCH_EVENTS) + EVT3_MAX_EVENTS_PER_WORD
