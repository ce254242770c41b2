"""Plain-Python reference of the emulator's integer core (hw.emulator.kernels.run_int_ticks and its learning,
hw.emulator.learning): one tick at a time, Python ints and lists, one obvious loop per step of the documented
tick order.

Per tick t: populations in order (input: copy the ids; poisson: one xorshift64* draw per neuron, spike when its
top 32 bits < p; lif: held at reset and counting down when refractory, else v = saturate(decay(v, dv, 0) +
u_exc + u_inh); both currents decay with offset 1; spike iff v > vth, then reset and refractory; alif: the same
with a decaying threshold offset theta, spike iff v > vth + theta, theta += jump; integrate_fire: v =
saturate(v + u_exc + u_inh), currents zeroed, spike iff v >= vth, v -= vth); then the traces decay (each
traced range: pre, then post, neuron by neuron, stochastic rounding) and every spike bumps its pre trace; then
every projection adds dendritic_input(mantissa, exponent) of each spike's synapses to its port's current or to
the ring slot t + delay (each addition wrapped) and applies the presynaptic half of its rule to that spike's
synapses; then slot t is drained into the currents; then neuron populations' spikes bump their post traces,
each projection applies the postsynaptic half (targets in spike order, each target's synapses in CSR order),
and the reward / third-factor projections add their tags to the epoch sums and decay them. ``end_block``
applies the epoch's weight update. Stochastic rounding draws from the same xorshift64* stream as the Poisson
neurons, written out here independently of the kernels. The LIF scalar arithmetic is the fixed-point
primitives' own Python functions (``.py_func``), so this checks the orchestration.
"""
from __future__ import annotations

from hw.emulator.fixed_point import decay_int, dendritic_input, saturate_voltage, wrap_current
from hw.emulator.learning import (
    L_A_MINUS, L_A_PLUS, L_AMP_SHIFT, L_G_MANT, L_G_SHIFT, L_TAG_DECAY, L_W_MAX, L_W_MIN,
)
from naive.rng import XorShift64Star

decay, wrap, saturate, dendrite = (f.py_func for f in (decay_int, wrap_current, saturate_voltage, dendritic_input))
PAIR, REWARD, THIRD = 1, 2, 4   # snn.codes rule codes
TRACE_MAX, IMPULSE, TAG_MAX, TAG_SHIFT = 127, 16, 32767, 7


class NaiveIntegerCore:
    """The integer core over a CompiledNetwork ``net`` and its QuantizedNetwork ``q``; ``rng_state`` the
    generator's starting word (as hw.emulator.backend seeds it); ``learning`` as the spec's switch."""

    def __init__(self, net, q, rng_state: int, learning: bool = False) -> None:
        n = net.n_neurons
        self.net, self.q = net, q
        self.learning = learning
        self.v = [int(x) for x in q.v_init]
        self.u = [[0] * n, [0] * n]  # exc, inh
        self.left = [0] * n
        self.theta = [0] * n
        self.ring: dict[tuple[int, int], list[int]] = {}  # (port, tick) -> per-neuron input
        self.rng = XorShift64Star(rng_state)
        self.overflows = [[0, 0] for _ in net.spec.populations]  # current wraps, voltage saturations
        self.w = [int(x) for x in q.w_mant]
        self.pre = [0] * n
        self.post = [0] * n
        self.tag = [0] * net.n_synapses
        self.acc = [0] * net.n_synapses
        self.updates = 0
        self.rows = []
        for c in range(len(net.spec.projections)):
            rows = {}
            for s in range(net.proj_syn_lo[c], net.proj_syn_hi[c]):
                rows.setdefault(int(net.syn_pre[s]), []).append(s)
            self.rows.append(rows)

    def sr(self, num: int, shift: int) -> int:
        """floor(num / 2**shift) + 1 with probability (num mod 2**shift) / 2**shift (a draw only if not 0)."""
        if shift <= 0:
            return num << -shift
        q, r = num >> shift, num % (1 << shift)
        if r == 0:
            return q
        return q + ((self.rng.next_u64() >> (64 - shift)) < r)

    def noise(self, amplitude: int) -> int:
        """A uniform integer in [-amplitude, amplitude] from the core's generator (no draw for 0)."""
        if amplitude <= 0:
            return 0
        return (self.rng.next_u64() >> 11) % (2 * amplitude + 1) - amplitude

    def post_pop(self, c: int) -> int:
        lo = self.net.proj_post_lo[c]
        return next(p for p in range(len(self.net.pop_lo)) if self.net.pop_lo[p] == lo)

    def add(self, values: list[int], j: int, x: int, p: int) -> None:
        y = wrap(values[j] + x)
        if y != values[j] + x:
            self.overflows[p][0] += 1
        values[j] = y

    def bump(self, trace: list[int], j: int) -> None:
        trace[j] = IMPULSE if self.net.nearest else min(trace[j] + IMPULSE, TRACE_MAX)

    def neurons(self, p: int, kind: str, lo: int, hi: int) -> list[int]:
        q, spiked = self.q, []
        for j in range(lo, hi):
            if kind == "integrate_fire":
                x = self.v[j] + self.u[0][j] + self.u[1][j]
                v = saturate(x)
                self.overflows[p][1] += v != x
                self.u[0][j] = self.u[1][j] = 0
                if v >= q.vth[p]:
                    v -= int(q.vth[p])
                    spiked.append(j)
                self.v[j] = v
                continue
            if self.left[j] > 0:
                v = int(q.v_reset[p])
                self.left[j] -= 1
            else:
                x = decay(self.v[j] + self.noise(int(q.noise[p])), int(q.dv[p]), 0) + self.u[0][j] + self.u[1][j]
                x += int(q.bias[p])
                v = saturate(x)
                self.overflows[p][1] += v != x
            self.u[0][j] = decay(self.u[0][j], int(q.du_exc[p]), 1)
            self.u[1][j] = decay(self.u[1][j], int(q.du_inh[p]), 1)
            theta = decay(self.theta[j], int(q.d_adapt[p]), 0) if kind == "alif" else 0
            if v > q.vth[p] + theta:
                v = int(q.v_reset[p])
                self.left[j] = int(q.refractory[p])
                theta += int(q.theta_jump[p])
                spiked.append(j)
            self.theta[j] = theta
            self.v[j] = v
        return spiked

    def tick(self, t: int, input_ids: list[int]) -> list[int]:
        """Advance tick ``t``; the global ids that spiked, in order."""
        net, q = self.net, self.q
        spiked, by_pop = [], []
        for p, pop in enumerate(net.spec.populations):
            lo, hi = int(net.pop_lo[p]), int(net.pop_hi[p])
            if pop.kind == "input":
                new = list(input_ids)
            elif pop.kind == "poisson":
                new = [j for j in range(lo, hi) if (self.rng.next_u64() >> 32) < q.poisson_p[j]]
            else:
                new = self.neurons(p, pop.kind, lo, hi)
            spiked += new
            by_pop.append(new)
        traced = len(net.trace_ranges) > 0
        if traced:
            for lo, hi in net.trace_ranges:
                for trace, d in ((self.pre, q.pre_d), (self.post, q.post_d)):
                    for j in range(lo, hi):
                        if d[j] and trace[j]:
                            trace[j] = self.sr(trace[j] * (4096 - int(d[j])), 12)
            for i in spiked:
                self.bump(self.pre, i)
        for c in range(len(net.spec.projections)):
            port, delay, p = int(net.proj_port[c]), int(net.proj_delay[c]), self.post_pop(c)
            rule, prm = int(net.proj_rule[c]), [int(x) for x in q.learn_params[c]]
            target = self.u[port] if delay == 0 else self.ring.setdefault((port, t + delay), [0] * net.n_neurons)
            for i in spiked:
                row = self.rows[c].get(i, [])
                for s in row:
                    self.add(target, int(net.syn_post[s]), dendrite(self.w[s], int(q.w_exp[c])), p)
                for s in row:
                    y = self.post[int(net.syn_post[s])]
                    if rule == PAIR and self.learning:
                        self.w[s] = clip(self.w[s] - self.sr(prm[L_A_MINUS] * y, prm[L_AMP_SHIFT]),
                                         prm[L_W_MIN], prm[L_W_MAX])
                        self.updates += 1
                    elif rule == REWARD:
                        self.tag[s] = clip(self.tag[s] - self.sr(prm[L_A_MINUS] * y, TAG_SHIFT), -TAG_MAX, TAG_MAX)
                    elif rule == THIRD:
                        self.tag[s] = min(self.tag[s] + prm[L_A_PLUS], TAG_MAX)
        for port in (0, 1):
            arrived = self.ring.pop((port, t), None)
            if arrived is not None:
                for p in range(len(net.pop_lo)):
                    for j in range(int(net.pop_lo[p]), int(net.pop_hi[p])):
                        if arrived[j]:
                            self.add(self.u[port], j, arrived[j], p)
        if traced:
            for p, new in enumerate(by_pop):
                if net.pop_is_neuron[p]:
                    for j in new:
                        self.bump(self.post, j)
        for c in range(len(net.spec.projections)):
            rule, prm = int(net.proj_rule[c]), [int(x) for x in q.learn_params[c]]
            lo, hi = int(net.proj_syn_lo[c]), int(net.proj_syn_hi[c])
            if rule == REWARD or (rule == PAIR and self.learning):
                for j in spiked:
                    if not net.proj_post_lo[c] <= j < net.proj_post_hi[c]:
                        continue
                    for s in range(lo, hi):
                        if net.syn_post[s] != j:
                            continue
                        x = self.pre[int(net.syn_pre[s])]
                        if rule == REWARD:
                            self.tag[s] = clip(self.tag[s] + self.sr(prm[L_A_PLUS] * x, TAG_SHIFT), -TAG_MAX, TAG_MAX)
                        else:
                            self.w[s] = clip(self.w[s] + self.sr(prm[L_A_PLUS] * x, prm[L_AMP_SHIFT]),
                                             prm[L_W_MIN], prm[L_W_MAX])
                            self.updates += 1
            if rule in (REWARD, THIRD):
                for s in range(lo, hi):
                    self.acc[s] += self.tag[s]
                    if prm[L_TAG_DECAY] and self.tag[s]:
                        self.tag[s] = self.sr(self.tag[s] * (4096 - prm[L_TAG_DECAY]), 12)
        return spiked

    def end_block(self, dopamine: int, modulator: list[int] | None = None) -> None:
        """The epoch's weight update of reward-STDP (8-bit ``dopamine``) and third-factor (per-neuron 8-bit
        ``modulator``, None when all zero) projections; the epoch sums are cleared."""
        net, q = self.net, self.q
        for c in range(len(net.spec.projections)):
            rule, prm = int(net.proj_rule[c]), [int(x) for x in q.learn_params[c]]
            if rule not in (REWARD, THIRD):
                continue
            apply = self.learning and (rule == REWARD or modulator is not None)
            for s in range(int(net.proj_syn_lo[c]), int(net.proj_syn_hi[c])):
                acc, self.acc[s] = self.acc[s], 0
                if apply:
                    factor = dopamine if rule == REWARD else modulator[int(net.syn_post[s])]
                    num = factor * acc * prm[L_G_MANT]
                    step = self.sr(num, prm[L_G_SHIFT]) if num else 0
                    self.w[s] = clip(self.w[s] + step, prm[L_W_MIN], prm[L_W_MAX])
            if self.learning:
                self.updates += int(net.proj_syn_hi[c] - net.proj_syn_lo[c])


def clip(x: int, lo: int, hi: int) -> int:
    return lo if x < lo else hi if x > hi else x
