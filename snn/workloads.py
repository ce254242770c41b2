"""The standard benchmark workloads of ../shared/bench/WORKLOADS.md as NetworkSpecs (W1 CUBA, W2 on-line STDP).

Pure construction: parameters in ms and mV exactly as the workload text gives them.
"""
from __future__ import annotations

import numpy as np

from snn.spec import LIFParams, NetworkSpec, PairSTDP, PopulationSpec, ProjectionSpec

CUBA_LIF = LIFParams(tau_mem_ms=20.0, tau_exc_ms=5.0, tau_inh_ms=10.0, v_rest_mv=-49.0, v_reset_mv=-60.0,
                     v_th_mv=-50.0, refractory_ms=5.0)
CUBA_WE_MV, CUBA_WI_MV = 60 * 0.27 / 10, -20 * 4.5 / 10
STDP_WMAX_MV = 0.5


def bernoulli_pairs(n: int, p: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A Bernoulli(p) random graph on n nodes (autapses allowed): each of the n² ordered pairs independently.

    Drawn as geometric gaps between successive connected pairs in row-major order, so the cost is
    proportional to the number of synapses, not to n².
    """
    total = n * n
    expected = total * p
    draws = int(expected + 6.0 * np.sqrt(expected) + 16)
    index = np.cumsum(rng.geometric(p, size=draws)) - 1
    while index[-1] < total:
        index = np.concatenate((index, index[-1] + np.cumsum(rng.geometric(p, size=draws))))
    index = index[index < total]
    pre, post = np.divmod(index, n)
    return pre.astype(np.int32), post.astype(np.int32)


def cuba_spec(n: int = 4000, seed: int = 0) -> NetworkSpec:
    """W1: n LIF neurons (80 % excitatory), p = 80 / n, we = 1.62 mV, wi = -9 mV, dt = 0.1 ms, v0 ~ U(Vr, Vt)."""
    rng = np.random.default_rng(seed)
    n_exc = int(0.8 * n)
    pre, post = bernoulli_pairs(n, 80.0 / n, rng)
    exc = pre < n_exc
    v0 = rng.uniform(CUBA_LIF.v_reset_mv, CUBA_LIF.v_th_mv, n)
    neurons = PopulationSpec("neurons", n, kind="lif", lif=CUBA_LIF, v_init_mv=v0)
    return NetworkSpec(
        populations=(neurons,),
        projections=(
            ProjectionSpec("excitatory", "neurons", "neurons", pre[exc], post[exc], np.full(exc.sum(), CUBA_WE_MV), port="exc"),
            ProjectionSpec("inhibitory", "neurons", "neurons", pre[~exc], post[~exc], np.full((~exc).sum(), CUBA_WI_MV), port="inh"),
        ),
        readout="neurons", dt_us=100, learning=False,
    )


def stdp_spec(seed: int = 42) -> NetworkSpec:
    """W2: 784 Poisson inputs (U(0, 63.75) Hz) -> 400 LIF, all-to-all pair STDP, lateral inhibition -0.5 mV, dt 0.5 ms.

    Draw order from default_rng(seed): rates, initial weights (784, 400), initial potentials.
    """
    rng = np.random.default_rng(seed)
    rates = rng.uniform(0.0, 63.75, 784)
    w0 = rng.uniform(0.0, STDP_WMAX_MV, (784, 400))
    lif = LIFParams(tau_mem_ms=100.0, tau_exc_ms=5.0, tau_inh_ms=10.0, v_rest_mv=-65.0, v_reset_mv=-65.0,
                    v_th_mv=-52.0, refractory_ms=5.0)
    v0 = rng.uniform(lif.v_reset_mv, lif.v_th_mv, 400)
    d_pre = 0.01 * STDP_WMAX_MV
    rule = PairSTDP(tau_pre_ms=20.0, tau_post_ms=20.0, a_pre_mv=d_pre, a_post_mv=-1.05 * d_pre,
                    w_min_mv=0.0, w_max_mv=STDP_WMAX_MV)
    pre, post = np.divmod(np.arange(784 * 400), 400)
    li, lj = np.nonzero(~np.eye(400, dtype=bool))
    return NetworkSpec(
        populations=(
            PopulationSpec("input", 784, kind="poisson", rate_hz=rates),
            PopulationSpec("exc", 400, kind="lif", lif=lif, v_init_mv=v0),
        ),
        projections=(
            ProjectionSpec("input_exc", "input", "exc", pre.astype(np.int32), post.astype(np.int32), w0.reshape(-1),
                           plasticity=rule, port="exc"),
            ProjectionSpec("lateral", "exc", "exc", li.astype(np.int32), lj.astype(np.int32), np.full(len(li), -0.5),
                           port="inh"),
        ),
        readout="exc", dt_us=500, learning=True,
    )
