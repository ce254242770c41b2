"""Impossible time (issue 13): every decoder's time guard against plain references written from the rule in
sensors/formats/time_guard.py and evt_kernels.py, the shared recordings' real gaps against the bound, and
corrupt files whose time used to run on for hours or days."""
from __future__ import annotations

import os
from pathlib import Path

import dv_processing as dv
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sensors.formats.dat import DatSource
from sensors.formats.event_stream import EventStreamSource
from sensors.formats.evt2 import Evt2Source
from sensors.formats.evt3 import Evt3Source
from sensors.formats.npy_events import NpyEventsSource
from sensors.formats.prophesee_header import SNIFF_BYTES, parse_header
from sensors.formats.time_guard import MAX_GAP_US, TimeCheckedSource, TimeGuard
from sensors.types import EVENT_DTYPE, EventBatch, Geometry, SourceError

DATA = Path(os.environ.get("NEUROEDGE_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
EVENTS = DATA / "events"
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DAY_US = 86_400 * 10**6
EVT2_HEADER = b"% evt 2.0\n% end\n"
EVT3_HEADER = b"% evt 3.0\n% end\n"
LARGEST_REAL_STEP_US = 4097
"""The largest step between consecutive events in the shared recordings (evt3_sample.npy), measured."""


def read_all(source, max_reads: int = 100_000) -> np.ndarray:
    parts = []
    for _ in range(max_reads):
        batch = source.read()
        if batch is None:
            source.close()
            return np.concatenate(parts) if parts else np.zeros(0, EVENT_DTYPE)
        parts.append(batch.events.copy())
    pytest.fail("source never returned None")


def as_tuples(events: np.ndarray) -> list[tuple[int, int, int, int]]:
    return list(zip(events["t"].tolist(), events["x"].tolist(), events["y"].tolist(), events["p"].tolist()))


def span_us(events: np.ndarray) -> int:
    return int(events["t"][-1] - events["t"][0])


def raw_parts(name: str, dtype: str) -> tuple[bytes, np.ndarray]:
    raw = (EVENTS / name).read_bytes()
    start = parse_header(raw[:SNIFF_BYTES]).length_bytes
    size = np.dtype(dtype).itemsize
    return raw[:start], np.frombuffer(raw[start:start + (len(raw) - start) // size * size], dtype=dtype).copy()


# ---------------------------------------------------------------- plain references


class NaiveTimeHigh:
    """The guard's TIME_HIGH rule, written plainly: the first TIME_HIGH sets the base; one that follows the last
    taken (same or next, modulo the range) is taken; any other waits for the next TIME_HIGH to follow it (then
    taken if its jump forward is within the bound, else re-based), or is ignored as an anomaly."""

    def __init__(self, bits: int, period_us: int, max_gap_us: int) -> None:
        self.span, self.period_us, self.max_periods = 1 << bits, period_us, max_gap_us // period_us
        self.base_us, self.taken, self.pending, self.anomalies = 0, None, None, 0

    def follows(self, earlier: int, later: int) -> bool:
        return (later - earlier) % self.span <= 1

    def word(self, payload: int) -> None:
        if self.taken is None:
            self.taken, self.base_us = payload, payload * self.period_us
        elif self.follows(self.taken, payload):
            if self.pending is not None:
                self.anomalies += 1
            self.base_us += (payload - self.taken) % self.span * self.period_us
            self.taken, self.pending = payload, None
        elif self.pending is not None and self.follows(self.pending, payload):
            jump = (self.pending - self.taken) % self.span
            if jump > self.max_periods:
                self.anomalies += 1
                jump = 0
            self.base_us += (jump + (payload - self.pending) % self.span) * self.period_us
            self.taken, self.pending = payload, None
        else:
            if self.pending is not None:
                self.anomalies += 1
            self.pending = payload


def naive_evt2_guarded(words, width: int, height: int, max_gap_us: int):
    """(events, dropped, untimed, anomalies) of EVT 2.0 words under the guard."""
    clock = NaiveTimeHigh(28, 64, max_gap_us)
    events, dropped, untimed = [], 0, 0
    for w in words:
        typ = w >> 28
        if typ == 0x8:
            clock.word(w & 0xFFFFFFF)
        elif typ in (0x0, 0x1):
            x, y = (w >> 11) & 0x7FF, w & 0x7FF
            if clock.taken is None:
                untimed += 1
            elif x < width and y < height:
                events.append((clock.base_us + ((w >> 22) & 0x3F), x, y, typ))
            else:
                dropped += 1
    return events, dropped, untimed, clock.anomalies


def naive_evt3_guarded(words, width: int, height: int, max_gap_us: int):
    """(events, dropped, untimed, anomalies) of EVT 3.0 words under the guard."""
    clock = NaiveTimeHigh(12, 4096, max_gap_us)
    time_low = y = base_x = polarity = dropped = untimed = 0
    events = []
    for w in words:
        typ, payload = w >> 12, w & 0xFFF
        hits = []
        if typ == 0x0:
            y = payload & 0x7FF
        elif typ == 0x2:
            hits = [(payload & 0x7FF, payload >> 11)]
        elif typ == 0x3:
            base_x, polarity = payload & 0x7FF, payload >> 11
        elif typ in (0x4, 0x5):
            size = 12 if typ == 0x4 else 8
            hits = [(base_x + k, polarity) for k in range(size) if payload >> k & 1]
            base_x += size
        elif typ == 0x6:
            time_low = payload
        elif typ == 0x8:
            clock.word(payload)
        for x, p in hits:
            if clock.taken is None:
                untimed += 1
            elif x < width and y < height:
                events.append((clock.base_us + time_low, x, y, p))
            else:
                dropped += 1
    return events, dropped, untimed, clock.anomalies


def naive_guard(times: list[int], max_gap_us: int) -> tuple[list[int], int, int | None]:
    """The generic rule: a step over the bound either way re-bases to 0, a smaller step back holds the time.
    Returns (times out, anomalies, index of the first)."""
    out, offset, anomalies, first = [], 0, 0, None
    for i, raw in enumerate(times):
        t = raw + offset
        if out and not 0 <= t - out[-1] <= max_gap_us:
            if abs(t - out[-1]) > max_gap_us:
                offset -= t - out[-1]
            t = out[-1]
            anomalies += 1
            first = i if first is None else first
        out.append(t)
    return out, anomalies, first


def write_words(path: Path, header: bytes, words, dtype: str) -> Path:
    path.write_bytes(header + np.asarray(words, dtype=dtype).tobytes())
    return path


# ---------------------------------------------------------------- kernels against the references


def time_high_payloads(bits: int) -> st.SearchStrategy[int]:
    """Mostly near 0 (steps of 0, 1 and small jumps, and wraps from the top of the range), sometimes anywhere."""
    top = (1 << bits) - 1
    return st.one_of(st.integers(0, 6), st.integers(top - 3, top), st.integers(0, top))


EVT2_WORDS = st.one_of(
    st.builds(lambda th: 0x8 << 28 | th, time_high_payloads(28)),
    st.builds(lambda typ, tl, x, y: typ << 28 | tl << 22 | x << 11 | y, st.sampled_from([0, 1]),
              st.integers(0, 63), st.integers(0, 40), st.integers(0, 30)),
    st.builds(lambda typ, rest: typ << 28 | rest, st.sampled_from([0xA, 0xE, 0xF]), st.integers(0, (1 << 28) - 1)),
)
EVT3_WORDS = st.one_of(
    st.builds(lambda th: 0x8 << 12 | th, time_high_payloads(12)),
    st.builds(lambda typ, payload: typ << 12 | payload,
              st.sampled_from([0x0, 0x2, 0x2, 0x3, 0x4, 0x5, 0x6, 0x7, 0xA, 0xE]), st.integers(0, 0xFFF)),
)


@FUZZ
@given(words=st.lists(EVT2_WORDS, max_size=300), max_gap_us=st.sampled_from([0, 64, 200, 64 * 5000, MAX_GAP_US]),
       chunk_words=st.integers(1, 40))
def test_evt2_guarded_kernel_matches_the_reference(tmp_path_factory, words, max_gap_us, chunk_words):
    path = write_words(tmp_path_factory.mktemp("evt2") / "w.raw", EVT2_HEADER, words or [0x8 << 28], "<u4")
    source = Evt2Source(path, Geometry(32, 24), chunk_bytes=4 * chunk_words, max_gap_us=max_gap_us)
    events = as_tuples(read_all(source))
    expected = naive_evt2_guarded(words or [0x8 << 28], 32, 24, max_gap_us)
    assert (events, source.dropped_out_of_range, source.untimed_events, source.time_anomalies) == expected


@FUZZ
@given(words=st.lists(EVT3_WORDS, max_size=300), max_gap_us=st.sampled_from([0, 4096, 5000, 4096 * 40, MAX_GAP_US]),
       chunk_words=st.integers(1, 40))
def test_evt3_guarded_kernel_matches_the_reference(tmp_path_factory, words, max_gap_us, chunk_words):
    path = write_words(tmp_path_factory.mktemp("evt3") / "w.raw", EVT3_HEADER, words or [0x8000], "<u2")
    source = Evt3Source(path, Geometry(40, 30), chunk_bytes=2 * chunk_words, max_gap_us=max_gap_us)
    events = as_tuples(read_all(source))
    expected = naive_evt3_guarded(words or [0x8000], 40, 30, max_gap_us)
    assert (events, source.dropped_out_of_range, source.untimed_events, source.time_anomalies) == expected


@FUZZ
@given(steps=st.lists(st.integers(-3 * 10**6, 3 * 10**6), min_size=1, max_size=200),
       max_gap_us=st.sampled_from([0, 10, 1000, MAX_GAP_US]), cuts=st.lists(st.integers(0, 200), max_size=5),
       read_only=st.booleans())
def test_generic_guard_matches_the_reference(steps, max_gap_us, cuts, read_only):
    times = np.cumsum(steps).tolist()
    expected, anomalies, first = naive_guard(times, max_gap_us)
    events = np.zeros(len(times), dtype=EVENT_DTYPE)
    events["t"] = times
    guard = TimeGuard(max_gap_us)
    out = []
    for part in np.split(events, sorted(set(c for c in cuts if c < len(times)))):
        part = part.copy()
        part.flags.writeable = not read_only
        out += guard.apply(part)["t"].tolist()
    assert (out, guard.anomalies, guard.first_at) == (expected, anomalies, first)


# ---------------------------------------------------------------- the shared recordings are far inside the bound


@pytest.mark.parametrize("name, open_source", [
    ("evt2.raw", Evt2Source), ("evt2_sample.raw", Evt2Source), ("evt3_sample.raw", Evt3Source),
    ("dvs.es", EventStreamSource), ("evt3_sample.npy", NpyEventsSource),
])
def test_shared_recordings_have_no_time_anomaly(name, open_source):
    source = open_source(EVENTS / name)
    events = read_all(source)
    assert source.time_anomalies == 0 and source.first_time_anomaly is None
    assert np.diff(events["t"]).min() >= 0
    assert np.diff(events["t"]).max() <= LARGEST_REAL_STEP_US < MAX_GAP_US // 200
    assert getattr(source, "untimed_events", 0) == 0


@pytest.mark.parametrize("name", ["dvs.aedat4", "evt2.aedat4", "evt2_sample.aedat4", "evt3_sample.aedat4"])
def test_shared_aedat4_recordings_pass_the_generic_guard_unchanged(name):
    reader = dv.io.MonoCameraRecording(str(EVENTS / name))
    guard = TimeGuard()
    while (store := reader.getNextEventBatch()) is not None:
        events = store.numpy().view(EVENT_DTYPE)
        assert guard.apply(events) is events
    assert guard.anomalies == 0


# ---------------------------------------------------------------- corrupt RAW files (the reported spans)


def repeated_time_high_before_an_event(words: np.ndarray, shift: int, after: int) -> tuple[int, int]:
    """(k, next): a TIME_HIGH word at k >= after repeating the previous one and followed by another type, and
    the index of the TIME_HIGH after it. Corrupting it changes no event's time once it is ignored."""
    types = words.astype(np.int64) >> shift
    payloads = words.astype(np.int64) & ((1 << shift) - 1)
    th = np.flatnonzero(types == 0x8)
    k = next(b for a, b in zip(th, th[1:]) if b >= after and payloads[a] == payloads[b] and types[b + 1] != 0x8)
    return int(k), int(th[np.searchsorted(th, k) + 1])


def test_one_corrupt_evt2_time_high_costs_nothing(tmp_path):
    """A TIME_HIGH half the range ahead makes the next (intact) one read as a wrap: 2**34 µs (4.8 hours) added
    to every later event, so the 96 ms file spanned hours (29 days with a few more such words)."""
    header, words = raw_parts("evt2.raw", "<u4")
    intact = read_all(Evt2Source(EVENTS / "evt2.raw"))
    k, found = repeated_time_high_before_an_event(words, 28, 3000)
    words[k] = 0x8 << 28 | ((int(words[k]) & 0xFFFFFFF) + (1 << 27) + 5) % (1 << 28)  # the next one "wraps"
    path = write_words(tmp_path / "flipped.raw", header, words, "<u4")
    assert span_us(read_all(Evt2Source(path, max_gap_us=None))) > 4 * 3600 * 10**6  # spec-literal: hours
    source = Evt2Source(path)
    assert np.array_equal(read_all(source), intact)
    assert source.time_anomalies == 1 and source.first_time_anomaly == f"byte {len(header) + 4 * found}"


def test_one_corrupt_evt3_time_high_costs_nothing(tmp_path):
    header, words = raw_parts("evt3_sample.raw", "<u2")
    intact = read_all(Evt3Source(EVENTS / "evt3_sample.raw"))
    k, _ = repeated_time_high_before_an_event(words, 12, 500)
    words[k] = 0x8000 | ((int(words[k]) & 0xFFF) - 2100) % 4096  # reads as a wrap: + ~8 s
    path = write_words(tmp_path / "flipped.raw", header, words, "<u2")
    assert span_us(read_all(Evt3Source(path, max_gap_us=None))) > 8 * 10**6
    source = Evt3Source(path)
    assert np.array_equal(read_all(source), intact) and source.time_anomalies == 1


@pytest.mark.parametrize("name, cls, period_us", [("evt2.raw", Evt2Source, 64), ("evt3_sample.raw", Evt3Source, 4096)])
def test_misaligned_raw_stays_within_the_bound(tmp_path, name, cls, period_us):
    """One inserted byte turns the rest of the file into other words: spec-literal time ran for hours (EVT 2.0)
    or ~10 hours of 16.8 s wraps (EVT 3.0); guarded, no step back of a TIME_HIGH period or more, no step
    forward beyond the bound."""
    raw = bytearray((EVENTS / name).read_bytes())
    start = parse_header(bytes(raw[:SNIFF_BYTES])).length_bytes
    raw.insert(start + len(raw[start:]) // 3, 0x5A)
    path = tmp_path / "misaligned.raw"
    path.write_bytes(bytes(raw))
    assert span_us(read_all(cls(path, max_gap_us=None))) > 3600 * 10**6
    source = cls(path)
    steps = np.diff(read_all(source)["t"])
    assert steps.min() > -period_us and steps.max() <= MAX_GAP_US + 2 * period_us
    assert source.time_anomalies > 100


def test_raw_events_before_the_first_time_high_are_left_out(tmp_path):
    def cd(x: int) -> int:
        return 1 << 28 | 5 << 22 | x << 11 | 3

    path = write_words(tmp_path / "early.raw", EVT2_HEADER, [cd(1), cd(2), 0x8 << 28 | 1000, cd(3)], "<u4")
    source = Evt2Source(path)
    assert as_tuples(read_all(source)) == [(1000 * 64 + 5, 3, 3, 1)]
    assert (source.untimed_events, source.dropped_out_of_range) == (2, 0)
    spec = Evt2Source(path, max_gap_us=None)
    assert len(read_all(spec)) == 3 and spec.untimed_events == 0


# ---------------------------------------------------------------- DAT, Event Stream, NPY


DAT_HEADER = b"% Width 8\n% Height 8\n\x0c\x08"


def dat_file(path: Path, t: list[int]) -> Path:
    records = np.zeros((len(t), 2), dtype="<u4")
    records[:, 0] = t
    records[:, 1] = 1 | 2 << 14 | 1 << 28
    path.write_bytes(DAT_HEADER + records.tobytes())
    return path


def test_dat_gap_is_rebased_and_counted(tmp_path):
    path = dat_file(tmp_path / "gap.dat", [10, 20, 20 + 3 * 10**9, 30 + 3 * 10**9])
    source = DatSource(path, batch_events=3)
    assert read_all(source)["t"].tolist() == [10, 20, 20, 30]
    assert source.time_anomalies == 1 and source.first_time_anomaly == f"byte {len(DAT_HEADER) + 2 * 8}"
    assert read_all(DatSource(path, max_gap_us=None))["t"].tolist() == [10, 20, 20 + 3 * 10**9, 30 + 3 * 10**9]


def test_event_stream_overflow_run_is_rebased_and_counted(tmp_path):
    header = b"Event Stream" + bytes([2, 0, 0, 1]) + (8).to_bytes(2, "little") + (8).to_bytes(2, "little")
    event = bytes([3 << 1 | 1, 1, 0, 2, 0])  # 3 µs after the previous, x 1, stored y 2, ON
    overflow = bytes([0xFF]) * (MAX_GAP_US // 127 + 1)  # 127 µs each: just over the bound
    path = tmp_path / "gap.es"
    path.write_bytes(header + event + overflow + event + event)
    source = EventStreamSource(path, chunk_bytes=1000)
    assert read_all(source)["t"].tolist() == [3, 3, 6]
    assert source.time_anomalies == 1
    assert source.first_time_anomaly == f"byte {20 + 5 + len(overflow) + 4}"


@pytest.mark.parametrize("layout", ["view", "convert"])
def test_npy_gap_of_29_days_is_rebased_and_the_file_untouched(tmp_path, layout):
    events = np.zeros(50, dtype=EVENT_DTYPE)
    events["t"] = np.arange(50) * 100
    events["t"][20:] += 29 * DAY_US
    wide = [("t", "<i8"), ("x", "<i4"), ("y", "<i4"), ("p", "i1")]  # converted batch by batch, not viewed
    array = events if layout == "view" else np.array(list(zip(*(events[f] for f in "txyp"))), dtype=wide)
    path = tmp_path / "gap.npy"
    np.save(path, array)
    before = path.read_bytes()
    source = NpyEventsSource(path, Geometry(4, 4), batch_events=7)
    t = read_all(source)["t"]
    assert span_us(read_all(NpyEventsSource(path, Geometry(4, 4), max_gap_us=None))) > 29 * DAY_US
    assert t.tolist() == list(range(0, 2000, 100)) + list(range(1900, 4900, 100))
    assert source.time_anomalies == 1 and source.first_time_anomaly == "event 20"
    assert path.read_bytes() == before


# ---------------------------------------------------------------- TimeCheckedSource


class ListSource:
    """A source without its own guard (as the watched AEDAT4 reader is), from a list of batches."""

    format = "test"
    path = "list.test"

    def __init__(self, batches: list[np.ndarray]) -> None:
        self.geometry = Geometry(4, 4)
        self._batches = list(batches)

    def read(self) -> EventBatch | None:
        return EventBatch(self._batches.pop(0), self.geometry) if self._batches else None

    def close(self) -> None:
        self._batches = []


def batch_of(times: list[int]) -> np.ndarray:
    events = np.zeros(len(times), dtype=EVENT_DTYPE)
    events["t"] = times
    return events


def test_time_checked_source_rebases_or_refuses_a_source_without_a_guard():
    checked = TimeCheckedSource(ListSource([batch_of([0, 5]), batch_of([5 + 30 * DAY_US, 9 + 30 * DAY_US])]))
    assert read_all(checked)["t"].tolist() == [0, 5, 5, 9]
    assert checked.time_anomalies == 1 and "list.test: 1 time anomaly" in checked.warning()
    strict = TimeCheckedSource(ListSource([batch_of([0, 5]), batch_of([1, 7])]), strict=True)
    strict.read()
    with pytest.raises(SourceError, match=r"^list\.test: 1 time anomaly .*first found at event 2\); refused "):
        strict.read()


def test_time_checked_source_passes_a_guarded_decoder_through(tmp_path):
    path = dat_file(tmp_path / "gap.dat", [10, 20, 20 + 3 * 10**9])
    checked = TimeCheckedSource(DatSource(path))
    assert read_all(checked)["t"].tolist() == [10, 20, 20]
    assert checked.time_anomalies == 1 and checked.first_time_anomaly == f"byte {len(DAT_HEADER) + 2 * 8}"
    with pytest.raises(SourceError, match="gap.dat: 1 time anomaly.*refused"):
        read_all(TimeCheckedSource(DatSource(path), strict=True))


@pytest.mark.parametrize("cls", [Evt2Source, Evt3Source, DatSource, EventStreamSource, NpyEventsSource])
@pytest.mark.parametrize("bad", [-1, 1.5, True])
def test_bad_max_gap_is_refused_naming_the_class(tmp_path, cls, bad):
    with pytest.raises(ValueError, match=rf"{cls.__name__}\.max_gap_us"):
        cls(tmp_path / "never-opened", max_gap_us=bad)
