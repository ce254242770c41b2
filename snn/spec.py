"""NetworkSpec: a declarative description of a spiking network that every back end compiles.

Populations (size, LIF parameters), projections (explicit synapse lists, plasticity rule) and the readout.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class LIFParams:
    """Current-based leaky integrate-and-fire parameters (times in ms, potentials in mV).

    dv/dt = (g_exc + g_inh - (v - v_rest)) / tau_mem, dg_x/dt = -g_x / tau_x, integrated exactly per tick;
    a synapse's weight (mV) is added to g_exc or g_inh (its projection's port). v >= v_th_mv emits a spike,
    resets to v_reset_mv and holds it for refractory_ms. ``noise_mv`` is the standard deviation of Gaussian
    membrane noise added every tick (exploration for learning).
    """

    tau_mem_ms: float = 20.0
    tau_exc_ms: float = 5.0
    tau_inh_ms: float = 5.0
    v_rest_mv: float = 0.0
    v_reset_mv: float = 0.0
    v_th_mv: float = 10.0
    refractory_ms: float = 2.0
    noise_mv: float = 0.0

    def validate(self, owner: str) -> None:
        for key in ("tau_mem_ms", "tau_exc_ms", "tau_inh_ms"):
            if not getattr(self, key) > 0:
                raise ValueError(f"{owner}.{key}: must be > 0, got {getattr(self, key)}")
        for key in ("refractory_ms", "noise_mv"):
            if getattr(self, key) < 0:
                raise ValueError(f"{owner}.{key}: must be >= 0, got {getattr(self, key)}")
        if not self.v_th_mv > self.v_reset_mv:
            raise ValueError(f"{owner}.v_th_mv: must exceed v_reset_mv ({self.v_reset_mv}), got {self.v_th_mv}")


@dataclass(frozen=True)
class ShortTermPlasticity:
    """Tsodyks-Markram short-term plasticity of a population's outgoing synapses (state per neuron).

    Each spike releases u*x of the resources (its synapses' weights are scaled by u*x); x recovers to 1 with
    tau_rec_ms, u relaxes to u_base with tau_facil_ms and jumps by u_base*(1-u) at each spike.
    """

    u_base: float = 0.5
    tau_facil_ms: float = 0.0
    tau_rec_ms: float = 800.0

    def validate(self, owner: str) -> None:
        if not 0.0 < self.u_base <= 1.0:
            raise ValueError(f"{owner}.u_base: must be in (0, 1], got {self.u_base}")
        for key in ("tau_facil_ms", "tau_rec_ms"):
            if getattr(self, key) < 0:
                raise ValueError(f"{owner}.{key}: must be >= 0, got {getattr(self, key)}")


MAX_DELAY_TICKS = 1000
def check_dale(proj: "ProjectionSpec", pre: "PopulationSpec", owner: str) -> None:
    """Dale's law: a projection from a population declared excitatory (inhibitory) has weights >= 0 (<= 0),
    and plastic bounds that keep them so."""
    if not pre.dale:
        return
    sign = 1.0 if pre.dale == "exc" else -1.0
    if np.any(sign * np.asarray(proj.weight_mv) < 0):
        raise ValueError(f"{owner}.weight_mv: population {pre.name!r} is declared {pre.dale!r} (Dale's law), so "
                         f"its weights must be {'>= 0' if sign > 0 else '<= 0'}")
    rule = proj.plasticity
    if rule is not None and (sign * rule.w_min_mv < 0 if sign > 0 else sign * rule.w_max_mv < 0):
        key = "w_min_mv" if sign > 0 else "w_max_mv"
        raise ValueError(f"{owner}.plasticity.{key}: would let a weight of {pre.dale} population {pre.name!r} "
                         "change sign (Dale's law)")


KINDS = ("input", "poisson", "lif", "alif", "lif_cond", "izhikevich", "lif_adapt", "integrate_fire")
SPIKING_KINDS = KINDS[2:]


@dataclass(frozen=True)
class ModelParams:
    """Parameters of the non-LIF models (units in names; the LIF table gives the rest).

    alif: adaptive threshold, theta jumps by d_theta_mv at a spike and decays with tau_adapt_ms.
    lif_adapt: spike-frequency-adaptation current w, jumps by d_w_mv at a spike, decays with tau_adapt_ms.
    lif_cond: reversal potentials e_exc_mv / e_inh_mv; weights are conductances relative to the leak.
    izhikevich: a (1/ms), b (1/ms), c (mV reset), d (mV/ms jump of u), Euler sub-steps per tick for v.
    alif, lif_adapt and izhikevich sum both input ports into one current.
    """

    tau_adapt_ms: float = 100.0
    d_theta_mv: float = 1.0
    d_w_mv: float = 1.0
    e_exc_mv: float = 0.0
    e_inh_mv: float = -80.0
    a: float = 0.02
    b: float = 0.2
    c: float = -65.0
    d: float = 8.0
    substeps: int = 2

    def validate(self, owner: str) -> None:
        if not self.tau_adapt_ms > 0:
            raise ValueError(f"{owner}.tau_adapt_ms: must be > 0, got {self.tau_adapt_ms}")
        if self.substeps < 1:
            raise ValueError(f"{owner}.substeps: must be >= 1, got {self.substeps}")


@dataclass(frozen=True)
class PopulationSpec:
    """A group of neurons. ``kind``: ``"input"`` (spikes given to step()), ``"poisson"`` (independent
    Bernoulli-per-tick spikes at ``rate_hz`` per neuron), ``"lif"``, ``"alif"``, ``"lif_cond"``, ``"izhikevich"``,
    ``"lif_adapt"`` or ``"integrate_fire"`` (non-leaky: each tick v += exc + inh input (mV) as it arrives, then
    at most one spike where v >= v_th_mv, with a subtractive reset v -= v_th_mv - v_rest_mv and no refractory
    period; it starts at v_rest_mv).
    ``dale`` (``"exc"`` / ``"inh"``) declares Dale's law: every outgoing weight has that sign, and plastic
    bounds keep it under learning (checked by NetworkSpec.validate). ``v_init_mv`` optionally sets the
    initial membrane potential of each neuron (default: v_rest)."""

    name: str
    size: int
    kind: str = "lif"
    lif: LIFParams = field(default_factory=LIFParams)
    rate_hz: np.ndarray | None = None
    v_init_mv: np.ndarray | None = None
    model: ModelParams = field(default_factory=ModelParams)
    stp: ShortTermPlasticity | None = None
    dale: str = ""

    def validate(self) -> None:
        owner = f"population {self.name!r}"
        if self.size <= 0:
            raise ValueError(f"{owner}.size: must be > 0, got {self.size}")
        if self.kind not in KINDS:
            raise ValueError(f"{owner}.kind: must be one of {', '.join(KINDS)}, got {self.kind!r}")
        self.lif.validate(f"{owner}.lif")
        self.model.validate(f"{owner}.model")
        if self.stp is not None:
            self.stp.validate(f"{owner}.stp")
        if self.dale not in ("", "exc", "inh"):
            raise ValueError(f"{owner}.dale: must be '', 'exc' or 'inh', got {self.dale!r}")
        if self.kind == "poisson":
            if self.rate_hz is None or np.shape(self.rate_hz) != (self.size,):
                raise ValueError(f"{owner}.rate_hz: a poisson population needs one rate per neuron ({self.size})")
            if not np.all(np.isfinite(self.rate_hz)) or np.any(np.asarray(self.rate_hz) < 0):
                raise ValueError(f"{owner}.rate_hz: rates must be finite and >= 0")
        if self.v_init_mv is not None and np.shape(self.v_init_mv) != (self.size,):
            raise ValueError(f"{owner}.v_init_mv: needs one value per neuron ({self.size})")


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
class PairSTDP:
    """Pair-based additive STDP with all-to-all trace interaction and hard bounds.

    On a presynaptic spike: w += a_post_mv * post_trace; on a postsynaptic spike: w += a_pre_mv * pre_trace;
    each clipped to [w_min_mv, w_max_mv]. Traces jump by 1 on a spike and decay with tau_pre_ms / tau_post_ms.
    a_post_mv is negative for depression.
    """

    tau_pre_ms: float = 20.0
    tau_post_ms: float = 20.0
    a_pre_mv: float = 0.005
    a_post_mv: float = -0.00525
    w_min_mv: float = 0.0
    w_max_mv: float = 0.5
    nearest: bool = False

    def validate(self, owner: str) -> None:
        for key in ("tau_pre_ms", "tau_post_ms"):
            if not getattr(self, key) > 0:
                raise ValueError(f"{owner}.{key}: must be > 0, got {getattr(self, key)}")
        if not self.w_max_mv >= self.w_min_mv:
            raise ValueError(f"{owner}.w_max_mv: must be >= w_min_mv ({self.w_min_mv}), got {self.w_max_mv}")


@dataclass(frozen=True)
class TripletSTDP:
    """Triplet STDP (Pfister & Gerstner 2006), all-to-all traces: r1 (tau_pre_ms), r2 (tau_x_ms) per
    presynaptic neuron, o1 (tau_post_ms), o2 (tau_y_ms) per postsynaptic neuron, each +1 per spike.

    Presynaptic spike: w -= o1 * (a2_minus + a3_minus * r2); postsynaptic spike: w += r1 * (a2_plus +
    a3_plus * o2), with r2 and o2 read before the spike's own increment; clipped to [w_min_mv, w_max_mv].
    """

    tau_pre_ms: float = 16.8
    tau_post_ms: float = 33.7
    tau_x_ms: float = 101.0
    tau_y_ms: float = 125.0
    a2_plus: float = 5e-10
    a3_plus: float = 6.2e-3
    a2_minus: float = 7e-3
    a3_minus: float = 2.3e-4
    w_min_mv: float = 0.0
    w_max_mv: float = 1.0

    def validate(self, owner: str) -> None:
        for key in ("tau_pre_ms", "tau_post_ms", "tau_x_ms", "tau_y_ms"):
            if not getattr(self, key) > 0:
                raise ValueError(f"{owner}.{key}: must be > 0, got {getattr(self, key)}")
        if not self.w_max_mv >= self.w_min_mv:
            raise ValueError(f"{owner}.w_max_mv: must be >= w_min_mv ({self.w_min_mv}), got {self.w_max_mv}")


@dataclass(frozen=True)
class ThirdFactorHebb:
    """Three-factor rule with a per-neuron third factor: every presynaptic spike tags its synapses,
    eligibility += a_pre (decaying with tau_eligibility_ms; ``inf`` keeps it until the state is reset); every
    tick w += learning_rate * modulator[post] * eligibility, clipped to [w_min_mv, w_max_mv]. The modulator of
    each readout neuron is the reward given to ``step`` — an array with one value per readout neuron (or one
    float for all) — so a teacher can reward one neuron and punish another (label-gated learning)."""

    a_pre: float = 1.0
    tau_eligibility_ms: float = float("inf")
    learning_rate: float = 1.0
    w_min_mv: float = float("-inf")
    w_max_mv: float = float("inf")

    def validate(self, owner: str) -> None:
        if not self.tau_eligibility_ms > 0:
            raise ValueError(f"{owner}.tau_eligibility_ms: must be > 0, got {self.tau_eligibility_ms}")
        for key in ("a_pre", "learning_rate"):
            if not np.isfinite(getattr(self, key)) or getattr(self, key) < 0:
                raise ValueError(f"{owner}.{key}: must be finite and >= 0, got {getattr(self, key)}")
        if not self.w_max_mv >= self.w_min_mv:
            raise ValueError(f"{owner}.w_max_mv: must be >= w_min_mv ({self.w_min_mv}), got {self.w_max_mv}")


@dataclass(frozen=True)
class ProjectionSpec:
    """Synapses from ``pre`` to ``post`` given as parallel arrays (local neuron indices, weights in mV).

    A spike of presynaptic neuron i adds weight_mv to its target's ``port`` input (``"exc"`` or ``"inh"``,
    each with its own time constant), felt from the next tick, or ``delay_ticks`` ticks later than that.
    ``plasticity`` is None for fixed synapses. ``normalise_sum_mv`` (synaptic scaling) rescales each target
    neuron's incoming weights of this projection to that sum after every block.
    """

    name: str
    pre: str
    post: str
    pre_idx: np.ndarray
    post_idx: np.ndarray
    weight_mv: np.ndarray
    plasticity: RewardSTDP | PairSTDP | TripletSTDP | ThirdFactorHebb | None = None
    port: str = "exc"
    delay_ticks: int = 0
    normalise_sum_mv: float | None = None


@dataclass(frozen=True)
class NetworkSpec:
    """A whole network: populations, projections, the readout population and the tick length (µs).

    Backend-neutral: how a back end stores the state (float64 or float32, fixed point) is an option of the back
    end (its URL), and so are the limits a back end puts on what it can run."""

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
    def input(self) -> PopulationSpec | None:
        return next((p for p in self.populations if p.kind == "input"), None)

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
        kinds = [p.kind for p in self.populations]
        if kinds.count("input") > 1 or ("input" in kinds and kinds[0] != "input"):
            raise ValueError("network.populations: at most one 'input' population, listed first")
        if self.population(self.readout).kind not in SPIKING_KINDS:
            raise ValueError(f"network.readout: {self.readout!r} must be a neuron population")
        names = [p.name for p in self.projections]
        if len(set(names)) != len(names):
            raise ValueError(f"network.projections: duplicate names in {names}")
        for proj in self.projections:
            owner = f"projection {proj.name!r}"
            pre, post = self.population(proj.pre), self.population(proj.post)
            if post.kind not in SPIKING_KINDS:
                raise ValueError(f"{owner}.post: must be a neuron population, {post.name!r} is {post.kind!r}")
            if not 0 <= proj.delay_ticks <= MAX_DELAY_TICKS:
                raise ValueError(f"{owner}.delay_ticks: must be in 0..{MAX_DELAY_TICKS}, got {proj.delay_ticks}")
            check_dale(proj, pre, owner)
            if proj.normalise_sum_mv is not None and not np.isfinite(proj.normalise_sum_mv):
                raise ValueError(f"{owner}.normalise_sum_mv: must be finite, got {proj.normalise_sum_mv}")
            if proj.port not in ("exc", "inh"):
                raise ValueError(f"{owner}.port: must be 'exc' or 'inh', got {proj.port!r}")
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

    def structure_sha256(self) -> str:
        """SHA-256 of what makes this network this network: populations (names, sizes, models, parameters),
        projections (names, ends, synapse index arrays, ports, delays, rules), readout and dt_us. Weights,
        initial potentials and the learning switch are state, not structure: a checkpoint of the same
        network started from other weights still fits; one of another network does not."""
        sha = hashlib.sha256()

        def put(value) -> None:
            if isinstance(value, np.ndarray):
                array = np.ascontiguousarray(value)
                sha.update(json.dumps([array.dtype.str, list(array.shape)]).encode())
                sha.update(array.tobytes())
            else:
                sha.update(json.dumps(value, sort_keys=True, default=repr).encode())
            sha.update(b"\n")

        put(["network", self.readout, int(self.dt_us)])
        for pop in self.populations:
            put(["population", pop.name, int(pop.size), pop.kind, dataclasses.asdict(pop.lif),
                 dataclasses.asdict(pop.model), None if pop.stp is None else dataclasses.asdict(pop.stp), pop.dale])
            put(np.zeros(0) if pop.rate_hz is None else np.asarray(pop.rate_hz, dtype=np.float64))
        for proj in self.projections:
            rule = proj.plasticity
            put(["projection", proj.name, proj.pre, proj.post, proj.port, int(proj.delay_ticks), proj.normalise_sum_mv,
                 None if rule is None else [type(rule).__name__, dataclasses.asdict(rule)]])
            put(np.asarray(proj.pre_idx, dtype=np.int64))
            put(np.asarray(proj.post_idx, dtype=np.int64))
        return sha.hexdigest()
