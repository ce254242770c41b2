"""Hand-made cases of the recall kernels (snn.memory.hippocampus_kernels) that kill the mutants the reference
comparisons let survive (tests/mutation/run.sh): the near-tie window of k_winners (1e-9 of the largest drive,
also when every drive is below 1), exact ties at the threshold among several winners above it, ..."""
from __future__ import annotations

import numpy as np

from snn.memory.hippocampus_kernels import k_winners


def winners_of(drive, priority, k):
    drive, priority = np.asarray(drive, dtype=np.float64), np.asarray(priority, dtype=np.float64)
    winners = np.full(drive.size, -7, dtype=np.int64)
    count = k_winners(drive, priority, k, winners)
    return winners[:count].tolist()


def test_near_ties_within_1e9_of_the_top_drive_go_by_priority():
    # 1.5e-9 below the top (relative): outside the window, the larger drive wins whatever the priority
    assert winners_of([1.0, 1.0 - 1.5e-9], [0.0, 0.99], 1) == [0]
    # 0.5e-9 below: inside the window, the higher priority wins
    assert winners_of([1.0, 1.0 - 0.5e-9], [0.0, 0.99], 1) == [1]


def test_near_tie_window_scales_with_the_top_drive_below_one():
    # top drive 0.5: the window is 0.5e-9, so 0.6e-9 below is outside it
    assert winners_of([0.5, 0.5 - 0.6e-9], [0.0, 0.99], 1) == [0]
    assert winners_of([0.5, 0.5 - 0.3e-9], [0.0, 0.99], 1) == [1]
    # and above one it widens: 3e-9 below a top of 4 is inside (window 4e-9)
    assert winners_of([4.0, 4.0 - 3e-9], [0.0, 0.99], 1) == [1]


def test_exact_ties_at_the_threshold_fill_only_the_places_left():
    # two above the threshold, a tie of two at it and one place left: the lower id takes it
    assert winners_of([5.0, 4.0, 2.0, 2.0, 1.0], np.zeros(5), 3) == [0, 1, 2]
    assert winners_of([2.0, 5.0, 2.0, 4.0, 6.0, 2.0], np.zeros(6), 4) == [0, 1, 3, 4]


def test_several_exact_ties_share_the_places_left_one_each():
    # one above the threshold, three tied at it and two places left: the two lowest ids of the tie
    assert winners_of([5.0, 2.0, 2.0, 2.0], np.zeros(4), 3) == [0, 1, 2]
    assert winners_of([2.0, 2.0, 7.0, 2.0, 2.0], np.zeros(5), 4) == [0, 1, 2, 3]
