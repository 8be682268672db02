"""``slotopt simulate market CONFIG.json``: the scalper market, FCFS against batch.

Runs the agent-based simulation of the config's situations (and its sweep, unless
``--no-sweep``) and writes ``summary.json``, ``rounds.csv``, ``situations.csv``, ``sweep.csv`` and
the plots to ``--out`` (default ``results/market-<name>``), whole or not at all. A progress bar is
drawn on stderr only when stderr is a terminal (a minimal one in this module: no shared progress
module existed when this command was written).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from slotopt._atomic import OutputExistsError
from slotopt.engines.market.experiment import simulate_market
from slotopt.instance.market import load_market
from slotopt.run.market_result import MarketResult


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "simulate",
        help="agent-based simulations (market: scalpers under FCFS and batch allocation)",
        description="Run an agent-based simulation and write its summary, tables and plots.",
    )
    models = p.add_subparsers(dest="model", metavar="MODEL", required=True)
    m = models.add_parser(
        "market",
        help="the scalper market of the IPP brief's Box 1: FCFS vs batch, with bots",
        description=(
            "Simulate the scalper market of a market config (JSON, kind 'market') under "
            "first-come-first-served and batch allocation, beside the equilibrium model, and "
            "write summary.json, rounds.csv, situations.csv, sweep.csv and PNG plots. "
            "See docs/market.md."
        ),
    )
    m.add_argument("config", type=Path, metavar="CONFIG.json", help="the market config")
    m.add_argument("--out", type=Path, default=None, help="result folder (results/market-NAME)")
    m.add_argument("--seed", type=int, default=None, help="override the config's seed")
    m.add_argument("--no-sweep", action="store_true", help="skip the config's sweep section")
    m.add_argument("--force", action="store_true", help="replace an existing result folder")
    m.set_defaults(run=run)


class Bar:
    """``label [#####.....] done/total`` redrawn in place on a terminal stream."""

    def __init__(self, label: str, stream: TextIO) -> None:
        self.label, self.stream = label, stream

    def __call__(self, done: int, total: int) -> None:
        filled = 30 * done // max(total, 1)
        line = f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total} runs"
        self.stream.write(line + ("\n" if done >= total else ""))
        self.stream.flush()


def run(args: argparse.Namespace) -> int:
    from slotopt.errors import UsageError

    if args.seed is not None and args.seed < 0:
        raise UsageError(f"--seed: expected a non-negative integer, got {args.seed}")
    inst = load_market(args.config)
    out: Path = args.out or Path("results") / f"market-{inst.name}"
    if out.exists() and not args.force:
        raise OutputExistsError(f"{out}: already exists; choose another --out or pass --force")
    bar = Bar(f"simulate market {inst.name}", sys.stderr) if sys.stderr.isatty() else None
    start = time.perf_counter()
    sim = simulate_market(inst, seed=args.seed, sweep=not args.no_sweep, progress=bar)
    result = MarketResult(sim, time.perf_counter() - start)
    result.to_folder(out, force=args.force)
    s = result.summary()
    for key in ("fcfs", "batch"):
        r = s[key]
        print(
            f"{key:5s} {inst.demand_label}: scalper enters {r['scalper_enters']:.2f} of rounds, "
            f"profit {r['scalper_profit']:.1f}/round, holds {r['scalper_share']:.0%} of slots, "
            f"applicants' welfare {r['applicant_welfare']:.1f}/round "
            f"(model: {'enters' if r['model']['scalper_enters'] else 'stays out'})"
        )
    print(f"wrote {out}")
    return 0
