#!/usr/bin/env bash
# Mutation testing of the learning rules, decoders, reward functions and recall kernels (mutmut 2.x; slow, not CI).
#
#   tests/mutation/run.sh [--working-tree] [--keep | --in CLONE] [MODULE ...]
#
# Clones the repository (HEAD; with --working-tree also the uncommitted and untracked files of this work tree)
# into a temporary directory, mutates each module in place there, one mutant at a time, runs that module's
# targeted tests per mutant (tests/mutation/mutmut_config.py: which functions, which tests), and prints the
# killed fraction per module and every survivor (tests/mutation/report.py; EQUIVALENT.md lists the
# equivalent ones). MODULEs default to all four (controllers/decode.py controllers/reward.py
# snn/memory/hippocampus_kernels.py snn/engine/kernel.py). The Numba kernels recompile per mutant (their
# on-disk cache is keyed by the source's hash), which is most of the time: about 40-60 min on 2 cores.
# Needs the `mutation` extra: pip install -e '.[mutation]'. The clone is removed afterwards unless --keep
# (then `mutmut show ID` / `mutmut results` work inside it). --in CLONE re-runs in a kept clone after new tests
# were written: this harness and (with --working-tree) the changed files are copied in again, and mutmut
# re-tests only the mutants that survived (killed ones stay killed), so it takes minutes, not the hour.
set -euo pipefail

working_tree=0 keep=0 reuse="" modules=()
while (( $# )); do
    case "$1" in
        --working-tree) working_tree=1 ;;
        --keep) keep=1 ;;
        --in) reuse=$(cd "$2" && pwd); shift ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) modules+=("$1") ;;
    esac
    shift
done

repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
if [[ -z "${MUTATION_PYTHON:-}" ]]; then
    if [[ -x "$repo/.venv/bin/python" ]]; then MUTATION_PYTHON="$repo/.venv/bin/python"; else MUTATION_PYTHON=python3; fi
fi
export MUTATION_PYTHON
"$MUTATION_PYTHON" -c 'import mutmut, sys; sys.exit(0 if mutmut.__version__.startswith("2.") else 1)' || {
    echo "run.sh: needs mutmut 2.x in $MUTATION_PYTHON (pip install -e '.[mutation]')" >&2; exit 2; }

if [[ -n "$reuse" ]]; then
    clone="$reuse" keep=1
    [[ -f "$clone/.mutmut-cache" ]] || { echo "run.sh: $clone is not a kept clone (no .mutmut-cache)" >&2; exit 2; }
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/neuroedge-mutation.XXXXXX")
    clone="$work/repo"
    git clone -q "$repo" "$clone"
fi
if (( working_tree )); then
    (cd "$repo" && git ls-files -z -m -o --exclude-standard) | while IFS= read -r -d '' f; do
        if [[ -f "$repo/$f" ]]; then mkdir -p "$clone/$(dirname "$f")"; cp -p "$repo/$f" "$clone/$f"; fi
    done
fi
# this harness (the run.sh invoked, with its config), whether or not it is committed yet
mkdir -p "$clone/tests/mutation"
cp -p "$(dirname "$0")"/*.py "$(dirname "$0")"/*.sh "$clone/tests/mutation/"
if [[ -f "$(dirname "$0")/EQUIVALENT.md" ]]; then cp -p "$(dirname "$0")/EQUIVALENT.md" "$clone/tests/mutation/"; fi
if (( keep )); then echo "clone kept: $clone"; else trap 'rm -rf "$work"' EXIT; fi

cd "$clone"
cp tests/mutation/mutmut_config.py .
if (( ${#modules[@]} == 0 )); then
    mapfile -t modules < <("$MUTATION_PYTHON" -c 'import mutmut_config; print("\n".join(mutmut_config.TARGETS))')
fi
paths=$(IFS=,; echo "${modules[*]}")
runner=$("$MUTATION_PYTHON" -c 'import sys, mutmut_config as m; print(m.all_tests_command(sys.argv[1:]))' "${modules[@]}")
export NEUROEDGE_DATA="${NEUROEDGE_DATA:-$repo/../shared/data}"

echo "mutating $paths (baseline: $runner)"
start=$SECONDS
"$MUTATION_PYTHON" -m mutmut run --paths-to-mutate "$paths" --runner "$runner" --tests-dir tests \
    --simple-output --no-progress || true   # mutmut's exit status is a bit mask of what it found
echo "mutmut took $(( (SECONDS - start) / 60 )) min"
"$MUTATION_PYTHON" tests/mutation/report.py "${modules[@]}"
