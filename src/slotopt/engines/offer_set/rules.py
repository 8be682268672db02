"""The decision rules of Kaluza et al. (2024), Sect. 6.3.1, and how to evaluate any policy.

Rules (time-invariant maps from the booking state ``s`` to an offer vector ``o <= s``)
-------------------------------------------------------------------------------------
``no_blocking``
    Show every free slot: ``o = s``.
``r_low``
    "Blocks only less preferred slots": while a slot of a *preferred* type is free, show every free
    preferred slot and block all others; once the preferred slots are all booked, release the less
    preferred ones "successively, one at a time" -- ``m`` slots at a time, most preferred first.
``r_one``
    "Offers one slot at a time", the preferred types first: show ``m`` free slots, filled in order
    of preference.
``r_myopic``
    In every state show the offer that minimises the no-choice probability ``P_0(o)`` of the
    current period (ties: smallest offer set, then lexicographically smallest ``o``). Theorem 1:
    optimal when all slot weights are equal.

Generalisation beyond the paper's two types (documented reading)
----------------------------------------------------------------
*Preference* is the slot weight ``w_n``: types are ranked by decreasing weight, equal weights by
type number (the paper numbers the most preferred type 1). *Preferred* types (for ``r_low``) are
those with the largest weight; every other type is *less preferred*. With two types this is the
paper's rule exactly; with equal weights everywhere every type is preferred and ``r_low`` is
``no_blocking``. The block size ``m = max(1, floor(a))`` is the paper's "one at a time" (it notes
``a = 1`` in all its instances and that "a higher lower bound would increase the number of offered
slots proportionally"): up to ``a`` shown slots carry no quality penalty.

Evaluation
----------
:func:`evaluate_rule` gives each rule's exact expected revenue (policy evaluation, the same
recursion as the DP), its gap to the optimum in per cent, and a seeded Monte Carlo estimate with a
normal-approximation confidence interval (:func:`simulate_policy`; numpy ``PCG64`` seeded by
``SeedSequence([seed, rule_id])``, so a rule's stream does not depend on which other rules run).

References
----------
Kaluza, Voigt, Haase, Dietze (2024), Sect. 5.1 (Theorem 1), Sect. 6.3.1, Appendix F and G.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from slotopt.engines.offer_set.choice import ChoiceModel
from slotopt.engines.offer_set.dp import DPSolution, StateSpace, best_offers, evaluate_policy

if TYPE_CHECKING:
    from slotopt.instance.offer_set import OfferSetInstance

__all__ = [
    "RULES",
    "MonteCarloEstimate",
    "RuleResult",
    "block_size",
    "evaluate_rule",
    "evaluate_rules",
    "gap_pct",
    "preference_order",
    "rule_policy",
    "simulate_policy",
]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

RULES: tuple[str, ...] = ("no_blocking", "r_low", "r_one", "r_myopic")
# Fixed stream ids: a rule's Monte Carlo draws do not depend on which rules are evaluated.
_STREAM_ID = {"optimal": 0, "no_blocking": 1, "r_low": 2, "r_one": 3, "r_myopic": 4}
Z_95 = 1.959963984540054


def block_size(inst: OfferSetInstance) -> int:
    """``m = max(1, floor(a))``: how many slots "one at a time" shows (see the module docstring)."""
    return max(1, math.floor(inst.lower_bound + 1e-9))


def preference_order(weights: ArrayLike) -> IntArray:
    """Type indices from most to least preferred (decreasing weight, then type number)."""
    w = np.asarray(weights, dtype=np.float64)
    return np.lexsort((np.arange(len(w)), -w)).astype(np.int64)


def _fill_in_order(states: IntArray, order: IntArray, amount: IntArray) -> IntArray:
    """Show ``amount`` free slots per state, taken type by type in ``order``: shape ``(S, N)``."""
    caps = states[:, order]
    before = np.cumsum(caps, axis=1) - caps
    take = np.clip(amount[:, None] - before, 0, caps)
    out = np.zeros_like(states)
    out[:, order] = take
    return out


def rule_policy(inst: OfferSetInstance, rule: str, *, space: StateSpace | None = None) -> IntArray:
    """The offer vector of ``rule`` in every state, shape ``(S, N)`` (the same in every period).

    Parameters
    ----------
    inst
        The instance.
    rule
        One of :data:`RULES`.
    space
        The state space (built from ``inst`` when omitted).

    Raises
    ------
    ValueError
        Unknown rule.

    Examples
    --------
    >>> from slotopt.instance.offer_set import offer_set_from_dict
    >>> inst = offer_set_from_dict({"slot_types": [{"name": "h", "capacity": 2, "weight": 2},
    ...     {"name": "l", "capacity": 1, "weight": 1}], "horizon": 4, "arrival_rate": 0.5,
    ...     "beta": 0.5})
    >>> sp = StateSpace.of(inst.capacities)
    >>> [rule_policy(inst, r)[sp.index((2, 1))].tolist() for r in RULES]
    [[2, 1], [2, 0], [1, 0], [2, 0]]
    """
    space = space or StateSpace.of(inst.capacities)
    states = space.states
    if rule == "no_blocking":
        return states.copy()
    order = preference_order(inst.weights)
    m = block_size(inst)
    if rule == "r_one":
        return _fill_in_order(states, order, np.full(len(states), m, dtype=np.int64))
    if rule == "r_low":
        w = np.asarray(inst.weights)
        preferred = w == w.max()
        left = states[:, preferred].sum(axis=1)
        out = _fill_in_order(
            np.where(preferred[None, :], 0, states),
            order,
            np.where(left > 0, 0, m).astype(np.int64),
        )
        out[:, preferred] = np.where(left[:, None] > 0, states[:, preferred], 0)
        return out
    if rule == "r_myopic":
        model = ChoiceModel.from_instance(inst)
        offers, _ = best_offers(model, states, np.ones(states.shape, dtype=np.float64))
        return offers
    known = ", ".join(RULES)
    raise ValueError(f"unknown decision rule {rule!r}; expected one of {known}")


@dataclass(frozen=True)
class MonteCarloEstimate:
    """Sample mean of simulated revenue with a normal-approximation confidence interval."""

    mean: float
    std_err: float
    ci_low: float
    ci_high: float
    n_runs: int
    confidence: float
    seed: int


def simulate_policy(
    inst: OfferSetInstance,
    policy: ArrayLike,
    *,
    n_runs: int = 10_000,
    seed: int,
    stream: int = 0,
    confidence: float = 0.95,
    space: StateSpace | None = None,
) -> MonteCarloEstimate:
    """Simulate ``n_runs`` booking horizons under ``policy`` from the empty schedule.

    Each period ``t = tau..1`` draws, for every run, one uniform for the arrival (probability
    ``alpha_t``) and one for the choice (inverse CDF over ``P_1..P_N, P_0``), in that order.

    Parameters
    ----------
    inst
        The instance.
    policy
        ``(S, N)`` or ``(tau, S, N)`` offer vectors, as for :func:`evaluate_policy`.
    n_runs
        Number of simulated horizons (>= 2).
    seed
        Seed of ``np.random.Generator(PCG64(SeedSequence([seed, stream])))``.
    stream
        Sub-stream id (rules use fixed ids so their draws are independent of each other).
    confidence
        Level of the two-sided interval (normal approximation).
    space
        The state space (built from ``inst`` when omitted).

    Returns
    -------
    MonteCarloEstimate
    """
    if n_runs < 2:
        raise ValueError(f"n_runs must be at least 2, got {n_runs}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    space = space or StateSpace.of(inst.capacities)
    tau, n_s, n = inst.horizon, space.n_states, space.n_types
    pol = np.asarray(policy, dtype=np.int64)
    if pol.shape == (n_s, n):
        pol = np.broadcast_to(pol, (tau, n_s, n))
    if pol.shape != (tau, n_s, n):
        raise ValueError(f"policy must have shape ({n_s}, {n}) or ({tau}, {n_s}, {n})")
    if (pol < 0).any() or (pol > space.states[None]).any():
        raise ValueError("policy offers slots that are not free (need 0 <= o <= s)")
    model = ChoiceModel.from_instance(inst)
    alpha = inst.alpha()
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), int(stream)])))
    idx = np.full(n_runs, space.full, dtype=np.int64)
    booked = np.zeros(n_runs, dtype=np.int64)
    cache: dict[int, FloatArray] = {}
    for t in range(tau, 0, -1):
        key = 0 if pol.strides[0] == 0 else t
        if key not in cache:
            cache[key] = np.cumsum(model.probabilities(pol[t - 1]), axis=1)
        cum = cache[key][idx]
        arrive = rng.random(n_runs) < alpha[t - 1]
        u = rng.random(n_runs)
        choice = (u[:, None] >= cum).sum(axis=1)  # n = N means "no choice"
        hit = arrive & (choice < n)
        idx[hit] -= space.strides[choice[hit]]
        booked += hit
    revenue = inst.revenue * booked.astype(np.float64)
    mean = float(revenue.mean())
    se = float(revenue.std(ddof=1) / math.sqrt(n_runs))
    z = Z_95 if confidence == 0.95 else _normal_quantile(0.5 + confidence / 2)
    return MonteCarloEstimate(mean, se, mean - z * se, mean + z * se, n_runs, confidence, seed)


def _normal_quantile(p: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(p))


def gap_pct(optimum: float, value: float) -> float:
    """``100 (V* - V) / V*``: the rule's shortfall in per cent of the optimum (0 when V* = 0)."""
    return 0.0 if optimum == 0 else 100.0 * (optimum - value) / optimum


@dataclass(frozen=True)
class RuleResult:
    """One rule's exact and simulated performance (every field always present).

    Attributes
    ----------
    rule : str
    expected_revenue : float
        Exact, by policy evaluation from the empty schedule.
    gap_pct : float or None
        ``100 (V* - V_rule) / V*``; None when no optimum was given.
    monte_carlo : MonteCarloEstimate or None
        None when simulation was skipped (``n_runs=0``).
    values : ndarray of shape (tau + 1, S)
        The rule's value function.
    """

    rule: str
    expected_revenue: float
    gap_pct: float | None
    monte_carlo: MonteCarloEstimate | None
    values: FloatArray


def evaluate_rule(
    inst: OfferSetInstance,
    rule: str,
    *,
    optimum: float | None = None,
    n_runs: int = 10_000,
    seed: int | None = None,
    confidence: float = 0.95,
    space: StateSpace | None = None,
) -> RuleResult:
    """Exact value, gap and (if ``n_runs > 0``) Monte Carlo estimate of one rule.

    ``seed`` is required when ``n_runs > 0``.
    """
    space = space or StateSpace.of(inst.capacities)
    policy = rule_policy(inst, rule, space=space)
    values = evaluate_policy(inst, policy, space=space)
    exact = float(values[-1, space.full])
    mc = None
    if n_runs:
        if seed is None:
            raise ValueError("Monte Carlo simulation needs an explicit seed (or n_runs=0)")
        mc = simulate_policy(
            inst,
            policy,
            n_runs=n_runs,
            seed=seed,
            stream=_STREAM_ID[rule],
            confidence=confidence,
            space=space,
        )
    gap = None if optimum is None else gap_pct(optimum, exact)
    return RuleResult(rule, exact, gap, mc, values)


def evaluate_rules(
    inst: OfferSetInstance,
    *,
    solution: DPSolution | None = None,
    rules: tuple[str, ...] = RULES,
    n_runs: int = 10_000,
    seed: int | None = None,
    confidence: float = 0.95,
) -> dict[str, RuleResult]:
    """:func:`evaluate_rule` for several rules; gaps are relative to ``solution`` when given."""
    space = solution.space if solution is not None else StateSpace.of(inst.capacities)
    optimum = None if solution is None else solution.optimal_value
    return {
        r: evaluate_rule(
            inst,
            r,
            optimum=optimum,
            n_runs=n_runs,
            seed=seed,
            confidence=confidence,
            space=space,
        )
        for r in rules
    }
