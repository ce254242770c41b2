"""The board's wire codec (hw.serial.codec, hw/serial/PROTOCOL.md): frames and every message round-trip; a
truncated, bit-flipped, oversize or garbage-surrounded frame is never taken for a valid one and never costs the
frames after the next delimiter; the decoder's buffer stays bounded; parsers refuse every wrong length and bad
value with one ValueError line and raise nothing else on any bytes; the named-array blob round-trips exactly."""
from __future__ import annotations

import hashlib
import itertools
import json
import math
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from cobs import cobs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hw.serial import codec
from hw.serial.codec import (
    DTYPES, FLAG_RETRANSMIT, HEADER, MAX_BLOB_BYTES, MAX_BODY, MAX_ENCODED, MAX_PAYLOAD, MAX_TICKS, MIN_BODY,
    ErrorCode, Frame, FrameDecoder, FrameError, MsgType,
)

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PROTOCOL_MD = Path(codec.__file__).with_name("PROTOCOL.md")

# The worked examples of PROTOCOL.md (checked to be in it, byte for byte).
HELLO_FRAME = Frame(MsgType.HELLO, 1, codec.hello_payload(1, 1, "host"))
HELLO_HEX = "03 01 01 01 02 01 01 01 02 08 01 01 03 01 01 01 06 68 6f 73 74 37 03 8a 91 00"
STEP_FRAME = Frame(MsgType.STEP, 2, codec.step_payload([0, 2, 3], [5, 7, 5], 0.5))
STEP_HEX = ("03 01 05 01 02 02 01 01 02 2c 01 01 02 02 01 01 02 03 01 01 01 01 01 01 01 01 03 e0 3f 01 01 "
            "01 01 01 01 01 02 02 01 01 02 03 01 01 02 05 01 01 02 07 01 01 02 05 01 01 05 06 d3 53 50 00")


def sample_frames() -> list[Frame]:
    """Frames whose payload sizes straddle COBS's 254-byte blocks, with and without zero bytes."""
    return [Frame(MsgType.STATS, 0), HELLO_FRAME, STEP_FRAME,
            Frame(MsgType.ACK, 0xFFFFFFFF, bytes(238), FLAG_RETRANSMIT),
            Frame(MsgType.STEP_RESULT, 77, bytes(range(1, 256)) * 2 + b"\0\0\x01"),
            Frame(0x42, 5, b"\xff" * 492, 0xFF, 0xFE)]


def payloads() -> st.SearchStrategy[bytes]:
    sized = st.tuples(st.sampled_from([0, 1, 237, 238, 239, 253, 254, 255, 491, 492, 493, 1000]),
                      st.integers(0, 255)).map(lambda t: bytes([t[1]]) * t[0])
    return st.one_of(st.binary(max_size=1200), st.binary(max_size=1200).map(lambda b: b.replace(b"\0", b"\x07")),
                     sized)


frames = st.builds(Frame, type=st.integers(0, 255), seq=st.integers(0, 2**32 - 1), payload=payloads(),
                   flags=st.integers(0, 255), version=st.integers(0, 255))
pieces = st.lists(st.integers(1, 400), min_size=1, max_size=20)


def feed_in_pieces(decoder: FrameDecoder, data: bytes, sizes: list[int]) -> list[Frame]:
    out, at = [], 0
    for size in itertools.cycle(sizes):
        if at >= len(data):
            return out
        out += decoder.feed(data[at:at + size])
        at += size
        assert decoder.buffered <= MAX_ENCODED - 1


def body_of(kind: int, seq: int, payload: bytes, reserved: int = 0, length: int | None = None) -> bytes:
    """A frame body built by hand (valid CRC), to give it a header encode_frame would not."""
    head = HEADER.pack(1, kind, 0, reserved, seq, len(payload) if length is None else length) + payload
    return head + struct.pack("<I", zlib.crc32(head))


def one_line_value_error(call, *words: str) -> str:
    with pytest.raises(ValueError) as info:
        call()
    text = str(info.value)
    assert text and "\n" not in text, text
    for word in words:
        assert word in text, text
    return text


# --- frames ---------------------------------------------------------------------------------------------------

def test_constants_and_enums_are_the_documented_ones():
    assert (codec.PROTOCOL_VERSION, MAX_PAYLOAD, HEADER.size, MIN_BODY, MAX_BODY) == (1, 65536, 12, 16, 65552)
    assert MAX_ENCODED == len(codec.encode_frame(Frame(MsgType.ACK, 1, b"\x01" * MAX_PAYLOAD))) == 65812
    assert {m.name: m.value for m in MsgType} == {
        "HELLO": 1, "LOAD_BEGIN": 2, "LOAD_CHUNK": 3, "LOAD_END": 4, "STEP": 5, "GET_STATE": 6, "SET_STATE_BEGIN": 7,
        "SET_STATE_CHUNK": 8, "SET_STATE_END": 9, "SET_LEARNING": 10, "STATS": 11, "RESET": 12, "ACK": 0x80,
        "HELLO_ACK": 0x81, "STEP_RESULT": 0x85, "STATE_CHUNK": 0x86, "STATS_REPLY": 0x8B, "ERROR": 0xFF}
    assert [e.value for e in ErrorCode] == list(range(1, 11))


def test_worked_examples_match_the_codec_and_protocol_md():
    text = " ".join(PROTOCOL_MD.read_text().split())
    for frame, hexed in ((HELLO_FRAME, HELLO_HEX), (STEP_FRAME, STEP_HEX)):
        assert codec.encode_frame(frame).hex(" ") == hexed
        assert hexed in text
        assert FrameDecoder().feed(bytes.fromhex(hexed)) == [frame]


@SETTINGS
@given(frames, pieces)
def test_frame_round_trip_in_any_pieces(frame, sizes):
    wire = codec.encode_frame(frame)
    assert wire.endswith(b"\0") and wire.count(0) == 1
    assert len(wire) <= codec.max_encoded_size(len(frame.payload))
    assert codec.decode_body(cobs.decode(wire[:-1])) == frame
    decoder = FrameDecoder()
    assert feed_in_pieces(decoder, wire * 3, sizes) == [frame] * 3
    assert (decoder.frames, decoder.crc_errors, decoder.resyncs, decoder.bytes_discarded) == (3, 0, 0, 0)
    assert decoder.buffered == 0


def test_largest_frame_round_trips_and_one_byte_more_is_refused():
    frame = Frame(MsgType.STATE_CHUNK, 9, b"\xa5" * MAX_PAYLOAD)
    wire = codec.encode_frame(frame)
    assert len(wire) == MAX_ENCODED
    assert FrameDecoder().feed(wire) == [frame]
    one_line_value_error(lambda: codec.encode_frame(Frame(MsgType.ACK, 1, bytes(MAX_PAYLOAD + 1))), "MAX_PAYLOAD")


@pytest.mark.parametrize("change", [{"type": 256}, {"type": -1}, {"seq": 2**32}, {"seq": -1}, {"flags": 256},
                                    {"version": 256}])
def test_encode_refuses_header_fields_out_of_range(change):
    fields = {"type": MsgType.ACK, "seq": 1, **change}
    one_line_value_error(lambda: codec.encode_frame(Frame(**fields)), next(iter(change)))


def test_max_encoded_size_bounds_every_cobs_encoder_and_payload_limit_is_the_largest_fit():
    for n in range(0, 1100):
        body = MIN_BODY + n
        assert len(cobs.encode(b"\x01" * body)) + 1 <= codec.max_encoded_size(n)
        assert body + 2 + body // 254 == codec.max_encoded_size(n)  # an encoder closing a full block with 0x01
    for rx in range(0, 1200):
        fits = [p for p in range(0, 1200) if codec.max_encoded_size(p) <= rx]
        assert codec.payload_limit(MAX_PAYLOAD, rx) == (max(fits) if fits else 0)
    assert codec.payload_limit(MAX_PAYLOAD, MAX_ENCODED) == MAX_PAYLOAD
    assert codec.payload_limit(300, MAX_ENCODED) == 300


@pytest.mark.parametrize("body, kind", [
    (b"", "malformed"), (bytes(15), "malformed"),
    (body_of(1, 1, b"ab", reserved=1), "malformed"),
    (body_of(1, 1, b"ab", length=3), "malformed"),
    (body_of(1, 1, b"ab", length=1), "malformed"),
    (body_of(1, 1, b"", length=MAX_PAYLOAD + 1), "malformed"),
    (body_of(1, 1, bytes(MAX_PAYLOAD + 1)), "oversize"),
    (body_of(1, 1, b"ab")[:-1] + b"\0", "crc"),
])
def test_decode_body_names_each_kind_of_bad_body(body, kind):
    with pytest.raises(FrameError) as info:
        codec.decode_body(body)
    assert info.value.kind == kind and isinstance(info.value, ValueError) and "\n" not in str(info.value)


def test_every_truncation_yields_no_frame():
    for frame in sample_frames():
        wire = codec.encode_frame(frame)
        for cut in range(len(wire)):
            decoder = FrameDecoder()
            assert decoder.feed(wire[:cut]) == [] and decoder.buffered == cut
            if cut == len(wire) - 1:  # all but the delimiter: not a frame until the delimiter comes
                continue
            assert decoder.feed(b"\0") == []
            assert decoder.crc_errors + decoder.resyncs == (1 if cut else 0)
            assert decoder.bytes_discarded == cut
            assert decoder.feed(wire) == [frame]


@SETTINGS
@given(frames, st.integers(0, 10**6))
def test_a_truncated_frame_then_a_delimiter_costs_only_itself(frame, where):
    wire = codec.encode_frame(frame)
    cut = where % (len(wire) - 1)
    decoder = FrameDecoder()
    assert decoder.feed(wire[:cut] + b"\0" + wire) == [frame]


def assert_flips_never_accepted(frame: Frame, good: Frame, positions) -> None:
    wire, good_wire = codec.encode_frame(frame), codec.encode_frame(good)
    for byte, bit in positions:
        flipped = bytearray(wire)
        flipped[byte] ^= 1 << bit
        decoder = FrameDecoder()
        out = decoder.feed(bytes(flipped) + good_wire)
        if byte == len(wire) - 1:  # the delimiter became data: the good frame merges into the damaged one
            assert out == [] and decoder.buffered == 0
        else:
            assert out == [good], (byte, bit)
        assert decoder.crc_errors + decoder.resyncs >= 1


def test_every_single_bit_flip_of_sample_frames_is_rejected():
    good = Frame(MsgType.ACK, 123, b"ok")
    for frame in sample_frames():
        n = len(codec.encode_frame(frame))
        assert_flips_never_accepted(frame, good, itertools.product(range(n), range(8)))


@SETTINGS
@given(frames, st.integers(0, 10**6), st.integers(0, 7))
def test_a_random_bit_flip_is_never_accepted(frame, where, bit):
    assert_flips_never_accepted(frame, Frame(MsgType.ACK, 1), [(where % len(codec.encode_frame(frame)), bit)])


@SETTINGS
@given(st.lists(st.tuples(st.binary(max_size=80), frames), min_size=1, max_size=6), st.binary(max_size=80), pieces)
def test_garbage_before_between_and_after_frames_loses_none_after_a_delimiter(items, tail, sizes):
    stream = b"".join(garbage + b"\0" + codec.encode_frame(frame) for garbage, frame in items) + tail
    decoder = FrameDecoder()
    sent = [frame for _, frame in items]
    assert feed_in_pieces(decoder, stream, sizes) + decoder.feed(b"\0") == sent
    assert decoder.frames == len(sent)


@SETTINGS
@given(st.lists(st.tuples(st.binary(max_size=40), frames), min_size=1, max_size=6), pieces)
def test_garbage_glued_to_frames_never_yields_a_wrong_frame(items, sizes):
    stream = b"".join(garbage + codec.encode_frame(frame) for garbage, frame in items)
    out = feed_in_pieces(FrameDecoder(), stream, sizes)
    sent = iter(frame for _, frame in items)
    assert all(frame in sent for frame in out)  # a subsequence of what was sent


def test_counters_empty_segments_and_each_bad_segment_once():
    decoder = FrameDecoder()
    good = codec.encode_frame(HELLO_FRAME)
    bad_crc = bytearray(good)
    bad_crc[-3] ^= 0x10
    short = cobs.encode(b"\x01" * 10) + b"\0"
    not_cobs = b"\x09ab\0"
    out = decoder.feed(b"\0" * 7 + good + b"\0\0" + bytes(bad_crc) + short + not_cobs + b"\0" + good)
    assert out == [HELLO_FRAME, HELLO_FRAME]
    assert (decoder.frames, decoder.crc_errors, decoder.resyncs) == (2, 1, 2)
    assert decoder.bytes_discarded == len(bad_crc) - 1 + len(short) - 1 + len(not_cobs) - 1


def test_oversize_partial_frame_is_dropped_once_and_memory_stays_bounded():
    junk = b"\x01" * (MAX_ENCODED + 5000)
    decoder = FrameDecoder()
    for at in range(0, len(junk), 7000):
        assert decoder.feed(junk[at:at + 7000]) == []
        assert decoder.buffered <= MAX_ENCODED - 1
    assert decoder.resyncs == 1 and decoder.buffered == 0
    assert decoder.feed(b"\0" + codec.encode_frame(HELLO_FRAME)) == [HELLO_FRAME]
    assert (decoder.resyncs, decoder.bytes_discarded) == (1, len(junk))
    # in one piece, a segment too long to be a frame is one resync too
    decoder = FrameDecoder()
    assert decoder.feed(junk + b"\0" + codec.encode_frame(HELLO_FRAME)) == [HELLO_FRAME]
    assert (decoder.resyncs, decoder.bytes_discarded) == (1, len(junk))


def test_a_frame_just_past_the_limit_across_pieces_is_dropped_and_the_next_kept():
    decoder = FrameDecoder()
    assert decoder.feed(b"\x01" * (MAX_ENCODED - 1)) == [] and decoder.buffered == MAX_ENCODED - 1
    assert decoder.feed(b"\x01\x01\0" + codec.encode_frame(STEP_FRAME)) == [STEP_FRAME]
    assert (decoder.resyncs, decoder.bytes_discarded, decoder.buffered) == (1, MAX_ENCODED + 1, 0)


def test_a_cobs_valid_body_over_max_body_counts_as_resync():
    wire = cobs.encode(body_of(1, 1, bytes(MAX_PAYLOAD + 1))) + b"\0"
    assert len(wire) <= MAX_ENCODED  # short enough to reach decode_body, which refuses it as oversize
    decoder = FrameDecoder()
    assert decoder.feed(wire + codec.encode_frame(HELLO_FRAME)) == [HELLO_FRAME]
    assert (decoder.resyncs, decoder.crc_errors) == (1, 0)


def test_reset_drops_the_partial_frame_and_keeps_counters():
    decoder = FrameDecoder()
    decoder.feed(b"\x05\0" + codec.encode_frame(HELLO_FRAME)[:9])
    decoder.reset()
    assert decoder.buffered == 0 and decoder.resyncs == 1 and decoder.bytes_discarded == 1 + 9
    assert decoder.feed(codec.encode_frame(STEP_FRAME)) == [STEP_FRAME]


def test_next_seq_wraps_and_skips_zero():
    assert [codec.next_seq(s) for s in (0, 1, 2**32 - 2, 2**32 - 1)] == [1, 2, 2**32 - 1, 1]


# --- message payloads -----------------------------------------------------------------------------------------

names = st.text(max_size=20).filter(lambda s: len(s.encode()) <= 64)
json_values = st.one_of(st.none(), st.booleans(), st.integers(-2**53, 2**53), st.text(max_size=12),
                        st.floats(allow_nan=False, allow_infinity=False))
json_objects = st.dictionaries(st.text(max_size=12), st.one_of(json_values, st.lists(json_values, max_size=4)),
                               max_size=6)
u32 = st.integers(0, 2**32 - 1)


@st.composite
def csr(draw, max_ticks: int = 40, max_id: int = 2**32 - 1):
    counts = draw(st.lists(st.integers(0, 5), min_size=1, max_size=max_ticks))
    tick_ptr = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    ids = draw(st.lists(st.integers(0, max_id), min_size=int(tick_ptr[-1]), max_size=int(tick_ptr[-1])))
    return tick_ptr, np.array(ids, dtype=np.int64)


finite = st.floats(allow_nan=False, allow_infinity=False)


@SETTINGS
@given(st.integers(1, 255), st.integers(0, 254), names)
def test_hello_round_trip(low, extra, name):
    high = min(255, low + extra)
    assert codec.parse_hello(codec.hello_payload(low, high, name)) == (low, high, name)


@SETTINGS
@given(st.integers(1, 255), st.integers(codec.MIN_BOARD_PAYLOAD, MAX_PAYLOAD),
       st.integers(codec.max_encoded_size(codec.MIN_BOARD_PAYLOAD), 2**32 - 1), u32, json_objects)
def test_hello_ack_round_trip(version, max_payload, rx_buffer, session, info):
    payload = codec.hello_ack_payload(version, max_payload, rx_buffer, session, info)
    assert codec.parse_hello_ack(payload) == (version, max_payload, rx_buffer, session, info)


@SETTINGS
@given(st.integers(0, 2**64 - 1), st.integers(1, MAX_BLOB_BYTES), st.binary(min_size=32, max_size=32))
def test_begin_round_trip(seed, total, digest):
    assert codec.parse_begin(codec.begin_payload(seed, total, digest)) == (seed, total, digest)


@SETTINGS
@given(st.integers(0, MAX_BLOB_BYTES - 2000), st.binary(min_size=1, max_size=2000))
def test_chunk_round_trip(offset, data):
    assert codec.parse_chunk(codec.chunk_payload(offset, data)) == (offset, data)


@SETTINGS
@given(csr(), finite, st.one_of(st.none(), st.lists(finite, max_size=20)))
def test_step_round_trip(spikes, reward, third):
    tick_ptr, ids = spikes
    got_ptr, got_ids, got_reward, got_third = codec.parse_step(codec.step_payload(tick_ptr, ids, reward, third))
    assert got_ptr.dtype == got_ids.dtype == np.uint32
    assert np.array_equal(got_ptr, tick_ptr) and np.array_equal(got_ids, ids) and got_reward == reward
    if not third:
        assert got_third is None
    else:
        assert got_third.dtype == np.float64 and np.array_equal(got_third, third)


@SETTINGS
@given(csr(max_id=1000), st.integers(0, 2**64 - 1))
def test_step_result_round_trip(spikes, board_tick):
    tick_ptr, ids = spikes
    got_ptr, got_ids, got_tick = codec.parse_step_result(codec.step_result_payload(tick_ptr, ids, board_tick))
    assert np.array_equal(got_ptr, tick_ptr) and np.array_equal(got_ids, ids) and got_tick == board_tick


@SETTINGS
@given(st.integers(0, MAX_BLOB_BYTES), st.integers(1, MAX_PAYLOAD - 8), st.binary(max_size=500), st.integers(0, 10**9))
def test_get_state_and_state_chunk_round_trip(offset, max_len, data, extra):
    assert codec.parse_get_state(codec.get_state_payload(offset, max_len)) == (offset, max_len)
    total = min(MAX_BLOB_BYTES, max(1, len(data) + extra))
    chunk_offset = min(offset, total - len(data))
    assert codec.parse_state_chunk(codec.state_chunk_payload(total, chunk_offset, data)) == (total, chunk_offset, data)


@SETTINGS
@given(json_objects, st.integers(1, 65535), st.text(max_size=200))
def test_set_learning_json_and_error_round_trip(obj, code, message):
    assert codec.parse_set_learning(codec.set_learning_payload(True)) is True
    assert codec.parse_set_learning(codec.set_learning_payload(False)) is False
    assert codec.parse_json(codec.json_payload(obj)) == obj
    line = message.splitlines()[0] if message.splitlines() else ""
    assert codec.parse_error(codec.error_payload(code, message)) == (code, line)


def test_empty_json_is_no_bytes_and_error_messages_are_cut_to_one_line_of_1024_bytes():
    assert codec.json_payload({}) == b"" and codec.parse_json(b"") == {}
    code, message = codec.parse_error(codec.error_payload(ErrorCode.INTERNAL, "é" * 600 + "\nsecond line"))
    assert code == ErrorCode.INTERNAL and message == "é" * 512
    _, message = codec.parse_error(codec.error_payload(ErrorCode.INTERNAL, "a" + "é" * 600))
    assert message == "a" + "é" * 511 and len(message.encode()) == 1023


PARSERS = [codec.parse_hello, codec.parse_hello_ack, codec.parse_begin, codec.parse_chunk, codec.parse_step,
           codec.parse_step_result, codec.parse_get_state, codec.parse_state_chunk, codec.parse_set_learning,
           codec.parse_json, codec.parse_error, codec.unpack_arrays]


@SETTINGS
@given(st.sampled_from(PARSERS), st.binary(max_size=300))
def test_parsers_on_random_bytes_return_or_raise_one_line_value_error(parse, data):
    try:
        parse(data)
    except ValueError as e:
        assert str(e) and "\n" not in str(e)


@SETTINGS
@given(st.sampled_from([codec.parse_step, codec.parse_step_result]), st.integers(1, 4), st.integers(0, 6),
       st.binary(max_size=120))
def test_step_parsers_on_plausible_headers_return_or_raise_value_error(parse, n_ticks, n_spikes, rest):
    head = (struct.pack("<IIdI", n_ticks, n_spikes, 0.0, 0) if parse is codec.parse_step
            else struct.pack("<IIQ", n_ticks, n_spikes, 0))
    try:
        parse(head + rest)
    except ValueError as e:
        assert "\n" not in str(e)


FIXED = [(codec.parse_begin, 44), (codec.parse_get_state, 8), (codec.parse_set_learning, 1)]
AT_LEAST = [(codec.parse_hello, 4), (codec.parse_hello_ack, 16), (codec.parse_chunk, 5),
            (codec.parse_step, 28), (codec.parse_step_result, 24), (codec.parse_state_chunk, 8),
            (codec.parse_error, 2)]


@pytest.mark.parametrize("parse, size", FIXED + AT_LEAST)
def test_parsers_refuse_every_short_length(parse, size):
    for n in range(size):
        one_line_value_error(lambda: parse(b"\x01" * n))


@pytest.mark.parametrize("parse, size", FIXED)
def test_fixed_size_parsers_refuse_every_longer_length(parse, size):
    valid = {44: codec.begin_payload(1, 10, bytes(32)), 8: codec.get_state_payload(0, 100),
             1: codec.set_learning_payload(True)}[size]
    parse(valid)
    for extra in range(1, 20):
        one_line_value_error(lambda: parse(valid + bytes(extra)), "payload")


def test_step_and_step_result_refuse_every_wrong_length():
    step = codec.step_payload([0, 2, 3], [5, 7, 5], 0.5, [1.0, 2.0])
    result = codec.step_result_payload([0, 1, 1], [3], 12)
    for parse, valid in ((codec.parse_step, step), (codec.parse_step_result, result)):
        for n in range(len(valid) + 12):
            data = (valid + bytes(12))[:n]
            if n == len(valid):
                parse(data)
            else:
                one_line_value_error(lambda: parse(data))


def step_bytes(n_ticks, n_spikes, reward, n_third, ptr, ids, third=()) -> bytes:
    return (struct.pack("<IIdI", n_ticks, n_spikes, reward, n_third) + struct.pack(f"<{len(ptr)}I", *ptr)
            + struct.pack(f"<{len(ids)}I", *ids) + struct.pack(f"<{len(third)}d", *third))


@pytest.mark.parametrize("payload, words", [
    (step_bytes(2, 1, 0.0, 0, [0, 1, 1], [4]), None),
    (step_bytes(0, 0, 0.0, 0, [0], []), "ticks"),
    (step_bytes(MAX_TICKS + 1, 0, 0.0, 0, [], []), "ticks"),
    (step_bytes(2, 1, math.nan, 0, [0, 1, 1], [4]), "reward"),
    (step_bytes(2, 1, math.inf, 0, [0, 1, 1], [4]), "reward"),
    (step_bytes(2, 1, 0.0, 0, [1, 1, 1], [4]), "tick_ptr"),
    (step_bytes(2, 1, 0.0, 0, [0, 2, 1], [4]), "tick_ptr"),
    (step_bytes(2, 1, 0.0, 0, [0, 0, 0], [4]), "tick_ptr"),
    (step_bytes(2, 1, 0.0, 2, [0, 1, 1], [4], [1.0, math.nan]), "third"),
    (step_bytes(2, 1, 0.0, 1, [0, 1, 1], [4], [-math.inf]), "third"),
])
def test_parse_step_refuses_bad_values(payload, words):
    if words is None:
        assert codec.parse_step(payload)[3] is None
    else:
        one_line_value_error(lambda: codec.parse_step(payload), "STEP", words)


@pytest.mark.parametrize("parse, payload, words", [
    (codec.parse_hello, struct.pack("<BBH", 0, 1, 0), "HELLO"),
    (codec.parse_hello, struct.pack("<BBH", 2, 1, 0), "HELLO"),
    (codec.parse_hello, struct.pack("<BBH", 1, 1, 1), "reserved"),
    (codec.parse_hello, struct.pack("<BBH", 1, 1, 0) + b"x" * 65, "name"),
    (codec.parse_hello, struct.pack("<BBH", 1, 1, 0) + b"\xff", "UTF-8"),
    (codec.parse_hello_ack, struct.pack("<BBHIII", 1, 1, 0, 4096, MAX_ENCODED, 1), "reserved"),
    (codec.parse_hello_ack, struct.pack("<BBHIII", 0, 0, 0, 4096, MAX_ENCODED, 1), "version"),
    (codec.parse_hello_ack, struct.pack("<BBHIII", 1, 0, 0, 255, MAX_ENCODED, 1), "max_payload"),
    (codec.parse_hello_ack, struct.pack("<BBHIII", 1, 0, 0, MAX_PAYLOAD + 1, MAX_ENCODED, 1), "max_payload"),
    (codec.parse_hello_ack, struct.pack("<BBHIII", 1, 0, 0, 4096, 100, 1), "rx_buffer"),
    (codec.parse_hello_ack, struct.pack("<BBHIII", 1, 0, 0, 4096, MAX_ENCODED, 1) + b"[1]", "object"),
    (codec.parse_hello_ack, struct.pack("<BBHIII", 1, 0, 0, 4096, MAX_ENCODED, 1) + b" " * 4097, "4096"),
    (codec.parse_begin, struct.pack("<QI32s", 0, 0, bytes(32)), "total"),
    (codec.parse_begin, struct.pack("<QI32s", 0, MAX_BLOB_BYTES + 1, bytes(32)), "total"),
    (codec.parse_chunk, struct.pack("<I", 0), "data size"),
    (codec.parse_chunk, struct.pack("<I", MAX_BLOB_BYTES) + b"x", "offset"),
    (codec.parse_chunk, struct.pack("<I", 0) + bytes(MAX_PAYLOAD - 3), "data size"),
    (codec.parse_step_result, struct.pack("<IIQ", 1, 0, 0) + struct.pack("<II", 0, 1), "tick_ptr"),
    (codec.parse_step_result, struct.pack("<IIQ", 0, 0, 0) + struct.pack("<I", 0), "ticks"),
    (codec.parse_get_state, struct.pack("<II", 0, 0), "max_len"),
    (codec.parse_get_state, struct.pack("<II", 0, MAX_PAYLOAD - 7), "max_len"),
    (codec.parse_get_state, struct.pack("<II", MAX_BLOB_BYTES + 1, 1), "offset"),
    (codec.parse_state_chunk, struct.pack("<II", 0, 0), "total"),
    (codec.parse_state_chunk, struct.pack("<II", 4, 2) + b"abc", "offset"),
    (codec.parse_set_learning, b"\x02", "SET_LEARNING"),
    (codec.parse_json, b"[]", "object"),
    (codec.parse_json, b'{"a": NaN}', "JSON"),
    (codec.parse_json, b'{"a": 1', "JSON"),
    (codec.parse_json, b"\xc3", "UTF-8"),
    (codec.parse_json, b"[" * 50000, "JSON"),
    (codec.parse_error, struct.pack("<H", 0), "code"),
    (codec.parse_error, struct.pack("<H", 1) + b"x" * 1025, "1024"),
    (codec.parse_error, struct.pack("<H", 1) + b"\xff\xfe", "UTF-8"),
])
def test_parsers_refuse_bad_values(parse, payload, words):
    one_line_value_error(lambda: parse(payload), words)


@pytest.mark.parametrize("build, words", [
    (lambda: codec.hello_payload(0, 1, "h"), "min_version"),
    (lambda: codec.hello_payload(2, 1, "h"), "max_version"),
    (lambda: codec.hello_payload(1, 1, "é" * 33), "name"),
    (lambda: codec.hello_ack_payload(1, MAX_PAYLOAD + 1, MAX_ENCODED, 1, {}), "max_payload"),
    (lambda: codec.hello_ack_payload(1, MAX_PAYLOAD, MAX_ENCODED, 2**32, {}), "session"),
    (lambda: codec.hello_ack_payload(1, MAX_PAYLOAD, MAX_ENCODED, 1, {"x": "y" * 5000}), "4096"),
    (lambda: codec.hello_ack_payload(1, MAX_PAYLOAD, MAX_ENCODED, 1, [1]), "dict"),
    (lambda: codec.begin_payload(0, 0, bytes(32)), "total"),
    (lambda: codec.begin_payload(0, 1, bytes(31)), "digest"),
    (lambda: codec.begin_payload(2**64, 1, bytes(32)), "seed"),
    (lambda: codec.chunk_payload(0, b""), "data size"),
    (lambda: codec.chunk_payload(MAX_BLOB_BYTES, b"x"), "offset"),
    (lambda: codec.step_payload([0], [], 0.0), "ticks"),
    (lambda: codec.step_payload(np.zeros(MAX_TICKS + 2, np.int64), [], 0.0), "ticks"),
    (lambda: codec.step_payload(np.zeros(20000, np.int64), [], 0.0), "split"),
    (lambda: codec.step_payload([0, 1], [2**32], 0.0), "ids"),
    (lambda: codec.step_payload([0, 1], [-1], 0.0), "ids"),
    (lambda: codec.step_payload([0, 1], [1.5], 0.0), "ids"),
    (lambda: codec.step_payload([[0, 1]], [1], 0.0), "tick_ptr"),
    (lambda: codec.step_payload([0, 2], [1], 0.0), "tick_ptr"),
    (lambda: codec.step_payload([0, 1], [1], math.nan), "reward"),
    (lambda: codec.step_payload([0, 1], [1], 0.0, [math.inf]), "third"),
    (lambda: codec.step_result_payload([0, 1], [1], -1), "board_tick"),
    (lambda: codec.get_state_payload(0, 0), "max_len"),
    (lambda: codec.state_chunk_payload(2, 0, b"abc"), "offset"),
    (lambda: codec.json_payload({"a": math.nan}), "JSON"),
    (lambda: codec.json_payload([]), "dict"),
    (lambda: codec.error_payload(0, "x"), "code"),
])
def test_builders_refuse_bad_values(build, words):
    one_line_value_error(build, words)


# --- named-array blobs ------------------------------------------------------------------------------------------

array_names = st.text(min_size=1, max_size=30).filter(lambda s: len(s.encode()) <= 255) | st.sampled_from(
    ["network/weights", "emulator/v", "a/b/c/d"])


@st.composite
def arrays(draw):
    dtype = draw(st.sampled_from(DTYPES))
    shape = tuple(draw(st.lists(st.integers(0, 4), max_size=4)))
    size = math.prod(shape)
    if dtype == np.bool_:
        data = np.array(draw(st.lists(st.booleans(), min_size=size, max_size=size)), dtype=bool)
    else:
        raw = draw(st.binary(min_size=size * dtype.itemsize, max_size=size * dtype.itemsize))
        data = np.frombuffer(raw, dtype=dtype)
    order = draw(st.sampled_from(["<", ">"]))
    return data.astype(dtype.newbyteorder(order)).reshape(shape)


def assert_same_arrays(got: dict, want: dict) -> None:
    assert list(got) == list(want)
    for name, value in want.items():
        native = value.dtype.newbyteorder("=")
        assert got[name].dtype == native and got[name].shape == value.shape, name
        assert got[name].tobytes() == value.astype(native).tobytes(), name  # bit-exact, NaNs included


@SETTINGS
@given(st.dictionaries(array_names, arrays(), max_size=6))
def test_blob_round_trip_is_exact(named):
    blob = codec.pack_arrays(named)
    assert blob[:4] == b"NEAB"
    assert_same_arrays(codec.unpack_arrays(blob), named)


def test_blob_layout_is_the_documented_one():
    blob = codec.pack_arrays({"w/x": np.array([[1, 2, 3]], dtype=np.int16), "b": np.array(True)})
    assert blob == (b"NEAB" + struct.pack("<HHI", 1, 0, 2)
                    + struct.pack("<H", 3) + b"w/x" + bytes([2, 2]) + struct.pack("<II", 1, 3)
                    + struct.pack("<3h", 1, 2, 3) + bytes(2)
                    + struct.pack("<H", 1) + b"b" + bytes([0, 0]) + b"\x01" + bytes(7))
    assert codec.unpack_arrays(codec.pack_arrays({})) == {}


GOOD_BLOB = codec.pack_arrays({"a": np.arange(3, dtype=np.float32), "b/c": np.ones((2, 2), dtype=np.uint8)})


def blob_with(offset: int, data: bytes, base: bytes = GOOD_BLOB) -> bytes:
    return base[:offset] + data + base[offset + len(data):]


@pytest.mark.parametrize("blob, words", [
    (blob_with(0, b"NEAC"), "magic"),
    (blob_with(4, b"\x02\x00"), "version"),
    (blob_with(6, b"\x01\x00"), "reserved"),
    (blob_with(8, struct.pack("<I", 3)), "truncated"),
    (blob_with(12, struct.pack("<H", 0)), "name"),
    (blob_with(12 + 3, bytes([11])), "dtype code"),
    (blob_with(12 + 3, bytes([9, 5])), "ndim"),
    (blob_with(12 + 5, struct.pack("<I", 2**32 - 1)), "needs"),
    (blob_with(12 + 5 + 4 + 12, b"\x01"), "padding"),
    (GOOD_BLOB + bytes(8), "trailing"),
    (codec.pack_arrays({"x": np.array(1.0)}) + GOOD_BLOB[12:12 + 24], "trailing"),
    (blob_with(8, struct.pack("<I", 2), codec.pack_arrays({"x": np.array(1.0), "y": np.array(2.0)}))
     [:12] + 2 * codec.pack_arrays({"x": np.array(1.0)})[12:], "duplicate"),
    (codec.pack_arrays({"f": np.array([True])})[:-8] + b"\x02" + bytes(7), "bool"),
    (blob_with(12 + 2, b"\xff", codec.pack_arrays({"f": np.array([True])})), "UTF-8"),
])
def test_unpack_refuses_bad_blobs(blob, words):
    one_line_value_error(lambda: codec.unpack_arrays(blob), "unpack_arrays", words)


def test_unpack_refuses_every_truncation():
    for n in range(len(GOOD_BLOB)):
        one_line_value_error(lambda: codec.unpack_arrays(GOOD_BLOB[:n]), "unpack_arrays")


def test_unpack_refuses_dims_whose_size_overflows():
    head = b"NEAB" + struct.pack("<HHI", 1, 0, 1) + struct.pack("<H", 1) + b"x" + bytes([10, 4])
    one_line_value_error(lambda: codec.unpack_arrays(head + struct.pack("<4I", *[2**32 - 1] * 4)), "needs")


@SETTINGS
@given(st.binary(max_size=200))
def test_unpack_of_random_bytes_after_a_valid_header_raises_only_value_error(rest):
    try:
        codec.unpack_arrays(b"NEAB" + struct.pack("<HHI", 1, 0, 2) + rest)
    except ValueError as e:
        assert "\n" not in str(e)


@pytest.mark.parametrize("named, words", [
    ({"": np.zeros(1)}, "name"),
    ({"x" * 256: np.zeros(1)}, "name"),
    ({"c": np.zeros(2, dtype=np.complex128)}, "dtype"),
    ({"o": np.array([None])}, "dtype"),
    ({"s": np.array(["ab"])}, "dtype"),
    ({"d": np.zeros((1,) * 5)}, "dimensions"),
])
def test_pack_refuses_what_the_format_cannot_hold(named, words):
    one_line_value_error(lambda: codec.pack_arrays(named), "pack_arrays", words)


def test_a_state_blob_travels_in_chunks_and_verifies():
    """The SET_STATE transfer as a host runs it: BEGIN with the digest, in-order CHUNKs, reassembly."""
    state = {"network/weights": np.linspace(-1, 1, 5000), "emulator/tick": np.array([42], dtype=np.int64)}
    blob = codec.pack_arrays(state)
    seed, total, digest = codec.parse_begin(codec.begin_payload(0, len(blob), hashlib.sha256(blob).digest()))
    received = bytearray()
    for offset in range(0, total, 4096):
        got_offset, data = codec.parse_chunk(codec.chunk_payload(offset, blob[offset:offset + 4096]))
        assert got_offset == len(received)
        received += data
    assert hashlib.sha256(received).digest() == digest and seed == 0
    assert_same_arrays(codec.unpack_arrays(bytes(received)), state)


def test_json_payloads_are_standard_compact_utf8():
    payload = codec.json_payload({"n_input": 4, "dt_us": 1000, "name": "é"})
    assert json.loads(payload.decode("utf-8")) == {"n_input": 4, "dt_us": 1000, "name": "é"}
    assert b" " not in payload
