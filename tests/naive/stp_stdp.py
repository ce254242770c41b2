"""Plain-Python references for snn.engine.stp and snn.engine.homeostasis, computed from spike histories."""
from __future__ import annotations

import math

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


# --- delays -----------------------------------------------------------------------------------------------

# --- STDP -------------------------------------------------------------------------------------------------

# --- homeostasis ------------------------------------------------------------------------------------------

def normalise_incoming_ref(pairs, weight, target_sum, n_post: int) -> None:
    for j in range(n_post):
        total = sum(weight[s] for s, (_, post) in enumerate(pairs) if post == j)
        if total != 0.0:
            for s, (_, post) in enumerate(pairs):
                if post == j:
                    weight[s] = weight[s] * target_sum[j] / total
