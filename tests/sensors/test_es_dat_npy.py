"""Event Stream, Prophesee DAT and structured .npy sources: real files, generated files, bad input, fuzzing."""
from __future__ import annotations

import json
import os
from pathlib import Path

import dv_processing as dv
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sensors.formats import dat, event_stream, npy_events
from sensors.formats.dat import DAT_FALLBACK_GEOMETRY, DatSource
from sensors.formats.event_stream import EventStreamSource
from sensors.formats.npy_events import NpyEventsSource
from sensors.types import EVENT_DTYPE, Geometry, SourceError, check_events

DATA = Path(os.environ.get("NEUROEDGE_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
EVENTS = DATA / "events"
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def read_all(source, max_reads: int = 10_000_000) -> np.ndarray:
    """Concatenate every batch until None; fail instead of looping forever."""
    parts = []
    for _ in range(max_reads):
        batch = source.read()
        if batch is None:
            source.close()
            return np.concatenate(parts, dtype=EVENT_DTYPE) if parts else np.zeros(0, EVENT_DTYPE)
        assert batch.events.dtype == EVENT_DTYPE and batch.geometry == source.geometry
        parts.append(batch.events)
    pytest.fail("source never returned None")


def as_tuples(events: np.ndarray) -> list[tuple[int, int, int, int]]:
    return list(zip(events["t"].tolist(), events["x"].tolist(), events["y"].tolist(), events["p"].tolist()))


def one_line_error(excinfo) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    return message


# --- Event Stream: a reference encoder and decoder written plainly from the specification -------------

def es_header(type_byte: int, width: int, height: int) -> bytes:
    return b"Event Stream" + bytes([2, 0, 0, type_byte]) + width.to_bytes(2, "little") + height.to_bytes(2, "little")


def encode_es(events, atis: bool, width: int, height: int, resets_every: int = 0) -> bytes:
    """events: (t_us, x, y top-left, p, is_tc) in time order, from t = 0."""
    out = bytearray(es_header(2 if atis else 1, width, height))
    previous = 0
    for k, (t, x, y, p, tc) in enumerate(events):
        if resets_every and k % resets_every == 0:
            out += bytes([0xFC if atis else 0xFE]) * 5
        delta = t - previous
        previous = t
        if atis:
            while delta >= 63:
                m = min(3, delta // 63)
                out.append(0xFC | m)
                delta -= 63 * m
            out.append((delta << 2) | (p << 1) | tc)
        else:
            while delta >= 127:
                out.append(0xFF)
                delta -= 127
            out.append((delta << 1) | p)
        out += x.to_bytes(2, "little") + (height - 1 - y).to_bytes(2, "little")
    return bytes(out)


def naive_decode_es(payload: bytes, atis: bool, width: int, height: int):
    """(events, failed): every complete event in order; failed when one lies outside width x height."""
    special, unit, shift = (0xFC, 63, 2) if atis else (0xFE, 127, 1)
    t, i, events = 0, 0, []
    while i < len(payload):
        b = payload[i]
        if b >= special:
            t += (b - special) * unit
            i += 1
            continue
        if i + 5 > len(payload):
            break
        t += b >> shift
        x = payload[i + 1] | payload[i + 2] << 8
        y = payload[i + 3] | payload[i + 4] << 8
        i += 5
        if x >= width or y >= height:
            return events, True
        tc, p = (b & 1, (b >> 1) & 1) if atis else (0, b & 1)
        if not tc:
            events.append((t, x, height - 1 - y, p))
    return events, False


def test_dvs_es_matches_sidecar_and_the_aedat4_conversion():
    meta = json.loads((EVENTS / "dvs.es.json").read_text())
    source = EventStreamSource(EVENTS / "dvs.es")
    assert (source.format, source.event_type, source.version) == ("es", "dvs", (2, 0, 0))
    assert source.geometry == Geometry(meta["width"], meta["height"])
    events = read_all(source)
    check_events(events, source.geometry)
    assert len(events) == meta["n_events"]
    assert events["t"][0] == meta["t_first_us"] and events["t"][-1] == meta["t_last_us"]
    assert round(float(events["p"].mean()), 6) == meta["on_fraction"]

    recording = dv.io.MonoCameraRecording(str(EVENTS / "dvs.aedat4"))
    parts = []
    while (store := recording.getNextEventBatch()) is not None:
        parts.append(store.numpy())
    reference = np.concatenate(parts)
    for ours, theirs in (("t", "timestamp"), ("x", "x"), ("y", "y"), ("p", "polarity")):
        assert np.array_equal(events[ours], reference[theirs]), ours


def test_es_output_does_not_depend_on_chunk_or_batch_size(tmp_path):
    whole = read_all(EventStreamSource(EVENTS / "dvs.es"))
    small = EventStreamSource(EVENTS / "dvs.es", chunk_bytes=4099, batch_events=1000)
    batches = []
    while (batch := small.read()) is not None:
        batches.append(len(batch))
    assert max(batches) == 1000 and sum(batches) == len(whole)
    assert np.array_equal(read_all(EventStreamSource(EVENTS / "dvs.es", chunk_bytes=4099, batch_events=777)), whole)
    # Byte-by-byte on a prefix that also ends inside an event (the cut-off event is ignored).
    prefix = tmp_path / "prefix.es"
    prefix.write_bytes((EVENTS / "dvs.es").read_bytes()[:3003])
    expected = read_all(EventStreamSource(prefix))
    assert len(expected) == (3003 - 20) // 5 and np.array_equal(expected, whole[: len(expected)])
    for chunk in (1, 2, 3, 7):
        assert np.array_equal(read_all(EventStreamSource(prefix, chunk_bytes=chunk, batch_events=3)), expected)


def test_atis_keeps_change_detection_events_only(tmp_path):
    rng = np.random.default_rng(5)
    n = 2000
    t = np.cumsum(rng.choice([0, 1, 5, 62, 63, 64, 200, 1000], size=n))
    spec = [(int(t[k]), int(rng.integers(0, 346)), int(rng.integers(0, 260)), int(rng.integers(0, 2)),
             int(rng.random() < 0.3)) for k in range(n)]
    path = tmp_path / "atis.es"
    path.write_bytes(encode_es(spec, atis=True, width=346, height=260, resets_every=17))
    source = EventStreamSource(path, chunk_bytes=64)
    assert (source.event_type, source.geometry) == ("atis", Geometry(346, 260))
    events = read_all(source)
    assert as_tuples(events) == [(t, x, y, p) for t, x, y, p, tc in spec if not tc]
    assert len(events) < n


def test_dvs_overflow_and_reset_bytes(tmp_path):
    spec = [(0, 0, 0, 1, 0), (126, 1, 1, 0, 0), (127, 2, 2, 1, 0), (127 * 40 + 3, 319, 239, 0, 0), (10**7, 5, 6, 1, 0)]
    path = tmp_path / "dvs.es"
    path.write_bytes(encode_es(spec, atis=False, width=320, height=240, resets_every=2))
    # a 10 s stretch of overflow bytes: decoded as written without the time guard (which re-bases it)
    assert as_tuples(read_all(EventStreamSource(path, chunk_bytes=3, max_gap_us=None))) == [s[:4] for s in spec]


@pytest.mark.parametrize("name, type_name", [("color.es", "color"), ("generic.es", "generic")])
def test_other_es_types_are_refused_naming_the_type(name, type_name):
    assert event_stream.sniff((EVENTS / name).read_bytes()[:64])
    with pytest.raises(SourceError) as excinfo:
        EventStreamSource(EVENTS / name)
    message = one_line_error(excinfo)
    assert name in message and f"Event Stream type '{type_name}' is not supported (dvs and atis are)" in message


def test_es_event_outside_the_header_geometry_is_an_error(tmp_path):
    path = tmp_path / "bad.es"
    path.write_bytes(es_header(1, 10, 10) + bytes([0x01, 0, 0, 0, 0, 0x01, 10, 0, 0, 0]))
    source = EventStreamSource(path)
    with pytest.raises(SourceError) as excinfo:
        source.read()
    assert "x=10" in one_line_error(excinfo) and str(path) in str(excinfo.value)


@pytest.mark.parametrize(
    "content, problem",
    [
        (b"", "empty file"),
        (b"Event Str", "truncated Event Stream header"),
        (b"Event Stream\x02\x00", "truncated Event Stream header"),
        (es_header(1, 320, 240)[:18], "truncated Event Stream header"),
        (b"hello, this is a text file\n", "not an Event Stream file"),
        (b"Event Stream\x01\x00\x00\x01", "version 1.0.0 is not supported"),
        (b"Event Stream\x02\x00\x00\x09", "unknown Event Stream type byte 0x09"),
        (es_header(1, 0, 240), "geometry 0x240 is invalid"),
    ],
)
def test_es_bad_input_is_one_line_naming_the_file(tmp_path, content, problem):
    path = tmp_path / "input.es"
    path.write_bytes(content)
    with pytest.raises(SourceError) as excinfo:
        EventStreamSource(path)
    message = one_line_error(excinfo)
    assert str(path) in message and problem in message


# --- DAT --------------------------------------------------------------------------------------------------

def dat_bytes(t, x, y, p, header=("Data file containing CD events", "Version 2"), event_type=0x0C, size=8) -> bytes:
    records = np.empty(len(t), dtype=[("t", "<u4"), ("w", "<u4")])
    records["t"] = np.asarray(t, dtype=np.uint64)
    records["w"] = np.asarray(x, np.uint32) | (np.asarray(y, np.uint32) << 14) | (np.asarray(p, np.uint32) << 28)
    text = "".join(f"% {line}\n" for line in header).encode()
    return text + bytes([event_type, size]) + records.tobytes()


def random_events(rng, n: int, width: int, height: int):
    t = np.cumsum(rng.integers(0, 50, n)) + 1_000_000
    return t, rng.integers(0, width, n), rng.integers(0, height, n), rng.integers(0, 2, n)


def test_dat_round_trip_with_header_geometry_in_batches(tmp_path):
    rng = np.random.default_rng(1)
    t, x, y, p = random_events(rng, 5000, 640, 480)
    path = tmp_path / "cd.dat"
    path.write_bytes(dat_bytes(t, x, y, p, header=("Data file containing CD events", "Date 2020-09-14 14:18:29",
                                                   "Version 2", "Width 640", "Height 480")))
    assert dat.sniff(path.read_bytes()[:64])
    source = DatSource(path, batch_events=999)
    assert (source.format, source.event_type, source.geometry) == ("dat", "EventCd", Geometry(640, 480))
    events = read_all(source)
    assert as_tuples(events) == list(zip(t.tolist(), x.tolist(), y.tolist(), p.tolist()))
    assert source.ignored_tail_bytes == 0


def test_dat_geometry_from_geometry_line_caller_or_fallback(tmp_path):
    path = tmp_path / "g.dat"
    path.write_bytes(dat_bytes([1], [3], [4], [1], header=("Date 2017-03-21 11:27:10", "geometry 304x240")))
    assert DatSource(path).geometry == Geometry(304, 240)
    path.write_bytes(dat_bytes([1], [3], [4], [1], header=("Version 2",)))
    assert DatSource(path, Geometry(128, 128)).geometry == Geometry(128, 128)
    assert DatSource(path).geometry == DAT_FALLBACK_GEOMETRY == Geometry(304, 240)
    path.write_bytes(dat_bytes([1], [3], [4], [1], header=(), event_type=0x00))  # no text header, Event2d
    assert DatSource(path).event_type == "Event2d"
    path.write_bytes(dat_bytes([1], [3], [4], [1], header=("Width 640", "Height 480")))
    with pytest.raises(SourceError, match="differs from the given 128x128"):
        DatSource(path, Geometry(128, 128))


def test_dat_partial_last_record_is_ignored_and_time_unwraps(tmp_path):
    t = [2**32 - 20, 2**32 - 1, 5, 40]  # the stored uint32 wraps after the second record
    path = tmp_path / "wrap.dat"
    path.write_bytes(dat_bytes(t, [1, 2, 3, 4], [5, 6, 7, 8], [0, 1, 0, 1]) + b"\x01\x02\x03\x04\x05")
    source = DatSource(path, batch_events=3)
    events = read_all(source)
    assert events["t"].tolist() == [2**32 - 20, 2**32 - 1, 2**32 + 5, 2**32 + 40]
    assert source.ignored_tail_bytes == 5


@pytest.mark.parametrize(
    "content, problem",
    [
        (b"", "empty file"),
        (b"% Data file containing CD events\n% Vers", "truncated DAT header"),
        (b"% Version 2\n\x0c", "truncated DAT header"),
        (b"hello, this is a text file\n", "DAT event type 0x68 (unknown) is not supported"),
        (b"% Version 2\n\x0e\x08", "DAT event type 0x0e (EventExtTrigger) is not supported"),
        (b"% Version 2\n\x0c\x10", "DAT event size 16 is not supported"),
        (b"% Width 640\n\x0c\x08", "has % Width but not both"),
        (b"% Width abc\n% Height 4\n\x0c\x08", "is not an integer"),
        (b"% Date 2020-09-25 07:48:29\n% evt 3.0\n% end\n\x00\x08", "Prophesee RAW (EVT) header, not DAT"),
    ],
)
def test_dat_bad_input_is_one_line_naming_the_file(tmp_path, content, problem):
    path = tmp_path / "input.dat"
    path.write_bytes(content)
    with pytest.raises(SourceError) as excinfo:
        DatSource(path)
    message = one_line_error(excinfo)
    assert str(path) in message and problem in message


@pytest.mark.parametrize(
    "t, x, y, p, problem",
    [
        ([5, 4], [0, 0], [0, 0], [0, 0], "record 1 (byte 47): timestamp 4 µs goes backwards"),
        ([5, 6], [0, 304], [0, 0], [0, 0], "x=304 is outside the geometry 304x240"),
        ([5, 6], [0, 0], [0, 240], [0, 0], "y=240 is outside"),
        ([5, 6], [0, 0], [0, 0], [0, 3], "polarity 3 is not 0 or 1"),
    ],
)
def test_dat_bad_records_are_errors(tmp_path, t, x, y, p, problem):
    path = tmp_path / "records.dat"
    path.write_bytes(dat_bytes(t, x, y, p, header=("Version 2", "Width 304", "Height 240")))
    with pytest.raises(SourceError) as excinfo:
        read_all(DatSource(path))
    assert problem in one_line_error(excinfo)


def test_dat_sniff_tells_dat_from_prophesee_raw():
    for raw in ("evt2.raw", "evt2_sample.raw", "evt3_sample.raw"):
        head = (EVENTS / raw).read_bytes()
        assert not dat.sniff(head[:64]) and not dat.sniff(head[:4096]), raw
    assert dat.sniff(b"% Date 2017-03-21 11:27:10\n% Version 2\n% Height 240\n% Width 304\n\x0c\x08")
    assert not dat.sniff(b"Event Stream\x02\x00\x00\x01") and not dat.sniff(b"")


# --- NumPy ------------------------------------------------------------------------------------------------

def test_evt3_sample_npy_as_stored_with_sidecar_geometry():
    stored = np.load(EVENTS / "evt3_sample.npy")
    source = NpyEventsSource(EVENTS / "evt3_sample.npy", batch_events=50_000)
    assert (source.format, source.geometry) == ("npy", Geometry(1280, 720))
    events = read_all(source)
    for field in ("t", "x", "y", "p"):
        assert np.array_equal(events[field], stored[field]), field
    assert npy_events.sniff((EVENTS / "evt3_sample.npy").read_bytes()[:64])


def test_npy_dv_names_other_widths_and_caller_geometry(tmp_path):
    dtype = [("timestamp", "<u4"), ("x", "<u2"), ("y", ">i4"), ("polarity", "?"), ("extra", "<f4")]
    array = np.zeros(10, dtype=dtype)
    array["timestamp"] = np.arange(10) * 3
    array["x"], array["y"], array["polarity"] = np.arange(10), 9 - np.arange(10), np.arange(10) % 2 == 1
    path = tmp_path / "dv.npy"
    np.save(path, array)
    (tmp_path / "dv.npy.json").write_text(json.dumps({"width": 20, "height": 20}))
    assert NpyEventsSource(path).geometry == Geometry(20, 20)
    events = read_all(NpyEventsSource(path, Geometry(10, 10), batch_events=4))
    assert as_tuples(events) == [(3 * k, k, 9 - k, k % 2) for k in range(10)]
    with pytest.raises(SourceError, match="field 'x' = 10 is outside 0..9"):
        array["x"][3] = 10
        np.save(path, array)
        read_all(NpyEventsSource(path, Geometry(10, 10)))


@pytest.mark.parametrize(
    "array, problem",
    [
        (np.zeros(4), "not a structured array"),
        (np.zeros(4, [("t", "<i8"), ("x", "<i2"), ("p", "i1")]), "missing field 'y'"),
        (np.zeros(4, [("timestamp", "<i8"), ("x", "<i2"), ("y", "<i2"), ("p", "i1")]), "missing field 'polarity'"),
        (np.zeros(4, [("t", "<f8"), ("x", "<i2"), ("y", "<i2"), ("p", "i1")]), "field 't' has dtype float64"),
        (np.zeros((2, 2), [("t", "<i8"), ("x", "<i2"), ("y", "<i2"), ("p", "i1")]), "expected a 1-D array"),
    ],
)
def test_npy_refuses_arrays_that_are_not_events(tmp_path, array, problem):
    path = tmp_path / "bad.npy"
    np.save(path, array)
    with pytest.raises(SourceError) as excinfo:
        NpyEventsSource(path, Geometry(8, 8))
    assert problem in one_line_error(excinfo) and str(path) in str(excinfo.value)


def test_npy_without_geometry_asks_for_it_and_time_must_not_go_back(tmp_path):
    array = np.zeros(3, dtype=EVENT_DTYPE)
    array["t"] = [5, 7, 6]
    path = tmp_path / "e.npy"
    np.save(path, array)
    with pytest.raises(SourceError, match="--geometry"):
        NpyEventsSource(path)
    (tmp_path / "e.npy.json").write_text(json.dumps({"width": None, "height": 4}))
    with pytest.raises(SourceError, match="e.npy.json: sidecar needs integer"):
        NpyEventsSource(path)
    with pytest.raises(SourceError, match="event 2: field 't' goes backwards"):
        read_all(NpyEventsSource(path, Geometry(4, 4), batch_events=2))


@pytest.mark.parametrize("content, problem", [(b"", "empty file"), (b"hello, text\n", "not a readable .npy array"),
                                              (b"\x93NUMPY\x01\x00v\x00{'descr'", "not a readable .npy array")])
def test_npy_bad_input_is_one_line_naming_the_file(tmp_path, content, problem):
    path = tmp_path / "input.npy"
    path.write_bytes(content)
    with pytest.raises(SourceError) as excinfo:
        NpyEventsSource(path, Geometry(8, 8))
    assert str(path) in one_line_error(excinfo) and problem in str(excinfo.value)


# --- every source: missing files, directories, close -------------------------------------------------------

@pytest.mark.parametrize("cls", [EventStreamSource, DatSource, NpyEventsSource])
def test_missing_file_or_directory_names_the_path(tmp_path, cls):
    for path, problem in ((tmp_path / "nope.bin", "no such file"), (tmp_path, "is a directory")):
        with pytest.raises(SourceError) as excinfo:
            cls(path)
        assert one_line_error(excinfo).startswith(f"{path}: {problem}")


def test_read_after_close_is_an_error():
    source = EventStreamSource(EVENTS / "dvs.es")
    source.close()
    with pytest.raises(SourceError, match="after close"):
        source.read()


# --- fuzzing: random and mutated bytes after a valid header ------------------------------------------------

def check_fuzzed(source, geometry: Geometry, max_reads: int) -> list[tuple[int, int, int, int]]:
    """Read to the end or the first SourceError; every event must lie on the sensor with p in {0, 1}."""
    got = []
    try:
        for _ in range(max_reads):
            batch = source.read()
            if batch is None:
                return got
            check_events(batch.events, geometry)
            got += as_tuples(batch.events)
        pytest.fail("source never returned None")
    except SourceError as e:
        assert "\n" not in str(e)
        got.append(None)
    return got


@FUZZ
@given(
    atis=st.booleans(),
    width=st.integers(1, 600),
    height=st.integers(1, 600),
    payload=st.binary(max_size=400),
    chunk=st.integers(1, 64),
)
def test_es_random_bytes_only_raise_source_error(tmp_path_factory, atis, width, height, payload, chunk):
    path = tmp_path_factory.mktemp("fuzz") / "f.es"
    path.write_bytes(es_header(2 if atis else 1, width, height) + payload)
    got = check_fuzzed(EventStreamSource(path, chunk_bytes=chunk, batch_events=7), Geometry(width, height),
                       len(payload) + 2)
    expected, failed = naive_decode_es(payload, atis, width, height)
    if failed:
        assert got[-1] is None and got[:-1] == expected[: len(got) - 1]
    else:
        assert got == expected


DVS_PAYLOAD = (EVENTS / "dvs.es").read_bytes()[20:2020] if (EVENTS / "dvs.es").exists() else b""


@FUZZ
@given(mutations=st.lists(st.tuples(st.integers(0, 1999), st.integers(0, 255)), max_size=8),
       cut=st.integers(0, 2000))
def test_es_mutated_dvs_bytes_only_raise_source_error(tmp_path_factory, mutations, cut):
    payload = bytearray(DVS_PAYLOAD)
    for index, value in mutations:
        payload[index] = value
    payload = bytes(payload[:cut])
    path = tmp_path_factory.mktemp("fuzz") / "m.es"
    path.write_bytes(es_header(1, 320, 240) + payload)
    got = check_fuzzed(EventStreamSource(path, chunk_bytes=97, batch_events=50), Geometry(320, 240), len(payload) + 2)
    expected, failed = naive_decode_es(payload, False, 320, 240)
    assert (got[-1] is None) == failed if got else not failed
    assert [e for e in got if e is not None] == expected[: len(got) - failed]


@FUZZ
@given(
    header=st.lists(st.sampled_from(["Version 2", "Width 64", "Height 48", "geometry 64x48", "Date x"]), max_size=4),
    payload=st.binary(max_size=300),
    batch=st.integers(1, 20),
)
def test_dat_random_bytes_only_raise_source_error(tmp_path_factory, header, payload, batch):
    path = tmp_path_factory.mktemp("fuzz") / "f.dat"
    path.write_bytes("".join(f"% {h}\n" for h in header).encode() + b"\x0c\x08" + payload)
    try:
        source = DatSource(path, batch_events=batch)
    except SourceError as e:
        assert "\n" not in str(e)
        return
    got = check_fuzzed(source, source.geometry, len(payload) + 2)
    assert len([e for e in got if e is not None]) <= len(payload) // 8
    assert all(a[0] <= b[0] for a, b in zip(got, got[1:]) if a is not None and b is not None)


@FUZZ
@given(mutations=st.lists(st.tuples(st.integers(0, 799), st.integers(0, 255)), max_size=6),
       cut=st.integers(0, 800))
def test_dat_mutated_records_only_raise_source_error(tmp_path_factory, mutations, cut):
    rng = np.random.default_rng(0)
    body = bytearray(dat_bytes(*random_events(rng, 100, 64, 48), header=())[2:])
    for index, value in mutations:
        body[index] = value
    path = tmp_path_factory.mktemp("fuzz") / "m.dat"
    path.write_bytes(b"% Width 64\n% Height 48\n\x0c\x08" + bytes(body[:cut]))
    got = check_fuzzed(DatSource(path, batch_events=16), Geometry(64, 48), cut + 2)
    if not mutations:
        assert len(got) == cut // 8 and None not in got


# --- NumPy: the zero-copy path for files already in EVENT_DTYPE's layout -----------------------------------

def random_npy_events(n: int, seed: int = 0, width: int = 64, height: int = 48) -> np.ndarray:
    gen = np.random.default_rng(seed)
    events = np.zeros(n, dtype=EVENT_DTYPE)
    events["t"] = np.sort(gen.integers(0, 10 * n, n))
    events["x"], events["y"], events["p"] = gen.integers(0, width, n), gen.integers(0, height, n), gen.integers(0, 2, n)
    return events


def save_npy(path: Path, array: np.ndarray, width: int = 64, height: int = 48) -> Path:
    np.save(path, array)
    path.with_name(path.name + ".json").write_text(json.dumps({"width": width, "height": height}))
    return path


def with_layout(events: np.ndarray, layout: str) -> np.ndarray:
    """The same events as EVENT_DTYPE ("view"), unsigned 16-byte records ("unsigned", also viewed) or a
    layout that must be converted ("convert": wider x and y)."""
    if layout == "view":
        return events.copy()
    if layout == "unsigned":
        dtype = np.dtype({"names": list("txyp"), "formats": ["<i8", "<u2", "<u2", "u1"], "offsets": [0, 8, 10, 12],
                          "itemsize": 16})
    else:
        dtype = np.dtype(list(zip("txyp", ["<i8", "<i4", "<i4", "i1"])))
    out = np.zeros(len(events), dtype=dtype)
    for field in "txyp":
        out[field] = events[field].astype(out.dtype[field])
    return out


def test_npy_in_event_layout_is_read_as_views_of_the_copy_on_write_map(tmp_path):
    events = random_npy_events(10_000)
    path = save_npy(tmp_path / "e.npy", events)
    source = NpyEventsSource(path, batch_events=3000)
    batches = []
    while (batch := source.read()) is not None:
        batches.append(batch.events)
    source.close()
    assert [len(b) for b in batches] == [3000, 3000, 3000, 1000]
    assert np.array_equal(np.concatenate(batches), events)
    assert all(b.base is not None and b.base is batches[0].base for b in batches)  # views of one map, no copies
    batches[0]["x"][0] = 63  # writable, copy-on-write: the file does not change
    assert np.array_equal(np.load(path), events)


@pytest.mark.parametrize("layout", ["view", "unsigned", "convert"])
def test_npy_layouts_read_the_same_events(tmp_path, layout):
    events = random_npy_events(5000, seed=1)
    path = save_npy(tmp_path / "e.npy", with_layout(events, layout))
    assert np.array_equal(read_all(NpyEventsSource(path, batch_events=777)), events)
    assert (npy_events._event_view(np.load(path), ("t", "x", "y", "p")) is not None) == (layout != "convert")


@pytest.mark.parametrize("layout", ["view", "unsigned", "convert"])
@pytest.mark.parametrize("index, field, value, message", [
    (0, "x", 64, "event 0: field 'x' = 64 is outside 0..63"),
    (4097, "x", -1, "event 4097: field 'x' = -1 is outside 0..63"),
    (8191, "y", 48, "event 8191: field 'y' = 48 is outside 0..47"),
    (5000, "p", 2, "event 5000: field 'p' = 2 is outside 0..1"),
    (9999, "p", -1, "event 9999: field 'p' = -1 is outside 0..1"),
    (6000, "t", -5, "event 6000: field 't' goes backwards in time"),
    (4096, "t", -5, "event 4096: field 't' goes backwards in time"),  # the first event of the second batch
])
def test_npy_bad_event_is_named_by_index_field_and_stored_value(tmp_path, layout, index, field, value, message):
    events = random_npy_events(10_000, seed=2)
    if layout != "view" and value < 0 and field in "xyp":
        if layout == "unsigned":  # an unsigned field holds no negative value: the largest one instead
            value = {"x": 65535, "y": 65535, "p": 255}[field]
            message = message.replace("= -1", f"= {value}")
    if field == "t":
        events["t"][index] = events["t"][index - 1] + value
    stored = with_layout(events, layout)
    stored[field][index] = value
    path = save_npy(tmp_path / "bad.npy", stored)
    source = NpyEventsSource(path, batch_events=4096)
    with pytest.raises(SourceError) as excinfo:
        read_all(source)
    assert one_line_error(excinfo) == f"{path}: {message}"


@FUZZ
@given(n=st.integers(1, 9000), seed=st.integers(0, 2**32 - 1), bad=st.integers(0, 8999),
       field=st.sampled_from("txyp"), last_t=st.integers(-5, 5), max_gap=st.sampled_from([2, 5, 2**62]))
def test_first_bad_event_kernel_matches_a_plain_check(n, seed, bad, field, last_t, max_gap):
    events = random_npy_events(n, seed=seed, width=30, height=20)
    gen = np.random.default_rng(seed)
    if bad < n:  # plant a violation (or a value on the limit, which is fine)
        events[field][bad] = {"t": int(events["t"][bad]) - int(gen.integers(0, 3)), "x": gen.integers(-2, 32),
                              "y": gen.integers(-2, 22), "p": gen.integers(-2, 4)}[field]
    t = events["t"]
    ok = (events["x"] >= 0) & (events["x"] < 30) & (events["y"] >= 0) & (events["y"] < 20) & (events["p"] >= 0) \
        & (events["p"] <= 1) & (np.diff(t, prepend=last_t) >= 0)
    gap = bool((np.diff(t, prepend=last_t) > max_gap).any())
    expected = int(np.flatnonzero(~ok)[0]) if not ok.all() else npy_events.GAP_FOUND if gap else -1
    assert npy_events._first_bad_event(events.view(np.int64), 30, 20, last_t, max_gap) == expected
