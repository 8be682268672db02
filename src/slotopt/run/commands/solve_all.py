"""``slotopt solve-all INSTANCES_DIR --out RESULTS_DIR``: solve every instance folder below a
directory (any kind), in parallel processes or on a Dask cluster, resumably."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from slotopt.errors import UsageError
from slotopt.run.commands._args import positive_float, positive_int
from slotopt.run.solve_all import solve_all


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "solve-all",
        help="solve every instance folder below a directory (parallel, resumable)",
        description="Solve every instance folder (a folder with instance.json, any kind) below "
        "INSTANCES_DIR; write one result folder per instance under RESULTS_DIR (same relative "
        "paths) and RESULTS_DIR/summary.csv. A failing instance becomes a row with its error "
        "(exit 1 at the end); a re-run skips instances whose inputs are unchanged since their "
        "finished result. See docs/scaling.md.",
    )
    p.add_argument("instances", type=Path, metavar="INSTANCES_DIR")
    p.add_argument("--out", type=Path, required=True, metavar="RESULTS_DIR")
    p.add_argument(
        "--jobs",
        type=positive_int,
        default=None,
        metavar="N",
        help="worker processes on this machine (default: number of CPUs)",
    )
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run on an existing Dask cluster, e.g. tcp://10.0.0.5:8786 "
        "(needs slotopt[dask]; the workers must see the same files)",
    )
    p.add_argument(
        "--time-limit",
        type=positive_float,
        default=None,
        metavar="S",
        help="seconds for each instance's method (one budget; methods that call a solver)",
    )
    p.add_argument(
        "--method",
        default=None,
        metavar="M",
        help="method for every instance (default: each kind's default)",
    )
    p.add_argument(
        "--verify",
        action="store_true",
        help="check each result's certificates; a failed check is an error row",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="solve everything again and accept an existing RESULTS_DIR",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.jobs is not None and args.scheduler is not None:
        raise UsageError("give --jobs or --scheduler, not both (a cluster has its own workers)")
    result = solve_all(
        args.instances,
        args.out,
        jobs=args.jobs,
        scheduler=args.scheduler,
        method=args.method,
        time_limit=args.time_limit,
        verify=args.verify,
        force=args.force,
    )
    print(
        f"{len(result.rows)} instances: {result.solved} solved, {result.skipped} already done, "
        f"{result.failed} failed; wrote {result.out / 'summary.csv'}"
    )
    for row in result.rows.itertuples():
        if row.status == "failed":
            print(f"  {row.instance}: {row.error}", file=sys.stderr)
    if result.interrupted:
        print("slotopt solve-all: interrupted; run again to resume", file=sys.stderr)
        return 130
    return 0 if result.failed == 0 else 1
