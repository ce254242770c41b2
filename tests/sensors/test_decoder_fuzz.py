"""Fuzz every decoder of neuroedge's own (issue 13): small valid recordings written in tmp_path (NPY by the
project's writer, RAW / DAT / Event Stream, which have none, by the plain encoders below), then corrupted in
their header or data (byte flips, truncation, insertion, deletion).

Property: decoding either succeeds with sane output (EVENT_DTYPE; x, y inside the source's geometry; p 0 or 1;
time within the guard's bounds: never back and never a step over ``max_gap_us``; for RAW, whose clock is its
TIME_HIGH words, never back by a TIME_HIGH period and at most ``max_gap_us`` plus one period per TIME_HIGH
word in all) or raises SourceError, one line naming the file (the CLI's exit 2); never another exception,
never a hang (every read loop is bounded).

AEDAT4 is left out: it is decoded by dv-processing in the watched child process (edge/watched_source.py), and
a corrupt file on which dv-processing spins while opening is stopped only after the child's start budget,
``START_S`` = 30 s, so one such example would cost more than this file's whole budget. Its time guard is
tested through the CLI in test_untrusted_files.py, its stalls in tests/edge/test_cli_errors.py.
"""
from __future__ import annotations

from pathlib import Path

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
from sensors.formats.time_guard import MAX_GAP_US
from sensors.formats.writers import NpyWriter
from sensors.types import EVENT_DTYPE, EventBatch, Geometry, SourceError

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                        HealthCheck.function_scoped_fixture])
MAX_READS = 10_000
RAW_WORDS = {"evt2": ("<u4", 28, 64), "evt3": ("<u2", 12, 4096)}
"""RAW word type, type shift and TIME_HIGH period (µs): times may step back by less than one period."""


# ---------------------------------------------------------------- small valid recordings


@st.composite
def recordings(draw) -> tuple[np.ndarray, Geometry]:
    """1..50 time-ordered events (steps of 0..3 ms) on a small sensor."""
    geometry = Geometry(draw(st.integers(1, 40)), draw(st.integers(1, 30)))
    n = draw(st.integers(1, 50))
    events = np.zeros(n, dtype=EVENT_DTYPE)
    steps = draw(st.lists(st.integers(0, 3000), min_size=n, max_size=n))
    events["t"] = draw(st.integers(0, 10**6)) + np.cumsum(steps)
    events["x"] = draw(st.lists(st.integers(0, geometry.width - 1), min_size=n, max_size=n))
    events["y"] = draw(st.lists(st.integers(0, geometry.height - 1), min_size=n, max_size=n))
    events["p"] = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    return events, geometry


def encode_evt2(events: np.ndarray, g: Geometry) -> tuple[bytes, int]:
    """(file bytes, header length): a TIME_HIGH every 64 µs period, as a sensor sends them, then CD words."""
    words, th = [], int(events["t"][0]) >> 6
    words.append(0x8 << 28 | th)
    for t, x, y, p in zip(*(events[f].tolist() for f in "txyp")):
        while th < t >> 6:
            th += 1
            words.append(0x8 << 28 | th)
        words.append(p << 28 | (t & 0x3F) << 22 | x << 11 | y)
    header = f"% format EVT2;width={g.width};height={g.height}\n% end\n".encode()
    return header + np.array(words, dtype="<u4").tobytes(), len(header)


def encode_evt3(events: np.ndarray, g: Geometry) -> tuple[bytes, int]:
    """(file bytes, header length): TIME_HIGH every 4096 µs period, TIME_LOW, ADDR_Y when they change, ADDR_X."""
    words, th, tl, y_now = [], int(events["t"][0]) >> 12, -1, -1
    words.append(0x8000 | th & 0xFFF)
    for t, x, y, p in zip(*(events[f].tolist() for f in "txyp")):
        while th < t >> 12:
            th += 1
            words.append(0x8000 | th & 0xFFF)
        if t & 0xFFF != tl:
            tl = t & 0xFFF
            words.append(0x6000 | tl)
        if y != y_now:
            y_now = y
            words.append(y)
        words.append(0x2000 | p << 11 | x)
    header = f"% format EVT3;width={g.width};height={g.height}\n% end\n".encode()
    return header + np.array(words, dtype="<u2").tobytes(), len(header)


def encode_dat(events: np.ndarray, g: Geometry) -> tuple[bytes, int]:
    header = f"% Data file containing CD events.\n% Width {g.width}\n% Height {g.height}\n".encode() + b"\x0c\x08"
    records = np.zeros((len(events), 2), dtype="<u4")
    records[:, 0] = events["t"]
    records[:, 1] = (events["x"].astype(np.uint32) | events["y"].astype(np.uint32) << 14
                     | events["p"].astype(np.uint32) << 28)
    return header + records.tobytes(), len(header)


def encode_es(events: np.ndarray, g: Geometry) -> tuple[bytes, int]:
    """Event Stream 2.0, type dvs: 7-bit time deltas with 0xFF overflow bytes (127 µs), y stored bottom-up."""
    out = bytearray(b"Event Stream" + bytes([2, 0, 0, 1]) + g.width.to_bytes(2, "little")
                    + g.height.to_bytes(2, "little"))
    previous = 0
    for t, x, y, p in zip(*(events[f].tolist() for f in "txyp")):
        delta, previous = t - previous, t
        out += b"\xff" * (delta // 127)
        out += bytes([(delta % 127) << 1 | p]) + x.to_bytes(2, "little") + (g.height - 1 - y).to_bytes(2, "little")
    return bytes(out), 20


def write_npy(events: np.ndarray, g: Geometry, path: Path) -> int:
    writer = NpyWriter(path, g)
    writer.write(EventBatch(events, g))
    writer.close()
    data = path.read_bytes()
    return data.index(b"\n") + 1


ENCODERS = {"evt2": encode_evt2, "evt3": encode_evt3, "dat": encode_dat, "es": encode_es}
SOURCES = {"evt2": Evt2Source, "evt3": Evt3Source, "dat": DatSource, "es": EventStreamSource, "npy": NpyEventsSource}


# ---------------------------------------------------------------- corruption


@st.composite
def corruptions(draw) -> list[tuple[str, str, float, bytes]]:
    """1..3 of (operation, region, where in the region 0..1, bytes)."""
    ops = st.tuples(st.sampled_from(["flip", "truncate", "insert", "delete"]), st.sampled_from(["header", "data"]),
                    st.floats(0, 1), st.binary(min_size=1, max_size=6))
    return draw(st.lists(ops, min_size=1, max_size=3))


def corrupt(data: bytes, header_bytes: int, ops) -> bytes:
    out = bytearray(data)
    for op, region, where, payload in ops:
        lo, hi = (0, min(header_bytes, len(out))) if region == "header" else (min(header_bytes, len(out)), len(out))
        pos = lo + int(where * max(hi - lo - 1, 0))
        if op == "flip" and pos < len(out):
            out[pos] ^= payload[0] or 1
        elif op == "truncate":
            del out[pos:]
        elif op == "insert":
            out[pos:pos] = payload
        elif op == "delete":
            del out[pos:pos + len(payload)]
    return bytes(out)


# ---------------------------------------------------------------- the property


def steps_within(max_gap_us: int):
    """The time check of the decoders but RAW: no step back, no step over ``max_gap_us``."""
    def check(t: np.ndarray) -> None:
        steps = np.diff(t)
        assert steps.min(initial=0) >= 0, "time steps back"
        assert steps.max(initial=0) <= max_gap_us, "time jumps over the bound"
    return check


def raw_clock_within(data: bytes, fmt: str, max_gap_us: int):
    """The time check of RAW ``data``: no step back by a TIME_HIGH period, and a span of at most
    ``max_gap_us`` plus one period per TIME_HIGH word (a quiet stretch is as long as its TIME_HIGH words)."""
    dtype, shift, period_us = RAW_WORDS[fmt]
    header = parse_header(data[:SNIFF_BYTES])
    start = header.length_bytes if header is not None else 0
    size = np.dtype(dtype).itemsize
    words = np.frombuffer(data[start:start + (len(data) - start) // size * size], dtype=dtype).astype(np.int64)
    time_highs = int(np.count_nonzero(words >> shift == 0x8))

    def check(t: np.ndarray) -> None:
        assert np.diff(t).min(initial=0) > -period_us, "time steps back by a TIME_HIGH period"
        assert len(t) == 0 or t.max() - t.min() <= time_highs * (max_gap_us + period_us) + period_us
    return check


def check_decoding(path: Path, open_source, check_times) -> None:
    """Read everything ``open_source()`` gives; assert the property of the module docstring."""
    try:
        source = open_source()
        parts = []
        for _ in range(MAX_READS):
            batch = source.read()
            if batch is None:
                break
            assert batch.events.dtype == EVENT_DTYPE
            parts.append(batch.events.copy())
        else:
            pytest.fail(f"{path.name}: read() never returned None")
        source.close()
    except SourceError as e:
        assert str(path) in str(e) and "\n" not in str(e), str(e)
        return
    events = np.concatenate(parts, dtype=EVENT_DTYPE) if parts else np.zeros(0, EVENT_DTYPE)
    g = source.geometry
    assert np.all((events["x"] >= 0) & (events["x"] < g.width) & (events["y"] >= 0) & (events["y"] < g.height))
    assert np.all((events["p"] == 0) | (events["p"] == 1))
    check_times(events["t"])


@pytest.mark.parametrize("fmt", ["evt2", "evt3", "dat", "es", "npy"])
@FUZZ
@given(recording=recordings(), ops=corruptions(), max_gap_us=st.sampled_from([1000, 20_000, MAX_GAP_US]))
def test_corrupted_recordings_decode_sanely_or_raise_one_line(tmp_path, fmt, recording, ops, max_gap_us):
    events, g = recording
    path = tmp_path / f"fuzz.{fmt}"
    if fmt == "npy":
        header_bytes = write_npy(events, g, path)
        data = path.read_bytes()
    else:
        data, header_bytes = ENCODERS[fmt](events, g)
    corrupted = corrupt(data, header_bytes, ops)
    path.write_bytes(corrupted)
    kwargs = {"batch_events": 16} if fmt in ("dat", "es", "npy") else {"chunk_bytes": 64}
    check = raw_clock_within(corrupted, fmt, max_gap_us) if fmt in RAW_WORDS else steps_within(max_gap_us)
    check_decoding(path, lambda: SOURCES[fmt](path, max_gap_us=max_gap_us, **kwargs), check)


@pytest.mark.parametrize("fmt", ["evt2", "evt3", "dat", "es", "npy"])
@FUZZ
@given(recording=recordings(), max_gap_us=st.sampled_from([1000, MAX_GAP_US]))
def test_intact_recordings_decode_to_their_events(tmp_path, fmt, recording, max_gap_us):
    """The encoders above are right (else the corruption test proves little), and the guard leaves a
    recording whose steps are within the bound as it is."""
    events, g = recording
    path = tmp_path / f"intact.{fmt}"
    if fmt == "npy":
        write_npy(events, g, path)
    else:
        path.write_bytes(ENCODERS[fmt](events, g)[0])
    source = SOURCES[fmt](path, max_gap_us=max_gap_us)
    got = np.concatenate([b.events for b in iter(source.read, None)])
    within = np.diff(events["t"]).max(initial=0) <= max_gap_us
    if within or fmt in ("evt2", "evt3") and max_gap_us == MAX_GAP_US:
        assert np.array_equal(got, events) and source.time_anomalies == 0
    else:
        assert np.array_equal(got[["x", "y", "p"]], events[["x", "y", "p"]])
