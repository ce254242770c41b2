"""A spiking word classifier trained with a local, label-gated three-factor rule.

Input: an ``Utterance`` (see ``snn.hearing.utterance``), replayed onto a tonotopic × relative-time map of
``n_inputs * n_bins`` neurons. Output: ``n_classes`` non-leaky integrate-and-fire readout neurons, fully
connected from the map. The winning class is the neuron with the largest total drive (spike count times
threshold plus the residual membrane potential).

Learning (three factors, all local to a synapse):

1. **Eligibility**: each synapse from map neuron j is tagged by its presynaptic spike count during the
   replay, divided by the L2 norm of all presynaptic counts (divisive normalisation, so loud and quiet
   words tag alike).
2. **Postsynaptic dopamine**: when a label arrives (in training, or as reward on ZMQ at run time) and the
   labelled neuron's normalised drive does not beat the strongest other neuron by ``margin``, the
   labelled neuron receives +1 and that rival -1; otherwise nothing is learned (the error is zero).
3. **Update**: w[j, c] += learning_rate * dopamine[c] * eligibility[j].

There is no gradient, no backpropagation and no classifier outside the network: the rule is the
perceptron's error-correcting Hebbian update in three-factor form (Frémaux & Gerstner 2016).

The network is a NetworkSpec (``word_network``: an input map, ``integrate_fire`` readout neurons, an
all-to-all ``ThirdFactorHebb`` projection) run on any back end through the seam: the synapses count their
presynaptic spikes (the eligibility), and the teacher's dopamine, divided by the L2 norm of the counts, is
the per-neuron third factor given to ``step``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from snn.backend import Backend
from snn.frames import SpikeFrames
from snn.spec import LIFParams, NetworkSpec, PopulationSpec, ProjectionSpec, ThirdFactorHebb
from snn.state_check import check_state_arrays
from snn.hearing.utterance import Utterance, replay_frames


@dataclass(frozen=True)
class WordNetConfig:
    """Parameters.

    Parameters
    ----------
    n_classes : readout neurons (words).
    n_bins : relative-time bins of the input map.
    replay_ticks : ticks of one replay.
    threshold : readout firing threshold, in weight units.
    learning_rate : weight change per unit of dopamine and eligibility.
    margin : normalised drive by which the labelled neuron must win before learning stops.
    temperature : softmax temperature that turns normalised drives into confidences.
    """

    n_classes: int = 10
    n_bins: int = 16
    replay_ticks: int = 32
    threshold: float = 1.0
    learning_rate: float = 1.0
    margin: float = 0.05
    temperature: float = 0.05

    def __post_init__(self) -> None:
        for key in ("n_classes", "n_bins", "replay_ticks"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"word_net.{key}: must be a positive integer, got {value!r}")
        for key in ("threshold", "learning_rate", "temperature"):
            if not getattr(self, key) > 0:
                raise ValueError(f"word_net.{key}: must be positive, got {getattr(self, key)!r}")
        if self.margin < 0:
            raise ValueError(f"word_net.margin: must be >= 0, got {self.margin!r}")


@dataclass(frozen=True)
class Decision:
    """The network's answer to one utterance: ``label``, ``confidence`` in [0, 1], normalised ``drive``
    per class, readout ``spike_counts``, and ``input_counts``: the replay's spike count per map neuron
    (int64, n_map), what the network saw."""

    label: int
    confidence: float
    drive: np.ndarray
    spike_counts: np.ndarray
    input_counts: np.ndarray


MAP, READOUT, SYNAPSES = "map", "words", "map_words"
"""Names of the word network's input map, readout population and projection (its portable state's keys)."""


def word_network(config: WordNetConfig, n_inputs: int) -> NetworkSpec:
    """The word network as a NetworkSpec: ``n_inputs * n_bins`` map inputs, ``n_classes`` non-leaky
    integrate-and-fire readouts (threshold ``config.threshold``), all-to-all weights from 0, learned by
    ThirdFactorHebb (each presynaptic spike tags +1, never decaying until the next utterance resets it)."""
    n_map = n_inputs * config.n_bins
    pre = np.repeat(np.arange(n_map, dtype=np.int32), config.n_classes)
    post = np.tile(np.arange(config.n_classes, dtype=np.int32), n_map)
    readout_lif = LIFParams(v_rest_mv=0.0, v_reset_mv=0.0, v_th_mv=config.threshold, refractory_ms=0.0)
    return NetworkSpec(
        populations=(PopulationSpec(MAP, n_map, kind="input"),
                     PopulationSpec(READOUT, config.n_classes, kind="integrate_fire", lif=readout_lif)),
        projections=(ProjectionSpec(SYNAPSES, MAP, READOUT, pre, post, np.zeros(len(pre)),
                                    plasticity=ThirdFactorHebb(a_pre=1.0, learning_rate=1.0)),),
        readout=READOUT, dt_us=1000, learning=True,
    )


class WordNet:
    """The word network on a back end (default: the reference numba back end in float64); ``present`` then
    optionally ``reinforce``. The readout weights are ``weights`` ((n_map, n_classes), float64, a copy)."""

    def __init__(self, config: WordNetConfig, n_inputs: int, backend: Backend | None = None) -> None:
        if backend is None:
            from snn.engine.numba_backend import NumbaBackend

            backend = NumbaBackend("float64")
        self.config = config
        self.n_inputs = int(n_inputs)
        self.n_map = self.n_inputs * config.n_bins
        self.spec = word_network(config, self.n_inputs)
        self.backend = backend
        self.backend.load(self.spec, seed=0)
        self._norm = 0.0
        self._drive = np.zeros(config.n_classes)
        self._zero_membranes = np.zeros(config.n_classes)
        self._zero_tags = np.zeros(self.n_map * config.n_classes)

    @property
    def weights(self) -> np.ndarray:
        """The readout weights (n_map, n_classes), float64 (a copy)."""
        flat = self.backend.read(f"projection/{SYNAPSES}/weight_mv")
        return flat.astype(np.float64).reshape(self.n_map, self.config.n_classes)

    def _start_utterance(self) -> None:
        """Membranes and eligibility back to zero: each utterance is judged, and tagged, on its own."""
        self.backend.write(f"population/{READOUT}/v_mv", self._zero_membranes)
        self.backend.write(f"projection/{SYNAPSES}/eligibility", self._zero_tags)

    def present(self, utterance: Utterance) -> Decision:
        """Replay ``utterance`` through the readout; keep its eligibility for a later ``reinforce``."""
        cfg = self.config
        if utterance.neuron_ids.size and int(utterance.neuron_ids.max()) >= self.n_inputs:
            raise ValueError(f"word_net: input neuron {int(utterance.neuron_ids.max())} out of range "
                             f"(network has {self.n_inputs} inputs)")
        frames = replay_frames(utterance, cfg.n_bins, cfg.replay_ticks)
        # one more tick: the last replay tick's spikes reach the readout a tick after they are sent
        frames = SpikeFrames(np.append(frames.tick_ptr, frames.tick_ptr[-1]), frames.neuron_ids)
        self._start_utterance()
        spikes = self.backend.step(frames, 0.0)
        spike_counts = spikes.counts(cfg.n_classes)
        membrane_v = self.backend.read(f"population/{READOUT}/v_mv").astype(np.float64)
        input_counts = np.bincount(frames.neuron_ids, minlength=self.n_map)
        self._norm = norm = float(np.sqrt(np.sum(input_counts.astype(np.float64) ** 2)))
        self._drive = (cfg.threshold * spike_counts + membrane_v) / norm if norm > 0 else np.zeros(cfg.n_classes)
        return Decision(int(np.argmax(self._drive)), self._confidence(self._drive), self._drive.copy(),
                        spike_counts, input_counts)

    def _confidence(self, drive: np.ndarray) -> float:
        z = (drive - drive.max()) / self.config.temperature
        p = np.exp(z)
        return float(p.max() / p.sum())

    def reinforce(self, label: int, learning_rate: float | None = None) -> bool:
        """Label-gated dopamine on the last utterance's eligibility; True when weights changed. The back end
        advances one tick with the per-neuron third factor rate * dopamine / ||counts||."""
        cfg = self.config
        if not 0 <= label < cfg.n_classes:
            raise ValueError(f"word_net: label {label!r} out of range 0..{cfg.n_classes - 1}")
        if self._norm == 0.0:
            return False
        others = self._drive.copy()
        others[label] = -np.inf
        rival = int(np.argmax(others))
        if self._drive[label] - self._drive[rival] > cfg.margin:
            return False
        rate = cfg.learning_rate if learning_rate is None else learning_rate
        third_factor = np.zeros(cfg.n_classes)
        third_factor[label] = rate / self._norm
        third_factor[rival] = -rate / self._norm
        self.backend.step(SpikeFrames.empty(1), third_factor)
        return True

    def state(self) -> dict[str, np.ndarray]:
        """The learned state: readout weights (n_map, n_classes), float64 on every back end."""
        return {"weights": self.weights}

    def restore(self, state: dict[str, np.ndarray]) -> None:
        """Load ``state()``; ValueError naming the array when one is missing, extra, or of another dtype or
        shape (see ``snn.state_check``); nothing is loaded then. The weights' shape is
        (n_inputs * n_bins, n_classes), so a model of another configuration does not fit."""
        cfg = self.config
        template = {"weights": np.zeros((self.n_map, cfg.n_classes))}
        try:
            check_state_arrays("WordNet.restore", template, state)
        except ValueError as e:
            raise ValueError(f"{e} (weights shape: {self.n_inputs} inputs * {cfg.n_bins} bins, "
                             f"{cfg.n_classes} classes)") from None
        if not np.all(np.isfinite(state["weights"])):
            raise ValueError("WordNet.restore: array 'weights' holds non-finite values")
        self.backend.write(f"projection/{SYNAPSES}/weight_mv", state["weights"].reshape(-1))
