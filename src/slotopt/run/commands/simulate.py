"""``slotopt simulate market CONFIG.json``: the scalper market, FCFS against batch.

Runs the agent-based simulation of the config's situations (and its sweep, unless
``--no-sweep``) and writes ``summary.json``, ``rounds.csv``, ``situations.csv``, ``sweep.csv`` and
the plots to ``--out`` (default ``results/market-<name>``), whole or not at all. Progress (runs
done of runs in total) is drawn on stderr only when it is a terminal
(:class:`slotopt.run.progress.Progress`).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from slotopt._atomic import OutputExistsError


def add_parser(sub: argparse._SubParsersAction) -> None:
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


def run(args: argparse.Namespace) -> int:
    from slotopt.errors import UsageError

    if args.seed is not None and args.seed < 0:
        raise UsageError(f"--seed: expected a non-negative integer, got {args.seed}")
    # the simulation (scipy.stats) and the plots (matplotlib) load only when it runs
    from slotopt.engines.market.experiment import simulate_market
    from slotopt.instance.market import load_market
    from slotopt.run.market_result import MarketResult
    from slotopt.run.progress import Progress

    inst = load_market(args.config)
    out: Path = args.out or Path("results") / f"market-{inst.name}"
    if out.exists() and not args.force:
        raise OutputExistsError(f"{out}: already exists; choose another --out or pass --force")
    start = time.perf_counter()
    with Progress(f"simulate market {inst.name}") as bar:
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
