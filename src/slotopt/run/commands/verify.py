"""``slotopt verify INSTANCE_DIR``: solve with several methods, check certificates, compare.

Prints the agreement table of :func:`slotopt.verify.cross_validate.cross_validate` and exits 0
when every method that ran passes its certificates and serves the same applicants, 1 otherwise.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

import pandas as pd

from slotopt.errors import InstanceError, UsageError
from slotopt.instance import MatchingInstance, load_instance
from slotopt.methods import MATCHING_METHODS, SECOND_STAGES

# what the help says comes from the registry (the defaults are cross_validate's)
_DEFAULT = "greedy,naive,lp,lexicographic"
_NAIVE = MATCHING_METHODS["naive"].impractical_above or 0
_POSITIONS = MATCHING_METHODS["lexicographic"].impractical_above or 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "verify",
        help="cross-validate methods on a matching instance (certificates + agreement)",
        description="Solve a matching instance with several methods under the same lottery seed, "
        "check each result's certificates (feasible, maximum, respects priorities) and compare "
        "the matched sets. Exit 1 on any disagreement or failed certificate.",
    )
    p.add_argument("instance", type=Path, help="matching instance folder")
    p.add_argument(
        "--methods",
        default=_DEFAULT,
        help=f"comma-separated methods from {', '.join(MATCHING_METHODS)} (default: {_DEFAULT}; "
        f"naive is skipped above {_NAIVE:,} applicants and the table says so)",
    )
    p.add_argument("--seed", type=int, default=None, help="lottery seed (default: instance's)")
    p.add_argument(
        "--second-stage",
        choices=list(SECOND_STAGES),
        default=None,
        help="also run this second stage on every method's matched set and compare its optimum",
    )
    p.add_argument(
        "--levels",
        choices=["positions", "tiers"],
        default=None,
        help=f"lexicographic levels (default: positions up to {_POSITIONS:,} applicants, tiers "
        "above)",
    )
    p.add_argument(
        "--time-limit",
        type=float,
        default=None,
        help="seconds for each method's solves (one budget per method)",
    )
    p.set_defaults(run=run)


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}"
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def format_table(df: pd.DataFrame) -> str:
    """The agreement table as aligned text (status and notes below the columns)."""
    cols = [
        "method",
        "n_matched",
        "same_matched_set",
        "certificates_ok",
        "total_rank",
        "second_stage_objective",
        "seconds",
    ]
    heads = ["method", "matched", "same set", "certificates", "total rank", "2nd stage", "seconds"]
    cells = [[_cell(getattr(r, c)) for c in cols] for r in df.itertuples()]
    width = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(heads)]
    lines = [
        "  ".join(
            h.ljust(w) if i == 0 else h.rjust(w)
            for i, (h, w) in enumerate(zip(heads, width, strict=True))
        )
    ]
    lines.append("  ".join("-" * w for w in width))
    for row in cells:
        lines.append(
            "  ".join(
                v.ljust(w) if i == 0 else v.rjust(w)
                for i, (v, w) in enumerate(zip(row, width, strict=True))
            )
        )
    notes = [f"{r.method}: {r.status}" for r in df.itertuples() if r.status != "ok"]
    notes += [f"{r.method}: {r.note}" for r in df.itertuples() if r.note]
    return "\n".join(lines + notes)


def run(args: argparse.Namespace) -> int:
    from slotopt.verify.cross_validate import cross_validate, disagreements

    inst = load_instance(args.instance)
    if not isinstance(inst, MatchingInstance):
        raise InstanceError(
            f"{args.instance}: slotopt verify cross-validates matching instances; this one is "
            f"kind {getattr(inst, 'kind', '?')!r}"
        )
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in methods if m not in MATCHING_METHODS]
    if not methods or unknown:
        raise UsageError(
            f"--methods: unknown method(s) {', '.join(unknown) or '(none given)'}; choose from "
            f"{', '.join(MATCHING_METHODS)}"
        )
    from slotopt.run.progress import Progress

    options = {} if args.time_limit is None else {"time_limit": args.time_limit}
    with Progress(f"verify: {len(methods)} methods", len(methods)) as bar:
        df = cross_validate(
            inst,
            methods,
            seed=args.seed,
            second_stage=args.second_stage,
            levels=args.levels,
            progress=bar,
            **options,
        )
    print(f"{inst.describe()}; seed {df.attrs['seed']}")
    print(format_table(df))
    problems = disagreements(df)
    if problems:
        print("DISAGREEMENT:")
        for line in problems:
            print(f"  - {line}")
        return 1
    ran = int((df["status"] == "ok").sum())
    print(f"all {ran} methods that ran agree and pass their certificates")
    return 0
