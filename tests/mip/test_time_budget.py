"""``time_limit`` is one budget for all solves of a method call: each solve gets what remains,
and when nothing remains the method stops with ``time_limit`` (a fake monotonic clock makes the
arithmetic exact)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import slotopt
from slotopt.engines.matching.order import priority_order
from slotopt.errors import SolverError
from slotopt.formulations.matching import solving
from slotopt.formulations.matching.lexicographic import lexicographic_matching
from slotopt.formulations.matching.second_stage import rank_maximal_assignment
from slotopt.formulations.solver import CompiledModel, SolutionStatus, StopReason
from slotopt.instance import MatchingInstance
from tests.matching import cases

pytestmark = pytest.mark.solver


def _four_tiers() -> MatchingInstance:
    # four priority values, so levels="tiers" makes 4 tier solves and 1 final solve
    return cases.build(
        {"s1": 1, "s2": 1, "s3": 1},
        {"a": 1, "b": 2, "c": 3, "d": 4},
        [("a", "s1"), ("b", "s1"), ("b", "s2"), ("c", "s2"), ("d", "s3")],
    )


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """A clock that advances one second every time the budget reads it."""
    reads: list[float] = []

    def tick() -> float:
        reads.append(float(len(reads)))
        return reads[-1]

    monkeypatch.setattr(solving, "_clock", tick)
    yield reads


@pytest.fixture
def limits(monkeypatch: pytest.MonkeyPatch) -> list[float | None]:
    """The time limit every HiGHS solve was given."""
    seen: list[float | None] = []
    original = CompiledModel.solve

    def spy(self: CompiledModel, **kwargs: Any) -> Any:
        seen.append(kwargs.get("time_limit"))
        return original(self, **kwargs)

    monkeypatch.setattr(CompiledModel, "solve", spy)
    return seen


def _order(inst: MatchingInstance) -> np.ndarray:
    return priority_order(inst.priority, inst.applicant_ids, 0)


def test_each_tier_gets_what_remains_and_the_sequence_stops_when_it_runs_out(
    clock: list[float], limits: list[float | None]
) -> None:
    inst = _four_tiers()
    # reads at 0, 1, 2 leave 2.5, 1.5 and 0.5 s; the read at 3 finds the 2.5 s spent
    slot_of, info = lexicographic_matching(
        inst, _order(inst), levels="tiers", time_limit=2.5, raise_on_failure=False
    )
    assert limits == [2.5, 1.5, 0.5]
    assert info["solves"] == 3 and info["status"] == "time_limit" and info["solution"] == "none"
    assert info["failed_model"] == "lexicographic tier 4 model"
    assert "time_limit after 2.5 s" in info["message"] and "raise the time limit" in info["message"]
    assert (slot_of == -1).all()  # an unfinished sequence schedules nobody
    with pytest.raises(SolverError, match=r"tier 4 model with time_limit after 2.5 s"):
        lexicographic_matching(inst, _order(inst), levels="tiers", time_limit=2.5)


def test_a_budget_that_lasts_runs_every_solve_with_less_each_time(
    clock: list[float], limits: list[float | None]
) -> None:
    inst = _four_tiers()
    slot_of, info = lexicographic_matching(inst, _order(inst), levels="tiers", time_limit=100)
    assert limits == [100.0, 99.0, 98.0, 97.0, 96.0]  # 4 tiers, then the final solve
    assert info["status"] == "optimal" and info["solves"] == 5
    greedy = slotopt.solve(inst, method="greedy", seed=0)
    assert np.array_equal(slot_of >= 0, greedy.matched)


def test_positions_share_one_budget(clock: list[float], limits: list[float | None]) -> None:
    inst = cases.chain()
    _, info = lexicographic_matching(inst, _order(inst), time_limit=1.5, raise_on_failure=False)
    assert limits == [1.5, 0.5]
    assert info["status"] == "time_limit" and info["solves"] == 2


def test_no_limit_gives_highs_none(clock: list[float], limits: list[float | None]) -> None:
    inst = _four_tiers()
    lexicographic_matching(inst, _order(inst), levels="tiers")
    assert limits == [None] * 5 and clock == []  # the clock is not even read


def test_the_rank_maximal_sequence_shares_one_budget(
    clock: list[float], limits: list[float | None]
) -> None:
    inst = cases.footnote4()
    matched = slotopt.solve(inst, seed=0).matched
    _, info = rank_maximal_assignment(inst, matched, time_limit=0.5, raise_on_failure=False)
    assert limits == [0.5] and info["status"] == "time_limit" and info["solves"] == 1


def test_solve_records_the_spent_budget_as_a_time_limit_stop(clock: list[float]) -> None:
    result = slotopt.solve(
        _four_tiers(),
        method="lexicographic",
        levels="tiers",
        seed=0,
        time_limit=2.5,
        on_failure="record",
    )
    (stage,) = result.stages
    assert stage.stop is StopReason.time_limit and stage.solution is SolutionStatus.none
    assert result.status is StopReason.time_limit and result.n_matched == 0
    assert "tier 4" in (result.failure or "")
