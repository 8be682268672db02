"""One negative test per clause of the offer-set certificates, and the documented tie rule.

Every forged solution keeps the other clauses intact where that is possible (said in each
test) and the test looks for its own clause's flag and message, so switching the clause off in
slotopt.verify.offer_set fails the test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from slotopt.engines.offer_set.choice import ChoiceModel, LinearRamp
from slotopt.engines.offer_set.dp import (
    DPSolution,
    backward_induction,
    best_offers,
    best_offers_enumerate,
    evaluate_policy,
)
from slotopt.formulations.assortment import assortment_problem, best_offer
from slotopt.instance.offer_set import OfferSetInstance, offer_set_from_dict
from slotopt.verify.offer_set import check_offer_set
from tests.offer_set.brute import Case

SMALL = Case((2, 2), (2.0, 1.0), 1.5, (0.5,) * 6, 1.0, 4.0)


@pytest.fixture(scope="module")
def small() -> tuple[OfferSetInstance, DPSolution]:
    inst = offer_set_from_dict(SMALL.spec())
    return inst, backward_induction(inst)


def test_the_optimal_solution_passes(small: tuple[OfferSetInstance, DPSolution]) -> None:
    inst, sol = small
    report = check_offer_set(inst, sol, reference=sol)
    assert report.ok and report.violations == ()
    flags = (report.feasible, report.policy_value, report.bellman_optimal, report.monotone)
    assert flags == (True, True, True, True)
    assert report.dominates_rules is True and report.matches_reference is True
    assert report.max_improvement <= 1e-9 and report.max_policy_residual <= 1e-9
    assert report.states_enumerated == 6 * 9  # every one of the 9 states in each of 6 periods
    assert check_offer_set(inst, sol).matches_reference is None


def test_a_suboptimal_offer_in_the_last_period_before_the_day(
    small: tuple[OfferSetInstance, DPSolution],
) -> None:
    """The same forgery one period before the workday (t = 1): Bellman must look there too.
    (Here the forged values also fall when a slot is freed, which monotonicity reports.)"""
    inst, sol = small
    policy = sol.policy.copy()
    full = sol.space.full
    policy[0, full] = sol.space.states[full]
    values = evaluate_policy(inst, policy)
    report = check_offer_set(inst, DPSolution(values, policy, sol.space, "forged"))
    assert report.policy_value and not report.bellman_optimal
    assert report.violations[0] == (
        "period 1, state [2, 2]: offer [2, 0] beats the policy's [2, 2] by 0.0406"
    )


def test_arrays_of_the_wrong_shape_fail_everything(
    small: tuple[OfferSetInstance, DPSolution],
) -> None:
    inst, sol = small
    report = check_offer_set(inst, DPSolution(sol.values[:-1], sol.policy, sol.space, "short"))
    assert not report.ok and report.violations[0].startswith("shapes: values (6, 9)")
    flags = (report.feasible, report.policy_value, report.bellman_optimal, report.monotone)
    assert flags == (False, False, False, False) and report.dominates_rules is False
    assert report.states_enumerated == 0


@pytest.mark.parametrize("max_states", [200, 3])  # every state; a sample plus the full state
def test_a_self_consistent_suboptimal_solution_fails_only_bellman(
    small: tuple[OfferSetInstance, DPSolution], max_states: int
) -> None:
    """Show everything (o = s) in the last period with everything free, and give the values
    that policy really earns (exact policy evaluation): feasible, its values reproduce, they are
    monotone and within the bound -- only Bellman optimality can see that blocking the type-2
    slots ([2, 0]) earns more."""
    inst, sol = small
    policy = sol.policy.copy()
    full = sol.space.full
    policy[-1, full] = sol.space.states[full]
    values = evaluate_policy(inst, policy)
    assert values[-1, full] < sol.optimal_value  # it is suboptimal
    report = check_offer_set(
        inst, DPSolution(values, policy, sol.space, "forged"), max_states=max_states
    )
    assert report.feasible and report.policy_value and report.monotone
    assert not report.bellman_optimal and report.max_improvement > 0.02
    assert report.violations == (
        "period 6, state [2, 2]: offer [2, 0] beats the policy's [2, 2] by 0.0221",
    )


def _with_values(sol: DPSolution, values: np.ndarray) -> DPSolution:
    return DPSolution(values, sol.policy, sol.space, "forged")


def test_a_value_falling_with_more_time_is_not_monotone(
    small: tuple[OfferSetInstance, DPSolution],
) -> None:
    inst, sol = small
    values = sol.values.copy()
    full = sol.space.full
    values[-2, full] = values[-1, full] + 0.1  # V_5(kappa) above V_6(kappa)
    report = check_offer_set(inst, _with_values(sol, values))
    assert not report.monotone
    assert "V_t(s) < V_{t-1}(s) somewhere: more time cannot lower the value" in report.violations


def test_a_value_falling_with_a_free_slot_is_not_monotone(
    small: tuple[OfferSetInstance, DPSolution],
) -> None:
    """V_1 of one free type-1 slot is alpha_1 P(book); give s = (1, 0) more than s = (2, 0)
    although the second slot could always be blocked."""
    inst, sol = small
    values = sol.values.copy()
    one, two = sol.space.index([1, 0]), sol.space.index([2, 0])
    values[1, one] = values[1, two] + 0.01
    report = check_offer_set(inst, _with_values(sol, values))
    assert not report.monotone
    assert "V_t(s) < V_t(s - e_n) somewhere: an extra free slot can be blocked" in report.violations


def test_a_value_above_the_bound_is_rejected(small: tuple[OfferSetInstance, DPSolution]) -> None:
    """r = 1, kappa = 4 slots, sum alpha = 6 x 0.5 = 3 arrivals: no policy earns more than 3."""
    inst, sol = small
    values = sol.values.copy()
    values[-1, sol.space.full] = 3.5
    report = check_offer_set(inst, _with_values(sol, values))
    assert not report.monotone
    assert "optimal value 3.5 exceeds r min(kappa, sum alpha) = 3" in report.violations


def test_terminal_values_and_infeasible_offers_are_rejected(
    small: tuple[OfferSetInstance, DPSolution],
) -> None:
    inst, sol = small
    values = sol.values.copy()
    values[0, 0] = 0.5
    report = check_offer_set(inst, _with_values(sol, values))
    assert "terminal values V_0 are not all 0" in report.violations
    policy = sol.policy.copy()
    empty = sol.space.index([0, 0])
    policy[0, empty] = [1, 0]  # offers a slot in a state with nothing free
    report = check_offer_set(inst, DPSolution(sol.values, policy, sol.space, "forged"))
    assert not report.feasible
    assert "period 1, state [0, 0]: offers [1, 0] (must satisfy 0 <= o <= s)" in report.violations


# -- the documented tie rule: smallest sigma, then the lexicographically smallest o -------------

# One slot type of weight 0 with w0 = 0 and the ramp f = (sigma - 1)^+ on [1, 2] with
# beta = ln 2: the no-choice weight is 1 at sigma = 1 and 2 at sigma = 2, so with gain D = 1
# showing one slot earns 1/(1 + 1) = 1/2 and showing two earns 2/(2 + 2) = 1/2: an exact tie,
# which the rule gives to sigma = 1.
TIED = ChoiceModel((0.0,), beta=math.log(2.0), effect=LinearRamp(1, 2))
# Two equal types, beta = 1: one slot earns 1/2, two earn 2/(2 + e) < 1/2; (1, 0) and (0, 1)
# tie at sigma = 1 and the rule takes the lexicographically smaller (0, 1).
TWINS = ChoiceModel((0.0, 0.0), beta=1.0, effect=LinearRamp(1, 2))


@pytest.mark.parametrize("search", [best_offers, best_offers_enumerate])
def test_ties_go_to_the_smallest_sigma(search: object) -> None:
    offers, value = search(TIED, [[2]], [[1.0]])  # type: ignore[operator]
    assert offers.tolist() == [[1]]
    assert value[0] == pytest.approx(0.5)


@pytest.mark.parametrize("search", [best_offers, best_offers_enumerate])
def test_ties_of_one_size_go_to_the_lexicographically_smallest_offer(search: object) -> None:
    offers, value = search(TWINS, [[1, 1]], [[1.0, 1.0]])  # type: ignore[operator]
    assert offers.tolist() == [[0, 1]]
    assert value[0] == pytest.approx(0.5)


def test_the_dp_policy_follows_the_tie_rule() -> None:
    inst = offer_set_from_dict(
        {
            "slot_types": [{"name": "only", "capacity": 2, "weight": 0.0}],
            "horizon": 1,
            "arrival_rate": 1.0,
            "beta": math.log(2.0),
            "w0": 0.0,
            "lower_bound": 1,
            "upper_bound": 2,
        }
    )
    for method in ("sort", "enumerate"):
        sol = backward_induction(inst, method=method)
        assert sol.offer(1, [2]) == (1,)
        assert sol.optimal_value == pytest.approx(0.5)


@pytest.mark.solver
def test_the_assortment_lp_follows_the_tie_rule() -> None:
    best = best_offer(assortment_problem(TIED, [2]))
    assert best.offer.tolist() == [1]


def test_the_report_as_summary_json_and_text(small: tuple[OfferSetInstance, DPSolution]) -> None:
    inst, sol = small
    good = check_offer_set(inst, sol)
    assert good.describe() == "all offer-set certificates hold"
    values = sol.values.copy()
    values[-1, sol.space.full] = 3.5
    bad = check_offer_set(inst, _with_values(sol, values))
    assert bad.describe().splitlines()[-1] == (
        "- optimal value 3.5 exceeds r min(kappa, sum alpha) = 3"
    )
    assert bad.to_dict() == {
        "feasible": bad.feasible,
        "policy_value": bad.policy_value,
        "bellman_optimal": bad.bellman_optimal,
        "monotone": False,
        "dominates_rules": True,
        "matches_reference": None,
        "max_policy_residual": bad.max_policy_residual,
        "max_improvement": bad.max_improvement,
        "states_enumerated": 6 * 9,  # 9 states (3 x 3), all enumerated in each of 6 periods
        "violations": list(bad.violations),
    }
    assert bad.to_dict()["feasible"] is True and bad.to_dict()["policy_value"] is False
