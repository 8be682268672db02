"""The outcome of the Kaluza et al. (2024) study and its analysis: Table 5, the rules of Fig. 4,
the sensitivity of Sect. 6.3.3, the summary, the figures and the result folder.

:class:`KaluzaStudy` holds plain tables (one row per instance, one per sensitivity case) and
derives everything else from them; it computes nothing with the engines.

Table 5 and Sect. 6.3.3 need two choices of averaging, not of the design; the defaults are the
ones that reproduce the paper: Table 5's percentages are the mean over instances of the
no-blocking loss relative to the optimum, ``100 (V* - V_nb) / V*``, and its "overall" column
averages the printed beta columns ``{0, 0.5, 1, 1.5, 3}``; the sensitivity means are pooled,
``100 (sum V_{beta_e}(beta_a) - sum V*_{beta_a}) / sum V*_{beta_a}``.

References
----------
Kaluza, Voigt, Haase, Dietze (2024), Sect. 6.2 (Table 5, Fig. 3), 6.3 (rules, Fig. 4), 6.3.3
(sensitivity, Figs. 6-7), Appendix G (the 183 instances where R_myopic is suboptimal).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from slotopt._version import __version__
from slotopt.engines.offer_set.rules import RULES
from slotopt.errors import UsageError
from slotopt.run.studies.kaluza_design import TABLE5_BETAS, Reading, levels
from slotopt.run.studies.kaluza_paper import compare_with_paper
from slotopt.run.studies.scaffold import StudyOutput

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["MYOPIC_RTOL", "KaluzaStudy", "instance_table", "sensitivity_frame"]

FloatArray = NDArray[np.float64]

#: R_myopic counts as suboptimal when ``V* - V_myopic > MYOPIC_RTOL * V*``. Both values are exact
#: sums of at most 18 period terms of order 1 (float error ~1e-15) and the offer search breaks
#: ties within 1e-12 relative; 1e-9 is far above that noise and far below any real gap.
MYOPIC_RTOL = 1e-9


def _pct(diff: FloatArray, ref: FloatArray) -> FloatArray:
    """``100 diff / ref``, 0 where ``ref`` is 0 (nothing can be earned: no difference either)."""
    safe = np.where(ref > 0, ref, 1.0)
    return np.where(ref > 0, 100.0 * diff / safe, 0.0)


def instance_table(values: pd.DataFrame) -> pd.DataFrame:
    """The ``instances`` table: ``values`` (the design, ``optimal`` and one column per rule) plus
    each rule's gap, the improvement over not blocking and ``myopic_suboptimal``."""
    out = values.copy()
    opt = out["optimal"].to_numpy()
    for rule in RULES:
        out[f"gap_pct_{rule}"] = _pct(opt - out[rule].to_numpy(), opt)
    nb = out["no_blocking"].to_numpy()
    out["improvement_pct"] = _pct(opt - nb, nb)
    out["myopic_suboptimal"] = (opt - out["r_myopic"].to_numpy()) > MYOPIC_RTOL * opt
    return out


def sensitivity_frame(
    kappa: int,
    tau_hat: int,
    w_h: float,
    betas: FloatArray,
    alphas: FloatArray,
    values: FloatArray,
    optimal: FloatArray,
    no_blocking: FloatArray,
) -> pd.DataFrame:
    """Rows (beta_a, beta_e, alpha) of one (kappa, tau_hat, w_h) of the ``sensitivity`` table.

    ``values`` has shape ``(E, E, A)``: ``values[i, j, k]`` is the value of the
    ``betas[j]``-optimal policy under ``betas[i]`` at ``alphas[k]``; ``optimal`` and
    ``no_blocking`` have shape ``(E, A)``.
    """
    grid = np.meshgrid(
        np.arange(len(betas)), np.arange(len(betas)), np.arange(len(alphas)), indexing="ij"
    )
    ba, be, al = (g.ravel() for g in grid)
    val = values[ba, be, al]
    opt = optimal[ba, al]
    nob = no_blocking[ba, al]
    return pd.DataFrame(
        {
            "kappa": kappa,
            "tau_hat": tau_hat,
            "w_h": w_h,
            "alpha": alphas[al],
            "beta_a": betas[ba],
            "beta_e": betas[be],
            "value": val,
            "optimal": opt,
            "no_blocking": nob,
            "delta_pct": _pct(val - opt, opt),
            "vs_no_blocking_pct": _pct(val - nob, nob),
        }
    )


Average = Literal["mean", "pooled"]
Relative = Literal["optimal", "no_blocking"]


def _average(diff: FloatArray, ref: FloatArray, how: Average) -> float:
    if len(diff) == 0:
        return math.nan
    if how == "mean":
        return float(np.mean(_pct(diff, ref)))
    total = float(ref.sum())
    return 100.0 * float(diff.sum()) / total if total > 0 else 0.0


@dataclass(frozen=True, eq=False)
class KaluzaStudy(StudyOutput):
    """The outcome of :func:`slotopt.run.studies.kaluza.run_kaluza_study`; every field is always
    present.

    Attributes
    ----------
    reading : Reading
    instances : DataFrame
        One row per instance: the design columns
        (:func:`slotopt.run.studies.kaluza_design.design`), ``optimal`` (``V_tau(kappa)``),
        each rule's exact expected revenue (``no_blocking, r_low, r_one, r_myopic``) and gap
        ``gap_pct_<rule> = 100 (V* - V_rule) / V*`` (so ``gap_pct_no_blocking`` is Table 5's
        measure), ``improvement_pct = 100 (V* - V_nb) / V_nb`` (the gain over the no-blocking
        baseline) and ``myopic_suboptimal`` (``V* - V_myopic > MYOPIC_RTOL V*``).
    sensitivity : DataFrame or None
        Sect. 6.3.3, one row per (instance without beta, beta_a, beta_e): ``value`` is
        ``V_{tau, beta_e}(kappa | beta_a)`` (the beta_e-optimal policy under beta_a), ``optimal``
        and ``no_blocking`` under beta_a, ``delta_pct = 100 (value - optimal) / optimal`` and
        ``vs_no_blocking_pct = 100 (value - no_blocking) / no_blocking``. None when not run.
    seconds : float
        Wall time of the computation.
    tolerance : float
        The relative tolerance behind ``myopic_suboptimal``.
    """

    reading: Reading
    instances: pd.DataFrame
    sensitivity: pd.DataFrame | None
    seconds: float
    tolerance: float = field(default=MYOPIC_RTOL)

    @property
    def n_instances(self) -> int:
        return len(self.instances)

    @property
    def is_full_design(self) -> bool:
        """True when every level of every factor of the reading's design is in the study."""
        full = levels(self.reading, None, None, None, None)
        df = self.instances
        return all(
            sorted(float(x) for x in df[name].unique()) == sorted(float(x) for x in full[name])
            for name in ("kappa", "w_h", "alpha", "beta")
        )

    def table5(
        self,
        *,
        average: Average = "mean",
        relative_to: Relative = "optimal",
        overall_betas: Sequence[float] | None = TABLE5_BETAS,
    ) -> pd.DataFrame:
        """The Table 5 analogue: what the optimal policy gains over not blocking, in per cent.

        Parameters
        ----------
        average
            ``"mean"`` (default): the mean of the instances' percentages; ``"pooled"``:
            ``100 (sum V* - sum V_nb) / sum V_ref`` over the cell.
        relative_to
            ``"optimal"`` (default, ``V_ref = V*``: the no-blocking loss as a share of the
            optimum, which is what Table 5's numbers are) or ``"no_blocking"`` (``V_ref = V_nb``,
            the "improvement compared to the baseline" of its caption, read literally).
        overall_betas
            The betas the ``overall`` column averages: Table 5's printed columns by default
            (those of them in the design); None averages every beta of the design.

        Returns
        -------
        DataFrame
            Rows ``(factor, level)`` for ``w_h`` then ``alpha``; one column per beta of the design
            (named by its value), ``overall`` and ``overall_all_betas``.

        Raises
        ------
        UsageError
            Unknown ``average`` or ``relative_to``.
        """
        if average not in ("mean", "pooled") or relative_to not in ("no_blocking", "optimal"):
            raise UsageError(
                "table5: average must be 'mean' or 'pooled' and relative_to 'optimal' or "
                f"'no_blocking', got {average!r}, {relative_to!r}"
            )
        df = self.instances
        diff = df["optimal"].to_numpy() - df["no_blocking"].to_numpy()
        ref = df[relative_to].to_numpy()
        # "mean" averages per-instance percentages; "pooled" divides summed differences by
        # summed references. Both are group sums: of pct (and counts), or of diff and ref.
        work = pd.DataFrame(
            {
                "w_h": df["w_h"],
                "alpha": df["alpha"],
                "beta": df["beta"],
                "num": _pct(diff, ref) if average == "mean" else 100.0 * diff,
                "den": np.ones(len(df)) if average == "mean" else ref,
            }
        )
        betas = sorted(float(b) for b in df["beta"].unique())
        chosen = betas if overall_betas is None else [float(b) for b in overall_betas]
        in_overall = work["beta"].isin(chosen)

        def ratio(g: pd.DataFrame) -> pd.Series:
            return g["num"] / g["den"].where(g["den"] > 0)

        frames = []
        for factor in ("w_h", "alpha"):
            cells = ratio(work.groupby([factor, "beta"])[["num", "den"]].sum()).unstack("beta")
            cells.columns = [f"{b:g}" for b in cells.columns]
            cells["overall"] = ratio(work[in_overall].groupby(factor)[["num", "den"]].sum())
            cells["overall_all_betas"] = ratio(work.groupby(factor)[["num", "den"]].sum())
            cells.index = cells.index.astype(float)
            frames.append(cells.rename_axis("level").reset_index().assign(factor=factor))
        out = pd.concat(frames, ignore_index=True)
        return out[["factor", "level", *[c for c in out.columns if c not in ("factor", "level")]]]

    def rules_table(self) -> pd.DataFrame:
        """The Fig. 4 analogue: each rule's gap to the optimum by ``w_h`` and beta.

        One row per (``w_h``, ``beta``, rule) with ``mean_gap_pct``, ``max_gap_pct``,
        ``n_optimal`` (instances where the rule attains the optimum within the tolerance) and
        ``n_instances``; rows with an empty ``beta`` average over every beta of that ``w_h``.
        """
        df = self.instances
        rows = []
        for wh in sorted(df["w_h"].unique()):
            sub_w = df[df["w_h"] == wh]
            for be in [*sorted(sub_w["beta"].unique()), None]:
                sub = sub_w if be is None else sub_w[sub_w["beta"] == be]
                opt = sub["optimal"].to_numpy()
                for rule in RULES:
                    gaps = sub[f"gap_pct_{rule}"]
                    attained = (opt - sub[rule].to_numpy()) <= self.tolerance * opt
                    rows.append(
                        {
                            "w_h": float(wh),
                            "beta": math.nan if be is None else float(be),
                            "rule": rule,
                            "mean_gap_pct": float(gaps.mean()),
                            "max_gap_pct": float(gaps.max()),
                            "n_optimal": int(attained.sum()),
                            "n_instances": len(sub),
                        }
                    )
        return pd.DataFrame(rows)

    def sensitivity_table(self) -> pd.DataFrame | None:
        """Sect. 6.3.3 by (beta_e, beta_a): mean and pooled ``delta_pct``, mean vs no blocking."""
        if self.sensitivity is None:
            return None
        rows = []
        for (be, ba), sub in self.sensitivity.groupby(["beta_e", "beta_a"], sort=True):
            val, opt = sub["value"].to_numpy(), sub["optimal"].to_numpy()
            rows.append(
                {
                    "beta_e": float(be),
                    "beta_a": float(ba),
                    "mean_delta_pct": float(sub["delta_pct"].mean()),
                    "pooled_delta_pct": _average(val - opt, opt, "pooled"),
                    "mean_vs_no_blocking_pct": float(sub["vs_no_blocking_pct"].mean()),
                    "n_instances": len(sub),
                }
            )
        return pd.DataFrame(rows)

    def sensitivity_summary(self, *, average: Average = "pooled") -> dict[str, float] | None:
        """Mean loss when beta is under- (``beta_a > beta_e``) or overestimated, in per cent.

        ``average="pooled"`` (default) is ``100 (sum V_{beta_e}(beta_a) - sum V*) / sum V*`` over
        the (instance, beta_a, beta_e) rows of each side, which is what Sect. 6.3.3 reports;
        ``"mean"`` averages the rows' ``delta_pct``.
        """
        sens = self.sensitivity
        if sens is None:
            return None
        out = {}
        for name, mask in (
            ("underestimation", sens["beta_a"] > sens["beta_e"]),
            ("overestimation", sens["beta_a"] < sens["beta_e"]),
        ):
            sub = sens[mask]
            opt = sub["optimal"].to_numpy()
            out[name] = _average(sub["value"].to_numpy() - opt, opt, average)
        return out

    def paper(self) -> pd.DataFrame:
        """Every published number beside ours (see :mod:`slotopt.run.studies.kaluza_paper`)."""
        return compare_with_paper(
            self.instances, self.table5(), self.statistics(), full_design=self.is_full_design
        )

    def statistics(self) -> dict[str, Any]:
        """The study's own figures: counts, the myopic rule's record, gaps, sensitivity means.

        :meth:`summary` is this plus how many published numbers are reproduced.
        """
        df = self.instances
        opt = df["optimal"].to_numpy()
        out: dict[str, Any] = {
            "study": "kaluza2024",
            "reading": self.reading.key,
            "reading_parts": {
                "a": self.reading.a,
                "periods": self.reading.periods,
                "betas": self.reading.betas,
            },
            "n_instances": self.n_instances,
            "levels": {
                "kappa": sorted(int(x) for x in df["kappa"].unique()),
                "tau_hat": sorted(int(x) for x in df["tau_hat"].unique()),
                "w_h": sorted(float(x) for x in df["w_h"].unique()),
                "alpha": sorted(float(x) for x in df["alpha"].unique()),
                "beta": sorted(float(x) for x in df["beta"].unique()),
            },
            "myopic_suboptimal": int(df["myopic_suboptimal"].sum()),
            "myopic_tolerance_rel": self.tolerance,
            "mean_myopic_gap_pct": float(df["gap_pct_r_myopic"].mean()),
            "pooled_myopic_gap_pct": _average(opt - df["r_myopic"].to_numpy(), opt, "pooled"),
            "max_myopic_gap_pct": float(df["gap_pct_r_myopic"].max()),
            "mean_gap_pct": {r: float(df[f"gap_pct_{r}"].mean()) for r in RULES},
            "mean_improvement_over_no_blocking_pct": float(df["improvement_pct"].mean()),
            "sensitivity": None,
            "paper_numbers_reproduced": None,
            "seconds": round(self.seconds, 6),
            "slotopt_version": __version__,
        }
        pooled = self.sensitivity_summary(average="pooled")
        mean = self.sensitivity_summary(average="mean")
        if pooled is not None and mean is not None:
            out["sensitivity"] = {
                "underestimation_pooled_delta_pct": pooled["underestimation"],
                "overestimation_pooled_delta_pct": pooled["overestimation"],
                "underestimation_mean_delta_pct": mean["underestimation"],
                "overestimation_mean_delta_pct": mean["overestimation"],
            }
        return out

    def summary(self) -> dict[str, Any]:
        """``summary.json``: :meth:`statistics` plus ``paper_numbers_reproduced``."""
        out = self.statistics()
        compared = self.paper()["match"].dropna()
        out["paper_numbers_reproduced"] = {
            "matched": int(compared.astype(bool).sum()),
            "compared": len(compared),
        }
        return out

    def tables(self) -> dict[str, pd.DataFrame]:
        """``instances``, ``table5``, ``rules``, ``paper`` and (when run) ``sensitivity``."""
        out = {
            "instances": self.instances,
            "table5": self.table5(),
            "rules": self.rules_table(),
            "paper": self.paper(),
        }
        sens = self.sensitivity_table()
        if sens is not None:
            out["sensitivity"] = sens
        return out

    def figures(self) -> dict[str, Figure]:
        """``table5`` (heat map), ``rules`` (Fig. 4 analogue), ``sensitivity`` (Figs. 6-7)."""
        from slotopt.run.studies import _kaluza_plots as plots  # matplotlib only when drawing

        figs = {
            "table5": plots.table5_heatmap(self.table5(), self.reading.key),
            "rules": plots.rule_gaps(self.rules_table(), self.reading.key),
        }
        if self.sensitivity is not None:
            figs["sensitivity"] = plots.sensitivity(self.sensitivity, self.reading.key)
        return figs

    def report(self) -> str:
        """A few lines for the terminal."""
        s = self.summary()
        t5 = self.table5()
        lines = [
            f"Kaluza et al. (2024) study, reading {s['reading']}: {s['n_instances']} instances "
            f"in {self.seconds:.2f} s",
            f"  R_myopic below the optimum in {s['myopic_suboptimal']} instances (relative "
            f"tolerance {self.tolerance:g}); mean gap {s['mean_myopic_gap_pct']:.4f}%, "
            f"max {s['max_myopic_gap_pct']:.3f}%",
            "  mean gap to the optimum: "
            + ", ".join(f"{r} {v:.2f}%" for r, v in s["mean_gap_pct"].items()),
            "  no-blocking loss vs the optimum (Table 5, overall): "
            + ", ".join(
                f"{f}={lv:g} {o:.1f}%"
                for f, lv, o in zip(t5["factor"], t5["level"], t5["overall"], strict=True)
            ),
        ]
        sv = s["sensitivity"]
        if sv is not None:
            lines.append(
                "  beta misjudged (Sect. 6.3.3, pooled loss vs the optimum): underestimated "
                f"{sv['underestimation_pooled_delta_pct']:.2f}%, overestimated "
                f"{sv['overestimation_pooled_delta_pct']:.2f}%"
            )
        rep = s["paper_numbers_reproduced"]
        lines.append(
            f"  published numbers reproduced: {rep['matched']} of {rep['compared']} "
            "(paper.csv lists each)"
        )
        return "\n".join(lines)
