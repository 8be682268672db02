"""Applicant types: the vectorised grouping equals grouping by exact tuples."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from slotopt.instance import matching
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


SETS = st.lists(st.lists(st.integers(0, 7), max_size=5, unique=True), max_size=30)


def _grouped_both_ways(sets: list[list[int]]) -> None:
    indptr = np.zeros(len(sets) + 1, dtype=np.int64)
    np.cumsum([len(x) for x in sets], out=indptr[1:])
    # rows in any order (as ranks leave them): the grouping sorts them
    flat = np.array([s for x in sets for s in reversed(x)], dtype=np.int64)
    fast = group_types(indptr, flat, 8)
    for i, x in enumerate(sets):
        assert sorted(x) == fast.slots_of(int(fast.type_of[i])).tolist()
    # one type per distinct set, numbered by first appearance
    firsts: dict[tuple[int, ...], int] = {}
    for x in sets:
        firsts.setdefault(tuple(sorted(x)), len(firsts))
    assert fast.type_of.tolist() == [firsts[tuple(sorted(x))] for x in sets]


@given(SETS)
def test_first_hash_collisions_fall_back_to_the_full_sort(sets: list[list[int]]) -> None:
    # every slot's first word is 1: the first hash is only the size, the second tells sets apart
    def colliding(n_slots: int) -> np.ndarray:
        words = np.random.default_rng(1).integers(1, 2**62, size=(2, n_slots)).astype(np.uint64)
        words[0] = 1
        return words

    def no_tuples(*args: object) -> None:
        raise AssertionError("the full sort tells these sets apart: no exact-tuple pass")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(matching, "_hash_words", colliding)
        mp.setattr(matching, "_group_types_exact", no_tuples)
        _grouped_both_ways(sets)


@given(SETS)
def test_full_hash_collisions_fall_back_to_exact_tuples(sets: list[list[int]]) -> None:
    # both hashes are only the size: different sets of one size share a key
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(matching, "_hash_words", lambda n_slots: np.ones((2, n_slots), np.uint64))
        _grouped_both_ways(sets)
