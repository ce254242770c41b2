"""The audio loop: an audio source (file or microphone) → Hearing → ``word`` actions, with labels as reward.

Used by ``replay`` of audio files and by the daemon when its source is audio. One ``step`` reads one chunk;
it returns the actions for the utterances that ended in it, or None at the end of the input.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from controllers.action import Action
from edge.hearing import Hearing, heard_action
from sensors.audio.sources import AudioFileSource, MicrophoneSource


@dataclass
class AudioCounters:
    """Totals since start: chunks and samples read, utterances heard, labels received and applied."""

    chunks: int = 0
    samples: int = 0
    utterances: int = 0
    labels: int = 0
    updates: int = 0
    actions: int = 0


def open_audio_source(kind: str, path: str, sample_rate_hz: int, chunk_samples: int):
    """``file`` → AudioFileSource(path); ``microphone`` → MicrophoneSource(device ``path`` or default)."""
    if kind == "microphone":
        device = int(path) if path.isdigit() else (path or None)
        return MicrophoneSource(device, sample_rate_hz=sample_rate_hz, chunk_samples=chunk_samples)
    return AudioFileSource(path, sample_rate_hz=sample_rate_hz, chunk_samples=chunk_samples)


class AudioPipeline:
    """Owns the audio source and the Hearing model of one stream; ``learn`` lets labels change weights.

    With ``keep_inputs``, ``last_inputs`` holds, after each ``step``, the input map of each utterance heard in
    it (the word net's spike count per map neuron, ``Decision.input_counts``), in the order of the step's
    actions (for an attached memory)."""

    format = "audio"

    def __init__(self, source, hearing: Hearing, learn: bool = True, keep_inputs: bool = False) -> None:
        self.source = source
        self.hearing = hearing
        self.learn = learn
        self.keep_inputs = keep_inputs
        self.last_inputs: list[np.ndarray] = []
        self.counters = AudioCounters()
        self.t_us = 0
        self.last_label: str | None = None
        self._ended = False

    def teach(self, label: str | int) -> bool:
        """A label for the last utterance (from ZMQ): dopamine on its eligibility when learning is on.

        Raises ValueError (one line) for a label the model does not know."""
        index = self.hearing.label_index(label)
        self.counters.labels += 1
        if not self.learn or self.counters.utterances == 0:
            return False
        changed = self.hearing.teach(self.hearing.config.labels[index])  # teach() takes a label, not an index
        self.counters.updates += changed
        return changed

    def step(self) -> list[Action] | None:
        """Read one chunk; the actions of utterances that ended in it; None once the input has ended."""
        if self._ended:
            return None
        chunk = self.source.read()
        if chunk is None:
            self._ended = True
            heard = self.hearing.finish()
        else:
            self.counters.chunks += 1
            self.counters.samples += chunk.n_samples
            self.t_us = chunk.t0_us + chunk.duration_us
            heard = self.hearing.feed(chunk)
        self.last_inputs = [h.decision.input_counts for h in heard] if self.keep_inputs else []
        actions = []
        for h in heard:
            actions.append(heard_action(h, self.counters.actions))
            self.counters.actions += 1
            self.counters.utterances += 1
            self.last_label = h.label
        return actions

    def status(self) -> dict:
        c = self.counters
        return {"format": "audio", "chunks": c.chunks, "audio_s": round(c.samples / self.hearing.sample_rate_hz, 3),
                "utterances": c.utterances, "labels": c.labels, "updates": c.updates, "last_word": self.last_label,
                "in_speech": self.hearing.segmenter.in_speech}

    def close(self) -> None:
        self.source.close()
