"""sensors.types (zero-copy dv-processing view, check_events, Geometry) and sensors.blocks.TimeBlocks."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sensors.blocks import TimeBlocks
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
