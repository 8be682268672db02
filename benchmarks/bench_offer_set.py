"""Benchmark: the offer-set DP on a realistic day, and its ratio to the enumerating DP.

Run from the repository root (results go in docs/performance.md, "Offer-set DP"):

    python benchmarks/bench_offer_set.py            # both parts, pinned to at most 2 cores
    python benchmarks/bench_offer_set.py --quick    # smaller sizes, a smoke run

Part 1 is the offer-set target: ``instances/offer-set-day`` -- 32 slots (15-minute cycle, 8 a.m. to
4 p.m.) in 4 slot types, 96 periods, 6,561 booking states -- solved exactly by
``backward_induction(method="sort")`` (Dinkelbach passes over sorted units) in under 10 s on 2
cores. Each repeat solves from scratch; the best and the median are printed.

Part 2 solves the same day shrunk to sizes the enumerating DP (every offer vector in every state,
``prod(s_n + 1)`` per state) can still do, both methods in this process, checks that the value
functions agree, and prints the ratio enumerate / sort.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from slotopt.engines.offer_set.dp import backward_induction
from slotopt.instance import load_instance
from slotopt.instance.offer_set import OfferSetInstance, offer_set_from_dict

from _common import environment

REPO = Path(__file__).resolve().parents[1]
DAY = REPO / "instances" / "offer-set-day"
TARGET_SECONDS = 10.0


def shrink(day: OfferSetInstance, per_type: int, horizon: int) -> OfferSetInstance:
    """The day with ``per_type`` slots in each type and ``horizon`` periods (same weights, beta)."""
    spec: dict[str, Any] = day.to_spec()
    spec["slot_types"] = [{**t, "capacity": per_type} for t in spec["slot_types"]]
    spec["horizon"] = horizon
    spec["arrival_rate"] = float(np.mean(day.alpha()))
    kappa = per_type * day.n_types
    spec["lower_bound"] = max(0.25 * kappa, 1.0)
    spec["upper_bound"] = float(kappa)
    spec["name"] = f"day-{kappa}-slots-{horizon}-periods"
    return offer_set_from_dict(spec)


def timed(inst: OfferSetInstance, method: str) -> tuple[float, Any]:
    start = time.perf_counter()
    sol = backward_induction(inst, method=method)  # type: ignore[arg-type]
    return time.perf_counter() - start, sol


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="solves of the day (default 3)")
    parser.add_argument("--cores", type=int, default=2, help="pin to this many cores (default 2)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, a smoke run")
    args = parser.parse_args(argv)

    print(environment(args.cores))

    day = load_instance(DAY)
    if args.quick:
        day = shrink(day, 4, 48)
    print(
        f"\nPart 1: {day.name}: {day.total_capacity} slots in {day.n_types} types, "
        f"{day.horizon} periods, {day.n_states:,} states"
    )
    times = []
    seconds, sol = timed(day, "sort")
    times.append(seconds)
    for _ in range(max(1, args.repeats) - 1):
        seconds, sol = timed(day, "sort")
        times.append(seconds)
    best, median = min(times), statistics.median(times)
    print(
        f"  dp (sort): best {best:.2f} s, median {median:.2f} s over {len(times)} runs; "
        f"V = {sol.optimal_value:.6f}; target < {TARGET_SECONDS:.0f} s: "
        f"{'met' if median < TARGET_SECONDS else 'MISSED'}"
    )

    sizes = [(2, 24), (3, 36)] if args.quick else [(3, 48), (4, 64), (5, 80)]
    print("\nPart 2: enumerating DP vs sort DP, same process (the day shrunk per type)")
    header = f"  {'slots':>5} {'periods':>7} {'states':>7} {'offers':>7} {'sort s':>8} "
    print(header + f"{'enumerate s':>11} {'ratio':>7} {'max |dV|':>9}")
    for per_type, horizon in sizes:
        inst = shrink(day, per_type, horizon)
        t_sort, a = timed(inst, "sort")
        t_enum, b = timed(inst, "enumerate")
        diff = float(np.abs(a.values - b.values).max())
        print(
            f"  {inst.total_capacity:>5} {horizon:>7} {inst.n_states:>7,} {inst.n_states:>7,} "
            f"{t_sort:>8.3f} {t_enum:>11.3f} {t_enum / t_sort:>7.1f} {diff:>9.1e}"
        )
        if diff > 1e-9:
            print("  VALUES DIFFER", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
