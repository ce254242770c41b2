"""The separate virtual environments of the reference simulators a benchmark compares with (Brian2, Lava):
where they live, how their processes are run. They are never dependencies of neuroedge."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path


def cache_venv_dir(env_var: str, name: str) -> Path:
    """$``env_var`` if set, else ~/.cache/neuroedge/``name``."""
    env = os.environ.get(env_var)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "neuroedge" / name


def clean_env() -> dict[str, str]:
    """os.environ without PYTHONPATH/PYTHONHOME, so a venv never sees neuroedge's numpy."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def last_line(text: str) -> str:
    """The last non-empty line of a process's output (for one-line errors)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


def run_checked(cmd: list[str], what: str, timeout_s: float, error: type[Exception],
                stdin: str | None = None) -> subprocess.CompletedProcess:
    """Run ``cmd`` in the clean environment; ``error`` (one line naming ``what``) on a timeout, a failure to
    start or a non-zero exit."""
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, env=clean_env(),
                              input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise error(f"{what} timed out after {timeout_s:.0f} s") from None
    except OSError as exc:
        raise error(f"{what} could not start: {exc}") from None
    if proc.returncode != 0:
        raise error(f"{what} failed: {last_line(proc.stderr or proc.stdout)}")
    return proc
