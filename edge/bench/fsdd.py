"""``neuroedge bench fsdd``: spoken digits (Free Spoken Digit Dataset) learned with the local three-factor
rule; accuracy on the official test split (or any folder), speed of the front end and of inference.

Training: every training file is streamed through the front end once (its utterance kept), then the
utterances are presented for ``epochs`` passes in a seeded order, each followed by its label as dopamine;
the learning rate falls as 1 / (1 + epoch). Test: each file is streamed from disk through the whole path
(decode, resample, cochlea, encoder, segmenter, network), timed; ``realtime_factor`` is audio seconds per
wall second over the test set.
"""
from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

from edge.hearing import DEFAULT_BACKEND, Hearing, HearingConfig, fsdd_files, hear_file, save_model
from snn.encoding.encode_audio import AudioEncoder, AudioEncoderConfig
from snn.encoding.cochlea import CochleaConfig

TRAIN_INDICES = range(5, 50)
TEST_INDICES = range(0, 5)


def default_recordings() -> Path:
    return Path(os.environ.get("NEUROEDGE_DATA", "../shared/data")) / "audio" / "fsdd" / "recordings"


def train(hearing: Hearing, files: list[tuple[Path, int]], epochs: int, seed: int,
          log: Callable[[str], None]) -> dict:
    """Encode each training file once, then ``epochs`` labelled passes; returns counts and timings."""
    start = time.perf_counter()
    utterances, labels = [], []
    silent = 0
    for k, (path, digit) in enumerate(files):
        result, utterance = hear_file(hearing, path)
        if utterance is None:
            silent += 1
            continue
        utterances.append(utterance)
        labels.append(digit)
        if (k + 1) % 500 == 0:
            log(f"bench fsdd: encoded {k + 1}/{len(files)} training files")
    encode_s = time.perf_counter() - start
    rng = np.random.default_rng(seed)
    updates = 0
    for epoch in range(epochs):
        rate = hearing.config.word_net.learning_rate / (1.0 + epoch)
        for i in rng.permutation(len(utterances)):
            hearing.net.present(utterances[i])
            updates += hearing.teach(labels[i], rate)
    return {"n_train": len(utterances), "train_silent": silent, "encode_s": encode_s,
            "train_wall_s": time.perf_counter() - start, "updates": updates}


def evaluate(hearing: Hearing, files: list[tuple[Path, int]]) -> dict:
    """Classify every file (whole path from disk, timed); accuracy, per-class accuracy, confusion."""
    n_classes = hearing.config.word_net.n_classes
    confusion = np.zeros((n_classes, n_classes), dtype=np.int64)
    audio_s = wall_s = 0.0
    silent = 0
    clipped_files = 0
    for path, digit in files:
        start = time.perf_counter()
        result, _ = hear_file(hearing, path)
        wall_s += time.perf_counter() - start
        audio_s += result.duration_s
        clipped_files += result.clipped_fraction > 0
        if result.heard is None:
            silent += 1
            continue
        confusion[digit, result.heard.decision.label] += 1
    n_test = len(files)
    per_class = {hearing.config.labels[c]: round(float(confusion[c, c] / max(confusion[c].sum(), 1)), 4)
                 for c in range(n_classes)}
    return {"accuracy": round(float(np.trace(confusion) / max(n_test, 1)), 4), "per_class": per_class,
            "confusion": confusion.tolist(), "n_test": n_test, "test_silent": silent,
            "test_clipped_files": int(clipped_files), "test_audio_s": round(audio_s, 3),
            "test_wall_s": round(wall_s, 4), "realtime_factor": round(audio_s / wall_s, 1) if wall_s else None}


def frontend_speed(seconds: float = 20.0, n_channels: int = 32, sample_rate_hz: int = 16000) -> float:
    """Audio seconds per wall second of cochlea + encoder alone (32 channels at 16 kHz by default), on a
    seeded noise signal with a speech-like 4 Hz amplitude modulation."""
    config = AudioEncoderConfig(cochlea=CochleaConfig(n_channels=n_channels, sample_rate_hz=sample_rate_hz))
    encoder = AudioEncoder(config)
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * sample_rate_hz)) / sample_rate_hz
    samples = 0.1 * rng.standard_normal(t.size) * (1.0 + np.sin(2 * np.pi * 4.0 * t))
    encoder.encode(samples[:sample_rate_hz])
    encoder.reset()
    start = time.perf_counter()
    for chunk in np.array_split(samples, int(seconds * 10)):
        encoder.encode(chunk)
    return seconds / (time.perf_counter() - start)


def leave_one_speaker_out(config: HearingConfig, files: list[tuple[Path, int]], epochs: int, seed: int,
                          log: Callable[[str], None], backend_url: str = DEFAULT_BACKEND) -> dict:
    """Train on all speakers but one, test on that one (every index); accuracy per held-out speaker."""
    speakers = sorted({p.name.split("_")[1] for p, _ in files})
    out = {}
    for speaker in speakers:
        hearing = Hearing(config, backend_url)
        train(hearing, [f for f in files if f[0].name.split("_")[1] != speaker], epochs, seed, log)
        out[speaker] = evaluate(hearing, [f for f in files if f[0].name.split("_")[1] == speaker])["accuracy"]
        log(f"bench fsdd: unseen speaker {speaker}: accuracy {out[speaker]:.3f}")
    return out


def fsdd_benchmark(train_dir: str | None = None, test_dir: str | None = None, epochs: int = 30, seed: int = 0,
                   config: HearingConfig | None = None, model_out: str | None = None, loso: bool = False,
                   log: Callable[[str], None] = lambda m: print(m, file=sys.stderr, flush=True),
                   backend_url: str = DEFAULT_BACKEND) -> dict:
    """Train, test and time, the word network on the back end at ``backend_url``; the dict printed by
    ``bench fsdd --json``."""
    config = config or HearingConfig()
    shared = default_recordings()
    train_files = fsdd_files(train_dir) if train_dir else fsdd_files(shared, TRAIN_INDICES)
    test_files = fsdd_files(test_dir) if test_dir else fsdd_files(shared, TEST_INDICES)
    for name, files, folder in (("training", train_files, train_dir or shared),
                                ("test", test_files, test_dir or shared)):
        if not files:
            raise FileNotFoundError(f"{folder}: no {name} files named {{digit}}_{{speaker}}_{{index}}.wav")
    log(f"bench fsdd: {len(train_files)} training files, {len(test_files)} test files, {epochs} epochs")
    hearing = Hearing(config, backend_url)
    trained = train(hearing, train_files, epochs, seed, log)
    log(f"bench fsdd: trained in {trained['train_wall_s']:.1f} s ({trained['updates']} label-gated updates)")
    result = evaluate(hearing, test_files)
    log(f"bench fsdd: accuracy {result['accuracy']:.3f} on {result['n_test']} files, "
        f"inference {result['realtime_factor']}x real time")
    summary = {
        "backend": hearing.net.backend.url,
        "accuracy": result["accuracy"], "per_class": result["per_class"], "confusion": result["confusion"],
        "n_train": trained["n_train"], "n_test": result["n_test"],
        "train_wall_s": round(trained["train_wall_s"], 3), "train_encode_s": round(trained["encode_s"], 3),
        "realtime_factor": result["realtime_factor"],
        "frontend_realtime_factor": round(frontend_speed(), 1),
        "test_silent": result["test_silent"], "train_silent": trained["train_silent"],
        "test_clipped_files": result["test_clipped_files"], "test_audio_s": result["test_audio_s"],
        "epochs": epochs, "seed": seed, "encoder": config.audio.encoder,
        "n_channels": config.audio.cochlea.n_channels, "learning": "label-gated three-factor (no gradients)",
        "train_dir": str(train_dir or shared), "test_dir": str(test_dir or shared),
        "machine": f"{platform.machine()} {os.cpu_count()} cpu, Python {platform.python_version()}",
    }
    if loso:
        summary["unseen_speaker_accuracy"] = leave_one_speaker_out(config, train_files + test_files, epochs,
                                                                   seed, log, backend_url)
    if model_out:
        path = save_model(model_out, hearing, {"accuracy": result["accuracy"], "epochs": epochs, "seed": seed})
        summary["model"] = str(path)
        log(f"bench fsdd: model written to {path}")
    return summary


def plot_confusion(summary: dict, labels: tuple[str, ...], path: str) -> None:
    """The confusion matrix (rows: true digit, columns: decision) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    confusion = np.asarray(summary["confusion"])
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.imshow(confusion, cmap="Blues")
    for (i, j), n in np.ndenumerate(confusion):
        if n:
            ax.text(j, i, str(n), ha="center", va="center", color="white" if n > confusion.max() / 2 else "black",
                    fontsize=8)
    ax.set_xticks(range(len(labels)), labels)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("decision")
    ax.set_ylabel("spoken digit")
    ax.set_title(f"FSDD test: accuracy {summary['accuracy']:.3f} ({summary['n_test']} files)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
