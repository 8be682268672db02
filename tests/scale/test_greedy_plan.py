"""The greedy's seed-independent plan: built beforehand (in a thread while the lottery draws, as
``solve`` does for large instances) or by the greedy itself, the schedule is the same."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import slotopt
import slotopt.run.solve_matching as solve_matching
from slotopt.engines.matching.greedy import greedy_matching, plan_greedy
from slotopt.engines.matching.order import priority_order
from slotopt.instance.generate import generate_hub
from tests.scale.strategies import block_instances


@given(block_instances(), st.integers(0, 2**32))
def test_a_plan_made_beforehand_gives_the_same_schedule(inst, seed) -> None:  # type: ignore[no-untyped-def]
    order = priority_order(inst.priority, inst.applicant_ids, seed)
    plan = plan_greedy(inst, compiled=False)
    with_plan = greedy_matching(inst, order, compiled=False, plan=plan)
    assert np.array_equal(with_plan, greedy_matching(inst, order, compiled=False))
    # one plan serves every seed of its instance
    other = priority_order(inst.priority, inst.applicant_ids, seed + 1)
    assert np.array_equal(
        greedy_matching(inst, other, compiled=False, plan=plan),
        greedy_matching(inst, other, compiled=False),
    )


def test_a_plan_of_another_instance_or_kernel_is_refused() -> None:
    a, b = generate_hub(300, seed=1), generate_hub(300, seed=2)
    order = priority_order(a.priority, a.applicant_ids, 0)
    with pytest.raises(ValueError, match="another instance"):
        greedy_matching(a, order, compiled=False, plan=plan_greedy(b, compiled=False))
    with pytest.raises(ValueError, match="kernel choice"):
        greedy_matching(a, order, compiled=False, plan=plan_greedy(a, compiled=None))


def test_solve_builds_the_plan_in_a_thread_above_the_threshold(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inst = generate_hub(2_000, seed=3)
    alone = slotopt.solve(inst, seed=5)
    started: list[object] = []
    real = solve_matching._start_plan

    def spy(facts, inst):  # type: ignore[no-untyped-def]
        future = real(facts, inst)
        started.append(future)
        return future

    monkeypatch.setattr(solve_matching, "PLAN_CONCURRENTLY_ABOVE", 1)
    monkeypatch.setattr(solve_matching, "_start_plan", spy)
    threaded = slotopt.solve(generate_hub(2_000, seed=3), seed=5)
    assert started and started[0] is not None  # the thread ran
    assert np.array_equal(threaded.slot_of, alone.slot_of)
    assert threaded.n_matched == alone.n_matched
