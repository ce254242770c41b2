"""Untrusted recordings read in a watched child process, so no file's bytes can hang or crash neuroedge.

dv-processing's AEDAT4 reader can spin forever inside native code (holding the GIL) or crash on a file whose
compressed packets were damaged. ``open_recording`` opens such formats in a child process that streams
EventBatches back over a pipe; the parent waits at most ``stall_s`` for each batch. A child that stalls is
killed, one that dies is reported: either way one SourceError line naming the file, and the daemon or replay
reading it stays responsive and stoppable. Formats decoded by neuroedge's own bounded kernels are opened in
process, as before.
"""
from __future__ import annotations

import multiprocessing
from pathlib import Path

from sensors.source import detect_format, open_source
from sensors.types import EventBatch, Geometry, SourceError

WATCHED_FORMATS = ("aedat4",)
"""Formats read by native code that a corrupt file can hang or crash."""

STALL_S = 5.0
"""Longest wait for the child's next batch (s): far beyond any healthy read (a batch is ~10^4-10^6 events,
read at ~10^8 events/s)."""

START_S = 30.0
"""Longest wait for the child to start, import its reader and describe the file (s)."""


def _format_of(path: Path) -> str | None:
    """The recording's format by its header (sensors.source.detect_format), None when unreadable or unknown
    (``open_source`` then reports it in its own words)."""
    try:
        with open(path, "rb") as f:
            return detect_format(path, f.read(4096))
    except (OSError, SourceError):
        return None


def _serve(path: str, geometry: Geometry | None, conn) -> None:
    """The child: open the recording, send ("meta", format, geometry), then ("batch", events) per batch and
    ("end",) at its end, or ("error", message) when the reader refuses the file. A parent that has gone (it
    stopped early: a refused config, a signal) ends the child quietly."""
    try:
        try:
            source = open_source(path, geometry)
            conn.send(("meta", source.format, source.geometry))
            while (batch := source.read()) is not None:
                conn.send(("batch", batch.events))
            conn.send(("end",))
            source.close()
        except SourceError as e:
            conn.send(("error", str(e)))
        except (BrokenPipeError, ConnectionResetError):
            raise
        except Exception as e:  # a reader bug: still one line for the parent
            conn.send(("error", f"{path}: cannot read ({type(e).__name__}: {e})"))
    except (BrokenPipeError, ConnectionResetError):
        pass  # nobody is reading any more
    finally:
        conn.close()


class WatchedSource:
    """An EventSource whose reader runs in a child process (``format``, ``geometry``, ``read``, ``close``)."""

    def __init__(self, path: str | Path, geometry: Geometry | None = None, stall_s: float = STALL_S) -> None:
        self.path = str(path)
        self.stall_s = float(stall_s)
        context = multiprocessing.get_context("spawn")
        self._conn, child_conn = context.Pipe(duplex=False)
        self._process = context.Process(target=_serve, args=(self.path, geometry, child_conn), daemon=True,
                                        name="neuroedge-reader")
        self._process.start()
        child_conn.close()
        self._done = False
        message = self._receive(START_S)
        if message[0] != "meta":
            self.close()
            raise SourceError(f"{self.path}: the reader sent {message[0]!r} before the file's description")
        _, self.format, self.geometry = message

    def _receive(self, wait_s: float | None = None) -> tuple:
        wait_s = self.stall_s if wait_s is None else wait_s
        if not self._conn.poll(wait_s):
            self.close()
            raise SourceError(f"{self.path}: reading stalled for {wait_s:g} s (corrupt data?); stopped it")
        try:
            message = self._conn.recv()
        except (EOFError, OSError):
            self._process.join(5.0)
            code = self._process.exitcode
            self.close()
            why = f"signal {-code}" if code is not None and code < 0 else f"exit status {code}"
            raise SourceError(f"{self.path}: the reader died ({why}; corrupt data?)") from None
        if message[0] == "error":
            self.close()
            raise SourceError(message[1])
        return message

    def read(self) -> EventBatch | None:
        """The next batch, None at the end; SourceError when the child stalls, dies or refuses the file."""
        if self._done:
            return None
        message = self._receive()
        if message[0] == "end":
            self._done = True
            self.close()
            return None
        return EventBatch(message[1], self.geometry)

    def close(self) -> None:
        if self._process.is_alive():
            self._process.kill()
        self._process.join(5.0)
        self._conn.close()


def open_recording(target: str | Path, geometry: Geometry | None = None):
    """``open_source``, with the formats of WATCHED_FORMATS read in a watched child process."""
    text = str(target)
    if not text.startswith(("tcp://", "camera", "webcam:")) and _format_of(Path(text)) in WATCHED_FORMATS:
        return WatchedSource(text, geometry)
    return open_source(target, geometry)
