"""Streaming utterance segmentation and time-normalised replay of an utterance's spikes.

A spoken word varies in length by a factor of two or more between speakers and repetitions. The segmenter
watches the per-tick envelope (mean over channels) for speech onset and offset, buffering the encoder's
spikes meanwhile; when a word ends it hands over an ``Utterance``. ``replay_frames`` then replays the
word's spikes, in order and time-compressed to a fixed ``replay_ticks``, onto a tonotopic × relative-time
map: encoder neuron e spiking in the b-th of ``n_bins`` equal parts of the word drives map neuron
``e * n_bins + b`` (a place code for time within the word, like hippocampal time cells, and like the
compressed replay of a sequence after it ends). The word's length is stored alongside.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from snn.frames import SpikeFrames
from snn.hearing.utterance_kernels import segment_ticks


@dataclass(frozen=True)
class SegmenterConfig:
    """Voice-activity detection on the compressed envelope.

    Parameters
    ----------
    on_level : mean compressed envelope (over channels) above which a tick counts as speech.
    hangover_ms : silence, in milliseconds, that ends an utterance.
    min_ms : shorter utterances (clicks) are dropped, in milliseconds.
    max_ms : longer speech is cut into utterances of this length, in milliseconds.
    """

    on_level: float = 0.2
    hangover_ms: float = 150.0
    min_ms: float = 60.0
    max_ms: float = 2000.0

    def __post_init__(self) -> None:
        for key in ("hangover_ms", "min_ms", "max_ms"):
            if not getattr(self, key) > 0:
                raise ValueError(f"segmenter.{key}: must be positive, got {getattr(self, key)!r}")
        if self.min_ms >= self.max_ms:
            raise ValueError(f"segmenter.min_ms: must be below max_ms, got {self.min_ms!r}")
        if self.on_level < 0:
            raise ValueError(f"segmenter.on_level: must be >= 0, got {self.on_level!r}")


@dataclass(frozen=True)
class Utterance:
    """The spikes of one word: ``ticks`` relative to its onset (int64), encoder ``neuron_ids`` (int32),
    ``n_ticks`` its length, ``start_tick`` its onset in ticks since the segmenter's reset."""

    ticks: np.ndarray
    neuron_ids: np.ndarray
    n_ticks: int
    start_tick: int


class UtteranceSegmenter:
    """Streaming: ``push(envelopes, spikes)`` per chunk → utterances that ended; ``flush()`` at end of stream."""

    def __init__(self, config: SegmenterConfig, dt_us: int) -> None:
        self.config = config
        ticks_per_ms = 1000.0 / dt_us
        self._hangover = max(1, round(config.hangover_ms * ticks_per_ms))
        self._min_ticks = max(1, round(config.min_ms * ticks_per_ms))
        self._max_ticks = max(self._min_ticks + 1, round(config.max_ms * ticks_per_ms))
        self.reset()

    def reset(self) -> None:
        self._state = np.array([-1, -1, 0], dtype=np.int64)
        self._tick = 0
        self._ticks: list[np.ndarray] = []
        self._ids: list[np.ndarray] = []

    @property
    def in_speech(self) -> bool:
        return bool(self._state[0] >= 0)

    def push(self, envelopes: np.ndarray, spikes: SpikeFrames) -> list[Utterance]:
        """Feed the envelopes (ticks, channels) and spikes of the same ticks; return utterances that ended."""
        n = envelopes.shape[0]
        if spikes.n_ticks != n:
            raise ValueError(f"segmenter: {spikes.n_ticks} spike ticks for {n} envelope ticks")
        first = self._tick
        level = envelopes.mean(axis=1) if n else np.zeros(0)
        bounds = np.empty((n // min(self._hangover, self._max_ticks) + 2, 2), dtype=np.int64)
        n_closed = segment_ticks(level, first, self.config.on_level, self._hangover, self._max_ticks,
                                 self._state, bounds)
        self._ticks.append(first + np.repeat(np.arange(n, dtype=np.int64), np.diff(spikes.tick_ptr)))
        self._ids.append(spikes.neuron_ids)
        self._tick += n
        done = [u for start, end in bounds[:n_closed] if (u := self._cut(int(start), int(end))) is not None]
        self._trim()
        return done

    def flush(self) -> list[Utterance]:
        """End of stream: close the open utterance (if long enough) and forget buffered spikes."""
        done = []
        if self._state[0] >= 0:
            utterance = self._cut(int(self._state[0]), int(self._state[1]) + 1)
            if utterance is not None:
                done.append(utterance)
        self.reset_keep_time()
        return done

    def reset_keep_time(self) -> None:
        """Drop buffered spikes and any open utterance, keeping the tick count (time goes on)."""
        tick = self._tick
        self.reset()
        self._tick = tick

    def _cut(self, start: int, end: int) -> Utterance | None:
        if end - start < self._min_ticks:
            return None
        ticks = np.concatenate(self._ticks) if self._ticks else np.zeros(0, dtype=np.int64)
        ids = np.concatenate(self._ids) if self._ids else np.zeros(0, dtype=np.int32)
        keep = (ticks >= start) & (ticks < end)
        return Utterance(ticks[keep] - start, ids[keep].astype(np.int32), end - start, start)

    def _trim(self) -> None:
        """Keep only the spikes an open or future utterance can still use."""
        keep_from = int(self._state[0]) if self._state[0] >= 0 else self._tick
        ticks = np.concatenate(self._ticks)
        ids = np.concatenate(self._ids)
        keep = ticks >= keep_from
        self._ticks = [ticks[keep]]
        self._ids = [ids[keep]]


def replay_frames(utterance: Utterance, n_bins: int, replay_ticks: int) -> SpikeFrames:
    """The utterance's spikes on the tonotopic × relative-time map, compressed into ``replay_ticks`` ticks.

    Map neuron = encoder neuron * n_bins + bin, bin = n_bins * tick // n_ticks; replay tick =
    replay_ticks * tick // n_ticks (order kept)."""
    length = max(utterance.n_ticks, 1)
    rel = utterance.ticks
    map_ids = (utterance.neuron_ids.astype(np.int64) * n_bins + rel * n_bins // length).astype(np.int32)
    replay_tick = rel * replay_ticks // length
    tick_ptr = np.zeros(replay_ticks + 1, dtype=np.int64)
    np.cumsum(np.bincount(replay_tick, minlength=replay_ticks)[:replay_ticks], out=tick_ptr[1:])
    return SpikeFrames(tick_ptr, map_ids)
