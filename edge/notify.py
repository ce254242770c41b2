"""systemd's service notification protocol (sd_notify) over ``$NOTIFY_SOCKET``: READY=1, WATCHDOG=1, STATUS=...,
STOPPING=1 as datagrams on a Unix socket (a leading ``@`` names an abstract socket). Without the variable every
call does nothing, so the daemon runs the same under systemd (``Type=notify``, ``WatchdogSec``) and outside."""
from __future__ import annotations

import os
import socket
import time


class Notifier:
    """Sends notifications when systemd asked for them; ``watchdog_due()`` paces WATCHDOG=1 at half of
    ``$WATCHDOG_USEC`` (systemd's advice)."""

    def __init__(self, environ: dict | None = None) -> None:
        env = os.environ if environ is None else environ
        path = env.get("NOTIFY_SOCKET", "")
        self.address = ("\0" + path[1:]) if path.startswith("@") else path
        usec = env.get("WATCHDOG_USEC", "")
        self.watchdog_s = int(usec) / 2e6 if usec.isdigit() and int(usec) > 0 else None
        self._next_watchdog = time.monotonic()
        self._sock: socket.socket | None = None
        self.failures = 0

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def send(self, *fields: str) -> None:
        """One datagram of newline-separated ``KEY=value`` fields; a failure is counted, never raised."""
        if not self.address:
            return
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._sock.sendto("\n".join(fields).encode(), self.address)
        except OSError:
            self.failures += 1

    def watchdog_due(self) -> bool:
        return self.watchdog_s is not None and time.monotonic() >= self._next_watchdog

    def watchdog(self) -> None:
        """WATCHDOG=1, then not again before half the watchdog interval has passed."""
        self.send("WATCHDOG=1")
        self._next_watchdog = time.monotonic() + (self.watchdog_s or 0.0)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
