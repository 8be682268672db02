"""The pure matching structure (slotopt.engines.matching.structure) against plain-Python
definitions: slot groups are the slots accepted by exactly the same applicant sets, segments are
a type's first min(n_t, c_t) members in priority order, and the effective rank of an unranked pair
is one after the applicant's worst given rank (models/second_stage.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given

from slotopt.engines.matching.order import priority_order
from slotopt.engines.matching.structure import (
    by_key,
    effective_rank,
    matching_network,
    preference_classes,
    segments,
    total_rank,
)
from slotopt.instance import MatchingInstance, matching_from_frames
from tests.matching.strategies import matching_instances


def _acceptors(inst: MatchingInstance) -> list[frozenset[frozenset[int]]]:
    """For every slot, the set of acceptable sets (types) of the applicants who accept it."""
    sets = [frozenset(inst.acceptable_slots(i).tolist()) for i in range(inst.n_applicants)]
    return [
        frozenset(sets[i] for i in range(inst.n_applicants) if s in sets[i])
        for s in range(inst.n_slots)
    ]


@given(matching_instances())
def test_slot_groups_are_the_slots_accepted_by_the_same_types(inst: MatchingInstance) -> None:
    net = matching_network(inst)
    acceptors = _acceptors(inst)
    usable = [bool(acceptors[s]) and inst.capacity[s] > 0 for s in range(inst.n_slots)]
    assert [g >= 0 for g in net.group_of.tolist()] == usable
    for s in range(inst.n_slots):
        for u in range(inst.n_slots):
            if usable[s] and usable[u]:
                assert (net.group_of[s] == net.group_of[u]) == (acceptors[s] == acceptors[u])
    for g in range(net.n_groups):
        members = net.group_slots[net.group_indptr[g] : net.group_indptr[g + 1]]
        assert int(net.capacity[g]) == int(inst.capacity[members].sum())
    # c_t: the summed capacity of the usable slots a type accepts
    for t in range(net.n_types):
        slots = net.types.slots_of(t).tolist()
        assert int(net.reach[t]) == sum(int(inst.capacity[s]) for s in slots if usable[s])


@given(matching_instances())
def test_segments_are_a_types_first_members_in_priority_order(inst: MatchingInstance) -> None:
    order = priority_order(inst.priority, inst.applicant_ids, 3)
    net = matching_network(inst)
    seg = segments(net, order)
    position = {int(a): p for p, a in enumerate(order.tolist())}
    for t in range(net.n_types):
        members = sorted(
            (i for i in range(inst.n_applicants) if net.types.type_of[i] == t),
            key=position.__getitem__,
        )
        count = min(len(members), int(net.reach[t]))
        got = seg.applicant[seg.indptr[t] : seg.indptr[t + 1]].tolist()
        assert got == members[:count]
        assert seg.k[seg.indptr[t] : seg.indptr[t + 1]].tolist() == list(range(1, count + 1))
        assert (seg.type[seg.indptr[t] : seg.indptr[t + 1]] == t).all()


def _ranked(ranks: list[int | None]) -> MatchingInstance:
    # A accepts m, p, q; B accepts m, p
    return matching_from_frames(
        pd.DataFrame({"slot_id": ["m", "p", "q"], "capacity": [1, 1, 1]}),
        pd.DataFrame({"applicant_id": ["A", "B"], "priority": [1, 2]}),
        pd.DataFrame(
            {
                "applicant_id": ["A", "A", "A", "B", "B"],
                "slot_id": ["m", "p", "q", "m", "p"],
                "rank": pd.array(ranks, dtype="Int64"),
            }
        ).astype({"applicant_id": "string", "slot_id": "string"}),
    )


def test_effective_rank_and_total_rank_by_hand() -> None:
    # A ranks m 2 and q 1 and leaves p unranked: p counts 3 (one after A's worst, 2); B ranks
    # nothing: both of B's slots count 1
    inst = _ranked([2, None, 1, None, None])
    by_pair = dict(
        zip(
            zip(
                np.repeat([0, 1], np.diff(inst.acc_indptr)).tolist(),
                inst.acc_slot.tolist(),
                strict=True,
            ),
            effective_rank(inst).tolist(),
            strict=True,
        )
    )
    m, p, q = (int(inst.slot_index.get_loc(s)) for s in ("m", "p", "q"))
    assert by_pair == {(0, m): 2, (0, p): 3, (0, q): 1, (1, m): 1, (1, p): 1}
    # A in p (3), B in m (1)
    slot_of = np.array([p, m])
    assert total_rank(inst, slot_of) == 4.0
    assert total_rank(inst, np.array([q, -1])) == 1.0  # the unmatched count nothing


def test_total_rank_is_none_without_ranks() -> None:
    inst = _ranked([None] * 5)
    assert total_rank(inst, np.array([0, 1])) is None


def test_preference_classes_need_the_same_slots_and_ranks() -> None:
    # A and B accept different slots: two classes; with A restricted to the same slots and the
    # same ranks as B they would be one (checked on the unranked copy of B's list)
    inst = _ranked([1, 2, 3, 1, 2])
    pc = preference_classes(inst, np.array([True, True]))
    assert pc.n_classes == 2 and pc.size.tolist() == [1, 1]
    only_a = preference_classes(inst, np.array([True, False]))
    assert only_a.class_of.tolist() == [0, -1]
    assert only_a.pair_rank.tolist() == [1, 2, 3]


def test_by_key_groups_positions_stably() -> None:
    order, indptr = by_key(np.array([2, 0, 2, 1, 0]), 4)
    assert indptr.tolist() == [0, 2, 3, 5, 5]
    assert order.tolist() == [1, 4, 3, 0, 2]
