"""Feasible is not optimal: a MIP stopped with an incumbent maps to solution "feasible" (never
"optimal") on both solver routes, raises by default, and is returned with the opt-out."""

from __future__ import annotations

import itertools

import numpy as np
import pyomo.environ as pyo
import pytest

from slotopt.errors import SolverError
from slotopt.formulations.solver import SolutionStatus, StopReason, solve_compiled, solve_model

pytestmark = pytest.mark.solver

N = 14
WEIGHTS = [(37 * i * i + 11 * i + 5) % 97 + 20 for i in range(N)]
VALUES = [w + (53 * i) % 19 for i, w in enumerate(WEIGHTS)]
CAPACITY = sum(WEIGHTS) // 2 + 1
SIZES = [(7 * i) % 13 + 1 for i in range(N)]
SIZE_LIMIT = 3 * N
# HiGHS stops at its first improving solution; with presolve off that is not the optimum here
STOP_AT_FIRST = {"mip_max_improving_sols": 1, "presolve": "off"}


def _knapsack() -> pyo.ConcreteModel:
    m = pyo.ConcreteModel()
    m.goods = pyo.RangeSet(0, N - 1)
    m.take = pyo.Var(m.goods, domain=pyo.Binary)
    m.value = pyo.Objective(expr=sum(VALUES[i] * m.take[i] for i in m.goods), sense=pyo.maximize)
    m.weight = pyo.Constraint(expr=sum(WEIGHTS[i] * m.take[i] for i in m.goods) <= CAPACITY)
    m.size = pyo.Constraint(expr=sum(SIZES[i] * m.take[i] for i in m.goods) <= SIZE_LIMIT)
    return m


def _brute_force_optimum() -> int:
    grid = np.array(list(itertools.product((0, 1), repeat=N)), dtype=np.int64)
    ok = (grid @ WEIGHTS <= CAPACITY) & (grid @ SIZES <= SIZE_LIMIT)
    return int((grid @ VALUES)[ok].max())


def _feasible(model: pyo.ConcreteModel) -> bool:
    take = [round(pyo.value(model.take[i])) for i in model.goods]
    return (
        sum(w * x for w, x in zip(WEIGHTS, take, strict=True)) <= CAPACITY
        and sum(s * x for s, x in zip(SIZES, take, strict=True)) <= SIZE_LIMIT
    )


@pytest.mark.parametrize("route", [solve_compiled, solve_model], ids=["compiled", "interface"])
def test_an_unproven_incumbent_is_feasible_not_optimal(route: object) -> None:
    best = _brute_force_optimum()
    model = _knapsack()
    out = route(model, options=STOP_AT_FIRST, raise_on_failure=False)  # type: ignore[operator]
    assert out.solution is SolutionStatus.feasible
    assert out.stop is not StopReason.optimal and not out.ok
    assert out.objective is not None and out.objective < best  # suboptimal, and known to be
    assert _feasible(model)
    with pytest.raises(SolverError, match="solution feasible"):
        route(_knapsack(), options=STOP_AT_FIRST)  # type: ignore[operator]


@pytest.mark.parametrize("route", [solve_compiled, solve_model], ids=["compiled", "interface"])
def test_a_proven_optimum_is_optimal(route: object) -> None:
    model = _knapsack()
    out = route(model, mip_gap=0.0)  # type: ignore[operator]
    assert out.stop is StopReason.optimal and out.solution is SolutionStatus.optimal and out.ok
    assert out.objective == pytest.approx(_brute_force_optimum())


# -- options reach HiGHS on both routes, and the messages fit the stop (mutation survivors) ---


@pytest.mark.parametrize("route", [solve_compiled, solve_model], ids=["compiled", "interface"])
def test_the_mip_gap_reaches_highs(route: object) -> None:
    # a gap of 100% lets HiGHS stop at its first incumbent, which is not the optimum here
    out = route(_knapsack(), mip_gap=1.0, options={"presolve": "off"})  # type: ignore[operator]
    assert out.objective is not None and out.objective < _brute_force_optimum()


@pytest.mark.parametrize("route", [solve_compiled, solve_model], ids=["compiled", "interface"])
def test_the_time_limit_reaches_highs_and_the_message(route: object) -> None:
    from slotopt.formulations.matching_models import build_max_appointments
    from slotopt.instance.generate import generate_prefecture

    model = build_max_appointments(generate_prefecture(2000, seed=3, n_slots=140))
    out = route(model, time_limit=1e-9, raise_on_failure=False)  # type: ignore[operator]
    assert out.stop is StopReason.time_limit and not out.ok
    with pytest.raises(SolverError, match=r"time_limit after 1e-09 s .*raise the time limit"):
        route(
            build_max_appointments(generate_prefecture(2000, seed=3, n_slots=140)),  # type: ignore[operator]
            time_limit=1e-9,
            what="max-appointments model",
        )


@pytest.mark.parametrize("route", [solve_compiled, solve_model], ids=["compiled", "interface"])
def test_free_variables_and_lower_bound_rows(route: object) -> None:
    """min x subject to the row x >= -5, x free: by hand the optimum is -5 (a lower-bound row
    and a column without a lower bound, which no slotopt model has today)."""
    m = pyo.ConcreteModel()
    m.x = pyo.Var(domain=pyo.Reals)
    m.floor = pyo.Constraint(expr=m.x >= -5)
    m.least = pyo.Objective(expr=m.x, sense=pyo.minimize)
    out = route(m)  # type: ignore[operator]
    assert out.ok and out.objective == pytest.approx(-5.0) and out.bound == pytest.approx(-5.0)
    assert pyo.value(m.x) == pytest.approx(-5.0)


def test_an_unmapped_highs_status_is_unknown() -> None:
    import highspy

    from slotopt.formulations.solver import _map_highs_status

    assert _map_highs_status(highspy, highspy.HighsModelStatus.kNotset) is StopReason.unknown


def test_no_solution_to_read_after_infeasibility() -> None:
    from slotopt.formulations.matching_models import build_feasibility
    from slotopt.formulations.solver import compile_model
    from tests.matching import cases

    inst = cases.chain()
    compiled = compile_model(build_feasibility(inst, np.ones(3, dtype=bool)))
    assert compiled.solve(raise_on_failure=False).stop is StopReason.infeasible
    with pytest.raises(SolverError, match="has no solution to read"):
        compiled.values()


def _outcome(stop: StopReason, solution: SolutionStatus, message: str) -> object:
    from slotopt.formulations.solver import SolveOutcome

    return SolveOutcome(stop, solution, None, None, 0.0, message)


@pytest.mark.parametrize(
    ("stop", "solution", "message", "expected", "absent"),
    [
        (StopReason.unknown, SolutionStatus.none, "", "HiGHS failed; its message", "(HiGHS: )"),
        (
            StopReason.error,
            SolutionStatus.none,
            "ERROR: bad",
            "(HiGHS: ERROR: bad); HiGHS failed; its message above says why",
            "after",
        ),
        (
            StopReason.optimal,
            SolutionStatus.feasible,
            "",
            "tighten the MIP gap (mip_gap) to get a proven optimum",
            "time limit",
        ),
        (
            StopReason.iteration_limit,
            SolutionStatus.feasible,
            "Solution limit reached",
            "raise HiGHS's iteration limit",
            "after",
        ),
    ],
)
def test_the_advice_fits_the_stop(
    stop: StopReason, solution: SolutionStatus, message: str, expected: str, absent: str
) -> None:
    from slotopt.formulations.solver import raise_for_outcome

    with pytest.raises(SolverError) as caught:
        raise_for_outcome(_outcome(stop, solution, message), what="knapsack", time_limit=5)  # type: ignore[arg-type]
    text = str(caught.value)
    assert text.startswith(f"HiGHS stopped on the knapsack with {stop.value} and solution")
    assert expected in text and absent not in text
