"""Audio → spikes: the cochlear front end followed by any of the engine's signal encoders.

``AudioEncoder.encode(samples)`` runs the filterbank (``snn.encoding.cochlea``) on mono samples at the configured
rate, scales each tick's compressed, adapted envelope by ``gain`` into the encoder's input range, and
encodes it with ``snn.encoding.encoders`` (rate, latency, phase, BSA, population, delta or sigma-delta, chosen by
name). State is carried across calls in both stages, so chunked and whole-file encoding agree exactly.
Encoder neuron ids are channel-major (``channel * k + j``, as ``snn.encoding.encoders`` lays them out).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from snn.encoding.cochlea import Cochlea, CochleaConfig
from snn.encoding.encoders import make_encoder
from snn.frames import SpikeFrames
from snn.state_check import check_state_arrays


@dataclass(frozen=True)
class AudioEncoderConfig:
    """Front end and spike code.

    Parameters
    ----------
    cochlea : filterbank parameters (its ``dt_us`` is the tick of the spikes).
    encoder : name of a ``snn.encoding.encoders`` code: rate, latency, phase, bsa, population, delta, sigma_delta.
    encoder_params : that encoder's config keys (as in a TOML table).
    gain : multiplies the envelope (about 0-8 after log compression) before encoding; rate, BSA and
        latency expect [0, 1], so values are clipped to [0, 1] for them.
    """

    cochlea: CochleaConfig = field(default_factory=CochleaConfig)
    encoder: str = "rate"
    encoder_params: dict = field(default_factory=lambda: {"max_rate_hz": 1000.0})
    gain: float = 0.25

    def __post_init__(self) -> None:
        if not self.gain > 0.0:
            raise ValueError(f"audio.gain: must be positive, got {self.gain!r}")


_UNIT_RANGE = ("rate", "bsa", "latency", "phase")


class AudioEncoder:
    """Cochlea + encoder with their state; ``encode(samples)`` → (envelopes, spikes) of completed ticks."""

    def __init__(self, config: AudioEncoderConfig) -> None:
        self.config = config
        self.cochlea = Cochlea(config.cochlea)
        self.encoder = make_encoder(config.encoder, n_channels=config.cochlea.n_channels,
                                    dt_us=config.cochlea.dt_us, **config.encoder_params)
        self._clip = config.encoder in _UNIT_RANGE

    @property
    def n_neurons(self) -> int:
        """Encoder neurons (input neurons of the network)."""
        return self.encoder.n_neurons()

    @property
    def sample_rate_hz(self) -> int:
        return self.config.cochlea.sample_rate_hz

    @property
    def dt_us(self) -> int:
        return self.config.cochlea.dt_us

    def encode(self, samples: np.ndarray) -> tuple[np.ndarray, SpikeFrames]:
        """Mono float samples at ``sample_rate_hz`` → (envelopes float64 (ticks, channels), SpikeFrames)."""
        envelopes = self.cochlea.process(samples)
        signal = envelopes * self.config.gain
        if self._clip:
            np.clip(signal, 0.0, 1.0, out=signal)
        return envelopes, self.encoder.encode(signal)

    def reset(self) -> None:
        """Silence in both stages (and the encoder's generator back to its seed)."""
        self.cochlea.reset()
        self.encoder.reset()

    def state(self) -> dict[str, np.ndarray]:
        """Both stages' state arrays, prefixed ``cochlea.`` and ``encoder.``."""
        out = {f"cochlea.{k}": v for k, v in self.cochlea.state().items()}
        out.update({f"encoder.{k}": v for k, v in self.encoder.state().items()})
        return out

    def restore(self, state: dict[str, np.ndarray]) -> None:
        """Load ``state()``; ValueError naming the (prefixed) array when one is missing, extra, or of another
        dtype or shape (see ``snn.state_check``); nothing is loaded then."""
        check_state_arrays("AudioEncoder.restore", self.state(), state)
        self.cochlea.restore({k[8:]: v for k, v in state.items() if k.startswith("cochlea.")})
        self.encoder.restore({k[8:]: v for k, v in state.items() if k.startswith("encoder.")})
