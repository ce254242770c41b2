"""Replay a recording through the pipeline, open loop, and summarise it (deterministic for a seed).

With ``[memory] enabled`` the hippocampal memory watches the encoded input as in the daemon, and its
``recall`` and ``novelty`` actions are part of the output (and of the hash).

``actions_sha256`` hashes every action's canonical JSON (seq, t_us, name, values), one per line.

A recording is read through ``TimeCheckedSource`` (sensors/formats/time_guard.py): impossible time is
re-based, so a corrupt file replays for about as long as its intact parts; the count is ``time_anomalies``
in the summary, with one warning line on stderr, and ``strict`` refuses the file at its first anomaly.
"""
from __future__ import annotations

import hashlib
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

from edge.clock import ReplayClock
from edge.config import Config, RunConfig, read_toml
from edge.memory_stage import MemoryStage
from edge.pipeline import RecordingSource, build_pipeline
from sensors.formats.time_guard import TimeCheckedSource
from sensors.types import Geometry


def action_line(action) -> bytes:
    """Canonical JSON of an action without wall-clock fields: what determinism is judged on."""
    return json.dumps(action.to_dict(), separators=(",", ":"), sort_keys=True).encode() + b"\n"


def replay_speed(speed: float | None, realtime: bool, config_path: str | Path | None, run: RunConfig) -> float | None:
    """The pace of ``replay``, in sensor seconds per wall second (None: as fast as possible).

    ``--speed X`` gives X and ``--realtime`` 1; without either, ``run.speed`` when the config file at
    ``config_path`` sets ``run.realtime = true``, else as fast as possible. (``run.realtime`` defaults to true
    for the daemon; a replay is paced only when its config file asks.) ``run`` is that file's validated
    ``RunConfig``."""
    if speed is not None:
        return speed
    if realtime:
        return 1.0
    if config_path is None:
        return None
    table = read_toml(Path(config_path), "config file").get("run", {})
    return run.speed if isinstance(table, dict) and table.get("realtime") is True else None


def _check_times(block_source, strict: bool) -> TimeCheckedSource | None:
    """A recording's TimeCheckedSource, made strict when asked (before the first read); None for a live
    source, whose late events the LiveSource itself drops."""
    if not isinstance(block_source, RecordingSource):
        return None
    block_source.source.strict = strict
    return block_source.source


def energy_fields(report: dict, ticks: int) -> dict:
    """A back end's energy and core figures for ``--json`` (the emulator's; empty for one without an energy
    model): ``energy_j``, ``energy_per_tick_nj``, ``synops``, ``est_tick_latency_us``, ``cores``."""
    if "energy_j" not in report:
        return {}
    return {"energy_j": report["energy_j"], "energy_per_tick_nj": round(report["energy_j"] / max(ticks, 1) * 1e9, 4),
            "synops": report["synops"], "est_tick_latency_us": report["est_tick_latency_us"],
            "cores": report["cores"]}


def replay(path: str, config: Config, seed: int, speed: float | None, out_dir: Path | None = None,
           progress_s: float = 5.0, geometry: Geometry | None = None, strict: bool = False) -> dict:
    """Run the recording at ``path`` through the pipeline; return the summary dict of ``replay --json``.

    ``strict``: refuse a recording with a time anomaly (SourceError) instead of re-basing its times.
    """
    pipeline = build_pipeline(config, seed=seed, recording=path, geometry=geometry)
    checked = _check_times(pipeline.source, strict)
    memory = (MemoryStage(config.memory, pipeline.encoder.n_inputs, config.run.dt_us)
              if config.memory.enabled else None)
    clock = ReplayClock(speed)
    seq = 0
    digest = hashlib.sha256()
    actions_file = None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        actions_file = open(out_dir / "actions.jsonl", "wb")
    start = next_progress = time.monotonic()
    try:
        while (action := pipeline.step()) is not None:
            clock.wait_until(action.t_us)
            out = [action] if memory is None else [*memory.push(pipeline.last_inputs, pipeline.last_t0_us), action]
            for each in out:
                line = action_line(replace(each, seq=seq))
                seq += 1
                digest.update(line)
                if actions_file is not None:
                    actions_file.write(line)
            if time.monotonic() >= next_progress + progress_s:
                next_progress = time.monotonic()
                print(f"replay: {pipeline.counters.events} events, {action.t_us / 1e6:.1f} s of sensor time", file=sys.stderr)
    finally:
        if actions_file is not None:
            actions_file.close()
    wall_s = time.monotonic() - start
    blocks = pipeline.source.blocks
    duration_us = 0 if blocks.t_first_us is None else blocks.t_last_us - blocks.t_first_us
    summary = {
        "input": str(path), "format": pipeline.source.format, "width": pipeline.source.geometry.width,
        "height": pipeline.source.geometry.height, "events": pipeline.source.events_read,
        "duration_us": duration_us, "wall_s": round(wall_s, 4),
        "realtime_factor": round(duration_us * 1e-6 / wall_s, 2) if wall_s > 0 else None,
        "ticks": pipeline.counters.ticks, "actions": seq,
        "actions_sha256": digest.hexdigest(), "backend": pipeline.backend.url, "seed": seed,
        "overruns": clock.overruns,
    }
    summary.update(energy_fields(pipeline.backend.report(), pipeline.counters.ticks))
    if checked is not None:
        summary["time_anomalies"] = checked.time_anomalies
        if checked.warning() is not None:
            print(checked.warning(), file=sys.stderr)
    if memory is not None:
        summary["memory"] = memory.status()
    if out_dir is not None:
        (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def replay_audio(path: str, model: str | None, speed: float | None, out_dir: Path | None = None,
                 chunk_samples: int = 4096, backend_url: str = "numba") -> dict:
    """Stream an audio file through a hearing model (``model`` checkpoint, or an untrained one) and
    summarise it like ``replay``: one ``word`` action per utterance, hashed for determinism."""
    from edge.audio_pipeline import AudioPipeline
    from edge.hearing import Hearing, HearingConfig, load_model
    from sensors.audio.sources import AudioFileSource

    hearing = load_model(model, backend_url) if model else Hearing(HearingConfig(), backend_url)
    source = AudioFileSource(path, sample_rate_hz=hearing.sample_rate_hz, chunk_samples=chunk_samples)
    pipeline = AudioPipeline(source, hearing, learn=False)
    clock = ReplayClock(speed)
    digest = hashlib.sha256()
    words = []
    start = time.monotonic()
    try:
        while (actions := pipeline.step()) is not None:
            clock.wait_until(pipeline.t_us)
            for action in actions:
                digest.update(action_line(action))
                words.append({"t_us": action.t_us, "word": hearing.config.labels[int(action.values[0])],
                              "confidence": action.values[1]})
    finally:
        pipeline.close()
    wall_s = time.monotonic() - start
    audio_s = pipeline.counters.samples / hearing.sample_rate_hz
    summary = {
        "input": str(path), "format": "audio", "file_sample_rate": source.file_sample_rate,
        "sample_rate": hearing.sample_rate_hz, "duration_us": round(audio_s * 1e6), "wall_s": round(wall_s, 4),
        "realtime_factor": round(audio_s / wall_s, 2) if wall_s > 0 else None,
        "utterances": pipeline.counters.utterances, "actions": pipeline.counters.actions, "words": words,
        "actions_sha256": digest.hexdigest(), "model": model, "backend": hearing.net.backend.url,
        "overruns": clock.overruns,
    }
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
