"""The one status map: every HiGHS model status onto our stop reason and solution status.

Feasible is not optimal: a MIP stopped with an incumbent maps to solution "feasible" (never
"optimal"), raises by default, and is returned with the opt-out. Every status HiGHS can be made
to reach from Python is reached here by a real solve; the table test pins the rest."""

from __future__ import annotations

import itertools

import numpy as np
import pyomo.environ as pyo
import pytest

from slotopt.errors import SolverError
from slotopt.formulations.solver import HighsOptions, SolutionStatus, StopReason, solve_model

pytestmark = pytest.mark.solver

N = 14
WEIGHTS = [(37 * i * i + 11 * i + 5) % 97 + 20 for i in range(N)]
VALUES = [w + (53 * i) % 19 for i, w in enumerate(WEIGHTS)]
CAPACITY = sum(WEIGHTS) // 2 + 1
SIZES = [(7 * i) % 13 + 1 for i in range(N)]
SIZE_LIMIT = 3 * N
# HiGHS stops at its first improving solution; with presolve off that is not the optimum here
STOP_AT_FIRST = HighsOptions({"mip_max_improving_sols": 1, "presolve": "off"})


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


def test_an_unproven_incumbent_is_feasible_not_optimal() -> None:
    best = _brute_force_optimum()
    model = _knapsack()
    out = solve_model(model, options=STOP_AT_FIRST, raise_on_failure=False)
    assert out.solution is SolutionStatus.feasible
    assert out.stop is not StopReason.optimal and not out.ok
    assert out.objective is not None and out.objective < best  # suboptimal, and known to be
    assert _feasible(model)
    with pytest.raises(SolverError, match="solution feasible"):
        solve_model(_knapsack(), options=STOP_AT_FIRST)


def test_a_proven_optimum_is_optimal() -> None:
    model = _knapsack()
    out = solve_model(model, mip_gap=0.0)
    assert out.stop is StopReason.optimal and out.solution is SolutionStatus.optimal and out.ok
    assert out.objective == pytest.approx(_brute_force_optimum())


# -- options reach HiGHS, and the messages fit the stop (mutation survivors) -------------------


def test_the_mip_gap_reaches_highs() -> None:
    # a gap of 100% lets HiGHS stop at its first incumbent, which is not the optimum here
    out = solve_model(_knapsack(), mip_gap=1.0, options=HighsOptions({"presolve": "off"}))
    assert out.objective is not None and out.objective < _brute_force_optimum()


def test_the_time_limit_reaches_highs_and_the_message() -> None:
    from slotopt.formulations.matching_models import build_max_appointments
    from slotopt.instance.generate import generate_prefecture

    model = build_max_appointments(generate_prefecture(2000, seed=3, n_slots=140))
    out = solve_model(model, time_limit=1e-9, raise_on_failure=False)
    assert out.stop is StopReason.time_limit and not out.ok
    with pytest.raises(SolverError, match=r"time_limit after 1e-09 s .*raise the time limit"):
        solve_model(
            build_max_appointments(generate_prefecture(2000, seed=3, n_slots=140)),
            time_limit=1e-9,
            what="max-appointments model",
        )


def test_free_variables_and_lower_bound_rows() -> None:
    """min x subject to the row x >= -5, x free: by hand the optimum is -5 (a lower-bound row
    and a column without a lower bound, which no slotopt model has today)."""
    m = pyo.ConcreteModel()
    m.x = pyo.Var(domain=pyo.Reals)
    m.floor = pyo.Constraint(expr=m.x >= -5)
    m.least = pyo.Objective(expr=m.x, sense=pyo.minimize)
    out = solve_model(m)
    assert out.ok and out.objective == pytest.approx(-5.0) and out.bound == pytest.approx(-5.0)
    assert pyo.value(m.x) == pytest.approx(-5.0)


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


# -- the one status map, clause by clause ---------------------------------------------------------

# HiGHS's model statuses (HighsModelStatus, HiGHS 1.16) and the stop reason each one means, by
# HiGHS's documentation of the status: errors of any phase are errors, both objective limits
# are objective limits, a solution limit (mip_max_improving_sols) is a work limit like the
# iteration limit, both interrupts are interruptions, and "not set"/"unknown" stay unknown.
EXPECTED_STOP = {
    "kNotset": StopReason.unknown,
    "kLoadError": StopReason.error,
    "kModelError": StopReason.error,
    "kPresolveError": StopReason.error,
    "kSolveError": StopReason.error,
    "kPostsolveError": StopReason.error,
    "kModelEmpty": StopReason.optimal,
    "kOptimal": StopReason.optimal,
    "kInfeasible": StopReason.infeasible,
    "kUnboundedOrInfeasible": StopReason.infeasible_or_unbounded,
    "kUnbounded": StopReason.unbounded,
    "kObjectiveBound": StopReason.objective_limit,
    "kObjectiveTarget": StopReason.objective_limit,
    "kTimeLimit": StopReason.time_limit,
    "kIterationLimit": StopReason.iteration_limit,
    "kUnknown": StopReason.unknown,
    "kSolutionLimit": StopReason.iteration_limit,
    "kInterrupt": StopReason.interrupted,
    "kMemoryLimit": StopReason.error,
    "kHighsInterrupt": StopReason.interrupted,
}


def test_the_table_covers_every_highs_status() -> None:
    import highspy

    assert set(highspy.HighsModelStatus.__members__) == set(EXPECTED_STOP)


@pytest.mark.parametrize("name", sorted(EXPECTED_STOP))
def test_each_highs_status_maps_to_its_stop_reason(name: str) -> None:
    import highspy

    from slotopt.formulations.solver import _map_highs_status

    status = highspy.HighsModelStatus.__members__[name]
    assert _map_highs_status(highspy, status) is EXPECTED_STOP[name]


def _free_pair() -> pyo.ConcreteModel:
    m = pyo.ConcreteModel()
    m.x = pyo.Var(domain=pyo.Reals)
    m.y = pyo.Var(bounds=(0, 1))
    return m


def _unbounded() -> pyo.ConcreteModel:
    # max x subject to x + y >= 0: x grows without bound (by hand)
    m = _free_pair()
    m.row = pyo.Constraint(expr=m.x + m.y >= 0)
    m.most = pyo.Objective(expr=m.x, sense=pyo.maximize)
    return m


def _infeasible_free() -> pyo.ConcreteModel:
    # x + y >= 1 and x + y <= 0 cannot both hold; the objective is unbounded in the free x - y
    m = pyo.ConcreteModel()
    m.x = pyo.Var(domain=pyo.Reals)
    m.y = pyo.Var(domain=pyo.Reals)
    m.low = pyo.Constraint(expr=m.x + m.y >= 1)
    m.high = pyo.Constraint(expr=m.x + m.y <= 0)
    m.most = pyo.Objective(expr=m.x - m.y, sense=pyo.maximize)
    return m


def _empty() -> pyo.ConcreteModel:
    m = pyo.ConcreteModel()
    m.nothing = pyo.Objective(expr=0.0)
    return m


def _week_lp() -> pyo.ConcreteModel:
    from slotopt.formulations.matching_models import build_max_appointments
    from slotopt.instance.generate import generate_prefecture

    return build_max_appointments(generate_prefecture(300, seed=1))


@pytest.mark.parametrize(
    ("build", "options", "stop", "advice"),
    [
        (_unbounded, {}, StopReason.unbounded, "unbounded"),
        (
            _infeasible_free,
            {"allow_unbounded_or_infeasible": True, "presolve": "off"},
            StopReason.infeasible_or_unbounded,
            "could not tell infeasible from unbounded",
        ),
        (_knapsack, {"objective_target": 10.0}, StopReason.objective_limit, "objective bound"),
        (
            _week_lp,
            {"simplex_iteration_limit": 0, "presolve": "off"},
            StopReason.iteration_limit,
            "iteration limit",
        ),
        (_knapsack, dict(STOP_AT_FIRST.values), StopReason.iteration_limit, "iteration limit"),
    ],
    ids=["unbounded", "infeasible-or-unbounded", "objective-target", "iterations", "solutions"],
)
def test_real_stops_map_and_raise_with_their_advice(
    build: object, options: dict[str, object], stop: StopReason, advice: str
) -> None:
    out = solve_model(build(), options=HighsOptions(options), raise_on_failure=False)  # type: ignore[operator]
    assert out.stop is stop and not out.ok
    with pytest.raises(SolverError, match=f"with {stop.value} .*{advice}"):
        solve_model(build(), options=HighsOptions(options))  # type: ignore[operator]


def test_an_empty_model_is_optimal() -> None:
    out = solve_model(_empty())
    assert out.stop is StopReason.optimal and out.solution is SolutionStatus.optimal
    assert out.objective == 0.0


def test_an_infeasible_model_has_no_solution() -> None:
    out = solve_model(_infeasible_free(), raise_on_failure=False)
    assert out.stop is StopReason.infeasible and out.solution is SolutionStatus.none
    assert out.objective is None
