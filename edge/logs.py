"""The daemon's log lines, through ``logging``: plain text (the lines of earlier versions) or JSON lines for
journald and Loki.

Where lines go: records of the ``neuroedge.*`` loggers below WARNING on stdout, WARNING and above on stderr,
status lines on the daemon's log stream (stdout by default, formatted by the same formatter, see
``edge.daemon``). ``configure`` installs one :class:`LineHandler` on the ``neuroedge`` logger and on Python's
warnings; calling it again (a SIGHUP reload) replaces it.

- ``text``: the message alone, prefixed ``warning: `` / ``error: `` / ``critical: `` at those levels.
- ``json``: one object per line, ``{"ts": RFC 3339 UTC in ms, "level": "info" | "warning" | ..., "logger":
  "neuroedge.daemon", "event": "checkpoint_failed", "msg": the text line, ...fields}``; ``event`` and the
  fields come from ``extra=extra(event, {...})`` (``event`` is ``"log"`` when not given), a traceback goes in
  ``exc``. With ``capture_stderr`` every other line printed on stderr (a library's, the numerical guard's, the
  command's own error line) becomes a record of logger ``neuroedge.stderr`` (level ``error`` when it names an
  error, else ``warning``), so every line on both streams is one JSON object.

A stream whose reader has gone (``neuroedge run | head -1``) is replaced by /dev/null (stdout is detached),
so logging never stops the daemon.
"""
from __future__ import annotations

import io
import json
import logging
import math
import os
import sys
from datetime import datetime, timezone
from typing import TextIO

LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("debug", "info", "warning", "error")
ROOT_LOGGER = "neuroedge"
STDERR_LOGGER = "neuroedge.stderr"
_RESERVED = ("ts", "level", "logger", "event", "msg")


def detach_stdout() -> None:
    """stdout's reader has gone (``neuroedge run | head -1``): point stdout at /dev/null, so nothing written
    later (or flushed at exit) fails, and carry on."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def extra(event: str, fields: dict | None = None) -> dict:
    """``extra=`` for a logging call: the record's ``event`` name and the ``fields`` a JSON line carries."""
    return {"event": event, "fields": fields or {}}


def level_number(level: str) -> int:
    """``"warning"`` -> logging.WARNING; ValueError (one line) for a name not in LOG_LEVELS."""
    if level not in LOG_LEVELS:
        raise ValueError(f"log level {level!r}: expected one of {', '.join(LOG_LEVELS)}")
    return getattr(logging, level.upper())


def finite_for_json(obj: object) -> object:
    """``obj`` with every non-finite float replaced by None (JSON has no NaN), NumPy scalars as Python numbers;
    the bus's replies and the JSON log lines both go through it."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {key: finite_for_json(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite_for_json(value) for value in obj]
    if hasattr(obj, "item"):  # NumPy scalars
        return finite_for_json(obj.item())
    return obj


def json_default(obj: object) -> object:
    """json.dumps' fallback: NumPy scalars as Python numbers; TypeError for anything else."""
    if hasattr(obj, "item"):  # NumPy scalars
        return obj.item()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


class TextFormatter(logging.Formatter):
    """The message alone; ``warning: `` (``error: ``, ``critical: ``) before it at those levels."""

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.levelno >= logging.WARNING:
            text = f"{record.levelname.lower()}: {text}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (see the module docstring for its keys)."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(), "logger": record.name,
            "event": getattr(record, "event", "log"), "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            doc.update({key: value for key, value in fields.items() if key not in _RESERVED})
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        try:
            return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=json_default)
        except ValueError:  # a NaN or infinity among the fields
            return json.dumps(finite_for_json(doc), ensure_ascii=False, separators=(",", ":"), allow_nan=False,
                              default=json_default)


def make_formatter(log_format: str) -> logging.Formatter:
    """The formatter of ``log_format`` (``text`` or ``json``); ValueError (one line) otherwise."""
    if log_format == "json":
        return JsonFormatter()
    if log_format == "text":
        return TextFormatter()
    raise ValueError(f"log format {log_format!r}: expected one of {', '.join(LOG_FORMATS)}")


def write_line(stream: TextIO, line: str) -> TextIO:
    """Write ``line`` and a newline and flush; when the reader has gone, return /dev/null (stdout detached)
    to write to from now on, else ``stream``."""
    try:
        stream.write(line + "\n")
        stream.flush()
        return stream
    except (BrokenPipeError, ValueError, OSError):
        if stream is sys.stdout:
            detach_stdout()
        return open(os.devnull, "w")


class LineHandler(logging.Handler):
    """Writes each record as one line: below WARNING on ``out``, WARNING and above on ``err`` (None: the
    ``sys.stdout`` / ``sys.stderr`` of the moment)."""

    def __init__(self, formatter: logging.Formatter, out: TextIO | None = None, err: TextIO | None = None) -> None:
        super().__init__()
        self.setFormatter(formatter)
        self.out = out
        self.err = err

    def emit(self, record: logging.LogRecord) -> None:
        line = self.format(record)
        if record.levelno >= logging.WARNING:
            self.err = write_line(self.err or sys.stderr, line)
        else:
            self.out = write_line(self.out or sys.stdout, line)


class StderrToLog(io.TextIOBase):
    """A stand-in for ``sys.stderr``: each complete line written to it becomes one record of logger
    ``neuroedge.stderr`` (``error`` when it says so, else ``warning``, a leading ``warning: `` dropped)."""

    def __init__(self, original: TextIO) -> None:
        super().__init__()
        self.original = original
        self._partial = ""
        self._log = logging.getLogger(STDERR_LOGGER)

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._partial += text
        *lines, self._partial = self._partial.split("\n")
        for line in lines:
            self._emit(line)
        return len(text)

    def flush(self) -> None:
        if self._partial:
            line, self._partial = self._partial, ""
            self._emit(line)

    def fileno(self) -> int:
        return self.original.fileno()

    def _emit(self, line: str) -> None:
        if not line.strip():
            return
        lowered = line.lower()
        if lowered.startswith("warning: "):
            self._log.warning("%s", line[len("warning: "):], extra=extra("stderr"))
        elif lowered.startswith(("error", "traceback")) or ": error:" in lowered:
            self._log.error("%s", line, extra=extra("stderr"))
        else:
            self._log.warning("%s", line, extra=extra("stderr"))


class _Installed:
    """What ``configure`` installed: the handler, whether stderr capture was asked for, and the original stderr
    while it is captured."""

    handler: LineHandler | None = None
    capture_stderr = False
    original_stderr: TextIO | None = None


def configure(log_format: str = "text", level: str = "info", capture_stderr: bool = False) -> logging.Formatter:
    """Send the ``neuroedge.*`` loggers and Python's warnings through one LineHandler in ``log_format`` at
    ``level``, replacing an earlier ``configure``; with ``capture_stderr`` in ``json`` format, other lines on
    stderr become records too (see :class:`StderrToLog`). Returns the formatter (the daemon formats its status
    lines with it). ValueError (one line) for an unknown format or level."""
    formatter = make_formatter(log_format)
    number = level_number(level)
    if _Installed.original_stderr is not None:  # undo an earlier capture before deciding again
        sys.stderr = _Installed.original_stderr
        _Installed.original_stderr = None
    capture = capture_stderr and log_format == "json"
    handler = LineHandler(formatter, err=sys.stderr if capture else None)
    warnings_logger = logging.getLogger("py.warnings")
    root = logging.getLogger(ROOT_LOGGER)
    for logger in (root, warnings_logger):
        if _Installed.handler is not None:
            logger.removeHandler(_Installed.handler)
        logger.addHandler(handler)
    root.setLevel(number)
    warnings_logger.propagate = False
    logging.captureWarnings(True)
    _Installed.handler = handler
    _Installed.capture_stderr = capture_stderr
    if capture:
        _Installed.original_stderr = sys.stderr
        sys.stderr = StderrToLog(sys.stderr)
    return formatter


def reconfigure(log_format: str, level: str) -> logging.Formatter:
    """``configure`` again with a new format and level, keeping whether stderr is captured (a SIGHUP reload)."""
    return configure(log_format, level, capture_stderr=_Installed.capture_stderr)
