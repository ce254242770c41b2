"""Typed configuration: frozen dataclasses loaded from TOML (tomllib) and validated on load.

Every error names the file and the key (``config.scene.width: ...``); unknown keys are refused.
"""
from __future__ import annotations

import dataclasses
import math
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path

from controllers.decode import PanDecoderConfig
from controllers.tracking import TrackingNetConfig
from edge.bus import BusAddresses
from edge.filters_config import FiltersConfig
from sensors.simulated.scene import SceneConfig
from sensors.source import parse_geometry
from snn.encoding.encode_events import PoolingConfig
from snn.memory.hippocampus import HippocampusConfig


class ConfigError(Exception):
    """A configuration problem, as one line naming the file and key."""


@dataclass(frozen=True)
class BackendConfig:
    """Where the network runs: a back-end URL (see edge.backends), e.g. ``numba``, ``numba?dtype=float64``."""

    url: str = "numba"

    def validate(self) -> None:
        from edge.backends import check_backend_url

        try:
            check_backend_url(self.url)
        except ValueError as e:
            raise ValueError(f"backend.url: {e}") from None


@dataclass(frozen=True)
class RunConfig:
    """Loop settings: seed, tick length (µs), ticks per block, status period (s), pacing.

    Pacing: ``realtime`` paces sensor time to wall time, ``speed`` times faster (1 = real time, 2 = twice as
    fast, 0.5 = half speed). The daemon paces when ``realtime`` is true (the default; a live camera or a
    microphone paces itself). ``replay`` runs as fast as possible unless its config file sets
    ``realtime = true``, then at ``speed``; ``replay --speed X`` / ``--realtime`` override both.
    """

    seed: int = 0
    dt_us: int = 1000
    block_ticks: int = 10
    status_interval_s: float = 2.0
    realtime: bool = True
    speed: float = 1.0

    def validate(self) -> None:
        for key in ("dt_us", "block_ticks", "status_interval_s", "speed"):
            if not getattr(self, key) > 0:
                raise ValueError(f"run.{key}: must be > 0, got {getattr(self, key)}")


SOURCE_KINDS = ("scene", "file", "live", "audio", "microphone")
AUDIO_SOURCE_KINDS = ("audio", "microphone")


@dataclass(frozen=True)
class SourceConfig:
    """Where input comes from. Events: ``scene`` (built-in, closed loop), ``file`` (a recording at ``path``, any
    supported format) or ``live`` (``path`` is tcp://HOST:PORT, camera, camera://NAME or webcam:INDEX);
    ``geometry`` ("WIDTHxHEIGHT") is for recordings whose header does not give it. Audio (see ``[hearing]``):
    ``audio`` (``path`` is an audio file) or ``microphone`` (``path`` is a device index or name, "" the
    default input device)."""

    kind: str = "scene"
    path: str = ""
    geometry: str = ""

    def validate(self) -> None:
        if self.kind not in SOURCE_KINDS:
            raise ValueError(f"source.kind: must be one of {', '.join(map(repr, SOURCE_KINDS))}, got {self.kind!r}")
        if self.kind in ("file", "live", "audio") and not self.path:
            raise ValueError(f"source.path: required when source.kind = {self.kind!r}")
        if self.geometry and self.kind in AUDIO_SOURCE_KINDS:
            raise ValueError(f"source.geometry: applies to event sources, not source.kind = {self.kind!r}")
        if self.geometry:
            parse_geometry(self.geometry)

    @property
    def is_audio(self) -> bool:
        return self.kind in AUDIO_SOURCE_KINDS


@dataclass(frozen=True)
class HearingRunConfig:
    """Audio sources: ``model`` a hearing model checkpoint ("" = a fresh, untrained model with the default
    HearingConfig), ``learn`` whether labels received as reward change the weights, ``chunk_ms`` the audio
    read per loop iteration in milliseconds (also the control latency with a microphone)."""

    model: str = ""
    learn: bool = True
    chunk_ms: float = 32.0

    def validate(self) -> None:
        if not 0 < self.chunk_ms <= 1000:
            raise ValueError(f"hearing.chunk_ms: must be in (0, 1000] ms, got {self.chunk_ms}")


@dataclass(frozen=True)
class TaskConfig:
    """Tracking score: the target is on target inside the central square of half-size window_half_px."""

    window_half_px: float = 10.0

    def validate(self) -> None:
        if not self.window_half_px > 0:
            raise ValueError(f"task.window_half_px: must be > 0, got {self.window_half_px}")


@dataclass(frozen=True)
class LearningConfig:
    """On-line learning switch and the initial weights: ``random`` (seeded) or ``reference`` (hand-wired)."""

    enabled: bool = True
    initial_weights: str = "random"

    def validate(self) -> None:
        if self.initial_weights not in ("random", "reference"):
            raise ValueError(f"learning.initial_weights: must be 'random' or 'reference', got {self.initial_weights!r}")


@dataclass(frozen=True)
class CheckpointConfig:
    """Learned-state checkpoints: file path, period in seconds of wall time (0 = only on stop)."""

    path: str = "checkpoints/neuroedge.ckpt"
    interval_s: float = 60.0

    def validate(self) -> None:
        if self.interval_s < 0:
            raise ValueError(f"checkpoint.interval_s: must be >= 0, got {self.interval_s}")


@dataclass(frozen=True)
class MetricsConfig:
    """Prometheus metrics over HTTP: ``address`` = "HOST:PORT" on loopback (e.g. "127.0.0.1:9108"); "" = off."""

    address: str = ""

    def validate(self) -> None:
        if self.address:
            from edge.metrics import parse_address

            parse_address(self.address)


MEMORY_STORE_MODES = ("novelty", "command")


@dataclass(frozen=True)
class MemoryConfig:
    """The hippocampal memory on the encoded input (see edge.memory_stage): ``enabled``; ``window_ms`` the
    window of event input whose spike counts form one memory input (a whole number of ticks; an audio
    source uses one utterance instead); ``store`` = ``novelty`` (store automatically what is novel) or
    ``command`` (only on the control command ``store``); ``min_activity`` the total spike count below which
    a window is not shown to the memory at all (silence stores no junk); ``max_load`` the patterns per CA3
    cell after which nothing more is stored (a clipped-Hebbian memory past its capacity recalls nothing
    well, so a long-running daemon stops storing and says so: ``memory_full`` in status); ``hippocampus``
    the ``[memory.hippocampus]`` parameters (snn.memory.hippocampus.HippocampusConfig)."""

    enabled: bool = False
    window_ms: float = 50.0
    store: str = "novelty"
    min_activity: int = 20
    max_load: float = 0.4
    hippocampus: HippocampusConfig = field(default_factory=HippocampusConfig)

    def validate(self) -> None:
        if not 0 < self.window_ms < float("inf"):
            raise ValueError(f"memory.window_ms: must be > 0, got {self.window_ms}")
        if self.store not in MEMORY_STORE_MODES:
            raise ValueError(f"memory.store: must be one of {', '.join(map(repr, MEMORY_STORE_MODES))}, "
                             f"got {self.store!r}")
        if self.min_activity < 0:
            raise ValueError(f"memory.min_activity: must be >= 0, got {self.min_activity}")
        if not 0.0 < self.max_load <= 1.0:
            raise ValueError(f"memory.max_load: must be in (0, 1] patterns per CA3 cell, got {self.max_load}")

    def window_ticks(self, dt_us: int) -> int:
        """Ticks per window; ValueError (naming memory.window_ms) unless a whole number >= 1."""
        ticks = self.window_ms * 1000.0 / dt_us
        if round(ticks) < 1 or abs(ticks - round(ticks)) > 1e-6:
            raise ValueError(f"memory.window_ms: must be a whole number >= 1 of ticks (run.dt_us = {dt_us} µs), "
                             f"got {self.window_ms} ms")
        return round(ticks)


@dataclass(frozen=True)
class Config:
    """The whole daemon / replay configuration. ``backend.url`` names the back end; ``network_file``
    (TOML, see snn.spec_dict) replaces the built-in tracking network when set. ``hearing`` applies to audio
    sources only (``source.kind`` = ``audio`` or ``microphone``); ``memory`` to either kind."""

    backend: BackendConfig = field(default_factory=BackendConfig)
    network_file: str = ""
    run: RunConfig = field(default_factory=RunConfig)
    source: SourceConfig = field(default_factory=SourceConfig)
    scene: SceneConfig = field(default_factory=SceneConfig)
    filters: FiltersConfig = field(default_factory=FiltersConfig)
    encoder: PoolingConfig = field(default_factory=PoolingConfig)
    network: TrackingNetConfig = field(default_factory=TrackingNetConfig)
    learning: LearningConfig = field(default_factory=LearningConfig)
    decoder: PanDecoderConfig = field(default_factory=PanDecoderConfig)
    task: TaskConfig = field(default_factory=TaskConfig)
    bus: BusAddresses = field(default_factory=BusAddresses)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    hearing: HearingRunConfig = field(default_factory=HearingRunConfig)
    memory: MemoryConfig = field(default_factory=MemoryConfig)

    def validate(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if hasattr(value, "validate"):
                value.validate()
        if self.memory.enabled and not self.source.is_audio:
            self.memory.window_ticks(self.run.dt_us)


def _build(cls: type, data: dict, where: str):
    """Construct dataclass ``cls`` from a TOML table, checking keys and types; nested tables recurse."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: must be a table, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in data.items():
        if key not in known:
            raise ConfigError(f"{where}.{key}: unknown key (known: {', '.join(sorted(known))})")
        kind = hints[key]
        if dataclasses.is_dataclass(kind):
            kwargs[key] = _build(kind, value, f"{where}.{key}")
        elif kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(float(value)):  # TOML has nan and inf: no config value may be either
                raise ConfigError(f"{where}.{key}: must be a finite number, got {value!r}")
            kwargs[key] = float(value)
        elif kind in (int, str, bool) and type(value) is kind:
            kwargs[key] = value
        else:
            raise ConfigError(f"{where}.{key}: expected {getattr(kind, '__name__', kind)}, got {value!r}")
    try:
        return cls(**kwargs)
    except ValueError as e:  # checked on construction (e.g. HippocampusConfig): "table.key: ..." → "where.key: ..."
        head, _, table = where.rpartition(".")
        message = str(e)
        raise ConfigError(f"{head}.{message}" if head and message.startswith(f"{table}.") else f"{where}: {message}") from None


def config_from_dict(data: dict, where: str = "config") -> Config:
    """Build and validate a Config from parsed TOML; raise ConfigError naming the key."""
    config = _build(Config, data, where)
    try:
        config.validate()
    except ValueError as e:
        raise ConfigError(f"{where}.{e}") from None
    return config


def read_toml(path: Path, what: str) -> dict:
    """A TOML file as a dict; ConfigError (one line, naming the file) when missing, unreadable or invalid."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such {what}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read ({e})") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML ({e})") from None


def load_network_file(path: str | Path, dt_us: int):
    """A user's network from TOML (its ``[network]`` table or the whole file); ConfigError names the key."""
    from snn.spec_dict import spec_from_dict

    path = Path(path)
    data = read_toml(path, "network file")
    data = data.get("network", data)
    if isinstance(data, dict) and "dt_us" in data and data["dt_us"] != dt_us:
        raise ConfigError(f"{path}: network dt_us = {data['dt_us']!r} µs differs from run.dt_us = {dt_us} µs "
                          "(remove it from the network file or make them equal)")
    if isinstance(data, dict):
        data.setdefault("dt_us", dt_us)
    try:
        return spec_from_dict(data)
    except ValueError as e:
        raise ConfigError(f"{path}: {e}") from None


def load_config(path: str | Path | None) -> Config:
    """The built-in default when ``path`` is None, else the TOML file's values over the defaults."""
    if path is None:
        return config_from_dict({})
    path = Path(path)
    return config_from_dict(read_toml(path, "config file"), where=str(path))
