"""snn.hearing.word_net: readout and plasticity kernels against plain-Python references, learning synthetic
classes with the label-gated three-factor rule, the margin gate, validation, state, divisive normalisation."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from naive import audio as ref  # noqa: E402
from snn.frames import SpikeFrames  # noqa: E402
from snn.hearing.utterance import Utterance, replay_frames  # noqa: E402
from snn.hearing.word_net import WordNet, WordNetConfig  # noqa: E402

N_INPUTS = 12
CONFIG = WordNetConfig(n_classes=3, n_bins=4, replay_ticks=16, threshold=1.0, learning_rate=1.0, margin=0.05,
                       temperature=0.05)


def as_lists(frames: SpikeFrames) -> list[list[int]]:
    return [frames.tick(k).tolist() for k in range(frames.n_ticks)]


# ---------------------------------------------------------------- synthetic classes


def make_class_prototypes(gen: np.random.Generator, n_classes: int, n_ticks: int = 80, n_events: int = 40):
    """Each class: a fixed random set of (tick, neuron) events, a sparse spatio-temporal pattern."""
    return [(gen.integers(0, n_ticks, n_events), gen.integers(0, N_INPUTS, n_events)) for _ in range(n_classes)]


def sample(gen: np.random.Generator, prototype, n_ticks: int = 80, jitter: int = 2, keep: float = 0.8,
           noise: int = 8) -> Utterance:
    """The prototype with dropped events, time jitter and a few random noise spikes."""
    ticks, ids = prototype
    kept = gen.random(ticks.size) < keep
    t = np.clip(ticks[kept] + gen.integers(-jitter, jitter + 1, kept.sum()), 0, n_ticks - 1)
    t = np.concatenate([t, gen.integers(0, n_ticks, noise)])
    i = np.concatenate([ids[kept], gen.integers(0, N_INPUTS, noise)])
    order = np.argsort(t, kind="stable")
    return Utterance(t[order].astype(np.int64), i[order].astype(np.int32), n_ticks, 0)


def dataset(seed: int, n_classes: int, per_class: int = 10):
    gen = np.random.default_rng(seed)
    prototypes = make_class_prototypes(gen, n_classes)
    data = [(sample(gen, prototypes[c]), c) for c in range(n_classes) for _ in range(per_class)]
    return [data[k] for k in gen.permutation(len(data))]


def train_until_clean(net: WordNet, data, max_epochs: int = 10) -> int:
    """Epochs until one full pass makes no update; returns that epoch's index (1-based)."""
    for epoch in range(1, max_epochs + 1):
        updates = 0
        for utterance, label in data:
            net.present(utterance)
            updates += net.reinforce(label)
        if updates == 0:
            return epoch
    return max_epochs + 1


@pytest.mark.parametrize("n_classes, seed", [(2, 0), (3, 1), (3, 2)])
def test_learns_synthetic_classes_to_full_training_accuracy(n_classes, seed):
    config = WordNetConfig(n_classes=n_classes, n_bins=4, replay_ticks=16)
    net = WordNet(config, N_INPUTS)
    data = dataset(seed, n_classes)
    assert train_until_clean(net, data) <= 6
    decisions = [net.present(u) for u, _ in data]
    assert [d.label for d in decisions] == [label for _, label in data]
    for d, (_, label) in zip(decisions, data):
        others = np.delete(d.drive, label)
        assert d.drive[label] - others.max() > config.margin
        assert 0.0 <= d.confidence <= 1.0
        assert d.spike_counts.shape == (n_classes,)


def test_reinforce_false_when_margin_is_met_and_weights_unchanged():
    net = WordNet(CONFIG, N_INPUTS)
    data = dataset(4, 3)
    train_until_clean(net, data)
    utterance, label = data[0]
    net.present(utterance)
    before = net.weights.copy()
    assert net.reinforce(label) is False
    assert np.array_equal(net.weights, before)
    # a wrong label is an error: the weights move
    assert net.reinforce((label + 1) % 3) is True
    assert not np.array_equal(net.weights, before)


def test_first_update_from_zero_weights():
    net = WordNet(CONFIG, N_INPUTS)
    u = Utterance(np.array([0, 0, 5, 9], dtype=np.int64), np.array([3, 3, 1, 3], dtype=np.int32), 10, 0)
    d = net.present(u)
    assert np.array_equal(d.drive, np.zeros(3)) and d.label == 0
    assert d.confidence == pytest.approx(1 / 3)
    assert net.reinforce(2, learning_rate=0.5) is True
    # map neurons: 3*4+0 (twice), 1*4+2, 3*4+3; counts 2, 1, 1; L2 norm sqrt(6)
    expected = np.zeros((N_INPUTS * 4, 3))
    for j, count in ((12, 2), (6, 1), (15, 1)):
        expected[j, 2] = 0.5 * count / np.sqrt(6)
        expected[j, 0] = -0.5 * count / np.sqrt(6)  # the rival: strongest other neuron (the first on a tie)
    np.testing.assert_allclose(net.weights, expected, rtol=1e-12)


def test_present_drive_matches_reference_readout():
    net = WordNet(CONFIG, N_INPUTS)
    gen = np.random.default_rng(8)
    net.weights[...] = gen.normal(0.0, 0.5, net.weights.shape)
    u = dataset(8, 3)[0][0]
    d = net.present(u)
    frames = replay_frames(u, CONFIG.n_bins, CONFIG.replay_ticks)
    v, counts = ref.integrate_readout_ref(as_lists(frames), net.weights.tolist(), CONFIG.threshold)
    norm = np.sqrt((np.bincount(frames.neuron_ids) ** 2).sum())
    assert d.spike_counts.tolist() == counts
    np.testing.assert_allclose(d.drive, (CONFIG.threshold * np.array(counts) + np.array(v)) / norm, rtol=1e-12)
    assert d.label == int(np.argmax(d.drive))
    z = np.exp((d.drive - d.drive.max()) / CONFIG.temperature)
    assert d.confidence == pytest.approx(z.max() / z.sum())


def test_reinforce_without_input_does_nothing():
    net = WordNet(CONFIG, N_INPUTS)
    assert net.reinforce(1) is False  # nothing presented yet
    net.present(Utterance(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int32), 30, 0))
    assert net.reinforce(1) is False
    assert not net.weights.any()


@pytest.mark.parametrize("label", [-1, 3, 10])
def test_label_out_of_range_raises(label):
    net = WordNet(CONFIG, N_INPUTS)
    net.present(dataset(0, 3)[0][0])
    with pytest.raises(ValueError, match="label"):
        net.reinforce(label)


def test_input_neuron_out_of_range_raises():
    net = WordNet(CONFIG, N_INPUTS)
    u = Utterance(np.array([0], dtype=np.int64), np.array([N_INPUTS], dtype=np.int32), 5, 0)
    with pytest.raises(ValueError, match="out of range"):
        net.present(u)


@pytest.mark.parametrize("kwargs, key", [({"n_classes": 0}, "n_classes"), ({"n_bins": 2.0}, "n_bins"),
                                         ({"replay_ticks": True}, "replay_ticks"), ({"threshold": 0.0}, "threshold"),
                                         ({"learning_rate": -1.0}, "learning_rate"),
                                         ({"temperature": 0.0}, "temperature"), ({"margin": -0.1}, "margin")])
def test_config_validation(kwargs, key):
    with pytest.raises(ValueError, match=rf"word_net\.{key}"):
        WordNetConfig(**kwargs)


def test_state_restore_round_trip():
    data = dataset(5, 3)
    net = WordNet(CONFIG, N_INPUTS)
    train_until_clean(net, data)
    saved = net.state()
    copy = WordNet(CONFIG, N_INPUTS)
    copy.restore(saved)
    for u, _ in data:
        a, b = net.present(u), copy.present(u)
        assert a.label == b.label and np.array_equal(a.drive, b.drive)
    saved["weights"][...] = 0.0  # state() is a copy
    assert net.weights.any()
    with pytest.raises(ValueError, match="shape"):
        WordNet(CONFIG, N_INPUTS + 1).restore(net.state())


def normalised_tags(net: WordNet) -> np.ndarray:
    """The synapses' eligibility (presynaptic spike counts, read through the back end) over their L2 norm."""
    return net.backend.read("projection/map_words/eligibility") / net._norm


def test_duplicating_every_spike_does_not_change_the_decision():
    data = dataset(6, 3)
    net = WordNet(CONFIG, N_INPUTS)
    train_until_clean(net, data, max_epochs=2)  # partly trained: weights of both signs
    for u, _ in data[:10]:
        doubled = Utterance(np.repeat(u.ticks, 2), np.repeat(u.neuron_ids, 2), u.n_ticks, u.start_tick)
        a = net.present(u)
        elig_a = normalised_tags(net)
        b = net.present(doubled)
        assert a.label == b.label
        np.testing.assert_allclose(b.drive, a.drive, rtol=1e-9, atol=1e-12)
        assert b.confidence == pytest.approx(a.confidence, rel=1e-6, abs=1e-9)
        np.testing.assert_allclose(normalised_tags(net), elig_a, rtol=1e-12)
