"""The ``serial`` back end: a network run on a board over a serial line, through the wire protocol (PROTOCOL.md).

``serial:///dev/ttyACM0?baud=921600`` or any pyserial URL as the path (``serial://socket://host:port``,
``serial://rfc2217://...``, ``serial://loop://``), opened with ``serial.serial_for_url``. Options (URL query):
``baud`` (bits/s, default 921600), ``timeout_ms`` (per request attempt, default 50), ``retries`` (retransmissions
before the line counts as failed, default 5), ``reconnect_s`` (how long to keep reconnecting, default 10),
``snapshot_every`` (blocks between copies of the board's state kept by the host, default 1000), ``profile``
(the core profile the image is compiled for, default loihi).

Surviving a bad line: a lost or corrupted reply is retransmitted (same sequence number: the board answers a
repeat from its cache, so a block never runs twice); when retransmissions are exhausted, the port fails, or
the board answers NOT_LOADED (it reset), the host reopens the port with exponential backoff, handshakes,
reloads the image, restores the last state it holds and re-runs the blocks stepped since that state (their
spikes must equal the ones already returned), then carries on: nothing learned before the fault is lost.
``report()`` counts retransmits, CRC errors, resyncs, reconnects and round-trip times.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import time
from dataclasses import replace

import numpy as np

from hw.serial import codec
from hw.serial.board import step_reply_bound
from hw.serial.codec import ErrorCode, Frame, MsgType
from snn.backend import PORTABLE_PREFIXES, BackendUnavailable, parse_reward
from snn.frames import SpikeFrames
from snn.spec import NetworkSpec, RewardSTDP

HOST_NAME = "neuroedge-host"
LOAD_TIMEOUT_S = 120.0
"""Patience with LOAD_END and SET_STATE_END: they build or restore the network on the board (a first load may
compile kernels); asked again at doubling intervals up to RETRY_MAX_S meanwhile."""
RETRY_MAX_S = 1.0
CHUNK_BYTES = 60_000
"""Transfer chunk size, at most: smaller when the board's HELLO_ACK announces a smaller payload or buffer."""
CHUNK_HEAD_BYTES = 8
"""A chunk payload's own head (offset; a STATE_CHUNK's total and offset) besides its data."""
MIN_CHUNK_BYTES = 512
BACKOFF_FIRST_S, BACKOFF_MAX_S = 0.05, 2.0
REPLY_TYPES = {MsgType.HELLO: MsgType.HELLO_ACK, MsgType.STEP: MsgType.STEP_RESULT,
               MsgType.GET_STATE: MsgType.STATE_CHUNK, MsgType.STATS: MsgType.STATS_REPLY}


class LinkDown(BackendUnavailable):
    """The line failed: no valid reply after every retransmission, or the port itself failed."""


class BoardReset(Exception):
    """The board answered NOT_LOADED: it lost its network (a reset or power cycle)."""


def _positive(owner: str, key: str, raw: str, kind=float, minimum: float = 0.0):
    try:
        value = kind(raw)
    except ValueError:
        raise ValueError(f"{owner}: option {key}={raw!r} is not a {kind.__name__}") from None
    if not np.isfinite(value) or value <= minimum:
        raise ValueError(f"{owner}: option {key}={raw!r} must be > {minimum:g}")
    return value


def image_bytes(spec: NetworkSpec, profile_name: str) -> bytes:
    """The core image of ``spec`` for ``profile_name`` (what ``neuroedge compile`` writes), as bytes; ValueError
    (one line) when the network does not fit."""
    from hw.emulator.core_image import fit_error, image_contents
    from hw.emulator.image import write_image
    from hw.emulator.mapping import map_network
    from hw.emulator.profile import PROFILES

    report = map_network(spec, PROFILES[profile_name])
    if not report.fits:
        raise ValueError(fit_error(report))
    arrays, meta = image_contents(spec, report)
    with tempfile.TemporaryDirectory(prefix="neuroedge-image-") as folder:
        path = os.path.join(folder, "image.npz")
        write_image(path, arrays, meta)
        with open(path, "rb") as f:
            return f.read()


class SerialBackend:
    """A board on a serial line behind the back-end seam (snn.backend.Backend)."""

    name = "serial"

    def __init__(self, path: str, baud: str = "921600", timeout_ms: str = "50", retries: str = "5",
                 reconnect_s: str = "10", snapshot_every: str = "1000", profile: str = "loihi") -> None:
        self.url = (f"serial://{path}?baud={baud}&profile={profile}&reconnect_s={reconnect_s}&retries={retries}"
                    f"&snapshot_every={snapshot_every}&timeout_ms={timeout_ms}")
        owner = f"serial://{path}"
        if not path:
            raise ValueError(f"{owner}: no port (write serial:///dev/ttyACM0 or serial://socket://host:port)")
        self.port_url = path
        self.owner = owner
        self.baud = _positive(owner, "baud", baud, int)
        self.timeout_s = _positive(owner, "timeout_ms", timeout_ms) / 1000.0
        self.retries = _positive(owner, "retries", retries, int, -1)
        self.reconnect_s = _positive(owner, "reconnect_s", reconnect_s)
        self.snapshot_every = _positive(owner, "snapshot_every", snapshot_every, int)
        self.profile = profile
        self._port = None
        self._decoder = codec.FrameDecoder()
        self._seq = 0
        self._image: bytes | None = None
        self._seed = 0
        self._snapshot: bytes | None = None
        self._log: list[tuple[bytes, bytes]] = []
        self._learning: bool | None = None
        self.n_readout = 0
        self.n_input = 0
        self.connected = False
        self._gave_up = False
        self.session = None
        self.counters = {"retransmits": 0, "timeouts": 0, "reconnects": 0}
        self._lost = {"crc_errors": 0, "resyncs": 0}
        self._round_trips_ms: list[float] = []
        self._ticks = 0
        self.bytes_sent = self.bytes_received = 0
        self._state_chunk = CHUNK_BYTES
        self._send_limit = self._reply_limit = codec.MAX_PAYLOAD

    # --- the line ------------------------------------------------------------------------------------------

    def _open(self) -> None:
        import serial

        try:
            self._port = serial.serial_for_url(self.port_url, baudrate=self.baud, timeout=self.timeout_s,
                                               write_timeout=5)
        except (serial.SerialException, OSError, ValueError) as e:
            raise LinkDown(f"cannot open the port: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
        self._decoder.reset()

    def _close_port(self) -> None:
        if self._port is not None:
            try:
                self._port.close()
            except Exception:  # a port that is already gone
                pass
        self._port = None
        self.connected = False

    def _write(self, data: bytes) -> None:
        import serial

        try:
            self._port.write(data)
            self.bytes_sent += len(data)
        except (serial.SerialException, OSError) as e:
            raise LinkDown(f"write failed: {e}") from None

    def _read(self) -> bytes:
        """What has arrived: waits up to the request timeout for a first byte (the port's read timeout is set
        once, at open: setting it reconfigures the port)."""
        import serial

        try:
            first = self._port.read(1)
            data = first + self._port.read(self._port.in_waiting) if first else b""
            self.bytes_received += len(data)
            return data
        except (serial.SerialException, OSError, TypeError) as e:
            raise LinkDown(f"read failed: {e}") from None

    def _pending(self) -> int:
        """Bytes waiting in the port (0 when it cannot say)."""
        try:
            return self._port.in_waiting
        except Exception:  # a port type without the count, or one that just failed: the next read tells
            return 0

    def _next_seq(self) -> int:
        self._seq = self._seq % 0xFFFFFFFF + 1
        return self._seq

    def _request(self, kind: MsgType, payload: bytes = b"", patience_s: float | None = None) -> Frame:
        """One transaction: send, wait for the reply of the same seq, retransmit on silence (every timeout_ms,
        retries times). ``patience_s`` is for requests the board takes long over (building a network): the
        waits then double, up to RETRY_MAX_S, until that much time has passed. LinkDown when every attempt
        failed, BoardReset when the board lost its network, ValueError (one line) on any other refusal."""
        if self._port is None:
            raise LinkDown("the port is closed")
        frame = Frame(kind, self._next_seq(), payload)
        first = time.perf_counter()
        wait_s, attempt = self.timeout_s, 0
        while True:
            start = time.perf_counter()
            self._write(b"\x00" + codec.encode_frame(frame))
            deadline = start + wait_s
            damaged = self._decoder.crc_errors
            while time.perf_counter() < deadline:
                for reply in self._decoder.feed(self._read()):
                    if reply.seq != frame.seq:
                        continue
                    if kind == MsgType.STEP and not attempt:
                        self._round_trips_ms.append((time.perf_counter() - start) * 1e3)
                    return self._checked(kind, reply)
                if self._decoder.crc_errors != damaged and not self._pending():
                    break  # a damaged frame and nothing after it: most likely the reply, so ask again now
            else:
                self.counters["timeouts"] += 1
            attempt += 1
            if (attempt > self.retries if patience_s is None else time.perf_counter() - first > patience_s):
                raise LinkDown(f"no valid reply to {kind.name} after {attempt} tries "
                               f"({(time.perf_counter() - first) * 1e3:.0f} ms)")
            if patience_s is not None:
                wait_s = min(wait_s * 2, RETRY_MAX_S)
            self.counters["retransmits"] += 1
            frame = replace(frame, flags=codec.FLAG_RETRANSMIT)

    def _checked(self, kind: MsgType, reply: Frame) -> Frame:
        if reply.type == MsgType.ERROR:
            code, message = codec.parse_error(reply.payload)
            if code in (ErrorCode.NOT_LOADED, ErrorCode.OUT_OF_ORDER):  # the board lost its network or transfer
                raise BoardReset(message)
            name = ErrorCode(code).name if code in ErrorCode._value2member_map_ else str(code)
            raise ValueError(f"{self.owner}: the board refused {kind.name}: {name}: {message}")
        if reply.type != REPLY_TYPES.get(kind, MsgType.ACK):
            raise LinkDown(f"{kind.name} answered by {reply.type:#x}")
        return reply

    # --- sessions -----------------------------------------------------------------------------------------

    def _handshake(self) -> None:
        reply = self._request(MsgType.HELLO, codec.hello_payload(codec.PROTOCOL_VERSION, codec.PROTOCOL_VERSION,
                                                                 HOST_NAME))
        version, max_payload, rx_buffer, session, info = codec.parse_hello_ack(reply.payload)
        if version != codec.PROTOCOL_VERSION:
            raise ValueError(f"{self.owner}: the board chose protocol {version}, this host speaks "
                             f"{codec.PROTOCOL_VERSION}")
        if info.get("profile", self.profile) != self.profile:
            raise ValueError(f"{self.owner}: the board's core profile is {info.get('profile')!r}, this back end "
                             f"compiles for {self.profile!r}")
        self.session = session
        self.board_info = info
        self._reply_limit = max_payload
        self._send_limit = codec.payload_limit(max_payload, rx_buffer)
        if self._send_limit < MIN_CHUNK_BYTES:
            raise ValueError(f"{self.owner}: the board takes payloads of at most {self._send_limit} bytes; this host "
                             f"needs {MIN_CHUNK_BYTES}")

    def _transfer(self, begin: MsgType, blob: bytes, seed: int) -> dict:
        self._request(begin, codec.begin_payload(seed, len(blob), hashlib.sha256(blob).digest()))
        size = min(CHUNK_BYTES, self._send_limit - CHUNK_HEAD_BYTES)
        for offset in range(0, len(blob), size):
            self._request(MsgType(begin + 1), codec.chunk_payload(offset, blob[offset:offset + size]))
        return codec.parse_json(self._request(MsgType(begin + 2), patience_s=LOAD_TIMEOUT_S).payload)

    def _fetch_state(self) -> bytes:
        """The board's state blob, in chunks; a chunk that does not get through (a long reply meets more bit
        errors) is asked again at half the size, down to MIN_CHUNK_BYTES; the size that got through is kept (a
        reconnect starts again from the largest the board's replies allow)."""
        blob, total = bytearray(), None
        while total is None or len(blob) < total:
            try:
                reply = self._request(MsgType.GET_STATE, codec.get_state_payload(len(blob), self._state_chunk))
            except LinkDown:
                if self._state_chunk <= MIN_CHUNK_BYTES or self._port is None:
                    raise
                self._state_chunk //= 2
                continue
            total, offset, data = codec.parse_state_chunk(reply.payload)
            if offset != len(blob) or (not data and len(blob) < total):
                raise LinkDown(f"state chunk at {offset}, expected {len(blob)}")
            blob += data
        return bytes(blob)

    def _bring_up(self) -> None:
        """Open, handshake, load the image; the state the host holds and the blocks logged since are the
        caller's."""
        self._close_port()
        self._open()
        self._handshake()
        self._state_chunk = min(CHUNK_BYTES, self._reply_limit - CHUNK_HEAD_BYTES)
        loaded = self._transfer(MsgType.LOAD_BEGIN, self._image, self._seed)
        self.n_input, self.n_readout = int(loaded["n_input"]), int(loaded["n_readout"])
        self.connected = True

    def _recover(self, why: Exception) -> None:
        """Reconnect with backoff until reconnect_s has passed (once it has, a single attempt per call: the
        daemon goes on without the board), restore the held state and re-run the logged blocks; LinkDown (one
        line) when the board does not come back."""
        self.counters["reconnects"] += 1
        self._lost["crc_errors"] += self._decoder.crc_errors
        self._lost["resyncs"] += self._decoder.resyncs
        self._decoder = codec.FrameDecoder()
        give_up = time.monotonic() + (0.0 if self._gave_up else self.reconnect_s)
        wait = BACKOFF_FIRST_S
        while True:
            try:
                self._bring_up()
                self._transfer(MsgType.SET_STATE_BEGIN, self._snapshot, 0)
                if self._learning is not None:
                    self._request(MsgType.SET_LEARNING, codec.set_learning_payload(self._learning))
                for payload, result in self._log:
                    if self._request(MsgType.STEP, payload).payload != result:
                        raise ValueError(f"{self.owner}: a block re-run after reconnecting gave other spikes than "
                                         f"before the fault (the board is not deterministic)")
                self._gave_up = False
                return
            except (LinkDown, BoardReset) as e:
                self._close_port()
                if time.monotonic() + wait > give_up:
                    self._gave_up = True
                    raise LinkDown(f"{self.owner}: board lost ({why}) and not back after {self.reconnect_s:g} s "
                                   f"({e})") from None
                time.sleep(wait)
                wait = min(wait * 2, BACKOFF_MAX_S)

    def _call(self, kind: MsgType, payload: bytes = b"") -> Frame:
        """A request that survives the line: on LinkDown or a board reset, recover and try again."""
        while True:
            try:
                return self._request(kind, payload)
            except (LinkDown, BoardReset) as e:
                self._recover(e)

    def _refresh_snapshot(self) -> bytes:
        while True:
            try:
                blob = self._fetch_state()
                break
            except (LinkDown, BoardReset) as e:
                self._recover(e)
        self._snapshot, self._log = blob, []
        return blob

    # --- the seam -----------------------------------------------------------------------------------------

    def load(self, spec: NetworkSpec, seed: int) -> None:
        """Compile ``spec`` to a core image, connect, load it (seeded) and keep the board's first state."""
        self._image, self._seed = image_bytes(spec, self.profile), int(seed)
        self.spec = spec
        self._has_reward_stdp = any(isinstance(p.plasticity, RewardSTDP) for p in spec.projections)
        self._ticks = 0
        try:
            self._bring_up()
            self._snapshot, self._log = self._fetch_state(), []
        except (LinkDown, BoardReset) as e:
            self._close_port()
            raise ValueError(f"{self.owner}: {e}") from None
        if spec.learning is False:
            self._learning = False

    def _loaded(self) -> None:
        if self._image is None:
            raise RuntimeError(f"{self.owner}: load() a network first")

    def step(self, inputs: SpikeFrames, reward) -> SpikeFrames:
        """Run one block on the board: one STEP, since a block is the learning epoch and cannot be split."""
        self._loaded()
        reward, third = parse_reward(reward, self.n_readout, self._has_reward_stdp, self.owner)
        payload = self._step_payload(inputs, reward, third)
        reply = self._call(MsgType.STEP, payload)
        tick_ptr, out_ids, _board_tick = codec.parse_step_result(reply.payload)
        self._log.append((payload, reply.payload))
        self._ticks += inputs.n_ticks
        if len(self._log) >= self.snapshot_every:
            self._refresh_snapshot()
        return SpikeFrames(tick_ptr.astype(np.int64), out_ids.astype(np.int32))

    def _step_payload(self, inputs: SpikeFrames, reward: float, third) -> bytes:
        """The block's STEP; ValueError (one line) when it, or the largest reply it can have, does not fit the
        board's frames (a smaller block_ticks does)."""
        payload = codec.step_payload(np.asarray(inputs.tick_ptr).astype(np.uint32),
                                     np.asarray(inputs.neuron_ids).astype(np.uint32), reward, third)
        reply_bound = step_reply_bound(inputs.n_ticks, self.n_readout)
        if len(payload) > self._send_limit or reply_bound > self._reply_limit:
            raise ValueError(f"{self.owner}: a block of {inputs.n_ticks} ticks ({inputs.n_spikes} input spikes, "
                             f"{self.n_readout} readout neurons) needs up to {max(len(payload), reply_bound)} bytes "
                             f"in one frame; this board's frames take {min(self._send_limit, self._reply_limit)}: "
                             f"use fewer ticks per block")
        return payload

    def set_learning(self, enabled: bool) -> None:
        self._loaded()
        self._call(MsgType.SET_LEARNING, codec.set_learning_payload(bool(enabled)))
        self._learning = bool(enabled)
        self._refresh_snapshot()  # the blocks logged so far ran under the old setting

    def state(self) -> dict[str, np.ndarray]:
        """The board's whole state (portable and private arrays), fetched now; also the host's new copy."""
        self._loaded()
        return codec.unpack_arrays(self._refresh_snapshot())

    def restore(self, state: dict[str, np.ndarray]) -> None:
        """Send ``state`` to the board (checked there, like any back end's restore); ValueError names the array."""
        self._loaded()
        blob = codec.pack_arrays(state)
        while True:
            try:
                self._transfer(MsgType.SET_STATE_BEGIN, blob, 0)
                break
            except (LinkDown, BoardReset) as e:
                self._recover(e)
        self._refresh_snapshot()

    def read(self, name: str) -> np.ndarray:
        state = self.state()
        if name not in state:
            raise KeyError(f"{self.owner}: no state array {name!r}")
        return state[name]

    def write(self, name: str, value: np.ndarray) -> None:
        """Set one portable array: the board restores its portable state with ``name`` replaced (its private
        arrays, absent from what is sent, keep their values)."""
        state = {key: array for key, array in self.state().items() if key.startswith(PORTABLE_PREFIXES)}
        if name not in state:
            raise KeyError(f"{self.owner}: no portable state array {name!r}")
        state[name] = value
        self.restore(state)

    def non_finite(self, names: list[str]) -> str | None:
        """None: the board's state is integer (a fixed-point core cannot hold NaN or infinity)."""
        return None

    def link_counters(self) -> dict:
        """Retransmits, CRC errors, resyncs, reconnects, timeouts and round-trip percentiles (ms) of STEPs."""
        rtt = np.asarray(self._round_trips_ms) if self._round_trips_ms else np.zeros(1)
        return {**self.counters, "crc_errors": self._lost["crc_errors"] + self._decoder.crc_errors,
                "resyncs": self._lost["resyncs"] + self._decoder.resyncs,
                "round_trip_ms_p50": round(float(np.percentile(rtt, 50)), 4),
                "round_trip_ms_p99": round(float(np.percentile(rtt, 99)), 4),
                "board": "CONNECTED" if self.connected else "DISCONNECTED"}

    def report(self) -> dict:
        """The board's report (its emulator's counts and energy) with this host's link counters."""
        board = {}
        if self._image is not None:
            try:
                board = codec.parse_json(self._call(MsgType.STATS).payload).get("report", {})
            except ValueError:
                board = {}
        return {**board, "backend": self.url, "ticks": self._ticks, **self.link_counters()}

    def close(self) -> None:
        self._close_port()
