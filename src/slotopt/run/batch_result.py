"""``BatchRunResult``: what a rolling batch run produced, as tables, figures and a summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from slotopt.instance.batch import BatchInstance
from slotopt.run.folders import common_summary, write_result_folder

__all__ = ["BatchRunResult"]


@dataclass(frozen=True, eq=False)
class BatchRunResult:
    """The outcome of :func:`slotopt.batch.run`.

    Attributes
    ----------
    mechanism, params, seed
        The draw mechanism, its parameters and the replay's master seed.
    periods : DataFrame
        One row per period: appointments released / carried in, requests new / carried in,
        excluded, merged, in the draw, allocated, the outcomes (served, unconfirmed,
        cancelled_by_applicant, cancelled_by_provider, no_show), unmet demand, appointments
        left unallocated and expired.
    draws : DataFrame
        One row per request per draw: tier, carry-over count, tickets, lottery position, the slot
        (NA when not allocated), ``via`` (``draw`` or ``waitlist``) and the outcome.
    demand : DataFrame
        Per period and (site, slot_type): requests in the draw accepting it, appointments,
        allocated.
    waiting : DataFrame
        Per identity: first period in a draw, period served (NA if never), periods waited.
    merges, excluded : DataFrame
        Every duplicate merged away (both rows named) and every request kept out of a draw
        (``outside_window``, ``barred_no_show``, ``has_appointment``).
    events : DataFrame
        Confirmations, unconfirmed offers, cancellations and no-shows as applied.
    commitments : DataFrame
        Per period: context, published commitment, public randomness, revealed secret (hex) and
        the lottery seed.
    """

    instance: BatchInstance = field(repr=False)
    mechanism: str
    params: dict[str, Any]
    seed: int
    periods: pd.DataFrame = field(repr=False)
    draws: pd.DataFrame = field(repr=False)
    demand: pd.DataFrame = field(repr=False)
    waiting: pd.DataFrame = field(repr=False)
    merges: pd.DataFrame = field(repr=False)
    excluded: pd.DataFrame = field(repr=False)
    events: pd.DataFrame = field(repr=False)
    commitments: pd.DataFrame = field(repr=False)
    batch_draws: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def n_served(self) -> int:
        return int(self.periods["served"].sum()) if len(self.periods) else 0

    @property
    def allocations(self) -> pd.DataFrame:
        """The rows of :attr:`draws` that were allocated a slot."""
        return self.draws[self.draws["slot_id"].notna()].reset_index(drop=True)

    def __repr__(self) -> str:
        return (
            f"BatchRunResult({self.instance.name!r}, mechanism={self.mechanism!r}, "
            f"periods={len(self.periods)}, served={self.n_served}, seed={self.seed})"
        )

    def served_by_group(self) -> pd.DataFrame:
        """Identities per ``group`` label: how many entered a draw, how many were served."""
        w = self.waiting.assign(group=self.waiting["group"].fillna("(none)"))
        out = w.groupby("group", sort=True).agg(
            identities=("identity_key_hash", "size"),
            served=("served_period", lambda s: int(s.notna().sum())),
        )
        out["share_served"] = out["served"] / out["identities"]
        return out.reset_index()

    def summary(self) -> dict[str, Any]:
        p = self.periods
        waited = self.waiting["periods_waited"].dropna()
        out = common_summary(self.instance) | {
            "method": self.mechanism,
            "params": self.params,
            "seed": self.seed,
            "periods": len(p),
            "appointments_released": int(p["appointments_released"].sum()) if len(p) else 0,
        }
        for col in (
            "in_draw",
            "allocated",
            "served",
            "unconfirmed",
            "cancelled_by_applicant",
            "cancelled_by_provider",
            "no_show",
            "expired",
            "merged",
            "excluded",
        ):
            out[col] = int(p[col].sum()) if len(p) else 0
        out["identities"] = len(self.waiting)
        out["identities_served"] = int(self.waiting["served_period"].notna().sum())
        out["mean_periods_waited"] = float(waited.mean()) if len(waited) else None
        out["unmet_last_period"] = int(p["unmet"].iloc[-1]) if len(p) else 0
        out["commitments"] = dict(
            zip(self.commitments["period_id"], self.commitments["commitment"], strict=True)
        )
        return out

    def report(self) -> str:
        s = self.summary()
        return (
            f"{s['name']}: {s['periods']} batches drawn with {self.mechanism}, "
            f"{s['identities_served']} of {s['identities']} identities served, "
            f"{s['merged']} duplicate request(s) merged, {s['no_show']} no-show(s), "
            f"{s['expired']} appointment(s) expired"
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        return {
            "periods": self.periods,
            "draws": self.draws,
            "allocations": self.allocations,
            "demand": self.demand,
            "waiting": self.waiting,
            "merges": self.merges,
            "excluded": self.excluded,
            "events": self.events,
            "commitments": self.commitments,
        }

    def figures(self) -> dict[str, Any]:
        """``supply_demand``, ``waiting``, ``demand`` and, with group labels, ``groups``
        (matplotlib ``Figure`` objects, never pyplot state)."""
        from matplotlib.figure import Figure

        figs: dict[str, Any] = {}
        p = self.periods
        x = np.arange(len(p))
        fig = Figure(figsize=(7, 3.5))
        ax = fig.add_subplot()
        ax.bar(x - 0.3, p["in_draw"], width=0.3, label="requests in the draw")
        ax.bar(x, p["appointments"], width=0.3, label="appointments in the batch")
        ax.bar(x + 0.3, p["served"], width=0.3, label="served")
        ax.set_xticks(x, p["period_id"], rotation=30, ha="right")
        ax.set_ylabel("count")
        ax.set_title(f"{self.instance.name}: supply and demand per batch ({self.mechanism})")
        ax.legend(fontsize=8)
        figs["supply_demand"] = fig

        fig = Figure(figsize=(5, 3.2))
        ax = fig.add_subplot()
        waited = self.waiting["periods_waited"].dropna().astype(int)
        if len(waited):
            bins = [k - 0.5 for k in range(int(waited.max()) + 2)]
            ax.hist(waited, bins=bins)
        ax.set_xlabel("periods from first request to appointment")
        ax.set_ylabel("identities served")
        ax.set_title("waiting time")
        figs["waiting"] = fig

        fig = Figure(figsize=(7, 3.5))
        ax = fig.add_subplot()
        d = self.demand.assign(kind=self.demand["site"] + " / " + self.demand["slot_type"])
        table = d.pivot_table(
            index="period_id",
            columns="kind",
            values="requests",
            aggfunc="sum",
            fill_value=0,
            sort=False,
        )
        table = table.reindex(p["period_id"]).fillna(0)
        bottom = np.zeros(len(table))
        for kind in table.columns:
            ax.bar(np.arange(len(table)), table[kind], bottom=bottom, label=kind)
            bottom += table[kind].to_numpy(dtype=float)
        ax.set_xticks(np.arange(len(table)), table.index, rotation=30, ha="right")
        ax.set_ylabel("requests accepting")
        ax.set_title("demand per site and slot type")
        ax.legend(fontsize=7)
        figs["demand"] = fig

        if self.waiting["group"].notna().any():
            g = self.served_by_group()
            fig = Figure(figsize=(5, 3.2))
            ax = fig.add_subplot()
            ax.bar(g["group"], g["share_served"])
            ax.set_ylim(0, 1)
            ax.set_ylabel("share of identities served")
            ax.set_title(f"who gets served ({self.mechanism})")
            figs["groups"] = fig
        return figs

    def to_folder(self, out: str | Path, *, force: bool = False) -> Path:
        """Write summary.json, one CSV per table and one PNG per figure, atomically."""
        return write_result_folder(self, out, force=force)
