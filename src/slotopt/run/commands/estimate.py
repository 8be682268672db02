"""``slotopt estimate CHOICES_CSV``: fit the quality-inference effect β by maximum likelihood.

Prints one line per fit (all situations, then each group of ``--by``); with ``--out DIR`` also
writes ``estimate.json`` and ``parameters.csv`` to DIR, whole or not at all.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from slotopt._atomic import atomic_folder, check_output_folder, write_json
from slotopt._version import __version__

if TYPE_CHECKING:  # scipy's optimiser loads only when a fit runs, not with the parser
    from slotopt.engines.offer_set.estimate import ChoiceFit


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "estimate",
        help="fit the quality-inference effect beta from observed choices",
        description=(
            "Fit beta (and slot-type weights when identified) by maximum likelihood from a CSV "
            "of choice situations (columns situation_id, alternative, shown, chosen; optional "
            "outside, slot_type, weight). See docs/estimation.md."
        ),
    )
    parser.add_argument("choices", metavar="CHOICES_CSV", help="the choices CSV (or its folder)")
    parser.add_argument("--out", metavar="DIR", help="write estimate.json and parameters.csv")
    parser.add_argument("--force", action="store_true", help="replace an existing --out folder")
    parser.add_argument(
        "--model",
        choices=("provider", "per-slot"),
        default="provider",
        help="provider: Eq. 1, one utility per alternative (the paper's survey model, default); "
        "per-slot: Eq. 5/2b, every shown slot is an option",
    )
    parser.add_argument(
        "--lower-bound",
        type=float,
        metavar="A",
        help="a of the ramp ((sigma - a)/(b - a))^+ (default: the smallest menu size shown)",
    )
    parser.add_argument(
        "--upper-bound",
        type=float,
        metavar="B",
        help="b of the ramp (default: the largest menu size shown)",
    )
    parser.add_argument(
        "--by",
        metavar="COLUMN",
        help="also fit each group of situations with the same value of COLUMN (same a, b)",
    )
    parser.add_argument(
        "--no-weights", action="store_true", help="do not fit slot-type weights (keep them 0)"
    )
    parser.set_defaults(run=run)


def _row(group: str, fit: ChoiceFit) -> dict[str, Any]:
    return {"group": group, **fit.summary()}


def run(args: argparse.Namespace) -> int:
    if args.out:
        check_output_folder(args.out, force=args.force, inputs=[args.choices])  # before fitting
    from slotopt.engines.offer_set.estimate import Model, fit_choice_model
    from slotopt.instance.choices import load_choices, split_by

    table = load_choices(args.choices)
    model: Model = "per_slot" if args.model == "per-slot" else "provider"
    fit_weights = False if args.no_weights else None
    overall = fit_choice_model(
        table,
        model=model,
        lower_bound=args.lower_bound,
        upper_bound=args.upper_bound,
        fit_weights=fit_weights,
    )
    fits: list[tuple[str, ChoiceFit]] = [("all", overall)]
    if args.by:
        for label, part in split_by(table, args.by).items():
            fits.append(
                (
                    label,
                    fit_choice_model(
                        part,
                        model=model,
                        lower_bound=overall.lower_bound,
                        upper_bound=overall.upper_bound,
                        fit_weights=fit_weights,
                    ),
                )
            )
    print(
        f"{table.describe()}; model {model}, f(sigma) = ((sigma - {overall.lower_bound:g}) / "
        f"({overall.upper_bound:g} - {overall.lower_bound:g}))^+"
    )
    width = max(5, *(len(g) for g, _ in fits))
    print(f"{'group':<{width}}  {'n':>5}  {'beta':>8}  {'se':>7}  {'z':>6}  {'loglik':>10}")
    for group, fit in fits:
        print(
            f"{group:<{width}}  {fit.n_situations:>5}  {fit.beta:>8.4f}  {fit.beta_se:>7.4f}  "
            f"{fit.z:>6.2f}  {fit.log_likelihood:>10.3f}"
        )
        if fit.weights:
            shown = ", ".join(f"{k} {v:.4f}" for k, v in fit.weights.items())
            print(f"{'':<{width}}  weights: {shown}")
    if args.out:
        params = pd.concat([f.parameters.assign(group=g) for g, f in fits], ignore_index=True)[
            ["group", "parameter", "estimate", "std_error", "z", "p_value"]
        ]
        summary = {
            "command": "estimate",
            "input": str(Path(args.choices).resolve()),
            "input_sha256": dict(table.input_sha256),
            "slotopt_version": __version__,
            "model": model,
            "by": args.by,
            "fits": [_row(g, f) for g, f in fits],
            "files": ["estimate.json", "parameters.csv"],
        }
        with atomic_folder(Path(args.out), force=args.force, inputs=[args.choices]) as tmp:
            params.to_csv(tmp / "parameters.csv", index=False)
            write_json(tmp / "estimate.json", summary)
        print(f"wrote {args.out}/estimate.json and parameters.csv")
    return 0
