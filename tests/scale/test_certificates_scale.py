"""The vectorised certificates report exactly what the plain loops reported, clause by clause,
on valid schedules and on witnesses and schedules broken in every way; the max-flow check stays
exact for capacities beyond int32."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from slotopt.engines.matching.greedy import greedy_matching
from slotopt.engines.matching.order import positions_from_order, priority_order
from slotopt.instance import matching_from_frames
from slotopt.verify import matching as vm
from tests.matching.strategies import matching_instances
from tests.scale.reference import loop_check_feasible, loop_check_witness_chain
from tests.scale.strategies import block_instances

SEEDS = st.integers(0, 2**31 - 1)
BREAKS = st.sampled_from(
    [
        "none",
        "repeat-slot",
        "drop-slot",
        "bad-component",
        "shuffle-positions",
        "unassign",
        "wrong-slot",
    ]
)


@given(st.one_of(block_instances(), matching_instances()), SEEDS, BREAKS, st.randoms())
def test_vectorised_checks_match_the_loops(inst, seed, how, rnd) -> None:  # type: ignore[no-untyped-def]
    order = priority_order(inst.priority, inst.applicant_ids, seed)
    position = positions_from_order(order)
    slot_of = greedy_matching(inst, order)
    witnesses, prio = vm.build_witnesses(inst, slot_of, position)
    assert prio == []
    comps = [list(c) for c in witnesses.components]
    comp_of = witnesses.component_of.copy()
    if how == "repeat-slot" and any(comps):
        src = rnd.choice([c for c in comps if c])
        rnd.choice(comps).append(rnd.choice(src))
    elif how == "drop-slot" and any(comps):
        c = rnd.choice([c for c in comps if c])
        c.pop(rnd.randrange(len(c)))
    elif how == "bad-component" and (comp_of >= 0).any():
        i = rnd.choice(np.flatnonzero(comp_of >= 0).tolist())
        comp_of[i] = rnd.choice([0, len(comps), len(comps) + 5])
    elif how == "reverse-components":  # later components now come first: Y_k no longer closed
        comps.reverse()
        comp_of = np.where(comp_of >= 0, len(comps) - 1 - comp_of, -1)
    elif how == "earlier-component" and (comp_of > 0).any():
        i = rnd.choice(np.flatnonzero(comp_of > 0).tolist())
        comp_of[i] -= 1
    elif how == "swap-positions" and (comp_of > 0).any() and any(comps):
        i = rnd.choice(np.flatnonzero(comp_of > 0).tolist())
        seated = np.flatnonzero(np.isin(slot_of, [s for c in comps for s in c]))
        if len(seated):
            b = rnd.choice(seated.tolist())
            position = position.copy()
            position[[i, b]] = position[[b, i]]
    elif how == "shuffle-positions":
        position = position[np.random.default_rng(seed).permutation(len(position))]
    elif how == "unassign" and (slot_of >= 0).any():
        slot_of = slot_of.copy()
        slot_of[rnd.choice(np.flatnonzero(slot_of >= 0).tolist())] = -1
    elif how == "wrong-slot" and (slot_of >= 0).any():
        slot_of = slot_of.copy()
        slot_of[rnd.choice(np.flatnonzero(slot_of >= 0).tolist())] = rnd.randrange(inst.n_slots)
    broken = vm.Witnesses(
        component_of=comp_of, components=tuple(map(tuple, comps)), refs=witnesses.refs
    )
    assert vm.check_feasible(inst, slot_of) == loop_check_feasible(inst, slot_of)
    assert vm.check_witness_chain(inst, slot_of, position, broken) == loop_check_witness_chain(
        inst, slot_of, position, broken
    )


def test_max_flow_exact_beyond_int32() -> None:
    big = 3 * 2**31  # far beyond int32: the old cast wrapped it around
    inst = matching_from_frames(
        pd.DataFrame({"slot_id": ["s0", "s1"], "capacity": [big, 1]}),
        pd.DataFrame({"applicant_id": ["a", "b", "c"], "priority": [1, 1, 1]}),
        pd.DataFrame(
            {"applicant_id": ["a", "b", "c", "c"], "slot_id": ["s0", "s0", "s1", "s0"]},
            dtype="string",
        ),
    )
    assert vm.max_flow_value(inst) == 3
    order = priority_order(inst.priority, inst.applicant_ids, 1)
    slot_of = greedy_matching(inst, order)
    report = vm.check_matching(inst, slot_of, positions_from_order(order))
    assert report.ok and report.max_flow == 3, report.describe()


def test_violation_message_counts_the_moves() -> None:
    # a (first) sits in s0; b accepts only s0 and is unmatched, though a could move to s1:
    # one applicant moved frees s0 for b (hand-derived)
    inst = matching_from_frames(
        pd.DataFrame({"slot_id": ["s0", "s1"], "capacity": [1, 1]}),
        pd.DataFrame({"applicant_id": ["a", "b"], "priority": [1, 2]}),
        pd.DataFrame(
            {"applicant_id": ["a", "a", "b"], "slot_id": ["s0", "s1", "s0"]}, dtype="string"
        ),
    )
    position = np.array([1, 2])
    _, violations = vm.build_witnesses(inst, np.array([0, -1]), position)
    assert violations == [
        "applicant 'b' (position 2) is unmatched but could be served without displacing anyone "
        "of higher priority (moving 1 applicant(s) frees slot 's1')"
    ]
    _, violations = vm.build_witnesses(inst, np.array([-1, -1]), position)
    assert "(slot 's0' has room)" in violations[0]


def test_two_move_path_message() -> None:
    # b accepts s0 (held by a); a can go to s1 (held by c); c can go to the free s2
    inst = matching_from_frames(
        pd.DataFrame({"slot_id": ["s0", "s1", "s2"], "capacity": [1, 1, 1]}),
        pd.DataFrame({"applicant_id": ["a", "c", "b"], "priority": [1, 2, 3]}),
        pd.DataFrame(
            {"applicant_id": ["a", "a", "c", "c", "b"], "slot_id": ["s0", "s1", "s1", "s2", "s0"]},
            dtype="string",
        ),
    )
    at = {a: i for i, a in enumerate(inst.applicant_ids)}  # the loader orders rows by id
    slot_of = np.full(3, -1)
    slot_of[at["a"]], slot_of[at["c"]] = 0, 1
    position = np.empty(3, dtype=np.int64)
    position[[at["a"], at["c"], at["b"]]] = [1, 2, 3]
    _, violations = vm.build_witnesses(inst, slot_of, position)
    assert violations[0].endswith("(moving 2 applicant(s) frees slot 's2')")


def _chain() -> tuple:  # type: ignore[type-arg]
    """p1 in s0 and p2 turned away: component 0 = {s0}; p3 (accepts s0, s1) in s1 and p4
    (accepts s1) turned away: component 1 = {s1}, which ran into component 0."""
    inst = matching_from_frames(
        pd.DataFrame({"slot_id": ["s0", "s1"], "capacity": [1, 1]}),
        pd.DataFrame({"applicant_id": ["p1", "p2", "p3", "p4"], "priority": [1, 2, 3, 4]}),
        pd.DataFrame(
            {
                "applicant_id": ["p1", "p2", "p3", "p3", "p4"],
                "slot_id": ["s0", "s0", "s0", "s1", "s1"],
            },
            dtype="string",
        ),
    )
    slot_of = np.array([0, -1, 1, -1])
    position = np.array([1, 2, 3, 4])
    witnesses, prio = vm.build_witnesses(inst, slot_of, position)
    assert prio == [] and witnesses.components == ((0,), (1,))
    assert witnesses.component_of.tolist() == [-1, 0, -1, 1]
    return inst, slot_of, position, witnesses


def test_hand_made_broken_chains_match_the_loops() -> None:
    inst, slot_of, position, w = _chain()
    cases = {
        # p3 (component 0 now) accepts s0, which is in the later component 1
        "reversed": (vm.Witnesses(np.array([-1, 1, -1, 0]), ((1,), (0,)), ((), (1,))), position),
        # p4 pointed at component 0, which does not hold its slot s1
        "earlier": (vm.Witnesses(np.array([-1, 0, -1, 0]), w.components, w.refs), position),
        # p1 (in component 0) after p4: Y_1 holds someone of lower priority than p4
        "late-occupant": (w, np.array([5, 2, 3, 4])),
    }
    expected = {
        "reversed": "'p3' in witness slot 's1' accepts a slot outside the witness",
        "earlier": "witness of 'p4' misses one of their slots",
        "late-occupant": "witness of 'p4' holds someone of lower priority",
    }
    for name, (witnesses, pos) in cases.items():
        got = vm.check_witness_chain(inst, slot_of, pos, witnesses)
        assert got == loop_check_witness_chain(inst, slot_of, pos, witnesses), name
        assert expected[name] in got, (name, got)
