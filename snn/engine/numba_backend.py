"""NumbaBackend: the reference back end. Allocates state for a CompiledNetwork (snn.compile) and runs
snn.engine.kernel.run_ticks, one Numba call per block.

State (see ``state()``): portable arrays named by spec objects, which any back end can read —
``projection/<name>/weight_mv`` and ``projection/<name>/eligibility`` (reward STDP) in the spec's synapse
order; ``population/<name>/v_mv``, ``g_exc_mv``, ``g_inh_mv``, ``refractory_ticks``, ``adaptation`` (alif:
threshold offset, lif_adapt: adaptation current, izhikevich: recovery variable, all mV), ``pre_trace``,
``post_trace`` (and ``*_slow`` with triplet STDP), ``stp_u``, ``stp_x``; ``network/reward_baseline``,
``network/tick`` — and this back end's private extras under ``numba/`` (Poisson schedule, delay rings, STP
spike times, RNG), which other back ends ignore. Float state is float64 (the default) or float32.
"""
from __future__ import annotations


import numpy as np

from snn.backend import PORTABLE_PREFIXES, parse_reward, reward_dopamine
from snn.compile import NEVER_TICK, CompiledNetwork, compile_network
from snn.engine.kernel import (
    FLAG_BLOCK_BYTES, Block, Delays, Neurons, Populations, Projections, ShortTerm, Synapses, Traces, all_finite, run_ticks,
)
from snn.frames import SpikeFrames
from snn.engine.homeostasis import normalise_incoming
from snn.rng import make_rng_state
from snn.spec import SPIKING_KINDS, NetworkSpec, RewardSTDP, ThirdFactorHebb, TripletSTDP

MIN_OUT_CAPACITY = 1 << 16
DTYPES = ("float32", "float64")
PRIVATE = "numba/"
ADAPTING_KINDS = ("alif", "lif_adapt", "izhikevich")


REFRACTORY_DTYPE = np.int16
"""The per-neuron refractory countdown (ticks). Half the bytes of int32 in the store-bound LIF update: W1 at
N = 4000 runs ~15 % faster (0.026 -> 0.022 s on the Xeon). Caps a refractory period at 32767 ticks."""
MAX_REFRACTORY_TICKS = int(np.iinfo(REFRACTORY_DTYPE).max)


def check_supported(spec: NetworkSpec) -> None:
    """What this back end cannot run, as ValueError: its traces are per neuron, so plastic projections share
    trace time constants (and triplet projections their slow ones, reward projections their baseline); a
    refractory period is at most MAX_REFRACTORY_TICKS ticks."""
    dt_ms = spec.dt_us / 1000.0
    for pop in spec.populations:
        if pop.kind in SPIKING_KINDS and round(pop.lif.refractory_ms / dt_ms) > MAX_REFRACTORY_TICKS:
            raise ValueError(f"numba backend: population {pop.name!r}: refractory_ms {pop.lif.refractory_ms} is "
                             f"more than {MAX_REFRACTORY_TICKS} ticks of {dt_ms} ms")
    rules, baselines, slow = set(), set(), set()
    for proj in spec.projections:
        rule = proj.plasticity
        if rule is None or isinstance(rule, ThirdFactorHebb):
            continue
        rules.add((rule.tau_pre_ms, rule.tau_post_ms, getattr(rule, "nearest", False)))
        if isinstance(rule, TripletSTDP):
            slow.add((rule.tau_x_ms, rule.tau_y_ms))
        if isinstance(rule, RewardSTDP):
            baselines.add(rule.tau_baseline_ms)
    if len(rules) > 1:
        raise ValueError("numba backend: plastic projections must share tau_pre_ms, tau_post_ms and nearest")
    if len(slow) > 1:
        raise ValueError("numba backend: triplet-STDP projections must share tau_x_ms and tau_y_ms")
    if len(baselines) > 1:
        raise ValueError("numba backend: reward-STDP projections must share tau_baseline_ms")


class NumbaBackend:
    """Run a NetworkSpec in blocks of ticks: one Numba call per block, no Python per spike or neuron."""

    name = "numba"

    def __init__(self, dtype: str = "float64") -> None:
        if dtype not in DTYPES:
            raise ValueError(f"numba backend: dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
        self.dtype = np.dtype(dtype)
        self.url = f"numba?dtype={dtype}"
        self.net: CompiledNetwork | None = None

    @property
    def spec(self) -> NetworkSpec | None:
        return None if self.net is None else self.net.spec

    def load(self, spec: NetworkSpec, seed: int) -> None:
        net = compile_network(spec)
        check_supported(spec)
        f = self.dtype
        n = net.n_neurons
        self.net = net
        self.learning = spec.learning
        self.pops = Populations(net.pop_model, net.pop_lo, net.pop_hi, net.pop_params.astype(f), net.pop_is_neuron)
        self.neurons = Neurons(net.v_init_mv.astype(f), np.zeros(n, f), np.zeros(n, f), np.zeros(n, REFRACTORY_DTYPE),
                               net.adaptation_init.astype(f), np.zeros(-(-n // FLAG_BLOCK_BYTES) * FLAG_BLOCK_BYTES, np.uint8),
                               net.first_poisson_ticks(np.random.default_rng(seed)), net.log_keep)
        self.traces = Traces(np.zeros(n, f), np.zeros(n, f), net.pre_decay.astype(f), net.post_decay.astype(f),
                             np.zeros(n, f), np.zeros(n, f), net.pre_decay_slow.astype(f),
                             net.post_decay_slow.astype(f), net.trace_ranges, net.has_triplet, net.nearest)
        self.stp = ShortTerm(net.has_stp, net.stp_params[0].astype(f), np.ones(n, f), np.zeros(n, np.int64),
                             net.stp_params[0], net.stp_params[1], net.stp_params[2], np.ones(n))
        self.projs = Projections(net.proj_pre_lo, net.proj_pre_hi, net.proj_post_lo, net.proj_post_hi, net.proj_dense,
                                 net.proj_port, net.proj_rule, net.proj_rule_params, net.proj_row_off,
                                 net.proj_in_off, net.proj_delay)
        self.syn = Synapses(net.row_ptr, net.in_ptr, net.in_syn, net.syn_pre, net.syn_post, net.weight_mv.astype(f),
                            np.zeros(net.n_synapses, f))
        self.delays = Delays(np.zeros((net.n_delay_slots, n), f), np.zeros((net.n_delay_slots, n), f))
        self.rng_state = make_rng_state(seed)
        self.tick = np.zeros(1, dtype=np.int64)
        self.reward_baseline = np.zeros(1)
        self._spiked = np.zeros(n, dtype=np.int32)
        self._pop_spike_end = np.zeros(len(spec.populations), dtype=np.int64)
        self._out_ids = np.empty(MIN_OUT_CAPACITY, dtype=np.int32)
        self._modulator = np.zeros(n)
        self._has_reward_stdp = net.baseline_tau_ms is not None
        self._has_third_factor = any(isinstance(p.plasticity, ThirdFactorHebb) for p in spec.projections)
        self._scaling = [(c, net.in_ptr[net.proj_in_off[c]:net.proj_in_off[c] + net.proj_post_hi[c] - net.proj_post_lo[c] + 1],
                          np.full(net.proj_post_hi[c] - net.proj_post_lo[c], net.normalise_sum_mv[c]))
                         for c in range(len(spec.projections)) if not np.isnan(net.normalise_sum_mv[c])]
        self._counts = {"ticks": 0, "blocks": 0, "input_spikes": 0, "readout_spikes": 0}
        self._layout = self._state_layout()

    @property
    def n_readout(self) -> int:
        return self.net.readout_hi - self.net.readout_lo

    def _check_inputs(self, inputs: SpikeFrames) -> None:
        """Refuse ids outside the input population. An id may repeat within a tick (each spike counts: its
        weights are added once per occurrence); the spike buffer grows to the busiest tick."""
        busiest = inputs.validate(self.net.n_input, name="numba backend: input spikes")
        if self.net.n_neurons + busiest > len(self._spiked):
            self._spiked = np.zeros(self.net.n_neurons + busiest, dtype=np.int32)

    def _set_modulator(self, reward) -> tuple[float, bool]:
        """The per-neuron third factor from ``reward`` (ThirdFactorHebb): one value per readout neuron, or one
        float for every neuron (written only when the network has such a projection); returns (the scalar
        reward for reward STDP, whether any third factor is non-zero). ValueError on a non-finite reward, a
        wrongly sized array, or an array with reward-STDP projections (they take one global dopamine)."""
        net = self.net
        value, values = parse_reward(reward, self.n_readout, self._has_reward_stdp, "numba backend")
        if values is None:
            if self._has_third_factor:
                self._modulator.fill(value)
            return value, self._has_third_factor and value != 0.0
        self._modulator.fill(0.0)
        self._modulator[net.readout_lo:net.readout_hi] = values
        return 0.0, self._has_third_factor and bool(values.any())

    def step(self, inputs: SpikeFrames, reward) -> SpikeFrames:
        """Advance len(inputs) ticks. ``reward`` (dimensionless): a float sets reward STDP's dopamine = reward -
        running baseline and every neuron's third factor; an array gives each readout neuron its own third
        factor (ThirdFactorHebb)."""
        if self.net is None:
            raise RuntimeError("numba backend: load() a network before step()")
        self._check_inputs(inputs)
        net = self.net
        reward, modulated = self._set_modulator(reward)
        n_ticks = inputs.n_ticks
        dopamine = 0.0
        if net.baseline_tau_ms is not None:
            dopamine = reward_dopamine(reward, self.reward_baseline, self.learning, n_ticks, net.dt_ms,
                                       net.baseline_tau_ms)
        out_ptr = np.zeros(n_ticks + 1, dtype=np.int64)
        done = n_out = 0
        while done < n_ticks:
            if len(self._out_ids) - n_out < self.n_readout:
                self._out_ids = np.concatenate((self._out_ids, np.empty(len(self._out_ids), dtype=np.int32)))
            ptr = inputs.tick_ptr[done:]
            io = Block(ptr - ptr[0], inputs.neuron_ids[ptr[0]:], self._modulator, modulated, net.readout_lo,
                       net.readout_hi, self._spiked, self._pop_spike_end, out_ptr[done:], self._out_ids[n_out:])
            ticks, count = run_ticks(self.tick[0], n_ticks - done, dopamine, self.learning, io, self.pops,
                                     self.neurons, self.rng_state, self.traces, self.stp, self.projs, self.syn,
                                     self.delays)
            out_ptr[done:done + ticks + 1] += n_out
            self.tick[0] += ticks
            done += ticks
            n_out += count
        if self.learning:
            for _, in_ptr, target_sum_mv in self._scaling:
                normalise_incoming(in_ptr, net.in_syn, self.syn.weight_mv, target_sum_mv)
        counts = self._counts
        counts["ticks"] += n_ticks
        counts["blocks"] += 1
        counts["input_spikes"] += inputs.n_spikes
        counts["readout_spikes"] += n_out
        return SpikeFrames(out_ptr, self._out_ids[:n_out].copy())

    def set_learning(self, enabled: bool) -> None:
        """Switch on-line weight updates on or off (traces keep running either way)."""
        self.learning = bool(enabled)

    def report(self) -> dict:
        """Counts of this run (since load): ticks, blocks, input and readout spikes; the network's size."""
        net = self.net
        return {"backend": self.url, "neurons": 0 if net is None else net.n_neurons,
                "synapses": 0 if net is None else net.n_synapses, **self._counts}

    def _state_layout(self) -> dict[str, tuple]:
        """Every state array's name -> (source array, index into it, restorable kind): how state() reads it
        and restore() writes it. Index is a slice of a per-neuron array, or ("syn", projection) for synapses."""
        net, spec = self.net, self.net.spec
        layout: dict[str, tuple] = {"network/tick": (self.tick, slice(None), "i"),
                                    "network/reward_baseline": (self.reward_baseline, slice(None), "f")}
        traced = np.zeros(net.n_neurons, dtype=bool)
        for lo, hi in net.trace_ranges:
            traced[lo:hi] = True
        for p, pop in enumerate(spec.populations):
            sl = slice(int(net.pop_lo[p]), int(net.pop_hi[p]))
            key = f"population/{pop.name}/"
            if net.pop_is_neuron[p]:
                layout[key + "v_mv"] = (self.neurons.v_mv, sl, "f")
                layout[key + "g_exc_mv"] = (self.neurons.g_exc_mv, sl, "f")
                layout[key + "g_inh_mv"] = (self.neurons.g_inh_mv, sl, "f")
                layout[key + "refractory_ticks"] = (self.neurons.refractory_left, sl, "i")
                if pop.kind in ADAPTING_KINDS:
                    layout[key + "adaptation"] = (self.neurons.adaptation, sl, "f")
            if traced[sl].any():
                layout[key + "pre_trace"] = (self.traces.pre, sl, "f")
                layout[key + "post_trace"] = (self.traces.post, sl, "f")
                if net.has_triplet:
                    layout[key + "pre_trace_slow"] = (self.traces.pre_slow, sl, "f")
                    layout[key + "post_trace_slow"] = (self.traces.post_slow, sl, "f")
            if pop.stp is not None:
                layout[key + "stp_u"] = (self.stp.u, sl, "f")
                layout[key + "stp_x"] = (self.stp.x, sl, "f")
        for c, proj in enumerate(spec.projections):
            layout[f"projection/{proj.name}/weight_mv"] = (self.syn.weight_mv, ("syn", c), "f")
            if isinstance(proj.plasticity, (RewardSTDP, ThirdFactorHebb)):
                layout[f"projection/{proj.name}/eligibility"] = (self.syn.eligibility, ("syn", c), "f")
        layout[PRIVATE + "next_tick"] = (self.neurons.next_tick, slice(None), "i")
        layout[PRIVATE + "ring_exc_mv"] = (self.delays.ring_exc_mv, slice(None), "f")
        layout[PRIVATE + "ring_inh_mv"] = (self.delays.ring_inh_mv, slice(None), "f")
        layout[PRIVATE + "stp_last_tick"] = (self.stp.last_tick, slice(None), "i")
        layout[PRIVATE + "rng_state"] = (self.rng_state, slice(None), "u")
        return layout

    def _get(self, source: np.ndarray, index) -> np.ndarray:
        if isinstance(index, tuple):
            return self.net.to_spec_order(source, index[1])
        return source[index].copy()

    def read(self, name: str) -> np.ndarray:
        """A copy of one state array by its name in ``state()`` (e.g. ``projection/input_motor/weight_mv``,
        ``population/motor/v_mv``) — for plots and monitoring; ValueError lists the names when unknown."""
        if self.net is None:
            raise RuntimeError("numba backend: load() a network before read()")
        if name not in self._layout:
            raise ValueError(f"numba backend: no state array {name!r} (known: {', '.join(self._layout)})")
        return self._get(*self._layout[name][:2])

    def write(self, name: str, value: np.ndarray) -> None:
        """Set one state array by its name in ``state()``, checked as ``restore`` checks it (ValueError naming it)."""
        if self.net is None:
            raise RuntimeError("numba backend: load() a network before write()")
        if name not in self._layout:
            raise ValueError(f"numba backend: no state array {name!r} (known: {', '.join(self._layout)})")
        source, index, kind = self._layout[name]
        self._put(index, source, self._checked(name, value, source, index, kind))

    def _put(self, index, source: np.ndarray, value: np.ndarray) -> None:
        if isinstance(index, tuple):
            c = index[1]
            source[self.net.proj_syn_lo[c]:self.net.proj_syn_hi[c]] = self.net.from_spec_order(value, c)
        else:
            source[index] = value

    def non_finite(self, names: list[str]) -> str | None:
        """The first of ``names`` (state array names) holding NaN or infinity, or None; reads in place, so it
        is cheap enough to run after every block."""
        for name in names:
            source, index, kind = self._layout[name]
            if kind != "f":
                continue
            if isinstance(index, tuple):
                c = index[1]
                index = slice(int(self.net.proj_syn_lo[c]), int(self.net.proj_syn_hi[c]))
            if not all_finite(source[index]):
                return name
        return None

    def state(self) -> dict[str, np.ndarray]:
        """Every state array by name: portable ones by spec object, private ones under ``numba/``."""
        return {name: self._get(source, index) for name, (source, index, _) in self._layout.items()}

    def restore(self, state: dict[str, np.ndarray]) -> None:
        """Load ``state``: every portable array this network has must be there (float arrays of either float
        type are converted; non-finite values are refused); private ``numba/`` arrays are optional (absent when
        the state comes from another back end: the fresh values stay); other back ends' extras are ignored.
        ValueError names the first array that is missing, unexpected, mis-shaped, mis-typed or not finite;
        nothing is changed then."""
        checked = {}
        for name, (source, index, kind) in self._layout.items():
            if name not in state:
                if name.startswith(PRIVATE):
                    continue
                raise ValueError(f"numba backend: state has no array {name!r}")
            checked[name] = self._checked(name, state[name], source, index, kind)
        ours = (*PORTABLE_PREFIXES, PRIVATE)
        extra = sorted(k for k in state if k.startswith(ours) and k not in self._layout)
        if extra:
            raise ValueError(f"numba backend: state has an array this network does not: {extra[0]!r}")
        for name, value in checked.items():
            source, index, _ = self._layout[name]
            self._put(index, source, value)
        tick = self.tick[0]
        if PRIVATE + "next_tick" not in checked:  # another back end's state: the Poisson schedule continues from now
            pending = self.neurons.next_tick < NEVER_TICK
            self.neurons.next_tick[pending] += tick
        if PRIVATE + "stp_last_tick" not in checked:
            self.stp.last_tick[:] = tick

    def _checked(self, name: str, value, source: np.ndarray, index, kind: str) -> np.ndarray:
        if isinstance(index, tuple):
            c = index[1]
            shape = (int(self.net.proj_syn_hi[c] - self.net.proj_syn_lo[c]),)
        else:
            shape = source[index].shape
        if not isinstance(value, np.ndarray):
            raise ValueError(f"numba backend: array {name!r} is {type(value).__name__}, not an ndarray")
        wanted = {"f": "a float array", "i": "an integer array", "u": "a uint64 array"}[kind]
        ok = (value.dtype.kind == "f" if kind == "f" else value.dtype.kind in "iu" if kind == "i"
              else value.dtype == np.uint64)
        if value.shape != shape or not ok:
            raise ValueError(f"numba backend: array {name!r} is {value.dtype}{list(value.shape)}, "
                             f"this network needs {wanted} of shape {list(shape)}")
        if kind == "f" and not np.all(np.isfinite(value)):
            raise ValueError(f"numba backend: array {name!r} holds non-finite values")
        counts = source.dtype == REFRACTORY_DTYPE
        if counts and value.size and not (0 <= value.min() and value.max() <= MAX_REFRACTORY_TICKS):
            raise ValueError(f"numba backend: array {name!r} holds values outside 0..{MAX_REFRACTORY_TICKS}")
        return value

    def close(self) -> None:
        self.net = None
