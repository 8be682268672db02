"""The design of the Kaluza, Voigt, Haase & Dietze (2024) study, Sect. 6.1: factors, readings, rows.

The design (Sect. 6.1, Table 4) is full factorial over

* the system size ``kappa in {3, 4, 5, 6}`` split into preferred : less preferred slots as
  ``2:1, 2:2, 3:2, 4:2`` (Table 4);
* the horizon ``tau_hat in {2 kappa, 3 kappa}``;
* the preferred weight ``w_h in {1, 2, 5}`` (``w_l = 1``, ``w0 = 0``);
* the arrival probability ``alpha in {0.2, 0.5, 0.8}`` (constant over the horizon);
* the quality-inference effect ``beta`` (the grid depends on the reading, below);

with ``r = 1`` and ``b = kappa``. :func:`design` lists the instances (one row each, built with
:func:`slotopt.run.studies.scaffold.factorial`); :func:`instance_spec` turns a row into an
``instance.json`` object; :mod:`slotopt.run.studies.kaluza` runs them.

Readings
--------
The paper can be read in more than one way at three places; a :class:`Reading` fixes each:

``a`` -- the lower bound of the ramp
    ``sect6.1``: ``a = max(0.25 kappa, 1)``, i.e. 1, 1, 1.25, 1.5 for kappa = 3..6 (Sect. 6.1);
    ``sect6.3.1``: ``a = 1`` in every instance (Sect. 6.3.1: "a = max{0.25; 1} = 1 in all
    instances").
``periods`` -- decision periods of a horizon ``tau_hat``
    ``appendix-g``: ``tau = tau_hat - 1`` (Appendix G's instance has ``tau_hat = 9`` and lists its
    decision periods as ``t in (8, ..., 3)`` and ``(2, 1)``); ``tau-hat``: ``tau = tau_hat``.
``betas`` -- the beta grid
    ``half-steps``: ``{0, 0.5, ..., 6}`` (13 values, the grid of Sect. 6.3.3; gives the 936
    instances of Sect. 6.1 and Appendix G); ``sect6.1``: ``{0, 0.5, 1, 1.5, 3, 6}`` as printed in
    Sect. 6.1 (432 instances).

The default, ``a=sect6.3.1,periods=appendix-g,betas=half-steps``, is the only one of the eight that
reproduces the 183 instances where R_myopic is suboptimal (Appendix G), Appendix G's DP value, the
``w_h`` rows of Table 5 and the sensitivity means of Sect. 6.3.3; docs/reproductions/kaluza2024.md
puts every published number beside ours.

References
----------
Kaluza, I., Voigt, G., Haase, K., Dietze, A. (2024). Control of online-appointment systems when the
booking status signals quality of service. Schmalenbach J. Bus. Res. 76, 397-432. Sect. 6.1
(design, Table 4), 6.3.1 (the lower bound a = 1), 6.3.3 (the beta grid), Appendix G (tau_hat = 9).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from slotopt.errors import UsageError
from slotopt.run.studies.scaffold import factorial

__all__ = [
    "ALPHAS",
    "BETAS_HALF_STEPS",
    "BETAS_SECT61",
    "CAPACITIES",
    "HIGH_WEIGHTS",
    "HORIZON_FACTORS",
    "LOW_WEIGHT",
    "READINGS",
    "TABLE5_BETAS",
    "Reading",
    "design",
    "instance_spec",
    "levels",
]

#: Table 4: (preferred, less preferred) slots per system size kappa.
CAPACITIES: dict[int, tuple[int, int]] = {3: (2, 1), 4: (2, 2), 5: (3, 2), 6: (4, 2)}
#: Sect. 6.1: tau_hat in {2 kappa, 3 kappa}.
HORIZON_FACTORS: tuple[int, ...] = (2, 3)
#: Sect. 6.1: w_h in {1, 2, 5}, w_l = 1.
HIGH_WEIGHTS: tuple[float, ...] = (1.0, 2.0, 5.0)
LOW_WEIGHT = 1.0
#: Sect. 6.1: alpha in {20 %, 50 %, 80 %}.
ALPHAS: tuple[float, ...] = (0.2, 0.5, 0.8)
BETAS_SECT61: tuple[float, ...] = (0.0, 0.5, 1.0, 1.5, 3.0, 6.0)
BETAS_HALF_STEPS: tuple[float, ...] = tuple(0.5 * i for i in range(13))
#: The beta columns printed in Table 5; its "overall" column averages these.
TABLE5_BETAS: tuple[float, ...] = (0.0, 0.5, 1.0, 1.5, 3.0)

_CHOICES: dict[str, tuple[str, ...]] = {
    "a": ("sect6.1", "sect6.3.1"),
    "periods": ("appendix-g", "tau-hat"),
    "betas": ("half-steps", "sect6.1"),
}


@dataclass(frozen=True)
class Reading:
    """How the study reads the paper where it is ambiguous (see the module docstring).

    Parameters
    ----------
    a
        ``"sect6.1"`` (``a = max(0.25 kappa, 1)``) or ``"sect6.3.1"`` (``a = 1``, the default).
    periods
        ``"appendix-g"`` (``tau = tau_hat - 1``) or ``"tau-hat"`` (``tau = tau_hat``).
    betas
        ``"half-steps"`` (0, 0.5, ..., 6) or ``"sect6.1"`` (0, 0.5, 1, 1.5, 3, 6).

    Examples
    --------
    >>> r = Reading.parse("a=sect6.1")
    >>> r.key
    'a=sect6.1,periods=appendix-g,betas=half-steps'
    >>> r.lower_bound(6), r.horizon(18), len(r.beta_grid())
    (1.5, 17, 13)
    """

    a: str = "sect6.3.1"
    periods: str = "appendix-g"
    betas: str = "half-steps"

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value not in _CHOICES[f.name]:
                allowed = ", ".join(_CHOICES[f.name])
                raise UsageError(f"reading: {f.name}={value!r} is not one of {allowed}")

    @property
    def key(self) -> str:
        """Canonical text form, accepted by :meth:`parse` and ``--reading``."""
        return f"a={self.a},periods={self.periods},betas={self.betas}"

    def lower_bound(self, kappa: int) -> float:
        """The ramp's lower bound ``a`` for system size ``kappa``."""
        return max(0.25 * kappa, 1.0) if self.a == "sect6.1" else 1.0

    def horizon(self, tau_hat: int) -> int:
        """Decision periods ``tau`` of a horizon ``tau_hat``."""
        return tau_hat - 1 if self.periods == "appendix-g" else tau_hat

    def beta_grid(self) -> tuple[float, ...]:
        return BETAS_HALF_STEPS if self.betas == "half-steps" else BETAS_SECT61

    @classmethod
    def parse(cls, text: str | Reading | None) -> Reading:
        """A preset name of :data:`READINGS` or ``key=value`` pairs joined by commas.

        Keys not given keep the default. Raises :class:`slotopt.UsageError` on anything else.
        """
        if text is None:
            return cls()
        if isinstance(text, Reading):
            return text
        text = text.strip()
        if text in READINGS:
            return READINGS[text]
        values: dict[str, str] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            key, sep, value = part.partition("=")
            key = key.strip()
            if not sep or key not in _CHOICES:
                presets = ", ".join(READINGS)
                raise UsageError(
                    f"reading {text!r}: expected a preset ({presets}) or key=value pairs with "
                    f"keys {', '.join(_CHOICES)}, e.g. 'a=sect6.3.1,periods=tau-hat'"
                )
            values[key] = value.strip()
        return cls(**values)

    @classmethod
    def all(cls) -> list[Reading]:
        """Every combination the text allows (2 x 2 x 2)."""
        return [
            cls(a=a, periods=p, betas=b)
            for a in _CHOICES["a"]
            for p in _CHOICES["periods"]
            for b in _CHOICES["betas"]
        ]


#: Named readings. ``default`` is documented in docs/reproductions/kaluza2024.md.
READINGS: dict[str, Reading] = {
    "default": Reading(),
    # Sect. 6.1 read word for word: its a, tau = tau_hat, its printed beta list (432 instances).
    "literal": Reading(a="sect6.1", periods="tau-hat", betas="sect6.1"),
}


def design(
    reading: Reading | str | None = None,
    *,
    kappas: Iterable[int] | None = None,
    high_weights: Iterable[float] | None = None,
    alphas: Iterable[float] | None = None,
    betas: Iterable[float] | None = None,
) -> pd.DataFrame:
    """The factorial design: one row per instance, in the order the study reports them.

    Parameters
    ----------
    reading
        A :class:`Reading` (or its text); the default reading when None.
    kappas, high_weights, alphas, betas
        Restrict a factor to a subset (a sub-design); None keeps the paper's levels.

    Returns
    -------
    DataFrame
        Columns ``instance, kappa, kappa_h, kappa_l, tau_hat, horizon, w_h, w_l, alpha, beta,
        a, b``; ``instance`` numbers the rows from 0.

    Raises
    ------
    UsageError
        A system size outside Table 4 or an empty factor.
    """
    rd = Reading.parse(reading)
    lv = levels(rd, kappas, high_weights, alphas, betas)
    grid = factorial(
        {
            "kappa": lv["kappa"],
            "factor": HORIZON_FACTORS,
            "w_h": lv["w_h"],
            "alpha": lv["alpha"],
            "beta": lv["beta"],
        },
        id_column="instance",
    )
    kappa = grid["kappa"]
    tau_hat = grid["factor"] * kappa
    return pd.DataFrame(
        {
            "instance": grid["instance"],
            "kappa": kappa,
            "kappa_h": kappa.map(lambda k: CAPACITIES[k][0]),
            "kappa_l": kappa.map(lambda k: CAPACITIES[k][1]),
            "tau_hat": tau_hat,
            "horizon": tau_hat.map(rd.horizon),
            "w_h": grid["w_h"],
            "w_l": LOW_WEIGHT,
            "alpha": grid["alpha"],
            "beta": grid["beta"],
            "a": kappa.map(rd.lower_bound),
            "b": kappa.astype(np.float64),
        }
    )


def instance_spec(row: Mapping[str, Any]) -> dict[str, Any]:
    """The ``instance.json`` object of one design row (for ``slotopt.solve`` or a folder).

    Examples
    --------
    >>> rows = design(kappas=[3], high_weights=[2], alphas=[0.5], betas=[0.5])
    >>> spec = instance_spec(rows.iloc[1])
    >>> spec["horizon"], spec["lower_bound"], [t["capacity"] for t in spec["slot_types"]]
    (8, 1.0, [2, 1])
    """
    return {
        "kind": "offer_set",
        "name": (
            f"kaluza-k{int(row['kappa'])}-tau{int(row['tau_hat'])}-wh{float(row['w_h']):g}"
            f"-alpha{float(row['alpha']):g}-beta{float(row['beta']):g}"
        ),
        "slot_types": [
            {"name": "high", "capacity": int(row["kappa_h"]), "weight": float(row["w_h"])},
            {"name": "low", "capacity": int(row["kappa_l"]), "weight": float(row["w_l"])},
        ],
        "horizon": int(row["horizon"]),
        "arrival_rate": float(row["alpha"]),
        "beta": float(row["beta"]),
        "w0": 0.0,
        "lower_bound": float(row["a"]),
        "upper_bound": float(row["b"]),
        "revenue": 1.0,
    }


def levels(
    rd: Reading,
    kappas: Iterable[int] | None,
    high_weights: Iterable[float] | None,
    alphas: Iterable[float] | None,
    betas: Iterable[float] | None,
) -> dict[str, tuple[Any, ...]]:
    """The levels of each factor (``kappa``, ``w_h``, ``alpha``, ``beta``) of a (sub-)design.

    None keeps the reading's levels. Raises :class:`slotopt.UsageError` for an empty or repeated
    factor, a system size outside Table 4 or an arrival probability outside (0, 1].
    """
    out: dict[str, tuple[Any, ...]] = {
        "kappa": tuple(int(k) for k in (CAPACITIES if kappas is None else kappas)),
        "w_h": tuple(float(w) for w in (HIGH_WEIGHTS if high_weights is None else high_weights)),
        "alpha": tuple(float(a) for a in (ALPHAS if alphas is None else alphas)),
        "beta": tuple(float(b) for b in (rd.beta_grid() if betas is None else betas)),
    }
    for name, values in out.items():
        if not values:
            raise UsageError(f"the design needs at least one level of {name}")
        if len(set(values)) != len(values):
            raise UsageError(f"repeated levels of {name}: {list(values)}")
    bad = [k for k in out["kappa"] if k not in CAPACITIES]
    if bad:
        raise UsageError(f"system sizes {bad} are not in Table 4; choose from {list(CAPACITIES)}")
    if any(not 0 < a <= 1 for a in out["alpha"]):
        raise UsageError(f"arrival probabilities must be in (0, 1], got {list(out['alpha'])}")
    return out
