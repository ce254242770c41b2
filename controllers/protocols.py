"""The pipeline's three seams around the back end: Encoder (input -> spikes), Decoder (spikes -> action values)
and Task (a closed loop, Gymnasium-shaped). Structural Protocols: an implementation need not import this module.
"""
from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from snn.frames import SpikeFrames
from snn.spec import NetworkSpec


@runtime_checkable
class Encoder(Protocol):
    """Turns one block of input into input spikes (e.g. ``snn.encoding.encode_events.EventPooler`` for events).

    What it needs from a network: an input population of exactly ``n_inputs`` neurons (see ``check_inputs``).
    """

    n_inputs: int
    """Input neurons it drives; spike ids are in ``[0, n_inputs)``."""

    def encode(self, batch: Any, t0_us: int, n_ticks: int) -> SpikeFrames:
        """Spikes for ticks ``[t0_us, t0_us + n_ticks * dt_us)`` (µs, sensor time) from ``batch`` (an EventBatch for
        event encoders); keeps whatever state it needs across blocks."""


@runtime_checkable
class Decoder(Protocol):
    """Turns a block of readout spikes into the values of one action, named ``action_name``.

    What it needs from a network: a readout population it can read (``n_outputs`` neurons; ``check`` says
    whether a network fits, in one line).
    """

    action_name: str
    """The ``Action.name`` of what it decides (e.g. ``"pan"``)."""

    n_values: int
    """Length of the values ``decode`` returns; before the first block a closed loop acts with zeros of it."""

    n_outputs: int
    """Readout neurons it reads (neuron ids ``[0, n_outputs)`` of the readout population)."""

    def decode(self, spikes: SpikeFrames) -> np.ndarray:
        """Action values (float64, ``n_values``, units given by the implementation) after one block of readout
        spikes; may keep smoothed state across blocks."""

    def check(self, spec: NetworkSpec) -> None:
        """Raise ValueError (one line, naming the readout and both sizes) unless ``spec``'s readout fits."""


@runtime_checkable
class Task(Protocol):
    """A closed loop the pipeline drives, in Gymnasium's shape: ``reset(seed)`` then ``step(action_values)`` per
    block of ticks. Event tasks observe EventBatches of sensor ``geometry``; each step covers one block.
    """

    format: str
    """What the observations are, reported as the source's format (the tracking task: ``"scene"``)."""

    geometry: Any
    """Sensor geometry (``sensors.types.Geometry``) of event observations; may be None before ``reset``."""

    def reset(self, seed: int | None = None) -> Any:
        """Start an episode (a new seed, or None to continue the task's own generator); return the observation
        before the first action (for an event task: the events before the first block, usually none)."""

    def step(self, action_values: np.ndarray) -> tuple[Any, float, dict[str, float], bool]:
        """Apply ``action_values`` (the decoder's units) for one block; return ``(observation, reward, score,
        done)``: the block's observation, the reward (dimensionless, in [-1, 1] by convention), the task's named
        figures for the block (e.g. ``{"on_target": 0.9}``, fraction of its ticks) and whether the episode ended."""


def check_inputs(spec: NetworkSpec, encoder: Encoder) -> None:
    """Raise ValueError (one line) unless ``spec`` has an input population of ``encoder.n_inputs`` neurons."""
    if spec.input is None:
        raise ValueError(f"the network needs an input population of {encoder.n_inputs} neurons (the encoder's "
                         "n_inputs), and has none")
    if spec.input.size != encoder.n_inputs:
        raise ValueError(f"the input population {spec.input.name!r} must have {encoder.n_inputs} neurons (the "
                         f"encoder's n_inputs), got {spec.input.size}")


def check_readout(spec: NetworkSpec, decoder: Decoder, what: str = "") -> None:
    """Raise ValueError (one line) unless the readout population has ``decoder.n_outputs`` neurons; ``what`` says
    what they are for (e.g. "right, left, down, up groups of 8")."""
    size = spec.population(spec.readout).size
    if size != decoder.n_outputs:
        why = f" ({what})" if what else f" (what the {decoder.action_name!r} decoder reads)"
        raise ValueError(f"the readout {spec.readout!r} must have {decoder.n_outputs} neurons{why}, got {size}")
