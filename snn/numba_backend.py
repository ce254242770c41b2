"""NumbaBackend: the reference (float64) back end; owns the network's state arrays and calls the kernels.

State families: learned (weight_mv, reward_baseline), transient (v, currents, traces, eligibility, RNG).
"""
from __future__ import annotations

import math

import numpy as np

from snn.frames import SpikeFrames
from snn.network_kernel import run_block
from snn.rng import make_rng_state
from snn.spec import NetworkSpec

LEARNED = ("weight_mv", "reward_baseline")
TRANSIENT = (
    "v_mv", "i_syn_mv", "refractory_left", "pre_trace", "post_trace", "eligibility", "rng_state",
)


class NumbaBackend:
    """Compile a NetworkSpec into flat arrays (global neuron ids, CSR synapses) and run it in blocks of ticks."""

    name = "numba"

    def __init__(self) -> None:
        self.spec: NetworkSpec | None = None

    def load(self, spec: NetworkSpec, seed: int) -> None:
        spec.validate()
        self.spec = spec
        dt_ms = spec.dt_us / 1000.0
        offsets = spec.offsets()
        n = spec.n_neurons
        self.n_input = spec.input.size
        self.readout_lo = offsets[spec.readout]
        self.readout_hi = self.readout_lo + spec.population(spec.readout).size

        per_neuron = {k: np.zeros(n) for k in ("decay_mem", "decay_syn", "v_rest_mv", "v_reset_mv", "v_th_mv", "noise_mv")}
        self.refractory_ticks = np.zeros(n, dtype=np.int32)
        for pop in spec.populations:
            sl = slice(offsets[pop.name], offsets[pop.name] + pop.size)
            p = pop.lif
            per_neuron["decay_mem"][sl] = math.exp(-dt_ms / p.tau_mem_ms)
            per_neuron["decay_syn"][sl] = math.exp(-dt_ms / p.tau_syn_ms)
            per_neuron["v_rest_mv"][sl] = p.v_rest_mv
            per_neuron["v_reset_mv"][sl] = p.v_reset_mv
            per_neuron["v_th_mv"][sl] = p.v_th_mv
            per_neuron["noise_mv"][sl] = p.noise_mv
            self.refractory_ticks[sl] = int(round(p.refractory_ms / dt_ms))
        self.params = per_neuron

        pre, post, weight, plastic = [], [], [], []
        rule_cols = {k: [] for k in ("a_plus", "a_minus", "learning_rate", "w_min_mv", "w_max_mv", "eligibility_decay")}
        self.pre_decay = self.post_decay = 0.0
        self.baseline_decay = 1.0
        for proj in spec.projections:
            m = len(proj.pre_idx)
            pre.append(proj.pre_idx.astype(np.int64) + offsets[proj.pre])
            post.append(proj.post_idx.astype(np.int64) + offsets[proj.post])
            weight.append(proj.weight_mv.astype(np.float64))
            rule = proj.plasticity
            plastic.append(np.full(m, rule is not None))
            values = {
                "a_plus": rule.a_plus if rule else 0.0,
                "a_minus": rule.a_minus if rule else 0.0,
                "learning_rate": rule.learning_rate if rule else 0.0,
                "w_min_mv": rule.w_min_mv if rule else -np.inf,
                "w_max_mv": rule.w_max_mv if rule else np.inf,
                "eligibility_decay": math.exp(-dt_ms / rule.tau_eligibility_ms) if rule else 0.0,
            }
            for key, value in values.items():
                rule_cols[key].append(np.full(m, value))
            if rule is not None:
                self.pre_decay = math.exp(-dt_ms / rule.tau_pre_ms)
                self.post_decay = math.exp(-dt_ms / rule.tau_post_ms)
                self.baseline_tau_ms = rule.tau_baseline_ms
        cat = lambda parts, dtype: np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)  # noqa: E731
        syn_pre, syn_post = cat(pre, np.int64), cat(post, np.int64)
        order = np.argsort(syn_pre, kind="stable")
        self.syn_pre = syn_pre[order].astype(np.int32)
        self.syn_post = syn_post[order].astype(np.int32)
        self.syn_ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.syn_pre, minlength=n), out=self.syn_ptr[1:])
        self.in_syn = np.argsort(self.syn_post, kind="stable").astype(np.int64)
        self.in_ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.syn_post, minlength=n), out=self.in_ptr[1:])
        self.rule = {k: cat(v, np.float64)[order] for k, v in rule_cols.items()}
        self.plastic_syn = np.flatnonzero(cat(plastic, np.bool_)[order]).astype(np.int64)
        self.has_plasticity = len(self.plastic_syn) > 0
        self.learning = spec.learning

        self.arrays: dict[str, np.ndarray] = {
            "weight_mv": cat(weight, np.float64)[order],
            "reward_baseline": np.zeros(1),
            "v_mv": per_neuron["v_rest_mv"].copy(),
            "i_syn_mv": np.zeros(n),
            "refractory_left": np.zeros(n, dtype=np.int32),
            "pre_trace": np.zeros(n),
            "post_trace": np.zeros(n),
            "eligibility": np.zeros(len(self.syn_pre)),
            "rng_state": make_rng_state(seed),
        }
        self._spiked = np.zeros(n, dtype=np.int32)
        self._synapse_order = order

    @property
    def n_readout(self) -> int:
        return self.readout_hi - self.readout_lo

    def step(self, inputs: SpikeFrames, reward: float) -> SpikeFrames:
        """Advance len(inputs) ticks. ``reward`` (dimensionless) sets dopamine = reward - running baseline."""
        if self.spec is None:
            raise RuntimeError("numba backend: load() a network before step()")
        self._check_inputs(inputs)
        a = self.arrays
        n_ticks = inputs.n_ticks
        dopamine = 0.0
        if self.has_plasticity:
            baseline = a["reward_baseline"]
            dopamine = float(reward) - baseline[0]
            if self.learning:
                alpha = 1.0 - math.exp(-n_ticks * self.spec.dt_us / 1000.0 / self.baseline_tau_ms)
                baseline[0] += alpha * dopamine
        out_ptr = np.zeros(n_ticks + 1, dtype=np.int64)
        out_ids = np.empty(n_ticks * self.n_readout, dtype=np.int32)
        p = self.params
        n_out = run_block(
            inputs.tick_ptr, inputs.neuron_ids, self.n_input,
            a["v_mv"], a["i_syn_mv"], a["refractory_left"],
            p["decay_mem"], p["decay_syn"], p["v_rest_mv"], p["v_reset_mv"], p["v_th_mv"], self.refractory_ticks,
            p["noise_mv"], a["rng_state"],
            self.syn_ptr, self.syn_post, self.syn_pre, self.in_ptr, self.in_syn, a["weight_mv"],
            self.plastic_syn, self.rule["a_plus"], self.rule["a_minus"], self.rule["learning_rate"],
            self.rule["w_min_mv"], self.rule["w_max_mv"], self.rule["eligibility_decay"],
            a["pre_trace"], a["post_trace"], a["eligibility"], self.pre_decay, self.post_decay,
            dopamine, self.learning, self.readout_lo, self.readout_hi, self._spiked, out_ptr, out_ids,
        )
        return SpikeFrames(out_ptr, out_ids[:n_out])

    def _check_inputs(self, inputs: SpikeFrames) -> None:
        """Refuse ids outside the input population and repeated ids in a tick (they would overrun buffers)."""
        inputs.validate(self.n_input, name="numba backend: input spikes")
        if inputs.n_ticks and int(np.diff(inputs.tick_ptr).max()) > self.n_input:
            raise ValueError(f"numba backend: input spikes: more spikes in one tick than the {self.n_input} input neurons")

    def set_learning(self, enabled: bool) -> None:
        """Switch on-line weight updates on or off (traces keep running either way)."""
        self.learning = bool(enabled)

    def weights(self, projection: str) -> np.ndarray:
        """Current weights (mV) of one projection, in the order of its spec's synapse arrays."""
        start = 0
        for proj in self.spec.projections:
            if proj.name == projection:
                unsorted = np.empty_like(self.arrays["weight_mv"])
                unsorted[self._synapse_order] = self.arrays["weight_mv"]
                return unsorted[start : start + len(proj.pre_idx)].copy()
            start += len(proj.pre_idx)
        raise ValueError(f"numba backend: no projection named {projection!r}")

    def state(self) -> dict[str, np.ndarray]:
        return {k: v.copy() for k, v in self.arrays.items()}

    def restore(self, state: dict[str, np.ndarray]) -> None:
        for key, current in self.arrays.items():
            if key not in state:
                raise ValueError(f"numba backend: state has no array {key!r}")
            value = np.asarray(state[key])
            if value.shape != current.shape or value.dtype != current.dtype:
                raise ValueError(
                    f"numba backend: array {key!r} is {value.dtype}{list(value.shape)}, "
                    f"this network needs {current.dtype}{list(current.shape)}"
                )
        for key in self.arrays:
            self.arrays[key][...] = state[key]

    def close(self) -> None:
        self.spec = None
