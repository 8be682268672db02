"""Hand-derived answers (see tests/matching/cases.py for each derivation)."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

import slotopt
from slotopt.engines.matching.order import priority_order
from tests.matching import cases

METHODS = ["greedy", "naive"]


def matched_ids(result: slotopt.run.matching_result.MatchingResult) -> set[str]:
    a = result.assignment
    return set(a.loc[a["slot_id"].notna(), "applicant_id"])


@pytest.mark.parametrize("method", METHODS)
def test_footnote4_greedy_serves_both_with_b_in_the_morning(method: str) -> None:
    result = slotopt.solve(cases.footnote4(), method=method, seed=0, verify=True)
    slots = dict(zip(result.assignment["applicant_id"], result.assignment["slot_id"], strict=True))
    assert slots == {"A": "afternoon", "B": "morning"}


def test_footnote4_serial_dictatorship_leaves_b_out() -> None:
    result = slotopt.solve(cases.footnote4(), method="serial-dictatorship", seed=0)
    slots = dict(zip(result.assignment["applicant_id"], result.assignment["slot_id"], strict=True))
    assert slots["A"] == "morning"
    assert slots["B"] is pd.NA
    assert result.n_matched == 1


@pytest.mark.parametrize("method", METHODS)
def test_chain_case(method: str) -> None:
    result = slotopt.solve(cases.chain(), method=method, seed=0, verify=True)
    assert matched_ids(result) == {"a1", "a2"}
    explanation = result.explain("a3")
    assert not explanation.matched
    assert set(explanation.witness_slots) == {"s1", "s2"}
    assert explanation.witness_capacity == 2


@pytest.mark.parametrize("method", METHODS)
def test_inflexible_lower_priority_applicant_is_skipped(method: str) -> None:
    result = slotopt.solve(cases.skip_inflexible(), method=method, seed=0, verify=True)
    assert matched_ids(result) == {"x", "z"}
    assert result.explain("y").witness_slots == ("s1",)
    assert "higher priority" in result.explain("y").text


def test_lottery_follows_the_documented_sha256_formula() -> None:
    # Ten applicants tied at priority 1: the order must be ascending SHA-256 of
    # b"slotopt-lottery-v1\0" + seed + b"\0" + id, computed here straight from the docs.
    ids = np.array([f"p{i}" for i in range(10)], dtype=object)
    seed = 2024
    expected = sorted(
        range(10),
        key=lambda i: hashlib.sha256(
            b"slotopt-lottery-v1\0" + str(seed).encode() + b"\0" + ids[i].encode()
        ).digest(),
    )
    order = priority_order(np.ones(10, dtype=np.int64), ids, seed)
    assert order.tolist() == expected


def test_priority_levels_come_before_the_lottery() -> None:
    ids = np.array(["a", "b", "c", "d"], dtype=object)
    order = priority_order(np.array([3, 1, 2, 1]), ids, 5)
    assert set(order[:2].tolist()) == {1, 3}
    assert order[2:].tolist() == [2, 0]


def test_seed_is_recorded_and_drawn_when_absent() -> None:
    inst = cases.chain()
    drawn = slotopt.solve(inst)
    assert isinstance(drawn.seed, int) and drawn.seed >= 0
    assert slotopt.solve(inst, seed=drawn.seed).assignment.equals(drawn.assignment)


def test_unknown_method_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown matching method 'magic'"):
        slotopt.solve(cases.chain(), method="magic", seed=1)


def test_applicant_with_no_acceptable_slot() -> None:
    inst = cases.build({"s": 1}, {"a": 1, "b": 2}, [("a", "s")])
    result = slotopt.solve(inst, seed=0, verify=True)
    assert result.n_matched == 1
    assert "no acceptable slots" in result.explain("b").text


def test_explain_unknown_applicant_raises_key_error() -> None:
    with pytest.raises(KeyError):
        slotopt.solve(cases.chain(), seed=0).explain("nobody")


def test_result_fields_always_present() -> None:
    result = slotopt.solve(cases.chain(), seed=3)
    assert result.verification is None
    assert result.second_stage is None
    assert result.total_rank is None  # no ranks in this instance
    s = result.summary()
    assert s.keys() >= cases.SUMMARY_KEYS
    assert s["verified"] is None


def test_combinatorial_methods_reject_solver_options_they_cannot_use() -> None:
    with pytest.raises(slotopt.UsageError, match="takes no option time_limit"):
        slotopt.solve(cases.chain(), seed=1, time_limit=3)
    with pytest.raises(slotopt.UsageError, match="takes no option colour"):
        slotopt.solve(cases.chain(), seed=1, colour="red")
