"""``slotopt study kaluza``: run a paper's numerical study and write its tables and plots.

``kaluza`` is the full factorial design of Kaluza, Voigt, Haase & Dietze (2024), Sect. 6
(:mod:`slotopt.run.studies.kaluza`). The result folder holds ``instances.csv``, ``table5.csv``,
``rules.csv``, ``sensitivity.csv``, ``paper.csv`` (each published number beside ours),
``table5.png``, ``rules.png``, ``sensitivity.png`` and ``summary.json``, written whole or not at
all.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from slotopt._atomic import check_output_folder
from slotopt.run.studies.kaluza import READINGS, Reading, run_kaluza_study

DEFAULT_OUT = Path("results") / "kaluza-study"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "study",
        help="run a paper's numerical study (kaluza: Kaluza et al. 2024, Sect. 6)",
        description="Run a paper's numerical study and write its tables, plots and summary.",
    )
    studies = p.add_subparsers(dest="study", metavar="STUDY", required=True)
    k = studies.add_parser(
        "kaluza",
        help="the full factorial design of Kaluza et al. (2024), Sect. 6",
        description=(
            "Solve every instance of Kaluza et al. (2024)'s full factorial design exactly, "
            "evaluate the decision rules of Sect. 6.3.1 and the beta sensitivity of Sect. 6.3.3, "
            "and write instances.csv, table5.csv, rules.csv, sensitivity.csv, paper.csv, PNG "
            "plots and summary.json. See docs/reproductions/kaluza2024.md."
        ),
    )
    k.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help=f"result folder to create (default: {DEFAULT_OUT})",
    )
    k.add_argument(
        "--reading",
        default="default",
        help=(
            "how to read the paper where it is ambiguous: a preset "
            f"({', '.join(READINGS)}) or key=value pairs, keys a (sect6.3.1 | sect6.1), "
            "periods (appendix-g | tau-hat), betas (half-steps | sect6.1); default: "
            f"{Reading().key}"
        ),
    )
    k.add_argument(
        "--no-sensitivity",
        action="store_true",
        help="skip the beta_e x beta_a sensitivity analysis of Sect. 6.3.3",
    )
    k.add_argument("--force", action="store_true", help="replace an existing result folder")
    k.set_defaults(run=run)


class _Progress:
    """A one-line progress bar on stderr (used only when stderr is a terminal)."""

    def __init__(self, label: str) -> None:
        self.label = label

    def __call__(self, done: int, total: int) -> None:
        width = 30
        filled = width * done // max(total, 1)
        bar = "#" * filled + "." * (width - filled)
        end = "\n" if done >= total else ""
        print(f"\r{self.label} [{bar}] {done}/{total}", end=end, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    reading = Reading.parse(args.reading)
    out: Path = args.out
    check_output_folder(out, force=args.force)  # before computing; the writer checks again
    progress = _Progress("kaluza study") if sys.stderr.isatty() else None
    study = run_kaluza_study(reading, sensitivity=not args.no_sensitivity, progress=progress)
    study.to_folder(out, force=args.force)
    print(study.report())
    print(f"wrote {out}")
    return 0
