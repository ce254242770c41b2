"""Numba kernel of the streaming utterance segmenter (voice-activity state machine over ticks)."""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def segment_ticks(level: np.ndarray, first_tick: int, on_level: float, hangover_ticks: int, max_ticks: int,
                  state: np.ndarray, bounds: np.ndarray) -> int:
    """Advance the segmenter over one chunk of per-tick activity levels.

    ``state`` (int64, 3) carries across calls: [onset tick or -1 when silent, last active tick, silent run].
    A tick is active when ``level > on_level``. Speech starts at the first active tick and ends after
    ``hangover_ticks`` silent ticks (bounds [onset, last active + 1)), or is cut at ``max_ticks``.
    Closed utterances are written to ``bounds`` (rows [start, end) in absolute ticks); returns their count.
    """
    n_closed = 0
    for k in range(level.shape[0]):
        tick = first_tick + k
        active = level[k] > on_level
        if state[0] < 0:
            if active:
                state[0] = tick
                state[1] = tick
                state[2] = 0
            continue
        if active:
            state[1] = tick
            state[2] = 0
        else:
            state[2] += 1
        if state[2] >= hangover_ticks or tick + 1 - state[0] >= max_ticks:
            bounds[n_closed, 0] = state[0]
            bounds[n_closed, 1] = state[1] + 1
            n_closed += 1
            state[0] = -1
            state[2] = 0
    return n_closed
