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
