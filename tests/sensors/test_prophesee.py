"""Prophesee RAW EVT 2.0 / EVT 3.0: shared recordings against their sidecars and AEDAT4 conversions,
hand-built word streams, a slow reference decoder, fuzzing, and bad input."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import dv_processing as dv
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sensors.formats.evt2 import Evt2Source
from sensors.formats.evt3 import Evt3Source
from sensors.formats.prophesee_header import (FORMAT_GEOMETRY, SNIFF_BYTES, fallback_geometry, parse_header,
                                      sniff_raw)
from sensors.types import EVENT_DTYPE, Geometry, SourceError

DATA = Path(os.environ.get("NEUROEDGE_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
EVENTS = DATA / "events"
RAW_FILES = {"evt2.raw": Evt2Source, "evt2_sample.raw": Evt2Source, "evt3_sample.raw": Evt3Source}
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
EVT2_HEADER = b"% evt 2.0\n% end\n"
EVT3_HEADER = b"% evt 3.0\n% end\n"


def read_all(source, max_reads: int = 10_000_000) -> np.ndarray:
    """Concatenate every batch until None (then close); fail instead of looping forever."""
    parts = []
    for _ in range(max_reads):
        batch = source.read()
        if batch is None:
            source.close()
            return np.concatenate(parts) if parts else np.zeros(0, EVENT_DTYPE)
        assert batch.events.dtype == EVENT_DTYPE and len(batch) > 0 and batch.geometry == source.geometry
        parts.append(batch.events)
    pytest.fail("source never returned None")


def decode(path: Path, cls=None, **kwargs) -> np.ndarray:
    return read_all((cls or RAW_FILES[path.name])(path, **kwargs))


def read_aedat4(path: Path) -> np.ndarray:
    reader = dv.io.MonoCameraRecording(str(path))
    parts = []
    while (batch := reader.getNextEventBatch()) is not None:
        parts.append(batch.numpy())
    return np.concatenate(parts)


def as_tuples(events: np.ndarray) -> list[tuple[int, int, int, int]]:
    return list(zip(events["t"].tolist(), events["x"].tolist(), events["y"].tolist(), events["p"].tolist()))


def naive_evt2(words, width: int, height: int) -> tuple[list, int]:
    """Slow, obvious EVT 2.0 decoder: (events as (t, x, y, p) tuples, dropped count)."""
    th = wraps = dropped = 0
    events = []
    for w in words:
        typ = w >> 28
        if typ == 0x8:
            if th - (w & 0xFFFFFFF) > 1 << 27:
                wraps += 1
            th = w & 0xFFFFFFF
        elif typ in (0x0, 0x1):
            x, y = (w >> 11) & 0x7FF, w & 0x7FF
            if x < width and y < height:
                events.append((wraps << 34 | th << 6 | (w >> 22) & 0x3F, x, y, typ))
            else:
                dropped += 1
    return events, dropped


def naive_evt3(words, width: int, height: int) -> tuple[list, int]:
    """Slow, obvious spec-literal EVT 3.0 decoder: (events as (t, x, y, p) tuples, dropped count)."""
    th = wraps = tl = y = bx = bp = dropped = 0
    events = []
    for w in words:
        typ, payload = w >> 12, w & 0xFFF
        t = wraps << 24 | th << 12 | tl
        hits = []
        if typ == 0x0:
            y = payload & 0x7FF
        elif typ == 0x2:
            hits = [(payload & 0x7FF, payload >> 11)]
        elif typ == 0x3:
            bx, bp = payload & 0x7FF, payload >> 11
        elif typ in (0x4, 0x5):
            size = 12 if typ == 0x4 else 8
            hits = [(bx + k, bp) for k in range(size) if payload >> k & 1]
            bx += size
        elif typ == 0x6:
            tl = payload
        elif typ == 0x8:
            if th - payload > 2048:
                wraps += 1
            th = payload
        for x, p in hits:
            if x < width and y < height:
                events.append((t, x, y, p))
            else:
                dropped += 1
    return events, dropped


def data_words(path: Path, dtype: str) -> np.ndarray:
    raw = path.read_bytes()
    start = parse_header(raw[:SNIFF_BYTES]).length_bytes
    size = np.dtype(dtype).itemsize
    return np.frombuffer(raw[start:start + (len(raw) - start) // size * size], dtype=dtype)


@pytest.fixture(scope="module")
def scratch():
    with tempfile.TemporaryDirectory() as tmp:
        yield Path(tmp)


def write(path: Path, header: bytes, words, dtype: str) -> Path:
    path.write_bytes(header + np.asarray(words, dtype=dtype).tobytes())
    return path


# ---------------------------------------------------------------- shared recordings


@pytest.mark.parametrize("name", sorted(RAW_FILES))
def test_raw_matches_sidecar(name):
    meta = json.loads((EVENTS / f"{name}.json").read_text())
    source = RAW_FILES[name](EVENTS / name)
    assert source.format == ("evt3" if "evt3" in name else "evt2")
    assert (source.geometry.width, source.geometry.height) == (meta["width"], meta["height"])
    events = read_all(source)
    assert len(events) == meta["n_events"]
    assert int(events["t"][0]) == meta["t_first_us"] and int(events["t"][-1]) == meta["t_last_us"]
    assert round(float(events["p"].mean()), 6) == meta["on_fraction"]
    assert [int(events["x"].min()), int(events["x"].max())] == meta["x_range"]
    assert [int(events["y"].min()), int(events["y"].max())] == meta["y_range"]
    assert bool(np.all(np.diff(events["t"]) >= 0)) == meta["timestamps_monotonic"]
    assert source.dropped_out_of_range == 0 and source.truncated_bytes == 0


@pytest.mark.parametrize("name", sorted(RAW_FILES))
def test_raw_equals_aedat4_conversion(name):
    ours = decode(EVENTS / name)
    theirs = read_aedat4(EVENTS / name.replace(".raw", ".aedat4"))
    for mine, dv_field in (("t", "timestamp"), ("x", "x"), ("y", "y"), ("p", "polarity")):
        np.testing.assert_array_equal(ours[mine], theirs[dv_field], err_msg=f"{name}: field {mine}")


def test_evt3_sample_npy_agrees_on_x_y_p_only():
    ours = decode(EVENTS / "evt3_sample.raw")
    npy = np.load(EVENTS / "evt3_sample.npy")
    for field in ("x", "y", "p"):
        np.testing.assert_array_equal(ours[field], npy[field])
    # The .npy's t is expelliarmus's (4096 µs added per backwards TIME_LOW); ours is spec-literal.
    lag = npy["t"] - ours["t"]
    assert np.any(lag != 0) and np.all(lag % 4096 == 0) and lag.max() == 11 * 4096


@pytest.mark.parametrize("name", sorted(RAW_FILES))
def test_chunk_size_does_not_change_the_output(name):
    cls = RAW_FILES[name]
    word = 2 if cls is Evt3Source else 4
    whole = decode(EVENTS / name)
    source = cls(EVENTS / name, chunk_bytes=7 * word)
    batches = []
    while (batch := source.read()) is not None:
        batches.append(len(batch))
    source.close()
    assert sum(batches) == len(whole) and max(batches) <= 7 + 256 + 12
    small = decode(EVENTS / name, chunk_bytes=7 * word)
    odd = decode(EVENTS / name, chunk_bytes=4099 * word)
    assert np.array_equal(small, whole) and np.array_equal(odd, whole)


@pytest.mark.parametrize("name", sorted(RAW_FILES))
def test_kernel_equals_naive_reference_on_real_data(name):
    cls = RAW_FILES[name]
    words = data_words(EVENTS / name, "<u2" if cls is Evt3Source else "<u4")[:60_000].tolist()
    naive = naive_evt3 if cls is Evt3Source else naive_evt2
    geometry = Geometry(300, 200)  # small, so that the out-of-range path runs too
    expected, dropped = naive(words, geometry.width, geometry.height)
    with tempfile.TemporaryDirectory() as tmp:
        header = EVT3_HEADER if cls is Evt3Source else EVT2_HEADER
        path = write(Path(tmp) / "cut.raw", header, words, "<u2" if cls is Evt3Source else "<u4")
        source = cls(path, geometry, chunk_bytes=1000)
        events = read_all(source)
    assert as_tuples(events) == expected and source.dropped_out_of_range == dropped > 0


def test_caller_geometry_overrides_and_drops_outside_events():
    full = decode(EVENTS / "evt3_sample.raw")
    source = Evt3Source(EVENTS / "evt3_sample.raw", Geometry(640, 480))
    assert source.geometry == Geometry(640, 480)
    cut = read_all(source)
    inside = (full["x"] < 640) & (full["y"] < 480)
    assert np.array_equal(cut, full[inside])
    assert source.dropped_out_of_range == int((~inside).sum()) > 0


# ---------------------------------------------------------------- hand-built word streams


def test_evt3_hand_built_stream(scratch):
    words = [
        0x8FFF,  # TIME_HIGH 0xFFF
        0x6FFE,  # TIME_LOW 0xFFE             -> t = 0xFFFFFE = 16777214
        0x0805,  # ADDR_Y 5 (system bit set, ignored)
        0x2801,  # ADDR_X x=1 p=1
        0x3064,  # VECT_BASE_X x=100 p=0
        0x4821,  # VECT_12 bits 0, 5, 11      -> x 100, 105, 111
        0xA123,  # EXT_TRIGGER: ignored, base x unchanged
        0x5081,  # VECT_8 bits 0, 7 (base 112) -> x 112, 119
        0x5001,  # VECT_8 bit 0 (base 120) -> x 120
        0xE555, 0xF0FF, 0x7003,  # OTHERS, CONTINUED_12, CONTINUED_4: ignored
        0x8000,  # TIME_HIGH 0x000: wrap      -> t = 2**24 + 0xFFE
        0x6001,  # TIME_LOW 1                 -> t = 2**24 + 1
        0x2002,  # ADDR_X x=2 p=0
        0x6000,  # TIME_LOW 0 (steps back)    -> t = 2**24, kept as decoded
        0x2003,  # ADDR_X x=3
        0x8FF0, 0x8005,  # TIME_HIGH 0xFF0 then 0x005: a second wrap
        0x2004,  # ADDR_X x=4                 -> t = 2 * 2**24 + 0x5000
        0x8004,  # TIME_HIGH 0x004: small step back, not a wrap
        0x2005,  # ADDR_X x=5                 -> t = 2 * 2**24 + 0x4000
        0x0046,  # ADDR_Y 70: outside a 128x64 sensor
        0x2006,  # dropped
        0x0007,  # ADDR_Y 7
        0x3878,  # VECT_BASE_X x=120 p=1
        0x4FFF,  # VECT_12 all: x 120..127 kept, 128..131 dropped
    ]
    wrap = 1 << 24
    expected = [(16777214, 1, 5, 1)] + [(16777214, x, 5, 0) for x in (100, 105, 111, 112, 119, 120)] + [
        (wrap + 1, 2, 5, 0), (wrap, 3, 5, 0), (2 * wrap + 0x5000, 4, 5, 0), (2 * wrap + 0x4000, 5, 5, 0)
    ] + [(2 * wrap + 0x4000, x, 7, 1) for x in range(120, 128)]
    path = write(scratch / "hand3.raw", EVT3_HEADER, words, "<u2")
    for chunk_bytes in (2, 6, 4096):
        source = Evt3Source(path, Geometry(128, 64), chunk_bytes=chunk_bytes, max_gap_us=None)  # spec-literal
        assert as_tuples(read_all(source)) == expected
        assert source.dropped_out_of_range == 1 + 4
    assert naive_evt3(words, 128, 64) == (expected, 5)


def test_evt2_hand_built_stream(scratch):
    def cd(on, t_low, x, y):
        return (on << 28) | (t_low << 22) | (x << 11) | y

    def time_high(value):
        return 0x8 << 28 | value

    words = [
        time_high(16),
        cd(1, 5, 10, 20), cd(0, 63, 639, 479),
        0xA << 28 | 3 << 22 | 1,  # EXT_TRIGGER: ignored
        0xE << 28, 0xF << 28 | 0x123,  # OTHERS, CONTINUED: ignored
        cd(1, 1, 640, 0), cd(0, 1, 0, 480),  # outside 640x480: dropped
        time_high(0xFFFFFFF), cd(1, 0, 1, 1),  # TIME_HIGH at its maximum
        time_high(0), cd(0, 2, 2, 2),  # wrap: + 2**34 µs
    ]
    expected = [(16 << 6 | 5, 10, 20, 1), (16 << 6 | 63, 639, 479, 0),
                (0xFFFFFFF << 6, 1, 1, 1), ((1 << 34) + 2, 2, 2, 0)]
    path = write(scratch / "hand2.raw", EVT2_HEADER, words, "<u4")
    for chunk_bytes in (4, 12, 4096):
        source = Evt2Source(path, chunk_bytes=chunk_bytes, max_gap_us=None)  # spec-literal
        assert source.geometry == Geometry(640, 480)
        assert as_tuples(read_all(source)) == expected and source.dropped_out_of_range == 2
    assert naive_evt2(words, 640, 480) == (expected, 2)


def test_partial_final_word_is_ignored(scratch):
    whole = (EVENTS / "evt3_sample.raw").read_bytes()
    path = scratch / "cut3.raw"
    path.write_bytes(whole[:-1])
    source = Evt3Source(path)
    events = read_all(source)
    assert source.truncated_bytes == 1
    assert np.array_equal(events, decode(EVENTS / "evt3_sample.raw")[:len(events)])


# ---------------------------------------------------------------- fuzzing


def check_invariants(events: np.ndarray, geometry: Geometry) -> None:
    assert np.all((events["x"] >= 0) & (events["x"] < geometry.width))
    assert np.all((events["y"] >= 0) & (events["y"] < geometry.height))
    assert np.all((events["p"] == 0) | (events["p"] == 1))


def decode_or_source_error(cls, path: Path, **kwargs) -> tuple[np.ndarray | None, object]:
    try:
        source = cls(path, **kwargs)
    except SourceError as e:
        assert str(path) in str(e) and "\n" not in str(e)
        return None, None
    return read_all(source), source


@pytest.mark.parametrize("cls", [Evt2Source, Evt3Source])
@FUZZ
@given(data=st.binary(max_size=3000), chunk_words=st.integers(1, 64), with_end=st.booleans())
def test_random_bytes_after_a_header(scratch, cls, data, chunk_words, with_end):
    header = EVT3_HEADER if cls is Evt3Source else EVT2_HEADER
    if not with_end:
        header = header.replace(b"% end\n", b"")
    path = scratch / "random.raw"
    path.write_bytes(header + data)
    word = 2 if cls is Evt3Source else 4
    events, source = decode_or_source_error(cls, path, chunk_bytes=chunk_words * word, max_gap_us=None)
    if events is None:
        return
    check_invariants(events, source.geometry)
    if with_end:
        words = np.frombuffer(data[:len(data) // word * word], dtype=f"<u{word}").tolist()
        naive = naive_evt3 if cls is Evt3Source else naive_evt2
        geometry = FORMAT_GEOMETRY[cls.format]
        expected = naive(words, geometry.width, geometry.height)
        assert (as_tuples(events), source.dropped_out_of_range) == expected
        assert source.truncated_bytes == len(data) % word


EVT3_WORDS = st.builds(lambda typ, payload: typ << 12 | payload,
                       st.sampled_from([0x0, 0x2, 0x2, 0x2, 0x3, 0x4, 0x5, 0x6, 0x7, 0x8, 0xA, 0xE, 0xF]),
                       st.integers(0, 0xFFF))


@FUZZ
@given(words=st.lists(EVT3_WORDS, max_size=400), width=st.integers(1, 2100), height=st.integers(1, 2100),
       chunk_words=st.integers(1, 50))
def test_evt3_structured_words_match_the_reference(scratch, words, width, height, chunk_words):
    path = write(scratch / "words3.raw", EVT3_HEADER, words, "<u2")
    events, source = decode_or_source_error(Evt3Source, path, geometry=Geometry(width, height),
                                            chunk_bytes=2 * chunk_words, max_gap_us=None)
    if events is None:
        assert not words
        return
    assert (as_tuples(events), source.dropped_out_of_range) == naive_evt3(words, width, height)


@pytest.mark.parametrize("name", sorted(RAW_FILES))
@FUZZ
@given(data=st.data())
def test_mutated_recordings(scratch, name, data):
    cls = RAW_FILES[name]
    original = (EVENTS / name).read_bytes()
    start = parse_header(original[:SNIFF_BYTES]).length_bytes
    cut = bytearray(original[:start + 4000])
    for _ in range(data.draw(st.integers(1, 20))):
        cut[data.draw(st.integers(0, len(cut) - 1))] = data.draw(st.integers(0, 255))
    cut = cut[:data.draw(st.integers(0, len(cut)))]
    path = scratch / "mutated.raw"
    path.write_bytes(bytes(cut))
    chunk_bytes = data.draw(st.sampled_from([4, 64, 1 << 20]))
    events, source = decode_or_source_error(cls, path, chunk_bytes=chunk_bytes)
    if events is not None:
        check_invariants(events, source.geometry)


# ---------------------------------------------------------------- headers and bad input


def test_header_parsing():
    head = b"% format EVT3;height=320;width=320\n% serial_number 42\n% end\n%\x00binary"
    header = parse_header(head)
    assert header.complete and header.length_bytes == head.index(b"%\x00")
    assert (header.format, header.geometry) == ("evt3", Geometry(320, 320))
    assert header.fields["serial_number"] == "42"
    assert parse_header(b"% geometry 1280x720\n% evt 2.0\n\x00").geometry == Geometry(1280, 720)
    assert parse_header(b"% evt 2.1\n\x00").format == "evt21" and sniff_raw(b"% evt 2.1\n\x00") is None
    # A "%" line holding control characters is data, not header.
    assert parse_header(b"% evt 3.0\n%\x20\x07\x20\n").length_bytes == 10
    assert not parse_header(b"% evt 3.0\n% geo").complete
    for not_raw in (b"", b"hello\n", b"%PDF-1.4\n", b"#!AER-DAT4.0\r\n"):
        assert parse_header(not_raw) is None and sniff_raw(not_raw) is None
    with pytest.raises(ValueError, match="geometry"):
        parse_header(b"% geometry big\n% evt 3.0\n\x00").geometry


def test_sniff_raw_on_shared_files():
    for name in sorted(EVENTS.iterdir()):
        if name.suffix == ".json":
            continue
        head = name.read_bytes()[:SNIFF_BYTES]
        expected = {"evt2.raw": "evt2", "evt2_sample.raw": "evt2", "evt3_sample.raw": "evt3"}.get(name.name)
        assert sniff_raw(head) == expected, name.name


def test_fallback_geometry_table():
    def fallback(text: str, fmt: str) -> tuple[int, int]:
        geometry = fallback_geometry(parse_header(text.encode() + b"\x00"), fmt)
        return geometry.width, geometry.height

    assert fallback("% plugin_name hal_plugin_gen3_fx3\n% evt 2.0\n", "evt2") == (640, 480)
    assert fallback("% plugin_name hal_plugin_gen41_evk3\n% evt 3.0\n", "evt3") == (1280, 720)
    assert fallback("% plugin_name hal_plugin_imx636_evk4\n", "evt2") == (1280, 720)
    assert fallback("% sensor_generation 3.1\n", "evt3") == (640, 480)
    assert fallback("% evt 3.0\n", "evt3") == (1280, 720)
    assert fallback("% evt 2.0\n", "evt2") == (640, 480)


@pytest.mark.parametrize("cls", [Evt2Source, Evt3Source])
@pytest.mark.parametrize("content, problem", [
    (None, "no such file"),
    (b"", "empty file"),
    (b"% evt {v}\n% serial_number 1\n", "RAW header but no event data"),
    (b"% evt {v}\n% end\n\x00", "no complete event word"),
    (b"timestamp,x,y,p\n1,2,3,1\n", "not a Prophesee RAW file"),
    (b"% Date 2020-09-25\n\x00\x00\x00\x00", "names no event format"),
    (b"% evt 2.1\n\x00\x00\x00\x00", "EVT 2.1 data"),
    (b"% format EVT{n};width=0;height=720\n\x00\x00\x00\x00", "bad width/height"),
])
def test_bad_input_raises_source_error_naming_the_path(scratch, cls, content, problem):
    """Missing, empty, header-only, text, unstated or unsupported format, bad geometry."""
    path = scratch / ("missing.raw" if content is None else "bad.raw")
    if content is not None:
        version = b"3" if cls is Evt3Source else b"2"
        path.write_bytes(content.replace(b"{v}", version + b".0").replace(b"{n}", version))
    with pytest.raises(SourceError) as info:
        cls(path)
    message = str(info.value)
    assert str(path) in message and problem in message and "\n" not in message


def test_wrong_format_and_directory_and_closed(scratch):
    with pytest.raises(SourceError, match="EVT 3.0 data, not EVT 2.0"):
        Evt2Source(EVENTS / "evt3_sample.raw")
    with pytest.raises(SourceError, match="EVT 2.0 data, not EVT 3.0"):
        Evt3Source(EVENTS / "evt2.raw")
    with pytest.raises(SourceError, match="directory"):
        Evt3Source(scratch)
    with pytest.raises(SourceError, match="not a Prophesee RAW file"):
        Evt3Source(EVENTS / "evt3_sample.aedat4")
    with pytest.raises(ValueError, match="chunk_bytes"):
        Evt3Source(EVENTS / "evt3_sample.raw", chunk_bytes=1)
    source = Evt3Source(EVENTS / "evt3_sample.raw")
    source.close()
    with pytest.raises(SourceError, match="read after close"):
        source.read()
