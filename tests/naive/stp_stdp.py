"""Plain-Python references for snn.stp, snn.stdp, snn.delays and snn.homeostasis, from spike histories.

The STDP and threshold references sum exponentials over every remembered spike instead of keeping traces.
"""
from __future__ import annotations

import math
from collections import defaultdict

import numpy as np


def random_projection(gen: np.random.Generator, n_pre: int, n_post: int, p: float) -> dict:
    """Each (pre, post) pair connected with probability p; CSR by pre plus the incoming index by post."""
    pairs = [(i, j) for i in range(n_pre) for j in range(n_post) if gen.random() < p]
    pre = np.array([i for i, _ in pairs], dtype=np.int32)
    post = np.array([j for _, j in pairs], dtype=np.int32)
    syn_ptr = np.zeros(n_pre + 1, dtype=np.int64)
    np.cumsum(np.bincount(pre, minlength=n_pre), out=syn_ptr[1:])
    in_syn = np.argsort(post, kind="stable").astype(np.int64)
    in_ptr = np.zeros(n_post + 1, dtype=np.int64)
    np.cumsum(np.bincount(post, minlength=n_post), out=in_ptr[1:])
    return {"pairs": pairs, "syn_pre": pre, "syn_post": post, "syn_ptr": syn_ptr, "in_ptr": in_ptr, "in_syn": in_syn}


def random_train(gen: np.random.Generator, n: int, n_ticks: int, p: float) -> list[list[int]]:
    """Per tick, the shuffled ids of the neurons that spike (each with probability p)."""
    train = []
    for _ in range(n_ticks):
        ids = [i for i in range(n) if gen.random() < p]
        gen.shuffle(ids)
        train.append(ids)
    return train


def decay_ref(elapsed_ms: float, tau_ms: float) -> float:
    """exp(-elapsed/tau), with tau = 0 meaning "gone after any positive time"."""
    if elapsed_ms == 0.0:
        return 1.0
    return 0.0 if tau_ms == 0.0 else math.exp(-elapsed_ms / tau_ms)


# --- short-term plasticity --------------------------------------------------------------------------------

def stp_efficacies_ref(spike_ticks, u_base: float, tau_facil_ms: float, tau_rec_ms: float, dt_ms: float):
    """Efficacy u_n x_n of each spike: u_1 = U, x_1 = 1, then the Markram et al. (1998) iteration."""
    out = []
    u, x, last = u_base, 1.0, None
    for t in spike_ticks:
        if last is not None:
            gap_ms = (t - last) * dt_ms
            u_next = u_base + u * (1.0 - u_base) * decay_ref(gap_ms, tau_facil_ms)
            x = 1.0 + (x * (1.0 - u) - 1.0) * decay_ref(gap_ms, tau_rec_ms)
            u = u_next
        out.append(u * x)
        last = t
    return out


def stp_steady_state_ref(u_base: float, tau_facil_ms: float, tau_rec_ms: float, interval_ms: float) -> float:
    """Stationary efficacy u* x* of a regular train with this interval."""
    f = decay_ref(interval_ms, tau_facil_ms)
    r = decay_ref(interval_ms, tau_rec_ms)
    u = u_base / (1.0 - (1.0 - u_base) * f)
    x = (1.0 - r) / (1.0 - (1.0 - u) * r)
    return u * x


def propagate_scaled_ref(spiked, pairs, weight, efficacy, i_syn) -> None:
    for i in spiked:
        for s, (pre, post) in enumerate(pairs):
            if pre == i:
                i_syn[post] += efficacy[i] * weight[s]


# --- delays -----------------------------------------------------------------------------------------------

def delayed_input_ref(train, pairs, weight, delay, n_post: int, n_ticks: int, efficacy=None):
    """Per tick t, the input reaching each neuron: every weight of a spike at t - delay_s (times its efficacy)."""
    arriving = [[0.0] * n_post for _ in range(n_ticks)]
    for t, spiked in enumerate(train):
        for i in spiked:
            for s, (pre, post) in enumerate(pairs):
                if pre == i and t + delay[s] < n_ticks:
                    gain = 1.0 if efficacy is None else efficacy[t][i]
                    arriving[t + delay[s]][post] += gain * weight[s]
    return arriving


# --- STDP -------------------------------------------------------------------------------------------------

def trace_ref(times, t: int, tau_ms: float, dt_ms: float, nearest: bool) -> float:
    """Trace at tick t from the remembered spike ticks: sum of kernels (all-to-all) or the latest one."""
    if not times:
        return 0.0
    if nearest:
        return math.exp(-(t - times[-1]) * dt_ms / tau_ms)
    return sum(math.exp(-(t - tk) * dt_ms / tau_ms) for tk in times)


def clip_ref(w, lo, hi):
    return min(max(w, lo), hi)


def pair_stdp_ref(pre_train, post_train, pairs, weight, a_plus, a_minus, w_min, w_max,
                  tau_plus_ms, tau_minus_ms, dt_ms, nearest):
    """Weights after every tick; pre events (depression) before post events (potentiation) in a tick."""
    pre_times, post_times = defaultdict(list), defaultdict(list)
    w = list(weight)
    history = []
    for t, (pre_spk, post_spk) in enumerate(zip(pre_train, post_train)):
        for i in pre_spk:
            for s, (pre, post) in enumerate(pairs):
                if pre == i and a_minus[s] != 0.0:
                    y = trace_ref(post_times[post], t, tau_minus_ms, dt_ms, nearest)
                    w[s] = clip_ref(w[s] - a_minus[s] * y, w_min[s], w_max[s])
        for i in pre_spk:
            pre_times[i].append(t)
        for j in post_spk:
            for s, (pre, post) in enumerate(pairs):
                if post == j and a_plus[s] != 0.0:
                    x = trace_ref(pre_times[pre], t, tau_plus_ms, dt_ms, nearest)
                    w[s] = clip_ref(w[s] + a_plus[s] * x, w_min[s], w_max[s])
        for j in post_spk:
            post_times[j].append(t)
        history.append(list(w))
    return history


def triplet_stdp_ref(pre_train, post_train, pairs, weight, a2_plus, a3_plus, a2_minus, a3_minus, w_min, w_max,
                     tau_plus_ms, tau_x_ms, tau_minus_ms, tau_y_ms, dt_ms, nearest):
    """Pfister & Gerstner (2006): the r2 and o2 factors count only spikes before the current one."""
    pre_times, post_times = defaultdict(list), defaultdict(list)
    w = list(weight)
    history = []
    for t, (pre_spk, post_spk) in enumerate(zip(pre_train, post_train)):
        for i in pre_spk:
            for s, (pre, post) in enumerate(pairs):
                if pre == i and (a2_minus[s] != 0.0 or a3_minus[s] != 0.0):
                    o1 = trace_ref(post_times[post], t, tau_minus_ms, dt_ms, nearest)
                    r2 = trace_ref(pre_times[pre], t, tau_x_ms, dt_ms, nearest)
                    w[s] = clip_ref(w[s] - o1 * (a2_minus[s] + a3_minus[s] * r2), w_min[s], w_max[s])
        for i in pre_spk:
            pre_times[i].append(t)
        for j in post_spk:
            for s, (pre, post) in enumerate(pairs):
                if post == j and (a2_plus[s] != 0.0 or a3_plus[s] != 0.0):
                    r1 = trace_ref(pre_times[pre], t, tau_plus_ms, dt_ms, nearest)
                    o2 = trace_ref(post_times[post], t, tau_y_ms, dt_ms, nearest)
                    w[s] = clip_ref(w[s] + r1 * (a2_plus[s] + a3_plus[s] * o2), w_min[s], w_max[s])
        for j in post_spk:
            post_times[j].append(t)
        history.append(list(w))
    return history


def clip_to_dale_ref(pairs, pre_sign, weight) -> None:
    for s, (pre, _) in enumerate(pairs):
        if pre_sign[pre] > 0 and weight[s] < 0.0:
            weight[s] = 0.0
        elif pre_sign[pre] < 0 and weight[s] > 0.0:
            weight[s] = 0.0


# --- homeostasis ------------------------------------------------------------------------------------------

def thresholds_ref(train, theta0, tau_theta_ms, theta_plus, dt_ms):
    """θ_j after every tick: θ0_j e^{-(t+1) dt/τ_j} + Σ_{spikes t_s <= t} θ+_j e^{-(t - t_s) dt/τ_j}."""
    n = len(theta0)
    spikes = [[] for _ in range(n)]
    history = []
    for t, spiked in enumerate(train):
        for j in spiked:
            spikes[j].append(t)
        row = []
        for j in range(n):
            theta = theta0[j] * decay_ref((t + 1) * dt_ms, tau_theta_ms[j])
            for ts in spikes[j]:
                theta += theta_plus[j] * decay_ref((t - ts) * dt_ms, tau_theta_ms[j])
            row.append(theta)
        history.append(row)
    return history


def normalise_incoming_ref(pairs, weight, target_sum, n_post: int) -> None:
    for j in range(n_post):
        total = sum(weight[s] for s, (_, post) in enumerate(pairs) if post == j)
        if total != 0.0:
            for s, (_, post) in enumerate(pairs):
                if post == j:
                    weight[s] = weight[s] * target_sum[j] / total
