"""The learning-rule kernels of snn.engine.kernel against a small plain-Python reference written here, for every
rule (fixed, pair, triplet, reward, third factor), sparse and dense layouts, with and without short-term
plasticity and learning: kills the mutants (tests/mutation/run.sh) that the reference-network tests let survive,
mostly in the triplet and third-factor branches, the efficacy scaling and the range checks.

The projection under test sits between a filler row/column/synapse before it and another projection's after
it, and the spike lists hold ids just outside its pre/post ranges, so an off-by-one in any range shows."""
from __future__ import annotations

import numpy as np
import pytest

from snn.codes import (
    N_RULE_PARAMS, R_A3_MINUS, R_A3_PLUS, R_A_MINUS, R_A_PLUS, R_ELIG_DECAY, R_LEARNING_RATE, R_W_MAX, R_W_MIN,
    RULE_NONE, RULE_PAIR_STDP, RULE_REWARD_STDP, RULE_THIRD_FACTOR, RULE_TRIPLET_STDP,
)
from snn.engine.kernel import (
    apply_dopamine, apply_third_factor, dense_column_potentiate, dense_row_add, dense_row_pair_stdp,
    postsynaptic_plasticity, propagate_projection,
)

W_MIN, W_MAX = 0.5, 4.0
RULES = {"fixed": RULE_NONE, "pair": RULE_PAIR_STDP, "triplet": RULE_TRIPLET_STDP, "reward": RULE_REWARD_STDP,
         "third": RULE_THIRD_FACTOR}


def params(a_plus=0.7, a_minus=0.9, a3_plus=0.35, a3_minus=0.45, rate=0.3, decay=0.8):
    prm = np.zeros(N_RULE_PARAMS)
    prm[R_A_PLUS], prm[R_A_MINUS], prm[R_W_MIN], prm[R_W_MAX] = a_plus, a_minus, W_MIN, W_MAX
    prm[R_LEARNING_RATE], prm[R_ELIG_DECAY], prm[R_A3_PLUS], prm[R_A3_MINUS] = rate, decay, a3_plus, a3_minus
    return prm


class Layout:
    """Global ids: 0, 1 filler; pre [2, 2 + n_pre); post [pre_hi, pre_hi + n_post); one more neuron after.
    Synapse 0 (row 0, column 0) is a filler before the projection, the last synapse (own row and column) one
    after it; both must stay untouched."""

    def __init__(self, dense: bool):
        self.dense = dense
        self.n_pre, self.n_post = (3, 4) if dense else (4, 4)
        self.pre_lo = 2
        self.pre_hi = self.post_lo = self.pre_lo + self.n_pre
        self.post_hi = self.post_lo + self.n_post
        self.n = self.post_hi + 1
        if dense:
            pre = np.repeat(np.arange(self.n_pre), self.n_post)
            post = np.tile(np.arange(self.n_post), self.n_pre)
        else:  # a repeated pair (0 -> 2), a silent presynaptic neuron (3) and an unreached target (3)
            pre = np.array([1, 0, 2, 0, 1, 1, 2])
            post = np.array([0, 2, 1, 2, 0, 1, 2])
            order = np.argsort(pre, kind="stable")
            pre, post = pre[order], post[order]
        n_own = len(pre)
        self.s0, self.s1 = 1, 1 + n_own
        self.syn_pre = np.concatenate([[0], pre + self.pre_lo, [self.post_hi]]).astype(np.int32)
        self.syn_post = np.concatenate([[1], post + self.post_lo, [self.pre_lo]]).astype(np.int32)
        counts = np.bincount(pre, minlength=self.n_pre)
        # row 0 filler, rows 1..n_pre this projection, then the other projection's row
        self.row0 = 1
        self.row_ptr = np.concatenate([[0, 1], 1 + np.cumsum(counts), [n_own + 2]]).astype(np.int64)
        # columns: 0 filler, 1..n_post this projection, then the other's
        self.col0 = 1
        by_post = np.argsort(post, kind="stable")
        self.in_syn = np.concatenate([[0], by_post + 1, [n_own + 1]]).astype(np.int64)
        in_counts = np.bincount(post, minlength=self.n_post)
        self.in_ptr = np.concatenate([[0, 1], 1 + np.cumsum(in_counts), [n_own + 2]]).astype(np.int64)
        self.n_syn = n_own + 2

    def own(self):
        return range(self.s0, self.s1)

    def spikes(self, gen):
        """Ids at and just past every range boundary, in random order, with a stale tail after n_spiked."""
        edges = [self.pre_lo - 1, self.pre_lo, self.pre_hi - 1, self.post_lo, self.post_hi - 1, self.post_hi]
        ids = np.array(edges + list(gen.integers(0, self.n, 4)), dtype=np.int32)
        gen.shuffle(ids)
        spiked = np.full(len(ids) + 3, self.pre_lo, dtype=np.int32)
        spiked[:len(ids)] = ids
        return spiked, len(ids)


def clip(w):
    return min(max(w, W_MIN), W_MAX)


def propagate_reference(lay, spiked, n_spiked, rule, prm, weight, elig, post_trace, pre_slow, target, eff, has_stp,
                        learn):
    for i in spiked[:n_spiked]:
        if not lay.pre_lo <= i < lay.pre_hi:
            continue
        row = range(lay.row_ptr[lay.row0 + i - lay.pre_lo], lay.row_ptr[lay.row0 + i - lay.pre_lo + 1])
        for s in row:
            target[lay.syn_post[s]] += weight[s] * (eff[i] if has_stp else 1.0)
        for s in row:
            j = lay.syn_post[s]
            if rule == RULE_PAIR_STDP and learn:
                weight[s] = clip(weight[s] - prm[R_A_MINUS] * post_trace[j])
            elif rule == RULE_TRIPLET_STDP and learn:
                weight[s] = clip(weight[s] - post_trace[j] * (prm[R_A_MINUS] + prm[R_A3_MINUS] * pre_slow[i]))
            elif rule == RULE_REWARD_STDP:
                elig[s] -= prm[R_A_MINUS] * post_trace[j]
            elif rule == RULE_THIRD_FACTOR:
                elig[s] += prm[R_A_PLUS]


def postsynaptic_reference(lay, spiked, n_spiked, rule, prm, weight, elig, pre_trace, post_slow, learn):
    for j in spiked[:n_spiked]:
        if not lay.post_lo <= j < lay.post_hi:
            continue
        gain = prm[R_A_PLUS] + (prm[R_A3_PLUS] * post_slow[j] if rule == RULE_TRIPLET_STDP else 0.0)
        for s in lay.own():
            if lay.syn_post[s] != j:
                continue
            if rule == RULE_REWARD_STDP:
                elig[s] += prm[R_A_PLUS] * pre_trace[lay.syn_pre[s]]
            elif learn:
                weight[s] = clip(weight[s] + gain * pre_trace[lay.syn_pre[s]])


def _state(lay, gen):
    weight = gen.uniform(-1.0, 5.5, lay.n_syn)  # outside [w_min, w_max] too: clipped on update, both sides
    elig = gen.normal(0.0, 1.0, lay.n_syn)
    return weight, elig


@pytest.mark.parametrize("has_stp", [False, True], ids=["static", "stp"])
@pytest.mark.parametrize("learn", [True, False], ids=["learn", "frozen"])
@pytest.mark.parametrize("rule", list(RULES), ids=list(RULES))
@pytest.mark.parametrize("dense", [False, True], ids=["sparse", "dense"])
def test_propagate_projection_matches_the_reference(dense, rule, learn, has_stp):
    lay, code, prm = Layout(dense), RULES[rule], params()
    gen = np.random.default_rng([int(dense), code, int(learn), int(has_stp)])
    weight, elig = _state(lay, gen)
    ref_w, ref_e = weight.copy(), elig.copy()
    target = gen.normal(0.0, 1.0, lay.n)
    ref_t = target.copy()
    for _ in range(4):
        spiked, n_spiked = lay.spikes(gen)
        post_trace, pre_slow = gen.uniform(0.0, 3.0, lay.n), gen.uniform(0.0, 3.0, lay.n)
        eff = gen.uniform(0.1, 0.9, lay.n)
        propagate_projection(spiked, n_spiked, lay.pre_lo, lay.pre_hi, lay.post_lo, dense, code, prm, lay.row0,
                             lay.row_ptr, lay.syn_post, weight, elig, post_trace, pre_slow, target, eff, has_stp,
                             learn)
        propagate_reference(lay, spiked, n_spiked, code, prm, ref_w, ref_e, post_trace, pre_slow, ref_t, eff,
                            has_stp, learn)
        np.testing.assert_allclose(target, ref_t, rtol=0, atol=1e-12)
        np.testing.assert_allclose(weight, ref_w, rtol=0, atol=1e-12)
        np.testing.assert_allclose(elig, ref_e, rtol=0, atol=1e-12)
    changed_w = not np.array_equal(weight, _state(lay, np.random.default_rng([int(dense), code, int(learn),
                                                                              int(has_stp)]))[0])
    assert changed_w == (learn and rule in ("pair", "triplet"))


@pytest.mark.parametrize("learn", [True, False], ids=["learn", "frozen"])
@pytest.mark.parametrize("rule", ["pair", "triplet", "reward"])
@pytest.mark.parametrize("dense", [False, True], ids=["sparse", "dense"])
def test_postsynaptic_plasticity_matches_the_reference(dense, rule, learn):
    lay, code, prm = Layout(dense), RULES[rule], params()
    gen = np.random.default_rng([10 + int(dense), code, int(learn)])
    weight, elig = _state(lay, gen)
    ref_w, ref_e = weight.copy(), elig.copy()
    for _ in range(4):
        spiked, n_spiked = lay.spikes(gen)
        pre_trace, post_slow = gen.uniform(0.0, 3.0, lay.n), gen.uniform(0.0, 3.0, lay.n)
        postsynaptic_plasticity(spiked, n_spiked, lay.pre_lo, lay.pre_hi, lay.post_lo, lay.post_hi, code, prm,
                                lay.col0, dense, lay.s0, lay.in_ptr, lay.in_syn, lay.syn_pre, weight, elig,
                                pre_trace, post_slow, learn)
        postsynaptic_reference(lay, spiked, n_spiked, code, prm, ref_w, ref_e, pre_trace, post_slow, learn)
        np.testing.assert_allclose(weight, ref_w, rtol=0, atol=1e-12)
        np.testing.assert_allclose(elig, ref_e, rtol=0, atol=1e-12)


def test_triplet_terms_hand_example():
    """One synapse, pre 2 -> post 3: depression post_trace * (a2- + a3- * slow pre trace), potentiation
    pre_trace * (a2+ + a3+ * slow post trace)."""
    prm = params(a_plus=0.5, a_minus=0.25, a3_plus=0.125, a3_minus=0.0625)
    row_ptr, syn_post, syn_pre = np.array([0, 1], np.int64), np.array([3], np.int32), np.array([2], np.int32)
    weight, elig, target = np.array([2.0]), np.zeros(1), np.zeros(4)
    trace, slow = np.array([0.0, 0.0, 2.0, 4.0]), np.array([0.0, 0.0, 8.0, 16.0])
    propagate_projection(np.array([2], np.int32), 1, 2, 3, 3, False, RULE_TRIPLET_STDP, prm, 0, row_ptr, syn_post,
                         weight, elig, trace, slow, target, np.ones(4), False, True)
    assert target.tolist() == [0.0, 0.0, 0.0, 2.0]
    assert weight.tolist() == [W_MIN]  # 2 - 4 * (0.25 + 0.0625 * 8) = -1 -> clipped to w_min
    weight[0] = 1.0
    postsynaptic_plasticity(np.array([3], np.int32), 1, 2, 3, 3, 4, RULE_TRIPLET_STDP, prm, 0, False, 0,
                            np.array([0, 1], np.int64), np.array([0], np.int64), syn_pre, weight, elig, trace, slow,
                            True)
    assert weight.tolist() == [min(1.0 + 2.0 * (0.5 + 0.125 * 16.0), W_MAX)]  # 1 + 5 -> clipped to w_max
    weight[0] = 1.0
    postsynaptic_plasticity(np.array([3], np.int32), 1, 2, 3, 3, 4, RULE_TRIPLET_STDP, params(a_plus=0.25,
                            a3_plus=0.0625), 0, False, 0, np.array([0, 1], np.int64), np.array([0], np.int64), syn_pre,
                            weight, elig, trace, slow, True)
    assert weight.tolist() == [1.0 + 2.0 * (0.25 + 0.0625 * 16.0)]


def test_dense_helpers_hand_example():
    target, weight = np.zeros(5), np.array([9.0, 1.0, 2.0, 3.0, 9.0])
    dense_row_add(target, weight, 1, 3, 1, 0.5)
    assert target.tolist() == [0.0, 0.5, 1.0, 1.5, 0.0]
    post_trace = np.array([9.0, 0.0, 1.0, 2.0, 9.0])
    dense_row_pair_stdp(target, weight, post_trace, 1, 3, 1, 0.75, 0.5, 2.5, 2.0)
    assert target.tolist() == [0.0, 2.5, 5.0, 7.5, 0.0]
    assert weight.tolist() == [9.0, 1.0, 1.25, 1.5, 9.0]
    weight = np.array([9.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 9.0])  # 2 pre x 3 post from synapse 1
    pre_trace = np.array([9.0, 1.0, 2.0, 9.0])
    dense_column_potentiate(weight, pre_trace, 1, 3, 1, 1, 2, 0.5, 0.0, 5.5)  # column 1: synapses 2 and 5
    assert weight.tolist() == [9.0, 1.0, 2.5, 3.0, 4.0, 5.5, 6.0, 9.0]  # 5 + 1 -> clipped to 5.5
    dense_column_potentiate(weight, pre_trace, 1, 3, 0, 1, 2, -2.0, 0.25, 9.0)  # column 0: synapses 1 and 4
    assert weight.tolist() == [9.0, 0.25, 2.5, 3.0, 0.25, 5.5, 6.0, 9.0]  # 1 - 2 and 4 - 4 -> clipped to 0.25


@pytest.mark.parametrize("learn", [True, False])
def test_apply_dopamine_only_on_its_synapses(learn):
    gen = np.random.default_rng(3)
    weight, elig = gen.uniform(-1.0, 5.5, 8), gen.normal(0.0, 5.0, 8)
    w0, e0 = weight.copy(), elig.copy()
    prm = params(rate=0.3, decay=0.8)
    apply_dopamine(prm, 2, 6, weight, elig, -1.5, learn)
    want = np.clip(w0 + 0.3 * -1.5 * e0, W_MIN, W_MAX) if learn else w0
    np.testing.assert_allclose(weight[2:6], want[2:6], rtol=0, atol=1e-12)
    np.testing.assert_allclose(elig[2:6], 0.8 * e0[2:6], rtol=0, atol=1e-12)
    for a, b in ((weight, w0), (elig, e0)):
        assert np.array_equal(a[:2], b[:2]) and np.array_equal(a[6:], b[6:])


@pytest.mark.parametrize("decay", [0.8, 1.0])
@pytest.mark.parametrize("learn", [True, False])
def test_apply_third_factor_matches_the_reference(learn, decay):
    gen = np.random.default_rng(4)
    n = 6
    syn_post = gen.integers(0, n, 9).astype(np.int32)
    weight, elig, modulator = gen.uniform(-1.0, 5.5, 9), gen.normal(0.0, 5.0, 9), gen.normal(0.0, 2.0, n)
    w0, e0 = weight.copy(), elig.copy()
    apply_third_factor(params(rate=0.3, decay=decay), 2, 7, syn_post, weight, elig, modulator, learn)
    want = np.clip(w0 + 0.3 * modulator[syn_post] * e0, W_MIN, W_MAX) if learn else w0
    np.testing.assert_allclose(weight[2:7], want[2:7], rtol=0, atol=1e-12)
    np.testing.assert_allclose(elig[2:7], decay * e0[2:7], rtol=0, atol=1e-12)
    for a, b in ((weight, w0), (elig, e0)):
        assert np.array_equal(a[:2], b[:2]) and np.array_equal(a[7:], b[7:])
