"""Capacities far beyond the applicant count (2**40; the loader accepts up to 2**62): the LP,
the lexicographic sequence, the second stages and the max-flow certificate stay exact, and
nothing is allocated per seat (a capacity of 3e9 once made the LP try to allocate 45 GiB).

A slot never serves more applicants than accept it, so raising a capacity that is already at
least its number of acceptors changes no schedule: every method must give the same answer as on
the original instance, which the brute-force oracles check.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings

import slotopt
from slotopt.instance import MatchingInstance, matching_from_frames
from slotopt.verify.matching import max_flow_value
from tests.matching import cases
from tests.matching.strategies import brute_force_max, matching_instances

pytestmark = pytest.mark.solver

HUGE = 2**40


def _raised(inst: MatchingInstance, extra: int) -> MatchingInstance:
    """The same instance with ``extra`` seats added to every slot that already seats everyone
    who accepts it."""
    acceptors = np.bincount(inst.acc_slot, minlength=inst.n_slots)
    slots = inst.slots.copy()
    slots["capacity"] = np.where(inst.capacity >= acceptors, inst.capacity + extra, inst.capacity)
    return matching_from_frames(
        slots, inst.applicants.copy(), inst.acceptable.copy(), name=inst.name
    )


def test_a_huge_slot_by_hand() -> None:
    """s1 has 2**40 seats, accepted by a and b; s2 one seat, accepted by b, c and d.

    By hand: a and b are served in s1, c (priority 3) takes s2, and d, who accepts only s2, is
    left out. The maximum is 3: s2 holds one of c and d, s1 only a and b can use."""
    inst = cases.build(
        {"s1": HUGE, "s2": 1},
        {"a": 1, "b": 2, "c": 3, "d": 4},
        [("a", "s1"), ("b", "s1"), ("b", "s2"), ("c", "s2"), ("d", "s2")],
    )
    assert max_flow_value(inst) == 3
    for method in ("greedy", "lp", "lexicographic"):
        result = slotopt.solve(inst, method=method, seed=0, verify=True)
        assert result.n_matched == 3 and result.verification.ok
        assert set(result.assignment.dropna()["applicant_id"]) == {"a", "b", "c"}
    for stage in ("min-rank", "rank-maximal"):
        assert slotopt.solve(inst, seed=0, second_stage=stage).n_matched == 3


def test_the_lp_allocates_nothing_per_seat() -> None:
    inst = cases.build({"s1": 3 * 10**9, "s2": 2**62}, {"a": 1, "b": 2}, [("a", "s1"), ("b", "s2")])
    tracemalloc.start()
    try:
        result = slotopt.solve(inst, method="lp", seed=0, verify=True)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.n_matched == 2
    assert peak < 200 * 2**20  # Pyomo and HiGHS need some; 3e9 seats would need 24 GB


@settings(max_examples=25, deadline=None)
@given(matching_instances())
def test_raising_capacities_beyond_the_acceptors_changes_nothing(inst: MatchingInstance) -> None:
    raised = _raised(inst, HUGE)
    assert max_flow_value(raised) == max_flow_value(inst) == brute_force_max(inst)
    base = slotopt.solve(inst, seed=3)
    for method in ("greedy", "lp"):
        result = slotopt.solve(raised, method=method, seed=3, verify=True)
        assert result.verification.ok
        assert np.array_equal(result.matched, base.matched)
    staged = slotopt.solve(raised, seed=3, second_stage="min-rank")
    assert staged.total_rank == slotopt.solve(inst, seed=3, second_stage="min-rank").total_rank
