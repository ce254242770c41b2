"""Guard of README "Hearing" (FSDD 0.97 on the official split): the word network generalises to files it was
not trained on, and what it learns comes from the labels — trained on shuffled labels it stays at chance.
A short version of bench fsdd: 600 training files (indices 5-19), the 200 official test files (0-4)."""
from __future__ import annotations

import random

import pytest

from edge.bench.fsdd import default_recordings, evaluate, train
from edge.hearing import Hearing, HearingConfig, fsdd_files

EPOCHS = 10


@pytest.fixture(scope="module")
def files():
    recordings = default_recordings()
    train_files, test_files = fsdd_files(recordings, range(5, 20)), fsdd_files(recordings, range(0, 5))
    if len(train_files) != 600 or len(test_files) != 200:
        pytest.skip(f"FSDD recordings not found under {recordings}")
    assert not {p for p, _ in train_files} & {p for p, _ in test_files}  # disjoint
    return train_files, test_files


def test_word_network_recognises_held_out_files(files):
    train_files, test_files = files
    hearing = Hearing(HearingConfig())
    train(hearing, train_files, EPOCHS, seed=0, log=lambda m: None)
    assert evaluate(hearing, test_files)["accuracy"] >= 0.85


def test_shuffled_labels_stay_at_chance(files):
    train_files, test_files = files
    labels = random.Random(0).sample([label for _, label in train_files], len(train_files))
    hearing = Hearing(HearingConfig())
    train(hearing, [(path, label) for (path, _), label in zip(train_files, labels)], EPOCHS, seed=0,
          log=lambda m: None)
    assert evaluate(hearing, test_files)["accuracy"] <= 0.25  # chance is 0.1
