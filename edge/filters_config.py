"""The ``[filters]`` table: which event filters run before encoding, built into one chain for a geometry.

Order: hot pixels, region of interest, polarity, refractory, background activity, downsample.
"""
from __future__ import annotations

from dataclasses import dataclass

from sensors.filtering.filters import (
    BackgroundActivityConfig, BackgroundActivityFilter, DownsampleConfig, DownsampleFilter, FilterChain,
    HotPixelConfig, HotPixelFilter, PolarityConfig, PolarityFilter, RefractoryConfig, RefractoryFilter,
    RegionConfig, RegionFilter,
)
from sensors.types import EventBatch, Geometry


@dataclass(frozen=True)
class FiltersConfig:
    """Each filter is off at its default.

    hot_pixels: ``"x:y,x:y"`` pixels to mask; roi: ``"x,y,width,height"``; polarity: -1 keeps both, 0 OFF,
    1 ON; refractory_us and background_activity_us (µs) > 0 switch those filters on; downsample: integer
    factor on both axes (1 = off).
    """

    hot_pixels: str = ""
    roi: str = ""
    polarity: int = -1
    refractory_us: int = 0
    background_activity_us: int = 0
    downsample: int = 1

    def validate(self) -> None:
        if self.polarity not in (-1, 0, 1):
            raise ValueError(f"filters.polarity: must be -1 (both), 0 or 1, got {self.polarity}")
        for key in ("refractory_us", "background_activity_us"):
            if getattr(self, key) < 0:
                raise ValueError(f"filters.{key}: must be >= 0, got {getattr(self, key)}")
        if self.downsample < 1:
            raise ValueError(f"filters.downsample: must be >= 1, got {self.downsample}")
        self.pixels()
        self.region()

    def pixels(self) -> tuple[tuple[int, int], ...]:
        try:
            return tuple((int(a), int(b)) for a, b in (p.split(":") for p in self.hot_pixels.split(",") if p.strip()))
        except ValueError:
            raise ValueError(f"filters.hot_pixels: expected \"x:y,x:y\", got {self.hot_pixels!r}") from None

    def region(self) -> tuple[int, int, int, int] | None:
        if not self.roi.strip():
            return None
        parts = self.roi.split(",")
        if len(parts) != 4 or not all(p.strip().isdigit() for p in parts):
            raise ValueError(f"filters.roi: expected \"x,y,width,height\", got {self.roi!r}")
        x, y, w, h = (int(p) for p in parts)
        return x, y, w, h


class ConfiguredFilters:
    """The configured chain and the geometry it outputs (the input geometry when no filter is on)."""

    def __init__(self, chain: FilterChain, geometry: Geometry) -> None:
        self.chain = chain
        self.output_geometry = chain.output_geometry or geometry

    def apply(self, batch: EventBatch) -> EventBatch:
        return self.chain.apply(batch)


def build_filters(config: FiltersConfig, geometry: Geometry) -> ConfiguredFilters:
    """Instantiate the enabled filters for a sensor of ``geometry``; ValueError names the filter and key."""
    filters = []
    if config.pixels():
        filters.append(HotPixelFilter(geometry, HotPixelConfig(config.pixels())))
    region = config.region()
    if region is not None:
        filters.append(RegionFilter(geometry, RegionConfig(*region)))
    if config.polarity >= 0:
        filters.append(PolarityFilter(PolarityConfig(config.polarity)))
    if config.refractory_us > 0:
        filters.append(RefractoryFilter(geometry, RefractoryConfig(config.refractory_us)))
    if config.background_activity_us > 0:
        filters.append(BackgroundActivityFilter(geometry, BackgroundActivityConfig(time_window_us=config.background_activity_us)))
    if config.downsample > 1:
        filters.append(DownsampleFilter(geometry, DownsampleConfig(config.downsample, config.downsample)))
    return ConfiguredFilters(FilterChain(filters), geometry)
