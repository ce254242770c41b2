"""``neuroedge board serve`` (the board emulator on a pseudo-terminal) and ``neuroedge hil`` (lockstep compare)."""
from __future__ import annotations

import json
import os
import signal
import sys
import threading
import tty
from pathlib import Path


def open_pty(link: str | None = None) -> tuple[int, int, str]:
    """A raw pseudo-terminal: (master fd, slave fd, slave path); ``link`` is (re)pointed at the path."""
    master, slave = os.openpty()
    tty.setraw(slave)
    tty.setraw(master)
    path = os.ttyname(slave)
    if link:
        tmp = Path(f"{link}.tmp{os.getpid()}")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(path)
        os.replace(tmp, link)
    return master, slave, path


def cmd_board_serve(args) -> int:
    """Serve the board emulator until SIGINT / SIGTERM; first stdout line names the device."""
    from hw.serial.board import BoardCore, FdLink, SerialLink, serve
    from hw.serial.faults import parse_faults

    faults = parse_faults(args.faults or "")
    core = BoardCore(profile=args.profile)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    if args.port:
        import serial

        try:
            port = serial.serial_for_url(args.port, baudrate=args.baud, timeout=0.1)
        except (serial.SerialException, OSError, ValueError) as e:
            raise ValueError(f"board serve --port {args.port}: {e}") from None
        link, where = SerialLink(port), args.port
    else:
        master, _slave, where = open_pty(args.link)
        link = FdLink(master)
    shown = f"{where} (linked from {args.link})" if args.link and not args.port else where
    print(f"board: serving on {shown}: profile {args.profile}, protocol 1"
          + (f", faults {args.faults} seed {args.seed}" if faults.any else ""), flush=True)
    counts = serve(link, core, faults, args.seed, stop.is_set)
    print(f"board: stopped: {json.dumps(counts, sort_keys=True)}", file=sys.stderr, flush=True)
    return 0


def cmd_hil(args, config) -> int:
    """Lockstep run; exit 1 with the first mismatch on one stderr line when the board differs."""
    from edge.hil import run_hil

    seed = config.run.seed if args.seed is None else args.seed
    result = run_hil(args.source, args.board, config, seed, args.seconds)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")
    if not result["identical"]:
        print(f"neuroedge hil: mismatch: {result['first_mismatch']}", file=sys.stderr)
        return 1
    return 0
