"""Figures of the Kaluza et al. (2024) study: Table 5 as a heat map, Fig. 4 and Figs. 6-7 analogues.

Each function takes a table of :class:`slotopt.run.studies.kaluza_results.KaluzaStudy` and returns
a matplotlib ``Figure`` built with the object API: no pyplot state, no backend switch, no display
needed.

References
----------
Kaluza, Voigt, Haase, Dietze (2024), Table 5, Fig. 4, Figs. 6 and 7.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

RULE_LABELS = {
    "no_blocking": "no blocking",
    "r_low": "R_low",
    "r_one": "R_one",
    "r_myopic": "R_myopic",
}


_NAMES = {"overall": "overall (Table 5 β)", "overall_all_betas": "overall (all β)"}


def table5_heatmap(table5: pd.DataFrame, reading: str) -> Figure:
    """Heat map of the Table 5 analogue: rows (factor, level), columns beta and overall."""
    cols = [c for c in table5.columns if c not in ("factor", "level")]
    data = table5[cols].to_numpy(dtype=float)
    labels = [
        f"{'w_h' if f == 'w_h' else 'alpha'} = {lv:g}"
        for f, lv in zip(table5["factor"], table5["level"], strict=True)
    ]
    fig = Figure(figsize=(1.0 + 0.75 * len(cols), 1.2 + 0.5 * len(labels)))
    ax = fig.subplots()
    im = ax.imshow(data, aspect="auto", cmap="viridis")
    ax.set_xticks(
        range(len(cols)), [_NAMES.get(c, f"β={c}") for c in cols], rotation=45, ha="right"
    )
    ax.set_yticks(range(len(labels)), labels)
    top = np.nanmax(data) if data.size else 0.0
    for i in range(data.shape[0]):
        for j in range(data.shape[1]):
            ax.text(
                j,
                i,
                "–" if np.isnan(data[i, j]) else f"{round(data[i, j]) + 0:d}",
                ha="center",
                va="center",
                color="black" if data[i, j] > 0.6 * top else "white",
                fontsize=8,
            )
    ax.set_title(
        "Table 5 analogue: optimal policy vs no blocking, mean of 100 (V* − V_nb) / V*"
        f"\n({reading})",
        fontsize=9,
    )
    fig.colorbar(im, ax=ax, label="+Δ %")
    fig.tight_layout()
    return fig


def rule_gaps(rules: pd.DataFrame, reading: str) -> Figure:
    """Fig. 4 analogue: mean gap to the optimum (%) over beta, one panel per w_h."""
    per_beta = rules[rules["beta"].notna()]
    weights = sorted(per_beta["w_h"].unique())
    fig = Figure(figsize=(4.2 * len(weights), 3.4))
    axes = fig.subplots(1, len(weights), sharey=True, squeeze=False)
    for ax, wh in zip(axes[0], weights, strict=True):
        sub = per_beta[per_beta["w_h"] == wh]
        for rule, label in RULE_LABELS.items():
            r = sub[sub["rule"] == rule].sort_values("beta")
            ax.plot(r["beta"], r["mean_gap_pct"], marker="o", ms=3, label=label)
        ax.set_title(f"w_h = {wh:g}")
        ax.set_xlabel("β")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("mean gap to the optimum (%)")
    axes[0][-1].legend(fontsize=8)
    fig.suptitle(f"Decision rules vs the optimal policy ({reading})", fontsize=9)
    fig.tight_layout()
    return fig


def _pooled(rows: pd.DataFrame, by: str | list[str], ref: str) -> pd.Series:
    """``100 (sum value - sum ref) / sum ref`` per group."""
    g = rows.groupby(by)
    return 100.0 * (g["value"].sum() - g[ref].sum()) / g[ref].sum()


def sensitivity(rows: pd.DataFrame, reading: str) -> Figure:
    """Figs. 6-7 analogues from the per-instance sensitivity rows (pooled percentages).

    Left (Fig. 6): loss against the optimum by the size of the estimation error
    ``|beta_a - beta_e|``, under- (``beta_a > beta_e``) and overestimation separately. Right
    (Fig. 7): for each beta_a, the blocking policy's difference to not blocking, over the estimates
    beta_e (their range, and the correct estimate).
    """
    fig = Figure(figsize=(9.5, 3.6))
    ax1, ax2 = fig.subplots(1, 2)
    rows = rows.assign(err=(rows["beta_a"] - rows["beta_e"]).round(6))
    by_err = _pooled(rows, "err", "optimal")
    under = by_err[by_err.index >= 0]
    over = by_err[by_err.index <= 0]
    ax1.plot(under.index, under.to_numpy(), marker="o", ms=3, label="underestimation (β_a > β_e)")
    ax1.plot(
        -over.index, over.to_numpy(), marker="s", ms=3, ls="--", label="overestimation (β_a < β_e)"
    )
    ax1.set_xlabel("|β_a − β_e|")
    ax1.set_ylabel("Δ vs the optimum (%, pooled)")
    ax1.legend(fontsize=8)
    ax1.grid(alpha=0.3)
    pair = _pooled(rows, ["beta_a", "beta_e"], "no_blocking").rename("pct").reset_index()
    g = pair.groupby("beta_a")["pct"]
    lo, hi = g.min(), g.max()
    ax2.fill_between(lo.index, lo.to_numpy(), hi.to_numpy(), alpha=0.3, label="range over β_e")
    diag = pair[np.isclose(pair["beta_a"], pair["beta_e"])]
    ax2.plot(diag["beta_a"], diag["pct"], marker="o", ms=3, label="β_e = β_a")
    ax2.axhline(0.0, color="black", lw=0.8)
    ax2.set_xlabel("β_a")
    ax2.set_ylabel("blocking vs no blocking (%, pooled)")
    ax2.legend(fontsize=8)
    ax2.grid(alpha=0.3)
    fig.suptitle(f"Misjudged quality-inference effect, Sect. 6.3.3 ({reading})", fontsize=9)
    fig.tight_layout()
    return fig
