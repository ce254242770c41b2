"""One conformance suite for every back end, through the Backend Protocol only (open_backend, load, step, state,
restore, read, write, report): a back end joins by adding its URL to BACKENDS. The oracle is the plain-Python
network of tests/naive/network.py. No test here imports a back end's internals. What a back end cannot do is
listed in UNSUPPORTED with the reason, and skipped, never loosened."""
from __future__ import annotations

import os
import sys
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edge.backends import open_backend as open_url  # noqa: E402
from edge.board_cli import open_pty  # noqa: E402
from hw.serial.board import BoardCore, FdLink, serve  # noqa: E402
from naive.network import NaiveNetwork  # noqa: E402
from snn.frames import SpikeFrames  # noqa: E402
from snn.spec import (  # noqa: E402
    LIFParams, NetworkSpec, PairSTDP, PopulationSpec, ProjectionSpec, RewardSTDP, ThirdFactorHebb,
)

BACKENDS = {
    # url: absolute tolerance on weights and potentials against the float64 oracle
    "numba?dtype=float64": 1e-9,
    "numba?dtype=float32": 2e-4,
    "emulator?discretize=0": 1e-9,   # the emulator's mapping in float64: the reference's arithmetic
    "emulator": 5e-2,                # integer core: weights quantised to 8-bit mantissas (tests/hw bounds it)
    "serial://BOARD": 5e-2,          # the integer core on a board emulator over a real pty: each open, its own board
}
BOARD = "serial://BOARD"
URLS = list(BACKENDS)
INTEGER = "the integer core quantises weights and potentials, so spikes and values differ from float (see tests/hw)"
LEARNS = ("the integer core learns in integers (7-bit traces, 16-bit tags, stochastic rounding, one epoch a "
          "block), so weights differ from float (tests/hw/test_emulator_learning.py)")
POISSON = ("the Poisson schedule and generator are each back end's private state (numba/, emulator/), so after a "
           "move between numba and the emulator the Poisson neurons draw other spikes")


def _integer(url: str) -> bool:
    return url.startswith(("emulator", "serial")) and "discretize=0" not in url


def _moves(p: dict) -> str | None:
    if _integer(p["source"]) and _integer(p["target"]):
        return None  # the same integer core on both sides (in process or on a board): exact
    if _integer(p["source"]) or _integer(p["target"]):
        return LEARNS
    core = ("emulator", "serial")
    return POISSON if p["source"].startswith(core) != p["target"].startswith(core) else None


_boards: list[tuple[threading.Event, threading.Thread, int, int]] = []


def open_backend(url: str):
    """open_url, with ``serial://BOARD`` opened on a new board: the board emulator serving a fresh pty from a
    thread of this process (a device, like a board on a cable; the back end under test is the serial one)."""
    if url != BOARD:
        return open_url(url)
    master, slave, path = open_pty()
    stop = threading.Event()
    thread = threading.Thread(target=serve, args=(FdLink(master), BoardCore(), ), kwargs={"stop": stop.is_set,
                              "poll_s": 0.02}, daemon=True)
    thread.start()
    _boards.append((stop, thread, master, slave))
    return open_url(f"serial://{path}")


@pytest.fixture(scope="module", autouse=True)
def _close_boards():
    yield
    for stop, thread, master, slave in _boards:
        stop.set()
        thread.join(5)
        os.close(master)
        os.close(slave)


UNSUPPORTED = {
    # test -> (its parameters -> the reason it cannot hold for them, or None)
    "test_matches_the_plain_python_network": lambda p: (
        (LEARNS if p["rule"] is not None else INTEGER) if _integer(p["url"]) else None),
    "test_learned_state_moves_between_back_ends": _moves,
    "test_state_names_follow_the_spec": lambda p: INTEGER if _integer(p["url"]) else None,
    "test_per_neuron_third_factor_teaches_the_rewarded_neuron_and_punishes_the_other":
        lambda p: LEARNS if _integer(p["url"]) else None,
    "test_integrate_fire_keeps_the_remainder_and_spikes_once_a_tick":
        lambda p: INTEGER if _integer(p["url"]) else None,
}


@pytest.fixture(autouse=True)
def _skip_unsupported(request):
    rule = UNSUPPORTED.get(request.node.originalname)
    callspec = getattr(request.node, "callspec", None)
    reason = rule(callspec.params) if rule is not None and callspec is not None else None
    if reason:
        pytest.skip(reason)
N_INPUT, N_POISSON, N_A, N_B = 6, 3, 5, 4
BLOCK_TICKS = 20
REWARD = RewardSTDP(tau_pre_ms=10.0, tau_post_ms=15.0, tau_eligibility_ms=40.0, tau_baseline_ms=30.0,
                    a_plus=1.0, a_minus=0.6, learning_rate=0.4, w_min_mv=0.0, w_max_mv=9.0)
PAIR = PairSTDP(tau_pre_ms=10.0, tau_post_ms=15.0, a_pre_mv=0.3, a_post_mv=-0.25, w_min_mv=0.0, w_max_mv=9.0)


def i32(xs) -> np.ndarray:
    return np.array(xs, dtype=np.int32)


def network(rule=REWARD, noise_mv: float = 0.0) -> NetworkSpec:
    """input + Poisson -> LIF A <-> LIF B: dense and sparse, plastic and fixed, exc and inh projections."""
    gen = np.random.default_rng(7)
    lif_a = LIFParams(tau_mem_ms=10.0, tau_exc_ms=4.0, tau_inh_ms=8.0, v_th_mv=6.0, v_reset_mv=-1.0,
                      refractory_ms=2.0, noise_mv=noise_mv)
    lif_b = LIFParams(tau_mem_ms=15.0, tau_exc_ms=3.0, tau_inh_ms=6.0, v_th_mv=1.5, refractory_ms=1.0)
    dense = (i32(np.repeat(np.arange(N_INPUT), N_A)), i32(np.tile(np.arange(N_A), N_INPUT)))
    return NetworkSpec(
        populations=(PopulationSpec("in", N_INPUT, kind="input"),
                     PopulationSpec("poi", N_POISSON, kind="poisson", rate_hz=np.array([100.0, 0.0, 400.0])),
                     PopulationSpec("A", N_A, lif=lif_a), PopulationSpec("B", N_B, lif=lif_b)),
        projections=(
            ProjectionSpec("in_A", "in", "A", *dense, gen.uniform(1.0, 5.0, N_INPUT * N_A), rule),
            ProjectionSpec("poi_A", "poi", "A", i32([0, 2, 2]), i32([1, 0, 4]), np.array([4.0, 3.0, 5.0])),
            ProjectionSpec("A_B", "A", "B", i32([4, 0, 1, 3, 0]), i32([0, 1, 2, 3, 3]), gen.uniform(4.0, 8.0, 5),
                           rule),
            ProjectionSpec("B_A", "B", "A", i32([2, 0]), i32([0, 3]), np.array([-4.0, -3.0]), port="inh"),
        ),
        readout="B",
    )


def blocks(seed: int, n: int) -> list[tuple[SpikeFrames, float]]:
    gen = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        ticks = [np.flatnonzero(gen.random(N_INPUT) < 0.35).tolist() for _ in range(BLOCK_TICKS)]
        out.append((SpikeFrames.from_lists(ticks), float(gen.normal(0.0, 1.0))))
    return out


def as_lists(frames: SpikeFrames) -> list[list[int]]:
    return [frames.tick(k).tolist() for k in range(frames.n_ticks)]


def opened(url: str, spec: NetworkSpec, seed: int = 3):
    backend = open_backend(url)
    backend.load(spec, seed)
    return backend


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("rule", [REWARD, PAIR, None], ids=["reward", "pair", "fixed"])
def test_matches_the_plain_python_network(url, rule):
    spec = network(rule)
    backend, oracle = opened(url, spec), NaiveNetwork(spec, seed=3)
    atol = BACKENDS[url]
    fired = 0
    for frames, reward in blocks(1, 10):
        out = backend.step(frames, reward)
        assert as_lists(out) == oracle.step([frames.tick(k).tolist() for k in range(frames.n_ticks)], reward)
        fired += out.n_spikes
        for proj in spec.projections:
            np.testing.assert_allclose(backend.read(f"projection/{proj.name}/weight_mv"),
                                       oracle.projection(proj.name).weight, rtol=0, atol=atol, err_msg=proj.name)
        np.testing.assert_allclose(backend.read("population/B/v_mv"), oracle.v[-N_B:], rtol=0, atol=atol)
    assert fired > 0  # not vacuous: the readout fired, and plastic weights moved
    moved = not np.allclose(backend.read("projection/in_A/weight_mv"), spec.projections[0].weight_mv)
    assert moved == (rule is not None)
    assert backend.report()["ticks"] == 10 * BLOCK_TICKS


@pytest.mark.parametrize("url", URLS)
def test_same_seed_same_actions_other_seed_other_noise(url):
    spec = network(REWARD, noise_mv=2.0)
    runs = []
    for seed in (5, 5, 6):
        backend = opened(url, spec, seed)
        runs.append([as_lists(backend.step(f, r)) for f, r in blocks(2, 8)])
    assert runs[0] == runs[1] and runs[0] != runs[2]


@pytest.mark.parametrize("url", URLS)
def test_state_round_trip_continues_identically(url):
    spec = network(REWARD, noise_mv=1.0)
    data = blocks(3, 10)
    a = opened(url, spec, seed=1)
    for f, r in data[:4]:
        a.step(f, r)
    saved = a.state()
    first = [as_lists(a.step(f, r)) for f, r in data[4:]]
    b = opened(url, spec, seed=99)
    b.restore(saved)
    assert [as_lists(b.step(f, r)) for f, r in data[4:]] == first


@pytest.mark.parametrize("source", URLS)
@pytest.mark.parametrize("target", URLS)
def test_learned_state_moves_between_back_ends(source, target):
    """State written by one back end restores into another (portable names; the other's extras ignored) and
    the network goes on as it would have: same spikes, weights within both tolerances."""
    spec = network(REWARD)
    data = blocks(4, 8)
    a = opened(source, spec)
    for f, r in data[:4]:
        a.step(f, r)
    b = opened(target, spec, seed=11)
    b.restore({**a.state(), "elsewhere/private": np.zeros(3)})
    for f, r in data[4:]:
        assert as_lists(b.step(f, r)) == as_lists(a.step(f, r))
    atol = max(BACKENDS[source], BACKENDS[target])
    for proj in spec.projections:
        name = f"projection/{proj.name}/weight_mv"
        np.testing.assert_allclose(b.read(name), a.read(name), rtol=0, atol=atol)


@pytest.mark.parametrize("url", URLS)
def test_state_names_follow_the_spec(url):
    spec = network(REWARD)
    backend = opened(url, spec)
    state = backend.state()
    for proj in spec.projections:
        np.testing.assert_allclose(state[f"projection/{proj.name}/weight_mv"], proj.weight_mv, rtol=1e-6)
    for pop in ("A", "B"):
        assert state[f"population/{pop}/v_mv"].shape == (spec.population(pop).size,)
    assert state["projection/in_A/eligibility"].shape == (N_INPUT * N_A,)
    assert "network/reward_baseline" in state


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("spoil", ["missing", "extra", "shape", "type", "nan", "negative count"])
def test_restore_refuses_a_bad_array_by_name_and_changes_nothing(url, spoil):
    backend = opened(url, network(REWARD))
    before = backend.state()
    state = backend.state()
    key = "projection/A_B/weight_mv"
    if spoil == "missing":
        del state[key]
    elif spoil == "extra":
        key = "projection/ghost/weight_mv"
        state[key] = np.zeros(2)
    elif spoil == "shape":
        state[key] = np.zeros(len(state[key]) + 1)
    elif spoil == "type":
        state[key] = state[key].astype(np.int64)
    elif spoil == "negative count":
        key = "population/B/refractory_ticks"
        state[key] = np.full(len(state[key]), -1)
    else:
        state[key] = np.full(len(state[key]), np.nan)
    with pytest.raises(ValueError, match=repr(key)):
        backend.restore(state)
    after = backend.state()
    assert all(np.array_equal(before[k], after[k]) for k in before)


@pytest.mark.parametrize("url", URLS)
def test_other_networks_state_is_refused(url):
    small = network(REWARD)
    other = replace(small, populations=small.populations[:3] + (replace(small.populations[3], size=N_B + 1),))
    with pytest.raises(ValueError):
        opened(url, small).restore(opened(url, replace(other, projections=small.projections[:2])).state())


def word_like() -> NetworkSpec:
    """Inputs -> two integrate-and-fire readouts, all-to-all, learned by a per-neuron third factor."""
    n_in = 4
    pre, post = i32(np.repeat(np.arange(n_in), 2)), i32(np.tile(np.arange(2), n_in))
    return NetworkSpec(
        (PopulationSpec("in", n_in, kind="input"),
         PopulationSpec("out", 2, kind="integrate_fire", lif=LIFParams(v_th_mv=1.0, refractory_ms=0.0))),
        (ProjectionSpec("in_out", "in", "out", pre, post, np.zeros(len(pre)), ThirdFactorHebb()),),
        readout="out")


@pytest.mark.parametrize("url", URLS)
def test_per_neuron_third_factor_teaches_the_rewarded_neuron_and_punishes_the_other(url):
    backend = opened(url, word_like())
    backend.step(SpikeFrames.from_lists([[0, 1], [1], []]), 0.0)   # inputs 0 and 1 tag their synapses
    backend.step(SpikeFrames.empty(1), np.array([0.5, -0.25]))     # reward neuron 0, punish neuron 1
    w = backend.read("projection/in_out/weight_mv").reshape(4, 2)
    np.testing.assert_allclose(w, [[0.5, -0.25], [1.0, -0.5], [0.0, 0.0], [0.0, 0.0]], atol=1e-6)
    inverted = opened(url, word_like())
    inverted.step(SpikeFrames.from_lists([[0, 1], [1], []]), 0.0)
    inverted.step(SpikeFrames.empty(1), np.array([-0.5, 0.25]))
    np.testing.assert_allclose(inverted.read("projection/in_out/weight_mv"), -w.reshape(-1), atol=1e-6)
    with pytest.raises(ValueError, match="per-neuron reward"):
        backend.step(SpikeFrames.empty(1), np.array([1.0, 2.0, 3.0]))


@pytest.mark.parametrize("url", URLS)
def test_integrate_fire_keeps_the_remainder_and_spikes_once_a_tick(url):
    backend = opened(url, word_like())
    backend.write("projection/in_out/weight_mv", np.full(8, 0.75))
    out = backend.step(SpikeFrames.from_lists([[0, 1, 2], [], []]), 0.0)  # 2.25 arrives in tick 1
    assert as_lists(out) == [[], [0, 1], [0, 1]]  # 2.25 -> 1.25 -> 0.25: one spike a tick, subtractive reset
    np.testing.assert_allclose(backend.read("population/out/v_mv"), [0.25, 0.25], atol=1e-6)


@pytest.mark.parametrize("url", URLS)
def test_bad_reward_and_bad_input_are_refused(url):
    backend = opened(url, network(REWARD))
    with pytest.raises(ValueError, match="finite"):
        backend.step(SpikeFrames.empty(1), float("nan"))
    with pytest.raises(ValueError):
        backend.step(SpikeFrames.from_lists([[N_INPUT]]), 0.0)


@pytest.mark.parametrize("url", URLS)
def test_non_finite_names_the_first_bad_array(url):
    backend = opened(url, network(REWARD))
    names = [name for name in backend.state() if name.startswith("projection/")]
    assert backend.non_finite(names) is None
    with pytest.raises(ValueError):  # nothing from outside can put a NaN in
        backend.write("projection/A_B/weight_mv", np.full(5, np.nan))
    assert backend.non_finite(names) is None
