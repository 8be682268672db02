"""Properties of Algorithm 1 on random small instances (Arnosti 2021, Theorem 1, Corollary 1,
footnote 6), checked against brute-force oracles built on Hall's theorem."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

import slotopt
from slotopt.engines.matching.order import priority_order
from slotopt.instance import matching_from_frames
from slotopt.verify.matching import check_matching, check_witness
from tests.matching.strategies import (
    brute_force_algorithm1,
    brute_force_max,
    matchable,
    matching_instances,
)

SEEDS = st.integers(0, 2**31 - 1)


@given(matching_instances(), SEEDS)
def test_greedy_equals_naive_and_brute_force(inst, seed) -> None:  # type: ignore[no-untyped-def]
    greedy = slotopt.solve(inst, method="greedy", seed=seed)
    naive = slotopt.solve(inst, method="naive", seed=seed)
    order = priority_order(inst.priority, inst.applicant_ids, seed)
    expected = brute_force_algorithm1(inst, order)
    assert set(np.flatnonzero(greedy.matched).tolist()) == expected
    assert set(np.flatnonzero(naive.matched).tolist()) == expected


@given(matching_instances(), SEEDS)
def test_greedy_is_maximum_and_respects_priorities(inst, seed) -> None:  # type: ignore[no-untyped-def]
    result = slotopt.solve(inst, seed=seed, verify=True)
    assert result.n_matched == brute_force_max(inst)
    # Definition 3 by brute force: no unmatched applicant fits beside the higher-priority
    # matched ones.
    matched = set(np.flatnonzero(result.matched).tolist())
    for a in range(inst.n_applicants):
        if a in matched:
            continue
        above = [b for b in matched if result.position[b] < result.position[a]]
        assert not matchable(inst, above + [a])


@given(matching_instances(), SEEDS)
def test_every_witness_checks(inst, seed) -> None:  # type: ignore[no-untyped-def]
    result = slotopt.solve(inst, seed=seed)
    report = check_matching(inst, result.slot_of, result.position)
    assert report.ok, report.describe()
    for a in np.flatnonzero(~result.matched).tolist():
        explanation = result.explain(str(inst.applicant_ids[a]))
        slots = [int(inst.slot_index.get_loc(s)) for s in explanation.witness_slots]
        assert check_witness(inst, result.slot_of, result.position, a, slots) is None


@given(matching_instances(), SEEDS)
def test_corollary1_greedy_dominates_serial_dictatorship(inst, seed) -> None:  # type: ignore[no-untyped-def]
    greedy = slotopt.solve(inst, seed=seed)
    sd = slotopt.solve(inst, method="serial-dictatorship", seed=seed)
    g = np.sort(greedy.position[greedy.matched])
    d = np.sort(sd.position[sd.matched])
    assert len(g) >= len(d)
    assert (g[: len(d)] <= d).all()


@given(matching_instances(), SEEDS, st.data())
def test_footnote6_listing_more_slots_never_hurts(inst, seed, data) -> None:  # type: ignore[no-untyped-def]
    before = slotopt.solve(inst, seed=seed)
    a = data.draw(st.integers(0, inst.n_applicants - 1))
    extra = data.draw(st.lists(st.integers(0, inst.n_slots - 1), min_size=1, unique=True))
    acc = inst.acceptable[["applicant_id", "slot_id"]]
    have = set(acc.loc[acc["applicant_id"] == inst.applicant_ids[a], "slot_id"])
    new = [(inst.applicant_ids[a], inst.slot_ids[s]) for s in extra if inst.slot_ids[s] not in have]
    more = pd.concat(
        [acc, pd.DataFrame(new, columns=["applicant_id", "slot_id"], dtype="string")],
        ignore_index=True,
    )
    bigger = matching_from_frames(inst.slots, inst.applicants, more)
    after = slotopt.solve(bigger, seed=seed)
    if before.matched[a]:
        assert after.matched[a]


@given(matching_instances(), SEEDS, st.randoms(use_true_random=False))
def test_same_seed_same_matched_set_whatever_the_row_order(inst, seed, rnd) -> None:  # type: ignore[no-untyped-def]
    first = slotopt.solve(inst, seed=seed)
    again = slotopt.solve(inst, seed=seed)
    pd.testing.assert_frame_equal(first.assignment, again.assignment)
    rows = list(range(inst.n_applicants))
    rnd.shuffle(rows)
    shuffled = matching_from_frames(
        inst.slots, inst.applicants.iloc[rows], inst.acceptable.sample(frac=1, random_state=1)
    )
    other = slotopt.solve(shuffled, seed=seed)
    mine = set(first.assignment.loc[first.assignment["slot_id"].notna(), "applicant_id"])
    theirs = set(other.assignment.loc[other.assignment["slot_id"].notna(), "applicant_id"])
    assert mine == theirs


@given(matching_instances(), SEEDS)
def test_total_rank_counts_each_assigned_pair_by_the_rank_rule(inst, seed) -> None:  # type: ignore[no-untyped-def]
    # the rule of docs/matching.md, applied applicant by applicant from the tables
    result = slotopt.solve(inst, seed=seed)
    if "rank" not in inst.acceptable.columns or inst.acceptable["rank"].isna().all():
        assert result.total_rank is None
        return
    ranks = inst.acceptable.set_index(["applicant_id", "slot_id"])["rank"]
    total = 0
    for i, s in enumerate(result.slot_of.tolist()):
        if s < 0:
            continue
        aid, sid = inst.applicant_ids[i], inst.slot_ids[s]
        mine = ranks.loc[aid]
        given = mine.dropna()
        r = mine.loc[sid]
        total += int(r) if pd.notna(r) else (int(given.max()) if len(given) else 0) + 1
    assert result.total_rank == float(total)
