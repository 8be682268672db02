"""The result of ``slotopt simulate market``: summary.json, the per-round CSV and the plots.

Folder layout (written whole or not at all, :func:`slotopt._atomic.atomic_folder`):

``summary.json``
    ``fcfs`` and ``batch`` (this market's two situations), each with every measure's mean over
    seeds (``scalper_enters`` is the entry rate, ``scalper_profit`` the profit per round,
    ``scalper_share`` the share of slots the scalper holds, ``applicant_welfare`` per round,
    ``paid_share``, ``slots_wasted`` per round, ...), its 95% interval as ``<measure>_ci``, and
    the equilibrium model's outcome as ``model``; ``compare`` the same for the compared demand
    level; ``sweep`` the cells where the model and the simulation have scalping pay.
``rounds.csv``
    One row per (system, demand, seed_index, round).
``situations.csv``
    One row per situation and measure: mean, ci_low, ci_high, and the model's value.
``sweep.csv``
    One row per sweep cell (when the config has a sweep).
``entry_rate.png``, ``welfare.png``, ``sweep.png``
    The Figure 1 analogue (entry rate in each situation), applicants' welfare over rounds, and
    the sweep's heat map.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from slotopt._atomic import atomic_folder, write_json
from slotopt.engines.market.experiment import MEASURES, MarketSimulation, simulate_market
from slotopt.errors import UsageError
from slotopt.instance.market import MarketInstance
from slotopt.run.folders import common_summary

__all__ = ["MarketResult", "solve_market"]

_MODEL_OF = {
    "scalper_enters": "scalper_enters",
    "scalper_profit": "scalper_profit",
    "price": "price",
    "applicant_welfare": "applicant_surplus",
    "slots_wasted": "slots_wasted",
    "applicants_served": "applicants_served",
}


@dataclass(frozen=True)
class MarketResult:
    """A market simulation with its outputs; ``seconds`` is the wall time it took."""

    simulation: MarketSimulation
    seconds: float

    def _system(self, key: str) -> dict[str, Any]:
        stats = self.simulation.summary[key]
        out: dict[str, Any] = {}
        for name in MEASURES:
            out[name] = stats[name]["mean"]
        for name in MEASURES:
            out[f"{name}_ci"] = [stats[name]["ci_low"], stats[name]["ci_high"]]
        out["model"] = self.simulation.model[key]
        return out

    def summary(self) -> dict[str, Any]:
        sim = self.simulation
        inst = sim.instance
        out = common_summary(inst)
        out.update(
            seed=sim.seed,
            rounds=inst.rounds,
            seeds=inst.seeds,
            slots=inst.slots,
            applicants=inst.applicants,
            demand=inst.demand_label,
            late_rounds=f"{inst.rounds - inst.rounds // 2} of {inst.rounds} (the second half)",
        )
        main = [s for s in sim.situations if s.index in (0, 1)]
        for s in main:
            out[s.system] = self._system(s.key)
        others = [s for s in sim.situations if s.index in (2, 3)]
        if others:
            out["compare"] = {
                "demand": others[0].label,
                "applicants": others[0].applicants,
                **{s.system: self._system(s.key) for s in others},
            }
        if sim.sweep is not None:
            t = sim.sweep
            pays = t["scalper_profit"] > 0
            out["sweep"] = {
                "cells": int(len(t)),
                "model_scalping_pays": t.loc[t["model_enters"], ["applicants", "fake_pass"]]
                .to_numpy()
                .tolist(),
                "simulated_profit_positive": t.loc[pays, ["applicants", "fake_pass"]]
                .to_numpy()
                .tolist(),
            }
        out["seconds"] = round(self.seconds, 3)
        return out

    def situations_table(self) -> pd.DataFrame:
        rows = []
        for s in self.simulation.situations:
            stats = self.simulation.summary[s.key]
            model = self.simulation.model[s.key]
            for name in MEASURES:
                m = _MODEL_OF.get(name)
                rows.append(
                    {
                        "system": s.system,
                        "demand": s.label,
                        "applicants": s.applicants,
                        "measure": name,
                        **stats[name],
                        "model": None if m is None else model[m],
                    }
                )
        return pd.DataFrame(rows)

    def tables(self) -> dict[str, pd.DataFrame]:
        out = {"rounds": self.simulation.rounds, "situations": self.situations_table()}
        if self.simulation.sweep is not None:
            out["sweep"] = self.simulation.sweep
        return out

    def figures(self) -> dict[str, Figure]:
        out = {"entry_rate": entry_rate_figure(self.simulation), "welfare": welfare_figure(self)}
        if self.simulation.sweep is not None:
            out["sweep"] = sweep_figure(self.simulation.sweep)
        return out

    def to_folder(self, out: str | Path, *, force: bool = False) -> Path:
        """Write the result folder atomically; refuses to replace one without ``force``."""
        out = Path(out)
        summary, tables, figures = self.summary(), self.tables(), self.figures()
        with atomic_folder(out, force=force) as tmp:
            for name, df in tables.items():
                df.to_csv(tmp / f"{name}.csv", index=False)
            for name, fig in figures.items():
                fig.savefig(tmp / f"{name}.png", dpi=110, bbox_inches="tight")
            write_json(tmp / "summary.json", summary)
        return out


def solve_market(
    inst: MarketInstance,
    *,
    method: str | None = None,
    seed: int | None = None,
    verify: bool = False,
    sweep: bool = True,
    **options: Any,
) -> MarketResult:
    """``slotopt.solve()`` for ``kind: "market"``: the simulation (method ``"simulate"``, the
    only one) of every situation and the sweep, as a :class:`MarketResult`.

    Raises
    ------
    UsageError
        Another method, ``verify=True`` (a simulation has no certificates) or unknown options.
    """
    if method not in (None, "simulate"):
        raise UsageError(f"kind 'market' has one method, 'simulate'; got {method!r}")
    if verify:
        raise UsageError("kind 'market' has no certificates to verify (it is a simulation)")
    if options:
        raise UsageError(f"kind 'market' takes no option {', '.join(sorted(options))}")
    import time

    start = time.perf_counter()
    sim = simulate_market(inst, seed=seed, sweep=sweep)
    return MarketResult(sim, time.perf_counter() - start)


def entry_rate_figure(sim: MarketSimulation) -> Figure:
    """Figure 1's analogue: the share of rounds the scalper enters, per situation (late rounds,
    mean over seeds with 95% intervals), beside the equilibrium model's prediction."""
    fig = Figure(figsize=(6.4, 3.8))
    ax = fig.subplots()
    labels: list[str] = []
    means: list[float] = []
    lows: list[float] = []
    highs: list[float] = []
    model: list[float] = []
    for s in sim.situations:
        st = sim.summary[s.key]["scalper_enters"]
        mean = float(st["mean"] or 0.0)
        labels.append(f"{s.system.upper()}\n{s.label}\nn={s.applicants}")
        means.append(mean)
        lows.append(mean - (mean if st["ci_low"] is None else st["ci_low"]))
        highs.append((mean if st["ci_high"] is None else st["ci_high"]) - mean)
        model.append(1.0 if sim.model[s.key]["scalper_enters"] else 0.0)
    x = np.arange(len(labels))
    colors = ["tab:red" if s.system == "fcfs" else "tab:blue" for s in sim.situations]
    ax.bar(x, means, color=colors, yerr=[lows, highs], capsize=4, label="simulated (late rounds)")
    ax.scatter(x, model, marker="D", color="black", zorder=3, label="equilibrium model")
    ax.set_xticks(x, labels)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("share of rounds the scalper enters")
    ax.set_title(f"Scalper entry, {sim.instance.name} (m={sim.instance.slots} slots)")
    ax.legend(loc="upper right", fontsize=8)
    return fig


def welfare_figure(result: MarketResult) -> Figure:
    """Applicants' welfare per round (mean over seeds), one line per situation."""
    sim = result.simulation
    fig = Figure(figsize=(6.4, 3.6))
    ax = fig.subplots()
    t = sim.rounds
    for s in sim.situations:
        rows = t[(t["system"] == s.system) & (t["demand"] == s.label)]
        mean = rows.groupby("round")["applicant_welfare"].mean()
        style = "-" if s.system == "batch" else "--"
        ax.plot(mean.index, mean.to_numpy(), style, label=f"{s.system.upper()}, {s.label}")
    ax.set_xlabel("round")
    ax.set_ylabel("applicants' welfare (values - prices - costs)")
    ax.set_title("Applicants' welfare over rounds (mean over seeds)")
    ax.legend(fontsize=8)
    return fig


def sweep_figure(sweep: pd.DataFrame) -> Figure:
    """Heat map of the simulated batch entry rate over demand x identity-check strength; cells
    where the equilibrium model has scalping pay are outlined."""
    ns = sorted(sweep["applicants"].unique())
    pis = sorted(sweep["fake_pass"].unique())
    grid = np.full((len(ns), len(pis)), np.nan)
    for row in sweep.itertuples():
        grid[ns.index(row.applicants), pis.index(row.fake_pass)] = row.entry_rate
    fig = Figure(figsize=(6.0, 3.8))
    ax = fig.subplots()
    im = ax.imshow(grid, origin="lower", aspect="auto", vmin=0, vmax=1, cmap="viridis")
    for row in sweep.itertuples():
        i, j = ns.index(row.applicants), pis.index(row.fake_pass)
        ax.text(j, i, f"{row.entry_rate:.2f}", ha="center", va="center", color="white", fontsize=8)
        if row.model_enters:
            ax.add_patch(_outline(j, i))
    ax.set_xticks(range(len(pis)), [f"{p:g}" for p in pis])
    ax.set_yticks(range(len(ns)), [str(n) for n in ns])
    ax.set_xlabel("probability a fake identity passes the check (pi)")
    ax.set_ylabel("applicants per round (n)")
    ax.set_title("Batch: simulated entry rate (outlined: the model says scalping pays)")
    fig.colorbar(im, ax=ax, label="entry rate (late rounds)")
    return fig


def _outline(j: int, i: int) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2)
