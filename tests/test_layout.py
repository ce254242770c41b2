"""The import rules of ARCHITECTURE.md hold for every module: one direction of flow, and only edge/ owns
sockets, threads and processes."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORE_TYPES = ("sensors.types", "sensors.audio.types")  # numpy-only type definitions, usable everywhere
FORBIDDEN = {
    "snn": ("edge", "hw", "controllers", "sensors"),
    "sensors": ("snn", "edge", "hw", "controllers"),
    "controllers": ("edge", "hw", "sensors"),
    "hw": ("edge", "controllers", "sensors"),
}
RUNTIME_ONLY = ("zmq", "threading", "subprocess", "multiprocessing", "socket", "signal")
"""Modules only edge/ may use: sockets, threads, processes (a board emulator's serving loop is the exception)."""
EXCEPTIONS = {("sensors/live/dv_live.py", "socket")}
"""dv_live resolves a stream's host name (socket.getaddrinfo) for dv-processing, which opens the connection."""


def imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def modules_of(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_packages_import_only_downstream(package):
    bad = []
    for path in modules_of(package):
        for name in imports(path):
            top = name.split(".")[0]
            if top in FORBIDDEN[package] and not name.startswith(CORE_TYPES):
                bad.append(f"{path.relative_to(REPO)} imports {name}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("package", ["snn", "sensors", "controllers", "hw"])
def test_only_edge_opens_sockets_threads_and_processes(package):
    bad = [f"{path.relative_to(REPO)} imports {name}" for path in modules_of(package) for name in imports(path)
           if name.split(".")[0] in RUNTIME_ONLY and (str(path.relative_to(REPO)), name) not in EXCEPTIONS]
    assert not bad, "\n".join(bad)


def test_snn_and_sensors_are_grouped_by_job():
    """Flat no more: the engine, encoders, hearing and memory, and formats, filters, live sources, audio and the
    simulated scene each have their own subpackage."""
    for package in ("snn/engine", "snn/encoding", "snn/hearing", "snn/memory", "sensors/formats",
                    "sensors/filtering", "sensors/live", "sensors/audio", "sensors/simulated"):
        assert (REPO / package / "__init__.py").is_file(), package
    assert len(list((REPO / "snn").glob("*.py"))) <= 10 and len(list((REPO / "sensors").glob("*.py"))) <= 6
