"""The ZMQ bus, the only place that opens sockets: actions out on PUB, reward in on SUB, control on REP.

Schemas (ARCHITECTURE.md "Contracts"): ``[b"action", json]``, ``[b"reward", json]``, ``{"cmd": ...}``.

Reward (feedback) messages are ``[b"reward", {"value": <finite number>, "label": <str | int>}]`` with at least
one of the two keys; other keys are ignored. ``value`` is a scalar reward (event sources add it to the next
block's reward); ``label`` names what the last utterance was (audio sources teach it: a label name such as
``"3"``, or an integer, which means the label named by its decimal text). A label is a non-empty string of
at most MAX_LABEL_CHARS characters or an integer (not a bool). ``parse_reward``/``poll_rewards`` read the
value only (a message without one is malformed there); ``parse_feedback``/``poll_feedback`` read both.
A ``value`` must lie in [-MAX_ABS_REWARD, MAX_ABS_REWARD] (ten times the tracking task's own scale); one
outside is refused and counted, so no peer can drive learning to infinity.

CurveZMQ: with ``keys`` (a directory from ``neuroedge keys generate``, see edge.keys) every socket is a CURVE
server (encrypted) and a ZAP authenticator on the context admits only the client keys of its allow-list; an
unauthorised peer never completes the handshake, so it gets no reply and its rewards are never read. Without
keys the bus has no authentication, so addresses off loopback (any ``tcp://`` host but 127.0.0.0/8, ::1 and
localhost) are refused.
"""
from __future__ import annotations

import json
import logging
import math
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import zmq
from zmq.auth.thread import ThreadAuthenticator

from controllers.action import Action
from edge.keys import (AllowList, ClientKeys, ServerKeys, apply_client_keys, apply_server_keys,
                       load_server_keys)
from edge.logs import finite_for_json, json_default

log = logging.getLogger("neuroedge.bus")

ACTION_TOPIC = b"action"
REWARD_TOPIC = b"reward"
ACTION_KEYS = ("seq", "t_us", "wall_ns", "name", "values")
MAX_LABEL_CHARS = 64  # a longer label is malformed (keeps errors and status one short line)
MAX_DRAIN = 1024  # messages handled per poll call, so a flooding peer cannot stall the tick loop
MAX_ABS_REWARD = 10.0  # a reward value's bound (dimensionless); the tracking reward lies in [-1, 1]
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}\Z")


class BusError(Exception):
    """A socket could not be opened or a peer did not answer; one line that names the address."""


@dataclass(frozen=True)
class BusAddresses:
    """The ``[bus]`` table. ZMQ endpoints, all bound by the daemon: actions (PUB), reward (SUB), control (REP);
    ``keys`` a key directory (``neuroedge keys generate DIR``; relative to the working directory) that makes
    the bus CurveZMQ with an allow-list, "" = none (then only loopback addresses are allowed)."""

    actions: str = "tcp://127.0.0.1:5556"
    reward: str = "tcp://127.0.0.1:5557"
    control: str = "tcp://127.0.0.1:5558"
    keys: str = ""


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _dumps(obj: object) -> bytes:
    try:
        text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=json_default)
    except ValueError:  # a NaN or infinity somewhere: null instead, so a reply is always valid JSON
        text = json.dumps(finite_for_json(obj), separators=(",", ":"), ensure_ascii=False, allow_nan=False,
                          default=json_default)
    return text.encode("utf-8")


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` (a name or address, IPv6 with or without brackets) is this machine's loopback."""
    return host.startswith("127.") or host in ("localhost", "::1", "[::1]")


def check_loopback(address: str) -> None:
    """BusError (one line naming the address) for a ``tcp://`` address whose host is not loopback."""
    if not address.startswith("tcp://"):
        return
    host = address[len("tcp://"):].rsplit(":", 1)[0]
    if not is_loopback_host(host):
        raise BusError(f"{address}: binding off loopback is refused without keys (create them with `neuroedge keys "
                       "generate DIR` and set [bus] keys = \"DIR\", or bind 127.0.0.1 and use an SSH tunnel)")


def _loads_object(data: bytes, what: str) -> dict:
    try:
        obj = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError(f"{what}: not UTF-8") from None
    except (ValueError, RecursionError) as e:
        raise ValueError(f"{what}: invalid JSON ({_one_line(e)})") from None
    if not isinstance(obj, dict):
        raise ValueError(f"{what}: expected a JSON object, got {type(obj).__name__}")
    return obj


def _drain(sock: zmq.Socket, limit: int = MAX_DRAIN):
    """Yield pending multipart messages without blocking, at most ``limit`` per call. Asks the socket whether a
    message is waiting first: an idle socket costs one option read per block, not a raised zmq.Again."""
    for _ in range(limit):
        if not sock.getsockopt(zmq.EVENTS) & zmq.POLLIN:
            return
        try:
            yield sock.recv_multipart(zmq.NOBLOCK)
        except zmq.Again:
            return


@dataclass(frozen=True)
class Feedback:
    """One reward message: a scalar ``value``, a ``label`` (str or int as sent), or both; None when absent."""

    value: float | None = None
    label: str | int | None = None


def _reward_object(frames: list[bytes]) -> dict:
    if len(frames) != 2:
        raise ValueError(f"reward message: expected 2 frames [b'reward', json], got {len(frames)}")
    if frames[0] != REWARD_TOPIC:
        raise ValueError(f"reward message: topic {bytes(frames[0][:32])!r}, expected b'reward'")
    return _loads_object(frames[1], "reward message")


def _reward_value(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f'reward message: "value" is {type(value).__name__}, expected a number')
    try:
        value = float(value)
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):
        raise ValueError(f'reward message: "value" {value} is not finite')
    if abs(value) > MAX_ABS_REWARD:
        raise ValueError(f'reward message: "value" {value:g} outside [-{MAX_ABS_REWARD:g}, {MAX_ABS_REWARD:g}]')
    return value


def _reward_label(label: object) -> str | int:
    if isinstance(label, bool) or not isinstance(label, (str, int)):
        raise ValueError(f'reward message: "label" is {type(label).__name__}, expected a string or an integer')
    if isinstance(label, str) and not 0 < len(label) <= MAX_LABEL_CHARS:
        raise ValueError(f'reward message: "label" must have 1..{MAX_LABEL_CHARS} characters, got {len(label)}')
    if isinstance(label, int) and len(str(label)) > MAX_LABEL_CHARS:
        raise ValueError(f'reward message: "label" integer longer than {MAX_LABEL_CHARS} digits')
    return label


def parse_feedback(frames: list[bytes]) -> Feedback:
    """Decode ``[b"reward", b'{"value": <finite number>, "label": <str | int>}']`` (at least one key);
    raise ValueError with a one-line message."""
    msg = _reward_object(frames)
    if "value" not in msg and "label" not in msg:
        raise ValueError('reward message: expected "value" and/or "label"')
    value = _reward_value(msg["value"]) if "value" in msg else None
    label = _reward_label(msg["label"]) if "label" in msg else None
    return Feedback(value, label)


def parse_reward(frames: list[bytes]) -> float:
    """Decode ``[b"reward", b'{"value": <finite number>}']``; raise ValueError with a one-line message."""
    msg = _reward_object(frames)
    if "value" not in msg:
        raise ValueError('reward message: missing "value"')
    return _reward_value(msg["value"])


def parse_control(frame: bytes) -> tuple[str, dict]:
    """Decode ``{"cmd": "<name>", ...}`` or a plain command word into ``(cmd, request)``; raise ValueError."""
    try:
        text = frame.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise ValueError("control request: not UTF-8") from None
    if _WORD.match(text):
        return text, {"cmd": text}
    if not text.startswith("{"):
        raise ValueError('control request: expected {"cmd": "<name>", ...} or a command word')
    request = _loads_object(frame, "control request")
    cmd = request.get("cmd")
    if not isinstance(cmd, str) or not _WORD.match(cmd):
        raise ValueError('control request: "cmd" missing or not a command word')
    return cmd, request


def parse_action(frames: list[bytes]) -> dict:
    """Decode ``[b"action", json]`` as published by :meth:`Bus.publish`; raise ValueError."""
    if len(frames) != 2 or frames[0] != ACTION_TOPIC:
        raise ValueError(f"action message: expected 2 frames [b'action', json], got {len(frames)}")
    msg = _loads_object(frames[1], "action message")
    missing = [key for key in ACTION_KEYS if key not in msg]
    if missing:
        raise ValueError(f"action message: missing {', '.join(missing)}")
    return msg


class Bus:
    """Binds the daemon's sockets (all LINGER 0) and never blocks the tick loop.

    Counters: ``dropped`` (actions not sent), ``malformed`` (bad reward/control messages), ``last_error``.
    With ``addresses.keys`` the sockets are CURVE servers and a ZAP authenticator runs on ``context`` (one
    keyed Bus per context); ``allow_list.denied`` counts the clients it refused.
    """

    def __init__(self, addresses: BusAddresses, context: zmq.Context | None = None):
        self.addresses = addresses
        self.dropped = 0
        self.malformed = 0
        self.last_error: str | None = None
        self._sockets: list[zmq.Socket] = []
        self._auth: ThreadAuthenticator | None = None
        self.allow_list: AllowList | None = None
        ctx = context if context is not None else zmq.Context.instance()
        try:
            self._keys = _server_keys(addresses.keys)
            if self._keys is not None:
                self._start_authenticator(ctx, self._keys)
            self._actions = self._bind(ctx, zmq.PUB, addresses.actions)
            self._reward = self._bind(ctx, zmq.SUB, addresses.reward, subscribe=REWARD_TOPIC)
            self._control = self._bind(ctx, zmq.REP, addresses.control)
        except BaseException:
            self.close()
            raise

    def _start_authenticator(self, ctx: zmq.Context, keys: ServerKeys) -> None:
        """Run ZAP on ``ctx`` before any socket binds, so no client is ever let in unchecked."""
        self.allow_list = AllowList(keys.authorized)
        self._auth = ThreadAuthenticator(ctx, log=log)
        try:
            self._auth.start()
        except zmq.ZMQError as e:  # close() stops the half-started authenticator
            raise BusError(f"bus.keys: cannot start the ZAP authenticator ({_one_line(e.strerror)}; one keyed "
                           "Bus per ZMQ context)") from None
        self._auth.configure_curve_callback("*", self.allow_list)

    def _bind(self, ctx: zmq.Context, kind: int, address: str, subscribe: bytes | None = None) -> zmq.Socket:
        if self._keys is None:
            check_loopback(address)
        try:
            sock = ctx.socket(kind)
            self._sockets.append(sock)
            sock.setsockopt(zmq.LINGER, 0)
            if self._keys is not None:
                apply_server_keys(sock, self._keys)
            if subscribe is not None:
                sock.setsockopt(zmq.SUBSCRIBE, subscribe)
            sock.bind(address)
        except zmq.ZMQError as e:
            why = "address already in use" if e.errno == zmq.EADDRINUSE else _one_line(e.strerror)
            raise BusError(f"{address}: {why}") from None
        return sock

    def publish(self, action: Action) -> None:
        """Send ``[b"action", json]`` with ``wall_ns`` added; drop (and count) rather than block."""
        payload = _dumps({**action.to_dict(), "wall_ns": time.time_ns()})
        try:
            self._actions.send_multipart([ACTION_TOPIC, payload], flags=zmq.NOBLOCK)
        except zmq.Again:
            self.dropped += 1

    def poll_rewards(self, timeout_ms: int = 0) -> list[float]:
        """Return the pending reward values (up to MAX_DRAIN), waiting up to ``timeout_ms`` for the first.

        A message without ``"value"`` (a label alone, say) is counted as malformed here."""
        return self._poll_reward_socket(parse_reward, timeout_ms)

    def poll_feedback(self, timeout_ms: int = 0) -> list[Feedback]:
        """Return the pending feedback (value and/or label, up to MAX_DRAIN) in arrival order, waiting up to
        ``timeout_ms`` for the first; malformed messages are counted and skipped."""
        return self._poll_reward_socket(parse_feedback, timeout_ms)

    def _poll_reward_socket(self, parse: Callable[[list[bytes]], object], timeout_ms: int) -> list:
        items: list = []
        if timeout_ms > 0 and not self._reward.poll(timeout_ms):
            return items
        for frames in _drain(self._reward):
            try:
                items.append(parse(frames))
            except ValueError as e:
                self.note_malformed(str(e))
        return items

    def poll_control(self, handler: Callable[[str, dict], dict], timeout_ms: int = 0,
                     limit: int = MAX_DRAIN) -> None:
        """Answer pending control requests with ``handler(cmd, request)``, exactly one reply each, at most
        ``limit`` of them; the rest stay queued in the socket for the next call."""
        if timeout_ms > 0 and not self._control.poll(timeout_ms):
            return
        for frames in _drain(self._control, limit):
            self._serve(frames, handler)

    def _serve(self, frames: list[bytes], handler: Callable[[str, dict], dict]) -> None:
        try:
            if len(frames) != 1:
                raise ValueError(f"control request: expected 1 frame, got {len(frames)}")
            cmd, request = parse_control(frames[0])
        except ValueError as e:
            self.note_malformed(str(e))
            self._control.send(_dumps({"ok": False, "error": str(e)}))
            return
        try:
            reply = handler(cmd, request)
            if not isinstance(reply, dict):
                raise TypeError(f"control handler returned {type(reply).__name__}, expected dict")
            payload = _dumps(reply)
        except ValueError as e:  # the handler refused the request
            payload = _dumps({"ok": False, "error": _one_line(e)})
        except BaseException as e:  # a bug or an interrupt: still reply, so REP is not left stuck
            self._control.send(_dumps({"ok": False, "error": f"{cmd}: internal error ({type(e).__name__})"}))
            raise
        self._control.send(payload)

    def note_malformed(self, error: str) -> None:
        """Count a malformed message (also one the daemon refused after parsing, e.g. an unknown label)."""
        self.malformed += 1
        self.last_error = _one_line(error)
        if self.malformed & (self.malformed - 1) == 0:  # log the 1st, 2nd, 4th, 8th...: no log flood
            log.warning("%s (%d malformed so far)", error, self.malformed)

    def close(self) -> None:
        """Close every socket; safe to call twice."""
        for sock in self._sockets:
            sock.close(linger=0)
        self._sockets.clear()
        if self._auth is not None:
            self._auth.stop()
            self._auth = None

    def __enter__(self) -> Bus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _server_keys(directory: str) -> ServerKeys | None:
    """The daemon's keys from ``[bus] keys``, None when unset; BusError naming the key and the file."""
    if not directory:
        return None
    try:
        return load_server_keys(Path(directory))
    except ValueError as e:
        raise BusError(f"bus.keys: {e}") from None


def _client_socket(kind: int, keys: ClientKeys | None) -> zmq.Socket:
    sock = zmq.Context.instance().socket(kind)
    sock.setsockopt(zmq.LINGER, 0)
    if keys is not None:
        apply_client_keys(sock, keys)
    return sock


def control_request(address: str, cmd: str, timeout_ms: int = 2000, keys: ClientKeys | None = None,
                    **fields) -> dict:
    """Send ``{"cmd": cmd, **fields}`` to a control REP socket and return its JSON reply, or raise BusError.

    ``keys`` (edge.keys.load_client_keys) for a CurveZMQ daemon; a daemon that does not admit them never
    answers, which raises the same BusError as no daemon at all."""
    sock = _client_socket(zmq.REQ, keys)
    try:
        sock.connect(address)
        sock.send(_dumps({"cmd": cmd, **fields}))
        if not sock.poll(timeout_ms):
            raise BusError(f"{address}: no reply to {cmd!r} within {timeout_ms} ms")
        reply = sock.recv()
    except zmq.ZMQError as e:
        raise BusError(f"{address}: {_one_line(e.strerror)}") from None
    finally:
        sock.close(linger=0)
    try:
        return _loads_object(reply, f"{address}: reply to {cmd!r}")
    except ValueError as e:
        raise BusError(str(e)) from None


def listen(address: str, on_message: Callable[[dict], None], stop: Callable[[], bool], poll_ms: int = 200,
           keys: ClientKeys | None = None) -> None:
    """Call ``on_message(dict)`` for each action published at ``address`` until ``stop()``; skip malformed.
    ``keys`` as for :func:`control_request`."""
    sock = _client_socket(zmq.SUB, keys)
    try:
        sock.setsockopt(zmq.SUBSCRIBE, ACTION_TOPIC)
        sock.connect(address)
        while not stop():
            if not sock.poll(poll_ms):
                continue
            for frames in _drain(sock):
                try:
                    message = parse_action(frames)
                except ValueError as e:
                    log.warning("%s: %s", address, e)
                    continue
                on_message(message)
    except zmq.ZMQError as e:
        raise BusError(f"{address}: {_one_line(e.strerror)}") from None
    finally:
        sock.close(linger=0)
