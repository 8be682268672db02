"""The LP paths check integrality instead of assuming total unimodularity, and the check bites."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from slotopt.engines.matching.order import priority_order
from slotopt.errors import SolverError
from slotopt.formulations import matching_solve
from slotopt.formulations.matching_models import build_weighted_lp
from slotopt.formulations.solver import compile_model
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
    _, info = matching_solve.weighted_lp_matching(inst, order)
    assert info["max_fractionality"] <= matching_solve.INTEGRALITY_TOLERANCE


def _split_choice() -> MatchingInstance:
    """One applicant, two acceptable slots of capacity 1 each, in two different slot groups (a
    second applicant accepts only one of them): the flow has many optima (1/0, 0/1 and every
    convex combination), so an interior-point solution without crossover lands strictly inside."""
    return cases.build(
        {"s1": 1, "s2": 1},
        {"a": 1, "b": 2},
        [("a", "s1"), ("a", "s2"), ("b", "s1")],
    )


def test_fractional_lp_solution_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    # the check itself first: a value 0.5 away from an integer is refused
    run = matching_solve._Run("lp", {})
    with pytest.raises(SolverError, match="fractional"):
        matching_solve._integral(run, np.array([1.0, 0.5]), "weighted LP")
    # and end to end: HiGHS's interior point method without crossover stops at the centre of
    # the optimal face, where a's one unit is spread over several slots
    monkeypatch.setattr(
        matching_solve,
        "WEIGHTED_LP_OPTIONS",
        {"solver": "ipm", "run_crossover": "off", "presolve": "off"},
    )
    inst = cases.build(
        {"s1": 1, "s2": 1, "s3": 1},
        {"a": 1, "b": 2, "c": 3},
        [("a", "s1"), ("a", "s2"), ("a", "s3"), ("b", "s1"), ("b", "s2"), ("c", "s2"), ("c", "s3")],
    )
    order = priority_order(inst.priority, inst.applicant_ids, 0)
    with pytest.raises(SolverError, match="fractional"):
        matching_solve.weighted_lp_matching(inst, order)
    # batch code opts out: nobody is scheduled and the info says why
    slot_of, info = matching_solve.weighted_lp_matching(inst, order, raise_on_failure=False)
    assert (slot_of == -1).all()
    assert info["status"] == "error" and "fractional" in info["error"]


def test_split_choice_is_integral_with_the_simplex() -> None:
    inst = _split_choice()
    order = priority_order(inst.priority, inst.applicant_ids, 0)
    slot_of, info = matching_solve.weighted_lp_matching(inst, order)
    assert info["max_fractionality"] == 0.0
    assert (slot_of >= 0).all()
