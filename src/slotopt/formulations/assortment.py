"""The one-period assortment problem of offer-set control as Pyomo models (models/assortment.md).

In booking state ``s`` the provider picks an integer offer vector ``m <= o <= s_hat`` (``s_hat =
min(s, caps)``, ``m`` = must-show counts, ``sigma = sum_n o_n`` in ``[min_shown, max_shown]``) to

    maximise  sum_n g_n P_n(o) = sum_n g_n u_n o_n / (sum_n u_n o_n + c_sigma)          (Eq. 2b)

with ``u_n = e^{w_n}`` and ``c_sigma = e^{w0 + beta f(sigma)}``. Gains ``g_n = 1`` minimise the
no-choice probability (``sum_n P_n = 1 - P_0``); gains ``g_n = r + V_{t-1}(s - e_n) - V_{t-1}(s)``
give the DP's one-step problem (Eq. 3 rewritten as ``V_t(s) = V_{t-1}(s) + alpha_t max_o sum_n
P_n(o) g_n``).

Two formulations, built here and solved only through :mod:`slotopt.formulations.solver`:

* :func:`build_assortment_lp` — for a fixed ``sigma`` the no-choice weight ``c_sigma`` is a
  constant and the problem is linear-fractional; the Charnes–Cooper substitution ``t = 1 /
  (sum u o + c_sigma)``, ``y = o t`` makes it an LP. Its basic optimal solutions map to integral
  offer vectors (the feasible set for fixed ``sigma`` is a box cut by one equation, a totally
  unimodular system; models/assortment.md has the argument). :func:`offer_from_lp` checks the
  integrality of every solution instead of assuming it.
* :func:`build_assortment_milp` — one MILP over all sizes: a binary ``z_sigma`` selects the size,
  binaries ``x_{n,k}`` say whether the ``k``-th slot of type ``n`` is shown, and exact McCormick
  constraints linearise ``y_{n,k} = x_{n,k} t`` and ``zeta_sigma = z_sigma t``. Integral by
  construction.

:func:`best_offer` composes build, :func:`~slotopt.formulations.solver.solve_model` (the compiled
route to HiGHS, with HiGHS's default options unless ``options`` says otherwise) and extract.

References
----------
Kaluza, Voigt, Haase & Dietze (2024), Sect. 4, Eq. 2b and Eq. 3; Sect. 6.3.1 (R_myopic minimises
the no-choice probability). Charnes & Cooper (1962), Programming with linear fractional
functionals, Naval Research Logistics Quarterly 9, 181-186. Hoffman & Kruskal (1956), integral
boundary points of convex polyhedra (total unimodularity).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyomo.environ as pyo
from numpy.typing import ArrayLike

from slotopt.engines.offer_set.choice import ChoiceModel
from slotopt.errors import InfeasibleError, SolverError
from slotopt.formulations.solver import HighsOptions, solve_model

__all__ = [
    "AssortmentProblem",
    "OfferChoice",
    "OfferLimits",
    "assortment_problem",
    "best_offer",
    "build_assortment_lp",
    "build_assortment_milp",
    "enumerate_offers",
    "no_choice_probability",
    "offer_from_lp",
    "offer_from_milp",
    "offer_value",
]

Method = Literal["lp", "milp"]
_INTEGRAL_TOL = 1e-6
# Values within this (absolute) distance of the best count as ties; ties go to the smallest sigma.
_TIE_TOL = 1e-9


@dataclass(frozen=True)
class OfferLimits:
    """Side constraints on the offer vector.

    Attributes
    ----------
    min_shown, max_shown
        Bounds on the total shown ``sigma`` (``max_shown=None``: no bound).
    must_show
        Per type, slots that must be shown (``o_n >= m_n``); None for none.
    caps
        Per type, most slots that may be shown (``o_n <= cap_n``); None for no caps.
    """

    min_shown: int = 0
    max_shown: int | None = None
    must_show: tuple[int, ...] | None = None
    caps: tuple[int, ...] | None = None


@dataclass(frozen=True)
class AssortmentProblem:
    """The data of one one-period assortment problem (arrays documented by shape).

    Attributes
    ----------
    attraction : ndarray of shape (N,)
        ``u_n = e^{w_n}`` (any common positive scale; probabilities do not depend on it).
    no_choice : ndarray of shape (S+1,)
        ``c_sigma = e^{w0 + beta f(sigma)}`` on the same scale, for ``sigma = 0 .. S``.
    gains : ndarray of shape (N,)
        ``g_n``; all ones for the no-choice objective (0 where nothing can be shown).
    lower, upper : ndarray of shape (N,), int64
        ``m_n <= o_n <= s_hat_n``.
    sizes : ndarray of shape (K,), int64
        The feasible sizes ``sigma`` (non-empty, increasing).
    objective : str
        ``"no_choice"`` or ``"revenue"``.
    """

    attraction: np.ndarray
    no_choice: np.ndarray
    gains: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    sizes: np.ndarray
    objective: str

    @property
    def n_types(self) -> int:
        return len(self.attraction)


def _int_vector(name: str, values: ArrayLike, n: int) -> np.ndarray:
    arr = np.asarray(values)
    if arr.shape != (n,):
        raise ValueError(f"{name} must have {n} entries (one per slot type), got shape {arr.shape}")
    if (
        not np.all(np.isfinite(arr.astype(float)))
        or np.any(arr != np.round(arr))
        or np.any(arr < 0)
    ):
        raise ValueError(f"{name} must be non-negative integers, got {arr.tolist()}")
    return arr.astype(np.int64)


def assortment_problem(
    choice: ChoiceModel | Any,
    state: ArrayLike,
    *,
    gains: ArrayLike | None = None,
    limits: OfferLimits | None = None,
) -> AssortmentProblem:
    """Validate the data of the one-period problem in booking state ``state``.

    Parameters
    ----------
    choice
        A :class:`~slotopt.engines.offer_set.choice.ChoiceModel`, or an ``OfferSetInstance``
        (its Eq. 2b model is used).
    state
        ``s``: available slots per type, shape ``(N,)``.
    gains
        ``g_n`` per type; None minimises the no-choice probability (all gains 1). Entries of
        types with nothing to show are ignored (they may be ``-inf`` or NaN).
    limits
        Optional side constraints.

    Raises
    ------
    ValueError
        Shapes or values are malformed.
    InfeasibleError
        The side constraints leave no offer vector.
    """
    model = choice if isinstance(choice, ChoiceModel) else ChoiceModel.from_instance(choice)
    n = model.n_types
    s = _int_vector("state", state, n)
    lim = limits or OfferLimits()
    lower = (
        np.zeros(n, np.int64)
        if lim.must_show is None
        else _int_vector("must_show", lim.must_show, n)
    )
    upper = s.copy() if lim.caps is None else np.minimum(s, _int_vector("caps", lim.caps, n))
    if np.any(lower > upper):
        bad = np.flatnonzero(lower > upper).tolist()
        raise InfeasibleError(
            f"must_show exceeds what can be shown for slot type(s) {bad}: "
            f"must_show {lower.tolist()}, available/capped {upper.tolist()}"
        )
    total = int(s.sum())
    lo = max(int(lim.min_shown), int(lower.sum()))
    hi = int(upper.sum()) if lim.max_shown is None else min(int(lim.max_shown), int(upper.sum()))
    if lo > hi:
        raise InfeasibleError(
            f"no offer vector meets the limits: at least {lo} and at most {hi} slots shown"
        )
    sizes = np.arange(lo, hi + 1, dtype=np.int64)
    if gains is None:
        g = np.ones(n)
        objective = "no_choice"
    else:
        g = np.asarray(gains, dtype=np.float64)
        if g.shape != (n,):
            raise ValueError(f"gains must have {n} entries, got shape {g.shape}")
        g = np.where(upper > 0, g, 0.0)
        if not np.all(np.isfinite(g)):
            raise ValueError(f"gains must be finite where slots can be shown, got {g.tolist()}")
        objective = "revenue"
    return AssortmentProblem(
        attraction=model.attractions(),
        no_choice=model.no_choice_weight(np.arange(total + 1)),
        gains=g,
        lower=lower,
        upper=upper,
        sizes=sizes,
        objective=objective,
    )


def offer_value(problem: AssortmentProblem, offer: ArrayLike) -> float:
    """``sum_n g_n P_n(o)`` evaluated in numpy (the objective of both formulations)."""
    o = np.asarray(offer, dtype=np.float64)
    num = problem.attraction * o
    den = num.sum() + problem.no_choice[int(round(o.sum()))]
    return float((problem.gains * num).sum() / den)


def no_choice_probability(problem: AssortmentProblem, offer: ArrayLike) -> float:
    """``P_0(o)``."""
    o = np.asarray(offer, dtype=np.float64)
    c = problem.no_choice[int(round(o.sum()))]
    return float(c / ((problem.attraction * o).sum() + c))


def _lp_scale(problem: AssortmentProblem, sigma: int) -> float:
    """``D = c_sigma + sigma max_n u_n`` bounds the denominator of every offer of size sigma."""
    return float(problem.no_choice[sigma]) + sigma * float(problem.attraction.max())


def build_assortment_lp(problem: AssortmentProblem, sigma: int) -> pyo.ConcreteModel:
    """The Charnes–Cooper LP for offer vectors of size ``sigma`` (models/assortment.md, LP_sigma).

    ``u`` and ``c_sigma`` enter divided by ``D = c_sigma + sigma max_n u_n`` (probabilities do
    not change under a common scale), so the scale ``t`` lies in ``[1, max u / min u]``.

    Raises
    ------
    ValueError
        ``sigma`` is 0 (nothing to decide) or not one of ``problem.sizes``.
    """
    if sigma not in set(problem.sizes.tolist()) or sigma == 0:
        raise ValueError(
            f"sigma must be a positive feasible size {problem.sizes.tolist()}, got {sigma}"
        )
    n = problem.n_types
    scale = _lp_scale(problem, sigma)
    m = pyo.ConcreteModel(name=f"assortment_lp_sigma_{sigma}")
    m.types = pyo.Set(initialize=range(n), ordered=True, doc="Slot types n")
    m.u = pyo.Param(
        m.types,
        initialize=dict(enumerate((problem.attraction / scale).tolist())),
        doc="Attraction u_n = e^{w_n} (divided by D)",
    )
    m.g = pyo.Param(
        m.types, initialize=dict(enumerate(problem.gains.tolist())), doc="Gain g_n of a booking"
    )
    m.m = pyo.Param(
        m.types, initialize=dict(enumerate(problem.lower.tolist())), doc="Must-show count m_n"
    )
    m.s_hat = pyo.Param(
        m.types, initialize=dict(enumerate(problem.upper.tolist())), doc="Showable slots s_hat_n"
    )
    m.sigma = pyo.Param(initialize=int(sigma), doc="Offer-set size sigma")
    m.c = pyo.Param(
        initialize=float(problem.no_choice[sigma]) / scale,
        doc="No-choice weight c_sigma = e^{w0 + beta f(sigma)} (divided by D)",
    )
    m.y = pyo.Var(m.types, domain=pyo.NonNegativeReals, doc="Scaled offer y_n = o_n t")
    m.t = pyo.Var(domain=pyo.NonNegativeReals, doc="Scale t = 1 / (sum_n u_n o_n + c_sigma)")

    @m.Objective(sense=pyo.maximize, doc="Expected gain sum_n g_n P_n(o)")
    def expected_gain(m: Any) -> Any:
        return sum(m.g[n] * m.u[n] * m.y[n] for n in m.types)

    @m.Constraint(doc="The scaled denominator is one: sum_n u_n y_n + c_sigma t = 1")
    def normalisation(m: Any) -> Any:
        return sum(m.u[n] * m.y[n] for n in m.types) + m.c * m.t == 1

    @m.Constraint(doc="Exactly sigma slots are shown: sum_n y_n = sigma t")
    def offer_size(m: Any) -> Any:
        return sum(m.y[n] for n in m.types) == m.sigma * m.t

    @m.Constraint(m.types, doc="Only showable slots are shown: y_n <= s_hat_n t")
    def showable(m: Any, n: int) -> Any:
        return m.y[n] <= m.s_hat[n] * m.t

    @m.Constraint(m.types, doc="Must-show slots are shown: y_n >= m_n t")
    def must_show(m: Any, n: int) -> Any:
        return m.y[n] >= m.m[n] * m.t

    return m


def build_assortment_milp(problem: AssortmentProblem) -> pyo.ConcreteModel:
    """One MILP over all feasible sizes, with size selector ``z_sigma`` (models/assortment.md).

    ``u`` and ``c`` enter divided by ``D = min_sigma (c_sigma + sum_n u_n m_n)``, a lower bound
    of every denominator, so the scale ``t`` lies in ``[0, 1]`` and every McCormick bound is 1.
    The no-choice share of the selected size is the variable ``q_sigma = c_sigma z_sigma t``
    (a probability), so an unselected size contributes at most HiGHS's integrality tolerance.

    Raises
    ------
    ValueError
        The no-choice weights span more than 12 orders of magnitude (HiGHS cannot hold such
        coefficients accurately; use the LP per size).
    """
    n = problem.n_types
    sizes = problem.sizes.tolist()
    scale = min(
        float(problem.no_choice[s]) + float(problem.attraction @ problem.lower) for s in sizes
    )
    u = problem.attraction / scale
    c = {s: float(problem.no_choice[s]) / scale for s in sizes}
    if max(c.values()) > 1e12:
        raise ValueError(
            "the no-choice weights e^{w0 + beta f(sigma)} span more than 12 orders of magnitude "
            "over the feasible sizes; use method='lp' (or bound the sizes with max_shown)"
        )
    units = [(i, k) for i in range(n) for k in range(1, int(problem.upper[i]) + 1)]
    m = pyo.ConcreteModel(name="assortment_milp")
    m.types = pyo.Set(initialize=range(n), ordered=True, doc="Slot types n")
    m.units = pyo.Set(
        initialize=units, dimen=2, ordered=True, doc="Showable slots (n, k), k = 1..s_hat_n"
    )
    m.sizes = pyo.Set(initialize=sizes, ordered=True, doc="Feasible offer-set sizes sigma")
    m.u = pyo.Param(
        m.types, initialize=dict(enumerate(u.tolist())), doc="Attraction u_n (divided by D)"
    )
    m.g = pyo.Param(
        m.types, initialize=dict(enumerate(problem.gains.tolist())), doc="Gain g_n of a booking"
    )
    m.m = pyo.Param(
        m.types, initialize=dict(enumerate(problem.lower.tolist())), doc="Must-show count m_n"
    )
    m.c = pyo.Param(m.sizes, initialize=c, doc="No-choice weight c_sigma (divided by D)")
    m.T = pyo.Param(
        m.units,
        initialize={(i, k): min(1.0, 1.0 / (k * float(u[i]))) for i, k in units},
        doc="Bound T_nk on t when the k-th slot of type n is shown",
    )
    m.x = pyo.Var(m.units, domain=pyo.Binary, doc="x_nk = 1 when the k-th slot of type n is shown")
    m.z = pyo.Var(m.sizes, domain=pyo.Binary, doc="z_sigma = 1 when exactly sigma slots are shown")
    m.t = pyo.Var(bounds=(0, 1), doc="Scale t = 1 / (sum_n u_n o_n + c_sigma)")
    m.y = pyo.Var(m.units, bounds=(0, 1), doc="y_nk = x_nk t")
    m.q = pyo.Var(m.sizes, bounds=(0, 1), doc="q_sigma = c_sigma z_sigma t (no-choice share)")

    @m.Objective(sense=pyo.maximize, doc="Expected gain sum_n g_n P_n(o)")
    def expected_gain(m: Any) -> Any:
        return sum(m.g[i] * m.u[i] * m.y[i, k] for i, k in m.units)

    @m.Constraint(doc="One size is selected: sum_sigma z_sigma = 1")
    def one_size(m: Any) -> Any:
        return sum(m.z[s] for s in m.sizes) == 1

    @m.Constraint(doc="The shown slots add up to the selected size")
    def size_link(m: Any) -> Any:
        return sum(m.x[i, k] for i, k in m.units) == sum(s * m.z[s] for s in m.sizes)

    @m.Constraint(doc="Probabilities add up to one: sum u_n y_nk + sum q_sigma = 1")
    def normalisation(m: Any) -> Any:
        return sum(m.u[i] * m.y[i, k] for i, k in m.units) + sum(m.q[s] for s in m.sizes) == 1

    @m.Constraint(m.units, doc="Slots of a type are shown in order: x_nk >= x_n,k+1")
    def unit_order(m: Any, i: int, k: int) -> Any:
        if (i, k + 1) not in m.units:
            return pyo.Constraint.Skip
        return m.x[i, k] >= m.x[i, k + 1]

    @m.Constraint(m.units, doc="Must-show slots are shown: x_nk = 1 for k <= m_n")
    def must_show(m: Any, i: int, k: int) -> Any:
        return m.x[i, k] == 1 if k <= m.m[i] else pyo.Constraint.Skip

    @m.Constraint(m.units, doc="y_nk <= T_nk x_nk (McCormick, exact for binary x)")
    def unit_scale_off(m: Any, i: int, k: int) -> Any:
        return m.y[i, k] <= m.T[i, k] * m.x[i, k]

    @m.Constraint(m.units, doc="y_nk <= t")
    def unit_scale_up(m: Any, i: int, k: int) -> Any:
        return m.y[i, k] <= m.t

    @m.Constraint(m.units, doc="y_nk >= t - (1 - x_nk)")
    def unit_scale_on(m: Any, i: int, k: int) -> Any:
        return m.y[i, k] >= m.t - (1 - m.x[i, k])

    @m.Constraint(m.sizes, doc="q_sigma <= z_sigma")
    def size_share_off(m: Any, s: int) -> Any:
        return m.q[s] <= m.z[s]

    @m.Constraint(m.sizes, doc="q_sigma <= c_sigma t")
    def size_share_up(m: Any, s: int) -> Any:
        return m.q[s] <= m.c[s] * m.t

    @m.Constraint(m.sizes, doc="q_sigma >= c_sigma t - c_sigma (1 - z_sigma)")
    def size_share_on(m: Any, s: int) -> Any:
        return m.q[s] >= m.c[s] * m.t - m.c[s] * (1 - m.z[s])

    return m


def offer_from_lp(model: pyo.ConcreteModel) -> np.ndarray:
    """The offer vector ``o = y / t`` of a solved :func:`build_assortment_lp` model.

    Raises
    ------
    SolverError
        The solution is not integral (it would contradict the total-unimodularity argument of
        models/assortment.md; reported rather than rounded away).
    """
    t = pyo.value(model.t)
    if t is None or t <= 0:
        raise SolverError("the assortment LP has no positive scale t; was it solved?")
    o = np.array([pyo.value(model.y[n]) / t for n in model.types], dtype=np.float64)
    r = np.round(o)
    if np.abs(o - r).max(initial=0.0) > _INTEGRAL_TOL:
        raise SolverError(
            f"the Charnes-Cooper LP returned a fractional offer vector {o.tolist()} "
            f"(sigma = {pyo.value(model.sigma)}); use method='milp'"
        )
    return r.astype(np.int64)


def offer_from_milp(model: pyo.ConcreteModel) -> np.ndarray:
    """The offer vector ``o_n = sum_k x_nk`` of a solved :func:`build_assortment_milp` model."""
    o = np.zeros(len(model.types), dtype=np.int64)
    for i, k in model.units:
        o[i] += int(round(pyo.value(model.x[i, k])))
    return o


@dataclass(frozen=True)
class OfferChoice:
    """The best offer vector of one one-period problem.

    Attributes
    ----------
    offer : ndarray of shape (N,), int64
    sigma : int
    value : float
        ``sum_n g_n P_n(offer)`` recomputed in numpy from the integral offer.
    no_choice_probability : float
    by_size : DataFrame or None
        ``method="lp"``: one row per feasible size (``sigma``, ``value``, ``o_0 .. o_{N-1}``);
        None for the MILP.
    method, objective : str
    solves : int
        Models handed to HiGHS.
    seconds : float
        Wall time, building included.
    """

    offer: np.ndarray
    sigma: int
    value: float
    no_choice_probability: float
    by_size: pd.DataFrame | None
    method: str
    objective: str
    solves: int
    seconds: float


def best_offer(
    problem: AssortmentProblem,
    *,
    method: Method = "lp",
    time_limit: float | None = None,
    mip_gap: float | None = None,
    options: HighsOptions | None = None,
) -> OfferChoice:
    """Solve the one-period problem: build, :func:`solve_model`, extract.

    ``method="lp"`` solves one Charnes–Cooper LP per feasible size (size 0 needs no solve: the
    value is 0) and keeps the best; ties within 1e-9 go to the smallest size, so fewer slots are
    shown when showing more gains nothing. ``method="milp"`` solves the single MILP (pass
    ``mip_gap=0`` for a proven optimum rather than HiGHS's default relative gap 1e-4).
    ``time_limit`` applies to each solve; ``options`` (a
    :class:`~slotopt.formulations.solver.HighsOptions`) to every solve, HiGHS's defaults when
    None.

    Raises
    ------
    SolverError
        HiGHS failed, or an LP solution was fractional.

    Examples
    --------
    Appendix G's state ``s = (2, 1)`` with the reading of Table 9 given in
    :class:`~slotopt.engines.offer_set.choice.ChoiceModel` (``w = (5, 1)``, ``beta = 0.5``,
    ``f = sigma / 3``): the no-choice probability is smallest when the type-2 slot is blocked.

    >>> from slotopt.engines.offer_set.choice import ChoiceModel, LinearRamp
    >>> p = assortment_problem(ChoiceModel((5.0, 1.0), 0.5, LinearRamp(0, 3)), [2, 1])
    >>> best = best_offer(p)
    >>> best.offer.tolist(), round(100 * best.no_choice_probability, 2)
    ([2, 0], 0.47)
    """
    if method not in ("lp", "milp"):
        raise ValueError(f"method must be 'lp' or 'milp', got {method!r}")
    start = time.perf_counter()
    n = problem.n_types
    if method == "milp":
        model = build_assortment_milp(problem)
        solve_model(
            model, time_limit=time_limit, mip_gap=mip_gap, options=options, what="assortment MILP"
        )
        offer = offer_from_milp(model)
        return _choice(problem, offer, None, "milp", 1, start)
    rows: list[tuple[int, float, np.ndarray]] = []
    solves = 0
    for sigma in problem.sizes.tolist():
        if sigma == 0:
            rows.append((0, 0.0, np.zeros(n, dtype=np.int64)))
            continue
        model = build_assortment_lp(problem, sigma)
        what = f"assortment LP (sigma = {sigma})"
        solve_model(model, time_limit=time_limit, options=options, what=what)
        solves += 1
        o = offer_from_lp(model)
        rows.append((sigma, offer_value(problem, o), o))
    best_value = max(v for _, v, _ in rows)
    sigma, _, offer = next(r for r in rows if r[1] >= best_value - _TIE_TOL)
    table = pd.DataFrame(
        [[s, v, *o.tolist()] for s, v, o in rows],
        columns=["sigma", "value", *[f"o_{i}" for i in range(n)]],
    )
    return _choice(problem, offer, table, "lp", solves, start)


def _choice(
    problem: AssortmentProblem,
    offer: np.ndarray,
    table: pd.DataFrame | None,
    method: str,
    solves: int,
    start: float,
) -> OfferChoice:
    return OfferChoice(
        offer=offer,
        sigma=int(offer.sum()),
        value=offer_value(problem, offer),
        no_choice_probability=no_choice_probability(problem, offer),
        by_size=table,
        method=method,
        objective=problem.objective,
        solves=solves,
        seconds=time.perf_counter() - start,
    )


def enumerate_offers(upper: Sequence[int], lower: Sequence[int] | None = None) -> np.ndarray:
    """All integer vectors ``lower <= o <= upper``, shape ``(prod(upper - lower + 1), N)``.

    For tests and small cross-checks (the count grows as a product).
    """
    lo = [0] * len(upper) if lower is None else list(lower)
    axes = [np.arange(a, b + 1) for a, b in zip(lo, upper, strict=True)]
    grids = np.meshgrid(*axes, indexing="ij")
    return np.stack([g.ravel() for g in grids], axis=-1).astype(np.int64)
