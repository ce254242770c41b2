"""Prophesee RAW EVT 2.0 recordings (32-bit words) as EventBatch, decoded by a Numba kernel.

The word layout and time reconstruction are documented in sensors/formats/evt_kernels.py.
"""
from __future__ import annotations

import numpy as np

from sensors.formats.evt_kernels import _decode_evt2
from sensors.formats.prophesee_header import RawEventSource

__all__ = ["Evt2Source"]


class Evt2Source(RawEventSource):
    """Stream a Prophesee EVT 2.0 RAW file; ``read()`` returns None at the end.

    Parameters
    ----------
    path : the ``.raw`` file (a ``% evt 2.0`` or ``% format EVT2`` header, then 32-bit words).
    geometry : sensor size; overrides the header's and the fallback (640x480 for Gen3 plugins and for
        EVT 2.0 files that state none). Events outside it are dropped (``dropped_out_of_range``).
    chunk_bytes : size of the word buffer; the file is decoded this many bytes at a time.
    max_gap_us : the time guard's bound (sensors/formats/time_guard.py); None for spec-literal times.

    Timestamps are ``time_high << 6 | time_low`` in µs (plus 2**34 per TIME_HIGH wrap). With the guard (the
    default), a TIME_HIGH that steps back or jumps more than ``max_gap_us`` is counted in ``time_anomalies``
    and re-based, and events before the first TIME_HIGH are left out (``untimed_events``); an event is never
    earlier than the one before it by 64 µs (one TIME_HIGH period) or more. A file that ends
    inside a word is decoded up to its last complete word (``truncated_bytes`` says how much was left).
    SourceError (one line naming the path): missing or empty file, no RAW header, header only, a
    format other than EVT 2.0, a malformed geometry in the header.
    """

    format = "evt2"
    _word_dtype = np.dtype("<u4")
    _kernel = staticmethod(_decode_evt2)
