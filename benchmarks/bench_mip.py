"""Benchmark: the MIP layer's formulations at 1k, 10k and 100k applicants, time split into model
build, translation to HiGHS and HiGHS itself, with peak memory and the greedy as baseline.

Run from the repository root (results go in docs/performance.md, "MIP layer"):

    python benchmarks/bench_mip.py                       # 1k, 10k, 100k on at most 2 cores
    python benchmarks/bench_mip.py --sizes 1000,10000    # some sizes only
    python benchmarks/bench_mip.py --quick               # 1k only, a smoke run

Every (size, formulation) runs in a fresh child process, so its peak resident memory
(``ru_maxrss``) is its own: the child generates the instance, imports Pyomo (timed apart: it is
paid once per process), runs the greedy (the baseline ratio is formulation / greedy in that same
process), then the formulation, and prints one JSON line. Formulations:

* ``feasibility`` -- ``can_serve``: can the greedy's matched set be served? ("same set": yes);
* ``max-appointments`` -- ``max_appointments`` ("same set": the count equals the greedy's);
* ``lp`` -- ``slotopt.solve(method="lp")`` end to end (order, build, translate, HiGHS, checks,
  extraction), plus its split from the method's info;
* ``lexicographic-tiers`` / ``lexicographic-positions`` -- ``method="lexicographic"``;
  positions is skipped above ``--positions-max`` applicants (it needs thousands of re-solves);
* ``min-rank`` / ``rank-maximal`` -- the second stages on the greedy's matched set
  (rank-maximal is skipped above ``--rank-maximal-max`` applicants: one solve per rank);
* ``lp-contrib-translate`` -- for comparison, the time Pyomo's ``contrib.solver`` HiGHS
  interface takes to hand the same weighted-LP model over (``set_instance``), not solved.

Instances: ``generate_prefecture(n, seed=1, n_slots=..., pairs_per_applicant=9)`` with 140,
1,400 and 3,000 slots (the family of benchmarks/bench_matching.py: demand 0.7 appointments per
applicant, about 9 acceptable pairs each).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import environment, table  # noqa: E402

SLOTS = {1_000: 140, 10_000: 1_400, 100_000: 3_000}
FORMULATIONS = (
    "feasibility",
    "max-appointments",
    "lp",
    "lexicographic-tiers",
    "lexicographic-positions",
    "min-rank",
    "rank-maximal",
    "lp-contrib-translate",
)


def _timings(info: dict[str, Any]) -> dict[str, Any]:
    """The build / translate / HiGHS split a MIP method reports in its info dict."""
    return {
        "build_s": info["build_seconds"],
        "translate_s": info["translate_seconds"],
        "highs_s": info["highs_seconds"],
        "solves": info["solves"],
        "status": info["status"],
    }


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def child(n: int, formulation: str, seed: int, cores: int) -> dict[str, Any]:
    """Run one formulation on one instance in this (fresh) process."""
    environment(cores)  # pins this process too
    from slotopt.instance.generate import generate_prefecture

    inst = generate_prefecture(
        n, seed=seed, n_slots=SLOTS.get(n, max(140, 3 * n // 100)), pairs_per_applicant=9
    )
    start = time.perf_counter()
    import pyomo.environ  # noqa: F401

    import slotopt
    import slotopt.formulations.matching_solve  # noqa: F401

    import_s = time.perf_counter() - start
    greedy = slotopt.solve(inst, method="greedy", seed=seed)
    rss_before = _rss_mb()
    row: dict[str, Any] = {
        "applicants": n,
        "formulation": formulation,
        "slots": inst.n_slots,
        "pairs": int(len(inst.acc_slot)),
        "types": inst.types.n_types,
        "greedy_s": greedy.seconds,
        "pyomo_import_s": import_s,
    }
    from slotopt.formulations import matching_models as mm

    start = time.perf_counter()
    same: bool | None = None
    if formulation in ("feasibility", "max-appointments"):
        from slotopt.formulations.matching_solve import can_serve, max_appointments

        if formulation == "feasibility":
            answer, info = can_serve(inst, greedy.matched)
            same = answer  # the greedy's set must be servable
        else:
            count, info = max_appointments(inst)
            same = count == greedy.n_matched  # Theorem 1
        row.update(_timings(info))
    elif formulation == "lp-contrib-translate":
        from slotopt.engines.matching.order import priority_order
        from slotopt.formulations.solver import make_persistent

        order = priority_order(inst.priority, inst.applicant_ids, seed)
        t0 = time.perf_counter()
        model = mm.build_weighted_lp(inst, order)
        build = time.perf_counter() - t0
        opt = make_persistent()
        t0 = time.perf_counter()
        opt.set_instance(model)
        row.update(
            build_s=build,
            translate_s=time.perf_counter() - t0,
            highs_s=None,
            solves=0,
            status="not solved",
        )
    elif formulation in ("min-rank", "rank-maximal"):
        from slotopt.formulations.matching_solve import (
            min_rank_assignment,
            rank_maximal_assignment,
        )

        stage = min_rank_assignment if formulation == "min-rank" else rank_maximal_assignment
        slot_of, info = stage(inst, greedy.matched)
        same = bool(np.array_equal(slot_of >= 0, greedy.matched))
        row.update(_timings(info))
    else:
        method, opts = "lp", {}
        if formulation.startswith("lexicographic"):
            method, opts = "lexicographic", {"levels": formulation.split("-")[1]}
        result = slotopt.solve(inst, method=method, seed=seed, **opts)
        info = result.extra
        same = bool(np.array_equal(result.matched, greedy.matched))
        row.update(_timings(info))
    total = time.perf_counter() - start
    row.update(
        total_s=total,
        ratio=total / max(greedy.seconds, 1e-9),
        same_as_greedy=same,
        rss_before_mb=rss_before,
        peak_rss_mb=_rss_mb(),
    )
    return row


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cores", type=int, default=2, help="pin to this many cores (default 2)")
    parser.add_argument("--sizes", default="1000,10000,100000", help="applicant counts")
    parser.add_argument("--formulations", default=",".join(FORMULATIONS))
    parser.add_argument(
        "--positions-max",
        type=int,
        default=10_000,
        help="skip lexicographic-positions above this many applicants",
    )
    parser.add_argument(
        "--rank-maximal-max",
        type=int,
        default=10_000,
        help="skip rank-maximal above this many applicants",
    )
    parser.add_argument("--quick", action="store_true", help="1k applicants only")
    parser.add_argument("--child", nargs=2, metavar=("N", "FORMULATION"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(int(args.child[0]), args.child[1], args.seed, args.cores)))
        return 0

    print(environment(args.cores))
    sizes = [1_000] if args.quick else [int(s) for s in args.sizes.split(",")]
    wanted = [f for f in args.formulations.split(",") if f]
    rows = []
    ok = True
    for n in sizes:
        for formulation in wanted:
            if formulation == "lexicographic-positions" and n > args.positions_max:
                print(f"{n:,} {formulation}: skipped (> --positions-max {args.positions_max:,})")
                continue
            if formulation == "rank-maximal" and n > args.rank_maximal_max:
                print(
                    f"{n:,} {formulation}: skipped (> --rank-maximal-max {args.rank_maximal_max:,})"
                )
                continue
            cmd = [
                sys.executable,
                __file__,
                "--child",
                str(n),
                formulation,
                "--seed",
                str(args.seed),
                "--cores",
                str(args.cores),
            ]
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                print(f"{n:,} {formulation}: FAILED\n{done.stderr[-2000:]}")
                ok = False
                continue
            row = json.loads(done.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(
                f"{n:,} {formulation}: {row['total_s']:.2f} s, peak {row['peak_rss_mb']:.0f} MB",
                flush=True,
            )
            if row["same_as_greedy"] is False:
                ok = False
    shown = [
        {
            "applicants": r["applicants"],
            "formulation": r["formulation"],
            "build s": r["build_s"],
            "translate s": r["translate_s"],
            "HiGHS s": "-" if r["highs_s"] is None else r["highs_s"],
            "solves": r["solves"],
            "total s": r["total_s"],
            "greedy s": r["greedy_s"],
            "x greedy": r["ratio"],
            "peak MB": r["peak_rss_mb"],
            "same set": {True: "yes", False: "NO", None: "-"}[r["same_as_greedy"]],
        }
        for r in rows
    ]
    if shown:
        print()
        print(table(shown))
        first = rows[0]
        print(f"\nPyomo import (once per process): {first['pyomo_import_s']:.2f} s")
        for r in rows:
            if r["formulation"] == "lp":
                print(
                    f"{r['applicants']:,} applicants: {r['slots']:,} slots, {r['pairs']:,} pairs, "
                    f"{r['types']:,} types; memory before the LP {r['rss_before_mb']:.0f} MB"
                )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
