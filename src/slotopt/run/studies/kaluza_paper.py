"""The published numbers of Kaluza et al. (2024), Sect. 6 and Appendix G, beside a study's own.

:func:`compare_with_paper` lists every number the paper prints about its numerical study that a
run of :func:`slotopt.run.studies.kaluza.run_kaluza_study` can recompute, with ours computed the
way the paper's text says (or, where it is silent, the way docs/reproductions/kaluza2024.md
argues), rounded to the precision the paper prints, and whether the two agree. Nothing here is
fitted: the published values are constants quoted from the paper.

References
----------
Kaluza, Voigt, Haase, Dietze (2024): Sect. 6.1 (936 instances), Table 5, Sect. 6.2 (losses by
system size and horizon), Sect. 6.3.2 (the myopic rule's overall difference), Sect. 6.3.3
(under- and overestimation), Appendix G (183 instances; the example's 2.673 and 2.688).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

__all__ = ["PUBLISHED", "Published", "compare_with_paper"]

#: Table 5 as printed: rows (factor, level) -> values for beta = 0, 0.5, 1, 1.5, 3 and "overall".
TABLE5: dict[tuple[str, float], tuple[int, ...]] = {
    ("w_h", 1.0): (0, 0, 0, 3, 30, 7),
    ("w_h", 2.0): (0, 0, 1, 2, 19, 4),
    ("w_h", 5.0): (0, 0, 0, 0, 2, 0),
    ("alpha", 0.2): (0, 1, 3, 8, 35, 10),
    ("alpha", 0.5): (0, 0, 1, 4, 25, 6),
    ("alpha", 0.8): (0, 0, 0, 2, 15, 4),
}
TABLE5_COLUMNS = ("0", "0.5", "1", "1.5", "3", "overall")
# Appendix G, footnote 7 (and tau_hat = 9).
APPENDIX_G = {"kappa": 3, "tau_hat": 9, "w_h": 2.0, "alpha": 0.5, "beta": 0.5}


@dataclass(frozen=True, eq=False)
class _Views:
    """What the published numbers are computed from, each built once per comparison."""

    n_instances: int
    full_design: bool
    instances: pd.DataFrame
    table5: pd.DataFrame
    statistics: dict[str, Any]


Compute = Callable[[_Views], float | None]


@dataclass(frozen=True)
class Published:
    """One printed number: where, what, its value, and how we recompute it.

    ``check`` is ``"equal"`` (ours rounded to ``decimals`` equals the value) or ``"below"``
    (the paper prints ``< value``). ``aggregate`` numbers (counts and averages over the design)
    are only compared when the study ran the reading's full design.
    """

    source: str
    quantity: str
    value: float
    compute: Compute
    decimals: int
    check: Literal["equal", "below"] = "equal"
    aggregate: bool = True

    @property
    def printed(self) -> str:
        text = f"{self.value:.{self.decimals}f}"
        return f"< {text}" if self.check == "below" else text


def _appendix_g(column: str) -> Compute:
    def compute(v: _Views) -> float | None:
        df = v.instances
        mask = pd.Series(True, index=df.index)
        for key, value in APPENDIX_G.items():
            mask &= df[key] == value
        return float(df.loc[mask, column].iloc[0]) if mask.any() else None

    return compute


def _table5(factor: str, level: float, column: str) -> Compute:
    def compute(v: _Views) -> float | None:
        t5 = v.table5
        if column not in t5.columns:
            return None
        row = t5[(t5["factor"] == factor) & (t5["level"] == level)]
        if row.empty or pd.isna(row[column].iloc[0]):
            return None
        return float(row[column].iloc[0])

    return compute


def _loss_by(column: str, level: int) -> Compute:
    """Sect. 6.2: mean no-blocking loss over the instances of Table 5's printed beta columns."""

    def compute(v: _Views) -> float | None:
        df = v.instances
        df = df[df["beta"].isin([0.0, 0.5, 1.0, 1.5, 3.0]) & (df[column] == level)]
        return float(df["gap_pct_no_blocking"].mean()) if len(df) else None

    return compute


def _summary(*keys: str) -> Compute:
    def compute(v: _Views) -> float | None:
        value: object = v.statistics
        for key in keys:
            if not isinstance(value, dict) or value.get(key) is None:
                return None
            value = value[key]
        return float(value)  # type: ignore[arg-type]

    return compute


def _published() -> tuple[Published, ...]:
    items = [
        Published(
            "Sect. 6.1",
            "instances in the full factorial design",
            936,
            lambda v: float(v.n_instances),
            0,
        ),
        Published(
            "Appendix G",
            "instances where R_myopic is below the optimum",
            183,
            _summary("myopic_suboptimal"),
            0,
        ),
        Published(
            "Sect. 6.3.2",
            "R_myopic's overall % difference to the optimum (mean)",
            0.01,
            _summary("mean_myopic_gap_pct"),
            2,
            "below",
        ),
        Published(
            "Appendix G",
            "example (footnote 7): expected profit of the DP",
            2.673,
            _appendix_g("optimal"),
            3,
            aggregate=False,
        ),
        Published(
            "Appendix G",
            "example (footnote 7): expected profit of R_myopic",
            2.688,
            _appendix_g("r_myopic"),
            3,
            aggregate=False,
        ),
    ]
    for (factor, level), values in TABLE5.items():
        name = "w_h" if factor == "w_h" else "lambda"
        for column, value in zip(TABLE5_COLUMNS, values, strict=True):
            col = f"beta = {column}" if column != "overall" else "overall"
            items.append(
                Published(
                    "Table 5",
                    f"{name} = {level:g}, {col} (%)",
                    value,
                    _table5(factor, level, column),
                    0,
                )
            )
    items += [
        Published("Sect. 6.2", "no-blocking loss, 3 slots (%)", 6, _loss_by("kappa", 3), 0),
        Published("Sect. 6.2", "no-blocking loss, 6 slots (%)", 2, _loss_by("kappa", 6), 0),
        Published("Sect. 6.2", "no-blocking loss, tau = 6 (%)", 7, _loss_by("tau_hat", 6), 0),
        Published("Sect. 6.2", "no-blocking loss, tau = 18 (%)", 2, _loss_by("tau_hat", 18), 0),
        Published(
            "Sect. 6.3.3",
            "mean Delta when beta is underestimated (%)",
            -10.14,
            _summary("sensitivity", "underestimation_pooled_delta_pct"),
            2,
        ),
        Published(
            "Sect. 6.3.3",
            "mean Delta when beta is overestimated (%)",
            -1.38,
            _summary("sensitivity", "overestimation_pooled_delta_pct"),
            2,
        ),
    ]
    return tuple(items)


#: Every published number the study recomputes, in the order of :func:`compare_with_paper`.
PUBLISHED: tuple[Published, ...] = _published()


def compare_with_paper(
    instances: pd.DataFrame,
    table5: pd.DataFrame,
    statistics: dict[str, Any],
    *,
    full_design: bool,
) -> pd.DataFrame:
    """Each published number beside the study's own: a pure function of the study's tables.

    Parameters
    ----------
    instances, table5, statistics
        :attr:`~slotopt.run.studies.kaluza_results.KaluzaStudy.instances`, its ``table5()`` and
        its ``statistics()``.
    full_design
        Whether the study ran the reading's full design (counts and averages are compared only
        then).

    Returns
    -------
    DataFrame
        One row per :data:`PUBLISHED` item: ``source``, ``quantity``, ``published`` (as
        printed), ``ours`` (full precision; NaN when the design lacks the instance, and for
        every count or average unless the study ran the reading's full design),
        ``ours_rounded`` (to the printed precision) and ``match`` (True/False; None when ``ours``
        is missing).

    Examples
    --------
    >>> from slotopt.run.studies.kaluza import run_kaluza_study
    >>> st = run_kaluza_study(kappas=[3], high_weights=[2], alphas=[0.5], betas=[0.5])
    >>> paper = compare_with_paper(
    ...     st.instances, st.table5(), st.statistics(), full_design=st.is_full_design
    ... )
    >>> row = paper.iloc[3]
    >>> row["published"], float(row["ours_rounded"]), row["match"]
    ('2.673', 2.673, True)
    """
    views = _Views(len(instances), full_design, instances, table5, statistics)
    rows = []
    for item in PUBLISHED:
        ours = item.compute(views) if views.full_design or not item.aggregate else None
        if ours is None or math.isnan(ours):
            rows.append(
                {
                    "source": item.source,
                    "quantity": item.quantity,
                    "published": item.printed,
                    "ours": math.nan,
                    "ours_rounded": math.nan,
                    "match": None,
                }
            )
            continue
        rounded = round(ours, item.decimals) + 0.0  # + 0.0 turns -0.0 into 0.0
        match = rounded == item.value if item.check == "equal" else ours < item.value
        rows.append(
            {
                "source": item.source,
                "quantity": item.quantity,
                "published": item.printed,
                "ours": ours,
                "ours_rounded": rounded,
                "match": bool(match),
            }
        )
    return pd.DataFrame(rows)
