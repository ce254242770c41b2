"""snn.hearing.utterance: the segmenter kernel against its plain-Python reference, segmentation of synthetic
envelopes (bounds, hangover, min / max length, chunking, flush) and the time-normalised replay."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from naive import audio as ref  # noqa: E402
from snn.frames import SpikeFrames  # noqa: E402
from snn.hearing.utterance import SegmenterConfig, Utterance, UtteranceSegmenter, replay_frames  # noqa: E402
from snn.hearing.utterance_kernels import segment_ticks  # noqa: E402

DT_US = 1000
# at 1 ms ticks: hangover 20 ticks, min 10 ticks, max 100 ticks
CONFIG = SegmenterConfig(on_level=0.2, hangover_ms=20.0, min_ms=10.0, max_ms=100.0)
N_CHANNELS = 4
N_NEURONS = 8


def envelopes_with(bursts: list[tuple[int, int]], n_ticks: int, level: float = 1.0) -> np.ndarray:
    """(n_ticks, channels) envelopes: ``level`` in every channel inside each [start, end) burst, else a
    little noise well below on_level."""
    env = np.full((n_ticks, N_CHANNELS), 0.05)
    env[::3, 0] = 0.3  # one channel above on_level now and then: the mean stays below it
    for start, end in bursts:
        env[start:end] = level
    return env


def random_spikes(n_ticks: int, seed: int = 0, p: float = 0.3) -> SpikeFrames:
    gen = np.random.default_rng(seed)
    return SpikeFrames.from_lists([sorted(np.flatnonzero(gen.random(N_NEURONS) < p).tolist())
                                   for _ in range(n_ticks)])


def expected_utterance(spikes: SpikeFrames, start: int, end: int) -> tuple[list[int], list[int]]:
    ticks, ids = [], []
    for t in range(start, end):
        for i in spikes.tick(t):
            ticks.append(t - start)
            ids.append(int(i))
    return ticks, ids


def bounds_of(utterances: list[Utterance]) -> list[tuple[int, int]]:
    return [(u.start_tick, u.start_tick + u.n_ticks) for u in utterances]


def segmenter() -> UtteranceSegmenter:
    return UtteranceSegmenter(CONFIG, DT_US)


# ---------------------------------------------------------------- kernel against the reference


@pytest.mark.parametrize("seed", range(4))
def test_segment_kernel_matches_reference_chunk_by_chunk(seed):
    gen = np.random.default_rng(seed)
    # runs of activity and silence of random lengths, so every branch is taken
    level = np.concatenate([np.full(int(gen.integers(1, 40)), float(gen.choice([0.0, 0.1, 0.25, 0.9])))
                            for _ in range(60)])
    hangover, max_ticks, on_level = 12, 45, 0.2
    state = np.array([-1, -1, 0], dtype=np.int64)
    state_ref = ref.new_segmenter_state()
    first = 0
    got, expected = [], []
    for size in gen.integers(0, 90, 40):
        chunk = level[first:first + size]
        bounds = np.full((len(chunk) // hangover + 2, 2), -7, dtype=np.int64)
        n = segment_ticks(chunk, first, on_level, hangover, max_ticks, state, bounds)
        got.extend(map(tuple, bounds[:n].tolist()))
        expected.extend(ref.segment_ticks_ref(chunk.tolist(), first, on_level, hangover, max_ticks, state_ref))
        assert state.tolist() == state_ref
        first += len(chunk)
    assert got == expected
    assert len(expected) > 5
    assert all(end - start <= max_ticks for start, end in expected)


def test_level_equal_to_on_level_is_not_active():
    state = np.array([-1, -1, 0], dtype=np.int64)
    bounds = np.zeros((4, 2), dtype=np.int64)
    assert segment_ticks(np.full(30, 0.2), 0, 0.2, 5, 100, state, bounds) == 0
    assert state[0] == -1


# ---------------------------------------------------------------- segmentation of synthetic envelopes


def test_two_bursts_separated_by_silence_give_two_utterances_with_their_spikes():
    n = 500
    env = envelopes_with([(50, 90), (300, 360)], n)
    spikes = random_spikes(n)
    seg = segmenter()
    utterances = seg.push(env, spikes)
    assert bounds_of(utterances) == [(50, 90), (300, 360)]
    for u in utterances:
        ticks, ids = expected_utterance(spikes, u.start_tick, u.start_tick + u.n_ticks)
        assert u.ticks.tolist() == ticks and u.neuron_ids.tolist() == ids
        assert u.ticks.dtype == np.int64 and u.neuron_ids.dtype == np.int32
        assert u.ticks.min() >= 0 and u.ticks.max() < u.n_ticks
    assert not seg.in_speech
    assert seg.flush() == []


def test_an_utterance_closes_exactly_hangover_ticks_after_its_last_active_tick():
    env = envelopes_with([(10, 40)], 200)
    seg = segmenter()
    # last active tick 39; 20 silent ticks 40..59 close it at tick 59
    assert seg.push(env[:59], SpikeFrames.empty(59)) == []
    assert seg.in_speech
    assert bounds_of(seg.push(env[59:60], SpikeFrames.empty(1))) == [(10, 40)]
    assert not seg.in_speech


@pytest.mark.parametrize("gap, expected", [
    (5, [(50, 130)]),
    (19, [(50, 144)]),             # hangover - 1 silent ticks: still one word
    (20, [(50, 80), (100, 145)]),  # hangover silent ticks: two
])
def test_gap_shorter_than_hangover_does_not_split(gap, expected):
    bursts = [(50, 80), (80 + gap, 125 + gap)]
    env = envelopes_with(bursts, 400)
    assert bounds_of(segmenter().push(env, SpikeFrames.empty(400))) == expected


def test_too_short_bursts_are_dropped():
    # min 10 ticks: bursts of 3 and 9 ticks are clicks, one of exactly 10 ticks is kept
    env = envelopes_with([(20, 23), (100, 109), (200, 210), (300, 340)], 500)
    assert bounds_of(segmenter().push(env, SpikeFrames.empty(500))) == [(200, 210), (300, 340)]


def test_max_length_cuts_long_speech():
    env = envelopes_with([(10, 260)], 400)
    utterances = segmenter().push(env, SpikeFrames.empty(400))
    assert bounds_of(utterances) == [(10, 110), (110, 210), (210, 260)]
    assert max(u.n_ticks for u in utterances) == 100


def test_rounding_of_durations_to_ticks():
    seg = UtteranceSegmenter(SegmenterConfig(hangover_ms=10.0, min_ms=4.0, max_ms=50.0), dt_us=2000)
    assert (seg._hangover, seg._min_ticks, seg._max_ticks) == (5, 2, 25)


@settings(max_examples=40, deadline=None)
@given(cuts=st.lists(st.integers(0, 700), max_size=10))
def test_chunked_pushes_give_the_same_utterances_as_one_push(cuts):
    n = 700
    env = envelopes_with([(30, 70), (75, 90), (200, 205), (300, 520), (600, 690)], n)
    spikes = random_spikes(n, seed=3)
    whole_seg = segmenter()
    whole = whole_seg.push(env, spikes) + whole_seg.flush()
    seg = segmenter()
    chunked = []
    bounds = [0, *sorted(cuts), n]
    for a, b in zip(bounds[:-1], bounds[1:]):
        part = SpikeFrames(spikes.tick_ptr[a:b + 1] - spikes.tick_ptr[a],
                           spikes.neuron_ids[spikes.tick_ptr[a]:spikes.tick_ptr[b]])
        chunked += seg.push(env[a:b], part)
    chunked += seg.flush()
    assert bounds_of(whole) == [(30, 90), (300, 400), (400, 500), (500, 520), (600, 690)]
    assert bounds_of(chunked) == bounds_of(whole)
    for u, w in zip(chunked, whole):
        assert np.array_equal(u.ticks, w.ticks) and np.array_equal(u.neuron_ids, w.neuron_ids)


def test_flush_closes_an_open_utterance_and_forgets_the_rest():
    n = 119
    env = envelopes_with([(40, 100)], n)  # still open at the end: 19 silent ticks < hangover
    spikes = random_spikes(n, seed=5)
    seg = segmenter()
    assert seg.push(env, spikes) == []
    assert seg.in_speech
    (u,) = seg.flush()
    assert (u.start_tick, u.n_ticks) == (40, 60)
    ticks, ids = expected_utterance(spikes, 40, 100)
    assert u.ticks.tolist() == ticks and u.neuron_ids.tolist() == ids
    assert not seg.in_speech and seg.flush() == []
    # time goes on after a flush: a later burst is stamped in the same clock
    later = seg.push(envelopes_with([(10, 30)], 100), SpikeFrames.empty(100))
    assert bounds_of(later) == [(n + 10, n + 30)]


def test_flush_drops_an_open_utterance_that_is_too_short():
    seg = segmenter()
    assert seg.push(envelopes_with([(95, 100)], 100), random_spikes(100)) == []
    assert seg.in_speech
    assert seg.flush() == []
    assert not seg.in_speech


def test_push_rejects_mismatched_spikes():
    with pytest.raises(ValueError, match="spike ticks"):
        segmenter().push(np.zeros((10, N_CHANNELS)), SpikeFrames.empty(9))


def test_config_validation():
    for kwargs, key in (({"hangover_ms": 0.0}, "hangover_ms"), ({"min_ms": -1.0}, "min_ms"),
                        ({"max_ms": 0.0}, "max_ms"), ({"min_ms": 100.0, "max_ms": 100.0}, "min_ms"),
                        ({"on_level": -0.1}, "on_level")):
        with pytest.raises(ValueError, match=rf"segmenter\.{key}"):
            SegmenterConfig(**kwargs)


def test_many_max_length_cuts_in_one_chunk():
    # More cuts than hangovers fit in one chunk (max_ms < hangover_ms). Run in a child process so that an
    # out-of-bounds write in the kernel could not take pytest down with it.
    code = textwrap.dedent("""
        import numpy as np
        from snn.frames import SpikeFrames
        from snn.hearing.utterance import SegmenterConfig, UtteranceSegmenter
        seg = UtteranceSegmenter(SegmenterConfig(hangover_ms=50.0, min_ms=5.0, max_ms=10.0), 1000)
        got = seg.push(np.ones((200, 2)), SpikeFrames.empty(200))
        print(len(got), flush=True)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 0, proc.stderr[-500:]
    assert proc.stdout.split()[0] == "20"  # 200 active ticks cut every 10 ticks


# ---------------------------------------------------------------- replay


def test_replay_frames_hand_example():
    u = Utterance(ticks=np.array([0, 0, 3, 5, 9], dtype=np.int64),
                  neuron_ids=np.array([1, 2, 0, 1, 2], dtype=np.int32), n_ticks=10, start_tick=123)
    frames = replay_frames(u, n_bins=2, replay_ticks=5)
    # bin = 2 * tick // 10 -> 0 0 0 1 1; map id = neuron * 2 + bin; replay tick = 5 * tick // 10 -> 0 0 1 2 4
    assert frames.neuron_ids.tolist() == [2, 4, 0, 3, 5]
    assert frames.tick_ptr.tolist() == [0, 2, 3, 4, 4, 5]
    assert frames.neuron_ids.dtype == np.int32 and frames.tick_ptr.dtype == np.int64
    assert [frames.tick(k).tolist() for k in range(5)] == [[2, 4], [0], [3], [], [5]]


def test_replay_frames_stretches_a_short_word():
    u = Utterance(np.array([0, 1, 2, 3], dtype=np.int64), np.array([0, 0, 1, 1], dtype=np.int32), 4, 0)
    frames = replay_frames(u, n_bins=4, replay_ticks=8)
    assert frames.neuron_ids.tolist() == [0, 1, 6, 7]
    assert frames.tick_ptr.tolist() == [0, 1, 1, 2, 2, 3, 3, 4, 4]


@pytest.mark.parametrize("n_ticks, n_bins, replay_ticks", [(37, 4, 16), (500, 16, 32), (7, 3, 50)])
def test_replay_frames_keeps_every_spike_and_matches_the_documented_maps(n_ticks, n_bins, replay_ticks):
    gen = np.random.default_rng(n_ticks)
    ticks = np.sort(gen.integers(0, n_ticks, 300)).astype(np.int64)
    ids = gen.integers(0, N_NEURONS, 300).astype(np.int32)
    u = Utterance(ticks, ids, n_ticks, 0)
    frames = replay_frames(u, n_bins, replay_ticks)
    frames.validate(N_NEURONS * n_bins)
    assert frames.n_ticks == replay_ticks and frames.n_spikes == 300
    replay_tick = np.repeat(np.arange(replay_ticks), np.diff(frames.tick_ptr))
    assert replay_tick.tolist() == [replay_ticks * int(t) // n_ticks for t in ticks]
    assert frames.neuron_ids.tolist() == [int(e) * n_bins + n_bins * int(t) // n_ticks for e, t in zip(ids, ticks)]
    # per encoder neuron, the spike count is kept
    assert np.array_equal(np.bincount(frames.neuron_ids // n_bins, minlength=N_NEURONS),
                          np.bincount(ids, minlength=N_NEURONS))


def test_replay_of_an_empty_utterance():
    u = Utterance(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int32), 12, 0)
    frames = replay_frames(u, 4, 8)
    assert frames.n_ticks == 8 and frames.n_spikes == 0
