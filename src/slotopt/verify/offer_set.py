"""Certificates for an offer-set DP solution, independent of the search that produced it.

* **feasible** -- every offer shows only free slots: ``0 <= o <= s``.
* **policy value** -- evaluating the returned policy (a plain forward use of Eq. 2b and the
  recursion, no maximisation) reproduces the returned values: the Bellman residual of the policy.
* **Bellman optimality** -- in every state (or, above ``max_states`` states, in a seeded sample of
  states per period plus the state with nothing booked), no offer vector ``o <= s`` -- all of them
  enumerated here -- improves on the policy's one-period value by more than the tolerance.
* **monotone** -- ``V_t(s) >= V_{t-1}(s)`` (more time cannot hurt) and ``V_t(s) >= V_t(s - e_n)``
  (a free slot can always be blocked), and ``V_tau(kappa) <= r min(kappa, sum_t alpha_t)``.
* **dominates rules** -- the optimal values are at least every given rule's values, state by state.
* **matches the reference** -- when a second solution is given (the enumerating DP on small
  instances), both value functions agree everywhere.

The enumeration here is written separately from :mod:`slotopt.engines.offer_set.dp`; only the
choice model (the definition of Eq. 2b) is shared.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from slotopt.engines.offer_set.choice import ChoiceModel
from slotopt.engines.offer_set.dp import DPSolution

if TYPE_CHECKING:
    from slotopt.instance.offer_set import OfferSetInstance

__all__ = ["OfferSetReport", "check_offer_set"]

RTOL = 1e-9
MAX_LISTED = 20


@dataclass(frozen=True)
class OfferSetReport:
    """Outcome of :func:`check_offer_set`; ``violations`` lists every failed check."""

    feasible: bool
    policy_value: bool
    bellman_optimal: bool
    monotone: bool
    dominates_rules: bool
    matches_reference: bool | None
    max_policy_residual: float
    max_improvement: float
    states_enumerated: int
    violations: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.violations

    def describe(self) -> str:
        if self.ok:
            return "all offer-set certificates hold"
        return "\n".join(f"- {v}" for v in self.violations)

    def to_dict(self) -> dict[str, object]:
        return {
            "feasible": self.feasible,
            "policy_value": self.policy_value,
            "bellman_optimal": self.bellman_optimal,
            "monotone": self.monotone,
            "dominates_rules": self.dominates_rules,
            "matches_reference": self.matches_reference,
            "max_policy_residual": self.max_policy_residual,
            "max_improvement": self.max_improvement,
            "states_enumerated": self.states_enumerated,
            "violations": list(self.violations),
        }


def _one_period(
    model: ChoiceModel,
    offers: NDArray[np.int64],
    v_prev: NDArray[np.float64],
    down: NDArray[np.int64],
    idx: NDArray[np.int64],
    revenue: float,
) -> NDArray[np.float64]:
    """``sum_n P_n(o) (r + V(s - e_n) - V(s))`` for one offer per state ``idx`` (shape (B, N)).

    ``down`` holds the indices of ``s - e_n`` for those states (-1 where ``s_n = 0``; such types
    have ``o_n = 0`` in a feasible offer, hence ``P_n = 0``).
    """
    p = model.probabilities(offers)
    nxt = np.where(down >= 0, v_prev[np.maximum(down, 0)], 0.0)
    return (p * (revenue + nxt - v_prev[idx][:, None])).sum(axis=1)


def check_offer_set(
    inst: OfferSetInstance,
    solution: DPSolution,
    *,
    rule_values: Mapping[str, NDArray[np.float64]] | None = None,
    reference: DPSolution | None = None,
    max_states: int = 200,
    seed: int = 0,
) -> OfferSetReport:
    """Check a DP solution; see the module docstring for the certificates.

    Parameters
    ----------
    inst
        The instance the solution claims to solve.
    solution
        Values ``(tau + 1, S)`` and policy ``(tau, S, N)``.
    rule_values
        Value functions of other policies (e.g. the decision rules), each ``(tau + 1, S)``.
    reference
        Another solution of the same instance (e.g. by the enumerating DP) to compare values with.
    max_states
        Enumerate every offer vector in every state when there are at most this many states;
        otherwise in this many states per period, drawn with ``seed`` (plus the full state).
    seed
        Seed for that sample (numpy PCG64).
    """
    violations: list[str] = []
    space = solution.space
    states, down = space.states, space.down
    values, policy = solution.values, solution.policy
    tau = inst.horizon
    scale = max(1.0, float(np.abs(values).max(initial=0.0)))
    tol = RTOL * scale
    model = ChoiceModel.from_instance(inst)
    alpha = inst.alpha()

    expected = (tau + 1, space.n_states)
    if values.shape != expected or policy.shape != (tau, space.n_states, space.n_types):
        violations.append(
            f"shapes: values {values.shape} (expected {expected}), policy {policy.shape}"
        )
        return OfferSetReport(
            False, False, False, False, False, None, np.inf, np.inf, 0, tuple(violations)
        )

    bad = np.argwhere(((policy < 0) | (policy > states[None])).any(axis=2))
    feasible = bad.size == 0
    for t1, i in bad[:MAX_LISTED]:
        violations.append(
            f"period {t1 + 1}, state {states[i].tolist()}: offers {policy[t1, i].tolist()} "
            "(must satisfy 0 <= o <= s)"
        )

    # Policy value: forward evaluation of the returned policy, no maximisation.
    residual = 0.0
    if not np.allclose(values[0], 0.0, atol=tol, rtol=0):
        violations.append("terminal values V_0 are not all 0")
    for t in range(1, tau + 1):
        everywhere = np.arange(space.n_states)
        offers = np.clip(policy[t - 1], 0, states)
        step = _one_period(model, offers, values[t - 1], down, everywhere, inst.revenue)
        res = np.abs(values[t - 1] + alpha[t - 1] * step - values[t])
        residual = max(residual, float(res.max(initial=0.0)))
    policy_value = residual <= tol
    if not policy_value:
        violations.append(f"the policy does not earn the returned values (residual {residual:.3g})")

    # Bellman optimality by enumerating every offer vector in (sampled) states.
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))
    vectors = np.array(
        list(itertools.product(*(range(c + 1) for c in space.capacities))), dtype=np.int64
    ).reshape(-1, space.n_types)
    by_type = np.ascontiguousarray(vectors.T)
    probs = model.probabilities(vectors)  # (M, N): the same in every state
    improvement = 0.0
    checked = 0
    for t in range(1, tau + 1):
        if space.n_states <= max_states:
            idx = np.arange(space.n_states)
        else:
            pick = rng.choice(space.n_states, size=max_states, replace=False)
            idx = np.unique(np.append(pick, space.full))
        checked += len(idx)
        v_prev = values[t - 1]
        d = down[idx]
        gains = np.where(d >= 0, inst.revenue + v_prev[np.maximum(d, 0)], 0.0) - np.where(
            d >= 0, v_prev[idx][:, None], 0.0
        )
        alt = gains @ probs.T  # (B, M)
        infeasible = np.zeros(alt.shape, dtype=bool)
        for n in range(space.n_types):
            np.logical_or(infeasible, by_type[n][None, :] > states[idx, n][:, None], out=infeasible)
        np.putmask(alt, infeasible, -np.inf)
        here = _one_period(model, policy[t - 1, idx], v_prev, d, idx, inst.revenue)
        gain = alpha[t - 1] * (alt.max(axis=1) - here)
        improvement = max(improvement, float(gain.max(initial=0.0)))
        for j in np.flatnonzero(gain > tol)[:MAX_LISTED]:
            i = idx[j]
            k = int(np.argmax(alt[j]))
            violations.append(
                f"period {t}, state {states[i].tolist()}: offer {vectors[k].tolist()} beats "
                f"the policy's {policy[t - 1, i].tolist()} by {float(gain[j]):.3g}"
            )
    bellman = improvement <= tol

    monotone = True
    if (values[1:] < values[:-1] - tol).any():
        monotone = False
        violations.append("V_t(s) < V_{t-1}(s) somewhere: more time cannot lower the value")
    nxt = np.where(down >= 0, values[:, np.maximum(down, 0)], -np.inf)  # (tau+1, S, N)
    if (values[:, :, None] < nxt - tol).any():
        monotone = False
        violations.append("V_t(s) < V_t(s - e_n) somewhere: an extra free slot can be blocked")
    bound = inst.revenue * min(float(inst.total_capacity), float(alpha.sum()))
    if solution.optimal_value > bound + tol:
        monotone = False
        violations.append(
            f"optimal value {solution.optimal_value:.6g} exceeds "
            f"r min(kappa, sum alpha) = {bound:.6g}"
        )

    dominates = True
    for name, rv in (rule_values or {}).items():
        worse = np.asarray(rv) - values
        if (worse > tol).any():
            dominates = False
            tw, iw = (int(x) for x in np.unravel_index(int(np.argmax(worse)), worse.shape))
            violations.append(
                f"rule {name} beats the optimum in period {tw}, state {states[iw].tolist()} "
                f"by {float(worse[tw, iw]):.3g}"
            )

    matches: bool | None = None
    if reference is not None:
        diff = float(np.abs(reference.values - values).max(initial=0.0))
        matches = reference.values.shape == values.shape and diff <= tol
        if not matches:
            violations.append(
                f"values differ from the {reference.method} reference by up to {diff:.3g}"
            )

    return OfferSetReport(
        feasible=feasible,
        policy_value=policy_value,
        bellman_optimal=bellman,
        monotone=monotone,
        dominates_rules=dominates,
        matches_reference=matches,
        max_policy_residual=residual,
        max_improvement=improvement,
        states_enumerated=checked,
        violations=tuple(violations),
    )
