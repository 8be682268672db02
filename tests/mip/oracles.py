"""Brute-force oracles for the MIP layer's tests (enumeration; they share no code with slotopt).

Instances come from ``tests.matching.strategies`` (Algorithm 1 by Hall's theorem lives there);
here are the oracles for what only the MIP layer computes: the best slot choice for a fixed
matched set (least total rank, rank-maximal profile) and the weight of a matched set.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
from hypothesis import strategies as st

from slotopt.instance import MatchingInstance, matching_from_frames


def rank_table(inst: MatchingInstance) -> dict[tuple[int, int], int]:
    """(applicant, slot) -> rank as models/second_stage.md defines it, written out again: a
    given rank stands; an unranked pair ranks one after the applicant's worst given rank (so
    all of an applicant's slots rank 1 when none is ranked)."""
    out: dict[tuple[int, int], int] = {}
    for i in range(inst.n_applicants):
        lo, hi = inst.acc_indptr[i], inst.acc_indptr[i + 1]
        given = [int(r) for r in inst.acc_rank[lo:hi] if r > 0]
        worst = max(given, default=0)
        for s, r in zip(inst.acc_slot[lo:hi].tolist(), inst.acc_rank[lo:hi].tolist(), strict=True):
            out[(i, s)] = r if r > 0 else worst + 1
    return out


def assignments(inst: MatchingInstance, matched: list[int]) -> Iterator[dict[int, int]]:
    """Every feasible way to give each applicant in ``matched`` one acceptable slot."""
    load = [0] * inst.n_slots

    def rec(k: int, chosen: dict[int, int]) -> Iterator[dict[int, int]]:
        if k == len(matched):
            yield dict(chosen)
            return
        i = matched[k]
        for s in inst.acceptable_slots(i).tolist():
            if load[s] < inst.capacity[s]:
                load[s] += 1
                chosen[i] = s
                yield from rec(k + 1, chosen)
                del chosen[i]
                load[s] -= 1

    yield from rec(0, {})


def min_total_rank(inst: MatchingInstance, matched: list[int]) -> int | None:
    ranks = rank_table(inst)
    totals = [sum(ranks[(i, s)] for i, s in a.items()) for a in assignments(inst, matched)]
    return min(totals) if totals else None


def best_profile(inst: MatchingInstance, matched: list[int]) -> tuple[int, ...] | None:
    """Lexicographically largest (count at rank 1, count at rank 2, ...) over all assignments."""
    ranks = rank_table(inst)
    top = max(ranks.values(), default=0)
    best: tuple[int, ...] | None = None
    for a in assignments(inst, matched):
        profile = [0] * top
        for i, s in a.items():
            profile[ranks[(i, s)] - 1] += 1
        if best is None or tuple(profile) > best:
            best = tuple(profile)
    return best


def profile_of(inst: MatchingInstance, slot_of: np.ndarray) -> tuple[int, ...]:
    ranks = rank_table(inst)
    top = max(ranks.values(), default=0)
    profile = [0] * top
    for i in np.flatnonzero(slot_of >= 0).tolist():
        profile[ranks[(i, int(slot_of[i]))] - 1] += 1
    return tuple(profile)


@st.composite
def ranked_instances(
    draw: st.DrawFn, max_applicants: int = 6, max_slots: int = 4
) -> MatchingInstance:
    """Small instances whose applicants rank their slots in a random order, some pairs left
    unranked (the case the effective rank has to handle)."""
    n_s = draw(st.integers(1, max_slots))
    n_a = draw(st.integers(1, max_applicants))
    caps = draw(st.lists(st.integers(0, 2), min_size=n_s, max_size=n_s))
    prio = draw(st.lists(st.integers(1, 3), min_size=n_a, max_size=n_a))
    rows = []
    for i in range(n_a):
        slots = draw(st.lists(st.integers(0, n_s - 1), unique=True, max_size=n_s))
        for k, s in enumerate(slots):
            ranked = draw(st.integers(0, 3)) > 0
            rows.append((f"a{i}", f"s{s}", k + 1 if ranked else None))
    acceptable = pd.DataFrame(rows, columns=["applicant_id", "slot_id", "rank"])
    acceptable = acceptable.astype({"applicant_id": "string", "slot_id": "string", "rank": "Int64"})
    return matching_from_frames(
        pd.DataFrame({"slot_id": [f"s{j}" for j in range(n_s)], "capacity": caps}),
        pd.DataFrame({"applicant_id": [f"a{i}" for i in range(n_a)], "priority": prio}),
        acceptable,
        name="ranked",
    )
