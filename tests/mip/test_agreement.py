"""All methods select the same applicants: Algorithm 1's set, found here by brute force (Hall's
theorem by enumeration), on random small instances with distinct and with tied priorities."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import slotopt
from slotopt.engines.matching.order import priority_order
from slotopt.formulations.matching.lexicographic import lexicographic_matching
from slotopt.formulations.matching.weighted_lp import weighted_lp_matching
from slotopt.instance import MatchingInstance
from slotopt.verify.cross_validate import cross_validate
from tests.matching import cases
from tests.matching.strategies import brute_force_algorithm1, matching_instances

pytestmark = pytest.mark.solver

ALL = ("greedy", "naive", "lp", "lexicographic")


def _check_all_agree(inst: MatchingInstance, seed: int) -> None:
    order = priority_order(inst.priority, inst.applicant_ids, seed)
    expected = brute_force_algorithm1(inst, order)
    for method in ALL:
        result = slotopt.solve(inst, method=method, seed=seed)
        assert set(np.flatnonzero(result.matched).tolist()) == expected, method
    tiers = slotopt.solve(inst, method="lexicographic", levels="tiers", seed=seed)
    assert set(np.flatnonzero(tiers.matched).tolist()) == expected


@given(matching_instances(tied=False), st.integers(0, 50))
def test_distinct_priorities_all_methods_agree(inst: MatchingInstance, seed: int) -> None:
    _check_all_agree(inst, seed)


@given(matching_instances(tied=True), st.integers(0, 50))
def test_tied_priorities_same_seed_all_methods_agree(inst: MatchingInstance, seed: int) -> None:
    _check_all_agree(inst, seed)


@given(matching_instances(tied=False), st.integers(0, 50))
def test_tier_levels_equal_position_levels_when_tiers_are_singletons(
    inst: MatchingInstance, seed: int
) -> None:
    # distinct priorities: every tier holds one applicant, so the two sequences solve the same
    # levels and must end with the same matched set
    order = priority_order(inst.priority, inst.applicant_ids, seed)
    by_position, _ = lexicographic_matching(inst, order, levels="positions")
    by_tier, info = lexicographic_matching(inst, order, levels="tiers")
    np.testing.assert_array_equal(by_position >= 0, by_tier >= 0)
    # and each singleton tier's count is whether its applicant is served
    served = {str(int(inst.priority[i])): int(by_position[i] >= 0) for i in range(len(order))}
    assert info["tier_counts"] == served


@given(matching_instances(), st.integers(0, 50))
def test_cross_validate_agrees_and_certifies(inst: MatchingInstance, seed: int) -> None:
    df = cross_validate(inst, seed=seed)
    assert df.attrs["agree"], df.to_string()
    assert (df["status"] == "ok").all()
    assert df["certificates_ok"].all()
    assert df["same_matched_set"].iloc[1:].all()


def test_custom_weights_must_strictly_decrease() -> None:
    inst = cases.chain()
    order = priority_order(inst.priority, inst.applicant_ids, 0)
    flat = np.ones(inst.n_applicants)
    with pytest.raises(ValueError, match="strictly decrease"):
        weighted_lp_matching(inst, order, weights=flat)
    geometric = np.empty(inst.n_applicants)
    geometric[order] = 2.0 ** -np.arange(inst.n_applicants)
    slot_of, _ = weighted_lp_matching(inst, order, weights=geometric)
    assert set(np.flatnonzero(slot_of >= 0).tolist()) == brute_force_algorithm1(inst, order)
