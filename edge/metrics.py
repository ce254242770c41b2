"""Prometheus metrics of the running daemon (prometheus-client), served over HTTP at ``[metrics] address``
(off by default; loopback only, like the bus). Series are named ``neuroedge_*``; gauges are refreshed from
the daemon's status every status interval, the block-latency histogram at every block."""
from __future__ import annotations

import resource

from prometheus_client import CollectorRegistry, Gauge, Histogram, start_http_server

from edge.bus import is_loopback_host

LATENCY_BUCKETS_S = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25)

GAUGES = {  # status key -> (series, help)
    "ticks": ("neuroedge_ticks", "ticks simulated since start"),
    "ticks_per_s": ("neuroedge_ticks_per_second", "ticks per second of wall time, last status interval"),
    "overruns": ("neuroedge_overruns", "blocks later than their real-time deadline"),
    "events": ("neuroedge_events", "input events read"),
    "actions": ("neuroedge_actions", "actions decided"),
    "mean_reward": ("neuroedge_reward", "running mean of the reward (dimensionless)"),
    "rewards_received": ("neuroedge_rewards_received", "reward messages accepted from the bus"),
    "malformed_messages": ("neuroedge_malformed_messages", "reward and control messages refused"),
    "checkpoints": ("neuroedge_checkpoints_written", "checkpoints written"),
    "checkpoint_failures": ("neuroedge_checkpoint_failures", "checkpoints that failed (disk full, ...)"),
    "guard_trips": ("neuroedge_guard_trips", "times the numerical guard restored the last good state"),
    "uptime_s": ("neuroedge_uptime_seconds", "seconds since start"),
    "memory_stored": ("neuroedge_memory_stored", "patterns in the hippocampal memory"),
    "memory_load": ("neuroedge_memory_load", "patterns stored per CA3 cell"),
    "memory_expected_label_accuracy": ("neuroedge_memory_expected_label_accuracy",
                                       "label accuracy bench memory measures end to end at the current load"),
    "last_novelty": ("neuroedge_memory_last_novelty", "novelty of the last memory input, in [0, 1]"),
}


def parse_address(address: str) -> tuple[str, int]:
    """``"HOST:PORT"`` -> (host, port); ValueError (one line) unless the host is loopback and the port valid."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"metrics.address: want HOST:PORT, got {address!r}")
    if not is_loopback_host(host):
        raise ValueError(f"metrics.address: {address!r} is off loopback (the endpoint has no authentication)")
    return host.strip("[]"), int(port)


class Metrics:
    """The daemon's series in their own registry, served at ``address`` from a background HTTP thread."""

    def __init__(self, address: str) -> None:
        host, port = parse_address(address)
        self.registry = CollectorRegistry()
        self.gauges = {key: Gauge(name, text, registry=self.registry) for key, (name, text) in GAUGES.items()}
        self.score = Gauge("neuroedge_score", "the task's score (running mean), by name", ["name"],
                           registry=self.registry)
        self.checkpoint_age = Gauge("neuroedge_checkpoint_age_seconds", "seconds since the last checkpoint",
                                    registry=self.registry)
        self.rss = Gauge("neuroedge_max_rss_bytes", "peak resident set size of the process", registry=self.registry)
        self.latency = Histogram("neuroedge_block_latency_seconds", "wall time to process one block",
                                 buckets=LATENCY_BUCKETS_S, registry=self.registry)
        try:
            self.server, self.thread = start_http_server(port, addr=host, registry=self.registry)
        except OSError as e:
            raise ValueError(f"metrics.address {address}: cannot serve ({e.strerror or e})") from None

    def observe_block(self, seconds: float) -> None:
        self.latency.observe(seconds)

    def update(self, status: dict, checkpoint_age_s: float | None) -> None:
        """Refresh the gauges from a daemon status dict."""
        for key, gauge in self.gauges.items():
            value = status.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                gauge.set(value)
        for name, value in (status.get("score") or {}).items():
            self.score.labels(name=name).set(value)
        if checkpoint_age_s is not None:
            self.checkpoint_age.set(checkpoint_age_s)
        self.rss.set(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
