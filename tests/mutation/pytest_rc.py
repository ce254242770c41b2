"""Run pytest on the given arguments in a child process; exit 0 when it passes and 1 otherwise.

mutmut 2.x counts only exit status 1 as a killed mutant: a collection error (status 2) or a crash (a mutated
index that makes a Numba kernel write out of bounds can end in SIGSEGV, status -11) would otherwise read as a
survivor. The child dies with this process (mutmut kills it on a timeout)."""
import ctypes
import os
import signal
import subprocess
import sys


def _die_with_parent() -> None:
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG (Linux)
    except (AttributeError, OSError):
        pass


if __name__ == "__main__":
    # cwd (the clone's root) first on sys.path, as ``python -m pytest`` does
    rc = subprocess.call([sys.executable, "-m", "pytest", *sys.argv[1:]], preexec_fn=_die_with_parent)
    sys.exit(0 if rc == 0 else 1)
