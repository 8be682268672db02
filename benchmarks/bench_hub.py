"""Benchmark: the hub week at a million applicants, greedy against OR-Tools' min-cost flow.

Run from the repository root (results go in docs/performance.md, "Scale: the hub week at 1M"):

    python benchmarks/bench_hub.py                    # 1M hub week, on at most 2 cores
    python benchmarks/bench_hub.py --quick            # 50k, a smoke run
    python benchmarks/bench_hub.py --prefecture       # also the prefecture generator at 1M

The instance is ``generate_hub(N, seed=1)`` (docs/generator.md). In one process it times, best
of ``--repeat`` runs: the type grouping, ``solve(method="greedy")`` with the grouping cached
(the compiled kernel when numba is installed; the pure-Python kernel with ``--python``), and
the certificates (``check_matching``). Then it writes the instance as CSV to a temporary folder
and times ``slotopt solve DIR --out OUT`` in a child process (load + solve + write, peak memory
of the child), ``--command-runs`` times (best and median: on a shared machine one run can be
slow for reasons of its own, e.g. the file dropped from the page cache). Last, the same
instance through OR-Tools' ``SimpleMinCostFlow`` with linear priority weights (weight
``A - position + 1`` on the arc of each applicant, which makes the maximum-weight matching
Algorithm 1's: the matched sets of a transversal matroid's greedy and its maximum-weight basis
coincide for any weights decreasing in priority), on the type network (source -> applicant ->
type -> slot -> sink), and checks that it matches the same applicants.
OR-Tools comes with ``pip install 'slotopt[bench]'``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

import slotopt
from slotopt.engines.matching import kernel
from slotopt.engines.matching.order import positions_from_order, priority_order
from slotopt.instance import MatchingInstance, write_instance
from slotopt.instance.generate import generate_hub, generate_prefecture, instance_statistics
from slotopt.instance.matching import group_types
from slotopt.verify.matching import check_matching

from _common import environment, table, timed, timed_cpu

SOLVE_TARGET, COMMAND_TARGET, MEMORY_TARGET_GB, RATIO_TARGET = 1.5, 5.0, 2.0, 25.0


def ortools_matched(inst: MatchingInstance, order: np.ndarray) -> tuple[np.ndarray, float, float]:
    """OR-Tools' max-flow-min-cost with linear priority weights; returns (matched, build s,
    solve s)."""
    from ortools.graph.python import min_cost_flow

    start = time.perf_counter()
    types = inst.types
    n, n_t, n_s = inst.n_applicants, types.n_types, inst.n_slots
    source, sink = 0, 1 + n + n_t + n_s
    position = positions_from_order(order)
    weight = (n - position + 1).astype(np.int64)
    lengths = np.diff(types.indptr)
    tails = np.concatenate(
        [
            np.zeros(n, np.int64),
            1 + np.arange(n),
            1 + n + np.repeat(np.arange(n_t), lengths),
            1 + n + n_t + np.arange(n_s),
        ]
    )
    heads = np.concatenate(
        [
            1 + np.arange(n),
            1 + n + types.type_of,
            1 + n + n_t + types.slots,
            np.full(n_s, sink, np.int64),
        ]
    )
    caps = np.concatenate(
        [
            np.ones(n, np.int64),
            np.ones(n, np.int64),
            np.repeat(types.size, lengths),
            np.minimum(inst.capacity, n),
        ]
    )
    costs = np.concatenate(
        [-weight, np.zeros(n, np.int64), np.zeros(len(types.slots) + n_s, np.int64)]
    )
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    # the most that can flow: every applicant (solve_max_flow_with_min_cost sends what fits)
    flow.set_node_supply(source, n)
    flow.set_node_supply(sink, -n)
    build = time.perf_counter() - start
    start = time.perf_counter()
    status = flow.solve_max_flow_with_min_cost()
    solve = time.perf_counter() - start
    if status != flow.OPTIMAL:
        raise RuntimeError(f"OR-Tools min-cost flow status {status}")
    matched = flow.flows(np.arange(n)) > 0
    return matched, build, solve


def in_memory(inst: MatchingInstance, repeat: int, *, compiled: bool | None) -> dict[str, float]:
    seed = 1
    group = min(
        timed(group_types, inst.acc_indptr, inst.acc_slot, inst.n_slots)[0] for _ in range(repeat)
    )
    inst.types  # noqa: B018 - group once, as loading does
    result = slotopt.solve(inst, seed=seed)  # warm: numba's cached machine code, imports
    runs = [timed_cpu(slotopt.solve, inst, seed=seed) for _ in range(repeat)]
    wall = min(r[0] for r in runs)
    cpu = min(r[1] for r in runs)
    order = priority_order(inst.priority, inst.applicant_ids, seed)
    t_verify, report = timed(check_matching, inst, result.slot_of, positions_from_order(order))
    if not report.ok:
        raise RuntimeError(report.describe())
    if compiled is False:
        from slotopt.engines.matching.greedy import greedy_matching

        py, slot_of = timed(greedy_matching, inst, order, compiled=False)
        if not np.array_equal(slot_of, result.slot_of):
            raise RuntimeError("the pure-Python kernel gave another schedule")
    else:
        py = float("nan")
    return {
        "group_s": group,
        "solve_s": wall,
        "solve_cpu_s": cpu,
        "verify_s": t_verify,
        "python_kernel_s": py,
        "matched": result.n_matched,
    }


# The child runs the CLI and prints its own peak resident memory. RUSAGE_CHILDREN's ru_maxrss
# is no measure of it: Linux carries the parent's resident size over into a child's maxrss at
# fork/exec (measured: a child of a 250 MB parent that allocates nothing reports 270 MB, its
# VmHWM 9 MB), and this process holds the instance. VmHWM in /proc/self/status is the peak of
# the child's own address space after exec (Linux; elsewhere the peak is reported as nan).
_CHILD = """
import sys
from slotopt.run.cli import main
code = main(sys.argv[1:])
peak_kb = -1
try:
    with open("/proc/self/status") as f:
        peak_kb = next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))
except OSError:
    pass
print("PEAK_KB", peak_kb, file=sys.stderr)
sys.exit(code)
"""


def command(inst: MatchingInstance, repeat: int) -> tuple[float, float, float, float]:
    """Best and median wall seconds and peak memory (GB) of ``slotopt solve DIR --out OUT`` in
    a child, and the seconds it took to write the instance folder."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "hub"
        t_write, _ = timed(write_instance, inst, folder)
        times, peak = [], 0.0
        for k in range(repeat):
            out = Path(tmp) / f"out{k}"
            start = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-c", _CHILD, "solve", str(folder), "--out", str(out)],
                check=False,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            times.append(time.perf_counter() - start)
            if done.returncode:
                raise RuntimeError(f"slotopt solve failed:\n{done.stderr}")
            line = [ln for ln in done.stderr.splitlines() if ln.startswith("PEAK_KB ")][-1]
            kb = int(line.split()[1])
            peak = float("nan") if kb < 0 or peak != peak else max(peak, kb / 1e6)  # KB -> GB
    return min(times), float(np.median(times)), peak, t_write


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--applicants", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cores", type=int, default=2, help="pin to this many cores (default 2)")
    parser.add_argument("--quick", action="store_true", help="50,000 applicants")
    parser.add_argument("--python", action="store_true", help="also time the pure-Python kernel")
    parser.add_argument("--prefecture", action="store_true", help="also the prefecture shape")
    parser.add_argument(
        "--command-runs",
        type=int,
        default=5,
        help="runs of the command in a child (best and median are shown; default 5)",
    )
    parser.add_argument("--skip-ortools", action="store_true")
    args = parser.parse_args(argv)
    n = 50_000 if args.quick else args.applicants
    print(environment(args.cores))
    print(
        "greedy kernel:",
        "compiled (numba)" if kernel.compiled_kernel() else f"Python ({kernel.fallback_reason()})",
    )
    t_gen, inst = timed(generate_hub, n, seed=1)
    print(f"\n## hub week, generate_hub({n:,}, seed=1): {t_gen:.1f} s to generate")
    print(", ".join(f"{k} {v:,}" for k, v in instance_statistics(inst).items()))
    figures = in_memory(inst, args.repeat, compiled=False if args.python else None)
    t_cmd, t_median, peak, t_write = command(inst, args.command_runs)
    rows = [{"what": k, "value": v} for k, v in figures.items()]
    rows += [
        {"what": "write instance CSV s", "value": t_write},
        {"what": "slotopt solve (load+solve+write) s, best", "value": t_cmd},
        {"what": f"the same, median of {args.command_runs}", "value": t_median},
        {"what": "peak memory of that command GB", "value": peak},
    ]
    ok = figures["solve_s"] < SOLVE_TARGET and t_cmd < COMMAND_TARGET and peak < MEMORY_TARGET_GB
    if not args.skip_ortools:
        order = priority_order(inst.priority, inst.applicant_ids, 1)
        matched, build, solve = ortools_matched(inst, order)
        ours = slotopt.solve(inst, seed=1).slot_of >= 0
        same = bool(np.array_equal(matched, ours))
        ratio = (build + solve) / figures["solve_s"]
        rows += [
            {"what": "OR-Tools build s", "value": build},
            {"what": "OR-Tools solve s", "value": solve},
            {"what": "OR-Tools / greedy (same run)", "value": ratio},
            {"what": "same matched set", "value": "yes" if same else "NO"},
        ]
        ok = ok and same and ratio >= RATIO_TARGET
    print(table(rows))
    print(
        f"\ntargets: solve < {SOLVE_TARGET} s, command < {COMMAND_TARGET} s, peak < "
        f"{MEMORY_TARGET_GB} GB, OR-Tools >= {RATIO_TARGET}x: {'met' if ok else 'NOT met'}"
    )
    if args.prefecture:
        pref = generate_prefecture(n, seed=1, n_slots=max(n // 33, 1), pairs_per_applicant=9)
        print(
            f"\n## prefecture week, generate_prefecture({n:,}, seed=1, n_slots={n // 33:,}, "
            "pairs_per_applicant=9)"
        )
        print(", ".join(f"{k} {v:,}" for k, v in instance_statistics(pref).items()))
        print(
            table(
                [
                    {"what": k, "value": v}
                    for k, v in in_memory(pref, args.repeat, compiled=None).items()
                ]
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
