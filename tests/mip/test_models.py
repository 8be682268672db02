"""The models are built over types and slot groups, with the sizes models/*.md states."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
import pytest

from slotopt.engines.matching import structure
from slotopt.engines.matching.order import priority_order
from slotopt.formulations import matching_models as mm
from tests.matching import cases


def _week_like():
    # types by hand: {s1, s2} (a, b, c), {s2} (d), {s3, s4} (e). s1 is accepted by the first
    # type only, s2 by the first two, s3 by the third; s4 has capacity 0 and nobody accepts s5:
    # three slot groups {s1}, {s2}, {s3}
    return cases.build(
        {"s1": 1, "s2": 2, "s3": 1, "s4": 0, "s5": 3},
        {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5},
        [
            ("a", "s1"),
            ("a", "s2"),
            ("b", "s1"),
            ("b", "s2"),
            ("c", "s1"),
            ("c", "s2"),
            ("d", "s2"),
            ("e", "s3"),
            ("e", "s4"),
        ],
    )


def test_network_groups_slots_accepted_by_the_same_types() -> None:
    inst = cases.build(
        {"m1": 1, "m2": 1, "pm": 2},
        {"a": 1, "b": 2, "c": 3},
        [("a", "m1"), ("a", "m2"), ("b", "m1"), ("b", "m2"), ("c", "pm")],
    )
    net = structure.matching_network(inst)
    # a and b are one type accepting m1 and m2; m1 and m2 are accepted by exactly that type,
    # so they form one group of capacity 2; pm is the other group
    assert net.n_types == 2 and net.n_groups == 2
    assert net.group_of[0] == net.group_of[1] != net.group_of[2]
    assert sorted(net.capacity.tolist()) == [2, 2]
    assert net.n_pairs == 2
    assert net.reach.tolist() == [2, 2]


def test_unusable_slots_are_left_out() -> None:
    inst = _week_like()
    net = structure.matching_network(inst)
    # s4 has capacity 0 and s5 is accepted by nobody
    assert net.group_of[3] == -1 and net.group_of[4] == -1
    model = mm.build_max_appointments(inst, net=net)
    assert len(model.slot_groups) == net.n_groups == 3


def test_model_sizes_follow_types_not_applicants() -> None:
    inst = _week_like()
    order = priority_order(inst.priority, inst.applicant_ids, 0)
    net = structure.matching_network(inst)
    m = mm.build_max_appointments(inst, net=net)
    assert len(m.types) == 3 and len(m.assign) == net.n_pairs
    assert [m.served[t].ub for t in m.types] == net.types.size.tolist()
    w = mm.build_weighted_lp(inst, order, net=net)
    # segments per type: min(n_t, c_t): {s1,s2} has 3 members but reach 3 -> 3; {s2}: 1; {s3}: 1
    assert len(w.segments) == 5
    assert w.priority_weight.sense == pyo.maximize
    # the weights strictly decrease along each type's members (priority order)
    for t in w.types:
        ks = sorted(k for (tt, k) in w.segments if tt == t)
        weights = [w.segment_weight[list(w.segments).index((t, k))] for k in ks]
        assert weights == sorted(weights, reverse=True)


def test_segments_capped_by_what_the_slots_hold() -> None:
    inst = cases.build({"s1": 1}, {"a": 1, "b": 2, "c": 3}, [("a", "s1"), ("b", "s1"), ("c", "s1")])
    order = priority_order(inst.priority, inst.applicant_ids, 0)
    w = mm.build_weighted_lp(inst, order)
    assert list(w.segments) == [(0, 1)]  # three members, one seat: one segment
    assert w.segment_applicant.tolist() == [0]  # the first in priority order


def test_default_weights_decrease_from_A_to_1() -> None:
    order = np.array([2, 0, 1])
    assert mm.default_weights(order).tolist() == [2.0, 1.0, 3.0]


def test_effective_rank() -> None:
    # A ranks morning 1 and leaves afternoon unranked: afternoon counts as 2; B ranks nothing:
    # all of B's slots count 1
    inst = cases.build(
        {"m": 1, "p": 1},
        {"A": 1, "B": 2},
        [("A", "m"), ("A", "p"), ("B", "m"), ("B", "p")],
    )
    assert structure.effective_rank(inst).tolist() == [1, 1, 1, 1]
    import pandas as pd

    from slotopt.instance import matching_from_frames

    ranked = matching_from_frames(
        inst.slots,
        inst.applicants,
        pd.DataFrame(
            {
                "applicant_id": ["A", "A", "B", "B"],
                "slot_id": ["m", "p", "m", "p"],
                "rank": pd.array([1, None, None, None], dtype="Int64"),
            },
            dtype="string",
        ).astype({"rank": "Int64"}),
    )
    assert structure.effective_rank(ranked).tolist() == [1, 2, 1, 1]


def test_lexicographic_tiers_model_has_one_objective_per_tier() -> None:
    inst = cases.footnote4()
    order = priority_order(inst.priority, inst.applicant_ids, 0)
    m = mm.build_lexicographic(inst, order, "tiers")
    assert list(m.tiers) == [1, 2]
    assert not m.tier_matched[1].active and m.priority_weight.active
    with pytest.raises(ValueError, match="levels"):
        mm.build_lexicographic(inst, order, "days")  # type: ignore[arg-type]
