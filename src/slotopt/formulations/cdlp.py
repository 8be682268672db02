"""The choice-based deterministic LP (CDLP): an upper bound on the offer-set DP (models/cdlp.md).

Replace the random arrivals by their expectation and let the provider spend ``h(o) >= 0`` of the
``tau`` periods showing offer vector ``o``:

    maximise   sum_o  r alpha_bar sum_n P_n(o) h(o)
    subject to sum_o  alpha_bar P_n(o) h(o) <= kappa_n     for every slot type n
               sum_o  h(o) <= tau,

with ``alpha_bar = (sum_t alpha_t) / tau`` (for per-period arrival probabilities this aggregated
LP has the same value as the LP with one ``h_t(o)`` per period; models/cdlp.md shows it). Taking
``h(o)`` = expected number of periods the optimal policy shows ``o`` is feasible with objective
equal to the DP value, so ``CDLP >= V_tau(kappa)`` (Liu & van Ryzin 2008, Prop. 1; the argument
only needs choice probabilities that depend on the offer alone, which Eq. 2b satisfies).

Columns are all offer vectors ``0 < o <= kappa`` (:func:`solve_cdlp` with ``method="enumerate"``)
or are generated (``method="columns"``): the restricted *dual* ``min sum_n kappa_n pi_n + tau mu``
is solved with one row per known column, and the most violated row is found by the one-period
assortment problem with gains ``g_n = r - pi_n``
(:func:`~slotopt.formulations.assortment.best_offer`). Solving the dual directly gives the
prices without reading solver duals.

References
----------
Gallego, Iyengar, Phillips & Dubey (2004), Managing flexible products on a network, CORC Tech.
Report TR-2004-01. Liu & van Ryzin (2008), On the choice-based linear programming model for
network revenue management, M&SOM 10(2), 288-310, Sect. 3 and Prop. 1. Kaluza et al. (2024),
Sect. 4 (Eq. 2b, Eq. 3).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyomo.environ as pyo
from numpy.typing import ArrayLike

from slotopt.engines.offer_set.choice import ChoiceModel
from slotopt.errors import SolverError
from slotopt.formulations.assortment import assortment_problem, best_offer, enumerate_offers
from slotopt.formulations.solver import HighsOptions, solve_model

__all__ = [
    "CDLPData",
    "CDLPResult",
    "build_cdlp",
    "build_cdlp_dual",
    "cdlp_data",
    "extract_plan",
    "solve_cdlp",
]

_MAX_ROUNDS = 10_000


@dataclass(frozen=True)
class CDLPData:
    """What the CDLP needs from an instance.

    Attributes
    ----------
    choice : ChoiceModel
    capacities : ndarray of shape (N,), int64
        ``kappa_n``.
    horizon : int
        ``tau``.
    mean_arrival : float
        ``alpha_bar = sum_t alpha_t / tau``.
    revenue : float
        ``r``.
    """

    choice: ChoiceModel
    capacities: np.ndarray
    horizon: int
    mean_arrival: float
    revenue: float


def cdlp_data(inst: Any) -> CDLPData:
    """The CDLP data of a validated ``OfferSetInstance``."""
    alpha = np.asarray(inst.alpha(), dtype=np.float64)
    return CDLPData(
        choice=ChoiceModel.from_instance(inst),
        capacities=np.asarray(inst.capacities, dtype=np.int64),
        horizon=int(inst.horizon),
        mean_arrival=float(alpha.sum() / inst.horizon),
        revenue=float(inst.revenue),
    )


def _columns(columns: ArrayLike, n: int) -> np.ndarray:
    cols = np.asarray(columns, dtype=np.int64).reshape(-1, n)
    if len(cols) == 0:
        raise ValueError("the CDLP needs at least one column (offer vector)")
    return cols


def _add_data(m: pyo.ConcreteModel, data: CDLPData, cols: np.ndarray) -> None:
    """The sets and parameters the primal and the dual share (models/cdlp.md)."""
    n = len(data.capacities)
    prob = data.choice.probabilities(cols)
    m.types = pyo.Set(initialize=range(n), ordered=True, doc="Slot types n")
    m.offers = pyo.Set(initialize=range(len(cols)), ordered=True, doc="Offer vectors o")
    m.P = pyo.Param(
        m.offers,
        m.types,
        initialize={(k, i): float(prob[k, i]) for k in range(len(cols)) for i in range(n)},
        doc="Choice probability P_n(o) (Eq. 2b)",
    )
    m.kappa = pyo.Param(
        m.types, initialize=dict(enumerate(data.capacities.tolist())), doc="Capacity kappa_n"
    )
    m.tau = pyo.Param(initialize=data.horizon, doc="Horizon tau (periods)")
    m.alpha = pyo.Param(initialize=data.mean_arrival, doc="Mean arrival probability alpha_bar")
    m.r = pyo.Param(initialize=data.revenue, doc="Revenue r per booking")


def build_cdlp(data: CDLPData, columns: ArrayLike) -> pyo.ConcreteModel:
    """The primal CDLP over the given offer vectors (rows of ``columns``, shape ``(K, N)``)."""
    n = len(data.capacities)
    cols = _columns(columns, n)
    m = pyo.ConcreteModel(name="cdlp")
    _add_data(m, data, cols)
    m.h = pyo.Var(m.offers, domain=pyo.NonNegativeReals, doc="Periods h(o) showing offer o")

    @m.Objective(sense=pyo.maximize, doc="Expected revenue of the fluid plan")
    def revenue(m: Any) -> Any:
        return sum(m.r * m.alpha * m.P[k, i] * m.h[k] for k in m.offers for i in m.types)

    @m.Constraint(m.types, doc="Expected bookings of type n stay within its capacity")
    def capacity(m: Any, i: int) -> Any:
        return sum(m.alpha * m.P[k, i] * m.h[k] for k in m.offers) <= m.kappa[i]

    @m.Constraint(doc="The offers fill at most the horizon")
    def horizon(m: Any) -> Any:
        return sum(m.h[k] for k in m.offers) <= m.tau

    return m


def build_cdlp_dual(data: CDLPData, columns: ArrayLike) -> pyo.ConcreteModel:
    """The dual of :func:`build_cdlp` over the given columns (prices ``pi_n``, ``mu``)."""
    n = len(data.capacities)
    cols = _columns(columns, n)
    m = pyo.ConcreteModel(name="cdlp_dual")
    _add_data(m, data, cols)
    m.pi = pyo.Var(m.types, domain=pyo.NonNegativeReals, doc="Price pi_n of a type-n slot")
    m.mu = pyo.Var(domain=pyo.NonNegativeReals, doc="Price mu of a period")

    @m.Objective(sense=pyo.minimize, doc="Value of the capacity and of the periods")
    def bound(m: Any) -> Any:
        return sum(m.kappa[i] * m.pi[i] for i in m.types) + m.tau * m.mu

    @m.Constraint(m.offers, doc="No offer earns more per period than a period is worth")
    def offer_price(m: Any, k: int) -> Any:
        return sum(m.alpha * m.P[k, i] * (m.r - m.pi[i]) for i in m.types) <= m.mu

    return m


def extract_plan(model: pyo.ConcreteModel, columns: ArrayLike, data: CDLPData) -> pd.DataFrame:
    """The offers used by a solved :func:`build_cdlp` model: ``o_0..o_{N-1}``, ``periods``,
    ``bookings_0..`` (expected bookings per type); only columns with ``h(o) > 1e-9``."""
    n = len(data.capacities)
    cols = _columns(columns, n)
    h = np.array([pyo.value(model.h[k]) for k in model.offers], dtype=np.float64)
    keep = h > 1e-9
    prob = data.choice.probabilities(cols[keep])
    out = pd.DataFrame(cols[keep], columns=[f"o_{i}" for i in range(n)])
    out["periods"] = h[keep]
    for i in range(n):
        out[f"bookings_{i}"] = data.mean_arrival * prob[:, i] * h[keep]
    return out.reset_index(drop=True)


@dataclass(frozen=True)
class CDLPResult:
    """The CDLP bound and the fluid plan that attains it.

    Attributes
    ----------
    value : float
        The optimal CDLP value (an upper bound on the DP's ``V_tau(kappa)``).
    plan : DataFrame
        Offers with positive time (see :func:`extract_plan`).
    prices : ndarray of shape (N,)
        Optimal capacity prices ``pi_n`` (None for ``method="enumerate"``).
    n_columns : int
        Columns in the final LP.
    rounds : int
        Pricing rounds (0 for ``method="enumerate"``).
    method : str
    seconds : float
    """

    value: float
    plan: pd.DataFrame
    prices: np.ndarray | None
    n_columns: int
    rounds: int
    method: str
    seconds: float


def solve_cdlp(
    inst: Any,
    *,
    method: Literal["enumerate", "columns"] = "enumerate",
    pricing: Literal["lp", "milp"] = "lp",
    tolerance: float = 1e-9,
    time_limit: float | None = None,
    options: HighsOptions | None = None,
) -> CDLPResult:
    """Solve the CDLP of an offer-set instance.

    Parameters
    ----------
    inst
        A validated ``OfferSetInstance`` or :class:`CDLPData`.
    method
        ``"enumerate"``: all ``prod(kappa_n + 1) - 1`` non-empty offer vectors as columns (small
        instances). ``"columns"``: column generation with the one-period assortment problem as
        pricing (``pricing="lp"`` per size, or ``"milp"``).
    tolerance
        A generated column must improve the reduced profit by more than
        ``tolerance * max(1, r)``.
    time_limit
        Seconds per LP solve.
    options
        HiGHS options (:class:`~slotopt.formulations.solver.HighsOptions`) for every solve,
        the pricing problems' included; None for HiGHS's defaults.

    Raises
    ------
    SolverError
        A solve failed, or column generation did not converge in 10000 rounds.

    Examples
    --------
    One slot, one period, alpha = 1, w = 0, beta = 2, a = 1, b = 2: showing the slot sells it with
    probability 1/2, so the fluid bound equals the DP value 1/2.

    >>> from slotopt.instance.offer_set import offer_set_from_dict
    >>> inst = offer_set_from_dict({"slot_types": [{"name": "x", "capacity": 1, "weight": 0.0}],
    ...     "horizon": 1, "arrival_rate": 1.0, "beta": 2.0, "lower_bound": 1, "upper_bound": 2})
    >>> round(solve_cdlp(inst).value, 9)
    0.5
    """
    if method not in ("enumerate", "columns"):
        raise ValueError(f"method must be 'enumerate' or 'columns', got {method!r}")
    start = time.perf_counter()
    data = inst if isinstance(inst, CDLPData) else cdlp_data(inst)
    n = len(data.capacities)
    if method == "enumerate":
        cols = enumerate_offers(data.capacities.tolist())[1:]  # drop the empty offer
        model = build_cdlp(data, cols)
        outcome = solve_model(model, time_limit=time_limit, options=options, what="CDLP")
        return CDLPResult(
            value=float(outcome.objective or 0.0),
            plan=extract_plan(model, cols, data),
            prices=None,
            n_columns=len(cols),
            rounds=0,
            method=method,
            seconds=time.perf_counter() - start,
        )
    known = [tuple(int(c) for c in data.capacities)]  # start from "show everything"
    rounds = 0
    while True:
        rounds += 1
        if rounds > _MAX_ROUNDS:
            raise SolverError(f"CDLP column generation did not converge in {_MAX_ROUNDS} rounds")
        dual = build_cdlp_dual(data, known)
        solve_model(dual, time_limit=time_limit, options=options, what="CDLP dual")
        pi = np.array([pyo.value(dual.pi[i]) for i in dual.types], dtype=np.float64)
        mu = float(pyo.value(dual.mu))
        problem = assortment_problem(data.choice, data.capacities, gains=data.revenue - pi)
        best = best_offer(
            problem, method=pricing, time_limit=time_limit, mip_gap=0.0, options=options
        )
        reduced = data.mean_arrival * best.value - mu
        new = tuple(int(x) for x in best.offer)
        if reduced <= tolerance * max(1.0, data.revenue) or best.sigma == 0 or new in known:
            break
        known.append(new)
    cols = np.asarray(known, dtype=np.int64).reshape(-1, n)
    model = build_cdlp(data, cols)
    outcome = solve_model(model, time_limit=time_limit, options=options, what="CDLP")
    return CDLPResult(
        value=float(outcome.objective or 0.0),
        plan=extract_plan(model, cols, data),
        prices=pi,
        n_columns=len(cols),
        rounds=rounds,
        method=method,
        seconds=time.perf_counter() - start,
    )
