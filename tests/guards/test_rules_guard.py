"""Guards of README "The SNN engine" (learning rules) through the Backend Protocol: reward STDP strengthens a
pre-before-post synapse under positive dopamine and weakens it under negative; the per-neuron third factor
moves each target's synapses by its own sign. (Pair STDP's window: tests/snn/test_delays_stp_engine.py, also a
guard.)"""
from __future__ import annotations

import numpy as np
import pytest

from edge.backends import open_backend
from snn.frames import SpikeFrames
from snn.spec import LIFParams, NetworkSpec, PopulationSpec, ProjectionSpec, RewardSTDP


def paired_weight(reward: float, url: str = "numba") -> float:
    """One synapse in -> out (strong enough to make out fire): pre spikes then post spikes, then ``reward``."""
    rule = RewardSTDP(tau_pre_ms=20.0, tau_post_ms=20.0, tau_eligibility_ms=200.0, tau_baseline_ms=1e9,
                      a_plus=1.0, a_minus=0.0, learning_rate=0.1, w_min_mv=0.0, w_max_mv=100.0)
    spec = NetworkSpec(
        (PopulationSpec("in", 1, kind="input"), PopulationSpec("out", 1, lif=LIFParams(v_th_mv=1.0))),
        (ProjectionSpec("p", "in", "out", np.array([0]), np.array([0]), np.array([50.0]), rule),),
        readout="out")
    backend = open_backend(url)
    backend.load(spec, seed=0)
    fired = backend.step(SpikeFrames.from_lists([[0], [], [], [], []]), 0.0).n_spikes
    assert fired >= 1  # post after pre: eligibility > 0
    backend.step(SpikeFrames.empty(5), reward)
    return float(backend.read("projection/p/weight_mv")[0])


@pytest.mark.parametrize("url", ["numba", "numba?dtype=float32"])
def test_reward_stdp_follows_the_sign_of_dopamine(url):
    assert paired_weight(+1.0, url) > 50.0 > paired_weight(-1.0, url)
    assert paired_weight(0.0, url) == 50.0
