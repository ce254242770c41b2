"""The board's wire protocol, version 1 (hw/serial/PROTOCOL.md): frames, message payloads, named-array blobs.

Sans-IO: pure functions plus ``FrameDecoder``, a small state machine fed with whatever bytes a link delivered.
A frame on the wire is ``COBS(body) + b"\\x00"`` with body = 12-byte header + payload + CRC-32 (IEEE 802.3, as
``zlib.crc32``) of header and payload; every integer and float is little-endian. Each message has a builder
``xxx_payload(...) -> bytes`` and a parser ``parse_xxx(payload)``; parsers refuse a wrong length or an out-of-range
value with a ValueError of one line naming the message and the problem, and raise nothing else on any bytes.
"""
from __future__ import annotations

import enum
import json
import math
import operator
import struct
import time
import zlib
from dataclasses import dataclass

import numpy as np
from cobs import cobs

PROTOCOL_VERSION = 1
MAX_PAYLOAD = 65536
"""Largest payload (bytes) of any frame."""
HEADER = struct.Struct("<BBBBII")
"""version, type, flags, reserved (0), seq, payload length (bytes)."""
CRC = struct.Struct("<I")
MIN_BODY = HEADER.size + CRC.size
MAX_BODY = MIN_BODY + MAX_PAYLOAD
FLAG_RETRANSMIT = 1
MIN_BOARD_PAYLOAD = 256
"""A board's HELLO_ACK max_payload is at least this (bytes)."""
MAX_NAME_BYTES = 64
MAX_INFO_BYTES = 4096
MAX_ERROR_BYTES = 1024
MAX_BLOB_BYTES = 256 << 20
"""Largest core image or state blob (bytes) a LOAD or SET_STATE transfer announces."""
MAX_TICKS = 100_000
"""Most ticks in one STEP."""


def max_encoded_size(payload_len: int) -> int:
    """Bytes on the wire (COBS overhead and the delimiter included) of a frame with ``payload_len`` payload bytes,
    in the worst case over payload contents and over conforming COBS encoders."""
    body = MIN_BODY + payload_len
    return body + 1 + body // 254 + 1


MAX_ENCODED = max_encoded_size(MAX_PAYLOAD)
"""Largest valid encoded frame (bytes), delimiter included."""


class MsgType(enum.IntEnum):
    """A frame's ``type``: requests (host -> board) below 0x80, replies (board -> host) from 0x80."""

    HELLO = 0x01
    LOAD_BEGIN = 0x02
    LOAD_CHUNK = 0x03
    LOAD_END = 0x04
    STEP = 0x05
    GET_STATE = 0x06
    SET_STATE_BEGIN = 0x07
    SET_STATE_CHUNK = 0x08
    SET_STATE_END = 0x09
    SET_LEARNING = 0x0A
    STATS = 0x0B
    RESET = 0x0C
    ACK = 0x80
    HELLO_ACK = 0x81
    STEP_RESULT = 0x85
    STATE_CHUNK = 0x86
    STATS_REPLY = 0x8B
    ERROR = 0xFF


class ErrorCode(enum.IntEnum):
    """An ERROR reply's code (PROTOCOL.md, "Error codes")."""

    BAD_VERSION = 1
    MALFORMED = 2
    UNKNOWN_TYPE = 3
    NOT_LOADED = 4
    BAD_IMAGE = 5
    BAD_STATE = 6
    BAD_PAYLOAD = 7
    TOO_LARGE = 8
    OUT_OF_ORDER = 9
    INTERNAL = 10


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame: message ``type`` (MsgType value), ``seq`` (u32), ``payload``, ``flags`` (FLAG_RETRANSMIT),
    header ``version``."""

    type: int
    seq: int
    payload: bytes = b""
    flags: int = 0
    version: int = PROTOCOL_VERSION


class FrameError(ValueError):
    """A frame body that is not a valid frame; ``kind`` is "crc", "malformed" or "oversize"."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _uint(where: str, name: str, value, bits: int, low: int = 0, high: int | None = None) -> int:
    """``value`` as an int in low..high (default: the range of an unsigned ``bits``-bit field)."""
    number = operator.index(value)
    high = (1 << bits) - 1 if high is None else high
    if not low <= number <= high:
        raise ValueError(f"{where}: {name} {number} is out of range {low}..{high}")
    return number


def next_seq(seq: int) -> int:
    """The seq of the host's next new request after ``seq``: +1 modulo 2**32, skipping 0."""
    return (seq + 1) & 0xFFFFFFFF or 1


def payload_limit(max_payload: int, rx_buffer: int) -> int:
    """Largest payload (bytes) a host may send to a board that announced ``max_payload`` and ``rx_buffer``: at
    most ``max_payload``, and its frame's max_encoded_size at most ``rx_buffer``."""
    room = rx_buffer - 2  # the delimiter and COBS's first code byte
    body = room - room // 255
    if body + body // 254 > room:
        body -= 1
    return max(0, min(max_payload, MAX_PAYLOAD, body - MIN_BODY))


def encode_frame(frame: Frame) -> bytes:
    """``COBS(header + payload + CRC-32) + b"\\x00"``; ValueError on a payload over MAX_PAYLOAD or a header field
    out of range."""
    payload = bytes(frame.payload)
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"frame: payload of {len(payload)} bytes exceeds MAX_PAYLOAD ({MAX_PAYLOAD})")
    body = HEADER.pack(_uint("frame", "version", frame.version, 8), _uint("frame", "type", frame.type, 8),
                       _uint("frame", "flags", frame.flags, 8), 0, _uint("frame", "seq", frame.seq, 32),
                       len(payload)) + payload
    return cobs.encode(body + CRC.pack(zlib.crc32(body))) + b"\0"


def decode_body(body: bytes) -> Frame:
    """The frame in a COBS-decoded ``body``; FrameError "oversize" (longer than MAX_BODY), "crc" (CRC-32
    mismatch) or "malformed" (shorter than MIN_BODY, reserved byte not 0, length field not the payload size)."""
    n = len(body)
    if n < MIN_BODY:
        raise FrameError("malformed", f"frame: body of {n} bytes is shorter than the {MIN_BODY}-byte minimum")
    if n > MAX_BODY:
        raise FrameError("oversize", f"frame: body of {n} bytes exceeds the {MAX_BODY}-byte maximum")
    if zlib.crc32(memoryview(body)[:n - CRC.size]) != CRC.unpack_from(body, n - CRC.size)[0]:
        raise FrameError("crc", f"frame: CRC-32 mismatch over {n} bytes")
    version, kind, flags, reserved, seq, length = HEADER.unpack_from(body)
    if reserved:
        raise FrameError("malformed", f"frame: reserved header byte is {reserved}, must be 0")
    if length != n - MIN_BODY:
        raise FrameError("malformed", f"frame: length field says {length} payload bytes, body carries {n - MIN_BODY}")
    return Frame(kind, seq, body[HEADER.size:n - CRC.size], flags, version)


class FrameDecoder:
    """Frames out of a byte stream delivered in any pieces (see PROTOCOL.md, "Framing").

    ``feed(data)`` returns the complete valid frames in order. Public counters: ``frames`` (valid frames),
    ``crc_errors`` (segments that COBS-decoded but failed the CRC), ``resyncs`` (other non-empty segments that
    are not frames: COBS error, too short, malformed header, oversize; each counted once; consecutive zero
    bytes are not counted) and ``bytes_discarded`` (bytes of the segments counted as crc_errors or resyncs,
    delimiters excluded, plus a partial frame dropped by ``reset``). A partial frame that grows past
    MAX_ENCODED - 1 bytes is dropped (one resync) and bytes are discarded up to the next delimiter, so at most
    MAX_ENCODED - 1 bytes are ever buffered (``buffered``).
    """

    _MAX_SEGMENT = MAX_ENCODED - 1

    def __init__(self) -> None:
        self.frames = 0
        self.crc_errors = 0
        self.resyncs = 0
        self.bytes_discarded = 0
        self._partial = bytearray()
        self._skipping = False

    @property
    def buffered(self) -> int:
        """Bytes of a partial frame held until its delimiter arrives."""
        return len(self._partial)

    def reset(self) -> None:
        """Drop any partial frame (its bytes count as discarded); keep the counters."""
        self.bytes_discarded += len(self._partial)
        self._partial.clear()
        self._skipping = False

    def feed(self, data: bytes) -> list[Frame]:
        """Consume ``data`` (bytes or bytearray); the frames it completes, in order."""
        out: list[Frame] = []
        start = 0
        if self._skipping or self._partial:
            end = data.find(0)
            if end < 0:
                self._extend(data)
                return out
            self._extend(data[:end])
            if self._skipping:  # discarding an oversize segment (since earlier or just now): the delimiter ends it
                self._skipping = False
            else:
                self._segment(bytes(self._partial), out)
                self._partial.clear()
            start = end + 1
        segments = data[start:].split(b"\0")
        tail = segments.pop()
        for segment in segments:
            if segment:
                self._segment(segment, out)
        if tail:
            self._extend(tail)
        return out

    def _extend(self, data: bytes) -> None:
        """Append to the partial frame, or discard once it has outgrown MAX_ENCODED."""
        if self._skipping:
            self.bytes_discarded += len(data)
        elif len(self._partial) + len(data) > self._MAX_SEGMENT:
            self.resyncs += 1
            self.bytes_discarded += len(self._partial) + len(data)
            self._partial.clear()
            self._skipping = True
        else:
            self._partial += data

    def _segment(self, segment: bytes, out: list[Frame]) -> None:
        """Decode one non-empty segment between delimiters: a frame appended to ``out``, or a counted discard."""
        if len(segment) <= self._MAX_SEGMENT:
            try:
                out.append(decode_body(cobs.decode(segment)))
                self.frames += 1
                return
            except FrameError as e:  # "malformed" and "oversize" are resyncs, below
                if e.kind == "crc":
                    self.crc_errors += 1
                    self.bytes_discarded += len(segment)
                    return
            except cobs.DecodeError:
                pass
        self.resyncs += 1
        self.bytes_discarded += len(segment)


def decode_rate_mb_per_s(seconds: float = 1.0) -> float:
    """``FrameDecoder.feed`` throughput (MB/s, 10**6 bytes) over about 1 MB of STEP_RESULT frames of a few
    hundred bytes, fed in 4096-byte reads, measured for about ``seconds`` of wall time."""
    rng = np.random.default_rng(0)
    frames, size, seq = [], 0, 0
    while size < 1_000_000:
        n_ticks = int(rng.integers(10, 40))
        counts = rng.integers(0, 6, n_ticks)
        tick_ptr = np.concatenate(([0], np.cumsum(counts)))
        ids = rng.integers(0, 64, int(tick_ptr[-1]))
        seq = next_seq(seq)
        frames.append(encode_frame(Frame(MsgType.STEP_RESULT, seq, step_result_payload(tick_ptr, ids, seq * 1000))))
        size += len(frames[-1])
    stream = b"".join(frames)
    reads = [stream[i:i + 4096] for i in range(0, len(stream), 4096)]
    done, start = 0, time.perf_counter()
    while True:
        decoder = FrameDecoder()
        for piece in reads:
            decoder.feed(piece)
        if decoder.frames != len(frames):
            raise RuntimeError(f"decode_rate_mb_per_s: decoded {decoder.frames} of {len(frames)} frames")
        done += len(stream)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed / 1e6


# --- message payloads -----------------------------------------------------------------------------------------

_HELLO = struct.Struct("<BBH")
_HELLO_ACK = struct.Struct("<BBHIII")
_BEGIN = struct.Struct("<QI32s")
_CHUNK = struct.Struct("<I")
_STEP = struct.Struct("<IIdI")
_STEP_RESULT = struct.Struct("<IIQ")
_GET_STATE = struct.Struct("<II")
_STATE_CHUNK = struct.Struct("<II")
_SET_LEARNING = struct.Struct("<B")
_ERROR = struct.Struct("<H")


def _fixed(where: str, payload: bytes, layout: struct.Struct, exact: bool = True) -> tuple:
    """``layout`` unpacked from the front of ``payload``, whose length must be layout.size (or, unless ``exact``,
    at least that)."""
    n = len(payload)
    if n != layout.size and (exact or n < layout.size):
        want = f"{layout.size}" if exact else f"at least {layout.size}"
        raise ValueError(f"{where}: payload of {n} bytes, want {want}")
    return layout.unpack_from(payload)


def _text(where: str, name: str, data: bytes, limit: int) -> str:
    if len(data) > limit:
        raise ValueError(f"{where}: {name} of {len(data)} bytes exceeds {limit}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{where}: {name} is not valid UTF-8") from None


def _encoded_text(where: str, name: str, text: str, limit: int) -> bytes:
    data = text.encode("utf-8")
    if len(data) > limit:
        raise ValueError(f"{where}: {name} of {len(data)} bytes exceeds {limit}")
    return data


def _reject_constant(name: str) -> None:
    raise ValueError(f"non-standard JSON constant {name}")


def _json_object(where: str, data: bytes, limit: int) -> dict:
    """A JSON object from UTF-8 ``data``; {} for no bytes."""
    text = _text(where, "JSON", data, limit)
    if not text:
        return {}
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as e:
        raise ValueError(f"{where}: JSON does not parse ({str(e).splitlines()[0] if str(e) else type(e).__name__})") \
            from None
    if not isinstance(value, dict):
        raise ValueError(f"{where}: JSON is a {type(value).__name__}, want an object")
    return value


def _json_bytes(where: str, obj: dict, limit: int) -> bytes:
    if not isinstance(obj, dict):
        raise ValueError(f"{where}: want a dict for the JSON object, got {type(obj).__name__}")
    if not obj:
        return b""
    try:
        data = json.dumps(obj, separators=(",", ":"), allow_nan=False).encode("utf-8")
    except ValueError as e:
        raise ValueError(f"{where}: not standard JSON ({str(e).splitlines()[0]})") from None
    if len(data) > limit:
        raise ValueError(f"{where}: JSON of {len(data)} bytes exceeds {limit}")
    return data


def hello_payload(min_version: int, max_version: int, name: str) -> bytes:
    """HELLO (host -> board): the protocol versions the host speaks and its name (UTF-8, <= 64 bytes)."""
    low = _uint("HELLO", "min_version", min_version, 8, 1)
    high = _uint("HELLO", "max_version", max_version, 8, low)
    return _HELLO.pack(low, high, 0) + _encoded_text("HELLO", "host name", name, MAX_NAME_BYTES)


def parse_hello(payload: bytes) -> tuple[int, int, str]:
    """HELLO -> (min_version, max_version, host name)."""
    low, high, reserved = _fixed("HELLO", payload, _HELLO, exact=False)
    if reserved:
        raise ValueError(f"HELLO: reserved field is {reserved}, must be 0")
    if not 1 <= low <= high:
        raise ValueError(f"HELLO: version range {low}..{high} is empty or starts at 0")
    return low, high, _text("HELLO", "host name", payload[_HELLO.size:], MAX_NAME_BYTES)


def hello_ack_payload(version: int, max_payload: int, rx_buffer: int, session: int, info: dict) -> bytes:
    """HELLO_ACK: the chosen version, the largest payload and frame (bytes) the board takes, its session id and
    a JSON object (firmware, profile, limits...; <= 4096 bytes)."""
    fields = (_uint("HELLO_ACK", "version", version, 8, 1), 0, 0,
              _uint("HELLO_ACK", "max_payload", max_payload, 32, MIN_BOARD_PAYLOAD, MAX_PAYLOAD),
              _uint("HELLO_ACK", "rx_buffer", rx_buffer, 32, max_encoded_size(MIN_BOARD_PAYLOAD)),
              _uint("HELLO_ACK", "session", session, 32))
    return _HELLO_ACK.pack(*fields) + _json_bytes("HELLO_ACK", info, MAX_INFO_BYTES)


def parse_hello_ack(payload: bytes) -> tuple[int, int, int, int, dict]:
    """HELLO_ACK -> (version, max_payload, rx_buffer, session, info)."""
    version, reserved8, reserved16, max_payload, rx_buffer, session = _fixed("HELLO_ACK", payload, _HELLO_ACK,
                                                                            exact=False)
    if reserved8 or reserved16:
        raise ValueError("HELLO_ACK: reserved fields must be 0")
    _uint("HELLO_ACK", "version", version, 8, 1)
    _uint("HELLO_ACK", "max_payload", max_payload, 32, MIN_BOARD_PAYLOAD, MAX_PAYLOAD)
    _uint("HELLO_ACK", "rx_buffer", rx_buffer, 32, max_encoded_size(MIN_BOARD_PAYLOAD))
    return version, max_payload, rx_buffer, session, _json_object("HELLO_ACK", payload[_HELLO_ACK.size:],
                                                                  MAX_INFO_BYTES)


def begin_payload(seed: int, total: int, digest: bytes) -> bytes:
    """LOAD_BEGIN / SET_STATE_BEGIN: the network seed (0 for SET_STATE), the blob's size (bytes, 1..256 MiB)
    and its SHA-256 digest (32 bytes)."""
    if len(digest) != 32:
        raise ValueError(f"BEGIN: SHA-256 digest of {len(digest)} bytes, want 32")
    return _BEGIN.pack(_uint("BEGIN", "seed", seed, 64), _uint("BEGIN", "total", total, 32, 1, MAX_BLOB_BYTES),
                      bytes(digest))


def parse_begin(payload: bytes) -> tuple[int, int, bytes]:
    """LOAD_BEGIN / SET_STATE_BEGIN -> (seed, total bytes, SHA-256 digest)."""
    seed, total, digest = _fixed("BEGIN", payload, _BEGIN)
    _uint("BEGIN", "total", total, 32, 1, MAX_BLOB_BYTES)
    return seed, total, digest


def chunk_payload(offset: int, data: bytes) -> bytes:
    """LOAD_CHUNK / SET_STATE_CHUNK: ``data`` (1..MAX_PAYLOAD - 4 bytes) at byte ``offset`` of the blob."""
    _uint("CHUNK", "data size", len(data), 32, 1, MAX_PAYLOAD - _CHUNK.size)
    offset = _uint("CHUNK", "offset", offset, 32, 0, MAX_BLOB_BYTES - len(data))
    return _CHUNK.pack(offset) + bytes(data)


def parse_chunk(payload: bytes) -> tuple[int, bytes]:
    """LOAD_CHUNK / SET_STATE_CHUNK -> (offset, data)."""
    (offset,) = _fixed("CHUNK", payload, _CHUNK, exact=False)
    data = payload[_CHUNK.size:]
    _uint("CHUNK", "data size", len(data), 32, 1, MAX_PAYLOAD - _CHUNK.size)
    _uint("CHUNK", "offset", offset, 32, 0, MAX_BLOB_BYTES - len(data))
    return offset, bytes(data)


def _u32_array(where: str, name: str, values) -> np.ndarray:
    """``values`` as a 1-D array of u32 (little-endian), refusing non-integers and values out of range."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{where}: {name} must be 1-D, got shape {array.shape}")
    if array.size == 0:
        return np.zeros(0, dtype="<u4")
    if array.dtype.kind not in "iu":
        raise ValueError(f"{where}: {name} must hold integers, got dtype {array.dtype}")
    if int(array.min()) < 0 or int(array.max()) > 0xFFFFFFFF:
        raise ValueError(f"{where}: {name} has values outside 0..{0xFFFFFFFF}")
    return array.astype("<u4")


def _check_csr(where: str, tick_ptr: np.ndarray, n_spikes: int) -> None:
    n_ticks = len(tick_ptr) - 1
    if not 1 <= n_ticks <= MAX_TICKS:
        raise ValueError(f"{where}: {n_ticks} ticks, want 1..{MAX_TICKS}")
    if tick_ptr[0] != 0 or tick_ptr[-1] != n_spikes or np.any(np.diff(tick_ptr.astype(np.int64)) < 0):
        raise ValueError(f"{where}: tick_ptr must start at 0, never decrease and end at n_spikes ({n_spikes})")


def _csr_bytes(where: str, tick_ptr, ids) -> tuple[np.ndarray, np.ndarray]:
    ptr, spikes = _u32_array(where, "tick_ptr", tick_ptr), _u32_array(where, "ids", ids)
    _check_csr(where, ptr, len(spikes))
    return ptr, spikes


def _check_size(where: str, n: int) -> None:
    if n > MAX_PAYLOAD:
        raise ValueError(f"{where}: payload of {n} bytes exceeds MAX_PAYLOAD ({MAX_PAYLOAD}); split the block")


def step_payload(tick_ptr, ids, reward: float, third=None) -> bytes:
    """STEP: a block of ticks; tick t's input spikes are ``ids[tick_ptr[t]:tick_ptr[t + 1]]`` (input neuron
    ids), ``reward`` a finite float, ``third`` None or one finite third factor per readout neuron."""
    ptr, spikes = _csr_bytes("STEP", tick_ptr, ids)
    reward = float(reward)
    if not math.isfinite(reward):
        raise ValueError(f"STEP: reward {reward} is not finite")
    factors = np.zeros(0, dtype="<f8") if third is None else np.asarray(third, dtype="<f8")
    if factors.ndim != 1 or not np.all(np.isfinite(factors)):
        raise ValueError("STEP: third must be a 1-D array of finite floats")
    out = (_STEP.pack(len(ptr) - 1, len(spikes), reward, len(factors)) + ptr.tobytes() + spikes.tobytes()
           + factors.tobytes())
    _check_size("STEP", len(out))
    return out


def _read_csr(where: str, payload: bytes, at: int, n_ticks: int, n_spikes: int) -> tuple[np.ndarray, np.ndarray]:
    ptr = np.frombuffer(payload, dtype="<u4", count=n_ticks + 1, offset=at).astype(np.uint32)
    ids = np.frombuffer(payload, dtype="<u4", count=n_spikes, offset=at + 4 * (n_ticks + 1)).astype(np.uint32)
    _check_csr(where, ptr, n_spikes)
    return ptr, ids


def _check_csr_length(where: str, payload: bytes, head: int, n_ticks: int, n_spikes: int, tail: int) -> None:
    if not 1 <= n_ticks <= MAX_TICKS:
        raise ValueError(f"{where}: {n_ticks} ticks, want 1..{MAX_TICKS}")
    want = head + 4 * (n_ticks + 1) + 4 * n_spikes + tail
    if len(payload) != want:
        raise ValueError(f"{where}: payload of {len(payload)} bytes, its header says {want}")


def parse_step(payload: bytes) -> tuple[np.ndarray, np.ndarray, float, np.ndarray | None]:
    """STEP -> (tick_ptr uint32[n_ticks + 1], ids uint32[n_spikes], reward, third float64[n_third] or None)."""
    n_ticks, n_spikes, reward, n_third = _fixed("STEP", payload, _STEP, exact=False)
    _check_csr_length("STEP", payload, _STEP.size, n_ticks, n_spikes, 8 * n_third)
    if not math.isfinite(reward):
        raise ValueError(f"STEP: reward {reward} is not finite")
    ptr, ids = _read_csr("STEP", payload, _STEP.size, n_ticks, n_spikes)
    if not n_third:
        return ptr, ids, reward, None
    third = np.frombuffer(payload, dtype="<f8", count=n_third, offset=len(payload) - 8 * n_third).astype(np.float64)
    if not np.all(np.isfinite(third)):
        raise ValueError("STEP: third factors must be finite")
    return ptr, ids, reward, third


def step_result_payload(tick_ptr, ids, board_tick: int) -> bytes:
    """STEP_RESULT: the readout's spikes of the block (readout-local ids, CSR by tick as in STEP) and the
    board's tick counter after the block."""
    ptr, spikes = _csr_bytes("STEP_RESULT", tick_ptr, ids)
    out = (_STEP_RESULT.pack(len(ptr) - 1, len(spikes), _uint("STEP_RESULT", "board_tick", board_tick, 64))
           + ptr.tobytes() + spikes.tobytes())
    _check_size("STEP_RESULT", len(out))
    return out


def parse_step_result(payload: bytes) -> tuple[np.ndarray, np.ndarray, int]:
    """STEP_RESULT -> (tick_ptr uint32[n_ticks + 1], ids uint32[n_spikes], board_tick)."""
    n_ticks, n_spikes, board_tick = _fixed("STEP_RESULT", payload, _STEP_RESULT, exact=False)
    _check_csr_length("STEP_RESULT", payload, _STEP_RESULT.size, n_ticks, n_spikes, 0)
    ptr, ids = _read_csr("STEP_RESULT", payload, _STEP_RESULT.size, n_ticks, n_spikes)
    return ptr, ids, board_tick


def get_state_payload(offset: int, max_len: int) -> bytes:
    """GET_STATE: up to ``max_len`` (1..MAX_PAYLOAD - 8) bytes of the state blob from byte ``offset``."""
    return _GET_STATE.pack(_uint("GET_STATE", "offset", offset, 32, 0, MAX_BLOB_BYTES),
                          _uint("GET_STATE", "max_len", max_len, 32, 1, MAX_PAYLOAD - _STATE_CHUNK.size))


def parse_get_state(payload: bytes) -> tuple[int, int]:
    """GET_STATE -> (offset, max_len)."""
    offset, max_len = _fixed("GET_STATE", payload, _GET_STATE)
    _uint("GET_STATE", "offset", offset, 32, 0, MAX_BLOB_BYTES)
    _uint("GET_STATE", "max_len", max_len, 32, 1, MAX_PAYLOAD - _STATE_CHUNK.size)
    return offset, max_len


def state_chunk_payload(total: int, offset: int, data: bytes) -> bytes:
    """STATE_CHUNK: the snapshot's size ``total`` (bytes), and ``data`` from its byte ``offset``."""
    total = _uint("STATE_CHUNK", "total", total, 32, 1, MAX_BLOB_BYTES)
    _uint("STATE_CHUNK", "data size", len(data), 32, 0, MAX_PAYLOAD - _STATE_CHUNK.size)
    offset = _uint("STATE_CHUNK", "offset", offset, 32, 0, total - len(data))
    return _STATE_CHUNK.pack(total, offset) + bytes(data)


def parse_state_chunk(payload: bytes) -> tuple[int, int, bytes]:
    """STATE_CHUNK -> (total, offset, data)."""
    total, offset = _fixed("STATE_CHUNK", payload, _STATE_CHUNK, exact=False)
    data = payload[_STATE_CHUNK.size:]
    _uint("STATE_CHUNK", "total", total, 32, 1, MAX_BLOB_BYTES)
    _uint("STATE_CHUNK", "offset", offset, 32, 0, total - len(data))
    return total, offset, bytes(data)


def set_learning_payload(on: bool) -> bytes:
    """SET_LEARNING: 1 turns on-line learning on, 0 off."""
    return _SET_LEARNING.pack(1 if on else 0)


def parse_set_learning(payload: bytes) -> bool:
    """SET_LEARNING -> on."""
    (on,) = _fixed("SET_LEARNING", payload, _SET_LEARNING)
    return bool(_uint("SET_LEARNING", "value", on, 8, 0, 1))


def json_payload(obj: dict) -> bytes:
    """ACK / STATS_REPLY: a JSON object as compact UTF-8 (no bytes for an empty one); standard JSON only (no NaN
    or Infinity)."""
    return _json_bytes("JSON payload", obj, MAX_PAYLOAD)


def parse_json(payload: bytes) -> dict:
    """ACK / STATS_REPLY -> the JSON object ({} for an empty payload)."""
    return _json_object("JSON payload", payload, MAX_PAYLOAD)


def error_payload(code: int, message: str) -> bytes:
    """ERROR: an ErrorCode and a one-line UTF-8 message, cut to its first line and to 1024 bytes."""
    lines = message.splitlines()
    data = (lines[0] if lines else "").encode("utf-8")[:MAX_ERROR_BYTES]
    return _ERROR.pack(_uint("ERROR", "code", code, 16, 1)) + data.decode("utf-8", "ignore").encode("utf-8")


def parse_error(payload: bytes) -> tuple[int, str]:
    """ERROR -> (code, message); a code this version does not name is returned as it is."""
    (code,) = _fixed("ERROR", payload, _ERROR, exact=False)
    _uint("ERROR", "code", code, 16, 1)
    return code, _text("ERROR", "message", payload[_ERROR.size:], MAX_ERROR_BYTES)


# --- named-array blobs ------------------------------------------------------------------------------------------

BLOB_MAGIC = b"NEAB"
BLOB_VERSION = 1
BLOB_HEADER = struct.Struct("<4sHHI")
"""magic, format version, reserved (0), array count."""
ARRAY_HEADER = struct.Struct("<BB")
"""dtype code, ndim; after the u16 name length and the name."""
MAX_ARRAY_NAME = 255
MAX_NDIM = 4
DTYPES = tuple(np.dtype(name) for name in ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                                           "uint64", "float32", "float64"))
"""The dtype of each dtype code (its index)."""
_DTYPE_CODES = {dtype: code for code, dtype in enumerate(DTYPES)}


def pack_arrays(arrays: dict[str, np.ndarray]) -> bytes:
    """A named-array blob (PROTOCOL.md, "Named-array blob") of ``arrays``, in their order; ValueError naming an
    unsupported dtype, a name of 0 or over 255 UTF-8 bytes, or more than 4 dimensions."""
    parts = [BLOB_HEADER.pack(BLOB_MAGIC, BLOB_VERSION, 0, len(arrays))]
    for name, value in arrays.items():
        encoded = name.encode("utf-8")
        if not 1 <= len(encoded) <= MAX_ARRAY_NAME:
            raise ValueError(f"pack_arrays: name {name!r} is {len(encoded)} UTF-8 bytes, want 1..{MAX_ARRAY_NAME}")
        array = np.asarray(value)
        code = _DTYPE_CODES.get(array.dtype.newbyteorder("="))
        if code is None:
            raise ValueError(f"pack_arrays: array {name!r} has unsupported dtype {array.dtype}")
        if array.ndim > MAX_NDIM or any(d > 0xFFFFFFFF for d in array.shape):
            raise ValueError(f"pack_arrays: array {name!r} of shape {array.shape}: at most {MAX_NDIM} dimensions "
                             f"of < 2**32")
        data = np.ascontiguousarray(array, dtype=DTYPES[code].newbyteorder("<")).tobytes()
        parts += [struct.pack("<H", len(encoded)), encoded, ARRAY_HEADER.pack(code, array.ndim),
                  struct.pack(f"<{array.ndim}I", *array.shape), data, bytes(-len(data) % 8)]
    return b"".join(parts)


def unpack_arrays(blob: bytes) -> dict[str, np.ndarray]:
    """The arrays of a named-array blob, in order, as native-endian copies; ValueError (one line) on a wrong magic
    or version, truncation, an unknown dtype, a duplicate name, non-zero padding, a bool that is not 0 or 1, sizes
    past the blob's end or trailing bytes."""
    n = len(blob)
    if n < BLOB_HEADER.size:
        raise ValueError(f"unpack_arrays: {n} bytes, shorter than the {BLOB_HEADER.size}-byte header")
    magic, version, reserved, count = BLOB_HEADER.unpack_from(blob)
    if magic != BLOB_MAGIC:
        raise ValueError(f"unpack_arrays: magic {magic!r}, want {BLOB_MAGIC!r}")
    if version != BLOB_VERSION or reserved:
        raise ValueError(f"unpack_arrays: format version {version} reserved {reserved}, want {BLOB_VERSION} and 0")
    out: dict[str, np.ndarray] = {}
    pos = BLOB_HEADER.size
    for index in range(count):
        if pos + 2 > n:
            raise ValueError(f"unpack_arrays: truncated at array {index} of {count}")
        (name_len,) = struct.unpack_from("<H", blob, pos)
        end = pos + 2 + name_len + ARRAY_HEADER.size
        if not 1 <= name_len <= MAX_ARRAY_NAME or end > n:
            raise ValueError(f"unpack_arrays: array {index} has a name of {name_len} bytes (1..{MAX_ARRAY_NAME}) "
                             f"or is truncated")
        try:
            name = bytes(blob[pos + 2:pos + 2 + name_len]).decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(f"unpack_arrays: array {index}'s name is not valid UTF-8") from None
        if name in out:
            raise ValueError(f"unpack_arrays: duplicate array name {name!r}")
        code, ndim = ARRAY_HEADER.unpack_from(blob, end - ARRAY_HEADER.size)
        if code >= len(DTYPES) or ndim > MAX_NDIM or end + 4 * ndim > n:
            raise ValueError(f"unpack_arrays: array {name!r} has dtype code {code}, ndim {ndim} or is truncated")
        shape = struct.unpack_from(f"<{ndim}I", blob, end)
        pos = end + 4 * ndim
        size = math.prod(shape) * DTYPES[code].itemsize
        padded = size + -size % 8
        if padded > n - pos:
            raise ValueError(f"unpack_arrays: array {name!r} of shape {shape} needs {padded} bytes, {n - pos} left")
        data = bytes(blob[pos:pos + size])
        if any(blob[pos + size:pos + padded]):
            raise ValueError(f"unpack_arrays: array {name!r} has non-zero padding")
        if code == 0 and data.translate(None, b"\0\1"):
            raise ValueError(f"unpack_arrays: bool array {name!r} holds bytes other than 0 and 1")
        out[name] = np.frombuffer(data, dtype=DTYPES[code].newbyteorder("<")).astype(DTYPES[code]).reshape(shape)
        pos += padded
    if pos != n:
        raise ValueError(f"unpack_arrays: {n - pos} trailing bytes after {count} arrays")
    return out
