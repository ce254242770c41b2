"""EmulatorBackend: the fixed-point neuromorphic-core emulator behind the Backend Protocol (snn.backend).

``discretize=1`` runs the integer core (hw.emulator.quantize, hw.emulator.kernels.run_int_ticks); ``discretize=0``
runs the same mapping and tick order in float64 with the physical parameters, which reproduces the numba back
end, so quantisation error and mapping error can be measured apart. ``strict=1`` turns the first current wrap
or voltage saturation into a ValueError. ``report()`` adds activity, energy (the profile's per-operation
energies plus static power), a tick-latency estimate, cores and overflows.

On-chip learning (pair STDP, reward STDP, ThirdFactorHebb): the float mode runs the reference's rules in its
tick order; the integer mode runs hw.emulator.learning (7-bit traces, 16-bit tags, stochastic rounding from
the core's seeded generator) with a learning epoch of one block: ``step(inputs, reward)`` turns the reward
into dopamine as the numba back end does (reward - running baseline, the baseline kept by the host) and
broadcasts it as a signed 8-bit value, or a per-neuron third factor from an array of one reward per readout
neuron. Synaptic scaling (``normalise_sum_mv``) runs in float mode only: the integer core refuses to learn
with it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from hw.emulator.core_image import compiled_arrays
from hw.emulator.image import arrays_sha256, image_name, read_image
from hw.emulator.kernels import (
    ACT_ACTIVE, ACT_IDLE, ACT_LEARN, ACT_SPIKES, ACT_SYNOPS, CURRENT_LIMIT, N_ACTIVITY, OVF_CURRENT, OVF_VOLTAGE,
    VOLTAGE_LIMIT, Cores, Counters, FloatLearning, FloatNeurons, IntNeurons, Io, Wiring, run_float_ticks,
    run_int_ticks,
)
from hw.emulator.learning import (
    TAG_MAX, TRACE_IMPULSE, TRACE_MAX, IntLearning, Rules, int_apply_epoch, to_reward_int,
)
from hw.emulator.profile import PROFILES
from hw.emulator.quantize import (
    COMPARTMENT_MODELS, check_supported, compartment_populations, effective_weight_mv, quantize, weight_mantissa,
)
from hw.emulator.spec_arrays import spec_from_arrays
from hw.emulator.state_layout import StateArray, checked, part, scaled, scaled_range, whole
from snn.backend import PORTABLE_PREFIXES, parse_reward, reward_dopamine
from snn.codes import MODEL_ALIF, MODEL_INTEGRATE_FIRE, P_K_EXC, P_K_INH, RULE_REWARD_STDP, RULE_THIRD_FACTOR
from snn.compile import NEVER_TICK, compile_network
from snn.engine.homeostasis import normalise_incoming
from snn.frames import SpikeFrames
from snn.rng import make_rng_state
from snn.spec import NetworkSpec, RewardSTDP, ThirdFactorHebb

PRIVATE = "emulator/"
MIN_OUT_CAPACITY = 1 << 16
VARIABLES = ("exc current", "inh current", "voltage")


class EmulatorBackend:
    """A network on emulated fixed-point cores, advanced one Numba call per block (see the module docstring)."""

    name = "emulator"

    def __init__(self, profile: str = "loihi", strict: str = "0", discretize: str = "1") -> None:
        if profile not in PROFILES:
            raise ValueError(f"emulator backend: profile must be one of {', '.join(PROFILES)}, got {profile!r}")
        for key, value in (("strict", strict), ("discretize", discretize)):
            if value not in ("0", "1"):
                raise ValueError(f"emulator backend: {key} must be 0 or 1, got {value!r}")
        self.profile = PROFILES[profile]
        self.strict = strict == "1"
        self.discretize = discretize == "1"
        self.url = f"emulator?discretize={discretize}&profile={profile}&strict={strict}"
        self.net = None

    @property
    def owner(self) -> str:
        return f"emulator backend ({self.url})"

    def load(self, spec: NetworkSpec, seed: int) -> None:
        """Compile, check and (integer mode) quantise ``spec``; ValueError naming what the core cannot represent.
        Plastic projections load with fixed weights (learning off, see ``set_learning``)."""
        net = compile_network(spec)
        check_supported(net, self.profile)
        n, n_pops = net.n_neurons, len(spec.populations)
        post_pop = (np.searchsorted(net.pop_lo, net.proj_post_lo, side="right") - 1).astype(np.int64)
        self.net = net
        self.wiring = Wiring(net.proj_pre_lo, net.proj_pre_hi, post_pop, net.proj_port, net.proj_delay,
                             net.proj_row_off, net.row_ptr, net.syn_post.astype(np.int64))
        slots = net.n_delay_slots
        self.rng_state = make_rng_state(seed)
        self.tick = np.zeros(1, dtype=np.int64)
        self.activity = np.zeros(N_ACTIVITY, dtype=np.int64)
        self.overflows = np.zeros((n_pops, 2), dtype=np.int64)
        self.fault = np.full(5, -1, dtype=np.int64)
        self.rules = Rules(net.proj_rule, net.proj_post_lo, net.proj_post_hi, net.proj_in_off, net.in_ptr,
                           net.in_syn, net.syn_pre.astype(np.int64), net.trace_ranges, net.nearest,
                           net.pop_is_neuron, np.zeros(n_pops, np.int64))
        self._scaled = [c for c in range(len(spec.projections)) if not np.isnan(net.normalise_sum_mv[c])]
        self.learning = bool(spec.learning) and not (self.discretize and self._scaled)
        self.reward_baseline = np.zeros(1)
        self._has_reward_stdp = net.baseline_tau_ms is not None
        self._has_third_factor = bool(np.any(net.proj_rule == RULE_THIRD_FACTOR))
        if self.discretize:
            q = quantize(net, self.profile)
            self.q = q
            self.cores = Cores(net.pop_model, net.pop_lo, net.pop_hi, q.vth, q.v_reset, q.dv, q.du_exc, q.du_inh,
                               q.refractory, q.d_adapt, q.theta_jump, q.bias, q.noise)
            self.neurons = IntNeurons(q.v_init.astype(np.int32), np.zeros(n, np.int32), np.zeros(n, np.int32),
                                      np.zeros(n, np.int32), q.poisson_p, self.rng_state, np.zeros(n, np.int64),
                                      np.zeros(n, np.uint8))
            self.w_mant = q.w_mant.copy()
            self.rings = (np.zeros((slots, n), np.int32), np.zeros((slots, n), np.int32))
            self.traces = (np.zeros(n, np.int64), np.zeros(n, np.int64))
            self.tag = np.zeros(net.n_synapses, np.int64)
            self._acc = np.zeros(net.n_synapses, np.int64)
            self._modulator = np.zeros(n, np.int64)
        else:
            self.q = None
            self.neurons = FloatNeurons(net.pop_params, net.v_init_mv.copy(), np.zeros(n), np.zeros(n),
                                        np.zeros(n, np.int64), net.first_poisson_ticks(np.random.default_rng(seed)),
                                        net.log_keep, self.rng_state, net.adaptation_init.copy())
            self.weight_mv = net.weight_mv.copy()
            self.rings = (np.zeros((slots, n)), np.zeros((slots, n)))
            self.traces = (np.zeros(n), np.zeros(n))
            self.tag = np.zeros(net.n_synapses)
            self._modulator = np.zeros(n)
        self._plastic = any(proj.plasticity is not None or proj.normalise_sum_mv is not None
                            for proj in spec.projections)
        self._dopamine, self._modulated = 0.0, False
        self._spiked = np.zeros(n, dtype=np.int32)
        self._out_ids = np.empty(MIN_OUT_CAPACITY, dtype=np.int32)
        self._counts = {"ticks": 0, "blocks": 0, "input_spikes": 0, "readout_spikes": 0}
        self._layout = self._state_layout()

    def load_image(self, source: str | Path | bytes, seed: int) -> dict:
        """Load the network a core image carries (its path, or the file's bytes as a board receives them) as
        ``load`` does; return the image's meta. ValueError, one line naming the image, when it is not a valid
        image, has no network spec (written before images carried one), is for another core profile, or its
        spec does not match its structure hash or its compiled tables."""
        name = image_name(source)
        arrays, meta = read_image(source)
        if "spec" not in meta:
            raise ValueError(f"{name}: core image has no network spec; recompile it with neuroedge compile")
        if meta.get("profile") != self.profile.name:
            raise ValueError(f"{name}: core image is for the {meta.get('profile')!r} core profile, {self.owner} "
                             f"runs {self.profile.name!r}")
        try:
            spec = spec_from_arrays(arrays, meta["spec"])
        except ValueError as e:
            raise ValueError(f"{name}: {e}") from None
        if meta.get("network_sha256") != spec.structure_sha256():
            raise ValueError(f"{name}: core image's network spec does not match its network_sha256")
        compiled = compiled_arrays(compile_network(spec))
        if arrays_sha256({key: arrays[key] for key in compiled if key in arrays}) != arrays_sha256(compiled):
            raise ValueError(f"{name}: core image's compiled tables do not match its network spec")
        self.load(spec, seed)
        return meta

    def _loaded(self, what: str) -> None:
        if self.net is None:
            raise RuntimeError(f"{self.owner}: load() a network before {what}()")

    @property
    def n_readout(self) -> int:
        return self.net.readout_hi - self.net.readout_lo

    def _set_reward(self, reward, n_ticks: int) -> None:
        """The numba back end's reading of ``reward``: a float is reward STDP's reward (dopamine = reward -
        running baseline; the baseline follows it while learning) and every neuron's third factor; an array
        gives each readout neuron its own third factor. Integer mode broadcasts both as signed 8-bit values
        (hw.emulator.learning.to_reward_int). ValueError on a non-finite reward, a wrongly sized array, or an
        array with reward-STDP projections."""
        net = self.net
        integer = self.discretize
        value, values = parse_reward(reward, self.n_readout, self._has_reward_stdp, self.owner)
        if values is None:
            if self._has_third_factor:
                self._modulator.fill(to_reward_int(value) if integer else value)
            modulated = self._has_third_factor and value != 0.0
        else:
            self._modulator.fill(0)
            self._modulator[net.readout_lo:net.readout_hi] = ([to_reward_int(x) for x in values] if integer
                                                               else values)
            modulated = self._has_third_factor and bool(values.any())
        dopamine = 0.0
        if self._has_reward_stdp:
            dopamine = reward_dopamine(value, self.reward_baseline, self.learning, n_ticks, net.dt_ms,
                                       net.baseline_tau_ms)
        self._dopamine, self._modulated = dopamine, modulated

    def step(self, inputs: SpikeFrames, reward) -> SpikeFrames:
        """Advance ``inputs.n_ticks`` ticks; return the readout's spikes (readout-local ids). ``reward`` is
        read as the numba back end reads it (``_set_reward``); integer mode applies the reward and third-factor
        rules' weight update at the block's end (one learning epoch). Strict mode: ValueError (one line naming
        population, neuron, variable, value and limit) at the first overflow."""
        self._loaded("step")
        net = self.net
        self._set_reward(reward, inputs.n_ticks)
        busiest = inputs.validate(net.n_input, name=f"{self.owner}: input spikes")
        if net.n_neurons + busiest > len(self._spiked):
            self._spiked = np.zeros(net.n_neurons + busiest, dtype=np.int32)
        n_ticks = inputs.n_ticks
        out_ptr = np.zeros(n_ticks + 1, dtype=np.int64)
        done = n_out = 0
        while done < n_ticks:
            if len(self._out_ids) - n_out < self.n_readout:
                self._out_ids = np.concatenate((self._out_ids, np.empty(len(self._out_ids), dtype=np.int32)))
            ptr = inputs.tick_ptr[done:]
            io = Io(ptr - ptr[0], inputs.neuron_ids[ptr[0]:], net.readout_lo, net.readout_hi, self._spiked,
                    out_ptr[done:], self._out_ids[n_out:])
            ticks, count, stopped = self._run(io, n_ticks - done)
            if stopped:
                self._raise_fault()
            out_ptr[done:done + ticks + 1] += n_out
            self.tick[0] += ticks
            done += ticks
            n_out += count
        self._end_epoch()
        counts = self._counts
        counts["ticks"] += n_ticks
        counts["blocks"] += 1
        counts["input_spikes"] += inputs.n_spikes
        counts["readout_spikes"] += n_out
        return SpikeFrames(out_ptr, self._out_ids[:n_out].copy())

    def _run(self, io: Io, n_ticks: int) -> tuple[int, int, bool]:
        net = self.net
        if self.discretize:
            counters = Counters(self.activity, self.overflows, self.fault, self.strict)
            lrn = IntLearning(self.learning, self.traces[0], self.traces[1], self.q.pre_d, self.q.post_d, self.tag,
                              self._acc, self.q.learn_params)
            return run_int_ticks(self.tick[0], n_ticks, io, self.cores, self.neurons, self.wiring, self.q.w_exp,
                                 self.w_mant, self.rings[0], self.rings[1], counters, self.rules, lrn)
        flt = FloatLearning(self.learning, self._dopamine, self._modulator, self._modulated, self.traces[0],
                            self.traces[1], net.pre_decay, net.post_decay, self.tag, net.proj_rule_params,
                            net.proj_dense)
        ticks, count = run_float_ticks(self.tick[0], n_ticks, io, net.pop_model, net.pop_lo, net.pop_hi,
                                       self.neurons, self.wiring, self.weight_mv, self.rings[0], self.rings[1],
                                       self.activity, self.rules, flt)
        return ticks, count, False

    def _synapse_range(self, c: int) -> tuple[int, int]:
        return int(self.net.proj_syn_lo[c]), int(self.net.proj_syn_hi[c])

    def _end_epoch(self) -> None:
        """The end of a block: integer mode updates every reward / third-factor synapse once from its epoch sum
        (hw.emulator.learning.int_apply_epoch); float mode rescales synaptic scaling's targets. A learning
        update is counted per synapse of such a projection while learning."""
        net = self.net
        for c in range(len(net.spec.projections)):
            rule = int(net.proj_rule[c])
            if rule not in (RULE_REWARD_STDP, RULE_THIRD_FACTOR):
                continue
            s0, s1 = self._synapse_range(c)
            if self.learning:
                self.activity[ACT_LEARN] += s1 - s0
            if self.discretize:
                apply = self.learning and (rule == RULE_REWARD_STDP or self._modulated)
                int_apply_epoch(IntLearning(self.learning, self.traces[0], self.traces[1], self.q.pre_d,
                                            self.q.post_d, self.tag, self._acc, self.q.learn_params),
                                rule, self.q.learn_params[c], s0, s1, self.wiring.syn_post, self.w_mant,
                                np.int64(to_reward_int(self._dopamine)), self._modulator, apply, self.rng_state)
        if self.learning and not self.discretize:
            for c in self._scaled:
                lo = net.proj_in_off[c]
                in_ptr = net.in_ptr[lo:lo + net.proj_post_hi[c] - net.proj_post_lo[c] + 1]
                normalise_incoming(in_ptr, net.in_syn, self.weight_mv,
                                   np.full(len(in_ptr) - 1, net.normalise_sum_mv[c]))

    def _raise_fault(self) -> None:
        p, j, var, value, limit = (int(x) for x in self.fault)
        self.fault[:] = -1
        pop, local = self.net.spec.populations[p].name, j - int(self.net.pop_lo[p])
        raise ValueError(f"{self.owner}: strict: population {pop!r} neuron {local}: {VARIABLES[var]} overflowed "
                         f"({value} beyond the 24-bit limit {limit})")

    def set_learning(self, enabled: bool) -> None:
        """Switch on-chip weight updates on or off (traces and tags keep running either way). The integer core
        refuses to learn with synaptic scaling (``normalise_sum_mv``), which it does not model (ValueError)."""
        self._loaded("set_learning")
        if enabled and self.discretize and self._scaled:
            name = self.net.spec.projections[self._scaled[0]].name
            raise ValueError(f"{self.owner}: projection {name!r}: synaptic scaling (normalise_sum_mv) is not "
                             f"modelled by the integer core (use discretize=0)")
        self.learning = bool(enabled)

    def report(self) -> dict:
        """Counts since load (ticks, blocks, input and readout spikes, compartment spikes, synops, active and
        idle compartment updates, learning updates), ``energy_j`` (J: per-operation energies of the profile plus
        static power per core over the simulated time), ``est_tick_latency_us`` (mean per tick: synops and
        updates spread evenly over the cores, plus one barrier), ``cores`` (ceil(compartments / per-core limit)
        per population), ``overflows`` per population and, integer mode, ``weight_rel_error`` per projection."""
        net, prof = self.net, self.profile
        if net is None:
            return {"backend": self.url, "neurons": 0, "synapses": 0}
        act = self.activity
        cores = sum(-(-int(net.pop_hi[p] - net.pop_lo[p]) // prof.compartments)
                    for p in compartment_populations(net))
        ticks = self._counts["ticks"]
        energy = (act[ACT_SYNOPS] * prof.energy_synop_j + act[ACT_ACTIVE] * prof.energy_neuron_active_j
                  + act[ACT_IDLE] * prof.energy_neuron_idle_j + act[ACT_SPIKES] * prof.energy_spike_local_j
                  + act[ACT_LEARN] * prof.energy_syn_update_j
                  + prof.static_power_per_core_w * cores * ticks * net.dt_ms * 1e-3)
        work_s = act[ACT_SYNOPS] * prof.time_synop_s + (act[ACT_ACTIVE] + act[ACT_IDLE]) * prof.time_neuron_update_s
        latency_us = (work_s / max(cores, 1) / ticks + prof.time_barrier_s) * 1e6 if ticks else 0.0
        pops = net.spec.populations
        out = {"backend": self.url, "neurons": net.n_neurons, "synapses": net.n_synapses, **self._counts,
               "spikes": int(act[ACT_SPIKES]), "synops": int(act[ACT_SYNOPS]),
               "active_updates": int(act[ACT_ACTIVE]), "idle_updates": int(act[ACT_IDLE]),
               "learning_updates": int(act[ACT_LEARN]), "learning": self.learning, "energy_j": float(energy),
               "est_tick_latency_us": float(latency_us), "cores": cores,
               "overflows": {pops[p].name: {"current_wraps": int(self.overflows[p, OVF_CURRENT]),
                                            "voltage_saturations": int(self.overflows[p, OVF_VOLTAGE])}
                             for p in range(len(pops)) if net.pop_model[p] in COMPARTMENT_MODELS}}
        if self.q is not None:
            out["weight_rel_error"] = {proj.name: float(self.q.weight_rel_error[c])
                                       for c, proj in enumerate(net.spec.projections)}
        return out

    def _state_layout(self) -> dict[str, StateArray]:
        """Every state array's name -> StateArray (state_layout): portable names first, then ``emulator/``."""
        net, spec, neurons = self.net, self.net.spec, self.neurons
        refractory = (0, self.profile.refractory_max)
        layout: dict[str, StateArray] = {"network/tick": whole(self.tick, "i", (0, 1 << 62)),
                                         "network/reward_baseline": whole(self.reward_baseline, "f")}
        traced = np.zeros(net.n_neurons, dtype=bool)
        for lo, hi in net.trace_ranges:
            traced[lo:hi] = True
        for p, pop in enumerate(spec.populations):
            sl = slice(int(net.pop_lo[p]), int(net.pop_hi[p]))
            key = f"population/{pop.name}/"
            model = net.pop_model[p]
            if model in COMPARTMENT_MODELS:
                if self.discretize:
                    scale = self.q.v_scale[p]
                    k_exc, k_inh = self._port_gains(p)
                    layout[key + "v_mv"] = scaled(neurons.v, sl, scale, self.q.v_ref_mv[p], VOLTAGE_LIMIT)
                    layout[key + "g_exc_mv"] = scaled(neurons.u_exc, sl, scale * k_exc, 0.0, CURRENT_LIMIT - 1)
                    layout[key + "g_inh_mv"] = scaled(neurons.u_inh, sl, scale * k_inh, 0.0, CURRENT_LIMIT - 1)
                    if model == MODEL_ALIF:
                        layout[key + "adaptation"] = scaled(neurons.theta, sl, scale, 0.0, VOLTAGE_LIMIT)
                else:
                    layout[key + "v_mv"] = part(neurons.v_mv, sl, "f")
                    layout[key + "g_exc_mv"] = part(neurons.g_exc_mv, sl, "f")
                    layout[key + "g_inh_mv"] = part(neurons.g_inh_mv, sl, "f")
                    if model == MODEL_ALIF:
                        layout[key + "adaptation"] = part(neurons.adaptation, sl, "f")
                layout[key + "refractory_ticks"] = part(neurons.refractory_left, sl, "i", refractory)
            if traced[sl].any():
                for name, trace in (("pre_trace", self.traces[0]), ("post_trace", self.traces[1])):
                    layout[key + name] = (scaled_range(trace, sl, TRACE_IMPULSE, 0, TRACE_MAX) if self.discretize
                                          else part(trace, sl, "f"))
        for c, proj in enumerate(spec.projections):
            layout[f"projection/{proj.name}/weight_mv"] = self._weights(c)
            if isinstance(proj.plasticity, (RewardSTDP, ThirdFactorHebb)):
                layout[f"projection/{proj.name}/eligibility"] = self._eligibility(c)
        if self.discretize:
            layout[PRIVATE + "pre_trace"] = whole(self.traces[0], "i", (0, TRACE_MAX))
            layout[PRIVATE + "post_trace"] = whole(self.traces[1], "i", (0, TRACE_MAX))
            layout[PRIVATE + "tag"] = whole(self.tag, "i", (-TAG_MAX, TAG_MAX))
            layout[PRIVATE + "theta"] = whole(neurons.theta, "i", (-VOLTAGE_LIMIT, VOLTAGE_LIMIT))
        if self.discretize:
            state_range = (-VOLTAGE_LIMIT, CURRENT_LIMIT)
            layout[PRIVATE + "v"] = whole(neurons.v, "i", state_range)
            layout[PRIVATE + "u_exc"] = whole(neurons.u_exc, "i", state_range)
            layout[PRIVATE + "u_inh"] = whole(neurons.u_inh, "i", state_range)
            w_max = self.profile.weight_mant_max
            layout[PRIVATE + "w_mant"] = whole(self.w_mant, "i", (-w_max - 1, w_max))
            layout[PRIVATE + "ring_exc"] = whole(self.rings[0], "i", state_range)
            layout[PRIVATE + "ring_inh"] = whole(self.rings[1], "i", state_range)
        else:
            layout[PRIVATE + "next_tick"] = whole(neurons.next_tick, "i", (0, int(NEVER_TICK)))
            layout[PRIVATE + "ring_exc_mv"] = whole(self.rings[0], "f")
            layout[PRIVATE + "ring_inh_mv"] = whole(self.rings[1], "f")
        layout[PRIVATE + "rng_state"] = whole(self.rng_state, "u")
        return layout

    def _port_gains(self, p: int) -> tuple[float, float]:
        """The exc and inh gains of population p's currents on v (hw.emulator.quantize)."""
        prm, model = self.net.pop_params[p], self.net.pop_model[p]
        if model == MODEL_INTEGRATE_FIRE:
            return 1.0, 1.0
        return (prm[P_K_EXC], prm[P_K_EXC]) if model == MODEL_ALIF else (prm[P_K_EXC], prm[P_K_INH])

    def _eligibility(self, c: int) -> StateArray:
        """Projection c's eligibility (spec order): the floats, or the integer tags / tag_scale."""
        net = self.net
        sl = slice(int(net.proj_syn_lo[c]), int(net.proj_syn_hi[c]))
        shape = (sl.stop - sl.start,)
        scale = 1.0 if not self.discretize else float(self.q.tag_scale[c])

        def get() -> np.ndarray:
            return net.to_spec_order(self.tag, c) / scale if self.discretize else net.to_spec_order(self.tag, c)

        def put(value: np.ndarray) -> None:
            csr = net.from_spec_order(value, c)
            self.tag[sl] = np.clip(np.round(csr * scale), -TAG_MAX, TAG_MAX) if self.discretize else csr
        return StateArray(get, put, "f", shape)

    def _weights(self, c: int) -> StateArray:
        """Projection c's weights (mV, spec order): the effective weights of the integer core, or the floats."""
        net = self.net
        sl = slice(int(net.proj_syn_lo[c]), int(net.proj_syn_hi[c]))
        shape = (sl.stop - sl.start,)
        if not self.discretize:
            def put_float(value: np.ndarray) -> None:
                self.weight_mv[sl] = net.from_spec_order(value, c)
            return StateArray(lambda: net.to_spec_order(self.weight_mv, c), put_float, "f", shape)
        q = self.q
        exponent, w_scale = int(q.w_exp[c]), float(q.w_scale[c])

        def get() -> np.ndarray:
            full = np.zeros(net.n_synapses)
            full[sl] = effective_weight_mv(self.w_mant[sl], exponent, w_scale)
            return net.to_spec_order(full, c)

        def put(value: np.ndarray) -> None:
            self.w_mant[sl] = weight_mantissa(net.from_spec_order(value, c) * w_scale, exponent, self.profile)
        return StateArray(get, put, "f", shape)

    def read(self, name: str) -> np.ndarray:
        """A copy of one state array by its name in ``state()``; ValueError lists the names when unknown."""
        self._loaded("read")
        if name not in self._layout:
            raise ValueError(f"{self.owner}: no state array {name!r} (known: {', '.join(self._layout)})")
        return self._layout[name].get()

    def write(self, name: str, value: np.ndarray) -> None:
        """Set one state array by name, checked as ``restore`` checks it (ValueError naming it)."""
        self._loaded("write")
        if name not in self._layout:
            raise ValueError(f"{self.owner}: no state array {name!r} (known: {', '.join(self._layout)})")
        entry = self._layout[name]
        entry.put(checked(self.owner, name, entry, value))

    def non_finite(self, names: list[str]) -> str | None:
        """The first of ``names`` holding NaN or infinity, or None (integer arrays never do)."""
        for name in names:
            entry = self._layout[name]
            if entry.kind == "f" and not np.all(np.isfinite(entry.get())):
                return name
        return None

    def state(self) -> dict[str, np.ndarray]:
        """Every state array by name: portable ones by spec object, private ones under ``emulator/``."""
        self._loaded("state")
        return {name: entry.get() for name, entry in self._layout.items()}

    def restore(self, state: dict[str, np.ndarray]) -> None:
        """Load ``state`` from any back end's ``state()`` for the same network: every portable array must be
        there; private ``emulator/`` arrays are optional and, when present, exact (they are applied after the
        portable ones); other back ends' extras and the other mode's private arrays are ignored. ValueError names
        the first array that is missing, unexpected, mis-shaped, mis-typed, out of range or not finite; nothing
        is changed then."""
        self._loaded("restore")
        values = {}
        for name, entry in self._layout.items():
            if name not in state:
                if name.startswith(PRIVATE):
                    continue
                raise ValueError(f"{self.owner}: state has no array {name!r}")
            values[name] = checked(self.owner, name, entry, state[name])
        extra = sorted(k for k in state if k.startswith(PORTABLE_PREFIXES)
                       and k not in self._layout)
        if extra:
            raise ValueError(f"{self.owner}: state has an array this network does not: {extra[0]!r}")
        for name, value in values.items():
            self._layout[name].put(value)
        if not self.discretize and PRIVATE + "next_tick" not in values:
            pending = self.neurons.next_tick < NEVER_TICK  # another back end's state: the schedule goes on from now
            self.neurons.next_tick[pending] += self.tick[0]

    def close(self) -> None:
        self.net = None
