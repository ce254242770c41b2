"""The board emulator: the core emulator (hw.emulator) as firmware behind the wire protocol (PROTOCOL.md).

``BoardCore`` is the firmware's logic without I/O: one request frame in, one reply frame out (its seq the
request's), with the reply cache that makes a repeated request idempotent. ``serve`` runs it on a byte link
(a pseudo-terminal's master side, or any pyserial port), with the seeded faults of hw.serial.faults injected
into the replies. ``neuroedge board serve`` (edge.board_cli) opens the pty and prints its device path.
"""
from __future__ import annotations

import hashlib
import os
import select
import time
from dataclasses import asdict

import numpy as np

from hw.serial import codec
from hw.serial.codec import ErrorCode, Frame, MsgType
from hw.serial.faults import FaultInjector, FaultSpec
from snn.frames import SpikeFrames

FIRMWARE = "neuroedge-board-emulator"
MAX_IMAGE_BYTES = 256 << 20


def step_reply_bound(n_ticks: int, n_readout: int) -> int:
    """The largest STEP_RESULT payload (bytes) of a STEP of ``n_ticks``: its 16-byte head, the tick pointers and
    every readout neuron spiking every tick."""
    return 16 + 4 * (n_ticks + 1) + 4 * n_ticks * n_readout


class BoardError(Exception):
    """A request the board refuses: becomes an ERROR reply with ``code``."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code


class BoardCore:
    """The firmware's state machine over an emulator back end of ``profile`` (hw.emulator.profile)."""

    def __init__(self, profile: str = "loihi", max_payload: int = codec.MAX_PAYLOAD) -> None:
        self.profile = profile
        self.max_payload = max_payload
        """The largest payload (bytes) this board takes and sends, announced in HELLO_ACK."""
        self.ticks_stepped = 0
        """Ticks executed since the process started (across resets)."""
        self.furthest_s = 0.0
        """The furthest network time (s) reached since the process started: the fault clock (blocks re-run after
        a reconnect, below it, do not advance it)."""
        self.resets = 0
        self._boot()

    def _boot(self) -> None:
        self.session = int.from_bytes(os.urandom(4), "little")
        self.backend = None
        self.dt_s = 0.0
        self.n_input = self.n_readout = 0
        self._cache: tuple[int, int, Frame] | None = None
        self._transfer: dict | None = None
        self._state_blob: bytes | None = None
        self.reset_pending = False

    def reset(self) -> None:
        """Drop the network, its state and the reply cache; a new session (what a power cycle does)."""
        if self.backend is not None:
            self.backend.close()
        self.resets += 1
        self._boot()

    @property
    def sim_s(self) -> float:
        return self.furthest_s

    def handle(self, frame: Frame) -> Frame:
        """The reply to one request frame (never raises: a refusal is an ERROR reply)."""
        if self._cache is not None and frame.type != MsgType.HELLO and self._cache[:2] == (frame.seq, frame.type):
            return self._cache[2]
        try:
            if len(frame.payload) > self.max_payload:
                raise BoardError(ErrorCode.TOO_LARGE, f"{len(frame.payload)} payload bytes; this board takes at most "
                                                      f"{self.max_payload}")
            if frame.version != codec.PROTOCOL_VERSION:
                raise BoardError(ErrorCode.BAD_VERSION, f"frame version {frame.version}; this board speaks protocol "
                                                        f"{codec.PROTOCOL_VERSION}..{codec.PROTOCOL_VERSION}")
            reply_type, payload = self._execute(frame)
        except BoardError as e:
            reply_type, payload = MsgType.ERROR, codec.error_payload(e.code, str(e))
        except ValueError as e:
            reply_type, payload = MsgType.ERROR, codec.error_payload(ErrorCode.BAD_PAYLOAD, str(e).splitlines()[0])
        except Exception as e:  # the firmware never dies of a request; the host sees the reason
            reply_type, payload = MsgType.ERROR, codec.error_payload(ErrorCode.INTERNAL, f"{type(e).__name__}: {e}")
        reply = Frame(reply_type, frame.seq, payload)
        self._cache = (frame.seq, frame.type, reply)
        return reply

    def _loaded(self) -> None:
        if self.backend is None:
            raise BoardError(ErrorCode.NOT_LOADED, "no network loaded (after boot or reset: HELLO, then LOAD)")

    def _execute(self, frame: Frame) -> tuple[int, bytes]:
        kind, payload = frame.type, frame.payload
        if kind == MsgType.HELLO:
            low, high, _name = codec.parse_hello(payload)
            if not low <= codec.PROTOCOL_VERSION <= high:
                raise BoardError(ErrorCode.BAD_VERSION, f"host speaks protocol {low}..{high}; this board speaks "
                                                        f"{codec.PROTOCOL_VERSION}..{codec.PROTOCOL_VERSION}")
            return MsgType.HELLO_ACK, codec.hello_ack_payload(codec.PROTOCOL_VERSION, self.max_payload,
                                                              codec.max_encoded_size(self.max_payload), self.session,
                                                              self._info())
        if kind in (MsgType.LOAD_BEGIN, MsgType.SET_STATE_BEGIN):
            if kind == MsgType.SET_STATE_BEGIN:
                self._loaded()
            seed, total, digest = codec.parse_begin(payload)
            if total > MAX_IMAGE_BYTES:
                raise BoardError(ErrorCode.TOO_LARGE, f"{total} bytes; this board takes at most {MAX_IMAGE_BYTES}")
            self._transfer = {"kind": kind, "seed": seed, "total": total, "digest": digest, "data": bytearray()}
            return MsgType.ACK, b""
        if kind in (MsgType.LOAD_CHUNK, MsgType.SET_STATE_CHUNK):
            transfer = self._expect_transfer(kind - 1)
            offset, data = codec.parse_chunk(payload)
            if offset != len(transfer["data"]):
                raise BoardError(ErrorCode.OUT_OF_ORDER, f"chunk at offset {offset}, expected {len(transfer['data'])}")
            if offset + len(data) > transfer["total"]:
                raise BoardError(ErrorCode.TOO_LARGE, f"chunk ends at {offset + len(data)}, past the announced "
                                                      f"{transfer['total']} bytes")
            transfer["data"] += data
            return MsgType.ACK, b""
        if kind in (MsgType.LOAD_END, MsgType.SET_STATE_END):
            return MsgType.ACK, codec.json_payload(self._finish_transfer(self._expect_transfer(kind - 2)))
        if kind == MsgType.STATS:
            return MsgType.STATS_REPLY, codec.json_payload(self.stats())
        if kind == MsgType.RESET:
            self.reset_pending = True
            return MsgType.ACK, b""
        if kind not in (MsgType.STEP, MsgType.GET_STATE, MsgType.SET_LEARNING):
            raise BoardError(ErrorCode.UNKNOWN_TYPE, f"message type 0x{kind:02x} is not a request this board knows")
        self._loaded()
        if kind == MsgType.STEP:
            return MsgType.STEP_RESULT, self._step(payload)
        if kind == MsgType.SET_LEARNING:
            self.backend.set_learning(codec.parse_set_learning(payload))
            self._state_blob = None
            return MsgType.ACK, b""
        offset, max_len = codec.parse_get_state(payload)
        if offset == 0:
            self._state_blob = codec.pack_arrays(self.backend.state())
        elif self._state_blob is None:
            raise BoardError(ErrorCode.OUT_OF_ORDER, f"state offset {offset} without a snapshot (ask offset 0 first)")
        if offset > len(self._state_blob):
            raise BoardError(ErrorCode.BAD_PAYLOAD, f"state offset {offset} is past its {len(self._state_blob)} bytes")
        max_len = min(max_len, self.max_payload - 8)
        return MsgType.STATE_CHUNK, codec.state_chunk_payload(len(self._state_blob), offset,
                                                              self._state_blob[offset:offset + max_len])

    def _expect_transfer(self, begin: int) -> dict:
        transfer = self._transfer
        if transfer is None or transfer["kind"] != begin:
            raise BoardError(ErrorCode.OUT_OF_ORDER, f"no {MsgType(begin).name} before this chunk or end")
        return transfer

    def _finish_transfer(self, transfer: dict) -> dict:
        self._transfer = None
        data = bytes(transfer["data"])
        if len(data) != transfer["total"] or hashlib.sha256(data).digest() != transfer["digest"]:
            code = ErrorCode.BAD_IMAGE if transfer["kind"] == MsgType.LOAD_BEGIN else ErrorCode.BAD_STATE
            raise BoardError(code, f"received {len(data)} of {transfer['total']} bytes or their SHA-256 differs")
        if transfer["kind"] == MsgType.SET_STATE_BEGIN:
            try:
                self.backend.restore(codec.unpack_arrays(data))
            except ValueError as e:
                raise BoardError(ErrorCode.BAD_STATE, str(e).splitlines()[0]) from None
            self._state_blob = None
            return {}
        from hw.emulator.backend import EmulatorBackend

        backend = EmulatorBackend(profile=self.profile)
        try:
            meta = backend.load_image(data, transfer["seed"])
        except ValueError as e:
            raise BoardError(ErrorCode.BAD_IMAGE, str(e).splitlines()[0]) from None
        if self.backend is not None:
            self.backend.close()
        self.backend = backend
        self.dt_s = meta["dt_us"] * 1e-6
        self.n_input, self.n_readout = int(meta["n_input"]), int(backend.n_readout)
        self._state_blob = None
        return {"n_input": self.n_input, "n_readout": self.n_readout, "dt_us": int(meta["dt_us"]),
                "n_neurons": int(meta["n_neurons"])}

    def _step(self, payload: bytes) -> bytes:
        tick_ptr, ids, reward, third = codec.parse_step(payload)
        if len(ids) and int(ids.max()) >= self.n_input:
            raise BoardError(ErrorCode.BAD_PAYLOAD, f"input id {int(ids.max())} >= the network's {self.n_input} inputs")
        if third is not None and len(third) != self.n_readout:
            raise BoardError(ErrorCode.BAD_PAYLOAD, f"{len(third)} third-factor values, the readout has "
                                                    f"{self.n_readout} neurons")
        n_ticks = len(tick_ptr) - 1
        if step_reply_bound(n_ticks, self.n_readout) > self.max_payload:
            raise BoardError(ErrorCode.TOO_LARGE, f"{n_ticks} ticks of {self.n_readout} readout neurons may not fit "
                                                  f"one reply: send fewer ticks per STEP")
        out = self.backend.step(SpikeFrames(tick_ptr.astype(np.int64), ids.astype(np.int32)),
                                reward if third is None else third)
        self.ticks_stepped += n_ticks
        self.furthest_s = max(self.furthest_s, int(self.backend.tick[0]) * self.dt_s)
        self._state_blob = None
        return codec.step_result_payload(out.tick_ptr.astype(np.uint32), out.neuron_ids.astype(np.uint32),
                                         int(self.backend.tick[0]))

    def _info(self) -> dict:
        from hw.emulator.profile import PROFILES

        return {"firmware": FIRMWARE, "profile": self.profile, "limits": asdict(PROFILES[self.profile]),
                "protocol": [codec.PROTOCOL_VERSION, codec.PROTOCOL_VERSION]}

    def stats(self) -> dict:
        """The board's view: session, loaded or not, ticks, resets, the network's report."""
        out = {"firmware": FIRMWARE, "session": self.session, "loaded": self.backend is not None,
               "ticks_stepped": self.ticks_stepped, "resets": self.resets}
        if self.backend is not None:
            out["report"] = self.backend.report()
        return out


class FdLink:
    """A byte link over a file descriptor (a pseudo-terminal's master side)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def read(self, timeout_s: float) -> bytes:
        ready, _, _ = select.select([self.fd], [], [], timeout_s)
        if not ready:
            return b""
        try:
            return os.read(self.fd, 1 << 16)
        except OSError:  # EIO: no process has the other side open right now
            time.sleep(timeout_s)
            return b""

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                n = os.write(self.fd, view)
            except BlockingIOError:
                select.select([], [self.fd], [], 0.1)
                continue
            view = view[n:]


class SerialLink:
    """A byte link over a pyserial port (``--port URL``)."""

    def __init__(self, port) -> None:
        self.port = port

    def read(self, timeout_s: float) -> bytes:
        self.port.timeout = timeout_s
        first = self.port.read(1)
        return first + self.port.read(self.port.in_waiting) if first else b""

    def write(self, data: bytes) -> None:
        self.port.write(data)


def serve(link, core: BoardCore, faults: FaultSpec = FaultSpec(), seed: int = 0, stop=lambda: False,
          poll_s: float = 0.1) -> dict:
    """Answer requests on ``link`` until ``stop()`` is true; returns the injected fault counts."""
    decoder = codec.FrameDecoder()
    injector = FaultInjector(faults, seed)
    while not stop():
        data = link.read(poll_s)
        if not data:
            continue
        for frame in decoder.feed(data):
            reply = core.handle(frame)
            wire = codec.encode_frame(reply)
            if faults.any:
                if frame.type == MsgType.STEP and injector.reset_due(core.sim_s):
                    core.reset()
                    continue
                garbage = injector.garbage(core.sim_s)
                if garbage:
                    link.write(garbage)
                hold = injector.stall_s(core.sim_s) if frame.type == MsgType.STEP else 0.0
                if hold:
                    time.sleep(hold)
                wire = injector.mangle(wire)
                if wire is None:
                    continue
            link.write(wire)
            if core.reset_pending:
                core.reset()
    return {**injector.counts, "frames": decoder.frames, "crc_errors": decoder.crc_errors,
            "resyncs": decoder.resyncs}
