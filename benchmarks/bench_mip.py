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
  interface takes to hand the same weighted-LP model over (``set_instance``), not solved
  (slotopt itself no longer uses that interface);
* ``offer-set-*`` (run once, not per size: ``--offer-set``): the assortment models and the CDLP
  on ``instances/offer-set-day`` (4 slot types of 8, 96 periods): ``best_offer`` on the full
  schedule by the LP per size (``assortment-lp``, 32 LPs) and the MILP (``assortment-milp``),
  and ``solve_cdlp`` over all 6,560 offer vectors (``cdlp-enumerate``) and by column generation
  priced by the LP per size (``cdlp-columns``: many small LPs, where HiGHS's fixed cost per
  model shows).

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
OFFER_SET = ("assortment-lp", "assortment-milp", "cdlp-enumerate", "cdlp-columns")
OFFER_SET_INSTANCE = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "instances", "offer-set-day"
)


def _timings(info: dict[str, Any], status: str | None = None) -> dict[str, Any]:
    """The build / translate / HiGHS split a MIP method reports in its info dict (``slotopt.solve``
    moves the status out of it into ``result.status``: pass that as ``status``)."""
    return {
        "build_s": info["build_seconds"],
        "translate_s": info["translate_seconds"],
        "highs_s": info["highs_seconds"],
        "solves": info["solves"],
        "status": info["status"] if status is None else status,
    }


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def offer_set_child(formulation: str, cores: int, repeat: int) -> dict[str, Any]:
    """Run one offer-set formulation ``repeat`` times in this (fresh) process; best wall and CPU
    time (on a shared machine the CPU time is the steadier figure)."""
    environment(cores)
    start = time.perf_counter()
    import pyomo.environ  # noqa: F401

    import slotopt
    from slotopt.formulations.assortment import assortment_problem, best_offer
    from slotopt.formulations.cdlp import solve_cdlp

    import_s = time.perf_counter() - start
    inst = slotopt.load_instance(OFFER_SET_INSTANCE)
    problem = assortment_problem(inst, inst.capacities)
    times: list[float] = []
    cpu: list[float] = []
    solves = 0
    value = 0.0
    for _ in range(repeat):
        c0 = time.process_time()
        t0 = time.perf_counter()
        if formulation.startswith("assortment"):
            best = best_offer(problem, method=formulation.split("-")[1], mip_gap=0.0)
            solves, value = best.solves, best.value
        else:
            bound = solve_cdlp(inst, method=formulation.split("-")[1])
            solves, value = bound.rounds, bound.value
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return {
        "formulation": formulation,
        "pyomo_import_s": import_s,
        "best_s": min(times),
        "times_s": times,
        "best_cpu_s": min(cpu),
        "solves_or_rounds": solves,
        "value": value,
        "peak_rss_mb": _rss_mb(),
    }


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
    import slotopt.formulations.matching_models  # noqa: F401

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

    cpu_start = time.process_time()
    start = time.perf_counter()
    same: bool | None = None
    if formulation in ("feasibility", "max-appointments"):
        from slotopt.formulations.matching.flow import can_serve, max_appointments

        if formulation == "feasibility":
            answer, info = can_serve(inst, greedy.matched)
            same = answer  # the greedy's set must be servable
        else:
            count, info = max_appointments(inst)
            same = count == greedy.n_matched  # Theorem 1
        row.update(_timings(info))
    elif formulation == "lp-contrib-translate":
        from pyomo.contrib.solver.solvers.highs import Highs

        from slotopt.engines.matching.order import priority_order

        order = priority_order(inst.priority, inst.applicant_ids, seed)
        t0 = time.perf_counter()
        model = mm.build_weighted_lp(inst, order)
        build = time.perf_counter() - t0
        opt = Highs()
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
        from slotopt.formulations.matching.second_stage import (
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
        row.update(_timings(info, result.status.value))
    total = time.perf_counter() - start
    row.update(
        total_s=total,
        total_cpu_s=time.process_time() - cpu_start,
        ratio=total / max(greedy.seconds, 1e-9),
        same_as_greedy=same,
        rss_before_mb=rss_before,
        peak_rss_mb=_rss_mb(),
    )
    return row


def _run_child(child_args: list[str], label: str) -> dict[str, Any] | None:
    """Run ``--child`` in a fresh process; its JSON row, or None (and the error) if it failed."""
    cmd = [sys.executable, __file__, "--child", *child_args]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(f"{label}: FAILED\n{done.stderr[-2000:]}")
        return None
    row: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return row


def _offer_set(args: argparse.Namespace) -> bool:
    """Run the offer-set formulations (one child process each) and print their table."""
    rows = []
    ok = True
    for formulation in [f for f in args.offer_set.split(",") if f]:
        if formulation not in OFFER_SET:
            print(f"{formulation}: unknown offer-set formulation; choose from {OFFER_SET}")
            ok = False
            continue
        extra = ["--cores", str(args.cores), "--repeat", str(args.repeat)]
        row = _run_child(["0", formulation, *extra], f"offer-set {formulation}")
        if row is None:
            ok = False
            continue
        rows.append(
            {
                "formulation": row["formulation"],
                "best s": row["best_s"],
                "best cpu s": row["best_cpu_s"],
                "runs s": " ".join(f"{t:.3f}" for t in row["times_s"]),
                "solves/rounds": row["solves_or_rounds"],
                "value": round(row["value"], 9),
                "peak MB": row["peak_rss_mb"],
            }
        )
    if rows:
        print(f"\noffer-set formulations on instances/offer-set-day, best of {args.repeat}:")
        print(table(rows))
        print()
    return ok


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
    parser.add_argument(
        "--offer-set",
        default=",".join(OFFER_SET),
        help="offer-set formulations, run once each on instances/offer-set-day ('' for none)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="offer-set runs (best is shown)")
    parser.add_argument("--child", nargs=2, metavar=("N", "FORMULATION"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        if args.child[1] in OFFER_SET:
            print(json.dumps(offer_set_child(args.child[1], args.cores, args.repeat)))
        else:
            print(json.dumps(child(int(args.child[0]), args.child[1], args.seed, args.cores)))
        return 0

    print(environment(args.cores))
    sizes = [1_000] if args.quick else [int(s) for s in args.sizes.split(",") if s]
    wanted = [f for f in args.formulations.split(",") if f]
    ok = _offer_set(args) if args.offer_set else True
    rows = []
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
            extra = ["--seed", str(args.seed), "--cores", str(args.cores)]
            row = _run_child([str(n), formulation, *extra], f"{n:,} {formulation}")
            if row is None:
                ok = False
                continue
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
            "cpu s": r["total_cpu_s"],
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
