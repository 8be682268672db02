"""Applicant types: the vectorised grouping equals grouping by exact tuples."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from slotopt.instance.matching import _group_types_exact, group_types


@given(st.lists(st.lists(st.integers(0, 5), max_size=4, unique=True), max_size=30))
def test_group_types_equals_exact_grouping(sets: list[list[int]]) -> None:
    indptr = np.zeros(len(sets) + 1, dtype=np.int64)
    np.cumsum([len(x) for x in sets], out=indptr[1:])
    flat = np.array([s for x in sets for s in x], dtype=np.int64)
    fast = group_types(indptr, flat, 6)
    owner = np.repeat(np.arange(len(sets)), np.diff(indptr))
    exact = _group_types_exact(indptr, flat[np.lexsort((flat, owner))])
    for field in ("type_of", "indptr", "slots", "size"):
        assert np.array_equal(getattr(fast, field), getattr(exact, field)), field
    # members of a type really have the same set
    for i, x in enumerate(sets):
        assert sorted(x) == fast.slots_of(int(fast.type_of[i])).tolist()
