"""Benchmark: solve-all throughput over many small instance folders, --jobs 1 vs 2 vs Dask.

Run from the repository root (results go in docs/performance.md, "Scale: solve-all"):

    python benchmarks/bench_solve_all.py               # 1,000 instances
    python benchmarks/bench_solve_all.py --quick       # 40 instances

The folders are ``generate_prefecture(300, seed=k)`` for k = 0 .. N-1 (about 4,400 pairs
each), written once to a temporary directory. Each configuration solves all of them into a
fresh results directory with :func:`slotopt.solve_all` (greedy, no certificates) and reports
instances per second, wall clock including pool start-up: a local process pool with 1 and 2
workers, and a Dask ``LocalCluster(processes=True, n_workers=2, threads_per_worker=1)`` on
loopback (skipped without ``slotopt[dask]``).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import slotopt
from slotopt.instance import write_instance
from slotopt.instance.generate import generate_prefecture

from _common import environment, table, timed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--applicants", type=int, default=300)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="40 instances")
    args = parser.parse_args(argv)
    n = 40 if args.quick else args.instances
    print(environment(args.cores))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "instances"
        for k in range(n):
            inst = generate_prefecture(args.applicants, seed=k, name=f"w{k:04d}")
            write_instance(inst, root / f"batch{k % 10}" / f"w{k:04d}")
        configs: list[tuple[str, dict[str, object]]] = [
            ("--jobs 1", {"jobs": 1}),
            ("--jobs 2", {"jobs": 2}),
        ]
        cluster = None
        if importlib.util.find_spec("distributed") is not None:
            from distributed import LocalCluster

            cluster = LocalCluster(
                processes=True,
                n_workers=2,
                threads_per_worker=1,
                host="127.0.0.1",
                dashboard_address=None,
            )
            configs.append(("Dask LocalCluster 2x1", {"scheduler": cluster.scheduler_address}))
        try:
            for k, (label, options) in enumerate(configs):
                wall, result = timed(slotopt.solve_all, root, Path(tmp) / f"out{k}", **options)
                if not result.ok or result.solved != n:
                    raise RuntimeError(f"{label}: {result.failed} failed")
                rows.append(
                    {
                        "configuration": label,
                        "instances": n,
                        "wall s": wall,
                        "instances / s": n / wall,
                    }
                )
            again, rerun = timed(slotopt.solve_all, root, Path(tmp) / "out0", jobs=2)
            rows.append(
                {
                    "configuration": "re-run, all finished (--jobs 2)",
                    "instances": rerun.skipped,
                    "wall s": again,
                    "instances / s": n / again,
                }
            )
        finally:
            if cluster is not None:
                cluster.close()
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
