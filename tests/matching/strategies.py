"""Hypothesis strategies and brute-force oracles for small matching instances.

The oracles use Hall's theorem by enumeration (a set U of applicants can be matched at once iff
every subset W of U fits: |W| <= capacity of the slots W accepts), which shares nothing with the
max-flow reference or the augmenting-path greedy.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
from hypothesis import strategies as st

from slotopt.instance import MatchingInstance, matching_from_frames


@st.composite
def matching_instances(
    draw: st.DrawFn, max_applicants: int = 7, max_slots: int = 4, tied: bool | None = None
) -> MatchingInstance:
    n_s = draw(st.integers(1, max_slots))
    n_a = draw(st.integers(1, max_applicants))
    caps = draw(st.lists(st.integers(0, 2), min_size=n_s, max_size=n_s))
    tied = draw(st.booleans()) if tied is None else tied
    if tied:
        prio = draw(st.lists(st.integers(1, 3), min_size=n_a, max_size=n_a))
    else:
        prio = draw(st.permutations(list(range(1, n_a + 1))))
    acc = draw(
        st.lists(st.lists(st.booleans(), min_size=n_s, max_size=n_s), min_size=n_a, max_size=n_a)
    )
    ranks = draw(st.booleans())
    rows = [
        (f"a{i}", f"s{j}", k + 1)
        for i in range(n_a)
        for k, j in enumerate(j for j in range(n_s) if acc[i][j])
    ]
    acceptable = pd.DataFrame(rows, columns=["applicant_id", "slot_id", "rank"])
    acceptable = acceptable.astype({"applicant_id": "string", "slot_id": "string"})
    if not ranks:
        acceptable = acceptable.drop(columns="rank")
    return matching_from_frames(
        pd.DataFrame({"slot_id": [f"s{j}" for j in range(n_s)], "capacity": caps}),
        pd.DataFrame({"applicant_id": [f"a{i}" for i in range(n_a)], "priority": prio}),
        acceptable,
        name="hypothesis",
    )


def matchable(inst: MatchingInstance, members: list[int]) -> bool:
    """Hall's condition by enumeration: can all of ``members`` be matched at once?"""
    for size in range(1, len(members) + 1):
        for w in combinations(members, size):
            slots = set()
            for i in w:
                slots.update(inst.acceptable_slots(i).tolist())
            if size > sum(int(inst.capacity[s]) for s in slots):
                return False
    return True


def brute_force_algorithm1(inst: MatchingInstance, order: np.ndarray) -> set[int]:
    """Arnosti's Algorithm 1 with Hall's theorem as the feasibility test."""
    committed: list[int] = []
    for i in order.tolist():
        if matchable(inst, committed + [i]):
            committed.append(i)
    return set(committed)


def brute_force_max(inst: MatchingInstance) -> int:
    """Size of a largest matchable set of applicants, by enumeration."""
    everyone = list(range(inst.n_applicants))
    for size in range(inst.n_applicants, 0, -1):
        if any(matchable(inst, list(u)) for u in combinations(everyone, size)):
            return size
    return 0
