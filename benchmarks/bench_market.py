"""Benchmark: 1,000 rounds of a 10,000-applicant scalper market, and its ratio to a per-agent loop.

Run from the repository root (results go in docs/performance.md, "Scalper market simulation"):

    python benchmarks/bench_market.py            # the target: 1,000 rounds per system
    python benchmarks/bench_market.py --quick    # 50 rounds, a smoke run

The market: 10,000 applicants, 5,000 slots per round (high demand), values uniform on
[10, 100], entry cost 100,000, everything else at the config defaults (docs/market.md). One run
of each system (FCFS, batch) with the learning scalper, best of ``--repeats`` (wall clock and
CPU time, as the machine may be shared), each round vectorised over applicants;
every batch round draws its lottery through ``slotopt.engines.batch.draw`` (10,000 requests, one
SHA-256 digest each). The target is under 30 s per system on 2 cores.

The baseline, run in the same process on fewer rounds and scaled per round, is the same round
written agent by agent in Python loops (decisions, arrivals, bookings, swaps, cancellations and
the accounting), with the same batch draw: what the vectorised round replaces.
"""

from __future__ import annotations

import argparse
import math
import sys

import numpy as np

from slotopt.engines.batch import BatchRequests, BatchSlots, draw
from slotopt.engines.market.simulation import run_streams, simulate_run
from slotopt.instance.market import MarketInstance, market_from_dict

from _common import environment, table, timed_cpu

TARGET_SECONDS = 30.0


def market(rounds: int) -> MarketInstance:
    return market_from_dict(
        {
            "kind": "market",
            "name": "bench-10k",
            "slots": 5000,
            "applicants": 10_000,
            "values": {"distribution": "uniform", "low": 10, "high": 100},
            "entry_cost": 100_000,
            "rounds": rounds,
            "seeds": 2,
            "seed": 1,
            "price": 55.0,
        }
    )


def loop_run(inst: MarketInstance, system: str, rounds: int, seed: int) -> float:
    """The per-agent baseline: one Python iteration per applicant for every step of a round.
    Returns the total applicants' welfare (so the work cannot be skipped)."""
    rng = np.random.Generator(np.random.PCG64(seed))
    n, m, p = inst.applicants, inst.slots, float(inst.price or 0.0)
    poll = inst.bot_poll_ms / 1000.0
    b_c, b_d, avg, carry, total = 1.0, inst.learning.initial_direct_belief, 0.0, 0, 0.0
    learn = inst.learning
    for t in range(rounds):
        prob = learn.exploration + (1 - 2 * learn.exploration) / (
            1 + math.exp(-max(-700.0, min(700.0, avg / learn.temperature)))
        )
        active = rng.random() < prob
        values = [10 + 90 * rng.random() for _ in range(n)]
        clients = [active and b_c * (v - p) >= b_d * v for v in values]
        direct = [not c and rng.random() >= inst.direct_failure for c in clients]
        holds = [False] * n
        paid = [False] * n
        if system == "fcfs":
            arrivals = sorted(
                (rng.random() * inst.window_seconds, i) for i in range(n) if direct[i]
            )
            free = m
            first_poll = rng.random() * poll if active else math.inf
            for a, i in arrivals:
                if free and a < first_poll:
                    holds[i], free = True, free - 1
            if active:
                searching = sum(1 for i in range(n) if direct[i] and not holds[i])
                grab = 1 - math.exp(-searching * poll / inst.human_retry_seconds)
                for i in range(n):
                    if free and clients[i]:
                        free -= 1
                        if rng.random() >= grab:
                            holds[i] = paid[i] = True
        else:
            ids = [f"a{i}" for i in range(n) if direct[i] or clients[i]]
            owners = [i for i in range(n) if direct[i] or clients[i]]
            r = len(ids)
            req = BatchRequests(
                request_id=np.array(ids, dtype=object),
                priority_tier=np.ones(r, dtype=np.int64),
                carry_over=np.zeros(r, dtype=np.int64),
                registered_at=np.zeros(r, dtype=np.int64),
                acc_indptr=np.arange(r + 1),
                acc_slot=np.zeros(r, dtype=np.int64),
                acc_rank=-np.ones(r, dtype=np.int64),
            )
            slots = BatchSlots(np.array(["slot"], dtype=object), np.array([m + carry]))
            res = draw("uniform", req, slots, seed=seed, context=f"round-{t + 1}")
            for k, i in enumerate(owners):
                if res.slot_of_request[k] >= 0:
                    holds[i] = True
                    paid[i] = clients[i]
        carry = 0
        for i in range(n):
            if holds[i] and rng.random() < inst.cancel_rate:
                holds[i] = False
                carry += 1
        n_clients = sum(clients)
        n_paid = sum(paid)
        n_direct = sum(direct)
        won_direct = sum(1 for i in range(n) if holds[i] and direct[i])
        if active:
            avg += learn.rate * ((p * n_paid - inst.entry_cost) - avg)
            if n_clients:
                b_c += learn.belief_rate * (n_paid / n_clients - b_c)
            if n_direct:
                b_d += learn.belief_rate * (won_direct / n_direct - b_d)
        total += sum(values[i] for i in range(n) if holds[i]) - p * n_paid
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50 rounds (a smoke run)")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs")
    parser.add_argument("--cores", type=int, default=2, help="pin to this many cores")
    parser.add_argument("--loop-rounds", type=int, default=5, help="rounds of the baseline")
    args = parser.parse_args(argv)
    print(environment(args.cores))
    rounds = 50 if args.quick else 1000
    inst = market(rounds)
    rows = []
    ok = True
    for system in ("fcfs", "batch"):
        best, best_cpu = math.inf, math.inf
        out: dict[str, np.ndarray] = {}
        for _ in range(args.repeats):
            seconds, cpu, out = timed_cpu(
                simulate_run, inst, system, inst.applicants, run_streams(1, 0, 0)
            )
            best, best_cpu = min(best, seconds), min(best_cpu, cpu)
        loop_best = loop_cpu = math.inf
        for _ in range(max(1, args.repeats - 1)):
            loop_s, loop_c, _total = timed_cpu(loop_run, inst, system, args.loop_rounds, 1)
            loop_best, loop_cpu = min(loop_best, loop_s), min(loop_cpu, loop_c)
        rows.append(
            {
                "system": system,
                "rounds": rounds,
                "seconds": best,
                "cpu seconds": best_cpu,
                "ms/round": 1000 * best / rounds,
                "loop ms/round": 1000 * loop_best / args.loop_rounds,
                "loop / vectorised (cpu)": (loop_cpu / args.loop_rounds) / (best_cpu / rounds),
                "late entry rate": float(np.mean(out["entered"][rounds // 2 :])),
            }
        )
        ok &= args.quick or best < TARGET_SECONDS
    print(table(rows))
    print(
        f"target: {rounds} rounds of a {inst.applicants:,}-applicant market under "
        f"{TARGET_SECONDS:.0f} s per system (best wall clock): {'met' if ok else 'NOT met'}"
    )
    print("(on a shared machine the cpu seconds are what the run takes alone)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
