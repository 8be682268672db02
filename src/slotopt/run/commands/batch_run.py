"""``slotopt batch-run FOLDER``: replay a ``kind: "batch"`` instance's periods and write the
per-period results (optionally recording every draw in a registry)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from slotopt._atomic import OutputExistsError
from slotopt.errors import InstanceError, UsageError
from slotopt.instance import load_instance
from slotopt.instance.batch import MECHANISMS


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "batch-run",
        help="run the batch lottery over a kind 'batch' instance's periods",
        description="Replay every period of a kind 'batch' instance: slots released, requests "
        "collected and de-duplicated, commitment, draw, confirmations and cancellations. Writes "
        "per-period tables and plots to a result folder, atomically.",
    )
    p.add_argument("instance", type=Path, help="instance folder (kind 'batch')")
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="result folder to create (default: results/<instance name>)",
    )
    p.add_argument(
        "--db",
        type=Path,
        default=None,
        help="registry file (SQLite) that records registrations, commitments and draws",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=None,
        help="master seed of the replay (default: instance.json's seed, else drawn)",
    )
    p.add_argument(
        "--mechanism",
        choices=MECHANISMS,
        default=None,
        help="override the instance's mechanism (e.g. fcfs for the status quo)",
    )
    p.add_argument("--force", action="store_true", help="replace an existing result folder")
    p.set_defaults(run=run)


def _open_registry(db: Path) -> Any:
    try:
        from slotopt.registry import Registry
    except ImportError:
        raise UsageError(
            "--db needs the registry (slotopt.registry), which this installation does not have; "
            "run without --db"
        ) from None
    return Registry(db)


def run(args: argparse.Namespace) -> int:
    from slotopt.batch import run as run_batches

    if args.seed is not None and args.seed < 0:
        raise UsageError(f"--seed must be a non-negative integer, got {args.seed}")
    inst = load_instance(args.instance)
    if getattr(inst, "kind", None) != "batch":
        raise InstanceError(
            f"instance.json, key kind: batch-run needs kind 'batch', got {inst.kind!r} "
            "(use slotopt solve)"
        )
    out = args.out if args.out is not None else Path("results") / inst.name
    if out.exists() and not args.force:
        raise OutputExistsError(f"{out}: already exists; choose another --out or pass --force")
    recorder = _open_registry(args.db) if args.db is not None else None
    try:
        result = run_batches(inst, seed=args.seed, recorder=recorder, mechanism=args.mechanism)
    finally:
        close = getattr(recorder, "close", None)
        if close is not None:
            close()
    result.to_folder(out, force=args.force)
    print(result.report())
    print(f"wrote {out}")
    return 0
