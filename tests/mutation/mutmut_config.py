"""mutmut 2.x hooks for ``tests/mutation/run.sh`` (copied to the root of the throw-away clone it mutates).

Which mutants run, and against which tests: only the lines of the target functions below (decorator lines
excluded: they carry compile options such as ``njit(cache=True)``), each module against its own fast tests.
Every other mutant mutmut generates in these files is skipped, so the figures cover exactly the learning
rules, decoders, reward functions and recall kernels. No ``# pragma: no mutate`` in product code.
"""
from __future__ import annotations

import ast
import os
import shlex

# Fast, targeted test files per module; files that do not exist (yet) are left out of the command.
_KERNEL_TESTS = ["tests/snn/test_rule_mutation_guards.py", "tests/snn/test_engine_kernel.py",
                 "tests/snn/test_delays_stp_engine.py", "tests/conformance"]
_CONTROLLER_TESTS = ["tests/controllers/test_mutation_guards.py", "tests/controllers"]
_RECALL_TESTS = ["tests/snn/test_recall_mutation_guards.py", "tests/snn/test_hippocampus.py"]

LEARNING_RULES = ("propagate_projection", "postsynaptic_plasticity", "dense_row_add", "dense_row_pair_stdp",
                  "dense_column_potentiate", "apply_dopamine", "apply_third_factor")

# module -> (function/class names to mutate, None = every top-level function and class; test files)
TARGETS = {
    "controllers/decode.py": (None, _CONTROLLER_TESTS),
    "controllers/reward.py": (None, _CONTROLLER_TESTS),
    "snn/memory/hippocampus_kernels.py": (None, _RECALL_TESTS),
    "snn/engine/kernel.py": (LEARNING_RULES, _KERNEL_TESTS),
}

PYTEST = (shlex.quote(os.environ.get("MUTATION_PYTHON", "python")) + " tests/mutation/pytest_rc.py"
          " -x -q -p no:cacheprovider --no-header")


def test_command(paths: list[str]) -> str:
    """A pytest run over the existing ``paths``, exit status 1 on any failure (see pytest_rc.py)."""
    files = " ".join(shlex.quote(p) for p in dict.fromkeys(paths) if os.path.exists(p))
    return f"{PYTEST} {files}"


def target_lines(path: str, names) -> set[int]:
    """1-based line numbers of the named top-level functions/classes (all of them when names is None), from the
    ``def``/``class`` line to the end of the body; decorator lines are not included."""
    with open(path) as f:
        tree = ast.parse(f.read())
    lines: set[int] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and (names is None or node.name in names):
            lines.update(range(node.lineno, node.end_lineno + 1))
    if names is not None:
        missing = set(names) - {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        if missing:
            raise SystemExit(f"mutmut_config: {path} has no function(s) {sorted(missing)}")
    return lines


_LINES: dict[str, set[int]] = {}


def in_target(path: str, line_number: int) -> bool:
    """True when the 1-based line of ``path`` is one of the target lines."""
    path = os.path.relpath(path)
    if path not in TARGETS:
        return False
    if path not in _LINES:
        _LINES[path] = target_lines(path, TARGETS[path][0])
    return line_number in _LINES[path]


def all_tests_command(modules=None) -> str:
    """The targeted tests of ``modules`` (all by default): mutmut's baseline run, whose time x 10 is the timeout."""
    return test_command([p for m in (modules or TARGETS) for p in TARGETS[m][1]])


def pre_mutation(context) -> None:
    path = os.path.relpath(context.filename)
    if not in_target(path, context.current_line_index + 1):
        context.skip = True
        return
    context.config.test_command = test_command(TARGETS[path][1])
