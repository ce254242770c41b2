"""NumbaBackend: the reference back end; compiles a NetworkSpec into flat arrays and runs snn.engine_kernel.

State families: learned (weight_mv, reward_baseline), transient (potentials, inputs, traces, eligibility,
Poisson schedule, RNG, tick counter). Float64 by default; float32 when the spec asks for it.
"""
from __future__ import annotations

import math

import numpy as np

from snn.codes import (
    MODELS, N_POP_PARAMS, N_RULE_PARAMS, P_D_W, P_K_ADAPT, P_D_THETA, P_DECAY_ADAPT, P_DT_MS, P_E_EXC, P_E_INH, P_IZ_A, P_IZ_B,
    P_IZ_C, P_IZ_D, P_IZ_SUBSTEPS, P_TAU_MEM, P_DECAY_EXC, P_DECAY_INH, P_DECAY_MEM, P_K_EXC, P_K_INH, P_NOISE,
    P_REFRACTORY, P_V_RESET, P_V_REST, P_V_TH, PORTS, R_A_MINUS, R_A_PLUS, R_ELIG_DECAY, R_LEARNING_RATE, R_W_MAX,
    R_W_MIN, RULE_NONE, RULE_PAIR_STDP, RULE_REWARD_STDP, RULE_TRIPLET_STDP, R_A3_MINUS, R_A3_PLUS,
)
from snn.engine_kernel import run_ticks
from snn.frames import SpikeFrames
from snn.homeostasis import normalise_incoming
from snn.neuron_models import exact_synapse_gain
from snn.rng import make_rng_state
from snn.spec import LIFParams, NetworkSpec, PairSTDP, PopulationSpec, RewardSTDP, TripletSTDP

MIN_OUT_CAPACITY = 1 << 16


def population_row(pop: PopulationSpec, dt_ms: float) -> np.ndarray:
    """A population's parameter row (columns in snn.codes): LIF columns plus its model's own."""
    row = lif_row(pop.lif, dt_ms)
    m = pop.model
    row[P_DECAY_ADAPT], row[P_D_THETA] = math.exp(-dt_ms / m.tau_adapt_ms), m.d_theta_mv
    row[P_E_EXC], row[P_E_INH], row[P_DT_MS], row[P_TAU_MEM] = m.e_exc_mv, m.e_inh_mv, dt_ms, pop.lif.tau_mem_ms
    row[P_IZ_A], row[P_IZ_B], row[P_IZ_C], row[P_IZ_D], row[P_IZ_SUBSTEPS] = m.a, m.b, m.c, m.d, m.substeps
    row[P_K_ADAPT] = exact_synapse_gain(dt_ms, pop.lif.tau_mem_ms, m.tau_adapt_ms)
    row[P_D_W] = m.d_w_mv
    return row


def lif_row(p: LIFParams, dt_ms: float) -> np.ndarray:
    """The LIF columns of a population's parameter row (columns in snn.codes)."""
    row = np.zeros(N_POP_PARAMS)
    row[P_V_REST], row[P_V_RESET], row[P_V_TH] = p.v_rest_mv, p.v_reset_mv, p.v_th_mv
    row[P_DECAY_MEM] = math.exp(-dt_ms / p.tau_mem_ms)
    row[P_K_EXC] = exact_synapse_gain(dt_ms, p.tau_mem_ms, p.tau_exc_ms)
    row[P_K_INH] = exact_synapse_gain(dt_ms, p.tau_mem_ms, p.tau_inh_ms)
    row[P_DECAY_EXC] = math.exp(-dt_ms / p.tau_exc_ms)
    row[P_DECAY_INH] = math.exp(-dt_ms / p.tau_inh_ms)
    row[P_REFRACTORY] = round(p.refractory_ms / dt_ms)
    row[P_NOISE] = p.noise_mv
    return row


def rule_row(rule, dt_ms: float) -> tuple[int, np.ndarray]:
    """A projection's rule code and parameter row (columns in snn.codes)."""
    row = np.zeros(N_RULE_PARAMS)
    if rule is None:
        return RULE_NONE, row
    row[R_W_MIN], row[R_W_MAX] = rule.w_min_mv, rule.w_max_mv
    if isinstance(rule, PairSTDP):
        row[R_A_PLUS], row[R_A_MINUS] = rule.a_pre_mv, rule.a_post_mv
        return RULE_PAIR_STDP, row
    if isinstance(rule, TripletSTDP):
        row[R_A_PLUS], row[R_A_MINUS] = rule.a2_plus, rule.a2_minus
        row[R_A3_PLUS], row[R_A3_MINUS] = rule.a3_plus, rule.a3_minus
        return RULE_TRIPLET_STDP, row
    if isinstance(rule, RewardSTDP):
        row[R_A_PLUS], row[R_A_MINUS] = rule.a_plus, rule.a_minus
        row[R_LEARNING_RATE] = rule.learning_rate
        row[R_ELIG_DECAY] = math.exp(-dt_ms / rule.tau_eligibility_ms)
        return RULE_REWARD_STDP, row
    raise ValueError(f"numba backend: unsupported plasticity rule {type(rule).__name__}")


class NumbaBackend:
    """Run a NetworkSpec in blocks of ticks: one Numba call per block, no Python per spike or neuron."""

    name = "numba"

    def __init__(self) -> None:
        self.spec: NetworkSpec | None = None

    def load(self, spec: NetworkSpec, seed: int) -> None:
        spec.validate()
        self.spec = spec
        dtype = np.dtype(spec.dtype)
        dt_ms = spec.dt_us / 1000.0
        offsets = spec.offsets()
        n = spec.n_neurons
        self.n_input = spec.input.size if spec.input is not None else 0
        self.readout_lo = offsets[spec.readout]
        self.readout_hi = self.readout_lo + spec.population(spec.readout).size
        rng = np.random.default_rng(seed)

        n_pops = len(spec.populations)
        self.pop_model = np.array([MODELS[p.kind] for p in spec.populations], dtype=np.int32)
        self.pop_lo = np.array([offsets[p.name] for p in spec.populations], dtype=np.int64)
        self.pop_hi = self.pop_lo + np.array([p.size for p in spec.populations], dtype=np.int64)
        self.pop_params = np.stack([population_row(p, dt_ms) for p in spec.populations]).astype(dtype)
        v = np.zeros(n, dtype=dtype)
        adapt = np.zeros(n, dtype=dtype)
        self.log_keep = np.zeros(n)
        next_tick = np.full(n, np.int64(1) << 60, dtype=np.int64)
        for p, pop in enumerate(spec.populations):
            sl = slice(self.pop_lo[p], self.pop_hi[p])
            v[sl] = pop.lif.v_rest_mv if pop.v_init_mv is None else pop.v_init_mv
            if pop.kind == "izhikevich":
                adapt[sl] = pop.model.b * v[sl]
            if pop.kind == "poisson":
                prob = np.clip(np.asarray(pop.rate_hz, dtype=np.float64) * dt_ms / 1000.0, 0.0, 1.0)
                with np.errstate(divide="ignore"):
                    self.log_keep[sl] = np.where(prob > 0, np.log1p(-prob), 0.0)
                    first = np.floor(np.log(1.0 - rng.random(pop.size)) / self.log_keep[sl])
                next_tick[sl] = np.where(prob > 0, np.minimum(first, 2.0 ** 60), 2.0 ** 60).astype(np.int64)

        pre_decay, post_decay = np.ones(n, dtype=dtype), np.ones(n, dtype=dtype)
        pre_decay2, post_decay2 = np.ones(n, dtype=dtype), np.ones(n, dtype=dtype)
        self.baseline_tau_ms = None
        proj = spec.projections
        self.proj_pre_lo = np.array([offsets[c.pre] for c in proj], dtype=np.int64)
        self.proj_pre_hi = np.array([offsets[c.pre] + spec.population(c.pre).size for c in proj], dtype=np.int64)
        self.proj_post_lo = np.array([offsets[c.post] for c in proj], dtype=np.int64)
        self.proj_post_hi = np.array([offsets[c.post] + spec.population(c.post).size for c in proj], dtype=np.int64)
        self.proj_port = np.array([PORTS[c.port] for c in proj], dtype=np.int32)
        rules = [rule_row(c.plasticity, dt_ms) for c in proj]
        self.proj_rule = np.array([r[0] for r in rules], dtype=np.int32)
        self.proj_rule_params = np.stack([r[1] for r in rules]) if rules else np.zeros((0, N_RULE_PARAMS))
        row_ptr, in_ptr, in_syn, syn_pre, syn_post, weights, order, dense = [], [], [], [], [], [], [], []
        self.proj_row_off = np.zeros(len(proj), dtype=np.int64)
        self.proj_in_off = np.zeros(len(proj), dtype=np.int64)
        n_syn = n_rows = n_cols = 0
        for c, projection in enumerate(proj):
            n_pre = spec.population(projection.pre).size
            n_post = spec.population(projection.post).size
            by_pre = np.argsort(projection.pre_idx, kind="stable")
            pre_local = np.asarray(projection.pre_idx)[by_pre]
            post_local = np.asarray(projection.post_idx)[by_pre]
            self.proj_row_off[c] = n_rows
            ptr = np.zeros(n_pre + 1, dtype=np.int64)
            np.cumsum(np.bincount(pre_local, minlength=n_pre), out=ptr[1:])
            row_ptr.append(ptr + n_syn)
            n_rows += n_pre + 1
            self.proj_in_off[c] = n_cols
            cptr = np.zeros(n_post + 1, dtype=np.int64)
            np.cumsum(np.bincount(post_local, minlength=n_post), out=cptr[1:])
            in_ptr.append(cptr + n_syn)
            in_syn.append(np.argsort(post_local, kind="stable").astype(np.int64) + n_syn)
            n_cols += n_post + 1
            syn_pre.append(pre_local.astype(np.int64) + offsets[projection.pre])
            syn_post.append(post_local.astype(np.int64) + offsets[projection.post])
            weights.append(np.asarray(projection.weight_mv)[by_pre])
            order.append(by_pre + n_syn)
            dense.append(len(pre_local) == n_pre * n_post and np.all(np.diff(ptr) == n_post)
                         and np.array_equal(post_local, np.tile(np.arange(n_post), n_pre)))
            n_syn += len(pre_local)
            rule = projection.plasticity
            if rule is not None:
                pre_decay[self.proj_pre_lo[c]:self.proj_pre_hi[c]] = math.exp(-dt_ms / rule.tau_pre_ms)
                post_decay[self.proj_post_lo[c]:self.proj_post_hi[c]] = math.exp(-dt_ms / rule.tau_post_ms)
                if isinstance(rule, RewardSTDP):
                    self.baseline_tau_ms = rule.tau_baseline_ms
                if isinstance(rule, TripletSTDP):
                    pre_decay2[self.proj_pre_lo[c]:self.proj_pre_hi[c]] = math.exp(-dt_ms / rule.tau_x_ms)
                    post_decay2[self.proj_post_lo[c]:self.proj_post_hi[c]] = math.exp(-dt_ms / rule.tau_y_ms)
        cat = lambda parts, kind: np.concatenate(parts).astype(kind) if parts else np.zeros(0, kind)  # noqa: E731
        self.row_ptr, self.in_ptr, self.in_syn = cat(row_ptr, np.int64), cat(in_ptr, np.int64), cat(in_syn, np.int64)
        self.syn_pre, self.syn_post = cat(syn_pre, np.int32), cat(syn_post, np.int32)
        self._spec_order = cat(order, np.int64)
        self.proj_dense = np.array(dense, dtype=np.bool_)
        self.pre_decay, self.post_decay = pre_decay, post_decay
        self.pre_decay2, self.post_decay2 = pre_decay2, post_decay2
        self.proj_delay = np.array([c.delay_ticks for c in proj], dtype=np.int64)
        n_slots = int(self.proj_delay.max(initial=0)) + 1
        self.stp_params = np.zeros((3, n))  # u_base, exp(-dt/tau_facil), exp(-dt/tau_rec); no STP: 1, 0, 0
        self.stp_params[0] = 1.0
        for p, pop in enumerate(spec.populations):
            if pop.stp is not None:
                sl = slice(self.pop_lo[p], self.pop_hi[p])
                decay = lambda tau: math.exp(-dt_ms / tau) if tau > 0 else 0.0  # noqa: E731
                self.stp_params[:, sl] = np.array([[pop.stp.u_base], [decay(pop.stp.tau_facil_ms)],
                                                   [decay(pop.stp.tau_rec_ms)]])
        self.has_stp = any(pop.stp is not None for pop in spec.populations)
        self.has_triplet = bool(np.any(self.proj_rule == RULE_TRIPLET_STDP))
        self.nearest = any(getattr(c.plasticity, "nearest", False) for c in proj)
        self._scaling = [(self.in_ptr[self.proj_in_off[c]:self.proj_in_off[c] + spec.population(pr.post).size + 1],
                          np.full(spec.population(pr.post).size, pr.normalise_sum_mv))
                         for c, pr in enumerate(proj) if pr.normalise_sum_mv is not None]
        self._efficacy = np.ones(n)
        plastic = [c for c, projection in enumerate(proj) if projection.plasticity is not None]
        ranges = sorted({(int(lo), int(hi)) for c in plastic for lo, hi in (
            (self.proj_pre_lo[c], self.proj_pre_hi[c]), (self.proj_post_lo[c], self.proj_post_hi[c]))})
        self.trace_ranges = np.array(ranges, dtype=np.int64).reshape(-1, 2)
        self.learning = spec.learning
        self.arrays: dict[str, np.ndarray] = {
            "weight_mv": cat(weights, dtype),
            "reward_baseline": np.zeros(1),
            "v_mv": v,
            "g_exc_mv": np.zeros(n, dtype=dtype),
            "g_inh_mv": np.zeros(n, dtype=dtype),
            "refractory_left": np.zeros(n, dtype=np.int32),
            "adaptation": adapt,
            "pre_trace": np.zeros(n, dtype=dtype),
            "post_trace": np.zeros(n, dtype=dtype),
            "pre_trace_slow": np.zeros(n, dtype=dtype),
            "post_trace_slow": np.zeros(n, dtype=dtype),
            "eligibility": np.zeros(n_syn, dtype=dtype),
            "next_tick": next_tick,
            "ring_exc_mv": np.zeros((n_slots, n), dtype=dtype),
            "ring_inh_mv": np.zeros((n_slots, n), dtype=dtype),
            "stp_u": self.stp_params[0].astype(dtype),
            "stp_x": np.ones(n, dtype=dtype),
            "stp_last_tick": np.zeros(n, dtype=np.int64),
            "rng_state": make_rng_state(seed),
            "tick": np.zeros(1, dtype=np.int64),
        }
        self._spiked = np.zeros(n, dtype=np.int32)
        self._fired = np.zeros(-(-n // 8) * 8, dtype=np.uint8)
        self._pop_spike_end = np.zeros(n_pops, dtype=np.int64)
        self._out_ids = np.empty(MIN_OUT_CAPACITY, dtype=np.int32)

    @property
    def n_readout(self) -> int:
        return self.readout_hi - self.readout_lo

    def _check_inputs(self, inputs: SpikeFrames) -> None:
        """Refuse ids outside the input population and more spikes in a tick than input neurons."""
        inputs.validate(self.n_input, name="numba backend: input spikes")
        if inputs.n_ticks and int(np.diff(inputs.tick_ptr).max()) > self.n_input:
            raise ValueError(f"numba backend: input spikes: more spikes in one tick than the {self.n_input} input neurons")

    def step(self, inputs: SpikeFrames, reward: float) -> SpikeFrames:
        """Advance len(inputs) ticks. ``reward`` (dimensionless) sets dopamine = reward - running baseline."""
        if self.spec is None:
            raise RuntimeError("numba backend: load() a network before step()")
        self._check_inputs(inputs)
        a = self.arrays
        n_ticks = inputs.n_ticks
        dopamine = 0.0
        if self.baseline_tau_ms is not None:
            baseline = a["reward_baseline"]
            dopamine = float(reward) - baseline[0]
            if self.learning:
                baseline[0] += (1.0 - math.exp(-n_ticks * self.spec.dt_us / 1000.0 / self.baseline_tau_ms)) * dopamine
        out_ptr = np.zeros(n_ticks + 1, dtype=np.int64)
        done = n_out = 0
        while done < n_ticks:
            if len(self._out_ids) - n_out < self.n_readout:
                self._out_ids = np.concatenate((self._out_ids, np.empty(len(self._out_ids), dtype=np.int32)))
            ptr = inputs.tick_ptr[done:]
            ticks, count = run_ticks(
                a["tick"][0], n_ticks - done, ptr - ptr[0], inputs.neuron_ids[ptr[0]:],
                self.pop_model, self.pop_lo, self.pop_hi, self.pop_params,
                a["v_mv"], a["g_exc_mv"], a["g_inh_mv"], a["refractory_left"], a["adaptation"], self._fired, a["next_tick"], self.log_keep,
                a["rng_state"], a["pre_trace"], a["post_trace"], self.pre_decay, self.post_decay, self.trace_ranges,
                a["pre_trace_slow"], a["post_trace_slow"], self.pre_decay2, self.post_decay2, self.has_triplet,
                self.nearest,
                self.has_stp, a["stp_u"], a["stp_x"], a["stp_last_tick"], self.stp_params[0], self.stp_params[1],
                self.stp_params[2], self._efficacy, self.proj_delay, a["ring_exc_mv"], a["ring_inh_mv"],
                self.proj_pre_lo, self.proj_pre_hi, self.proj_post_lo, self.proj_post_hi, self.proj_dense, self.proj_port,
                self.proj_rule, self.proj_rule_params, self.proj_row_off, self.proj_in_off, self.row_ptr,
                self.in_ptr, self.in_syn, self.syn_pre, self.syn_post, a["weight_mv"], a["eligibility"],
                dopamine, self.learning, self.readout_lo, self.readout_hi, self._spiked, self._pop_spike_end,
                out_ptr[done:], self._out_ids[n_out:],
            )
            out_ptr[done:done + ticks + 1] += n_out
            a["tick"][0] += ticks
            done += ticks
            n_out += count
        if self.learning:
            for in_ptr, target_sum_mv in self._scaling:
                normalise_incoming(in_ptr, self.in_syn, a["weight_mv"], target_sum_mv)
        return SpikeFrames(out_ptr, self._out_ids[:n_out].copy())

    def set_learning(self, enabled: bool) -> None:
        """Switch on-line weight updates on or off (traces keep running either way)."""
        self.learning = bool(enabled)

    def weights(self, projection: str) -> np.ndarray:
        """Current weights (mV) of one projection, in the order of its spec's synapse arrays."""
        start = 0
        for proj in self.spec.projections:
            if proj.name == projection:
                unsorted = np.empty_like(self.arrays["weight_mv"])
                unsorted[self._spec_order] = self.arrays["weight_mv"]
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

