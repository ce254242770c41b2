"""Print the killed fraction per module from mutmut's cache (``.mutmut-cache`` in the current directory, the
clone run.sh mutated), then every surviving mutant as its mutated line, marking those that EQUIVALENT.md lists.

Counted: mutants on the target lines (mutmut_config.TARGETS); skipped ones (other lines) are not counted.
Killed = killed + suspicious (killed, but slowly) + timeout (a mutant that hangs the tests is detected too).
"""
from __future__ import annotations

import os
import re
import sqlite3
import sys
from collections import defaultdict

from mutmut import Context, RelativeMutationID, mutate

import mutmut_config

HERE = os.path.dirname(os.path.abspath(__file__))
EQUIVALENT_RE = re.compile(r"^- `(?P<path>[^`]+)` L\d+: `(?P<orig>.+?)` → `(?P<mutant>.+?)`: ")
KILLED = ("ok_killed", "ok_suspicious", "bad_timeout")


def equivalents(path: str) -> set[tuple[str, str, str]]:
    """(module, original line, mutated line), stripped, of every mutant EQUIVALENT.md lists."""
    if not os.path.exists(path):
        return set()
    out = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = EQUIVALENT_RE.match(line.rstrip("\n"))
            if m:
                out.add((m["path"], m["orig"].strip(), m["mutant"].strip()))
    return out


def mutated_line(filename: str, line: str, index: int, line_number: int) -> tuple[int, str, str]:
    """(1-based line, original line, mutated line) of the mutant ``index`` of that source line."""
    mutation_id = RelativeMutationID(line=line, index=index, line_number=line_number)
    original = filename + ".bak"  # mutmut's copy of the source while a mutant is in place (a run going on)
    with open(original if os.path.exists(original) else filename) as f:
        source = f.read()
    mutated, _ = mutate(Context(source=source, filename=filename, mutation_id=mutation_id, dict_synonyms=[]))
    before, after = source.split("\n"), mutated.split("\n")
    n = mutation_id.line_number
    if len(before) == len(after):
        return n + 1, before[n], after[n]
    return n + 1, before[n], "(line removed)"


def main(modules: list[str]) -> int:
    """Report on ``modules`` (paths as in mutmut_config.TARGETS; all in the cache when empty)."""
    equivalent = equivalents(os.path.join(HERE, "EQUIVALENT.md"))
    db = sqlite3.connect("file:.mutmut-cache?mode=ro", uri=True)  # read only: a run may be going on
    rows = db.execute("SELECT m.id, m.status, s.filename, l.line, m.\"index\", l.line_number FROM Mutant m "
                      "JOIN Line l ON m.line = l.id JOIN SourceFile s ON l.sourcefile = s.id "
                      "ORDER BY s.filename, l.line_number, m.\"index\"").fetchall()
    db.close()
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    survivors = []
    for pk, status, filename, source_line, index, line_number in rows:
        if status == "skipped" or not mutmut_config.in_target(filename, line_number + 1) or (
                modules and filename not in modules):
            continue  # skipped or, not run yet, to be skipped: not a target line
        counts[filename][status] += 1
        if status in ("bad_survived", "untested"):
            line, orig, mutant = mutated_line(filename, source_line, index, line_number)
            eq = (filename, orig.strip(), mutant.strip()) in equivalent
            counts[filename]["equivalent"] += eq
            survivors.append((filename, line, pk, status, eq, orig.strip(), mutant.strip()))
    print(f"{'module':40s} {'killed':>7s} {'total':>6s} {'fraction':>8s} {'equiv':>6s} {'killed/(total-equiv)':>20s}")
    all_k = all_t = all_e = 0
    for filename in mutmut_config.TARGETS:
        c = counts.get(filename)
        if not c:
            continue
        killed = sum(c[s] for s in KILLED)
        total = sum(v for k, v in c.items() if k != "equivalent")
        eq = c["equivalent"]
        all_k, all_t, all_e = all_k + killed, all_t + total, all_e + eq
        print(f"{filename:40s} {killed:7d} {total:6d} {killed / total:8.1%} {eq:6d} "
              f"{killed / max(total - eq, 1):20.1%}")
    if all_t:
        print(f"{'all':40s} {all_k:7d} {all_t:6d} {all_k / all_t:8.1%} {all_e:6d} "
              f"{all_k / max(all_t - all_e, 1):20.1%}")
    for filename, status in sorted({(f, s) for f, c in counts.items() for s in c if s in ("untested",)}):
        print(f"note: {filename} has untested mutants (run interrupted?)")
    if survivors:
        print("\nsurviving mutants (id: module:line  original  ->  mutant); 'mutmut show ID' in the clone for the diff:")
        for filename, line, pk, status, eq, orig, mutant in survivors:
            tag = "  [equivalent]" if eq else ("  [untested]" if status == "untested" else "")
            print(f"  {pk}: {filename}:{line}  {orig}  ->  {mutant}{tag}")
    unexplained = sum(1 for s in survivors if not s[4] and s[3] == "bad_survived")
    print(f"\n{unexplained} surviving mutant(s) neither killed nor listed in tests/mutation/EQUIVALENT.md")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
