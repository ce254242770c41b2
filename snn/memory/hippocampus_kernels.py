"""Numba kernels of the hippocampal memory: sparse DG drive, k-winners-take-all, CA3 one-shot storage and
recurrent settling, and the counting hetero-associations of the perforant path and CA1. Pure functions over
arrays owned by ``snn.memory.hippocampus``."""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def fan_in_drive(x: np.ndarray, fan_in_ids: np.ndarray, drive: np.ndarray) -> None:
    """drive[i] = sum of x over the presynaptic ids ``fan_in_ids[i, :]`` (unit weights, sparse wiring)."""
    n, fan = fan_in_ids.shape
    for i in range(n):
        total = 0.0
        for m in range(fan):
            total += x[fan_in_ids[i, m]]
        drive[i] = total


@njit(cache=True)
def k_winners(drive: np.ndarray, priority: np.ndarray, k: int, winners: np.ndarray) -> int:
    """The ``k`` neurons with the largest drive, written ascending into ``winners``; neurons with drive <= 0
    never win. Drives equal to within 1e-9 of the largest drive are ranked by the fixed ``priority`` in
    [0, 1), exact score ties by the lower id, so the choice is deterministic.
    Returns how many won (< k when fewer than k have positive drive). This is the steady state of a
    population under shared feedback inhibition that lets the k most driven cells fire."""
    n = drive.shape[0]
    top = 0.0
    for i in range(n):
        top = max(top, drive[i])
    tie_scale = 1e-9 * top
    score = np.empty(n)
    n_pos = 0
    for i in range(n):
        if drive[i] > 0.0:
            score[i] = drive[i] + tie_scale * priority[i]
            n_pos += 1
        else:
            score[i] = -1.0
    m = min(k, n_pos)
    if m == 0:
        return 0
    threshold = np.partition(score, n - m)[n - m]
    above = 0
    for i in range(n):
        if score[i] > threshold:
            above += 1
    ties_left = m - above
    count = 0
    for i in range(n):
        if score[i] > threshold or (score[i] == threshold and ties_left > 0):
            if score[i] == threshold:
                ties_left -= 1
            winners[count] = i
            count += 1
    return count


@njit(cache=True)
def store_pattern(recurrent: np.ndarray, active: np.ndarray) -> int:
    """One-shot clipped Hebbian storage: every synapse between two co-active neurons (not self) is set to 1.
    Returns the number of synapses newly switched on."""
    new = 0
    for a in range(active.shape[0]):
        i = active[a]
        for b in range(active.shape[0]):
            j = active[b]
            if i != j and recurrent[i, j] == 0:
                recurrent[i, j] = 1
                new += 1
    return new


@njit(cache=True)
def associate(counts: np.ndarray, pre: np.ndarray, post: np.ndarray, column_total: np.ndarray) -> None:
    """One-shot hetero-association: counts[i, j] += 1 (saturating at 255) for every pre i and post j;
    ``column_total[j]`` (the sum of column j) follows."""
    for a in range(pre.shape[0]):
        i = pre[a]
        for b in range(post.shape[0]):
            j = post[b]
            if counts[i, j] < 255:
                counts[i, j] += 1
                column_total[j] += 1


@njit(cache=True)
def centred_cue_drive(counts: np.ndarray, cue: np.ndarray, column_total: np.ndarray, drive: np.ndarray) -> None:
    """Drive of each post cell j by the cue (distinct pre ids) through counting synapses: the cue's mean
    count onto j minus the mean count onto j of the pre cells outside the cue (the background a random cue
    would give), clipped at 0: drive[j] = max(0, cue_sum[j] / n_cue - (column_total[j] - cue_sum[j]) /
    (n_pre - n_cue)) with cue_sum[j] = sum over cue i of counts[i, j].

    A cell stored once with the whole cue and with nothing else gets exactly 1, one stored with a fraction
    f of it about f; a cell that was merely stored often (a large column) gets no more than one that was
    not. All zero for an empty cue (and the background is 0 when the cue is every pre cell)."""
    n_pre, n = counts.shape
    n_cue = cue.shape[0]
    for j in range(n):
        drive[j] = 0.0
    if n_cue == 0:
        return
    for a in range(n_cue):
        row = counts[cue[a]]
        for j in range(n):
            drive[j] += row[j]
    n_rest = n_pre - n_cue
    for j in range(n):
        background = (column_total[j] - drive[j]) / n_rest if n_rest > 0 else 0.0
        drive[j] = max(0.0, drive[j] / n_cue - background)


@njit(cache=True)
def recurrent_drive(recurrent: np.ndarray, active: np.ndarray, n_active: int, cue_drive: np.ndarray,
                    cue_gain: float, drive: np.ndarray) -> None:
    """drive[i] = sum over active j of recurrent[j, i] + cue_gain * cue_drive[i] (rows of ``recurrent`` are
    presynaptic, so each active neuron adds one contiguous row)."""
    n = drive.shape[0]
    for i in range(n):
        drive[i] = cue_gain * cue_drive[i]
    for a in range(n_active):
        row = recurrent[active[a]]
        for i in range(n):
            drive[i] += row[i]


@njit(cache=True)
def settle(recurrent: np.ndarray, cue_drive: np.ndarray, cue_gain: float, initial: np.ndarray, n_initial: int,
           priority: np.ndarray, k: int, max_steps: int, state: np.ndarray) -> tuple:
    """Run the CA3 attractor from ``initial[:n_initial]``: each step every neuron sums its recurrent input
    from the active set plus the scaled cue, and feedback inhibition lets the k most driven fire (k_winners),
    until the active set repeats or ``max_steps`` steps. Writes the settled set into ``state``; returns
    (n_active, steps, connected_pairs) where connected_pairs counts stored synapses within the settled set."""
    n = recurrent.shape[0]
    drive = np.empty(n)
    current = np.empty(n, dtype=np.int64)
    nxt = np.empty(n, dtype=np.int64)
    n_cur = n_initial
    for a in range(n_initial):
        current[a] = initial[a]
    steps = 0
    for step in range(max_steps):
        recurrent_drive(recurrent, current, n_cur, cue_drive, cue_gain, drive)
        n_next = k_winners(drive, priority, k, nxt)
        steps = step + 1
        same = n_next == n_cur
        if same:
            for a in range(n_cur):
                if nxt[a] != current[a]:
                    same = False
                    break
        for a in range(n_next):
            current[a] = nxt[a]
        n_cur = n_next
        if same:
            break
    pairs = 0
    for a in range(n_cur):
        row = recurrent[current[a]]
        for b in range(n_cur):
            pairs += row[current[b]]
        state[a] = current[a]
    return n_cur, steps, pairs
