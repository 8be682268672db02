"""One batch draw at scale: each mechanism of ``slotopt.engines.batch.draw`` on R requests for
S slots, against the hashing floor (``uniform_order`` alone: one SHA-256 per request), plus the
table round trip an audit makes (``requests_to_frames`` then ``requests_from_frames``).

    python benchmarks/bench_batch_draw.py --requests 1000000 --slots 5000 --capacity 10

Each request accepts 1-3 distinct slots (seeded); carry-over counts are 0-4 (the weighted draw's
linear rule then hashes up to 5 tickets per request). Best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse

import numpy as np

from slotopt.engines.batch import (
    MECHANISMS,
    BatchRequests,
    BatchSlots,
    draw,
    requests_from_frames,
    requests_to_frames,
)
from slotopt.engines.lottery import uniform_order

from _common import environment, table, timed_cpu


def make(
    n_requests: int, n_slots: int, capacity: int, seed: int
) -> tuple[BatchRequests, BatchSlots]:
    rng = np.random.default_rng(seed)
    k = rng.integers(1, 4, n_requests)
    indptr = np.zeros(n_requests + 1, dtype=np.int64)
    np.cumsum(k, out=indptr[1:])
    offset = np.arange(indptr[-1]) - np.repeat(indptr[:-1], k)
    acc = (np.repeat(rng.integers(0, n_slots, n_requests), k) + offset) % n_slots
    requests = BatchRequests(
        request_id=np.array([f"r{i:07d}" for i in range(n_requests)], dtype=object),
        priority_tier=rng.integers(1, 3, n_requests),
        carry_over=rng.integers(0, 5, n_requests),
        registered_at=rng.permutation(n_requests),
        acc_indptr=indptr,
        acc_slot=acc,
        acc_rank=np.full(len(acc), -1),
    )
    slots = BatchSlots(
        slot_id=np.array([f"s{j:05d}" for j in range(n_slots)], dtype=object),
        capacity=np.full(n_slots, capacity),
    )
    return requests, slots


def best(repeat: int, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    runs = [timed_cpu(fn, *args, **kwargs) for _ in range(repeat)]
    wall = min(r[0] for r in runs)
    cpu = min(r[1] for r in runs)
    return wall, cpu, runs[-1][2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--slots", type=int, default=5000)
    parser.add_argument("--capacity", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args(argv)
    print(environment(args.cores))
    requests, slots = make(args.requests, args.slots, args.capacity, seed=0)
    floor, floor_cpu, _ = best(
        args.repeat, uniform_order, 1, requests.request_id, context="batch-bench"
    )
    rows = [
        {
            "step": "uniform_order (floor)",
            "wall_s": floor,
            "cpu_s": floor_cpu,
            "x_floor": 1.0,
            "allocated": 0,
        }
    ]
    for m in MECHANISMS:
        params = {"rule": "linear"} if m == "weighted" else {}
        wall, cpu, d = best(
            args.repeat, draw, m, requests, slots, seed=1, context="batch-bench", **params
        )
        rows.append(
            {
                "step": f"draw {m}",
                "wall_s": wall,
                "cpu_s": cpu,
                "x_floor": wall / floor,
                "allocated": d.n_allocated,
            }
        )
    wall, cpu, frames = best(args.repeat, requests_to_frames, requests, slots)
    rows.append(
        {
            "step": "requests_to_frames",
            "wall_s": wall,
            "cpu_s": cpu,
            "x_floor": wall / floor,
            "allocated": 0,
        }
    )
    wall, cpu, _ = best(args.repeat, requests_from_frames, *frames)
    rows.append(
        {
            "step": "requests_from_frames",
            "wall_s": wall,
            "cpu_s": cpu,
            "x_floor": wall / floor,
            "allocated": 0,
        }
    )
    print(
        f"{args.requests:,} requests, {args.slots:,} slots x {args.capacity} = "
        f"{args.slots * args.capacity:,} appointments"
    )
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
