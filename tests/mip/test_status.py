"""Solver statuses map onto our enums and exceptions; the opt-out returns them."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import slotopt
from slotopt.engines.matching.order import priority_order
from slotopt.errors import InfeasibleError, SolverError, UsageError
from slotopt.formulations.matching.lexicographic import lexicographic_matching
from slotopt.formulations.matching.weighted_lp import weighted_lp_matching
from slotopt.formulations.matching_models import build_feasibility, build_max_appointments
from slotopt.formulations.solver import (
    SolutionStatus,
    StopReason,
    compile_model,
    solve_model,
)
from slotopt.instance import MatchingInstance
from slotopt.instance.generate import generate_prefecture
from tests.matching import cases
from tests.matching.strategies import matchable, matching_instances

pytestmark = pytest.mark.solver


def _everyone(inst: MatchingInstance) -> np.ndarray:
    return np.ones(inst.n_applicants, dtype=bool)


def test_infeasible_fixed_set_raises_infeasible_error() -> None:
    # chain: a1 {s1, s2}, a2 {s1}, a3 {s2}, one seat each: all three cannot be served at once
    inst = cases.chain()
    with pytest.raises(InfeasibleError, match="infeasible"):
        solve_model(build_feasibility(inst, _everyone(inst)), what="feasibility model")


def test_infeasible_fixed_set_status_with_opt_out() -> None:
    inst = cases.chain()
    out = solve_model(build_feasibility(inst, _everyone(inst)), raise_on_failure=False)
    assert out.stop is StopReason.infeasible
    assert out.solution is SolutionStatus.none
    assert out.objective is None and not out.ok


def test_required_applicant_without_slots_is_infeasible_before_highs() -> None:
    inst = cases.build({"s1": 1}, {"a": 1, "b": 2}, [("a", "s1")])  # b accepts nothing
    out = solve_model(build_feasibility(inst, _everyone(inst)), raise_on_failure=False)
    assert out.stop is StopReason.infeasible
    with pytest.raises(InfeasibleError):
        solve_model(build_feasibility(inst, _everyone(inst)))


def test_feasible_fixed_set_is_optimal() -> None:
    inst = cases.chain()
    mask = np.array([True, True, False])  # a1 -> s2, a2 -> s1
    out = solve_model(build_feasibility(inst, mask))
    assert out.stop is StopReason.optimal and out.ok


@given(matching_instances(), st.data())
def test_feasibility_model_answers_halls_condition(
    inst: MatchingInstance, data: st.DataObject
) -> None:
    mask = np.array(
        data.draw(st.lists(st.booleans(), min_size=inst.n_applicants, max_size=inst.n_applicants)),
        dtype=bool,
    )
    out = solve_model(build_feasibility(inst, mask), raise_on_failure=False)
    expected = matchable(inst, np.flatnonzero(mask).tolist())
    assert (out.stop is StopReason.optimal) == expected
    assert (out.stop is StopReason.infeasible) == (not expected)


def _busy() -> MatchingInstance:
    return generate_prefecture(2000, seed=3, n_slots=140, pairs_per_applicant=9)


def test_zero_time_limit_raises_solver_error() -> None:
    inst = _busy()
    order = priority_order(inst.priority, inst.applicant_ids, 1)
    with pytest.raises(SolverError, match="time_limit"):
        weighted_lp_matching(inst, order, time_limit=0)
    with pytest.raises(SolverError, match="time_limit"):
        lexicographic_matching(inst, order, time_limit=0)


def test_zero_time_limit_status_with_opt_out() -> None:
    inst = _busy()
    result = slotopt.solve(inst, method="lp", seed=1, time_limit=0, on_failure="record")
    (stage,) = result.stages
    assert stage.stop is StopReason.time_limit and result.status is StopReason.time_limit
    # HiGHS may call the all-zero start "feasible" (it is), never "optimal"
    assert stage.solution in (SolutionStatus.none, SolutionStatus.feasible)
    assert not result.ok and "time_limit" in (result.failure or "")
    assert result.n_matched == 0  # nobody is scheduled from an unfinished solve
    compiled = compile_model(build_max_appointments(inst))
    out = compiled.solve(time_limit=0, raise_on_failure=False)
    assert out.stop is StopReason.time_limit and not out.ok
    # a time limit without an incumbent: the all-zero start serves nobody the set requires
    # (the greedy's matched set: feasible, but not before HiGHS has worked on it)
    required = slotopt.solve(inst, method="greedy", seed=1).matched
    no_start = solve_model(build_feasibility(inst, required), time_limit=0, raise_on_failure=False)
    assert no_start.stop is StopReason.time_limit
    assert no_start.solution is SolutionStatus.none and no_start.objective is None
    with pytest.raises(SolverError, match="time_limit after 0 s|time_limit"):
        solve_model(build_feasibility(inst, required), time_limit=0)


def test_unknown_option_is_refused() -> None:
    inst = cases.chain()
    order = priority_order(inst.priority, inst.applicant_ids, 0)
    with pytest.raises(UsageError, match="levels"):
        weighted_lp_matching(inst, order, levels="tiers")
    with pytest.raises(UsageError, match="levels must be"):
        lexicographic_matching(inst, order, levels="weeks")


@given(matching_instances(), st.data())
def test_can_serve_and_max_appointments_match_enumeration(
    inst: MatchingInstance, data: st.DataObject
) -> None:
    from slotopt.formulations.matching.flow import can_serve, max_appointments
    from tests.matching.strategies import brute_force_max

    mask = np.array(
        data.draw(st.lists(st.booleans(), min_size=inst.n_applicants, max_size=inst.n_applicants)),
        dtype=bool,
    )
    answer, info = can_serve(inst, mask)
    assert answer == matchable(inst, np.flatnonzero(mask).tolist())
    assert info["status"] in ("optimal", "infeasible")
    count, _ = max_appointments(inst)
    assert count == brute_force_max(inst)


def test_missing_highs_is_a_solver_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    inst = cases.chain()
    model = build_max_appointments(inst)
    monkeypatch.setitem(sys.modules, "highspy", None)  # "import highspy" now fails
    with pytest.raises(SolverError, match="pip install highspy"):
        compile_model(model)
