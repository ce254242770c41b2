"""The ``neuroedge`` command: run (daemon), replay, info, listen, bench, classify, audio, map, compile.

With ``--json`` the last stdout line is one JSON object. Bad input exits with status 2 and one line on stderr.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from edge.bus import BusError
from edge.checkpoint import CheckpointError
from edge.config import ConfigError, load_config
from edge.logs import LOG_FORMATS, LOG_LEVELS
from sensors.types import SourceError

EXPECTED_ERRORS = (ConfigError, SourceError, CheckpointError, BusError, ValueError, OSError)


ENCODER_DEFAULTS = {"rate": {"max_rate_hz": 1000.0}, "delta": {"threshold": 0.05},
                    "sigma_delta": {"threshold": 0.05}}
"""bench fsdd --encoder: parameters that suit the compressed envelope (about 0-8, times the gain 0.25)."""


BACKEND_HELP = ("back end URL (default: [backend] url of the config, else 'numba'): 'numba' (float64 state), "
                "'numba?dtype=float32'")


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _backend_url(args: argparse.Namespace, default: str = "numba") -> str:
    """The --backend URL, validated (ValueError, one line naming it), or ``default``."""
    from edge.backends import check_backend_url

    url = getattr(args, "backend", None) or default
    check_backend_url(url)
    return url


def _config(args: argparse.Namespace):
    """The config file's values, with --network and --backend applied."""
    from dataclasses import replace

    from edge.config import BackendConfig

    config = load_config(getattr(args, "config", None))
    if getattr(args, "network", None):
        config = replace(config, network_file=args.network)
    if getattr(args, "backend", None):
        config = replace(config, backend=BackendConfig(url=_backend_url(args)))
    return config


def _run_config(args: argparse.Namespace):
    """The run's config: the file's values with --network, --backend, --log-format and --log-level applied."""
    from dataclasses import replace

    config = _config(args)
    log = {key: value for key, value in (("format", args.log_format), ("level", args.log_level)) if value}
    return replace(config, log=replace(config.log, **log)) if log else config


def cmd_run(args: argparse.Namespace) -> int:
    """The daemon. Its lines go through edge.logs (stdout: startup and status lines; stderr: warnings); a
    reader of stdout that goes away (``run | head -1``) does not stop it. SIGHUP re-reads ``--config``."""
    import logging

    from edge.daemon import Daemon
    from edge.logs import configure, extra

    configure(args.log_format or "text", args.log_level or "info", capture_stderr=True)  # errors of the config too
    config = _run_config(args)
    configure(config.log.format, config.log.level, capture_stderr=True)
    daemon = Daemon(config, resume=args.resume, reload=(lambda: _run_config(args)) if args.config else None)
    log = logging.getLogger("neuroedge.daemon")
    if daemon.resumed_from is not None:
        log.info("resumed learned state from %s", daemon.resumed_from,
                 extra=extra("resumed", {"path": str(daemon.resumed_from)}))
    addresses = config.bus
    engine = ("hearing " if config.source.kind in ("audio", "microphone") else "") + f"backend={config.backend.url}"
    log.info("neuroedge run: %s source=%s actions on %s, reward on %s, control on %s", engine, config.source.kind,
             addresses.actions, addresses.reward, addresses.control,
             extra=extra("started", {"backend": config.backend.url, "source": config.source.kind,
                                     "actions": addresses.actions, "reward": addresses.reward,
                                     "control": addresses.control}))
    return daemon.run(args.seconds)


def cmd_soak(args: argparse.Namespace) -> int:
    from edge.soak import soak

    _emit(soak(args.hours, args.seed, args.checkpoint_s), args.json)
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from edge.config import RunConfig
    from edge.replay import replay, replay_audio, replay_speed
    from sensors.audio.sources import is_audio_path

    if is_audio_path(args.path):
        config = _config(args)
        run = load_config(args.config).run if args.config else RunConfig()
        speed = replay_speed(args.speed, args.realtime, args.config, run)
        summary = replay_audio(args.path, args.model, speed, Path(args.out) if args.out else None,
                               backend_url=config.backend.url)
        _emit(summary, args.json)
        return 0
    config = _config(args)
    speed = replay_speed(args.speed, args.realtime, args.config, config.run)
    seed = config.run.seed if args.seed is None else args.seed
    summary = replay(args.path, config, seed, speed, Path(args.out) if args.out else None, geometry=_geometry(args),
                     strict=args.strict)
    if args.json:
        print(json.dumps(summary))
    else:
        for key, value in summary.items():
            print(f"{key}: {value}")
    return 0


def _geometry(args: argparse.Namespace):
    from sensors.source import parse_geometry

    return parse_geometry(args.geometry) if getattr(args, "geometry", None) else None


def _emit(result: dict, as_json: bool) -> None:
    print(json.dumps(result) if as_json else "\n".join(f"{k}: {v}" for k, v in result.items()))


def cmd_info(args: argparse.Namespace) -> int:
    from edge.tools import describe, describe_audio
    from sensors.audio.sources import is_audio_path

    _emit(describe_audio(args.path) if is_audio_path(args.path) else describe(args.path, _geometry(args), args.strict),
          args.json)
    return 0


def cmd_convert(args: argparse.Namespace) -> int:
    from edge.tools import convert

    _emit(convert(args.input, args.output, _geometry(args), args.strict), args.json)
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    from edge.tools import render

    _emit(render(args.path, args.output, args.at, args.window, args.fps, args.scale, _geometry(args)), args.json)
    return 0


def cmd_listen(args: argparse.Namespace) -> int:
    import time

    from edge.bus import listen
    from edge.keys import load_client_keys

    keys = load_client_keys(Path(args.keys)) if args.keys else None
    deadline = None if args.seconds is None else time.monotonic() + args.seconds
    count = 0

    def show(message: dict) -> None:
        nonlocal count
        count += 1
        print(json.dumps(message), flush=True)

    def stop() -> bool:
        return (deadline is not None and time.monotonic() >= deadline) or (args.count and count >= args.count)

    try:
        listen(args.address, show, stop, keys=keys)
    except KeyboardInterrupt:
        pass
    return 0


def cmd_control(args: argparse.Namespace) -> int:
    from edge.bus import control_request
    from edge.keys import load_client_keys

    fields = {}
    for item in args.field or []:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--field {item!r}: expected KEY=VALUE")
        try:
            fields[key] = json.loads(text)
        except ValueError:
            fields[key] = text
    keys = load_client_keys(Path(args.keys)) if args.keys else None
    reply = control_request(args.address, args.cmd, timeout_ms=int(args.timeout_s * 1000), keys=keys, **fields)
    print(json.dumps(reply))
    return 0 if reply.get("ok") else 1


KEYS_USAGE = ("Use: on the robot set [bus] keys = \"{dir}\" in the daemon's config and bind its [bus] addresses "
              "where the base station can reach them (tcp://0.0.0.0:PORT or the LAN address). Copy client.key_secret "
              "and server.key to a directory of mode 0700 on the base station (scp) and connect with --keys "
              "THAT_DIR. server.key_secret never leaves the robot; to admit another client, put its public .key "
              "file in {dir}/authorized/ and restart the daemon.")


def cmd_keys(args: argparse.Namespace) -> int:
    from edge.keys import generate_keys

    written = generate_keys(Path(args.dir), force=args.force)
    print("wrote (mode 0600): " + ", ".join(map(str, written)))
    print(KEYS_USAGE.format(dir=Path(args.dir).resolve()))
    return 0


def cmd_classify(args: argparse.Namespace) -> int:
    from edge.hearing import hear_file, load_model

    hearing = load_model(args.model, _backend_url(args))
    result, _ = hear_file(hearing, args.path)
    heard = result.heard
    out = {"file": str(args.path), "label": None if heard is None else heard.label,
           "confidence": None if heard is None else round(heard.decision.confidence, 4),
           "t_start_s": None if heard is None else heard.t_start_us * 1e-6,
           "t_end_s": None if heard is None else heard.t_end_us * 1e-6,
           "utterances": result.n_utterances, "duration_s": round(result.duration_s, 4), "silent": result.silent,
           "clipped_fraction": round(result.clipped_fraction, 6)}
    if heard is None:
        print(f"neuroedge classify: {args.path}: no speech found (silent or only clicks)", file=sys.stderr)
    if result.clipped_fraction > 0.01:
        print(f"neuroedge classify: warning: {args.path}: {100 * result.clipped_fraction:.1f} % of samples clipped; "
              "the decision may suffer", file=sys.stderr)
    _emit(out, args.json)
    return 0


def cmd_audio(args: argparse.Namespace) -> int:
    from sensors.audio.sources import list_input_devices

    devices = list_input_devices()
    if args.json:
        print(json.dumps({"input_devices": devices}))
    elif not devices:
        print("no audio input devices found")
    else:
        for d in devices:
            mark = "*" if d["is_default"] else " "
            print(f"{mark} {d['index']:3d}  {d['name']}  ({d['max_input_channels']} ch, {d['default_samplerate']:g} Hz)")
    return 0


def cmd_board(args: argparse.Namespace) -> int:
    from edge.board_cli import cmd_board_serve

    return cmd_board_serve(args)


def cmd_hil(args: argparse.Namespace) -> int:
    from edge.board_cli import cmd_hil as hil

    if args.seconds is None and args.source == "scene":
        args.seconds = 10.0
    return hil(args, _config(args))


def cmd_bench(args: argparse.Namespace) -> int:
    if args.name == "board":
        from edge.bench.board import board_benchmark, default_recording

        summary = board_benchmark(_config(args), args.recording or default_recording(args.data), args.seconds or 20.0,
                                  args.seed or 0, log=lambda m: print(m, file=sys.stderr, flush=True))
    elif args.name == "emulator":
        from edge.bench.emulator import emulator_benchmark

        if args.compare not in (None, "lava"):
            raise ValueError(f"bench emulator: --compare {args.compare} is for cuba / stdp (emulator takes lava)")
        recording = args.recording or str(Path(args.data or os.environ.get("NEUROEDGE_DATA", "../shared/data"))
                                          / "events" / "dvs.aedat4")
        summary = emulator_benchmark(recording, args.seeds, args.sim_seconds, args.final_seconds, args.epochs,
                                     compare_lava=args.compare == "lava",
                                     log=lambda m: print(m, file=sys.stderr, flush=True))
    elif args.name == "memory":
        from edge.bench.memory import memory_benchmark, plot_memory

        summary = memory_benchmark(log=lambda m: print(m, file=sys.stderr, flush=True), backend_url=_backend_url(args))
        if args.plot:
            plot_memory(summary, args.plot)
            print(f"bench memory: plot written to {args.plot}", file=sys.stderr)
    elif args.name == "fsdd":
        from edge.bench.fsdd import fsdd_benchmark, plot_confusion
        from edge.hearing import HearingConfig

        config = HearingConfig()
        if args.encoder:
            from dataclasses import replace

            config = replace(config, audio=replace(config.audio, encoder=args.encoder,
                                                   encoder_params=ENCODER_DEFAULTS.get(args.encoder, {})))
        summary = fsdd_benchmark(args.train, args.test, args.epochs, args.seed if args.seed is not None else 0,
                                 config, args.model, args.loso, backend_url=_backend_url(args))
        if args.plot:
            plot_confusion(summary, config.labels, args.plot)
            print(f"bench fsdd: confusion matrix written to {args.plot}", file=sys.stderr)
    elif args.name == "tracking":
        from edge.bench.tracking import plot_tracking, tracking_benchmark

        config = _config(args)
        result = tracking_benchmark(config, args.seeds, args.sim_seconds, args.final_seconds, args.jobs)
        if args.plot:
            plot_tracking(result, config, args.plot)
            print(f"bench tracking: plot written to {args.plot}", file=sys.stderr)
        summary = result["summary"]
    elif args.name in ("cuba", "stdp"):
        from edge.bench.engine import compare_brian2, run_workload

        if args.compare == "lava":
            raise ValueError(f"bench {args.name}: --compare lava is for bench emulator (cuba / stdp take brian2)")
        n = args.N if args.name == "cuba" else None
        url = _backend_url(args, f"numba?dtype={args.dtype or 'float32'}")
        summary = run_workload(args.name, n, url=url)
        print(f"bench {args.name}: {summary['wall_s']} s simulated loop, {summary['rate_hz']} Hz", file=sys.stderr)
        if args.compare == "brian2":
            summary = compare_brian2(summary, args.name, n, log=lambda m: print(m, file=sys.stderr, flush=True))
        if args.plot:
            from edge.bench.plots import plot_workload

            plot_workload(args.name, n, url, args.plot)
    elif args.name == "encoders":
        from edge.bench.encoders import encoders_benchmark

        summary = encoders_benchmark()
    elif args.name == "realtime":
        from edge.bench.realtime import realtime_benchmark

        summary = realtime_benchmark(args.seconds or 600.0, args.flood_hz, args.seed or 0, _config(args))
    elif args.name == "replay":
        from edge.bench.replay import replay_benchmark

        data = Path(args.data or os.environ.get("NEUROEDGE_DATA", "../shared/data"))
        summary = replay_benchmark(data, args.copies, args.repeats, _config(args))
    else:
        from edge.bench.decode import decode_benchmark

        data = Path(args.data or os.environ.get("NEUROEDGE_DATA", "../shared/data"))
        if not (data / "events").is_dir():
            raise SourceError(f"{data}: no events/ folder of shared recordings (set NEUROEDGE_DATA or --data)")
        summary = decode_benchmark(data, args.min_events)
    print(json.dumps(summary) if args.json else json.dumps(summary, indent=2))
    return 0


def cmd_map(args: argparse.Namespace) -> int:
    from edge.cores import cmd_map as map_cores

    return map_cores(args.net, args.profile, args.json)


def cmd_compile(args: argparse.Namespace) -> int:
    from edge.cores import cmd_compile as compile_cores

    return compile_cores(args.net, args.output, args.profile, args.json)


NET_HELP = ("network: a TOML network file (as run --network takes) or a built-in: tracking, w1 (W1 CUBA, 4000 "
            "neurons), w2 (W2 STDP), word (hearing), memory (hippocampal recall)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neuroedge", description="Neuromorphic controller: events -> spiking network "
                                     "learning on-line with reward-modulated STDP -> actions on ZMQ.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="run the daemon (default: built-in scene, numba back end, actions on tcp://127.0.0.1:5556)")
    p.add_argument("--config", help="TOML config file (default: built-in)")
    p.add_argument("--seconds", type=_positive, help="stop after this much sensor time (default: run until stopped)")
    p.add_argument("--resume", action="store_true", help="restore the learned state from the configured checkpoint")
    p.add_argument("--network", help="TOML network file replacing the built-in tracking network (see README)")
    p.add_argument("--backend", metavar="URL", help=BACKEND_HELP)
    p.add_argument("--log-format", choices=LOG_FORMATS, help="text, or json: every line on stdout and stderr one "
                   "JSON object (journald, Loki) (default: [log] format of the config, else text)")
    p.add_argument("--log-level", choices=LOG_LEVELS, help="lowest level written; above info no status lines "
                   "(default: [log] level of the config, else info)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("replay", help="replay a recording through the pipeline, open loop, deterministic for a seed")
    p.add_argument("path", help="recording in any supported format, or a live source (tcp://HOST:PORT, camera, webcam:N)")
    p.add_argument("--geometry", help="sensor size WIDTHxHEIGHT when the recording does not say")
    p.add_argument("--config", help="TOML config file (default: built-in)")
    pace = p.add_mutually_exclusive_group()
    pace.add_argument("--speed", type=_positive, help="pace at X times real time (default: as fast as possible, "
                      "or run.speed times real time when the config sets run.realtime = true)")
    pace.add_argument("--realtime", action="store_true", help="pace at real time")
    p.add_argument("--seed", type=int, help="seed for the network (default: run.seed of the config)")
    p.add_argument("--network", help="TOML network file replacing the built-in tracking network (see README)")
    p.add_argument("--out", help="directory for actions.jsonl and summary.json")
    p.add_argument("--backend", metavar="URL", help=BACKEND_HELP)
    p.add_argument("--model", help="audio files: hearing model checkpoint (from bench fsdd --model; default: untrained)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON line")
    p.add_argument("--strict", action="store_true", help="refuse a recording whose time steps back or jumps "
                   "over 1 s (default: count it, warn, re-base the times)")
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("soak", help="run the daemon for many simulated hours in compressed time, with faults; "
                       "report memory growth, block latency, checkpoints verified, guard trips, exceptions")
    p.add_argument("--hours", type=_positive, default=24.0, help="simulated hours (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="seed of the scene and of the bus client (default: %(default)s)")
    p.add_argument("--checkpoint-s", type=_positive, default=5.0,
                   help="checkpoint interval in wall seconds (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="print the result as one JSON line")
    p.set_defaults(func=cmd_soak)

    p = sub.add_parser("classify", help="recognise the spoken word in one audio file with a trained hearing model")
    p.add_argument("path", help="audio file (WAV, FLAC, OGG, ...; any sample rate)")
    p.add_argument("--model", required=True, help="hearing model checkpoint (written by bench fsdd --model)")
    p.add_argument("--backend", metavar="URL", help=BACKEND_HELP)
    p.add_argument("--json", action="store_true", help="print one JSON line")
    p.set_defaults(func=cmd_classify)

    p = sub.add_parser("audio", help="audio input: list the input devices (microphones)")
    p.add_argument("what", choices=["devices"], help="devices: list audio input devices")
    p.add_argument("--json", action="store_true", help="print one JSON line")
    p.set_defaults(func=cmd_audio)

    p = sub.add_parser("info", help="describe a recording: format, geometry, event count, time span")
    p.add_argument("path", help="recording; the format is detected from its header")
    p.add_argument("--geometry", help="sensor size WIDTHxHEIGHT when the file does not say (RAW, DAT, NPY)")
    p.add_argument("--json", action="store_true", help="print one JSON line")
    p.add_argument("--strict", action="store_true", help="refuse a recording whose time steps back or jumps "
                   "over 1 s (default: count it, warn, re-base the times)")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("convert", help="convert a recording to .aedat4 (dv-processing) or .npy (EVENT_DTYPE)")
    p.add_argument("input", help="recording in any supported format")
    p.add_argument("output", help="output file: .aedat4 or .npy")
    p.add_argument("--geometry", help="sensor size WIDTHxHEIGHT when the input does not say")
    p.add_argument("--json", action="store_true", help="print one JSON line")
    p.add_argument("--strict", action="store_true", help="refuse a recording whose time steps back or jumps "
                   "over 1 s (default: count it, warn, re-base the times)")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("render", help="draw events: a .png of one time window or an .mp4 of the whole recording")
    p.add_argument("path", help="recording in any supported format")
    p.add_argument("output", help="output file: .png or .mp4")
    p.add_argument("--at", type=int, help="PNG: window start in µs (default: the first event)")
    p.add_argument("--window", type=int, default=10_000, help="PNG: window length in µs (default: %(default)s)")
    p.add_argument("--fps", type=_positive, default=100.0, help="MP4: frames per second of sensor time (default: %(default)s)")
    p.add_argument("--scale", type=int, default=1, help="integer upscaling of the picture (default: %(default)s)")
    p.add_argument("--geometry", help="sensor size WIDTHxHEIGHT when the input does not say")
    p.add_argument("--json", action="store_true", help="print one JSON line")
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("listen", help="print the actions published on the bus as they arrive")
    p.add_argument("--address", default="tcp://127.0.0.1:5556", help="actions address (default: %(default)s)")
    p.add_argument("--seconds", type=_positive, help="stop after this many seconds")
    p.add_argument("--count", type=int, default=0, help="stop after this many actions (0: no limit)")
    p.add_argument("--keys", metavar="DIR", help="CurveZMQ client keys (client.key_secret and server.key, "
                   "from neuroedge keys generate) for a daemon with [bus] keys")
    p.set_defaults(func=cmd_listen)

    p = sub.add_parser("control", help="send one control request to a running daemon and print its JSON reply",
                       description="Send {\"cmd\": CMD, ...} to the daemon's control socket and print the reply "
                       "(exit 1 when it says ok: false, 2 when no daemon answers). Commands: status, checkpoint, "
                       "pause, resume, stop, store (--field label=3) and the others listed in README's ZMQ bus.")
    p.add_argument("cmd", metavar="CMD", help="command word, e.g. status")
    p.add_argument("--address", default="tcp://127.0.0.1:5558", help="control address (default: %(default)s)")
    p.add_argument("--field", action="append", metavar="KEY=VALUE",
                   help="an extra request field, VALUE read as JSON when it parses (repeatable)")
    p.add_argument("--keys", metavar="DIR", help="CurveZMQ client keys for a daemon with [bus] keys")
    p.add_argument("--timeout-s", type=_positive, default=2.0, help="wait this long for the reply (default: %(default)s)")
    p.set_defaults(func=cmd_control)

    p = sub.add_parser("keys", help="CurveZMQ keys for a bus reachable off loopback (encrypted, allow-listed clients)")
    keys_sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = keys_sub.add_parser("generate", help="write a server keypair, a client keypair and the allow-list to DIR",
                            description="Create DIR (mode 0700) with server.key / server.key_secret (the daemon's "
                            "keypair), client.key / client.key_secret (one client's keypair) and authorized/client.key "
                            "(the allow-list of client public keys); every file has mode 0600. The daemon uses DIR "
                            "through [bus] keys = \"DIR\"; a client needs client.key_secret and server.key.")
    p.add_argument("dir", metavar="DIR", help="key directory (created if missing)")
    p.add_argument("--force", action="store_true", help="replace existing keys (other keys in DIR/authorized/ stay)")
    p.set_defaults(func=cmd_keys)

    p = sub.add_parser("map", help="map a network onto neuromorphic cores: per-core neurons, axons, synapse memory",
                       description="Split the network's neurons over cores of the profile within every per-core "
                       "limit (compartments, input and output axons, synapse memory words) and print the split. "
                       "Exit 2 with one line naming the core and the limit when it does not fit.")
    p.add_argument("net", metavar="NET", help=NET_HELP)
    p.add_argument("--profile", default="loihi", choices=["loihi"], help="core profile (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="print one JSON line (cores, per_core, limits, fits)")
    p.set_defaults(func=cmd_map)

    p = sub.add_parser("compile", help="map and compile a network into a core image file (.npz)",
                       description="Write a versioned core image: the mapping onto cores and the compiled network's "
                       "tables, checksummed (format in hw/emulator/image.py). Exit 2 with one line when the network "
                       "does not fit.")
    p.add_argument("net", metavar="NET", help=NET_HELP)
    p.add_argument("-o", "--output", required=True, metavar="IMAGE", help="core image file to write")
    p.add_argument("--profile", default="loihi", choices=["loihi"], help="core profile (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="print one JSON line")
    p.set_defaults(func=cmd_compile)

    p = sub.add_parser("board", help="the board emulator: the core emulator served as a board on a serial line")
    board_sub = p.add_subparsers(dest="board_command", required=True, metavar="ACTION")
    p = board_sub.add_parser("serve", help="serve on a new pseudo-terminal (its path is the first stdout line) "
                             "or on --port, until stopped; wire protocol: hw/serial/PROTOCOL.md")
    p.add_argument("--port", metavar="URL", help="serve on this pyserial port or URL instead of a new pty")
    p.add_argument("--baud", type=int, default=921_600, help="--port: baud rate (default: %(default)s)")
    p.add_argument("--link", metavar="PATH", help="also make PATH a symlink to the pty (a stable name across restarts)")
    p.add_argument("--profile", default="loihi", choices=["loihi"], help="core profile (default: %(default)s)")
    p.add_argument("--faults", metavar="SPEC", help="inject faults into the replies, e.g. drop=0.01,flip=1e-4,"
                   "garbage_per_s=1,stall_ms=50,reset_every_s=60 (rates per simulated second; hw/serial/faults.py)")
    p.add_argument("--seed", type=int, default=0, help="seed of the faults (default: %(default)s)")
    p.set_defaults(func=cmd_board, command="board serve")

    p = sub.add_parser("hil", help="hardware in the loop: the same blocks on the in-process emulator and on a board, "
                       "compared tick by tick and in the learned state (exit 1 on a mismatch)")
    p.add_argument("source", help="a recording (any supported format), or 'scene' for the built-in closed loop")
    p.add_argument("--board", required=True, metavar="URL", help="the board: a device (/dev/ttyACM0, a pty), a "
                   "pyserial URL (socket://host:port) or a serial:// back-end URL with options")
    p.add_argument("--config", help="TOML config file (default: built-in)")
    p.add_argument("--seconds", type=_positive, help="sensor seconds to run (default: the whole recording; "
                   "scene: 10)")
    p.add_argument("--seed", type=int, help="seed of the network and scene (default: run.seed of the config)")
    p.add_argument("--json", action="store_true", help="print the result as one JSON line")
    p.set_defaults(func=cmd_hil)

    p = sub.add_parser("bench", help="run a benchmark; the last stdout line is one JSON object")
    p.add_argument("name", choices=["tracking", "decode", "cuba", "stdp", "encoders", "fsdd", "memory", "replay",
                                    "realtime", "emulator", "board"],
                   help="tracking: on-line learning of the tracking task; decode: event decoding and filter speed; "
                        "cuba / stdp: the W1 / W2 workloads of WORKLOADS.md; encoders: spike encoders' error and rate; "
                        "fsdd: spoken digits learned with local rules (accuracy, front-end and inference speed); "
                        "memory: the hippocampal memory's capacity, noise tolerance, novelty and speed; "
                        "replay: end-to-end replay speed on evt2.raw tiled --copies times (data from --data); "
                        "realtime: the daemon at real time, its block latency and overruns (--seconds, --flood-hz); "
                        "emulator: the fixed-point core emulator against numba (float mode, fixed point, on-chip "
                        "learning, deployment, hearing, memory, speed, energy; --compare lava); "
                        "board: the tracking network on the board emulator over a pty (round trip, ticks/s, codec "
                        "speed; --seconds of recording, default 20)")
    p.add_argument("--config", help="TOML config file (default: built-in)")
    p.add_argument("--seeds", type=int, default=5, help="number of seeds (default: %(default)s)")
    p.add_argument("--sim-seconds", type=_positive, default=120.0, help="simulated seconds per run (default: %(default)s)")
    p.add_argument("--final-seconds", type=_positive, default=20.0,
                   help="final part of each run that is scored (default: %(default)s)")
    p.add_argument("--jobs", type=int, default=2, help="tracking: worker processes (default: %(default)s)")
    p.add_argument("--N", type=int, default=4000, help="cuba: number of neurons (default: %(default)s)")
    p.add_argument("--dtype", choices=["float64", "float32"],
                   help="cuba / stdp: shorthand for --backend 'numba?dtype=DTYPE' (default for these: float32)")
    p.add_argument("--backend", metavar="URL", help=BACKEND_HELP)
    p.add_argument("--compare", choices=["brian2", "lava"], help="cuba / stdp: brian2, the same workload in Brian2 "
                   "cpp_standalone in the same run; emulator: lava, the LIF compartment against Lava's bit-accurate "
                   "Loihi model (each in its own virtual environment, created on first use)")
    p.add_argument("--recording", help="emulator: the recording replayed for speed and energy "
                   "(default: events/dvs.aedat4 of --data)")
    p.add_argument("--plot", help="tracking: on-target fraction and learned weights; cuba / stdp: spike raster and "
                   "weight distribution; fsdd: confusion matrix; memory: recall against load and accuracy against noise (PNG)")
    p.add_argument("--data", help="decode: shared data folder (default: $NEUROEDGE_DATA or ../shared/data)")
    p.add_argument("--min-events", type=int, default=50_000_000, help="decode: events per measurement (default: %(default)s)")
    p.add_argument("--copies", type=int, default=50, help="replay: copies of evt2.raw tiled end to end (default: %(default)s)")
    p.add_argument("--repeats", type=int, default=5, help="replay: timed replays after one warm-up; the fastest "
                   "is reported (default: %(default)s)")
    p.add_argument("--train", help="fsdd: folder of {digit}_{speaker}_{index}.wav files to train on "
                   "(default: indices 5-49 of the shared recordings)")
    p.add_argument("--test", help="fsdd: folder whose FSDD-named files are the test set (default: indices 0-4 of the "
                   "shared recordings)")
    p.add_argument("--epochs", type=int, default=30, help="fsdd: passes over the training set (default: %(default)s)")
    p.add_argument("--seed", type=int, help="fsdd: seed of the presentation order; realtime: seed of the flood "
                   "(default: 0)")
    p.add_argument("--model", help="fsdd: write the trained model (a checkpoint) here, for classify / replay / run")
    p.add_argument("--encoder", choices=["rate", "sigma_delta", "delta", "bsa", "latency", "phase"],
                   help="fsdd: spike code of the envelopes (default: rate)")
    p.add_argument("--loso", action="store_true", help="fsdd: also train on 3 speakers and test on the 4th, "
                   "for each speaker (accuracy on unseen speakers)")
    p.add_argument("--seconds", type=_positive,
                   help="realtime: wall seconds to run the daemon (default: 600); board: sensor seconds of blocks "
                        "stepped on the board (default: 20)")
    p.add_argument("--flood-hz", type=float, default=0.0, help="realtime: malformed bus messages a second from "
                   "a separate process (default: 0, the bus idle)")
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
