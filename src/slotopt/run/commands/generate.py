"""``slotopt generate OUT_DIR --applicants N``: write a generated prefecture week as an instance
folder (whole or not at all), recording the command that made it in ``instance.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import sys

from slotopt._atomic import check_output_folder
from slotopt.instance import FORMATS, require_format, write_instance
from slotopt.run.commands._args import non_negative_int, positive_float, positive_int

SHAPES = ("prefecture", "hub")
# the options each shape takes (the others are a usage error for it)
_HUB_OPTIONS = frozenset({"n_sites", "days", "name"})

# (flag, attribute, generator keyword) of the optional model parameters, in the order they are
# written back into ``generated_by``
_OPTIONS = (
    ("--slots", "slots", "n_slots"),
    ("--sites", "sites", "n_sites"),
    ("--days", "days", "days"),
    ("--pairs-per-applicant", "pairs_per_applicant", "pairs_per_applicant"),
    ("--supply-ratio", "supply_ratio", "supply_ratio"),
    ("--name", "name", "name"),
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "generate",
        help="write a generated, realistic matching instance (a prefecture week)",
        description=(
            "Generate a seeded week of appointment requests at a few sites (15-minute slots, "
            "applicants with availability windows at one or two sites, priority tiers with "
            "ties) and write it as an instance folder. The same arguments always give the "
            "same files. The model is documented in docs/generator.md."
        ),
    )
    parser.add_argument("out", metavar="OUT_DIR", help="the instance folder to create")
    parser.add_argument(
        "--applicants", type=positive_int, required=True, metavar="N", help="number of applicants"
    )
    parser.add_argument(
        "--seed", type=non_negative_int, default=0, metavar="S", help="generator seed (default 0)"
    )
    parser.add_argument(
        "--shape",
        choices=SHAPES,
        default="prefecture",
        help="prefecture: a few sites, windows of hour blocks (default); hub: a vaccination hub "
        "network, 10,000 slots per million applicants, blocks of consecutive windows at 1-3 "
        "nearby sites, demand 3x supply (takes --sites, --days, --name only)",
    )
    parser.add_argument(
        "--slots",
        type=positive_int,
        metavar="K",
        help="exact number of slots; the number of sites follows (default: 3 sites, 420 slots)",
    )
    parser.add_argument(
        "--sites",
        type=positive_int,
        metavar="N",
        help="number of sites (default 3; not with --slots)",
    )
    parser.add_argument(
        "--days", type=positive_int, metavar="D", help="working days in the horizon (default 5)"
    )
    parser.add_argument(
        "--pairs-per-applicant",
        type=positive_float,
        metavar="P",
        help="target mean number of acceptable slots per applicant (default: about 14)",
    )
    parser.add_argument(
        "--supply-ratio",
        type=positive_float,
        metavar="R",
        help="expected appointments per applicant (default 0.7: demand exceeds supply)",
    )
    parser.add_argument("--name", help="instance name (default prefecture-N-seedS)")
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="csv",
        help="table format: csv (default) or parquet (needs pip install 'slotopt[parquet]')",
    )
    parser.add_argument("--force", action="store_true", help="replace an existing OUT_DIR")
    parser.set_defaults(run=run)


def command_line(args: argparse.Namespace) -> str:
    """The canonical command that regenerates these files (recorded as ``generated_by``)."""
    words = ["slotopt", "generate", str(args.out), "--applicants", str(args.applicants)]
    words += ["--seed", str(args.seed)]
    if args.shape != "prefecture":
        words += ["--shape", args.shape]
    if getattr(args, "format", "csv") != "csv":
        words += ["--format", args.format]
    for flag, attr, _ in _OPTIONS:
        value = getattr(args, attr)
        if value is not None:
            words += [flag, f"{value:g}" if isinstance(value, float) else str(value)]
    return shlex.join(words)


def run(args: argparse.Namespace) -> int:
    # the generator's distributions (scipy.stats) load only when it runs
    from slotopt.instance.generate import generate_hub, generate_prefecture, instance_statistics

    check_output_folder(args.out, force=args.force)  # before generating
    table_format = getattr(args, "format", "csv")
    require_format(table_format)
    options = {kw: getattr(args, a) for _, a, kw in _OPTIONS if getattr(args, a) is not None}
    shape = getattr(args, "shape", "prefecture")
    try:
        if shape == "hub":
            unusable = sorted(
                f for f, _, kw in _OPTIONS if kw in options and kw not in _HUB_OPTIONS
            )
            if unusable:
                raise ValueError(f"--shape hub does not take {', '.join(unusable)}")
            inst = generate_hub(args.applicants, seed=args.seed, **options)
        else:
            inst = generate_prefecture(args.applicants, seed=args.seed, **options)
    except ValueError as exc:
        print(f"slotopt generate: error: {exc}", file=sys.stderr)
        return 2
    meta = {"generated_by": command_line(args), **inst.meta}
    inst = dataclasses.replace(inst, provenance=inst.provenance.replace(meta=meta))
    write_instance(inst, args.out, force=args.force, format=table_format)
    print(f"wrote {args.out}: {inst.describe()}, seed {args.seed}")
    if shape == "hub":
        stats = instance_statistics(inst)
        print(", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in stats.items()))
    return 0
