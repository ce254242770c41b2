"""Live event input through dv-processing: iniVation USB cameras and DV network streams (``tcp://host:port``).

Polls without blocking for long, and reconnects with exponential backoff after a disconnect (logged).
"""
from __future__ import annotations

import ipaddress
import logging
import math
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import dv_processing as dv

from sensors.types import EventBatch, Geometry, SourceError, as_events, empty_events

__all__ = ["DvLiveSource", "ReconnectConfig", "parse_target"]

log = logging.getLogger("neuroedge.sensors")

_POLL_SLEEP_S = 0.001


@dataclass(frozen=True)
class ReconnectConfig:
    """Reconnection policy of a live source.

    Parameters
    ----------
    initial_delay_s : wait in seconds before the first retry after a failure or a disconnect (> 0).
    max_delay_s : ceiling in seconds of the retry delay (>= initial_delay_s).
    multiplier : factor applied to the delay after each failed attempt (>= 1).
    fail_fast : raise SourceError when the very first connection fails, instead of retrying.
    """

    initial_delay_s: float = 0.1
    max_delay_s: float = 5.0
    multiplier: float = 2.0
    fail_fast: bool = False

    def __post_init__(self) -> None:
        for key in ("initial_delay_s", "max_delay_s", "multiplier"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"ReconnectConfig.{key}: must be a finite number, got {value!r}")
        if self.initial_delay_s <= 0:
            raise ValueError(f"ReconnectConfig.initial_delay_s: must be > 0, got {self.initial_delay_s!r}")
        if self.max_delay_s < self.initial_delay_s:
            raise ValueError(
                f"ReconnectConfig.max_delay_s: must be >= initial_delay_s ({self.initial_delay_s}), got {self.max_delay_s!r}"
            )
        if self.multiplier < 1:
            raise ValueError(f"ReconnectConfig.multiplier: must be >= 1, got {self.multiplier!r}")
        if not isinstance(self.fail_fast, bool):
            raise ValueError(f"ReconnectConfig.fail_fast: must be a bool, got {self.fail_fast!r}")


def parse_target(url_or_name: str) -> tuple[str, str, int]:
    """Split a live target into ``(kind, host_or_camera_name, port)``; raise SourceError on a bad form.

    ``tcp://HOST:PORT`` (HOST an IP address or a name, IPv6 in brackets) → ``("network", HOST, PORT)``;
    ``camera://NAME``, a bare ``NAME`` (serial number or ``model_serial``), or ``""`` / ``camera`` /
    ``camera://`` for the first camera found → ``("camera", NAME, 0)``.
    """
    if not isinstance(url_or_name, str):
        raise SourceError(f"{url_or_name!r}: expected tcp://HOST:PORT or a camera name, got {type(url_or_name).__name__}")
    text = url_or_name.strip()
    if "://" not in text:
        return ("camera", "" if text == "camera" else text, 0)
    scheme = text.split("://", 1)[0].lower()
    if scheme == "camera":
        return ("camera", text.split("://", 1)[1], 0)
    if scheme != "tcp":
        raise SourceError(f"{url_or_name}: unsupported scheme {scheme!r} (expected tcp://HOST:PORT or camera://NAME)")
    parts = urlsplit(text)
    try:
        port = parts.port
    except ValueError:
        raise SourceError(f"{url_or_name}: port must be an integer in 1..65535 (expected tcp://HOST:PORT)") from None
    if not parts.hostname or port is None or port == 0 or parts.path not in ("", "/") or parts.query:
        raise SourceError(f"{url_or_name}: expected tcp://HOST:PORT with a host and a port in 1..65535")
    return ("network", parts.hostname, port)


class DvLiveSource:
    """A live iniVation camera or DV network stream whose ``read()`` never blocks for long.

    ``read()`` returns the next batch received, or an empty batch when nothing arrived within
    ``poll_timeout_s``; it never returns None (a live stream has no end). After a disconnect (camera
    unplugged, server restarted) it retries with exponential backoff and carries on; ``connected``,
    ``reconnects`` and ``status()`` report it. The geometry is the stream's declared event resolution,
    or ``geometry`` when given (then a stream of another resolution is refused).

    Parameters
    ----------
    url_or_name : ``tcp://HOST:PORT``, ``camera://NAME``, a camera name, or ``""`` for the first camera.
    reconnect : the backoff policy.
    geometry : the expected sensor size; required to start while the first connection fails.
    poll_timeout_s : longest time in seconds one ``read()`` waits for data (>= 0).
    """

    def __init__(
        self,
        url_or_name: str,
        reconnect: ReconnectConfig = ReconnectConfig(),
        geometry: Geometry | None = None,
        poll_timeout_s: float = 0.02,
    ) -> None:
        self._kind, self._address, self._port = parse_target(url_or_name)
        if not (isinstance(poll_timeout_s, (int, float)) and math.isfinite(poll_timeout_s) and poll_timeout_s >= 0):
            raise ValueError(f"DvLiveSource.poll_timeout_s: must be a finite number >= 0, got {poll_timeout_s!r}")
        self.url = url_or_name
        self.format = "dv-network" if self._kind == "network" else "dv-camera"
        self.reconnect = reconnect
        self.poll_timeout_s = float(poll_timeout_s)
        self.geometry = geometry
        self._reader = None
        self._closed = False
        self._connections = 0
        self._failed_attempts = 0
        self._delay_s = reconnect.initial_delay_s
        self._next_attempt = 0.0
        self._last_error = ""
        self._events = 0
        self._batches = 0
        self._empty = empty_events(0)
        self._empty.flags.writeable = False

        if not self._try_connect():
            if reconnect.fail_fast:
                raise SourceError(f"{self._label()}: {self._last_error}")
            if self.geometry is None:
                raise SourceError(
                    f"{self._label()}: {self._last_error}; give the sensor size (--geometry WxH) to start before the stream is available"
                )

    @property
    def connected(self) -> bool:
        return self._reader is not None

    @property
    def reconnects(self) -> int:
        """Successful connections after the first one."""
        return max(self._connections - 1, 0)

    def status(self) -> dict:
        """A JSON-ready snapshot for the daemon's status report."""
        retry_in_s = None
        if not self.connected and not self._closed:
            retry_in_s = round(max(self._next_attempt - time.monotonic(), 0.0), 3)
        return {
            "source": self.url,
            "format": self.format,
            "connected": self.connected,
            "reconnects": self.reconnects,
            "failed_attempts": self._failed_attempts,
            "retry_in_s": retry_in_s,
            "events": self._events,
            "batches": self._batches,
            "last_error": self._last_error,
        }

    def read(self) -> EventBatch:
        """The next batch of events (zero-copy from dv-processing), or an empty batch after ``poll_timeout_s``."""
        if self._closed:
            raise SourceError(f"{self._label()}: read after close()")
        deadline = time.monotonic() + self.poll_timeout_s
        while True:
            if self._reader is None and time.monotonic() >= self._next_attempt:
                self._try_connect()
            if self._reader is not None:
                batch = self._poll()
                if batch is not None:
                    return batch
            now = time.monotonic()
            if now >= deadline:
                return EventBatch(self._empty, self.geometry)
            if self._reader is not None:
                time.sleep(min(deadline - now, _POLL_SLEEP_S))
            else:
                time.sleep(max(min(deadline, self._next_attempt) - now, 0.0))

    def close(self) -> None:
        self._reader = None
        self._closed = True

    def _poll(self) -> EventBatch | None:
        """One non-blocking look at the reader; on a lost connection drop it and schedule a reconnect."""
        reader = self._reader
        try:
            running = reader.isRunning()
            store = reader.getNextEventBatch()
        except RuntimeError as e:
            self._disconnected(_first_clause(e))
            return None
        if store is not None and len(store) > 0:
            events = as_events(store.numpy())
            self._events += len(events)
            self._batches += 1
            return EventBatch(events, self.geometry)
        if not running:
            self._disconnected("stream ended")
        return None

    def _disconnected(self, reason: str) -> None:
        self._reader = None
        self._last_error = reason
        self._delay_s = self.reconnect.initial_delay_s
        self._next_attempt = time.monotonic() + self._delay_s
        log.warning("%s: disconnected (%s); reconnecting in %.3g s", self._label(), reason, self._delay_s)

    def _try_connect(self) -> bool:
        """One connection attempt; on failure log it and push the next attempt back (exponential backoff)."""
        try:
            reader = self._open()
        except _Unavailable as e:
            self._failed_attempts += 1
            self._last_error = str(e)
            if self._connections == 0 and self.reconnect.fail_fast:
                return False
            delay = self._delay_s
            self._next_attempt = time.monotonic() + delay
            self._delay_s = min(delay * self.reconnect.multiplier, self.reconnect.max_delay_s)
            log.warning("%s: connection failed (%s); retry %d in %.3g s", self._label(), e, self._failed_attempts, delay)
            return False
        resolution = reader.getEventResolution() if reader.isEventStreamAvailable() else None
        if resolution is None:
            raise SourceError(f"{self._label()}: the stream carries no events")
        found = Geometry(int(resolution[0]), int(resolution[1]))
        if self.geometry is None:
            self.geometry = found
        elif found != self.geometry:
            raise SourceError(
                f"{self._label()}: event resolution {found.width}x{found.height} differs from the expected "
                f"{self.geometry.width}x{self.geometry.height}"
            )
        self._reader = reader
        self._connections += 1
        self._failed_attempts = 0
        self._delay_s = self.reconnect.initial_delay_s
        self._last_error = ""
        log.info("%s: connected (%s, %dx%d)%s", self._label(), reader.getCameraName(), found.width, found.height,
                 f", reconnect {self.reconnects}" if self.reconnects else "")
        return True

    def _open(self):
        """A dv-processing reader for the target, or _Unavailable with a one-line reason."""
        if self._kind == "network":
            host = _resolve(self._address)
            try:
                return dv.io.NetworkReader(host, self._port)
            except RuntimeError as e:
                raise _Unavailable(f"cannot connect ({_first_clause(e)})") from None
        try:
            devices = dv.io.camera.discover()
        except RuntimeError as e:
            raise _Unavailable(f"no iniVation camera found (discovery failed: {_first_clause(e)})") from None
        if self._address:
            devices = [d for d in devices
                       if self._address == d.serialNumber or self._address.endswith("_" + d.serialNumber)]
        if not devices:
            found = "no iniVation camera found" if not self._address else f"no iniVation camera named {self._address!r} found"
            raise _Unavailable(found)
        try:
            return dv.io.camera.open(devices[0])
        except RuntimeError as e:
            raise _Unavailable(f"cannot open camera {devices[0].serialNumber} ({_first_clause(e)})") from None

    def _label(self) -> str:
        if self._kind == "network":
            return self.url
        return f"camera {self._address}" if self._address else "camera"


class _Unavailable(Exception):
    """A connection attempt that failed in a way worth retrying."""


def _resolve(host: str) -> str:
    """dv-processing takes IP addresses only: names are resolved here (IPv4 first)."""
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise _Unavailable(f"cannot resolve host {host!r} ({e.strerror})") from None
    infos.sort(key=lambda info: info[0] != socket.AF_INET)
    return infos[0][4][0]


def _first_clause(error: Exception) -> str:
    """dv-processing errors carry stack traces and boost locations; keep the first clause of the first line."""
    lines = str(error).strip().splitlines()
    first = lines[0] if lines else type(error).__name__
    if first.endswith(")") and "RuntimeError:" not in first and len(lines) > 1 and lines[1].startswith("RuntimeError:"):
        first = lines[1].split(":", 1)[1]
    return first.split(" [", 1)[0].strip()
