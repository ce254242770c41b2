"""Plain-Python references for snn.memory.hippocampus_kernels: fan_in_drive, k_winners, store_pattern, recurrent_drive,
settle and label_votes. Lists, loops and sets only; arrays are read element by element."""
from __future__ import annotations


def fan_in_drive_ref(x, fan_in_ids) -> list[float]:
    """drive[i] = sum of x[j] over the presynaptic ids j in row i (summed in row order)."""
    drive = []
    for row in fan_in_ids:
        total = 0.0
        for j in row:
            total += float(x[int(j)])
        drive.append(total)
    return drive


def k_winners_ref(drive, priority, k: int) -> list[int]:
    """Neurons with drive > 0 score drive + 0.5 * priority; the k highest scores win (equal scores: lower id
    first); the winners are returned ascending. Fewer than k win when fewer than k have positive drive."""
    scored = []
    for i in range(len(drive)):
        d = float(drive[i])
        if d > 0.0:
            scored.append((d + 0.5 * float(priority[i]), i))
    scored.sort(key=lambda pair: (-pair[0], pair[1]))
    return sorted(i for _, i in scored[:k])


def store_pattern_ref(recurrent, active) -> int:
    """Switch on recurrent[i][j] for every ordered pair of distinct active ids; returns how many were off."""
    ids = {int(i) for i in active}
    new = 0
    for i in ids:
        for j in ids:
            if i != j and recurrent[i][j] == 0:
                recurrent[i][j] = 1
                new += 1
    return new


def recurrent_drive_ref(recurrent, active, cue_drive, cue_gain: float) -> list[float]:
    """drive[i] = cue_gain * cue_drive[i] + sum over active j of recurrent[j][i] (added in the order of active)."""
    n = len(cue_drive)
    drive = [cue_gain * float(cue_drive[i]) for i in range(n)]
    for j in active:
        for i in range(n):
            drive[i] += float(recurrent[int(j)][i])
    return drive


def settle_ref(recurrent, cue_drive, cue_gain: float, initial, priority, k: int,
               max_steps: int) -> tuple[list[int], int, int]:
    """Attractor dynamics: from the set ``initial``, each step the k most driven (recurrent input from the
    current set plus the scaled cue) become the new set; stop when the set repeats or after ``max_steps``.
    Returns (settled ids ascending, steps taken, stored synapses within the settled set, diagonal included)."""
    current = [int(i) for i in initial]
    steps = 0
    for step in range(max_steps):
        drive = recurrent_drive_ref(recurrent, current, cue_drive, cue_gain)
        nxt = k_winners_ref(drive, priority, k)
        steps = step + 1
        same = set(nxt) == set(current)
        current = nxt
        if same:
            break
    pairs = 0
    for i in current:
        for j in current:
            pairs += int(recurrent[i][j])
    return current, steps, pairs


def associate_ref(counts, pre, post) -> list[list[int]]:
    """counts[i][j] + 1 for every pre i and post j, at most 255 (a new nested list)."""
    out = [list(map(int, row)) for row in counts]
    for i in pre:
        for j in post:
            out[int(i)][int(j)] = min(255, out[int(i)][int(j)] + 1)
    return out


def centred_cue_drive_ref(counts, cue) -> list[float]:
    """drive[j] = max(0, mean over cue i of counts[i][j] - mean over the other i of counts[i][j]); 0 for no cue."""
    n_pre, n = len(counts), len(counts[0])
    if len(cue) == 0:
        return [0.0] * n
    cue_set = {int(i) for i in cue}
    rest = [i for i in range(n_pre) if i not in cue_set]
    drive = []
    for j in range(n):
        cue_mean = sum(float(counts[i][j]) for i in cue_set) / len(cue_set)
        rest_mean = sum(float(counts[i][j]) for i in rest) / len(rest) if rest else 0.0
        drive.append(max(0.0, cue_mean - rest_mean))
    return drive
