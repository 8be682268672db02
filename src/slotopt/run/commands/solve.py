"""``slotopt solve INSTANCE_DIR``: solve any instance kind and write its result folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from slotopt._atomic import check_output_folder
from slotopt.errors import UsageError
from slotopt.instance import load_instance
from slotopt.run.commands._args import non_negative_float, non_negative_int
from slotopt.run.folders import check_result_folder
from slotopt.run.solve import solve


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "solve",
        help="solve an instance folder and write a result folder",
        description="Solve an instance folder (any kind) and write summary.json plus the kind's "
        "tables to a result folder, atomically.",
    )
    p.add_argument("instance", type=Path, help="instance folder (contains instance.json)")
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="result folder to create (default: results/<instance name>)",
    )
    p.add_argument(
        "--method",
        default=None,
        help="method; matching: greedy (default), naive, serial-dictatorship, lp, "
        "lexicographic; offer_set: dp (default), enumerate",
    )
    p.add_argument(
        "--seed",
        type=non_negative_int,
        default=None,
        help="lottery/simulation seed (default: instance.json's seed, else drawn)",
    )
    p.add_argument(
        "--verify", action="store_true", help="check the result's certificates; exit 1 if any fails"
    )
    p.add_argument(
        "--second-stage",
        choices=["min-rank", "rank-maximal"],
        default=None,
        help="matching only: choose each matched applicant's best slot by rank",
    )
    p.add_argument(
        "--time-limit",
        type=non_negative_float,
        default=None,
        help=(
            "seconds for the method's solves, one budget for its whole sequence and one for "
            "its second stage (MIP methods; 0 stops at HiGHS's first check)"
        ),
    )
    p.add_argument("--force", action="store_true", help="replace an existing result folder")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # The output is checked before any work (and again by the writer, under its lock).
    if args.out is not None:
        check_output_folder(args.out, force=args.force, inputs=[args.instance])
    inst = load_instance(args.instance)
    out = args.out if args.out is not None else Path("results") / inst.name
    if args.out is None:
        check_result_folder(out, inst, force=args.force)
    if args.second_stage is not None and inst.kind != "matching":
        raise UsageError(
            f"--second-stage: applies to matching instances only; {args.instance} is kind "
            f"{inst.kind!r}"
        )
    options = {}
    if args.second_stage is not None:
        options["second_stage"] = args.second_stage
    if args.time_limit is not None:
        options["time_limit"] = args.time_limit
    # a failure after solving started is recorded in the folder and the exit code, not raised
    options["on_failure"] = "record"
    result = solve(inst, method=args.method, seed=args.seed, verify=args.verify, **options)
    result.to_folder(out, force=args.force)
    print(result.report())
    print(f"wrote {out}")
    return 0 if result.ok else 1
