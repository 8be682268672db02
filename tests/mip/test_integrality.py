"""The LP paths check integrality instead of assuming total unimodularity, and the check bites."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from slotopt.engines.matching.order import priority_order
from slotopt.errors import SolverError
from slotopt.formulations.matching.solving import INTEGRALITY_TOLERANCE, integral, integral_count
from slotopt.formulations.matching.weighted_lp import weighted_lp_matching
from slotopt.formulations.matching_models import build_weighted_lp
from slotopt.formulations.solver import HighsOptions, HighsPresets, compile_model
from slotopt.instance import MatchingInstance
from tests.matching import cases
from tests.matching.strategies import matching_instances

pytestmark = pytest.mark.solver


@given(matching_instances(), st.integers(0, 20))
def test_weighted_lp_solution_is_integral(inst: MatchingInstance, seed: int) -> None:
    order = priority_order(inst.priority, inst.applicant_ids, seed)
    model = build_weighted_lp(inst, order)
    compiled = compile_model(model)
    compiled.solve()
    values = compiled.values()
    # every column (flows x_tg and segments y_tk) at an integer: a vertex of an integral polytope
    assert np.abs(values - np.rint(values)).max(initial=0.0) <= 1e-9
    _, info = weighted_lp_matching(inst, order)
    assert info["max_fractionality"] <= INTEGRALITY_TOLERANCE


def _split_choice() -> MatchingInstance:
    """One applicant, two acceptable slots of capacity 1 each, in two different slot groups (a
    second applicant accepts only one of them): the flow has many optima (1/0, 0/1 and every
    convex combination), so an interior-point solution without crossover lands strictly inside."""
    return cases.build(
        {"s1": 1, "s2": 1},
        {"a": 1, "b": 2},
        [("a", "s1"), ("a", "s2"), ("b", "s1")],
    )


def test_the_integrality_check_refuses_exactly_what_is_too_far() -> None:
    # vectors and optimal values go through the same check, at the same tolerance
    values, frac = integral(np.array([1.0, 2.0 + INTEGRALITY_TOLERANCE / 2]), "weighted LP")
    assert values.tolist() == [1, 2] and 0 < frac <= INTEGRALITY_TOLERANCE
    with pytest.raises(SolverError, match="fractional solution"):
        integral(np.array([1.0, 0.5]), "weighted LP")
    with pytest.raises(SolverError, match="fractional solution"):
        integral(np.array([3.0, 3.0 + 2 * INTEGRALITY_TOLERANCE]), "weighted LP")
    assert integral_count(7.0 - INTEGRALITY_TOLERANCE / 2, "tier model") == 7
    assert integral_count(None, "tier model") == 0
    with pytest.raises(SolverError, match="tier model returned a fractional optimum"):
        integral_count(2.5, "tier model")


# HiGHS's interior point method without crossover stops at the centre of the optimal face
NO_CROSSOVER = HighsOptions({"solver": "ipm", "run_crossover": "off", "presolve": "off"})


def test_fractional_lp_solution_is_refused() -> None:
    # end to end: without crossover a's one unit is spread over several slots
    presets = HighsPresets(weighted_lp=NO_CROSSOVER)
    inst = cases.build(
        {"s1": 1, "s2": 1, "s3": 1},
        {"a": 1, "b": 2, "c": 3},
        [("a", "s1"), ("a", "s2"), ("a", "s3"), ("b", "s1"), ("b", "s2"), ("c", "s2"), ("c", "s3")],
    )
    order = priority_order(inst.priority, inst.applicant_ids, 0)
    with pytest.raises(SolverError, match="fractional"):
        weighted_lp_matching(inst, order, presets=presets)
    # batch code opts out: nobody is scheduled and the info says why
    slot_of, info = weighted_lp_matching(inst, order, raise_on_failure=False, presets=presets)
    assert (slot_of == -1).all()
    assert info["status"] == "error" and "fractional" in info["error"]
    # the default presets end at a vertex on the same instance
    slot_of, info = weighted_lp_matching(inst, order)
    assert info["max_fractionality"] == 0.0 and (slot_of >= 0).sum() == 3


def test_split_choice_is_integral_with_the_simplex() -> None:
    inst = _split_choice()
    order = priority_order(inst.priority, inst.applicant_ids, 0)
    slot_of, info = weighted_lp_matching(inst, order)
    assert info["max_fractionality"] == 0.0
    assert (slot_of >= 0).all()
