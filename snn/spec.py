"""NetworkSpec: a declarative description of a spiking network that every back end compiles.

Populations (size, LIF parameters), projections (explicit synapse lists, plasticity rule) and the readout.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class LIFParams:
    """Current-based leaky integrate-and-fire parameters (times in ms, potentials in mV).

    Dynamics per tick of dt: i_syn decays with tau_syn_ms; v relaxes to v_rest_mv + i_syn with tau_mem_ms;
    v >= v_th_mv emits a spike, resets to v_reset_mv and holds for refractory_ms. ``noise_mv`` is the
    standard deviation of Gaussian membrane noise added every tick (exploration for learning).
    """

    tau_mem_ms: float = 20.0
    tau_syn_ms: float = 5.0
    v_rest_mv: float = 0.0
    v_reset_mv: float = 0.0
    v_th_mv: float = 10.0
    refractory_ms: float = 2.0
    noise_mv: float = 0.0

    def validate(self, owner: str) -> None:
        for key in ("tau_mem_ms", "tau_syn_ms"):
            if not getattr(self, key) > 0:
                raise ValueError(f"{owner}.{key}: must be > 0, got {getattr(self, key)}")
        for key in ("refractory_ms", "noise_mv"):
            if getattr(self, key) < 0:
                raise ValueError(f"{owner}.{key}: must be >= 0, got {getattr(self, key)}")
        if not self.v_th_mv > self.v_reset_mv:
            raise ValueError(f"{owner}.v_th_mv: must exceed v_reset_mv ({self.v_reset_mv}), got {self.v_th_mv}")


@dataclass(frozen=True)
class PopulationSpec:
    """A group of neurons. ``kind`` is ``"input"`` (driven by input spikes only) or ``"lif"``."""

    name: str
    size: int
    kind: str = "lif"
    lif: LIFParams = field(default_factory=LIFParams)

    def validate(self) -> None:
        if self.size <= 0:
            raise ValueError(f"population {self.name!r}.size: must be > 0, got {self.size}")
        if self.kind not in ("input", "lif"):
            raise ValueError(f"population {self.name!r}.kind: must be 'input' or 'lif', got {self.kind!r}")
        self.lif.validate(f"population {self.name!r}.lif")


@dataclass(frozen=True)
class RewardSTDP:
    """Three-factor rule: pre/post traces -> eligibility trace, times dopamine = reward - running baseline.

    On a post spike eligibility += a_plus * pre_trace; on a pre spike eligibility -= a_minus * post_trace.
    Every tick: w += learning_rate * dopamine * eligibility, clipped to [w_min_mv, w_max_mv]; eligibility
    decays with tau_eligibility_ms. The baseline follows the reward with tau_baseline_ms.
    """

    tau_pre_ms: float = 20.0
    tau_post_ms: float = 20.0
    tau_eligibility_ms: float = 200.0
    tau_baseline_ms: float = 200.0
    a_plus: float = 1.0
    a_minus: float = 1.0
    learning_rate: float = 0.01
    w_min_mv: float = 0.0
    w_max_mv: float = 5.0

    def validate(self, owner: str) -> None:
        for key in ("tau_pre_ms", "tau_post_ms", "tau_eligibility_ms", "tau_baseline_ms"):
            if not getattr(self, key) > 0:
                raise ValueError(f"{owner}.{key}: must be > 0, got {getattr(self, key)}")
        for key in ("a_plus", "a_minus", "learning_rate"):
            if getattr(self, key) < 0:
                raise ValueError(f"{owner}.{key}: must be >= 0, got {getattr(self, key)}")
        if not self.w_max_mv >= self.w_min_mv:
            raise ValueError(f"{owner}.w_max_mv: must be >= w_min_mv ({self.w_min_mv}), got {self.w_max_mv}")


@dataclass(frozen=True)
class ProjectionSpec:
    """Synapses from ``pre`` to ``post`` given as parallel arrays (local neuron indices, weights in mV).

    A spike of presynaptic neuron i adds weight_mv to the synaptic current of its target one tick later.
    ``plasticity`` is None for fixed synapses.
    """

    name: str
    pre: str
    post: str
    pre_idx: np.ndarray
    post_idx: np.ndarray
    weight_mv: np.ndarray
    plasticity: RewardSTDP | None = None


@dataclass(frozen=True)
class NetworkSpec:
    """A whole network: populations, projections, the readout population and the tick length (µs)."""

    populations: tuple[PopulationSpec, ...]
    projections: tuple[ProjectionSpec, ...]
    readout: str
    dt_us: int = 1000
    learning: bool = True

    def population(self, name: str) -> PopulationSpec:
        for pop in self.populations:
            if pop.name == name:
                return pop
        raise ValueError(f"network: no population named {name!r}")

    @property
    def input(self) -> PopulationSpec:
        return next(p for p in self.populations if p.kind == "input")

    def offsets(self) -> dict[str, int]:
        """First global neuron index of each population (populations are laid out in order)."""
        start, out = 0, {}
        for pop in self.populations:
            out[pop.name] = start
            start += pop.size
        return out

    @property
    def n_neurons(self) -> int:
        return sum(p.size for p in self.populations)

    def validate(self) -> None:
        """Raise ValueError naming the population, projection or key that is wrong."""
        if self.dt_us <= 0:
            raise ValueError(f"network.dt_us: must be > 0, got {self.dt_us}")
        names = [p.name for p in self.populations]
        if len(set(names)) != len(names):
            raise ValueError(f"network.populations: duplicate names in {names}")
        for pop in self.populations:
            pop.validate()
        if [p.kind for p in self.populations].count("input") != 1 or self.populations[0].kind != "input":
            raise ValueError("network.populations: exactly one 'input' population is required, listed first")
        if self.population(self.readout).kind != "lif":
            raise ValueError(f"network.readout: {self.readout!r} must be a 'lif' population")
        rules = set()
        for proj in self.projections:
            owner = f"projection {proj.name!r}"
            pre, post = self.population(proj.pre), self.population(proj.post)
            if post.kind == "input":
                raise ValueError(f"{owner}.post: cannot target the input population {post.name!r}")
            n = len(proj.pre_idx)
            if not (len(proj.post_idx) == n == len(proj.weight_mv)):
                raise ValueError(f"{owner}: pre_idx, post_idx and weight_mv must have the same length")
            if n and (proj.pre_idx.min() < 0 or proj.pre_idx.max() >= pre.size):
                raise ValueError(f"{owner}.pre_idx: outside 0..{pre.size - 1}")
            if n and (proj.post_idx.min() < 0 or proj.post_idx.max() >= post.size):
                raise ValueError(f"{owner}.post_idx: outside 0..{post.size - 1}")
            if not np.all(np.isfinite(proj.weight_mv)):
                raise ValueError(f"{owner}.weight_mv: must be finite")
            if proj.plasticity is not None:
                proj.plasticity.validate(f"{owner}.plasticity")
                rules.add((proj.plasticity.tau_pre_ms, proj.plasticity.tau_post_ms, proj.plasticity.tau_baseline_ms))
        if len(rules) > 1:
            raise ValueError("network.projections: plastic projections must share tau_pre_ms, tau_post_ms and tau_baseline_ms")
