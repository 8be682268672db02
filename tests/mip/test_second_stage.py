"""The second stage keeps the matched set, never does worse than the method's own slots, and
reaches the brute-force optimum (least total rank; lexicographically best rank profile)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import slotopt
from slotopt.engines.matching.structure import total_rank
from slotopt.errors import InfeasibleError
from slotopt.formulations.matching.second_stage import min_rank_assignment, rank_maximal_assignment
from slotopt.instance import MatchingInstance
from tests.matching import cases
from tests.mip.oracles import best_profile, min_total_rank, profile_of, rank_table, ranked_instances

pytestmark = pytest.mark.solver


@given(ranked_instances(), st.integers(0, 20), st.sampled_from(["greedy", "lp"]))
def test_min_rank_keeps_the_matched_set_and_is_optimal(
    inst: MatchingInstance, seed: int, method: str
) -> None:
    plain = slotopt.solve(inst, method=method, seed=seed)
    best = slotopt.solve(inst, method=method, seed=seed, second_stage="min-rank")
    np.testing.assert_array_equal(best.matched, plain.matched)
    matched = np.flatnonzero(plain.matched).tolist()
    expected = min_total_rank(inst, matched)
    ranks = rank_table(inst)
    ours = sum(ranks[(i, int(best.slot_of[i]))] for i in matched)
    assert ours == expected
    assert best.extra["second_stage_objective"] == pytest.approx(expected)
    # never worse than the method's own arbitrary choice
    assert ours <= sum(ranks[(i, int(plain.slot_of[i]))] for i in matched)


@given(ranked_instances(), st.integers(0, 20))
def test_rank_maximal_keeps_the_matched_set_and_has_the_best_profile(
    inst: MatchingInstance, seed: int
) -> None:
    plain = slotopt.solve(inst, method="greedy", seed=seed)
    best = slotopt.solve(inst, method="greedy", seed=seed, second_stage="rank-maximal")
    np.testing.assert_array_equal(best.matched, plain.matched)
    expected = best_profile(inst, np.flatnonzero(plain.matched).tolist())
    assert profile_of(inst, best.slot_of) == expected


def test_footnote4_min_rank_by_hand() -> None:
    # A (morning 1, afternoon 2) and B (morning 1) are both served; B can only take the
    # morning, so A gets the afternoon: total rank 2 + 1 = 3, the least possible.
    inst = cases.footnote4()
    slot_of, info = min_rank_assignment(inst, np.array([True, True]))
    assert inst.slot_ids[slot_of].tolist() == ["afternoon", "morning"]
    assert info["objective"] == pytest.approx(3.0)
    assert total_rank(inst, slot_of) == 3.0


def test_rank_maximal_can_differ_from_min_rank_by_hand() -> None:
    # a ranks s1 1, s2 2; b ranks s1 1, s3 3; c ranks s2 1, s3 2 (capacities 1). Min total rank:
    # (a s2, b s1, c s3) = 2+1+2 = 5 ties (a s1, b s3, c s2) = 1+3+1 = 5; rank-maximal wants the
    # most rank-1 slots: the second (two at rank 1) over the first (one at rank 1).
    inst = cases.build(
        {"s1": 1, "s2": 1, "s3": 1},
        {"a": 1, "b": 1, "c": 1},
        [("a", "s1"), ("a", "s2"), ("b", "s1"), ("b", "s3"), ("c", "s2"), ("c", "s3")],
        ranks=[1, 2, 1, 3, 1, 2],
    )
    everyone = np.ones(3, dtype=bool)
    slot_of, info = rank_maximal_assignment(inst, everyone)
    assert inst.slot_ids[slot_of].tolist() == ["s1", "s3", "s2"]
    assert info["rank_counts"]["1"] == 2
    _, min_info = min_rank_assignment(inst, everyone)
    assert min_info["objective"] == pytest.approx(5.0)


def test_unranked_applicants_count_all_slots_equal() -> None:
    inst = cases.chain()  # no ranks at all
    slot_of, info = min_rank_assignment(inst, np.array([True, True, False]))
    assert info["objective"] == pytest.approx(2.0)  # two applicants, rank 1 each
    assert total_rank(inst, slot_of) is None  # the instance has no ranks to report


def test_an_unservable_matched_set_is_infeasible() -> None:
    inst = cases.chain()  # two slots, three applicants: all three cannot be served
    with pytest.raises(InfeasibleError):
        min_rank_assignment(inst, np.ones(3, dtype=bool))
    slot_of, info = min_rank_assignment(inst, np.ones(3, dtype=bool), raise_on_failure=False)
    assert info["status"] == "infeasible"
    assert (slot_of == -1).all()
