"""Bit-exactness of the ``loihi`` profile's LIF compartment update against Lava's bit-accurate Loihi LIF.

Lava (lava-nc 0.10, ``lava.proc.lif.models.PyLifModelBitAcc``, tag ``bit_accurate_loihi``) is never imported
here, nor a dependency of neuroedge: it needs Python 3.10 exactly and NumPy < 2, so it runs in its own virtual
environment (``lava_venv_dir()``), created on demand with a Python 3.10 interpreter found on the machine, as a
subprocess in a clean environment (no PYTHONPATH), the way ``--compare brian2`` runs Brian2. The script it runs
(``LAVA_SCRIPT``) builds, per case, a Lava network ``RingBuffer source (int32, like Dense bit-acc's a_out) ->
LIF -> RingBuffer sink`` with one Monitor on ``u`` and one on ``v``, runs it on CPU (``Loihi1SimCfg``) and prints
u, v and the spikes of every tick as JSON. ``compare_lif`` runs the same random integer cases through
``hw.emulator.lif_reference.lif_run`` and compares every value. ``neuroedge bench emulator --compare lava``
reports ``lava_bit_exact`` and ``lava_cases``.

Lava's bit-accurate LIF has no refractory period, so every case compared here has refractory 0; the refractory
path of ``lif_run`` is checked against a plain-Python loop in tests/hw/test_lava_compare.py.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from edge.bench.venvs import cache_venv_dir, clean_env, last_line, run_checked, venv_python
from hw.emulator.lif_reference import lif_run


class LavaError(RuntimeError):
    """Finding Python 3.10, creating the Lava venv or running Lava in it failed; the message is one line."""


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


LAVA_REQUIREMENTS = ("lava-nc==0.10.0", "numpy==1.26.4")
"""lava-nc 0.10.0 requires Python >=3.10,<3.11 and numpy >=1.24.4,<2 (its metadata); 1.26.4 is the last 1.x.
pip resolves the rest (asteval 0.9, networkx <= 2.8.7, scipy, scikit-learn)."""
LAVA_PYTHON = (3, 10)
RESULT_MARKER = "NEUROEDGE_LAVA_JSON "
STATE_HALF = 1 << 23
A_IN_MIN, A_IN_MAX = -(1 << 15), (1 << 15) - 1
"""Lava's LIF declares a_in 16-bit (Dense bit-acc's a_out has precision 16); cases stay in that range."""
CASE_KINDS = ("small", "no_bias", "wrap_u", "saturate_v", "edges", "uniform", "wrap_boundary")
REFRACTORY_NOTE = ("refractory 0 in every Lava case: Lava's PyLifModelBitAcc has no refractory period; "
                   "lif_run's refractory path is tested against a plain-Python loop only")


def lava_venv_dir() -> Path:
    """$NEUROEDGE_LAVA_VENV, default ~/.cache/neuroedge/lava-venv."""
    return cache_venv_dir("NEUROEDGE_LAVA_VENV", "lava-venv")










def _is_python310(python: str) -> bool:
    """True when ``python`` runs (a pyenv shim of an unselected version does not) and is 3.10 with venv."""
    try:
        proc = subprocess.run([python, "-c", "import sys, venv; print('%d.%d' % sys.version_info[:2])"],
                              capture_output=True, text=True, timeout=60, env=clean_env(),
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0 and proc.stdout.strip() == "%d.%d" % LAVA_PYTHON


def _version_key(path: Path) -> tuple:
    parts = path.parents[1].name.split(".")
    return tuple(int(p) if p.isdigit() else -1 for p in parts)


def python310_candidates() -> list[str]:
    """Where a Python 3.10 is looked for, in order: $NEUROEDGE_LAVA_PYTHON, this interpreter, ``python3.10``
    on PATH, pyenv versions 3.10.* ($PYENV_ROOT, then ~/.pyenv; newest first), /usr/bin and /usr/local/bin."""
    found: list[str] = []
    env = os.environ.get("NEUROEDGE_LAVA_PYTHON")
    if env:
        found.append(env)
    if sys.version_info[:2] == LAVA_PYTHON:
        found.append(sys.executable)
    for name in ("python3.10",):
        for directory in os.environ.get("PATH", "").split(os.pathsep):
            if directory and (Path(directory) / name).is_file():
                found.append(str(Path(directory) / name))
    roots = [Path(os.environ["PYENV_ROOT"])] if os.environ.get("PYENV_ROOT") else []
    roots.append(Path.home() / ".pyenv")
    for root in roots:
        found += [str(p) for p in sorted((root / "versions").glob("3.10.*/bin/python3.10"), key=_version_key,
                                         reverse=True)]
    found += ["/usr/bin/python3.10", "/usr/local/bin/python3.10"]
    unique: list[str] = []
    for path in found:
        if path not in unique:
            unique.append(path)
    return unique


def find_python310() -> str:
    """The first working Python 3.10 of ``python310_candidates()``; LavaError when the machine has none."""
    for candidate in python310_candidates():
        if _is_python310(candidate):
            return candidate
    raise LavaError("no Python 3.10 interpreter found (lava-nc 0.10 needs Python 3.10 exactly): install one "
                    "(e.g. pyenv install 3.10) or set NEUROEDGE_LAVA_PYTHON to its path")


def _lava_version(python: Path) -> str | None:
    """lava-nc's version if the venv's ``import lava.proc.lif.models`` works, else None."""
    if not python.is_file():
        return None
    code = ("import importlib.metadata as m, lava.proc.lif.models; import numpy; "
            "print(m.version('lava-nc'))")
    try:
        proc = subprocess.run([str(python), "-c", code], capture_output=True, text=True, timeout=300,
                              env=clean_env(), stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def lava_available() -> bool:
    """True when the Lava venv exists and imports Lava (never creates it)."""
    return _lava_version(venv_python(lava_venv_dir())) is not None


def ensure_lava_venv(log=_stderr) -> Path:
    """Return the Lava venv directory (``lava_venv_dir()``), creating it when absent or broken.

    Creation is ``<Python 3.10> -m venv`` then ``pip install "lava-nc==0.10.0" "numpy==1.26.4"``; about 15 s
    with a warm network (12 s measured). A venv whose ``import lava.proc.lif.models`` works is reused; one
    that is not a Python 3.10 venv is rebuilt. Progress goes to ``log``; failures raise a one-line LavaError.
    """
    venv = lava_venv_dir()
    python = venv_python(venv)
    version = _lava_version(python)
    if version is not None:
        log(f"lava: reusing {venv} (lava-nc {version})")
        return venv
    start = time.perf_counter()
    if python.is_file() and not _is_python310(str(python)):
        raise LavaError(f"{venv} exists but is not a Python 3.10 venv: remove it or set NEUROEDGE_LAVA_VENV")
    if not python.is_file():
        interpreter = find_python310()
        log(f"lava: creating venv {venv} with {interpreter}")
        venv.parent.mkdir(parents=True, exist_ok=True)
        run_checked([interpreter, "-m", "venv", str(venv)], "python3.10 -m venv", 300, LavaError)
    pins = " ".join(f'"{r}"' for r in LAVA_REQUIREMENTS)
    log(f"lava: pip install {pins} (about 15 s)")
    run_checked([str(python), "-m", "pip", "install", "--quiet", *LAVA_REQUIREMENTS], "pip install lava-nc", 1800,
                LavaError)
    version = _lava_version(python)
    if version is None:
        raise LavaError(f"lava-nc installed in {venv} but 'import lava.proc.lif.models' fails")
    log(f"lava: lava-nc {version} ready in {venv} ({time.perf_counter() - start:.0f} s)")
    return venv


LAVA_SCRIPT = '''\
"""Generated by neuroedge edge/bench/lava_compare.py: LIF cases in Lava's bit-accurate model (stdin -> stdout)."""
import importlib.metadata
import json
import sys

import numpy as np
from lava.magma.core.run_conditions import RunSteps
from lava.magma.core.run_configs import Loihi1SimCfg
from lava.proc.io.sink import PyReceiveModelFixed, RingBuffer as Sink
from lava.proc.io.source import PySendModelFixed, RingBuffer as Source
from lava.proc.lif.models import PyLifModelBitAcc
from lava.proc.lif.process import LIF
from lava.proc.monitor.process import Monitor


def run_case(case):
    n, ticks = case["n"], case["T"]
    a_in = np.asarray(case["a_in"], dtype=np.int32).reshape(ticks, n)
    lif = LIF(shape=(n,), u=np.asarray(case["u0"], dtype=np.int32), v=np.asarray(case["v0"], dtype=np.int32),
              du=int(case["du"]), dv=int(case["dv"]), vth=int(case["vth"]),
              bias_mant=np.asarray(case["bias_mant"], dtype=np.int32),
              bias_exp=np.asarray(case["bias_exp"], dtype=np.int32))
    # The source sends int32 like Dense bit-acc's a_out: tick t (1-based) sends column t-1 of data[n, T].
    source = Source(data=np.ascontiguousarray(a_in.T))
    source.s_out.connect(lif.a_in)
    sink = Sink(shape=(n,), buffer=ticks)
    lif.s_out.connect(sink.a_in)
    mon_u, mon_v = Monitor(), Monitor()
    mon_u.probe(lif.u, ticks)
    mon_v.probe(lif.v, ticks)
    cfg = Loihi1SimCfg(select_tag="bit_accurate_loihi",
                       exception_proc_model_map={Source: PySendModelFixed, Sink: PyReceiveModelFixed})
    try:
        lif.run(condition=RunSteps(num_steps=ticks), run_cfg=cfg)
        if lif.model_class is not PyLifModelBitAcc:
            raise RuntimeError(f"LIF ran {lif.model_class.__name__}, not PyLifModelBitAcc")
        u = np.asarray(mon_u.get_data()[lif.name]["u"])
        v = np.asarray(mon_v.get_data()[lif.name]["v"])
        spikes = np.asarray(sink.data.get()).T
    finally:
        lif.stop()
    out = {}
    for name, arr in (("u", u), ("v", v), ("s", spikes)):
        if arr.shape != (ticks, n) or not np.all(arr == np.round(arr)):
            raise RuntimeError(f"Lava {name} has shape {arr.shape} or non-integer values")
        out[name] = np.round(arr).astype(np.int64).tolist()
    return out


def main():
    cases = json.load(sys.stdin)["cases"]
    results = [run_case(case) for case in cases]
    print(MARKER + json.dumps({"lava_version": importlib.metadata.version("lava-nc"),
                               "numpy_version": np.__version__, "model": PyLifModelBitAcc.__name__,
                               "results": results}), flush=True)


main()
'''


def lava_script() -> str:
    """Python source run in the Lava venv: JSON ``{"cases": [...]}`` on stdin (see ``random_cases``), one
    line ``NEUROEDGE_LAVA_JSON {...}`` on stdout with ``results[i] = {"u", "v", "s"}`` as [T][n] integer lists."""
    return f"MARKER = {RESULT_MARKER!r}\n{LAVA_SCRIPT}"


def _full(rng: np.random.Generator, lo: int, hi: int, size) -> np.ndarray:
    """Integers in [lo, hi] inclusive."""
    return rng.integers(lo, hi + 1, size=size, dtype=np.int64)


def _runs(rng: np.random.Generator, ticks: int, n: int, lo: int, hi: int) -> np.ndarray:
    """Inputs in [lo, hi] held for random stretches (so u accumulates far enough to wrap)."""
    out = np.empty((ticks, n), dtype=np.int64)
    for i in range(n):
        t = 0
        while t < ticks:
            length = int(rng.integers(1, 12))
            out[t:t + length, i] = int(rng.integers(lo, hi + 1)) * (1 if rng.random() < 0.5 else -1)
            t += length
    return out


def random_case(rng: np.random.Generator, kind: str) -> dict:
    """One random LIF case of ``kind`` (one of CASE_KINDS); values as int64 arrays and Python ints.

    small: |a_in| <= 600, small state, random bias, vth <= 4096 (spiking); no_bias: the same with
    bias_mant = 0; wrap_u: du <= 8 and held inputs of |a_in| >= 16384 (u wraps); saturate_v: dv <= 8, held
    large inputs and large bias (v saturates, both signs); edges: du, dv, bias, vth, u0, v0 and a_in at the
    ends of their ranges; uniform: every field uniform over its full range; wrap_boundary: du = 0 and
    first-tick inputs that put the pre-wrap current exactly at -2**23 (Lava: +2**23), 2**23 (kept), 2**23 + 1
    and -2**23 + 1, then random inputs.
    """
    n = int(rng.integers(1, 9))
    ticks = int(rng.integers(8, 65))
    top = STATE_HALF - 1
    if kind in ("small", "no_bias"):
        case = dict(du=_full(rng, 0, 4095, ()), dv=_full(rng, 0, 4095, ()),
                    bias_mant=_full(rng, -4096, 4095, n) // 8, bias_exp=_full(rng, 0, 7, n),
                    vth=_full(rng, 0, 4096, ()), u0=_full(rng, -5000, 5000, n), v0=_full(rng, -5000, 5000, n),
                    a_in=_full(rng, -600, 600, (ticks, n)))
        if kind == "no_bias":
            case["bias_mant"] = np.zeros(n, dtype=np.int64)
    elif kind == "wrap_u":
        case = dict(du=_full(rng, 0, 8, ()), dv=_full(rng, 0, 4095, ()),
                    bias_mant=_full(rng, -4096, 4095, n), bias_exp=_full(rng, 0, 7, n),
                    vth=_full(rng, 0, (1 << 17) - 1, ()), u0=_full(rng, -top, top + 1, n),
                    v0=_full(rng, -top, top, n), a_in=_runs(rng, ticks, n, 1 << 14, A_IN_MAX))
    elif kind == "saturate_v":
        case = dict(du=_full(rng, 0, 64, ()), dv=_full(rng, 0, 8, ()),
                    bias_mant=_full(rng, -4096, 4095, n), bias_exp=_full(rng, 5, 7, n),
                    vth=_full(rng, (1 << 16), (1 << 17) - 1, ()), u0=np.zeros(n, dtype=np.int64),
                    v0=_full(rng, -top, top, n), a_in=_runs(rng, ticks, n, 1 << 12, A_IN_MAX))
    elif kind == "edges":
        pick = lambda values, size: rng.choice(np.asarray(values, dtype=np.int64), size=size)  # noqa: E731
        case = dict(du=pick([0, 1, 4094, 4095], ()), dv=pick([0, 1, 4094, 4095], ()),
                    bias_mant=pick([-4096, -1, 0, 1, 4095], n), bias_exp=pick([0, 7], n),
                    vth=pick([0, 1, (1 << 17) - 1], ()),
                    u0=pick([-top, -1, 0, 1, top, top + 1], n), v0=pick([-top, -1, 0, 1, top], n),
                    a_in=pick([A_IN_MIN, -1, 0, 1, A_IN_MAX], (ticks, n)))
    elif kind == "uniform":
        case = dict(du=_full(rng, 0, 4095, ()), dv=_full(rng, 0, 4095, ()),
                    bias_mant=_full(rng, -4096, 4095, n), bias_exp=_full(rng, 0, 7, n),
                    vth=_full(rng, 0, (1 << 17) - 1, ()), u0=_full(rng, -top, top + 1, n),
                    v0=_full(rng, -top, top, n), a_in=_full(rng, A_IN_MIN, A_IN_MAX, (ticks, n)))
    elif kind == "wrap_boundary":
        # decay(u0, du=0) = sign(u0) * (|u0| * 4095 >> 12); u0 chosen so that decay(u0) + (a << 6) hits the edge.
        n = 4
        u0 = np.array([-6292993, 6293057, 6293058, -6292992], dtype=np.int64)
        first = np.array([A_IN_MIN, A_IN_MAX, A_IN_MAX, A_IN_MIN], dtype=np.int64)
        a_in = _full(rng, A_IN_MIN, A_IN_MAX, (ticks, n))
        a_in[0] = first
        case = dict(du=0, dv=_full(rng, 0, 4095, ()), bias_mant=_full(rng, -4096, 4095, n),
                    bias_exp=_full(rng, 0, 7, n), vth=(1 << 17) - 1, u0=u0, v0=np.zeros(n, dtype=np.int64),
                    a_in=a_in)
    else:
        raise ValueError(f"lava_compare: unknown case kind {kind!r}; expected one of {', '.join(CASE_KINDS)}")
    case = {k: (int(val) if np.ndim(val) == 0 else np.asarray(val, dtype=np.int64)) for k, val in case.items()}
    return {"kind": kind, "n": n, "T": ticks, **case}


def random_cases(n_cases: int, seed: int) -> list[dict]:
    """``n_cases`` cases cycling through CASE_KINDS, drawn from numpy ``default_rng(seed)``."""
    if isinstance(n_cases, bool) or not isinstance(n_cases, int) or n_cases < 1:
        raise ValueError(f"lava_compare: n_cases must be an integer >= 1, got {n_cases!r}")
    rng = np.random.default_rng(seed)
    return [random_case(rng, CASE_KINDS[i % len(CASE_KINDS)]) for i in range(n_cases)]


def reference_run(case: dict) -> dict[str, np.ndarray]:
    """Our ``lif_run`` on one case (refractory 0): {"u", "v", "s"} as int64 arrays (T, n)."""
    u, v, s = lif_run(case["u0"], case["v0"], case["a_in"], case["du"], case["dv"], case["bias_mant"],
                      case["bias_exp"], case["vth"], 0)
    return {"u": u, "v": v, "s": s}


def coverage(case: dict, ours: dict[str, np.ndarray]) -> dict[str, int]:
    """Counts of the events a case exercised, from our trace: u wraps, v saturations (+ and -), spikes."""
    u_prev = np.asarray(case["u0"], dtype=np.int64)
    v_prev = np.asarray(case["v0"], dtype=np.int64)
    bias = np.asarray(case["bias_mant"], dtype=np.int64) << np.asarray(case["bias_exp"], dtype=np.int64)
    top = STATE_HALF - 1

    def decay(x, keep):
        return np.sign(x) * ((np.abs(x) * keep) >> 12)

    wraps = sat_pos = sat_neg = 0
    for t in range(case["T"]):
        pre_u = decay(u_prev, 4096 - case["du"] - 1) + (case["a_in"][t] << 6)
        wraps += int(np.sum(pre_u != ours["u"][t]))
        pre_v = decay(v_prev, 4096 - case["dv"]) + ours["u"][t] + bias
        sat_pos += int(np.sum(pre_v > top))
        sat_neg += int(np.sum(pre_v < -top))
        u_prev, v_prev = ours["u"][t], ours["v"][t]
    return {"u_wraps": wraps, "v_saturations_pos": sat_pos, "v_saturations_neg": sat_neg,
            "spikes": int(ours["s"].sum()), "negative_inputs": int(np.sum(case["a_in"] < 0)),
            "bias_on_compartments": int(np.sum(bias != 0)), "bias_off_compartments": int(np.sum(bias == 0))}


def _jsonable(case: dict) -> dict:
    return {k: (val.tolist() if isinstance(val, np.ndarray) else val) for k, val in case.items()}


def run_lava(cases: list[dict], timeout_s: float = 1800) -> dict:
    """Run ``cases`` in the existing Lava venv; the parsed JSON of ``lava_script()`` (LavaError on failure)."""
    python = venv_python(lava_venv_dir())
    if not python.is_file():
        raise LavaError(f"no Lava venv at {lava_venv_dir()}; call ensure_lava_venv() first")
    payload = json.dumps({"cases": [_jsonable(c) for c in cases]})
    proc = run_checked([str(python), "-c", lava_script()], f"lava ({len(cases)} LIF cases)", timeout_s, LavaError,
                       stdin=payload)
    lines = [line for line in proc.stdout.splitlines() if line.startswith(RESULT_MARKER)]
    if not lines:
        raise LavaError(f"lava printed no result: {last_line(proc.stderr or proc.stdout)}")
    result = json.loads(lines[-1][len(RESULT_MARKER):])
    if len(result.get("results", ())) != len(cases):
        raise LavaError(f"lava returned {len(result.get('results', ()))} results for {len(cases)} cases")
    return result


def _describe(index: int, case: dict) -> str:
    return (f"case {index} ({case['kind']}, n={case['n']}, T={case['T']}, du={case['du']}, dv={case['dv']}, "
            f"vth={case['vth']})")


def first_difference(index: int, case: dict, ours: dict[str, np.ndarray], theirs: dict) -> str | None:
    """One line naming the first (tick, compartment, variable) where ours and Lava's differ, else None."""
    names = {"u": "u", "v": "v", "s": "spike"}
    for t in range(case["T"]):
        for name in ("u", "v", "s"):
            lava_row = np.asarray(theirs[name][t], dtype=np.int64)
            diff = np.flatnonzero(ours[name][t] != lava_row)
            if diff.size:
                i = int(diff[0])
                return (f"{_describe(index, case)}: {names[name]} at tick {t} compartment {i}: "
                        f"ours {int(ours[name][t][i])}, Lava {int(lava_row[i])}")
    return None


def compare_lif(n_cases: int = 60, seed: int = 0, log=_stderr, build_venv: bool = True) -> dict:
    """Run ``n_cases`` random integer LIF cases (``random_cases``) through ``lif_run`` and Lava 0.10's
    ``PyLifModelBitAcc`` and compare u, v and spikes at every tick.

    With ``build_venv`` the Lava venv is created on demand (``ensure_lava_venv``); without, it must exist.

    Returns
    -------
    dict
        ``lava_bit_exact``: every value of every case equal. ``lava_cases``: cases compared (all with
        refractory 0, see ``lava_refractory``). ``first_mismatch``: one line, or None. ``lava_ticks``:
        compartment-ticks compared. ``lava_coverage``: summed ``coverage`` counts (u wraps, v saturations,
        spikes, negative inputs, compartments with and without bias). ``lava_version``, ``lava_numpy``,
        ``lava_model``, ``lava_wall_s`` (the Lava subprocess, including its imports), ``lava_seed``.
    """
    cases = random_cases(n_cases, seed)
    if build_venv:
        ensure_lava_venv(log)
    log(f"lava: {n_cases} LIF cases (seed {seed}) in PyLifModelBitAcc")
    start = time.perf_counter()
    lava = run_lava(cases)
    wall = time.perf_counter() - start
    mismatch = None
    totals: dict[str, int] = {}
    ticks = 0
    for index, (case, theirs) in enumerate(zip(cases, lava["results"])):
        ours = reference_run(case)
        ticks += case["T"] * case["n"]
        for key, count in coverage(case, ours).items():
            totals[key] = totals.get(key, 0) + count
        if mismatch is None:
            mismatch = first_difference(index, case, ours, theirs)
    log(f"lava: {'bit-exact' if mismatch is None else 'MISMATCH: ' + mismatch} over {n_cases} cases, "
        f"{ticks} compartment-ticks ({wall:.1f} s in Lava)")
    return {"lava_bit_exact": mismatch is None, "lava_cases": n_cases, "first_mismatch": mismatch,
            "lava_ticks": ticks, "lava_refractory": REFRACTORY_NOTE, "lava_coverage": totals,
            "lava_version": lava.get("lava_version"), "lava_numpy": lava.get("numpy_version"),
            "lava_model": lava.get("model"), "lava_wall_s": wall, "lava_seed": seed}
