"""The experiment's four situations (FCFS / batch x high / low demand), their summaries with
confidence intervals over seeds, and the sweep over demand and identity-check strength.

Per run, every measure is averaged over the *late* rounds (the second half, after the learning
has settled); the situation's figure is the mean of those run averages over seeds, with a 95%
Student-t interval (``mean +- t(0.975, S-1) * sd / sqrt(S)``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from slotopt.engines.market.equilibrium import Equilibrium, equilibrium
from slotopt.engines.market.simulation import (
    Situation,
    run_streams,
    simulate_run,
)
from slotopt.instance.market import MarketInstance

__all__ = [
    "MEASURES",
    "SWEEP_INDEX",
    "MarketSimulation",
    "confidence_interval",
    "late_means",
    "model_for",
    "simulate_market",
    "situations_of",
]

#: Summary measures: name -> per-round column it averages.
MEASURES: dict[str, str] = {
    "scalper_enters": "entered",
    "scalper_profit": "scalper_profit",
    "price": "price",
    "scalper_share": "scalper_share",
    "applicant_welfare": "applicant_welfare",
    "paid_share": "paid_share",
    "slots_wasted": "slots_wasted",
    "applicants_served": "served",
    "clients_success": "clients_success",
}
#: First spawn-key entry of the sweep's runs (situations use 0..3).
SWEEP_INDEX = 100

Progress = Callable[[int, int], None]


def situations_of(inst: MarketInstance) -> list[Situation]:
    """This market's two situations, and the compared demand level's two when configured."""
    out = [
        Situation("fcfs", inst.applicants, inst.demand_label, 0),
        Situation("batch", inst.applicants, inst.demand_label, 1),
    ]
    if inst.compare_applicants is not None:
        out += [
            Situation("fcfs", inst.compare_applicants, inst.compare_label, 2),
            Situation("batch", inst.compare_applicants, inst.compare_label, 3),
        ]
    return out


def model_for(inst: MarketInstance, applicants: int, fake_pass: float | None = None) -> Equilibrium:
    """The equilibrium model on the config's reference values (deterministic quantiles)."""
    return equilibrium(
        inst.reference_values(applicants),
        inst.slots,
        inst.entry_cost,
        direct_cost=inst.direct_cost,
        direct_failure=inst.direct_failure,
        fake_pass=inst.fake_pass if fake_pass is None else fake_pass,
    )


def confidence_interval(x: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t interval of the run averages ``x`` (shape (S,), S >= 2)."""
    x = np.asarray(x, dtype=np.float64)
    mean = float(x.mean())
    if x.size < 2:
        return mean, float("nan"), float("nan")
    half = float(stats.t.ppf(0.5 + level / 2, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size))
    return mean, mean - half, mean + half


def late_means(run: dict[str, np.ndarray]) -> dict[str, float]:
    """One run's averages over its late rounds (second half) for every measure."""
    late = slice(run["round"].size // 2, None)
    out = {}
    for name, col in MEASURES.items():
        if col == "clients_success":
            clients = run["clients"][late].sum()
            out[name] = float(run["clients_served"][late].sum() / clients) if clients else np.nan
        elif col == "price":  # posted while active only
            active = run["entered"][late] > 0
            out[name] = float(np.mean(run[col][late][active])) if active.any() else np.nan
        else:
            out[name] = float(np.mean(run[col][late]))
    return out


def _runs(
    inst: MarketInstance,
    sit: Situation,
    *,
    seed: int,
    seeds: int,
    rounds: int,
    tick: Callable[[], None],
) -> list[dict[str, np.ndarray]]:
    runs = []
    for k in range(seeds):
        runs.append(
            simulate_run(
                inst,
                sit.system,
                sit.applicants,
                run_streams(seed, sit.index, k),
                rounds=rounds,
            )
        )
        tick()
    return runs


def _summarise(runs: list[dict[str, np.ndarray]]) -> dict[str, dict[str, float | None]]:
    per_run = pd.DataFrame([late_means(r) for r in runs])
    out: dict[str, dict[str, float | None]] = {}
    for name in MEASURES:
        col = per_run[name].dropna().to_numpy()
        if col.size == 0:
            out[name] = {"mean": None, "ci_low": None, "ci_high": None}
            continue
        mean, lo, hi = confidence_interval(col)
        out[name] = {
            "mean": mean,
            "ci_low": None if np.isnan(lo) else lo,
            "ci_high": None if np.isnan(hi) else hi,
        }
    return out


@dataclass(frozen=True)
class MarketSimulation:
    """Everything one ``simulate_market`` call produced.

    Attributes
    ----------
    instance : MarketInstance
    seed : int
    situations : list of Situation
    rounds : DataFrame
        One row per (system, demand, seed_index, round); columns ``system``, ``demand``,
        ``applicants``, ``seed_index`` and :data:`slotopt.engines.market.simulation.COLUMNS`.
    summary : dict
        ``summary[situation.key][measure] = {"mean", "ci_low", "ci_high"}`` plus ``"price"``.
    model : dict
        ``model[situation.key]`` = the equilibrium outcome (:class:`SystemOutcome` as a dict).
    sweep : DataFrame or None
        One row per (applicants, fake_pass) cell: the model's batch prediction and the
        simulated entry rate and profit with intervals.
    """

    instance: MarketInstance
    seed: int
    situations: list[Situation]
    rounds: pd.DataFrame
    summary: dict[str, dict[str, dict[str, float | None]]]
    model: dict[str, dict[str, object]]
    sweep: pd.DataFrame | None

    def mean(self, system: str, measure: str, *, compared: bool = False) -> float | None:
        """A measure's mean over seeds for ``system`` at this market's demand (or the compared
        one), e.g. ``sim.mean("batch", "scalper_enters")``."""
        index = SYSTEM_INDEX[system] + (2 if compared else 0)
        (sit,) = [s for s in self.situations if s.index == index]
        return self.summary[sit.key][measure]["mean"]


SYSTEM_INDEX = {"fcfs": 0, "batch": 1}


def simulate_market(
    inst: MarketInstance,
    *,
    seed: int | None = None,
    sweep: bool = True,
    progress: Progress | None = None,
) -> MarketSimulation:
    """Simulate every situation of ``inst`` (and its sweep) and summarise.

    Parameters
    ----------
    inst
        A validated market config.
    seed
        Overrides the config's ``seed``.
    sweep
        Run the config's ``sweep`` section (if any).
    progress
        Called with ``(runs done, runs in total)`` after each run.
    """
    seed = inst.seed if seed is None else int(seed)
    sits = situations_of(inst)
    total = len(sits) * inst.seeds
    cells: list[tuple[int, float]] = []
    if sweep and inst.sweep is not None:
        cells = [(n, pi) for n in inst.sweep.applicants for pi in inst.sweep.fake_pass]
        total += len(cells) * inst.sweep.seeds
    done = [0]

    def tick() -> None:
        done[0] += 1
        if progress is not None:
            progress(done[0], total)

    frames: list[pd.DataFrame] = []
    summary: dict[str, dict[str, dict[str, float | None]]] = {}
    model: dict[str, dict[str, object]] = {}
    for sit in sits:
        runs = _runs(inst, sit, seed=seed, seeds=inst.seeds, rounds=inst.rounds, tick=tick)
        for k, run in enumerate(runs):
            frame = pd.DataFrame(run)
            frame.insert(0, "seed_index", k)
            frame.insert(0, "applicants", sit.applicants)
            frame.insert(0, "demand", sit.label)
            frame.insert(0, "system", sit.system)
            frames.append(frame)
        summary[sit.key] = _summarise(runs)
        eq = model_for(inst, sit.applicants)
        model[sit.key] = getattr(eq, sit.system).as_dict()
    table = pd.concat(frames, ignore_index=True)
    for col in ("round", "clients", "clients_served", "capacity", "scalper_slots"):
        table[col] = table[col].astype(np.int64)
    for col in ("entered", "flooded"):
        table[col] = table[col].astype(bool)

    sweep_table = None
    if cells:
        rows = []
        assert inst.sweep is not None
        for i, (n, pi) in enumerate(cells):
            cell = inst.with_(fake_pass=pi)
            sit = Situation("batch", n, f"n={n}, pi={pi:g}", SWEEP_INDEX + i)
            runs = _runs(
                cell, sit, seed=seed, seeds=inst.sweep.seeds, rounds=inst.sweep.rounds, tick=tick
            )
            s = _summarise(runs)
            cell_eq = model_for(cell, n).batch
            rows.append(
                {
                    "applicants": n,
                    "fake_pass": pi,
                    "price": s["price"]["mean"],
                    "model_enters": cell_eq.scalper_enters,
                    "model_regime": cell_eq.regime.value,
                    "model_profit": cell_eq.scalper_profit,
                    "entry_rate": s["scalper_enters"]["mean"],
                    "entry_rate_ci_low": s["scalper_enters"]["ci_low"],
                    "entry_rate_ci_high": s["scalper_enters"]["ci_high"],
                    "scalper_profit": s["scalper_profit"]["mean"],
                    "scalper_profit_ci_low": s["scalper_profit"]["ci_low"],
                    "scalper_profit_ci_high": s["scalper_profit"]["ci_high"],
                }
            )
        sweep_table = pd.DataFrame(rows)
    return MarketSimulation(
        instance=inst,
        seed=seed,
        situations=sits,
        rounds=table,
        summary=summary,
        model=model,
        sweep=sweep_table,
    )
