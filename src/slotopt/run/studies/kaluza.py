"""The numerical study of Kaluza, Voigt, Haase & Dietze (2024), Sect. 6, as one reproducible run.

The design (Sect. 6.1, Table 4) is full factorial over

* the system size ``kappa in {3, 4, 5, 6}`` split into preferred : less preferred slots as
  ``2:1, 2:2, 3:2, 4:2`` (Table 4);
* the horizon ``tau_hat in {2 kappa, 3 kappa}``;
* the preferred weight ``w_h in {1, 2, 5}`` (``w_l = 1``, ``w0 = 0``);
* the arrival probability ``alpha in {0.2, 0.5, 0.8}`` (constant over the horizon);
* the quality-inference effect ``beta`` (the grid depends on the reading, below);

with ``r = 1`` and ``b = kappa``. Every instance is solved exactly (the DP of
:mod:`slotopt.engines.offer_set.dp`) and every decision rule of Sect. 6.3.1 is evaluated exactly
(policy evaluation; no simulation, so the study needs no seed). Sect. 6.3.3's sensitivity analysis
evaluates the optimal policy for an *estimated* ``beta_e`` under every *actual* ``beta_a``.

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

Table 5 and Sect. 6.3.3 need two more choices, of averaging rather than of the design; the
defaults are again the ones that reproduce the paper: Table 5's percentages are the mean over
instances of the no-blocking loss relative to the optimum, ``100 (V* - V_nb) / V*``, and its
"overall" column averages the printed beta columns ``{0, 0.5, 1, 1.5, 3}``; the sensitivity means
are pooled, ``100 (sum V_{beta_e}(beta_a) - sum V*_{beta_a}) / sum V*_{beta_a}``.

Work sharing
------------
With a constant arrival probability ``V_t`` does not depend on the horizon, so one backward
induction over ``max tau`` periods answers both horizons of a system size (``values[tau]``).
Instances that share a choice model (same ``kappa, w_h, beta``) differ only in ``alpha``; their
states are stacked into one call of the sort-based offer search per period. Rule policies are
time-invariant, so their choice probabilities are computed once per model and all rules and
arrival probabilities are evaluated together.

References
----------
Kaluza, I., Voigt, G., Haase, K., Dietze, A. (2024). Control of online-appointment systems when the
booking status signals quality of service. Schmalenbach J. Bus. Res. 76, 397-432. Sect. 6.1
(design, Table 4), 6.2 (Table 5, Fig. 3), 6.3 (rules, Fig. 4), 6.3.3 (sensitivity, Figs. 6-7),
Appendix G (the 183 instances where R_myopic is suboptimal).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from slotopt._version import __version__
from slotopt.engines.offer_set.choice import ChoiceModel
from slotopt.engines.offer_set.dp import StateSpace, best_offers
from slotopt.engines.offer_set.rules import RULES, rule_policy
from slotopt.errors import UsageError
from slotopt.instance.offer_set import OfferSetInstance, offer_set_from_dict

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "ALPHAS",
    "CAPACITIES",
    "HIGH_WEIGHTS",
    "HORIZON_FACTORS",
    "MYOPIC_RTOL",
    "READINGS",
    "KaluzaStudy",
    "Reading",
    "design",
    "instance_spec",
    "run_kaluza_study",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

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
#: R_myopic counts as suboptimal when ``V* - V_myopic > MYOPIC_RTOL * V*``. Both values are exact
#: sums of at most 18 period terms of order 1 (float error ~1e-15) and the offer search breaks
#: ties within 1e-12 relative; 1e-9 is far above that noise and far below any real gap.
MYOPIC_RTOL = 1e-9

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
    levels = _levels(rd, kappas, high_weights, alphas, betas)
    rows = [
        {
            "kappa": k,
            "kappa_h": CAPACITIES[k][0],
            "kappa_l": CAPACITIES[k][1],
            "tau_hat": m * k,
            "horizon": rd.horizon(m * k),
            "w_h": wh,
            "w_l": LOW_WEIGHT,
            "alpha": al,
            "beta": be,
            "a": rd.lower_bound(k),
            "b": float(k),
        }
        for k in levels["kappa"]
        for m in HORIZON_FACTORS
        for wh in levels["w_h"]
        for al in levels["alpha"]
        for be in levels["beta"]
    ]
    out = pd.DataFrame(rows)
    out.insert(0, "instance", np.arange(len(out), dtype=np.int64))
    return out


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


def _levels(
    rd: Reading,
    kappas: Iterable[int] | None,
    high_weights: Iterable[float] | None,
    alphas: Iterable[float] | None,
    betas: Iterable[float] | None,
) -> dict[str, tuple[Any, ...]]:
    levels: dict[str, tuple[Any, ...]] = {
        "kappa": tuple(int(k) for k in (CAPACITIES if kappas is None else kappas)),
        "w_h": tuple(float(w) for w in (HIGH_WEIGHTS if high_weights is None else high_weights)),
        "alpha": tuple(float(a) for a in (ALPHAS if alphas is None else alphas)),
        "beta": tuple(float(b) for b in (rd.beta_grid() if betas is None else betas)),
    }
    for name, values in levels.items():
        if not values:
            raise UsageError(f"the design needs at least one level of {name}")
        if len(set(values)) != len(values):
            raise UsageError(f"repeated levels of {name}: {list(values)}")
    bad = [k for k in levels["kappa"] if k not in CAPACITIES]
    if bad:
        raise UsageError(f"system sizes {bad} are not in Table 4; choose from {list(CAPACITIES)}")
    if any(not 0 < a <= 1 for a in levels["alpha"]):
        raise UsageError(f"arrival probabilities must be in (0, 1], got {list(levels['alpha'])}")
    return levels


# --------------------------------------------------------------------------------------------
# Computation


def _pct(diff: FloatArray, ref: FloatArray) -> FloatArray:
    """``100 diff / ref``, 0 where ``ref`` is 0 (nothing can be earned: no difference either)."""
    safe = np.where(ref > 0, ref, 1.0)
    return np.where(ref > 0, 100.0 * diff / safe, 0.0)


def _gains(values: FloatArray, down: IntArray, revenue: float) -> FloatArray:
    """:func:`~slotopt.engines.offer_set.dp.per_unit_gains` over leading batch axes.

    ``values`` has shape ``(..., S)``; the result ``(..., S, N)``.
    """
    g = revenue + values[..., np.maximum(down, 0)] - values[..., :, None]
    return np.where(down >= 0, g, 0.0)


@dataclass(frozen=True, eq=False)
class _Group:
    """Everything solved for one choice model (kappa, w_h, beta), all alphas stacked."""

    optimal: FloatArray  # (tau_max + 1, A) value at the full state
    rules: FloatArray  # (tau_max + 1, A, R) rule values at the full state
    policy: IntArray  # (tau_max, A, S, N) optimal offers, policy[t - 1] in period t


def _solve_group(
    inst: OfferSetInstance, space: StateSpace, alphas: FloatArray, tau_max: int
) -> _Group:
    model = ChoiceModel.from_instance(inst)
    n_a, n_s, n = len(alphas), space.n_states, space.n_types
    states = np.tile(space.states, (n_a, 1))
    values = np.zeros((tau_max + 1, n_a, n_s))
    policy = np.zeros((tau_max, n_a, n_s, n), dtype=np.int64)
    for t in range(1, tau_max + 1):
        gains = _gains(values[t - 1], space.down, inst.revenue).reshape(n_a * n_s, n)
        hint = policy[t - 2].reshape(n_a * n_s, n) if t > 1 else None
        offers, gain = best_offers(model, states, gains, start=hint)
        values[t] = values[t - 1] + alphas[:, None] * gain.reshape(n_a, n_s)
        policy[t - 1] = offers.reshape(n_a, n_s, n)

    # Rules are time-invariant: choice probabilities once, then all rules x alphas together.
    probs = model.probabilities(np.stack([rule_policy(inst, r, space=space) for r in RULES]))
    rv = np.zeros((tau_max + 1, n_a, len(RULES), n_s))
    for t in range(1, tau_max + 1):
        g = _gains(rv[t - 1], space.down, inst.revenue)
        rv[t] = rv[t - 1] + alphas[:, None, None] * (probs[None] * g).sum(axis=-1)
    return _Group(values[:, :, space.full], rv[:, :, :, space.full], policy)


def _sensitivity(
    insts: Sequence[OfferSetInstance], policies: IntArray, space: StateSpace, alphas: FloatArray
) -> FloatArray:
    """Values of every beta_e-optimal policy under every beta_a, at the full state.

    ``insts[i]`` carries beta_i; ``policies`` has shape ``(E, tau_max, A, S, N)`` (E = betas).
    Returns ``(tau_max + 1, E_actual, E_estimated, A)``.
    """
    n_b, tau_max = policies.shape[0], policies.shape[1]
    out = np.zeros((tau_max + 1, n_b, n_b, len(alphas)))
    for ia, inst in enumerate(insts):
        probs = ChoiceModel.from_instance(inst).probabilities(policies)  # (E, tau, A, S, N)
        v = np.zeros((n_b, len(alphas), space.n_states))
        for t in range(1, tau_max + 1):
            g = _gains(v, space.down, inst.revenue)
            v = v + alphas[None, :, None] * (probs[:, t - 1] * g).sum(axis=-1)
            out[t, ia] = v[:, :, space.full]
    return out


def run_kaluza_study(
    reading: Reading | str | None = None,
    *,
    kappas: Iterable[int] | None = None,
    high_weights: Iterable[float] | None = None,
    alphas: Iterable[float] | None = None,
    betas: Iterable[float] | None = None,
    sensitivity: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> KaluzaStudy:
    """Run the full factorial study of Sect. 6 (or a sub-design) under one reading.

    Parameters
    ----------
    reading
        A :class:`Reading`, its text (``"a=sect6.3.1,periods=tau-hat"``) or a preset name of
        :data:`READINGS`; None is the default reading.
    kappas, high_weights, alphas, betas
        Restrict factors to a sub-design (None keeps the paper's levels).
    sensitivity
        Also run Sect. 6.3.3 (every beta_e policy under every beta_a of the grid).
    progress
        Called as ``progress(done, total)`` after each choice model (a progress bar hook).

    Returns
    -------
    KaluzaStudy

    Raises
    ------
    UsageError
        An unknown reading or an invalid sub-design.

    Examples
    --------
    >>> st = run_kaluza_study(kappas=[3], high_weights=[1.0], alphas=[0.5], betas=[0, 3])
    >>> len(st.instances), bool((st.instances["gap_pct_r_myopic"].abs() < 1e-9).all())
    (4, True)
    """
    rd = Reading.parse(reading)
    started = time.perf_counter()
    levels = _levels(rd, kappas, high_weights, alphas, betas)
    table = design(
        rd,
        kappas=levels["kappa"],
        high_weights=levels["w_h"],
        alphas=levels["alpha"],
        betas=levels["beta"],
    )
    alpha_arr = np.asarray(levels["alpha"], dtype=np.float64)
    n_b = len(levels["beta"])
    total = len(levels["kappa"]) * len(levels["w_h"]) * n_b
    done = 0
    results: dict[tuple[int, int, float, float, float], tuple[float, FloatArray]] = {}
    sens_rows: list[pd.DataFrame] = []
    for k in levels["kappa"]:
        space = StateSpace.of(CAPACITIES[k])
        taus = [(m * k, rd.horizon(m * k)) for m in HORIZON_FACTORS]
        tau_max = max(t for _, t in taus)
        for wh in levels["w_h"]:
            insts = [
                offer_set_from_dict(
                    instance_spec(
                        {
                            "kappa": k,
                            "kappa_h": CAPACITIES[k][0],
                            "kappa_l": CAPACITIES[k][1],
                            "tau_hat": 0,
                            "horizon": tau_max,
                            "w_h": wh,
                            "w_l": LOW_WEIGHT,
                            "alpha": alpha_arr[0],
                            "beta": be,
                            "a": rd.lower_bound(k),
                            "b": float(k),
                        }
                    )
                )
                for be in levels["beta"]
            ]
            groups = []
            for ib, inst in enumerate(insts):
                grp = _solve_group(inst, space, alpha_arr, tau_max)
                groups.append(grp)
                for tau_hat, tau in taus:
                    for ia, al in enumerate(levels["alpha"]):
                        key = (k, tau_hat, wh, al, levels["beta"][ib])
                        results[key] = (float(grp.optimal[tau, ia]), grp.rules[tau, ia])
                done += 1
                if progress is not None:
                    progress(done, total)
            if sensitivity:
                opt = np.stack([g.optimal for g in groups], axis=1)  # (tau+1, E, A)
                nob = np.stack([g.rules[:, :, 0] for g in groups], axis=1)
                sv = _sensitivity(insts, np.stack([g.policy for g in groups]), space, alpha_arr)
                sens_rows.extend(
                    _sensitivity_frame(k, tau_hat, wh, levels, sv[tau], opt[tau], nob[tau])
                    for tau_hat, tau in taus
                )
    instances = _instance_table(table, results)
    sens = pd.concat(sens_rows, ignore_index=True) if sens_rows else None
    return KaluzaStudy(
        reading=rd,
        instances=instances,
        sensitivity=sens,
        seconds=time.perf_counter() - started,
    )


def _instance_table(
    table: pd.DataFrame, results: Mapping[tuple[int, int, float, float, float], Any]
) -> pd.DataFrame:
    keys = zip(
        table["kappa"], table["tau_hat"], table["w_h"], table["alpha"], table["beta"], strict=True
    )
    found = [results[(int(k), int(th), float(w), float(a), float(b))] for k, th, w, a, b in keys]
    out = table.copy()
    out["optimal"] = [v for v, _ in found]
    rule_values = np.array([r for _, r in found]).reshape(len(found), len(RULES))
    for j, rule in enumerate(RULES):
        out[rule] = rule_values[:, j]
    opt = out["optimal"].to_numpy()
    for rule in RULES:
        out[f"gap_pct_{rule}"] = _pct(opt - out[rule].to_numpy(), opt)
    nb = out["no_blocking"].to_numpy()
    out["improvement_pct"] = _pct(opt - nb, nb)
    out["myopic_suboptimal"] = (opt - out["r_myopic"].to_numpy()) > MYOPIC_RTOL * opt
    return out


def _sensitivity_frame(
    kappa: int,
    tau_hat: int,
    w_h: float,
    levels: Mapping[str, tuple[Any, ...]],
    values: FloatArray,
    optimal: FloatArray,
    no_blocking: FloatArray,
) -> pd.DataFrame:
    """Rows (beta_a, beta_e, alpha) of one (kappa, tau_hat, w_h); ``values`` is (Ea, Ee, A)."""
    betas = np.asarray(levels["beta"], dtype=np.float64)
    alphas = np.asarray(levels["alpha"], dtype=np.float64)
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


# --------------------------------------------------------------------------------------------
# Results

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
class KaluzaStudy:
    """The outcome of :func:`run_kaluza_study`; every field is always present.

    Attributes
    ----------
    reading : Reading
    instances : DataFrame
        One row per instance: the design columns (:func:`design`), ``optimal`` (``V_tau(kappa)``),
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
        full = _levels(self.reading, None, None, None, None)
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
        from slotopt.run.studies.kaluza_paper import compare_with_paper

        return compare_with_paper(self)

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
        from slotopt.run.studies import _kaluza_plots as plots

        figs = {
            "table5": plots.table5_heatmap(self.table5(), self.reading.key),
            "rules": plots.rule_gaps(self.rules_table(), self.reading.key),
        }
        if self.sensitivity is not None:
            figs["sensitivity"] = plots.sensitivity(self.sensitivity, self.reading.key)
        return figs

    def to_folder(self, path: str | Path, *, force: bool = False) -> Path:
        """Write every table (CSV), figure (PNG) and ``summary.json`` to ``path``, atomically.

        Raises
        ------
        OutputExistsError
            ``path`` exists and ``force`` is False; nothing is written.
        """
        from slotopt.run.folders import write_result_folder

        return write_result_folder(self, path, force=force)

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
