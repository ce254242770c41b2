"""Event filters (background activity, refractory, region, polarity, hot pixels, downsample) and a chain.

Frozen configs; each filter owns its per-pixel state and calls one kernel from filter_kernels.py per batch.

Every filter has ``apply(batch) -> EventBatch``, ``reset()``, ``geometry`` (input sensor, passed in; None
for PolarityFilter) and ``output_geometry``. State carries across batches, so any split of a stream gives
the same output. **The returned batch views an array the filter reuses: it is valid until the filter's
next ``apply()``** (copy it to keep it); that array grows only for a batch larger than any before. Each
batch is checked once, raising ValueError naming the filter and field: dtype and geometry always; x, y on
the sensor where per-pixel arrays are indexed; t non-decreasing within and across batches where time
state is kept (dv-processing's ``accept()`` rule). A rejected batch leaves the state unchanged.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np

from sensors.filtering import filter_kernels as K
from sensors.types import EVENT_DTYPE, EventBatch, Geometry


def _check_int(owner: str, key: str, value: object, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{owner}.{key}: must be an integer, got {value!r}")
    if value < low:
        raise ValueError(f"{owner}.{key}: must be >= {low}, got {value}")


@dataclass(frozen=True)
class BackgroundActivityConfig:
    """Background-activity (uncorrelated noise) filter parameters.

    Parameters
    ----------
    time_window_us : an event is kept when a neighbour pixel had an event less than this many µs before
        it (dv-processing's ``backgroundActivityDuration``, default 2000 µs).
    half_size : neighbourhood half width in pixels; 1 is the 8-neighbourhood dv-processing uses.
    """

    time_window_us: int = 2000
    half_size: int = 1

    def __post_init__(self) -> None:
        _check_int("BackgroundActivityFilter", "time_window_us", self.time_window_us, 1)
        _check_int("BackgroundActivityFilter", "half_size", self.half_size, 1)


@dataclass(frozen=True)
class RefractoryConfig:
    """Refractory-period filter parameters.

    Parameters
    ----------
    period_us : an event is dropped when its pixel had any event (kept or not) less than this many µs
        before it (dv-processing's ``refractoryPeriod``, default 250 µs); 0 keeps every event at t >= 0.
    """

    period_us: int = 250

    def __post_init__(self) -> None:
        _check_int("RefractoryFilter", "period_us", self.period_us, 0)


@dataclass(frozen=True)
class RegionConfig:
    """Region of interest in pixels: events with ``x <= ex < x + width`` and ``y <= ey < y + height`` pass.

    Coordinates are not shifted (as dv-processing's EventRegionFilter); the region must fit the sensor.
    """

    x: int
    y: int
    width: int
    height: int

    def __post_init__(self) -> None:
        for key, low in (("x", 0), ("y", 0), ("width", 1), ("height", 1)):
            _check_int("RegionFilter", key, getattr(self, key), low)


@dataclass(frozen=True)
class PolarityConfig:
    """Polarity to keep: 1 (ON) or 0 (OFF); ``True``/``False`` as in dv-processing are accepted."""

    polarity: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.polarity, (bool, np.bool_, int, np.integer)) or self.polarity not in (0, 1):
            raise ValueError(f"PolarityFilter.polarity: must be 0 or 1, got {self.polarity!r}")


@dataclass(frozen=True)
class HotPixelConfig:
    """Pixels whose events are always dropped, as ``((x, y), ...)`` in pixels (a list is accepted)."""

    pixels: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        try:
            pixels = tuple((xy[0], xy[1]) for xy in self.pixels if len(xy) == 2)
        except TypeError:
            raise ValueError(f"HotPixelFilter.pixels: must be a sequence of (x, y), got {self.pixels!r}") from None
        if len(pixels) != len(self.pixels):
            raise ValueError(f"HotPixelFilter.pixels: every entry must be an (x, y) pair, got {self.pixels!r}")
        for x, y in pixels:
            _check_int("HotPixelFilter", "pixels", x, 0)
            _check_int("HotPixelFilter", "pixels", y, 0)
        object.__setattr__(self, "pixels", tuple((int(x), int(y)) for x, y in pixels))


@dataclass(frozen=True)
class DownsampleConfig:
    """Spatial downsampling: an event at (x, y) becomes (x // factor_x, y // factor_y).

    Parameters
    ----------
    factor_x, factor_y : integer reduction factors (>= 1).
    refractory_us : if > 0, merge near-duplicates: an output event is dropped when its output pixel had an
        event (kept or not) less than this many µs before it, exactly RefractoryFilter(output_geometry,
        RefractoryConfig(refractory_us)) after the downsample. 0 (default) keeps every event.
    """

    factor_x: int = 2
    factor_y: int = 2
    refractory_us: int = 0

    def __post_init__(self) -> None:
        _check_int("DownsampleFilter", "factor_x", self.factor_x, 1)
        _check_int("DownsampleFilter", "factor_y", self.factor_y, 1)
        _check_int("DownsampleFilter", "refractory_us", self.refractory_us, 0)


class EventFilter(Protocol):
    """What FilterChain needs of a filter."""

    geometry: Geometry | None
    output_geometry: Geometry | None

    def apply(self, batch: EventBatch) -> EventBatch: ...

    def reset(self) -> None: ...


class _BufferedFilter:
    """Shared driver: the per-batch checks, the reused output array, and kernel error messages.

    Subclasses set ``name`` and implement ``_run(events) -> int``, one kernel call.
    """

    name = "filter"

    def __init__(self, geometry: Geometry | None) -> None:
        if geometry is not None and not isinstance(geometry, Geometry):
            raise ValueError(f"{self.name}.geometry: must be a Geometry, got {geometry!r}")
        self.geometry = geometry
        self.output_geometry = geometry
        self._out = np.zeros(0, dtype=EVENT_DTYPE)
        self._checked_geometry: Geometry | None = None

    def apply(self, batch: EventBatch) -> EventBatch:
        """Filter one batch; the result views this filter's reused array (valid until the next call)."""
        events = batch.events
        if (batch.geometry is not self._checked_geometry or events.dtype != EVENT_DTYPE or events.ndim != 1
                or len(events) > len(self._out)):
            self._prepare(batch)
        k = self._run(events)
        if k < 0:
            self._raise(k, events)
        return EventBatch(self._out[:k], self.output_geometry or batch.geometry)

    def _run(self, events: np.ndarray) -> int:
        raise NotImplementedError

    def _prepare(self, batch: EventBatch) -> None:
        """Check the batch's dtype and geometry and grow the output array to fit it."""
        events = batch.events
        if not isinstance(events, np.ndarray) or events.dtype != EVENT_DTYPE or events.ndim != 1:
            raise ValueError(f"{self.name}: events must be a 1-D EVENT_DTYPE array, got "
                             f"{getattr(events, 'dtype', type(events).__name__)} (np.concatenate drops "
                             f"EVENT_DTYPE's padding unless given dtype=EVENT_DTYPE)")
        if self.geometry is not None and batch.geometry != self.geometry:
            raise ValueError(f"{self.name}: batch geometry {batch.geometry.width}x{batch.geometry.height} "
                             f"differs from the filter's {self.geometry.width}x{self.geometry.height}")
        self._checked_geometry = batch.geometry
        if len(events) > len(self._out):
            self._out = np.zeros(max(len(events), 2 * len(self._out)), dtype=EVENT_DTYPE)

    def _raise(self, code: int, events: np.ndarray) -> None:
        """Turn a kernel's error code into a ValueError naming the filter, the field and the event."""
        if code == K.BAD_X or code == K.BAD_Y:
            field = "x" if code == K.BAD_X else "y"
            limit = self.geometry.width if code == K.BAD_X else self.geometry.height
            values = events[field]
            i = int(np.flatnonzero((values < 0) | (values >= limit))[0])
            raise ValueError(f"{self.name}: field {field} outside 0..{limit - 1} (event {i}: {field}={values[i]})")
        t = events["t"]
        previous = np.concatenate((self.last_t_us, t[:-1]))
        i = int(np.flatnonzero(t < previous)[0])
        raise ValueError(f"{self.name}: field t goes back in time (event {i}: {t[i]} µs after {previous[i]} µs)")


_NO_TIME = np.iinfo(np.int64).min
"""``last_t_us`` before the first event: any timestamp may follow."""


class BackgroundActivityFilter(_BufferedFilter):
    """Drops uncorrelated events: keeps an event only when a neighbour had an event within the window.

    Same output as dv-processing's ``BackgroundActivityNoiseFilter(resolution, time_window_us)`` for
    ``half_size`` = 1: the pixel itself is not a neighbour, the test is ``t - t_neighbour < window``, and
    every event (kept or not) stores its timestamp at its own pixel only. As in dv-processing, every pixel
    starts as if it fired at 0 µs, so events earlier than ``time_window_us`` after t = 0 all pass.

    State: ``surface_us`` int64 ``(height + 2 h, width + 2 h)``, each pixel's last event time in µs (0 at
    start) inside a frame of ``NEVER``; ``last_t_us`` int64 ``(1,)``, the last timestamp seen.
    """

    name = "BackgroundActivityFilter"

    def __init__(self, geometry: Geometry, config: BackgroundActivityConfig = BackgroundActivityConfig()) -> None:
        super().__init__(geometry)
        self.config = config
        h = config.half_size
        self.surface_us = np.zeros((geometry.height + 2 * h, geometry.width + 2 * h), dtype=np.int64)
        self.last_t_us = np.zeros(1, dtype=np.int64)
        self.reset()

    def reset(self) -> None:
        h = self.config.half_size
        self.surface_us[...] = K.NEVER
        self.surface_us[h:-h, h:-h] = 0
        self.last_t_us[0] = _NO_TIME

    def _run(self, events: np.ndarray) -> int:
        g, c = self.geometry, self.config
        if c.half_size == 1:
            return K._background_activity_3x3(events, self.surface_us, self.last_t_us, g.width, g.height,
                                              c.time_window_us, self._out)
        return K._background_activity(events, self.surface_us, self.last_t_us, g.width, g.height, c.half_size,
                                      c.time_window_us, self._out)


class RefractoryFilter(_BufferedFilter):
    """Limits each pixel's event rate, as dv-processing's C++ ``dv::RefractoryPeriodFilter``.

    An event is kept when ``t - t_last >= period_us``, where ``t_last`` is the pixel's previous event,
    kept or not (so a pixel firing faster than the period stays silent). Pixels start at 0 µs as in
    dv-processing, so events earlier than ``period_us`` after t = 0 are dropped. The C++ class has no
    Python binding in dv-processing 2.0.4; tests compare with a reference written from its rule.

    State: ``surface_us`` int64 ``(height, width)``, last event time per pixel (0 at start);
    ``last_t_us`` int64 ``(1,)``.
    """

    name = "RefractoryFilter"

    def __init__(self, geometry: Geometry, config: RefractoryConfig = RefractoryConfig()) -> None:
        super().__init__(geometry)
        self.config = config
        self.surface_us = np.zeros((geometry.height, geometry.width), dtype=np.int64)
        self.last_t_us = np.zeros(1, dtype=np.int64)
        self.reset()

    def reset(self) -> None:
        self.surface_us[...] = 0
        self.last_t_us[0] = _NO_TIME

    def _run(self, events: np.ndarray) -> int:
        g = self.geometry
        return K._refractory(events, self.surface_us, self.last_t_us, g.width, g.height, self.config.period_us,
                             self._out)


class RegionFilter(_BufferedFilter):
    """Keeps events inside a rectangle, coordinates unchanged (dv-processing's ``EventRegionFilter``)."""

    name = "RegionFilter"

    def __init__(self, geometry: Geometry, config: RegionConfig) -> None:
        super().__init__(geometry)
        if config.x + config.width > geometry.width:
            raise ValueError(f"RegionFilter.width: x + width = {config.x + config.width} exceeds the sensor "
                             f"width {geometry.width}")
        if config.y + config.height > geometry.height:
            raise ValueError(f"RegionFilter.height: y + height = {config.y + config.height} exceeds the sensor "
                             f"height {geometry.height}")
        self.config = config
        self._bounds = (config.x, config.y, config.x + config.width, config.y + config.height)

    def reset(self) -> None:
        """Stateless: nothing to reset."""

    def _run(self, events: np.ndarray) -> int:
        x0, y0, x1, y1 = self._bounds
        return K._region(events, x0, y0, x1, y1, self._out)


class PolarityFilter(_BufferedFilter):
    """Keeps events of one polarity (dv-processing's ``EventPolarityFilter``); works on any geometry."""

    name = "PolarityFilter"

    def __init__(self, config: PolarityConfig) -> None:
        super().__init__(None)
        self.config = config
        self._polarity = int(config.polarity)

    def reset(self) -> None:
        """Stateless: nothing to reset."""

    def _run(self, events: np.ndarray) -> int:
        return K._polarity(events, self._polarity, self._out)


class HotPixelFilter(_BufferedFilter):
    """Drops every event of listed (hot) pixels; dv-processing's ``EventMaskFilter`` with a keep mask.

    Give either ``config`` (the hot pixels) or ``keep_mask``, a ``(height, width)`` array whose non-zero
    pixels pass, exactly dv-processing's mask convention. ``keep_mask`` holds the filter's copy as uint8.
    """

    name = "HotPixelFilter"

    def __init__(self, geometry: Geometry, config: HotPixelConfig | None = None, *,
                 keep_mask: np.ndarray | None = None) -> None:
        super().__init__(geometry)
        if (config is None) == (keep_mask is None):
            raise ValueError("HotPixelFilter: give exactly one of config (hot pixels) and keep_mask")
        if keep_mask is not None:
            keep_mask = np.asarray(keep_mask)
            if keep_mask.shape != (geometry.height, geometry.width):
                raise ValueError(f"HotPixelFilter.keep_mask: shape must be (height, width) = "
                                 f"{(geometry.height, geometry.width)}, got {keep_mask.shape}")
            self.keep_mask = (keep_mask != 0).astype(np.uint8)
        else:
            self.keep_mask = np.ones((geometry.height, geometry.width), dtype=np.uint8)
            for x, y in config.pixels:
                if x >= geometry.width or y >= geometry.height:
                    raise ValueError(f"HotPixelFilter.pixels: ({x}, {y}) is outside the "
                                     f"{geometry.width}x{geometry.height} sensor")
                self.keep_mask[y, x] = 0
        self.config = config

    def reset(self) -> None:
        """Stateless (the mask is configuration): nothing to reset."""

    def _run(self, events: np.ndarray) -> int:
        return K._mask(events, self.keep_mask, self._out)


class DownsampleFilter(_BufferedFilter):
    """Maps (x, y) to (x // factor_x, y // factor_y) on ``output_geometry`` = ceil(w / fx) x ceil(h / fy).

    With ``refractory_us`` > 0 it also merges near-duplicates with a refractory test per output pixel
    (state ``surface_us`` int64 ``(out_height, out_width)``, 0 at start, and ``last_t_us``); with 0 every
    event passes, nothing is kept between batches and ``surface_us`` is empty. dv-processing has no
    equivalent filter.
    """

    name = "DownsampleFilter"

    def __init__(self, geometry: Geometry, config: DownsampleConfig = DownsampleConfig()) -> None:
        super().__init__(geometry)
        self.config = config
        self.output_geometry = Geometry(math.ceil(geometry.width / config.factor_x),
                                        math.ceil(geometry.height / config.factor_y))
        og = self.output_geometry
        self._x_map = (np.arange(geometry.width) // config.factor_x).astype(np.int16)
        self._y_map = (np.arange(geometry.height) // config.factor_y).astype(np.int16)
        merging = config.refractory_us > 0
        self.surface_us = np.zeros((og.height, og.width) if merging else (0, 0), dtype=np.int64)
        self.last_t_us = np.zeros(1, dtype=np.int64)
        self.reset()

    def reset(self) -> None:
        self.surface_us[...] = 0
        self.last_t_us[0] = _NO_TIME

    def _run(self, events: np.ndarray) -> int:
        if self.config.refractory_us == 0:
            return K._downsample(events, self._x_map, self._y_map, self._out)
        return K._downsample_refractory(events, self.surface_us, self.last_t_us, self._x_map, self._y_map,
                                        self.config.refractory_us, self._out)


class FilterChain:
    """Applies filters in order; each filter's geometry must equal the previous one's output geometry.

    The returned batch is the last filter's reused array (valid until the next ``apply()``); an empty
    chain returns its input unchanged.
    """

    def __init__(self, filters: Sequence[EventFilter]) -> None:
        self.filters = tuple(filters)
        geometry: Geometry | None = None
        first: Geometry | None = None
        for i, f in enumerate(self.filters):
            if f.geometry is not None:
                if geometry is not None and f.geometry != geometry:
                    raise ValueError(f"FilterChain.filters[{i}]: {type(f).__name__} expects "
                                     f"{f.geometry.width}x{f.geometry.height}, the previous filter gives "
                                     f"{geometry.width}x{geometry.height}")
                first = first or f.geometry
                geometry = f.output_geometry
        self.geometry = first
        self.output_geometry = geometry

    def apply(self, batch: EventBatch) -> EventBatch:
        for f in self.filters:
            batch = f.apply(batch)
        return batch

    def reset(self) -> None:
        for f in self.filters:
            f.reset()
