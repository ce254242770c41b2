"""sensors.types (zero-copy dv-processing view, check_events, Geometry) and sensors.blocks.TimeBlocks."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sensors.blocks import CUTS_PER_SEARCH, TimeBlocks, _block_cuts, _join
from sensors.types import EVENT_DTYPE, EventBatch, Geometry, as_events, check_events, empty_events

DV_DTYPE = np.dtype({"names": ["timestamp", "x", "y", "polarity"], "formats": ["<i8", "<i2", "<i2", "i1"],
                     "offsets": [0, 8, 10, 12], "itemsize": 16})


def test_event_dtype_is_the_dv_processing_layout():
    assert EVENT_DTYPE.itemsize == 16
    assert [EVENT_DTYPE.fields[k][1] for k in ("t", "x", "y", "p")] == [0, 8, 10, 12]
    assert [EVENT_DTYPE.fields[k][0] for k in ("t", "x", "y", "p")] == [np.dtype("<i8"), np.dtype("<i2"),
                                                                         np.dtype("<i2"), np.dtype("i1")]


def test_as_events_is_a_zero_copy_view():
    dv = np.zeros(4, dtype=DV_DTYPE)
    dv["timestamp"] = [10, 20, 30, 40]
    dv["x"], dv["y"], dv["polarity"] = [1, 2, 3, 4], [5, 6, 7, 8], [1, 0, 1, 0]
    events = as_events(dv)
    assert events.dtype == EVENT_DTYPE
    assert np.shares_memory(events, dv)
    assert events["t"].tolist() == [10, 20, 30, 40]
    assert events["x"].tolist() == [1, 2, 3, 4] and events["y"].tolist() == [5, 6, 7, 8]
    assert events["p"].tolist() == [1, 0, 1, 0]
    events["x"][0] = 77  # writes go through to the original buffer
    assert dv["x"][0] == 77
    check_events(events, Geometry(80, 10))


def test_as_events_on_a_real_dv_processing_store():
    dv = pytest.importorskip("dv_processing")
    store = dv.EventStore()
    store.push_back(5, 1, 2, True)
    store.push_back(7, 3, 4, False)
    array = store.numpy()
    events = as_events(array)
    assert np.shares_memory(events, array)
    assert events.tolist() == [(5, 1, 2, 1), (7, 3, 4, 0)]


@pytest.mark.parametrize(
    "dtype",
    [
        np.dtype([("t", "<i8"), ("x", "<i2"), ("y", "<i2")]),  # 12 bytes, 3 fields
        np.dtype([("t", "<i8"), ("x", "<i2"), ("y", "<i2"), ("p", "i1"), ("q", "i1"), ("r", "<i2")]),  # 6 fields
        np.dtype("<i8"),
    ],
)
def test_as_events_rejects_other_records(dtype):
    with pytest.raises(ValueError, match="16-byte layout"):
        as_events(np.zeros(2, dtype=dtype))


def test_as_events_rejects_a_16_byte_record_with_another_layout():
    swapped = np.dtype({"names": ["x", "y", "polarity", "timestamp"], "formats": ["<i2", "<i2", "i1", "<i8"],
                        "offsets": [0, 2, 4, 8], "itemsize": 16})
    with pytest.raises(ValueError):
        as_events(np.zeros(2, dtype=swapped))


def make_events(t, x, y, p) -> np.ndarray:
    events = np.zeros(len(t), dtype=EVENT_DTYPE)
    events["t"], events["x"], events["y"], events["p"] = t, x, y, p
    return events


GEOMETRY = Geometry(10, 5)


def test_check_events_accepts_valid_and_empty():
    check_events(make_events([0, 0, 5], [0, 9, 3], [0, 4, 2], [0, 1, 1]), GEOMETRY)
    check_events(empty_events(), GEOMETRY)
    assert len(empty_events(3)) == 3 and empty_events(3).dtype == EVENT_DTYPE


@pytest.mark.parametrize(
    "events,message",
    [
        (make_events([0, 1], [0, 1], [0, 1], [0, 1]).astype(DV_DTYPE), "dtype must be EVENT_DTYPE"),
        (make_events([5, 4], [0, 1], [0, 1], [0, 1]), "field t"),
        (make_events([0, 1], [0, 10], [0, 1], [0, 1]), r"field x outside 0\.\.9"),
        (make_events([0, 1], [-1, 1], [0, 1], [0, 1]), "field x"),
        (make_events([0, 1], [0, 1], [0, 5], [0, 1]), r"field y outside 0\.\.4"),
        (make_events([0, 1], [0, 1], [0, 1], [0, 2]), "field p"),
        (make_events([0, 1], [0, 1], [0, 1], [-1, 1]), "field p"),
    ],
)
def test_check_events_errors_name_the_field(events, message):
    with pytest.raises(ValueError, match=message) as info:
        check_events(events, GEOMETRY, name="camera")
    assert str(info.value).startswith("camera:")


@pytest.mark.parametrize("w,h", [(0, 5), (5, 0), (-1, 3), (32768, 2)])
def test_geometry_rejects_bad_sizes(w, h):
    with pytest.raises(ValueError, match="Geometry"):
        Geometry(w, h)


# --- TimeBlocks over an in-memory source ------------------------------------------------------------

class ListSource:
    """A pure data source: yields the given packets as EventBatch, then None."""

    def __init__(self, packets: list[np.ndarray], geometry: Geometry) -> None:
        self.packets = list(packets)
        self.geometry = geometry
        self.reads = 0

    def read(self) -> EventBatch | None:
        self.reads += 1
        if not self.packets:
            return None
        return EventBatch(self.packets.pop(0), self.geometry)

    def close(self) -> None:
        pass


def split(events: np.ndarray, cuts: list[int]) -> list[np.ndarray]:
    bounds = sorted(set(c for c in cuts if 0 <= c <= len(events)))
    return [events[a:b] for a, b in zip([0, *bounds], [*bounds, len(events)])]  # may contain empty packets


def drain(blocks: TimeBlocks, max_windows: int = 10_000) -> list[tuple[int, np.ndarray]]:
    out = []
    while (item := blocks.next_block()) is not None:
        t0, batch = item
        out.append((t0, batch.events.copy()))
        assert len(out) <= max_windows
    assert blocks.next_block() is None  # stays exhausted
    return out


@settings(max_examples=150, deadline=None)
@given(
    deltas=st.lists(st.integers(0, 1500), min_size=1, max_size=120),
    start=st.integers(0, 10**7),
    cuts=st.lists(st.integers(0, 120), max_size=30),
    dt_us=st.sampled_from([7, 250, 1000]),
    block_ticks=st.integers(1, 12),
)
def test_time_blocks_cover_every_event_once_in_aligned_windows(deltas, start, cuts, dt_us, block_ticks):
    t = start + np.cumsum(deltas)
    n = len(t)
    events = make_events(t, np.arange(n) % 10, np.arange(n) % 5, np.arange(n) % 2)
    source = ListSource(split(events, cuts), GEOMETRY)
    blocks = TimeBlocks(source, dt_us, block_ticks)
    block_us = dt_us * block_ticks
    first_t0 = int(t[0]) // dt_us * dt_us
    n_windows = (int(t[-1]) - first_t0) // block_us + 1  # up to and including the last event's window
    windows = drain(blocks, n_windows)
    assert len(windows) == n_windows
    # consecutive windows, aligned to the tick grid from the first event's tick
    assert [t0 for t0, _ in windows] == [first_t0 + k * block_us for k in range(len(windows))]
    for t0, window in windows:
        assert np.all((window["t"] >= t0) & (window["t"] < t0 + block_us))
    # together exactly the source's events, in order; the last window holds the last event
    assert np.array_equal(np.concatenate([w for _, w in windows]), events)
    assert len(windows[-1][1]) > 0
    assert blocks.events_read == n
    assert blocks.t_first_us == int(t[0]) and blocks.t_last_us == int(t[-1])


def test_time_blocks_reads_lazily():
    # the first window needs only the first packet that reaches past its end
    packets = [make_events([k * 1000 + 10], [0], [0], [1]) for k in range(50)]
    source = ListSource(packets, GEOMETRY)
    blocks = TimeBlocks(source, dt_us=1000, block_ticks=2)
    t0, batch = blocks.next_block()
    assert t0 == 0 and batch.events["t"].tolist() == [10, 1010]
    assert source.reads == 3
    assert batch.geometry == GEOMETRY


def test_time_blocks_empty_source_and_empty_packets():
    assert TimeBlocks(ListSource([], GEOMETRY), 1000, 5).next_block() is None
    empty = np.zeros(0, dtype=EVENT_DTYPE)
    assert TimeBlocks(ListSource([empty, empty], GEOMETRY), 1000, 5).next_block() is None


def test_time_blocks_gap_gives_empty_windows():
    source = ListSource([make_events([1500, 9700], [0, 1], [0, 1], [1, 0])], GEOMETRY)
    windows = drain(TimeBlocks(source, 1000, 2))
    assert [t0 for t0, _ in windows] == [1000, 3000, 5000, 7000, 9000]
    assert [len(w) for _, w in windows] == [1, 0, 0, 0, 1]


# --- TimeBlocks against the plain concatenate-and-searchsorted slicing ----------------------------------

class ReferenceBlocks:
    """The obvious slicing: concatenate everything pending, cut with ``np.searchsorted``; read lazily the same way."""

    def __init__(self, source, dt_us: int, block_ticks: int) -> None:
        self.source, self.dt_us, self.block_us = source, dt_us, dt_us * block_ticks
        self.pending = np.zeros(0, dtype=EVENT_DTYPE)
        self.t0_us = self.t_last_us = None
        self.exhausted = False

    def next_block(self):
        while not self.exhausted and (self.t0_us is None or self.t_last_us < self.t0_us + self.block_us):
            batch = self.source.read()
            if batch is None:
                self.exhausted = True
            elif len(batch.events):
                self.t_last_us = int(batch.events["t"][-1])
                if self.t0_us is None:
                    self.t0_us = int(batch.events["t"][0]) // self.dt_us * self.dt_us
                self.pending = np.concatenate([self.pending, batch.events])
        if len(self.pending) == 0 and (self.exhausted or self.t0_us is None):
            return None
        cut = int(np.searchsorted(self.pending["t"], self.t0_us + self.block_us, side="left"))
        block, self.pending = self.pending[:cut], self.pending[cut:]
        t0, self.t0_us = self.t0_us, self.t0_us + self.block_us
        return t0, EventBatch(block, self.source.geometry)


def drain_views(blocks: TimeBlocks, max_windows: int = 100_000) -> list[tuple[int, np.ndarray]]:
    """Like drain, but keeps the batches as returned (to see which are views of the source's arrays)."""
    out = []
    while (item := blocks.next_block()) is not None:
        out.append((item[0], item[1].events))
        assert len(out) <= max_windows
    return out


def assert_same_blocks(events: np.ndarray, cuts: list[int], dt_us: int, block_ticks: int) -> list:
    """TimeBlocks over ``events`` split at ``cuts`` gives the reference's windows; returns them (uncopied)."""
    got = drain_views(TimeBlocks(ListSource(split(events, cuts), GEOMETRY), dt_us, block_ticks))
    want = drain(ReferenceBlocks(ListSource(split(events, cuts), GEOMETRY), dt_us, block_ticks), 100_000)
    assert [t0 for t0, _ in got] == [t0 for t0, _ in want]
    for (t0, a), (_, b) in zip(got, want):
        assert a.dtype == EVENT_DTYPE and np.array_equal(a, b), t0
    return got


@settings(max_examples=300, deadline=None)
@given(
    # steps of 0 give equal times; big steps give gaps of many blocks
    steps=st.lists(st.one_of(st.integers(0, 3), st.integers(0, 1500), st.sampled_from([0, 1000, 5000, 60_000])),
                   min_size=1, max_size=200),
    start=st.integers(0, 10**7),
    cuts=st.lists(st.integers(0, 200), max_size=40),  # repeated cuts give empty packets
    dt_us=st.sampled_from([1, 7, 250, 1000]),
    block_ticks=st.integers(1, 12),
    on_grid=st.booleans(),
)
def test_time_blocks_equal_the_reference_slicing(steps, start, cuts, dt_us, block_ticks, on_grid):
    block_us = dt_us * block_ticks
    if on_grid:  # every event exactly on a block boundary, gaps of up to 40 blocks
        t = (start // block_us + np.cumsum(np.minimum(steps, 40))) * block_us
    else:
        t = start + np.cumsum(steps)
    assume(int(t[-1] - t[0]) // block_us < 20_000)
    n = len(t)
    events = make_events(t, np.arange(n) % 10, np.arange(n) % 5, np.arange(n) % 2)
    assert_same_blocks(events, cuts, dt_us, block_ticks)


@settings(max_examples=150, deadline=None)
@given(
    times=st.lists(st.integers(0, 20_000), min_size=1, max_size=150),
    cuts=st.lists(st.integers(0, 150), max_size=20),
    dt_us=st.sampled_from([50, 1000]),
    block_ticks=st.integers(1, 5),
)
def test_time_blocks_cut_out_of_order_packets_like_the_reference(times, cuts, dt_us, block_ticks):
    # against the EventBatch contract, but a RAW file can step back in time: cut exactly as before
    n = len(times)
    events = make_events(times, np.arange(n) % 10, np.arange(n) % 5, np.arange(n) % 2)
    got = assert_same_blocks(events, cuts, dt_us, block_ticks)
    assert np.array_equal(np.concatenate([w for _, w in got]), events)  # each event once, in read order


def test_time_blocks_single_huge_packet_with_more_windows_than_one_search():
    block_us = 1000
    n_windows = 3 * CUTS_PER_SEARCH + 17
    t = np.repeat(np.arange(n_windows) * block_us, 3)  # three events on each window's first µs
    t[::7] += block_us - 1  # and some on its last
    t.sort()
    events = make_events(t, np.arange(len(t)) % 10, np.arange(len(t)) % 5, np.arange(len(t)) % 2)
    got = assert_same_blocks(events, [], block_us, 1)
    assert len(got) == n_windows
    assert all(np.shares_memory(w, events) for _, w in got if len(w))  # views of the packet, no copies


def test_time_blocks_join_packets_without_copy_when_they_lie_end_to_end():
    t = np.arange(0, 100_000, 7)
    events = make_events(t, np.arange(len(t)) % 10, np.arange(len(t)) % 5, np.arange(len(t)) % 2)
    cuts = list(range(0, len(t), 333))
    got = assert_same_blocks(events, cuts, 1000, 5)  # consecutive views of one array, as from a memory map
    assert all(np.shares_memory(w, events) for _, w in got)
    copies = [events[a:b].copy() for a, b in zip([0, *cuts[1:]], [*cuts[1:], len(t)])]
    blocks = TimeBlocks(ListSource(copies, GEOMETRY), 1000, 5)
    for (t0, w), (_, ref) in zip(drain(blocks), got):
        assert np.array_equal(w, ref)


def test_join_of_strided_or_foreign_pieces_copies_them():
    events = make_events(np.arange(20), np.arange(20) % 10, np.arange(20) % 5, np.arange(20) % 2)
    pieces = [events[0:6:2], events[6:10], np.ascontiguousarray(events[10:20])]
    joined = _join(pieces)
    assert joined.dtype == EVENT_DTYPE and np.array_equal(joined, np.concatenate(pieces))
    assert not np.shares_memory(joined, events)
    adjacent = _join([events[0:5], events[5:9], events[9:20]])
    assert np.shares_memory(adjacent, events) and np.array_equal(adjacent, events)


def test_block_cuts_kernel_matches_searchsorted():
    gen = np.random.default_rng(4)
    t = np.sort(gen.integers(0, 50_000, 2000))
    events = make_events(t, np.zeros(2000), np.zeros(2000), np.zeros(2000))
    cuts = np.zeros(64, dtype=np.int64)
    start, t_end, block_us = 100, int(t[100]) + 1, 900
    n = _block_cuts(events["t"], start, t_end, block_us, cuts)
    ends = t_end + block_us * np.arange(n)
    expected = np.maximum(np.searchsorted(t, ends, side="left"), start)
    assert np.array_equal(cuts[:n], expected)
    assert n == len(cuts) or cuts[n - 1] == len(t)
