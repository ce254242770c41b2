"""The ``neuroedge`` command: run (daemon), replay, info, listen, bench.

With ``--json`` the last stdout line is one JSON object. Bad input exits with status 2 and one line on stderr.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from edge.bus import BusError
from edge.checkpoint import CheckpointError
from edge.config import ConfigError, load_config
from sensors.types import SourceError

EXPECTED_ERRORS = (ConfigError, SourceError, CheckpointError, BusError, ValueError, OSError)


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def cmd_run(args: argparse.Namespace) -> int:
    from edge.daemon import Daemon

    config = load_config(args.config)
    daemon = Daemon(config, resume=args.resume)
    if daemon.resumed_from is not None:
        print(f"resumed learned state from {daemon.resumed_from}", flush=True)
    addresses = config.bus
    print(f"neuroedge run: backend={config.backend} source={config.source.kind} actions on {addresses.actions}, "
          f"reward on {addresses.reward}, control on {addresses.control}", flush=True)
    return daemon.run(args.seconds)


def cmd_replay(args: argparse.Namespace) -> int:
    from edge.replay import replay

    config = load_config(args.config)
    speed = 1.0 if args.realtime else args.speed
    seed = config.run.seed if args.seed is None else args.seed
    summary = replay(args.path, config, seed, speed, Path(args.out) if args.out else None)
    if args.json:
        print(json.dumps(summary))
    else:
        for key, value in summary.items():
            print(f"{key}: {value}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from sensors.source import open_source

    source = open_source(args.path)
    n, t_first, t_last = 0, None, None
    while (batch := source.read()) is not None:
        if len(batch.events):
            n += len(batch.events)
            t_first = int(batch.events["t"][0]) if t_first is None else t_first
            t_last = int(batch.events["t"][-1])
    info = {"path": args.path, "format": source.format, "width": source.geometry.width,
            "height": source.geometry.height, "events": n, "t_first_us": t_first, "t_last_us": t_last}
    print(json.dumps(info) if args.json else "\n".join(f"{k}: {v}" for k, v in info.items()))
    return 0


def cmd_listen(args: argparse.Namespace) -> int:
    import time

    from edge.bus import listen

    deadline = None if args.seconds is None else time.monotonic() + args.seconds
    count = 0

    def show(message: dict) -> None:
        nonlocal count
        count += 1
        print(json.dumps(message), flush=True)

    def stop() -> bool:
        return (deadline is not None and time.monotonic() >= deadline) or (args.count and count >= args.count)

    try:
        listen(args.address, show, stop)
    except KeyboardInterrupt:
        pass
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from edge.bench.tracking import plot_tracking, tracking_benchmark

    config = load_config(args.config)
    result = tracking_benchmark(config, args.seeds, args.sim_seconds, args.final_seconds, args.jobs)
    if args.plot:
        plot_tracking(result, config, args.plot)
        print(f"bench tracking: plot written to {args.plot}", file=sys.stderr)
    summary = result["summary"]
    if args.json:
        print(json.dumps(summary))
    else:
        print(json.dumps(summary, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neuroedge", description="Neuromorphic controller: events -> spiking network "
                                     "learning on-line with reward-modulated STDP -> actions on ZMQ.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="run the daemon (default: built-in scene, numba back end, actions on tcp://127.0.0.1:5556)")
    p.add_argument("--config", help="TOML config file (default: built-in)")
    p.add_argument("--seconds", type=_positive, help="stop after this much sensor time (default: run until stopped)")
    p.add_argument("--resume", action="store_true", help="restore the learned state from the configured checkpoint")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("replay", help="replay a recording through the pipeline, open loop, deterministic for a seed")
    p.add_argument("path", help="recording (AEDAT 4.0)")
    p.add_argument("--config", help="TOML config file (default: built-in)")
    pace = p.add_mutually_exclusive_group()
    pace.add_argument("--speed", type=_positive, help="pace at X times real time (default: as fast as possible)")
    pace.add_argument("--realtime", action="store_true", help="pace at real time")
    p.add_argument("--seed", type=int, help="seed for the network (default: run.seed of the config)")
    p.add_argument("--out", help="directory for actions.jsonl and summary.json")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON line")
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("info", help="describe a recording: format, geometry, event count, time span")
    p.add_argument("path")
    p.add_argument("--json", action="store_true", help="print one JSON line")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("listen", help="print the actions published on the bus as they arrive")
    p.add_argument("--address", default="tcp://127.0.0.1:5556", help="actions address (default: %(default)s)")
    p.add_argument("--seconds", type=_positive, help="stop after this many seconds")
    p.add_argument("--count", type=int, default=0, help="stop after this many actions (0: no limit)")
    p.set_defaults(func=cmd_listen)

    p = sub.add_parser("bench", help="run a benchmark; the last stdout line is one JSON object")
    p.add_argument("name", choices=["tracking"], help="tracking: on-line learning of the built-in tracking task")
    p.add_argument("--config", help="TOML config file (default: built-in)")
    p.add_argument("--seeds", type=int, default=5, help="number of seeds (default: %(default)s)")
    p.add_argument("--sim-seconds", type=_positive, default=120.0, help="simulated seconds per run (default: %(default)s)")
    p.add_argument("--final-seconds", type=_positive, default=20.0,
                   help="final part of each run that is scored (default: %(default)s)")
    p.add_argument("--jobs", type=int, default=2, help="worker processes (default: %(default)s)")
    p.add_argument("--plot", help="write a PNG of on-target fraction over time and the learned weights")
    p.add_argument("--json", action="store_true", help="print the result as one JSON line")
    p.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except EXPECTED_ERRORS as e:
        print(f"neuroedge {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
