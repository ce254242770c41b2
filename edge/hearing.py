"""Hearing: audio → cochlea → spikes → utterances → word network → ``word`` actions; models as checkpoints.

``Hearing`` strings the pure parts of snn/ together for one audio stream: ``feed(chunk)`` returns what was
heard in it (one ``Heard`` per utterance that ended), ``finish()`` closes the stream, ``teach(label)``
delivers a label as dopamine on the last utterance's eligibility. A trained model is a checkpoint (kind
``hearing``) whose meta holds the configuration, so ``load_model`` rebuilds the same front end.

Audio handling (documented behaviour, not errors): files at any sample rate are resampled to the front
end's rate; stereo is mixed to mono; a file in which no utterance is found (silence, or only clicks
shorter than ``segmenter.min_ms``) yields no decision and is reported as ``silent``; clipped samples are
counted (``clipped_fraction``) and processed as they are.
"""
from __future__ import annotations

import dataclasses
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from controllers.action import Action
from edge.backends import open_backend
from edge.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from edge.memory_stage import MemoryStage, split_memory, with_memory
from sensors.audio.sources import AudioFileSource, audio_stats
from sensors.audio.types import AudioChunk, check_chunk
from snn.encoding.cochlea import CochleaConfig
from snn.encoding.encode_audio import AudioEncoder, AudioEncoderConfig
from snn.hearing.utterance import SegmenterConfig, Utterance, UtteranceSegmenter
from snn.hearing.word_net import Decision, WordNet, WordNetConfig

MODEL_KIND = "hearing"
FSDD_NAME = re.compile(r"^(\d)_([A-Za-z]+)_(\d+)\.wav$")
"""``{digit}_{speaker}_{index}.wav``, the Free Spoken Digit Dataset's file names."""


@dataclass(frozen=True)
class HearingConfig:
    """Front end, segmentation and network of one hearing model; ``labels`` name the readout neurons."""

    audio: AudioEncoderConfig = field(default_factory=AudioEncoderConfig)
    segmenter: SegmenterConfig = field(default_factory=SegmenterConfig)
    word_net: WordNetConfig = field(default_factory=WordNetConfig)
    labels: tuple[str, ...] = tuple(str(d) for d in range(10))

    def __post_init__(self) -> None:
        if len(self.labels) != self.word_net.n_classes:
            raise ValueError(f"hearing.labels: {len(self.labels)} labels for {self.word_net.n_classes} classes")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @staticmethod
    def from_dict(table: dict) -> "HearingConfig":
        """Inverse of ``to_dict`` (also a TOML ``[hearing]`` table); unknown keys raise ValueError."""
        known = {"audio", "segmenter", "word_net", "labels"}
        unknown = sorted(set(table) - known)
        if unknown:
            raise ValueError(f"hearing.{unknown[0]}: unknown key; known: {', '.join(sorted(known))}")

        def build(cls, where: str, values: dict):
            names = {f.name for f in dataclasses.fields(cls)}
            bad = sorted(set(values) - names)
            if bad:
                raise ValueError(f"{where}.{bad[0]}: unknown key; known: {', '.join(sorted(names))}")
            return cls(**values)

        audio = dict(table.get("audio", {}))
        cochlea = build(CochleaConfig, "hearing.audio.cochlea", audio.pop("cochlea", {}))
        defaults = HearingConfig()
        word_net = build(WordNetConfig, "hearing.word_net", table.get("word_net", {}))
        return HearingConfig(
            audio=build(AudioEncoderConfig, "hearing.audio", {**audio, "cochlea": cochlea}),
            segmenter=build(SegmenterConfig, "hearing.segmenter", table.get("segmenter", {})),
            word_net=word_net,
            labels=tuple(str(x) for x in table.get("labels", defaults.labels[:word_net.n_classes])))


@dataclass(frozen=True)
class Heard:
    """One recognised utterance: onset and end in sensor time (µs) and the network's decision."""

    t_start_us: int
    t_end_us: int
    decision: Decision
    label: str


DEFAULT_BACKEND = "numba"
"""Where the word network runs unless told otherwise (a back-end URL, see edge.backends)."""


class Hearing:
    """One audio stream through the front end, the segmenter and the word network (on the back end at
    ``backend_url``)."""

    def __init__(self, config: HearingConfig, backend_url: str = DEFAULT_BACKEND) -> None:
        self.config = config
        self.encoder = AudioEncoder(config.audio)
        self.segmenter = UtteranceSegmenter(config.segmenter, self.encoder.dt_us)
        self.backend_url = backend_url
        self.net = WordNet(config.word_net, self.encoder.n_neurons, open_backend(backend_url))
        self._t0_us: int | None = None

    @property
    def sample_rate_hz(self) -> int:
        return self.encoder.sample_rate_hz

    def reset_stream(self) -> None:
        """A new, independent stream (a new file): front end and segmenter back to silence; weights kept."""
        self.encoder.reset()
        self.segmenter.reset()
        self._t0_us = None

    def utterances_in(self, chunk: AudioChunk) -> list[Utterance]:
        """Feed one chunk (at ``sample_rate_hz``, mono) and return the utterances that ended in it."""
        check_chunk(chunk)
        if chunk.sample_rate != self.sample_rate_hz:
            raise ValueError(f"hearing: chunk at {chunk.sample_rate} Hz, front end expects {self.sample_rate_hz} Hz")
        if self._t0_us is None:
            self._t0_us = int(chunk.t0_us)
        envelopes, spikes = self.encoder.encode(chunk.samples[:, 0])
        return self.segmenter.push(envelopes, spikes)

    def end_of_stream(self) -> list[Utterance]:
        """The utterance still open at the end of the stream, if any."""
        return self.segmenter.flush()

    def decide(self, utterance: Utterance) -> Heard:
        """Present one utterance to the network (its eligibility is kept for ``teach``)."""
        decision = self.net.present(utterance)
        t0 = self._t0_us or 0
        dt = self.encoder.dt_us
        return Heard(t0 + utterance.start_tick * dt, t0 + (utterance.start_tick + utterance.n_ticks) * dt,
                     decision, self.config.labels[decision.label])

    def feed(self, chunk: AudioChunk) -> list[Heard]:
        return [self.decide(u) for u in self.utterances_in(chunk)]

    def finish(self) -> list[Heard]:
        return [self.decide(u) for u in self.end_of_stream()]

    def label_index(self, label: str | int) -> int:
        """The readout neuron of ``label`` (a label name, or its index); ValueError when unknown."""
        text = str(label)
        if text in self.config.labels:
            return self.config.labels.index(text)
        raise ValueError(f"unknown label {label!r}; known: {', '.join(self.config.labels)}")

    def teach(self, label: str | int, learning_rate: float | None = None) -> bool:
        """Label of the last utterance → dopamine on its eligibility; True when the weights changed."""
        return self.net.reinforce(self.label_index(label), learning_rate)


def heard_action(heard: Heard, seq: int) -> Action:
    """``word`` action: values (label index, confidence, t_start_us / 1e6); ``t_us`` the utterance's end."""
    return Action("word", (float(heard.decision.label), round(heard.decision.confidence, 6),
                           heard.t_start_us * 1e-6), heard.t_end_us, seq)


def save_model(path: str | Path, hearing: Hearing, meta: dict | None = None,
               memory: MemoryStage | None = None) -> Path:
    """Write the model (weights + config) as a checkpoint, atomically. With ``memory``, its contents go beside
    the weights under ``memory.`` (``edge.memory_stage.with_memory``) and its wiring in the meta's ``memory``;
    ``load_model`` ignores them."""
    doc = {"kind": MODEL_KIND, "config": hearing.config.to_dict(), "saved_at": time.time(), **(meta or {})}
    if memory is not None:
        doc["memory"] = memory.meta()
    return save_checkpoint(Path(path), with_memory(hearing.net.state(), memory), doc)


def load_model(path: str | Path, backend_url: str = DEFAULT_BACKEND) -> Hearing:
    """A Hearing rebuilt from a model checkpoint; CheckpointError (one line) when it is not one.

    The checkpoint's arrays are the word net's ``state()`` exactly, plus, from a daemon with a memory, the
    memory's arrays under ``memory.``; those are set aside (the daemon restores them itself), anything else
    that does not fit the word net is refused."""
    arrays, meta = load_checkpoint(Path(path))
    if meta.get("kind") != MODEL_KIND:
        raise CheckpointError(f"{path}: holds a {meta.get('kind')!r} checkpoint, not a hearing model")
    weights, _memory = split_memory(arrays)
    try:
        hearing = Hearing(HearingConfig.from_dict(meta["config"]), backend_url)
        hearing.net.restore(weights)
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: not a usable hearing model ({e})") from None
    return hearing


@dataclass
class FileResult:
    """What one file gave: the longest utterance's decision (None when silent) and audio facts."""

    path: Path
    heard: Heard | None
    n_utterances: int
    duration_s: float
    clipped_fraction: float
    silent: bool


def hear_file(hearing: Hearing, path: str | Path, chunk_samples: int = 4096) -> tuple[FileResult, Utterance | None]:
    """Stream one file through ``hearing`` (from a fresh stream state) and decide on its longest utterance.

    Used for isolated-word files (one word per file). Returns the result and that utterance (or None)."""
    hearing.reset_stream()
    utterances: list[Utterance] = []
    clipped = 0.0
    n_samples = 0
    silent = True
    with AudioFileSource(path, sample_rate_hz=hearing.sample_rate_hz, chunk_samples=chunk_samples) as source:
        while (chunk := source.read()) is not None:
            stats = audio_stats(chunk.samples)
            clipped += stats["clipped_fraction"] * chunk.n_samples
            silent = silent and bool(stats["silent"])
            n_samples += chunk.n_samples
            utterances.extend(hearing.utterances_in(chunk))
        utterances.extend(hearing.end_of_stream())
    longest = max(utterances, key=lambda u: u.n_ticks) if utterances else None
    heard = hearing.decide(longest) if longest is not None else None
    duration_s = n_samples / hearing.sample_rate_hz
    return FileResult(Path(path), heard, len(utterances), duration_s, clipped / max(n_samples, 1),
                      silent or longest is None), longest


def fsdd_files(folder: str | Path, indices: range | None = None) -> list[tuple[Path, int]]:
    """FSDD-named WAV files in ``folder`` (sorted), with their digit; ``indices`` filters the recording index."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder")
    out = []
    for path in sorted(folder.iterdir()):
        m = FSDD_NAME.match(path.name)
        if m and (indices is None or int(m.group(3)) in indices):
            out.append((path, int(m.group(1))))
    return out

