"""The compile stage: NetworkSpec -> a backend-neutral CompiledNetwork every back end consumes.

What it holds, all in physical units (mV, ms, per-tick decay factors) and in float64:

- populations: model codes (snn.codes), global neuron ranges, one parameter row each, and which are neurons;
- projections: pre/post ranges, port, delay, rule code and rule row (snn.codes), dense flag;
- synapses: CSR by presynaptic neuron (``row_ptr``) and an incoming index by target (``in_ptr``/``in_syn``),
  ``syn_pre``/``syn_post`` global ids, the initial weights in CSR order and ``spec_order``, the permutation
  from CSR order back to the spec's synapse order (``weights_in_spec_order = w_csr[inverse]``, see
  ``to_spec_order``);
- per-neuron trace decays, short-term-plasticity rows, Poisson log-keep factors, initial membrane values.

Conventions a bit-exact back end must follow, fixed here once:
- depression amplitudes are positive magnitudes that are subtracted (``R_A_MINUS``) for every rule: pair STDP's
  ``a_post_mv`` (negative for depression in the spec) is stored negated;
- every neuron model spikes when its membrane reaches its threshold: ``v >= threshold``;
- ``pop_is_neuron`` says which populations integrate (post traces, readout), never the model code's order.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from snn.codes import (
    MODELS, N_POP_PARAMS, N_RULE_PARAMS, P_D_THETA, P_D_W, P_DECAY_ADAPT, P_DECAY_EXC, P_DECAY_INH, P_DECAY_MEM,
    P_DT_MS, P_E_EXC, P_E_INH, P_IZ_A, P_IZ_B, P_IZ_C, P_IZ_D, P_IZ_SUBSTEPS, P_K_ADAPT, P_K_EXC, P_K_INH, P_NOISE,
    P_REFRACTORY, P_TAU_MEM, P_V_RESET, P_V_REST, P_V_TH, PORTS, R_A3_MINUS, R_A3_PLUS, R_A_MINUS, R_A_PLUS,
    R_ELIG_DECAY, R_LEARNING_RATE, R_W_MAX, R_W_MIN, RULE_NONE, RULE_PAIR_STDP, RULE_REWARD_STDP, RULE_THIRD_FACTOR,
    RULE_TRIPLET_STDP,
)
from snn.engine.neuron_models import exact_synapse_gain
from snn.spec import (
    SPIKING_KINDS, LIFParams, NetworkSpec, PairSTDP, PopulationSpec, RewardSTDP, ThirdFactorHebb, TripletSTDP,
)

NEVER_TICK = np.int64(1) << 60
"""A Poisson neuron's next spike tick when its rate is 0."""


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
    """A projection's rule code and parameter row (columns in snn.codes); depression as a positive magnitude."""
    row = np.zeros(N_RULE_PARAMS)
    if rule is None:
        return RULE_NONE, row
    row[R_W_MIN], row[R_W_MAX] = rule.w_min_mv, rule.w_max_mv
    if isinstance(rule, PairSTDP):
        row[R_A_PLUS], row[R_A_MINUS] = rule.a_pre_mv, -rule.a_post_mv
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
    if isinstance(rule, ThirdFactorHebb):
        row[R_A_PLUS], row[R_LEARNING_RATE] = rule.a_pre, rule.learning_rate
        row[R_ELIG_DECAY] = math.exp(-dt_ms / rule.tau_eligibility_ms)
        return RULE_THIRD_FACTOR, row
    raise ValueError(f"compile: unsupported plasticity rule {type(rule).__name__}")


@dataclass(frozen=True)
class CompiledNetwork:
    """A NetworkSpec lowered to flat tables (see the module docstring). Global neuron ids follow the spec's
    population order; synapse arrays are in CSR order (sorted by presynaptic neuron within each projection)."""

    spec: NetworkSpec
    dt_ms: float
    n_neurons: int
    n_input: int
    readout_lo: int
    readout_hi: int
    pop_model: np.ndarray          # int32 [n_pops]
    pop_lo: np.ndarray             # int64 [n_pops]
    pop_hi: np.ndarray             # int64 [n_pops]
    pop_params: np.ndarray         # float64 [n_pops, N_POP_PARAMS]
    pop_is_neuron: np.ndarray      # bool [n_pops]
    proj_pre_lo: np.ndarray        # int64 [n_proj]
    proj_pre_hi: np.ndarray
    proj_post_lo: np.ndarray
    proj_post_hi: np.ndarray
    proj_port: np.ndarray          # int32, PORTS
    proj_delay: np.ndarray         # int64 ticks
    proj_rule: np.ndarray          # int32, RULE_*
    proj_rule_params: np.ndarray   # float64 [n_proj, N_RULE_PARAMS]
    proj_dense: np.ndarray         # bool: all-to-all in row-major order
    proj_row_off: np.ndarray       # int64: first row of the projection in row_ptr
    proj_in_off: np.ndarray        # int64: first column of the projection in in_ptr
    proj_syn_lo: np.ndarray        # int64: first synapse of the projection (CSR and spec order alike)
    proj_syn_hi: np.ndarray
    row_ptr: np.ndarray            # int64
    in_ptr: np.ndarray             # int64
    in_syn: np.ndarray             # int64
    syn_pre: np.ndarray            # int32 global ids
    syn_post: np.ndarray           # int32 global ids
    weight_mv: np.ndarray          # float64, CSR order
    spec_order: np.ndarray         # int64: CSR position k holds spec synapse spec_order[k]
    normalise_sum_mv: np.ndarray   # float64 [n_proj], NaN where the projection is not scaled
    pre_decay: np.ndarray          # float64 [n]: exp(-dt / tau_pre) for plastic presynaptic neurons, else 1
    post_decay: np.ndarray
    pre_decay_slow: np.ndarray     # triplet STDP's slow traces
    post_decay_slow: np.ndarray
    trace_ranges: np.ndarray       # int64 [k, 2]: neuron ranges whose traces run (STDP rules' ends)
    nearest: bool
    baseline_tau_ms: float | None  # reward baseline time constant (ms), None without reward STDP
    stp_params: np.ndarray         # float64 [3, n]: u_base, exp(-dt/tau_facil), exp(-dt/tau_rec); no STP: 1, 0, 0
    has_stp: bool
    log_keep: np.ndarray           # float64 [n]: log(1 - p) of Poisson neurons, else 0
    v_init_mv: np.ndarray          # float64 [n]
    adaptation_init: np.ndarray    # float64 [n]

    @property
    def n_synapses(self) -> int:
        return len(self.syn_pre)

    @property
    def has_triplet(self) -> bool:
        return bool(np.any(self.proj_rule == RULE_TRIPLET_STDP))

    @property
    def n_delay_slots(self) -> int:
        return int(self.proj_delay.max(initial=0)) + 1

    def to_spec_order(self, csr_values: np.ndarray, projection: int) -> np.ndarray:
        """One projection's per-synapse values (CSR order, whole network) in its spec's synapse order."""
        lo, hi = self.proj_syn_lo[projection], self.proj_syn_hi[projection]
        out = np.empty(hi - lo, dtype=csr_values.dtype)
        out[self.spec_order[lo:hi] - lo] = csr_values[lo:hi]
        return out

    def from_spec_order(self, spec_values: np.ndarray, projection: int) -> np.ndarray:
        """The inverse of ``to_spec_order``: spec-ordered values -> this projection's CSR slice."""
        lo, hi = self.proj_syn_lo[projection], self.proj_syn_hi[projection]
        return np.asarray(spec_values)[self.spec_order[lo:hi] - lo]

    def first_poisson_ticks(self, rng: np.random.Generator) -> np.ndarray:
        """Each neuron's first Poisson spike tick, drawn from ``rng`` (NEVER_TICK for silent and non-Poisson)."""
        next_tick = np.full(self.n_neurons, NEVER_TICK, dtype=np.int64)
        for p, pop in enumerate(self.spec.populations):
            if pop.kind == "poisson":
                lo, hi = self.pop_lo[p], self.pop_hi[p]
                keep = self.log_keep[lo:hi]
                with np.errstate(divide="ignore", invalid="ignore"):
                    first = np.floor(np.log(1.0 - rng.random(pop.size)) / keep)
                next_tick[lo:hi] = np.where(keep < 0, np.minimum(first, 2.0 ** 60), 2.0 ** 60).astype(np.int64)
        return next_tick


def compile_network(spec: NetworkSpec) -> CompiledNetwork:
    """Validate ``spec`` and lower it to a CompiledNetwork (deterministic: no random draws)."""
    spec.validate()
    dt_ms = spec.dt_us / 1000.0
    offsets = spec.offsets()
    n = spec.n_neurons
    pops = spec.populations
    pop_lo = np.array([offsets[p.name] for p in pops], dtype=np.int64)
    pop_hi = pop_lo + np.array([p.size for p in pops], dtype=np.int64)
    v_init, adapt, log_keep = np.zeros(n), np.zeros(n), np.zeros(n)
    stp_params = np.zeros((3, n))
    stp_params[0] = 1.0
    for p, pop in enumerate(pops):
        sl = slice(pop_lo[p], pop_hi[p])
        v_init[sl] = pop.lif.v_rest_mv if pop.v_init_mv is None else pop.v_init_mv
        if pop.kind == "izhikevich":
            adapt[sl] = pop.model.b * v_init[sl]
        if pop.kind == "poisson":
            prob = np.clip(np.asarray(pop.rate_hz, dtype=np.float64) * dt_ms / 1000.0, 0.0, 1.0)
            with np.errstate(divide="ignore"):
                log_keep[sl] = np.where(prob > 0, np.log1p(-prob), 0.0)
        if pop.stp is not None:
            decay = lambda tau: math.exp(-dt_ms / tau) if tau > 0 else 0.0  # noqa: E731
            stp_params[:, sl] = np.array([[pop.stp.u_base], [decay(pop.stp.tau_facil_ms)], [decay(pop.stp.tau_rec_ms)]])

    proj = spec.projections
    size = {p.name: p.size for p in pops}
    pre_lo = np.array([offsets[c.pre] for c in proj], dtype=np.int64)
    pre_hi = pre_lo + np.array([size[c.pre] for c in proj], dtype=np.int64)
    post_lo = np.array([offsets[c.post] for c in proj], dtype=np.int64)
    post_hi = post_lo + np.array([size[c.post] for c in proj], dtype=np.int64)
    rules = [rule_row(c.plasticity, dt_ms) for c in proj]
    pre_decay, post_decay = np.ones(n), np.ones(n)
    pre_decay_slow, post_decay_slow = np.ones(n), np.ones(n)
    baseline_tau_ms = None
    row_ptr, in_ptr, in_syn, syn_pre, syn_post, weights, order, dense = [], [], [], [], [], [], [], []
    row_off, in_off = np.zeros(len(proj), dtype=np.int64), np.zeros(len(proj), dtype=np.int64)
    syn_lo, syn_hi = np.zeros(len(proj), dtype=np.int64), np.zeros(len(proj), dtype=np.int64)
    n_syn = n_rows = n_cols = 0
    for c, projection in enumerate(proj):
        n_pre, n_post = size[projection.pre], size[projection.post]
        by_pre = np.argsort(projection.pre_idx, kind="stable")
        pre_local = np.asarray(projection.pre_idx)[by_pre]
        post_local = np.asarray(projection.post_idx)[by_pre]
        row_off[c], in_off[c], syn_lo[c] = n_rows, n_cols, n_syn
        ptr = np.zeros(n_pre + 1, dtype=np.int64)
        np.cumsum(np.bincount(pre_local, minlength=n_pre), out=ptr[1:])
        row_ptr.append(ptr + n_syn)
        n_rows += n_pre + 1
        cptr = np.zeros(n_post + 1, dtype=np.int64)
        np.cumsum(np.bincount(post_local, minlength=n_post), out=cptr[1:])
        in_ptr.append(cptr + n_syn)
        in_syn.append(np.argsort(post_local, kind="stable").astype(np.int64) + n_syn)
        n_cols += n_post + 1
        syn_pre.append(pre_local.astype(np.int64) + offsets[projection.pre])
        syn_post.append(post_local.astype(np.int64) + offsets[projection.post])
        weights.append(np.asarray(projection.weight_mv, dtype=np.float64)[by_pre])
        order.append(by_pre + n_syn)
        dense.append(len(pre_local) == n_pre * n_post and bool(np.all(np.diff(ptr) == n_post))
                     and np.array_equal(post_local, np.tile(np.arange(n_post), n_pre)))
        n_syn += len(pre_local)
        syn_hi[c] = n_syn
        rule = projection.plasticity
        if rule is not None and not isinstance(rule, ThirdFactorHebb):
            pre_decay[pre_lo[c]:pre_hi[c]] = math.exp(-dt_ms / rule.tau_pre_ms)
            post_decay[post_lo[c]:post_hi[c]] = math.exp(-dt_ms / rule.tau_post_ms)
            if isinstance(rule, RewardSTDP):
                baseline_tau_ms = rule.tau_baseline_ms
            if isinstance(rule, TripletSTDP):
                pre_decay_slow[pre_lo[c]:pre_hi[c]] = math.exp(-dt_ms / rule.tau_x_ms)
                post_decay_slow[post_lo[c]:post_hi[c]] = math.exp(-dt_ms / rule.tau_y_ms)
    cat = lambda parts, kind: np.concatenate(parts).astype(kind) if parts else np.zeros(0, kind)  # noqa: E731
    plastic = [c for c, projection in enumerate(proj)
               if projection.plasticity is not None and not isinstance(projection.plasticity, ThirdFactorHebb)]
    ranges = sorted({(int(lo), int(hi)) for c in plastic
                     for lo, hi in ((pre_lo[c], pre_hi[c]), (post_lo[c], post_hi[c]))})
    readout_lo = offsets[spec.readout]
    return CompiledNetwork(
        spec=spec, dt_ms=dt_ms, n_neurons=n, n_input=spec.input.size if spec.input is not None else 0,
        readout_lo=readout_lo, readout_hi=readout_lo + size[spec.readout],
        pop_model=np.array([MODELS[p.kind] for p in pops], dtype=np.int32), pop_lo=pop_lo, pop_hi=pop_hi,
        pop_params=np.stack([population_row(p, dt_ms) for p in pops]),
        pop_is_neuron=np.array([p.kind in SPIKING_KINDS for p in pops], dtype=np.bool_),
        proj_pre_lo=pre_lo, proj_pre_hi=pre_hi, proj_post_lo=post_lo, proj_post_hi=post_hi,
        proj_port=np.array([PORTS[c.port] for c in proj], dtype=np.int32),
        proj_delay=np.array([c.delay_ticks for c in proj], dtype=np.int64),
        proj_rule=np.array([r[0] for r in rules], dtype=np.int32),
        proj_rule_params=np.stack([r[1] for r in rules]) if rules else np.zeros((0, N_RULE_PARAMS)),
        proj_dense=np.array(dense, dtype=np.bool_), proj_row_off=row_off, proj_in_off=in_off,
        proj_syn_lo=syn_lo, proj_syn_hi=syn_hi,
        row_ptr=cat(row_ptr, np.int64), in_ptr=cat(in_ptr, np.int64), in_syn=cat(in_syn, np.int64),
        syn_pre=cat(syn_pre, np.int32), syn_post=cat(syn_post, np.int32), weight_mv=cat(weights, np.float64),
        spec_order=cat(order, np.int64),
        normalise_sum_mv=np.array([np.nan if c.normalise_sum_mv is None else c.normalise_sum_mv for c in proj]),
        pre_decay=pre_decay, post_decay=post_decay, pre_decay_slow=pre_decay_slow, post_decay_slow=post_decay_slow,
        trace_ranges=np.array(ranges, dtype=np.int64).reshape(-1, 2),
        nearest=any(getattr(c.plasticity, "nearest", False) for c in proj), baseline_tau_ms=baseline_tau_ms,
        stp_params=stp_params, has_stp=any(pop.stp is not None for pop in pops), log_keep=log_keep,
        v_init_mv=v_init, adaptation_init=adapt,
    )
