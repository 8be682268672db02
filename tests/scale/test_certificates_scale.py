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
