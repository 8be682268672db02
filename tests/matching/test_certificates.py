"""The certificates must fail on wrong schedules (a checker that cannot fail checks nothing)."""

from __future__ import annotations

import numpy as np
import pytest

import slotopt
from slotopt.verify.matching import Witnesses, check_matching, check_witness_chain
from tests.matching import cases


def test_dropping_a_matched_applicant_breaks_maximality() -> None:
    inst = cases.chain()
    result = slotopt.solve(inst, seed=0)
    slot_of = result.slot_of.copy()
    slot_of[0] = -1  # a1 out: fewer than the maximum
    report = check_matching(inst, slot_of, result.position)
    assert report.feasible and not report.maximum and not report.ok


def test_serving_the_wrong_applicant_breaks_priority_respect() -> None:
    inst = cases.skip_inflexible()  # x, y accept s1; z accepts s1, s2
    x, y, z = 0, 1, 2
    result = slotopt.solve(inst, seed=0)
    slot_of = np.full(3, -1)
    slot_of[y], slot_of[z] = 0, 1  # y served instead of the higher-priority x
    report = check_matching(inst, slot_of, result.position)
    assert report.feasible and report.maximum
    assert not report.respects_priorities
    assert any("'x'" in v for v in report.violations)
    del x


def test_over_capacity_and_unacceptable_slots_are_infeasible() -> None:
    inst = cases.chain()
    result = slotopt.solve(inst, seed=0)
    crowded = np.array([0, 0, -1])  # a1 and a2 both in s1 (capacity 1)
    assert not check_matching(inst, crowded, result.position).feasible
    unacceptable = np.array([-1, 1, -1])  # a2 in s2, which they did not accept
    report = check_matching(inst, unacceptable, result.position)
    assert not report.feasible
    assert any("did not accept" in v for v in report.violations)


def test_a_forged_witness_is_rejected() -> None:
    inst = cases.chain()
    result = slotopt.solve(inst, seed=0, verify=True)
    good = result.verification.witnesses
    assert good is not None and not check_witness_chain(inst, result.slot_of, result.position, good)
    # Claim a3's witness is {s1} alone: a1 sits in s1 and could move to s2, outside it.
    s1 = int(inst.slot_index.get_loc("s1"))
    forged = Witnesses(
        component_of=good.component_of,
        components=((s1,),),
        refs=((),),
    )
    problems = check_witness_chain(inst, result.slot_of, result.position, forged)
    assert problems


def test_verify_true_raises_on_a_failing_method() -> None:
    with pytest.raises(slotopt.VerificationError, match="failed its certificates"):
        slotopt.solve(cases.footnote4(), method="serial-dictatorship", seed=0, verify=True)
