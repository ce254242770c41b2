"""Brian2 reference timings for the W1 (CUBA) and W2 (STDP) workloads of WORKLOADS.md, in Brian2's own venv.

Brian2 is never imported here: it runs in a separate virtual environment as a subprocess (cpp_standalone).
Brian2 runs in the float precision it is given (``dtype``: its ``prefs.core.default_float_dtype``), so that a
comparison with neuroedge is float32 against float32 or float64 against float64; the result names it
(``brian2_dtype``, as read back from Brian2).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


class Brian2Error(RuntimeError):
    """Creating the Brian2 venv or running a workload in it failed; the message is one line."""


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def brian2_venv_dir() -> Path:
    """$NEUROEDGE_BRIAN2_VENV, default ~/.cache/neuroedge/brian2-venv."""
    env = os.environ.get("NEUROEDGE_BRIAN2_VENV")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "neuroedge" / "brian2-venv"


def _clean_env() -> dict[str, str]:
    """os.environ without PYTHONPATH/PYTHONHOME, so the venv never sees neuroedge's numpy."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}


def _venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


def _check(cmd: list[str], what: str, timeout_s: float) -> subprocess.CompletedProcess:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, env=_clean_env())
    except subprocess.TimeoutExpired:
        raise Brian2Error(f"{what} timed out after {timeout_s:.0f} s") from None
    except OSError as exc:
        raise Brian2Error(f"{what} could not start: {exc}") from None
    if proc.returncode != 0:
        raise Brian2Error(f"{what} failed: {_last_line(proc.stderr or proc.stdout)}")
    return proc


def _brian2_version(python: Path) -> str | None:
    """Brian2's version if ``python -c "import brian2"`` works, else None."""
    if not python.is_file():
        return None
    try:
        proc = subprocess.run([str(python), "-c", "import brian2; print(brian2.__version__)"],
                              capture_output=True, text=True, timeout=300, env=_clean_env())
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def ensure_brian2_venv(log=_stderr) -> Path:
    """Return the Brian2 venv directory (``brian2_venv_dir()``), creating it when absent or broken.

    Creation is ``<this Python> -m venv`` then ``pip install "brian2==2.9.*" "numpy<2.4"`` (Brian2 2.9.0
    fails to import with numpy 2.4); about 20 s with a warm network. A venv whose ``import brian2`` works
    is reused. cpp_standalone compiles the generated C++ with the system ``g++`` and ``make``, so both
    must be on PATH. Progress goes to ``log`` (stderr by default); failures raise a one-line Brian2Error.
    """
    for tool in ("g++", "make"):
        if shutil.which(tool) is None:
            raise Brian2Error(f"Brian2 cpp_standalone needs '{tool}' on PATH (e.g. apt-get install build-essential)")
    venv = brian2_venv_dir()
    python = _venv_python(venv)
    version = _brian2_version(python)
    if version is not None:
        log(f"brian2: reusing {venv} (Brian2 {version})")
        return venv
    start = time.perf_counter()
    if not python.is_file():
        log(f"brian2: creating venv {venv}")
        venv.parent.mkdir(parents=True, exist_ok=True)
        _check([sys.executable, "-m", "venv", str(venv)], "python -m venv", 300)
    log('brian2: pip install "brian2==2.9.*" "numpy<2.4" (about 20 s)')
    _check([str(python), "-m", "pip", "install", "--quiet", "brian2==2.9.*", "numpy<2.4"], "pip install brian2", 1800)
    version = _brian2_version(python)
    if version is None:
        raise Brian2Error(f"brian2 installed in {venv} but 'import brian2' fails")
    log(f"brian2: Brian2 {version} ready in {venv} ({time.perf_counter() - start:.0f} s)")
    return venv


WORKLOADS = ("cuba", "stdp")
CUBA_DEFAULT_N = 4000
DTYPES = ("float32", "float64")
DEFAULT_DTYPE = "float64"
"""Brian2's own default precision; ``bench cuba|stdp --compare brian2`` passes neuroedge's instead."""

#: W1 (WORKLOADS.md): we = 60·0.27/10 mV, wi = −20·4.5/10 mV; ~80 inputs per neuron at any N.
CUBA_PARAMS = {
    "exc_fraction": 0.8, "k_in": 80.0, "taum_ms": 20.0, "taue_ms": 5.0, "taui_ms": 10.0,
    "vt_mv": -50.0, "vr_mv": -60.0, "el_mv": -49.0, "we_mv": 1.62, "wi_mv": -9.0,
    "refractory_ms": 5.0, "dt_ms": 0.1, "duration_s": 1.0, "seed": 42,
}
#: W2 (WORKLOADS.md): dApre = 0.01·wmax, dApost = −1.05·dApre; numpy default_rng(seed) draws rates, w0, v0.
STDP_PARAMS = {
    "n_input": 784, "n_exc": 400, "rate_max_hz": 63.75, "taum_ms": 100.0, "taue_ms": 5.0, "taui_ms": 10.0,
    "v_rest_mv": -65.0, "v_reset_mv": -65.0, "v_thresh_mv": -52.0, "refractory_ms": 5.0,
    "wmax_mv": 0.5, "taupre_ms": 20.0, "taupost_ms": 20.0, "dapre_per_wmax": 0.01, "dapost_per_dapre": -1.05,
    "w_inh_mv": -0.5, "dt_ms": 0.5, "duration_s": 10.0, "seed": 42,
}

_PROLOGUE = '''\
"""Generated by neuroedge edge/bench/brian2_compare.py: one workload in Brian2 cpp_standalone, single thread."""
import json
import sys
import time

import numpy as np
import brian2 as b2
from brian2 import ms, mV, Hz, second

PROJECT_DIR, REPEATS, RESULT_PATH = sys.argv[1], int(sys.argv[2]), sys.argv[3]
b2.set_device("cpp_standalone", directory=PROJECT_DIR, build_on_run=False)
b2.prefs.devices.cpp_standalone.openmp_threads = 0
start = time.perf_counter()
'''

_PRECISION = '''\
b2.prefs.core.default_float_dtype = getattr(np, FLOAT_DTYPE)  # state variables, weights and C++ "scalar"
'''

_CUBA_BODY = '''\
N = PARAMS["n"]
NE = int(round(PARAMS["exc_fraction"] * N))
b2.seed(PARAMS["seed"])
b2.defaultclock.dt = PARAMS["dt_ms"] * ms
ns = {
    "taum": PARAMS["taum_ms"] * ms, "taue": PARAMS["taue_ms"] * ms, "taui": PARAMS["taui_ms"] * ms,
    "Vt": PARAMS["vt_mv"] * mV, "Vr": PARAMS["vr_mv"] * mV, "El": PARAMS["el_mv"] * mV,
    "we": PARAMS["we_mv"] * mV, "wi": PARAMS["wi_mv"] * mV,
}
eqs = """
dv/dt = (ge + gi - (v - El)) / taum : volt (unless refractory)
dge/dt = -ge / taue : volt
dgi/dt = -gi / taui : volt
"""
P = b2.NeuronGroup(N, eqs, threshold="v > Vt", reset="v = Vr",
                   refractory=PARAMS["refractory_ms"] * ms, method="exact", namespace=ns)
P.v = "Vr + rand() * (Vt - Vr)"
P.ge = 0 * mV
P.gi = 0 * mV
p_connect = PARAMS["k_in"] / N
Ce = b2.Synapses(P[:NE], P, on_pre="ge += we", namespace=ns)
Ce.connect(p=p_connect)
Ci = b2.Synapses(P[NE:], P, on_pre="gi += wi", namespace=ns)
Ci.connect(p=p_connect)
spikes = b2.SpikeMonitor(P)
net = b2.Network(P, Ce, Ci, spikes)
net.run(PARAMS["duration_s"] * second)


def summary():
    counts = np.asarray(spikes.count[:])
    return {"brian2_rate_hz": float(counts[:NE].sum()) / (NE * PARAMS["duration_s"]),
            "brian2_n_synapses": int(len(Ce) + len(Ci)), "brian2_n_spikes": int(counts.sum())}
'''

_STDP_BODY = '''\
N_IN, N_EXC = PARAMS["n_input"], PARAMS["n_exc"]
rng = np.random.default_rng(PARAMS["seed"])
rates_hz = rng.uniform(0.0, PARAMS["rate_max_hz"], N_IN)
w0_mv = rng.uniform(0.0, PARAMS["wmax_mv"], (N_IN, N_EXC))
v0_mv = rng.uniform(PARAMS["v_reset_mv"], PARAMS["v_thresh_mv"], N_EXC)
b2.seed(PARAMS["seed"])
b2.defaultclock.dt = PARAMS["dt_ms"] * ms
wmax = PARAMS["wmax_mv"] * mV
dApre = PARAMS["dapre_per_wmax"] * wmax
ns = {
    "taum": PARAMS["taum_ms"] * ms, "taue": PARAMS["taue_ms"] * ms, "taui": PARAMS["taui_ms"] * ms,
    "v_rest": PARAMS["v_rest_mv"] * mV, "v_reset": PARAMS["v_reset_mv"] * mV,
    "v_thresh": PARAMS["v_thresh_mv"] * mV, "wmax": wmax, "dApre": dApre,
    "dApost": PARAMS["dapost_per_dapre"] * dApre, "taupre": PARAMS["taupre_ms"] * ms,
    "taupost": PARAMS["taupost_ms"] * ms, "w_inh": PARAMS["w_inh_mv"] * mV,
}
inputs = b2.PoissonGroup(N_IN, rates=rates_hz * Hz)
eqs = """
dv/dt = (ge + gi - (v - v_rest)) / taum : volt (unless refractory)
dge/dt = -ge / taue : volt
dgi/dt = -gi / taui : volt
"""
exc = b2.NeuronGroup(N_EXC, eqs, threshold="v > v_thresh", reset="v = v_reset",
                     refractory=PARAMS["refractory_ms"] * ms, method="exact", namespace=ns)
exc.v = v0_mv * mV
exc.ge = 0 * mV
exc.gi = 0 * mV
stdp_model = """
w : volt
dApre/dt = -Apre / taupre : volt (event-driven)
dApost/dt = -Apost / taupost : volt (event-driven)
"""
on_pre = """
ge_post += w
Apre += dApre
w = clip(w + Apost, 0 * mV, wmax)
"""
on_post = """
Apost += dApost
w = clip(w + Apre, 0 * mV, wmax)
"""
plastic = b2.Synapses(inputs, exc, stdp_model, on_pre=on_pre, on_post=on_post, namespace=ns)
plastic.connect(i=np.repeat(np.arange(N_IN), N_EXC), j=np.tile(np.arange(N_EXC), N_IN))
plastic.w = w0_mv.ravel() * mV
lateral = b2.Synapses(exc, exc, on_pre="gi_post += w_inh", namespace=ns)
lateral.connect(condition="i != j")
spikes = b2.SpikeMonitor(exc)
net = b2.Network(inputs, exc, plastic, lateral, spikes)
net.run(PARAMS["duration_s"] * second)


def summary():
    return {"brian2_rate_hz": float(spikes.num_spikes) / (N_EXC * PARAMS["duration_s"]),
            "brian2_final_mean_weight_mv": float(np.mean(np.asarray(plastic.w[:]) / mV)),
            "brian2_n_synapses": int(len(plastic) + len(lateral)), "brian2_n_spikes": int(spikes.num_spikes)}
'''

_EPILOGUE = '''\
b2.device.build(directory=PROJECT_DIR, compile=True, run=False, with_output=False)
build_s = time.perf_counter() - start
loop_s, binary_s = [], []
for _ in range(REPEATS):
    b2.device.run(directory=PROJECT_DIR, with_output=False)
    loop_s.append(float(b2.device._last_run_time))
    binary_s.append(float(b2.device.timers["run_binary"]))
result = {"brian2_wall_s": float(np.median(loop_s)), "brian2_build_s": build_s,
          "brian2_compile_s": b2.device.timers["compile"]["make"],
          "brian2_binary_wall_s": float(np.median(binary_s)), "brian2_loop_s_runs": loop_s,
          "brian2_version": b2.__version__,
          "brian2_dtype": np.dtype(b2.prefs.core.default_float_dtype).name}
result.update(summary())
with open(RESULT_PATH, "w") as f:
    json.dump(result, f)
'''


def _check_workload(workload: str, n: int | None) -> tuple[str, dict]:
    """Validated (workload, params with n); raises ValueError naming the argument."""
    if workload == "cuba":
        n = CUBA_DEFAULT_N if n is None else n
        if isinstance(n, bool) or not isinstance(n, int) or n < CUBA_PARAMS["k_in"]:
            raise ValueError(f"brian2_compare: cuba needs an integer n >= {CUBA_PARAMS['k_in']:.0f} "
                             f"(p = 80/n), got {n!r}")
        return workload, {**CUBA_PARAMS, "n": n}
    if workload == "stdp":
        if n is not None and n != STDP_PARAMS["n_exc"]:
            raise ValueError(f"brian2_compare: stdp has a fixed size (784 -> 400); pass n=None, got {n!r}")
        return workload, dict(STDP_PARAMS)
    raise ValueError(f"brian2_compare: unknown workload {workload!r}; expected one of {', '.join(WORKLOADS)}")


def _check_dtype(dtype: str) -> str:
    if dtype not in DTYPES:
        raise ValueError(f"brian2_compare: dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    return dtype


def brian2_script(workload: str, n: int | None = None, dtype: str = DEFAULT_DTYPE) -> str:
    """Python source of one workload for the Brian2 venv: argv = project_dir repeats result_json.

    It builds the network in cpp_standalone, compiles it once, runs the binary ``repeats`` times and writes
    a JSON result (see ``brian2_wall_s``). ``n`` is the CUBA network size (default 4000); None for stdp.
    ``dtype`` ("float32" or "float64") is Brian2's ``prefs.core.default_float_dtype``.
    """
    workload, params = _check_workload(workload, n)
    dtype = _check_dtype(dtype)
    body = _CUBA_BODY if workload == "cuba" else _STDP_BODY
    return f'{_PROLOGUE}PARAMS = {params!r}\nFLOAT_DTYPE = "{dtype}"\n{_PRECISION}{body}{_EPILOGUE}'


def brian2_wall_s(workload: str, n: int | None, repeats: int = 3, log=_stderr, dtype: str = DEFAULT_DTYPE) -> dict:
    """Run W1 ("cuba", n neurons) or W2 ("stdp", n None) in Brian2 2.9 cpp_standalone, one thread, in float
    precision ``dtype`` ("float32" or "float64"; pass neuroedge's so that the two compare like with like).

    Returns
    -------
    dict
        ``brian2_wall_s``: median over ``repeats`` runs of the compiled binary of the simulation loop
        alone, in s: Brian2's own ``device._last_run_time``, which the generated ``Network::run`` measures
        around its time-step loop with ``std::clock()`` (process CPU time = wall time for one thread),
        excluding the binary's start-up, connectivity generation, initialisation and result writing.
        ``brian2_build_s``: network construction in Python + code generation + g++ build, in s.
        ``brian2_compile_s``: the ``make`` part of it, in s. ``brian2_binary_wall_s``: median wall time
        of the whole binary, in s. ``brian2_rate_hz``: mean excitatory rate. ``brian2_final_mean_weight_mv``
        (stdp only): mean plastic weight after the run. ``brian2_version``. ``brian2_dtype``: the precision
        Brian2 ran in, read back from its ``prefs.core.default_float_dtype`` (always equal to ``dtype``).
    """
    workload, params = _check_workload(workload, n)
    dtype = _check_dtype(dtype)
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"brian2_compare: repeats must be an integer >= 1, got {repeats!r}")
    python = _venv_python(brian2_venv_dir())
    if not python.is_file():
        raise Brian2Error(f"no Brian2 venv at {brian2_venv_dir()}; call ensure_brian2_venv() first")
    label = f"{workload} N={params['n']}" if workload == "cuba" else workload
    workdir = Path(tempfile.mkdtemp(prefix=f"neuroedge-brian2-{workload}-"))
    script, result_path = workdir / "workload.py", workdir / "result.json"
    script.write_text(brian2_script(workload, params.get("n"), dtype))
    log(f"brian2: {label}: {dtype}, building (code generation + g++), then {repeats} runs")
    cmd = [str(python), str(script), str(workdir / "project"), str(repeats), str(result_path)]
    try:
        proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=3600, env=_clean_env())
    except subprocess.TimeoutExpired:
        raise Brian2Error(f"brian2 {label} timed out after 3600 s (kept {workdir})") from None
    if proc.returncode != 0 or not result_path.is_file():
        raise Brian2Error(f"brian2 {label} failed: {_last_line(proc.stderr or proc.stdout)} (kept {workdir})")
    result = json.loads(result_path.read_text())
    if result.get("brian2_dtype") != dtype:
        raise Brian2Error(f"brian2 {label} ran in {result.get('brian2_dtype')!r}, not {dtype!r} (kept {workdir})")
    shutil.rmtree(workdir, ignore_errors=True)
    log(f"brian2: {label} {dtype}: build {result['brian2_build_s']:.1f} s, loop median {result['brian2_wall_s']:.3f} s, "
        f"rate {result['brian2_rate_hz']:.2f} Hz")
    return result
