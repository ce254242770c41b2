"""Decode motor spikes into a pan action: opponent groups (right/left, down/up) -> camera velocity.

The readout population is four equal groups in the order right, left, down, up (a ``controllers.protocols.Decoder``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from controllers.protocols import check_readout
from snn.frames import SpikeFrames
from snn.spec import NetworkSpec

MOTOR_GROUPS = ("right", "left", "down", "up")


@dataclass(frozen=True)
class PanDecoderConfig:
    """``vx = gain * (rate_right - rate_left)`` (px/s per Hz of mean group rate), clipped to ±v_max_px_s.

    Group rates (Hz per neuron) are smoothed with an exponential filter of tau_smooth_ms.
    """

    gain_px_s_per_hz: float = 2.0
    v_max_px_s: float = 80.0
    tau_smooth_ms: float = 20.0

    def validate(self) -> None:
        for key in ("gain_px_s_per_hz", "v_max_px_s", "tau_smooth_ms"):
            if not getattr(self, key) > 0:
                raise ValueError(f"decoder.{key}: must be > 0, got {getattr(self, key)}")


class PanDecoder:
    """Stateful decoder: keeps smoothed group rates across blocks (4 floats, bounded).

    Decides ``Action("pan", [vx, vy])`` (px/s) from a readout of ``4 * n_per_group`` neurons.
    """

    action_name = "pan"
    n_values = 2

    def __init__(self, config: PanDecoderConfig, n_per_group: int, dt_us: int) -> None:
        config.validate()
        self.config = config
        self.n_per_group = n_per_group
        self.n_outputs = len(MOTOR_GROUPS) * n_per_group
        self.dt_us = dt_us
        self.rate_hz = np.zeros(len(MOTOR_GROUPS))

    def check(self, spec: NetworkSpec) -> None:
        """ValueError (one line) unless the readout has the four motor groups of ``n_per_group`` neurons."""
        check_readout(spec, self, f"{', '.join(MOTOR_GROUPS)} groups of network.n_per_group = {self.n_per_group}")

    def decode(self, spikes: SpikeFrames) -> np.ndarray:
        """Camera velocity ``[vx, vy]`` in px/s after a block of motor spikes."""
        block_s = spikes.n_ticks * self.dt_us * 1e-6
        counts = np.bincount(spikes.neuron_ids // self.n_per_group, minlength=4)[:4]
        block_rate = counts / (self.n_per_group * block_s)
        alpha = 1.0 - math.exp(-block_s * 1000.0 / self.config.tau_smooth_ms)
        self.rate_hz += alpha * (block_rate - self.rate_hz)
        r = self.rate_hz
        c = self.config
        return np.clip(c.gain_px_s_per_hz * np.array([r[0] - r[1], r[2] - r[3]]), -c.v_max_px_s, c.v_max_px_s)
