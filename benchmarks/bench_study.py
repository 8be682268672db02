"""Benchmark: the Kaluza et al. (2024) full factorial study, and its ratio to solving one by one.

Run from the repository root (results go in docs/performance.md, "Kaluza factorial study"):

    python benchmarks/bench_study.py               # pinned to at most 2 cores
    python benchmarks/bench_study.py --quick       # no one-by-one baseline, a smoke run

Part 1 is the offer-set target: the whole factorial study (936 instances under the default
reading: every instance solved exactly, every decision rule evaluated exactly) in under 3 s on a
2-core machine. ``run_kaluza_study`` is timed from scratch ``--repeats`` times (default 3), without
and with the Sect. 6.3.3 sensitivity analysis (every beta_e policy under every beta_a); the best
and the median wall-clock time are printed, and the best CPU time of this process (on a shared
machine that is what the run would take alone: the study is single-threaded). Writing the CSVs
and PNGs (``slotopt study kaluza``) is not included.

Part 2 is the baseline, in the same process: the same 936 instances solved one at a time through
the engines' public entry points (``backward_induction`` + ``evaluate_rules(n_runs=0)`` per
instance), timed once, checked to give the same values, and the ratio printed.
"""

from __future__ import annotations

import argparse
import statistics
import sys

import numpy as np

from slotopt.engines.offer_set.dp import backward_induction
from slotopt.engines.offer_set.rules import RULES, evaluate_rules
from slotopt.instance.offer_set import offer_set_from_dict
from slotopt.run.studies.kaluza import design, instance_spec, run_kaluza_study

from _common import environment, timed, timed_cpu

TARGET_SECONDS = 3.0


def one_by_one() -> np.ndarray:
    """Optimal and rule values of every instance, solved separately: shape (n, 1 + rules)."""
    rows = []
    for _, row in design().iterrows():
        inst = offer_set_from_dict(instance_spec(row))
        sol = backward_induction(inst)
        rules = evaluate_rules(inst, solution=sol, n_runs=0)
        rows.append([sol.optimal_value, *(rules[r].expected_revenue for r in RULES)])
    return np.asarray(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="study runs (default 3)")
    parser.add_argument("--cores", type=int, default=2, help="pin to this many cores (default 2)")
    parser.add_argument("--quick", action="store_true", help="skip the one-by-one baseline")
    args = parser.parse_args(argv)

    print(environment(args.cores))

    run_kaluza_study(kappas=[3], betas=[0.0], sensitivity=False)  # imports and caches warm
    print("\nPart 1: the full factorial study (default reading)")
    study = None
    for sensitivity in (False, True):
        times, cpus = [], []
        for _ in range(max(1, args.repeats)):
            seconds, cpu, study = timed_cpu(run_kaluza_study, sensitivity=sensitivity)
            times.append(seconds)
            cpus.append(cpu)
        best, median = min(times), statistics.median(times)
        label = "with sensitivity" if sensitivity else "DP + rules"
        verdict = "met" if best < TARGET_SECONDS else "MISSED"
        print(
            f"  {label:<17} {study.n_instances} instances: best {best:.2f} s, median "
            f"{median:.2f} s over {len(times)} runs (best cpu {min(cpus):.2f} s); "
            f"target < {TARGET_SECONDS:.0f} s: {verdict}"
        )
    assert study is not None
    s = study.summary()
    print(
        f"  myopic suboptimal in {s['myopic_suboptimal']} instances; "
        f"mean myopic gap {s['mean_myopic_gap_pct']:.4f}%"
    )
    if args.quick:
        return 0

    print("\nPart 2: baseline, every instance solved one by one through the engines")
    base_s, base = timed(one_by_one)
    t_study, st = timed(run_kaluza_study, sensitivity=False)
    ours = st.instances[["optimal", *RULES]].to_numpy()
    diff = float(np.abs(base - ours).max())
    print(
        f"  one by one {base_s:.2f} s, study {t_study:.2f} s: ratio {base_s / t_study:.1f}; "
        f"max |difference| {diff:.1e}"
    )
    if diff > 1e-9:
        print("  VALUES DIFFER", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
