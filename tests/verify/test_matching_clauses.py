"""One negative test per clause of the matching certificates (slotopt.verify.matching).

Each schedule or witness below is forged so that exactly one clause is wrong; the test names
that clause and checks that its own message appears, so switching the clause off fails the
test. Expected answers are derived by hand in each docstring.
"""

from __future__ import annotations

import numpy as np
import pytest

import slotopt
from slotopt.verify.matching import (
    Witnesses,
    check_feasible,
    check_matching,
    check_witness,
    check_witness_chain,
    hall_deficiency,
)
from tests.matching import cases


def _escape_case() -> slotopt.MatchingInstance:
    """a1 (1) accepts s1, s2; a2 (2) accepts s2; a3 (3) accepts s1; one seat each.

    By hand: a1 and a2 are served (a1 in s1, a2 in s2), a3 is not. a3's true witness is
    {s1, s2}. The forged witness {s1} contains a3's only slot, is full, and holds a1, who
    outranks a3 -- but a1 also accepts s2, outside it: only the closure clause is wrong.
    """
    return cases.build(
        {"s1": 1, "s2": 1},
        {"a1": 1, "a2": 2, "a3": 3},
        [("a1", "s1"), ("a1", "s2"), ("a2", "s2"), ("a3", "s1")],
    )


def _schedule(inst: slotopt.MatchingInstance, seats: dict[str, str]) -> np.ndarray:
    slot_of = np.full(inst.n_applicants, -1, dtype=np.int64)
    for a, s in seats.items():
        slot_of[_index(inst, a)] = _slot(inst, s)
    return slot_of


def _index(inst: slotopt.MatchingInstance, applicant: str) -> int:
    return int(np.flatnonzero(np.asarray(inst.applicant_ids) == applicant)[0])


def _slot(inst: slotopt.MatchingInstance, slot: str) -> int:
    return int(inst.slot_index.get_loc(slot))


POSITIONS = np.array([1, 2, 3])


def test_the_true_witness_passes_both_checks() -> None:
    inst = _escape_case()
    slot_of = _schedule(inst, {"a1": "s1", "a2": "s2"})
    a3, s1, s2 = _index(inst, "a3"), _slot(inst, "s1"), _slot(inst, "s2")
    assert check_witness(inst, slot_of, POSITIONS, a3, [s1, s2]) is None
    true = Witnesses(component_of=np.array([-1, -1, 0]), components=((s1, s2),), refs=((),))
    assert check_witness_chain(inst, slot_of, POSITIONS, true) == []
    report = check_matching(inst, slot_of, POSITIONS)
    assert report.ok, report.describe()


def test_a_witness_whose_occupants_escape_it_is_rejected() -> None:
    inst = _escape_case()
    slot_of = _schedule(inst, {"a1": "s1", "a2": "s2"})
    a3, s1 = _index(inst, "a3"), _slot(inst, "s1")
    why = check_witness(inst, slot_of, POSITIONS, a3, [s1])
    assert why is not None and "could move to 's2', outside the witness" in why
    forged = Witnesses(component_of=np.array([-1, -1, 0]), components=((s1,),), refs=((),))
    problems = check_witness_chain(inst, slot_of, POSITIONS, forged)
    assert problems == ["'a1' in witness slot 's1' accepts a slot outside the witness"]


def test_a_witness_holding_a_lower_priority_applicant_is_rejected() -> None:
    """a (1) and b (2) both accept only s1 (one seat). The forged schedule seats b and leaves a
    out; the witness {s1} for a is full and closed (b accepts only s1), but b comes after a."""
    inst = cases.build({"s1": 1}, {"a": 1, "b": 2}, [("a", "s1"), ("b", "s1")])
    slot_of = _schedule(inst, {"b": "s1"})
    positions = np.array([1, 2])
    why = check_witness(inst, slot_of, positions, _index(inst, "a"), [0])
    assert why is not None and "who has lower priority" in why
    forged = Witnesses(component_of=np.array([0, -1]), components=((0,),), refs=((),))
    problems = check_witness_chain(inst, slot_of, positions, forged)
    assert problems == ["witness of 'a' holds someone of lower priority"]


def test_a_witness_missing_one_of_the_applicants_slots_is_rejected() -> None:
    inst = cases.chain()  # a3 accepts s2; forge the witness {s1}
    result = slotopt.solve(inst, seed=0)
    a3 = _index(inst, "a3")
    s1 = _slot(inst, "s1")
    why = check_witness(inst, result.slot_of, result.position, a3, [s1])
    assert why is not None and "misses their acceptable slot 's2'" in why
    # the chain form: a3's component is {s1} only; a1 (in s1) escapes to s2 as well
    forged = Witnesses(component_of=np.array([-1, -1, 0]), components=((s1,),), refs=((),))
    problems = check_witness_chain(inst, result.slot_of, result.position, forged)
    assert "witness of 'a3' misses one of their slots" in problems


def test_a_witness_with_a_free_seat_is_rejected() -> None:
    """s1 has two seats; a (1) and b (2) accept only s1. Forged schedule: only a seated; b's
    witness {s1} is closed and holds only a, who outranks b, but it still has a free seat."""
    inst = cases.build({"s1": 2}, {"a": 1, "b": 2}, [("a", "s1"), ("b", "s1")])
    slot_of = _schedule(inst, {"a": "s1"})
    positions = np.array([1, 2])
    why = check_witness(inst, slot_of, positions, _index(inst, "b"), [0])
    assert why is not None and "is not full" in why
    forged = Witnesses(component_of=np.array([-1, 0]), components=((0,),), refs=((),))
    assert check_witness_chain(inst, slot_of, positions, forged) == [
        "witness slot 's1' is not full"
    ]


def test_overlapping_and_missing_components_are_rejected() -> None:
    inst = _escape_case()
    slot_of = _schedule(inst, {"a1": "s1", "a2": "s2"})
    s1, s2 = _slot(inst, "s1"), _slot(inst, "s2")
    twice = Witnesses(
        component_of=np.array([-1, -1, 1]), components=((s1, s2), (s1,)), refs=((), (0,))
    )
    assert "slot 's1' is in two witness components" in check_witness_chain(
        inst, slot_of, POSITIONS, twice
    )
    dangling = Witnesses(component_of=np.array([-1, -1, 5]), components=((s1, s2),), refs=((),))
    assert check_witness_chain(inst, slot_of, POSITIONS, dangling) == [
        "witness of 'a3' refers to a missing component"
    ]


def test_hall_deficiency_needs_witnesses_covering_the_unmatched() -> None:
    """With the true witness X = {s1, s2}: 3 applicants accept only X, capacity(X) = 2, one is
    unmatched: 3 - 2 >= 1 holds. With no witness at all, X is empty: nobody accepts only X,
    0 - 0 < 1 unmatched, so maximality is not proven."""
    inst = _escape_case()
    slot_of = _schedule(inst, {"a1": "s1", "a2": "s2"})
    s1, s2 = _slot(inst, "s1"), _slot(inst, "s2")
    true = Witnesses(component_of=np.array([-1, -1, 0]), components=((s1, s2),), refs=((),))
    assert hall_deficiency(inst, slot_of, true) is None
    empty = Witnesses(component_of=np.array([-1, -1, -1]), components=(), refs=())
    why = hall_deficiency(inst, slot_of, empty)
    assert why is not None and "do not prove maximality" in why


def test_feasibility_clauses_each_reject_their_own_fault() -> None:
    inst = cases.chain()
    assert check_feasible(inst, np.array([0, 1])) == ["assignment has 2 rows, expected 3"]
    assert check_feasible(inst, np.array([0, -1, 7])) == [
        "assignment refers to a slot index outside the instance"
    ]
    s1 = _slot(inst, "s1")
    crowded = np.array([s1, s1, -1])  # both accept s1, which has one seat
    assert check_feasible(inst, crowded) == ["slot 's1' holds 2 applicants but has capacity 1"]


@pytest.mark.parametrize("drop", ["a1", "a2"])
def test_a_schedule_below_the_max_flow_is_not_maximum(drop: str) -> None:
    inst = cases.chain()
    result = slotopt.solve(inst, seed=0)
    slot_of = result.slot_of.copy()
    slot_of[_index(inst, drop)] = -1
    report = check_matching(inst, slot_of, result.position)
    assert not report.maximum and report.max_flow == 2 and report.n_matched == 1


# -- boundaries and wiring found by mutation testing ----------------------------------------


def test_a_slot_index_just_past_the_last_slot_is_outside() -> None:
    inst = cases.chain()  # slots 0 and 1
    assert check_feasible(inst, np.array([0, -1, inst.n_slots])) == [
        "assignment refers to a slot index outside the instance"
    ]


def test_a_component_index_just_past_the_last_is_missing() -> None:
    """Everyone accepts only s1 (one seat), d (last) is seated. b claims component 1 of a
    one-component chain (just past the end); c claims component 0, which holds d, who comes
    after c. Both are reported: the check goes on after the missing component."""
    inst = cases.build(
        {"s1": 1},
        {"a": 1, "b": 2, "c": 3, "d": 4},
        [("a", "s1"), ("b", "s1"), ("c", "s1"), ("d", "s1")],
    )
    slot_of = _schedule(inst, {"d": "s1"})
    forged = Witnesses(component_of=np.array([-1, 1, 0, -1]), components=((0,),), refs=((),))
    assert check_witness_chain(inst, slot_of, np.array([1, 2, 3, 4]), forged) == [
        "witness of 'b' refers to a missing component",
        "witness of 'c' holds someone of lower priority",
    ]


def test_a_zero_capacity_slot_is_a_witness_with_nobody_in_it() -> None:
    """The first applicant accepts only a slot with no seats: unmatched, and the witness {s0}
    is full (0 of 0) and holds nobody, so nobody of lower priority either."""
    inst = cases.build({"s0": 0, "s1": 1}, {"a": 1, "b": 2}, [("a", "s0"), ("b", "s1")])
    result = slotopt.solve(inst, seed=0, verify=True)
    assert result.n_matched == 1 and result.verification.ok
    assert result.verification.witnesses is not None
    assert result.verification.witnesses.tight(_index(inst, "a")) == (_slot(inst, "s0"),)


def test_the_tight_witness_follows_the_references() -> None:
    """chain: a3's witness is {s1, s2}; the matched applicants have none."""
    inst = cases.chain()
    result = slotopt.solve(inst, seed=0, verify=True)
    w = result.verification.witnesses
    assert w is not None
    assert w.tight(_index(inst, "a3")) == tuple(sorted((_slot(inst, "s1"), _slot(inst, "s2"))))
    assert w.tight(_index(inst, "a1")) == ()
    # a hand-made chain: component 1 refers to component 0, so its tight witness is both
    chained = Witnesses(
        component_of=np.array([-1, -1, 1]), components=((0,), (1,)), refs=((), (0,))
    )
    assert chained.tight(2) == (0, 1)
    alone = Witnesses(component_of=np.array([-1, -1, 1]), components=((0,), (1,)), refs=((), ()))
    assert alone.tight(2) == (1,)


def test_hall_needs_the_bound_to_cover_every_unmatched_applicant() -> None:
    """X = {s1, s2} with 2 seats; all 3 applicants accept only X, but 2 are unmatched:
    3 - 2 = 1 < 2, so X does not prove that 1 matched is the maximum."""
    inst = _escape_case()
    s1, s2 = _slot(inst, "s1"), _slot(inst, "s2")
    true = Witnesses(component_of=np.array([-1, 0, 0]), components=((s1, s2),), refs=((),))
    why = hall_deficiency(inst, _schedule(inst, {"a1": "s1"}), true)
    assert why == (
        "the witnesses do not prove maximality: 3 applicants accept only the 2 witness slots "
        "(2 places), but 2 are unmatched"
    )


def test_an_infeasible_schedule_fails_every_certificate() -> None:
    inst = cases.chain()
    s1 = _slot(inst, "s1")
    report = check_matching(inst, np.array([s1, s1, -1]), POSITIONS)
    assert (report.feasible, report.maximum, report.respects_priorities) == (False, False, False)
    assert report.n_matched == 2 and report.max_flow == 2
    assert report.violations[-1] == "maximality and priority not checked: infeasible"
    assert report.describe().splitlines()[:3] == [
        "feasible: FAILED",
        "maximum: FAILED (2 matched, max flow 2)",
        "respects priorities: FAILED",
    ]


def test_a_short_schedule_says_how_many_could_be_served() -> None:
    inst = cases.chain()
    result = slotopt.solve(inst, seed=0)
    slot_of = result.slot_of.copy()
    slot_of[_index(inst, "a2")] = -1
    report = check_matching(inst, slot_of, result.position)
    assert "1 applicants matched but 2 can be matched at once (maximum flow)" in report.violations
    assert report.describe().splitlines()[1] == "maximum: FAILED (1 matched, max flow 2)"


def test_check_matching_consults_the_hall_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """With witnesses that prove nothing (none at all) and no priority violation found, a
    schedule of the maximum size must still fail 'maximum' through the Hall bound."""
    from slotopt.verify import matching as vm

    inst = cases.chain()
    result = slotopt.solve(inst, seed=0)
    empty = Witnesses(component_of=np.full(3, -1), components=(), refs=())
    monkeypatch.setattr(vm, "build_witnesses", lambda *a, **k: (empty, []))
    report = vm.check_matching(inst, result.slot_of, result.position)
    assert report.n_matched == report.max_flow == 2
    assert not report.maximum
    assert any("do not prove maximality" in v for v in report.violations)


def test_witness_messages_name_the_applicant() -> None:
    inst = _escape_case()
    slot_of = _schedule(inst, {"a1": "s1", "a2": "s2"})
    a3, s1, s2 = _index(inst, "a3"), _slot(inst, "s1"), _slot(inst, "s2")
    assert check_witness(inst, slot_of, POSITIONS, a3, [s2]) == (
        "witness for 'a3' misses their acceptable slot 's1'"
    )
    assert check_witness(inst, slot_of, POSITIONS, a3, [s1]) == (
        "'a1' in witness slot 's1' for 'a3' could move to 's2', outside the witness"
    )


def test_matched_applicants_have_no_witness_component() -> None:
    inst = cases.chain()
    result = slotopt.solve(inst, seed=0, verify=True)
    w = result.verification.witnesses
    assert w is not None
    assert w.component_of.tolist() == [-1, -1, 0]  # a1, a2 matched; a3's component is the first


def test_a_violation_through_a_move_says_so() -> None:
    """Footnote 4 by serial dictatorship: A takes the morning, B (morning only) is left out. B
    could be served by moving A to the afternoon, which has room."""
    inst = cases.footnote4()
    result = slotopt.solve(inst, method="serial-dictatorship", seed=0)
    report = check_matching(inst, result.slot_of, result.position)
    assert (
        "applicant 'B' (position 2) is unmatched but could be served without displacing anyone "
        "of higher priority (moving 1 applicant(s) frees slot 'afternoon')"
    ) in report.violations


def test_many_violations_are_counted_beyond_the_listed_ones() -> None:
    """25 applicants accept one slot of 25 seats and nobody is seated: 25 violations, the first
    20 spelled out and the rest counted."""
    n = 25
    inst = cases.build(
        {"s": n}, {f"a{i:02d}": i + 1 for i in range(n)}, [(f"a{i:02d}", "s") for i in range(n)]
    )
    report = check_matching(inst, np.full(n, -1), np.arange(1, n + 1))
    listed = [v for v in report.violations if "has room" in v]
    assert len(listed) == 20
    assert report.violations[-1] == "... and 5 more priority violation(s)"


def test_a_tight_witness_lists_each_slot_once() -> None:
    # component 2 reaches component 0 twice (directly and through 1)
    diamond = Witnesses(
        component_of=np.array([2]), components=((0,), (1,), (2,)), refs=((), (0,), (0, 1))
    )
    assert diamond.tight(0) == (0, 1, 2)


def test_exactly_twenty_violations_are_all_listed() -> None:
    n = 20
    inst = cases.build(
        {"s": n}, {f"a{i:02d}": i + 1 for i in range(n)}, [(f"a{i:02d}", "s") for i in range(n)]
    )
    report = check_matching(inst, np.full(n, -1), np.arange(1, n + 1))
    assert sum("has room" in v for v in report.violations) == 20
    assert not any(v.startswith("... and") for v in report.violations)
