"""Typed configuration: frozen dataclasses loaded from TOML (tomllib) and validated on load.

Every error names the file and the key (``config.scene.width: ...``); unknown keys are refused. Every number
has a documented range (``RANGES``), checked on load after each table's own checks and before anything is
built: a value outside it is one line, ``x.toml.network.n_per_group: 1000000000 outside 1..4096`` (an integer
beyond 64 bits, which TOML does not allow, is refused as the file is read). A few sizes are also bounded together
(``MAX_BLOCK_US``, ``MAX_SYNAPSES``, ``MAX_SCENE_EVENTS_PER_BLOCK``, ``MAX_MEMORY_WIRING``,
``MAX_PERFORANT_SYNAPSES``), so no configuration that loads fails later for want of memory.
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
from edge.logs import LOG_FORMATS, LOG_LEVELS
from sensors.simulated.scene import SceneConfig
from sensors.source import parse_geometry
from snn.encoding.encode_events import PoolingConfig
from snn.memory.hippocampus import HippocampusConfig


class ConfigError(Exception):
    """A configuration problem, as one line naming the file and key."""


SEED_MAX = 2**32 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
RANGES: dict[str, tuple[int, int] | tuple[float, float]] = {
    "run.seed": (0, SEED_MAX),
    "run.dt_us": (1, 1_000_000),                  # 1 µs .. 1 s ticks
    "run.block_ticks": (1, 100_000),              # and block_ticks * dt_us <= MAX_BLOCK_US
    "run.status_interval_s": (0.01, 86_400.0),    # up to a day
    "run.speed": (0.001, 1000.0),
    "scene.width": (1, 2048),
    "scene.height": (1, 2048),
    "scene.world_size_px": (2, 8192),
    "scene.texture_cell_px": (1, 8192),
    "scene.texture_log_contrast": (0.0, 10.0),
    "scene.background_log": (-20.0, 20.0),
    "scene.target_radius_px": (0.0, 4096.0),
    "scene.target_log_contrast": (-10.0, 10.0),
    "scene.target_speed_min_px_s": (0.0, 100_000.0),
    "scene.target_speed_max_px_s": (0.0, 100_000.0),
    "scene.velocity_change_hz": (0.0, 10_000.0),
    "scene.threshold_on": (0.0, 10.0),
    "scene.threshold_off": (0.0, 10.0),
    "scene.max_events_per_px": (1, 1000),
    "scene.noise_hz_per_px": (0.0, 100_000.0),
    "scene.lost_reset_ms": (0.0, 3_600_000.0),    # up to an hour
    "scene.reset_offset_px": (0.0, 8192.0),
    "filters.polarity": (-1, 1),
    "filters.refractory_us": (0, 60_000_000),     # up to a minute
    "filters.background_activity_us": (0, 60_000_000),
    "filters.downsample": (1, 1024),
    "encoder.grid_w": (1, 1024),
    "encoder.grid_h": (1, 1024),
    "encoder.min_count": (1, 1_000_000),
    "network.n_per_group": (1, 4096),             # and the synapses <= MAX_SYNAPSES
    "network.motor.tau_mem_ms": (0.0, 1_000_000.0),
    "network.motor.tau_exc_ms": (0.0, 1_000_000.0),
    "network.motor.tau_inh_ms": (0.0, 1_000_000.0),
    "network.motor.v_rest_mv": (-1000.0, 1000.0),
    "network.motor.v_reset_mv": (-1000.0, 1000.0),
    "network.motor.v_th_mv": (-1000.0, 1000.0),
    "network.motor.refractory_ms": (0.0, 10_000.0),
    "network.motor.noise_mv": (0.0, 1000.0),
    "network.w_init_max_mv": (0.0, 1000.0),
    "network.inhibition_mv": (-1000.0, 0.0),
    "network.reference_w_mv": (-1000.0, 1000.0),
    "network.rule.tau_pre_ms": (0.0, 1_000_000.0),
    "network.rule.tau_post_ms": (0.0, 1_000_000.0),
    "network.rule.tau_eligibility_ms": (0.0, 1_000_000.0),
    "network.rule.tau_baseline_ms": (0.0, 1_000_000.0),
    "network.rule.a_plus": (0.0, 1000.0),
    "network.rule.a_minus": (0.0, 1000.0),
    "network.rule.learning_rate": (0.0, 1000.0),
    "network.rule.w_min_mv": (-1000.0, 1000.0),
    "network.rule.w_max_mv": (-1000.0, 1000.0),
    "decoder.gain_px_s_per_hz": (0.0, 100_000.0),
    "decoder.v_max_px_s": (0.0, 100_000.0),
    "decoder.tau_smooth_ms": (0.0, 1_000_000.0),
    "task.window_half_px": (0.0, 8192.0),
    "checkpoint.interval_s": (0.0, 604_800.0),    # 0 = only on stop; up to a week
    "hearing.chunk_ms": (0.0, 1000.0),
    "memory.window_ms": (0.0, 60_000.0),          # up to a minute
    "memory.min_activity": (0, 1_000_000_000),
    "memory.max_load": (0.0, 1.0),
    "memory.max_stores_per_s": (0, 1000),
    "memory.hippocampus.n_dg": (1, 1_000_000),    # and n_dg * dg_fan_in <= MAX_MEMORY_WIRING
    "memory.hippocampus.dg_fan_in": (1, 100_000),
    "memory.hippocampus.dg_sparsity": (0.0, 1.0),
    "memory.hippocampus.n_ca3": (1, 20_000),      # CA3's recurrent synapses: n_ca3² bytes, 400 MB at most
    "memory.hippocampus.mossy_fan_in": (1, 1_000_000),  # and n_ca3 * mossy_fan_in <= MAX_MEMORY_WIRING
    "memory.hippocampus.ca3_sparsity": (0.0, 1.0),
    "memory.hippocampus.cue_gain": (0.0, 1000.0),
    "memory.hippocampus.max_steps": (1, 10_000),
    "memory.hippocampus.ec_sparsity": (0.0, 1.0),
    "memory.hippocampus.n_labels": (1, 100_000),
    "memory.hippocampus.novelty_threshold": (0.0, 1.0),
    "memory.hippocampus.seed": (0, SEED_MAX),
}
"""Inclusive range of every numeric key, by its dotted name. Generous (far beyond a robot's needs, within
what this machine can allocate); the tables' own checks (``> 0`` and the like) still apply inside them."""

MAX_BLOCK_US = 10_000_000
"""run.block_ticks * run.dt_us: a block is at most 10 s of sensor time (the daemon answers between blocks)."""
MAX_SYNAPSES = 1 << 24
"""The built-in tracking network's plastic synapses, 2·grid_w·grid_h inputs × 4·n_per_group motor neurons."""
MAX_SCENE_EVENTS_PER_BLOCK = 1 << 25
"""The simulated scene's event buffer per block, run.block_ticks × width × height × max_events_per_px
(16 bytes each: 512 MiB), and its expected noise events per block."""
MAX_MEMORY_WIRING = 1 << 25
"""The hippocampus' fan-in tables, n_dg × dg_fan_in and n_ca3 × mossy_fan_in (8 bytes each: 256 MiB each)."""
MAX_PERFORANT_SYNAPSES = 1 << 28
"""The hippocampus' perforant path, input neurons × n_ca3 (1 byte each: 256 MiB)."""


def _number(x: int | float) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def _shown(value: object, limit: int = 60) -> str:
    """``repr(value)`` on one line, cut to ``limit`` characters (a value from a file may be huge)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _key(key: str) -> str:
    """A TOML key as written in an error: bare when it is a plain word, else quoted (keys may hold newlines)."""
    return key if key.replace("_", "").replace("-", "").isalnum() and key.isascii() else repr(key)


def check_range(key: str, value: int | float) -> None:
    """ValueError ``key: <value> outside lo..hi`` when ``key`` (dotted) has a range that ``value`` is outside."""
    bounds = RANGES.get(key)
    if bounds is not None and not bounds[0] <= value <= bounds[1]:
        raise ValueError(f"{key}: {_shown(value)} outside {_number(bounds[0])}..{_number(bounds[1])}")


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
    cell after which nothing more is stored (a memory past its capacity recalls nothing well, so a
    long-running daemon stops storing and says so: ``memory_full`` in status; the default 0.45 is the
    end-to-end limit ``bench memory`` measures, 0.55, less a margin of 0.1); ``max_stores_per_s``
    the ``store`` commands obeyed in any one second (the rest are refused and counted; 0 refuses them all);
    ``hippocampus`` the ``[memory.hippocampus]`` parameters (snn.memory.hippocampus.HippocampusConfig)."""

    enabled: bool = False
    window_ms: float = 50.0
    store: str = "novelty"
    min_activity: int = 20
    max_load: float = 0.45
    max_stores_per_s: int = 5
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
class LogConfig:
    """The daemon's log lines (see edge.logs): ``format`` ``text`` or ``json`` (one JSON object per line), and
    ``level`` ``debug`` | ``info`` | ``warning`` | ``error`` (above ``info`` the status lines are not written).
    ``run --log-format`` / ``--log-level`` override them; both reload on SIGHUP."""

    format: str = "text"
    level: str = "info"

    def validate(self) -> None:
        if self.format not in LOG_FORMATS:
            raise ValueError(f"log.format: must be one of {', '.join(map(repr, LOG_FORMATS))}, got {self.format!r}")
        if self.level not in LOG_LEVELS:
            raise ValueError(f"log.level: must be one of {', '.join(map(repr, LOG_LEVELS))}, got {self.level!r}")


@dataclass(frozen=True)
class Config:
    """The whole daemon / replay configuration. ``backend.url`` names the back end; ``network_file``
    (TOML, see snn.spec_dict) replaces the built-in tracking network when set. ``hearing`` applies to audio
    sources only (``source.kind`` = ``audio`` or ``microphone``); ``memory`` to either kind; ``log`` is the
    daemon's log format and level."""

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
    log: LogConfig = field(default_factory=LogConfig)

    def validate(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if hasattr(value, "validate"):
                value.validate()
        for key, value in flatten(self).items():
            if type(value) in (int, float):
                check_range(key, value)
        if self.memory.enabled and not self.source.is_audio:
            self.memory.window_ticks(self.run.dt_us)
        self.check_sizes()

    def check_sizes(self) -> None:
        """ValueError (naming a key and both numbers) when sizes within their ranges are too big together."""
        run, scene, grid, memory = self.run, self.scene, self.encoder, self.memory.hippocampus
        if run.block_ticks * run.dt_us > MAX_BLOCK_US:
            raise ValueError(f"run.block_ticks: {run.block_ticks} ticks of run.dt_us = {run.dt_us} µs make "
                             f"{run.block_ticks * run.dt_us} µs blocks, more than {MAX_BLOCK_US}")
        n_inputs = 2 * grid.grid_w * grid.grid_h
        if not self.source.is_audio and not self.network_file:
            synapses = n_inputs * 4 * self.network.n_per_group
            if synapses > MAX_SYNAPSES:
                raise ValueError(f"network.n_per_group: {self.network.n_per_group} per group with a {grid.grid_w}x"
                                 f"{grid.grid_h} encoder grid makes {synapses} synapses, more than {MAX_SYNAPSES}")
        if self.source.kind == "scene":
            events = run.block_ticks * scene.width * scene.height * scene.max_events_per_px
            noise = scene.noise_hz_per_px * scene.width * scene.height * run.block_ticks * run.dt_us * 1e-6
            if max(events, noise) > MAX_SCENE_EVENTS_PER_BLOCK:
                key, count = ("max_events_per_px", events) if events >= noise else ("noise_hz_per_px", noise)
                raise ValueError(f"scene.{key}: {scene.width}x{scene.height} pixels over {run.block_ticks} ticks "
                                 f"allow {count:.0f} events a block, more than {MAX_SCENE_EVENTS_PER_BLOCK}")
        if self.memory.enabled:
            for key, fan, count in (("dg_fan_in", memory.dg_fan_in, memory.n_dg),
                                    ("mossy_fan_in", memory.mossy_fan_in, memory.n_ca3)):
                if fan * count > MAX_MEMORY_WIRING:
                    raise ValueError(f"memory.hippocampus.{key}: {fan} × {count} cells = {fan * count} "
                                     f"connections, more than {MAX_MEMORY_WIRING}")
            if not self.source.is_audio and n_inputs * memory.n_ca3 > MAX_PERFORANT_SYNAPSES:
                raise ValueError(f"memory.hippocampus.n_ca3: {memory.n_ca3} cells × {n_inputs} input neurons = "
                                 f"{n_inputs * memory.n_ca3} perforant synapses, more than {MAX_PERFORANT_SYNAPSES}")


def flatten(config: object, prefix: str = "") -> dict[str, object]:
    """Every leaf of a config dataclass by its dotted key (``{"run.seed": 0, ...}``)."""
    out: dict[str, object] = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value):
            out.update(flatten(value, f"{prefix}{f.name}."))
        else:
            out[f"{prefix}{f.name}"] = value
    return out


def config_changes(old: Config, new: Config) -> list[str]:
    """The dotted keys whose values differ between two configs, in declaration order."""
    before, after = flatten(old), flatten(new)
    return [key for key in before if before[key] != after[key]]


def _build(cls: type, data: dict, where: str):
    """Construct dataclass ``cls`` from a TOML table, checking keys and types; nested tables recurse."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: must be a table, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in data.items():
        if key not in known:
            raise ConfigError(f"{where}.{_key(key)}: unknown key (known: {', '.join(sorted(known))})")
        kind = hints[key]
        if dataclasses.is_dataclass(kind):
            kwargs[key] = _build(kind, value, f"{where}.{key}")
        elif type(value) is int and not INT64_MIN <= value <= INT64_MAX and kind in (int, float):
            raise ConfigError(f"{where}.{key}: {_shown(value)} is beyond a 64-bit integer (TOML's limit)")
        elif kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(float(value)):  # TOML has nan and inf: no config value may be either
                raise ConfigError(f"{where}.{key}: must be a finite number, got {value!r}")
            kwargs[key] = float(value)
        elif kind in (int, str, bool) and type(value) is kind:
            kwargs[key] = value
        else:
            raise ConfigError(f"{where}.{key}: expected {getattr(kind, '__name__', kind)}, got {_shown(value)}")
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
