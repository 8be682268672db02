"""Benchmark: where a fresh ``slotopt solve`` process spends its time on a large instance folder.

Run from the repository root (results go in docs/performance.md, "Scale: the hub week at 1M"):

    python benchmarks/bench_command.py                       # generate_hub(1M) as CSV and Parquet
    python benchmarks/bench_command.py --folder hub1m        # existing instance folders
    python benchmarks/bench_command.py --quick               # 50k, a smoke run

For each folder, ``--runs`` times (the folders alternating): ``slotopt solve DIR --out OUT`` as
a child process (wall clock of the whole command, start-up included), then a child that does
what the command does step by step and times each step: imports, ``load_instance``, the type
grouping, ``solve()`` and ``to_folder``, with numpy's huge-page advice off as the command sets
it. Each child is a fresh process, so every figure includes first-touch page faults and numba's
once-per-process set-up, which in-process benchmarks (``bench_hub.py``) do not show. Best and
median over the runs: on a shared machine one run can be slow for reasons of its own (another
process, the file dropped from the page cache).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from slotopt.instance import write_instance
from slotopt.instance.generate import generate_hub

from _common import environment, table

STEPS = ("import", "load", "group", "solve", "write")

_CHILD = """
import json, os, sys, time
os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")  # as the slotopt command sets it
folder, out = sys.argv[1], sys.argv[2]
marks = [time.perf_counter()]
import slotopt
from slotopt.instance import load_instance
marks.append(time.perf_counter())
inst = load_instance(folder)
marks.append(time.perf_counter())
inst.types
marks.append(time.perf_counter())
result = slotopt.solve(inst, on_failure="record")
marks.append(time.perf_counter())
result.to_folder(out)
marks.append(time.perf_counter())
print(json.dumps([b - a for a, b in zip(marks, marks[1:])]))
"""


def run_command(folder: Path, out: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "slotopt.run.cli", "solve", str(folder), "--out", str(out)],
        check=False,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(f"slotopt solve failed:\n{done.stderr}")
    return time.perf_counter() - start


def run_steps(folder: Path, out: Path) -> list[float]:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(folder), str(out)],
        check=False,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(f"the step-by-step child failed:\n{done.stderr}")
    return [float(x) for x in json.loads(done.stdout.strip().splitlines()[-1])]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folder", type=Path, action="append", help="instance folder (repeat)")
    parser.add_argument("--applicants", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cores", type=int, default=2, help="pin to this many cores (default 2)")
    parser.add_argument("--quick", action="store_true", help="50,000 applicants")
    args = parser.parse_args(argv)
    print(environment(args.cores))
    if "slotopt.run.cli" not in sys.modules:  # the child runs `python -m slotopt.run.cli`
        import slotopt.run.cli  # noqa: F401 - fails here, not in the child, if it cannot
    with tempfile.TemporaryDirectory() as tmp:
        folders = list(args.folder or [])
        if not folders:
            n = 50_000 if args.quick else args.applicants
            inst = generate_hub(n, seed=1)
            for fmt in ("csv", "parquet"):
                folders.append(write_instance(inst, Path(tmp) / f"hub-{fmt}", format=fmt))
            print(f"generate_hub({n:,}, seed=1), written as CSV and as Parquet")
        command: dict[Path, list[float]] = {f: [] for f in folders}
        steps: dict[Path, list[list[float]]] = {f: [] for f in folders}
        for k in range(args.runs):
            for j, folder in enumerate(folders):
                command[folder].append(run_command(folder, Path(tmp) / f"cmd{k}-{j}"))
                steps[folder].append(run_steps(folder, Path(tmp) / f"steps{k}-{j}"))
        rows = []
        for folder in folders:
            per_step = np.array(steps[folder])
            row: dict[str, object] = {"folder": folder.name}
            for i, name in enumerate(STEPS):
                row[f"{name} s"] = f"{per_step[:, i].min():.2f} / {np.median(per_step[:, i]):.2f}"
            row["steps, total s"] = (
                f"{per_step.sum(axis=1).min():.2f} / {np.median(per_step.sum(axis=1)):.2f}"
            )
            row["slotopt solve s"] = (
                f"{min(command[folder]):.2f} / {np.median(command[folder]):.2f}"
            )
            rows.append(row)
    print(f"\nbest / median of {args.runs} fresh processes per folder (folders alternating):")
    print(table(rows))
    if os.environ.get("NUMPY_MADVISE_HUGEPAGE") is not None:
        print(f"(NUMPY_MADVISE_HUGEPAGE={os.environ['NUMPY_MADVISE_HUGEPAGE']} was set)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
