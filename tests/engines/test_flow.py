"""The one max-flow helper against brute force, and its refusals."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from slotopt.engines.matching.flow import slot_flow

Net = tuple[list[int], list[list[int]], list[int]]


def _brute_force(left_cap: list[int], lists: list[list[int]], capacity: list[int]) -> int:
    """Most units placeable: try every way of sending each unit to one of its node's slots."""
    units = [k for k, c in enumerate(left_cap) for _ in range(c)]
    best = 0
    for choice in itertools.product(*[[-1, *lists[k]] for k in units]):
        load = np.bincount([s for s in choice if s >= 0], minlength=len(capacity))
        if (load <= capacity).all():
            best = max(best, sum(s >= 0 for s in choice))
    return best


@st.composite
def networks(draw: st.DrawFn) -> Net:
    n_slots = draw(st.integers(1, 3))
    n_left = draw(st.integers(0, 3))
    left_cap = [draw(st.integers(0, 2)) for _ in range(n_left)]
    lists = [
        sorted(draw(st.sets(st.integers(0, n_slots - 1), max_size=n_slots))) for _ in range(n_left)
    ]
    capacity = [draw(st.integers(0, 3)) for _ in range(n_slots)]
    return left_cap, lists, capacity


def _csr(lists: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    indptr = np.concatenate([[0], np.cumsum([len(x) for x in lists])]).astype(np.int64)
    slots = np.array([s for x in lists for s in x], dtype=np.int64)
    return indptr, slots


@given(networks())
def test_value_is_the_brute_force_maximum(net: Net) -> None:
    left_cap, lists, capacity = net
    indptr, slots = _csr(lists)
    got = slot_flow(np.array(left_cap, dtype=np.int64), indptr, slots, np.array(capacity))
    assert got.value == _brute_force(left_cap, lists, capacity)


@given(networks())
def test_unit_flow_reads_off_a_feasible_schedule(net: Net) -> None:
    left_cap, lists, capacity = net
    unit = [min(c, 1) for c in left_cap]
    indptr, slots = _csr(lists)
    unit_cap = np.array(unit, dtype=np.int64)
    got = slot_flow(unit_cap, indptr, slots, np.array(capacity), with_flow=True)
    slot_of = got.slot_of_left()
    placed = slot_of[slot_of >= 0]
    assert len(placed) == got.value == _brute_force(unit, lists, capacity)
    assert (np.bincount(placed, minlength=len(capacity)) <= capacity).all()
    for k, s in enumerate(slot_of.tolist()):
        assert s == -1 or (unit[k] == 1 and s in lists[k])


def test_capacities_beyond_int32_are_clipped_or_refused() -> None:
    indptr, slots = _csr([[0], [0]])
    huge = np.array([3 * 2**31], dtype=np.int64)  # clipped to what can arrive: exact
    assert slot_flow(np.array([1, 1]), indptr, slots, huge).value == 2
    with pytest.raises(OverflowError, match="2\\*\\*31"):
        slot_flow(np.array([2**31, 0]), indptr, slots, huge)


def test_a_schedule_needs_the_kept_flow() -> None:
    indptr, slots = _csr([[0]])
    with pytest.raises(ValueError, match="with_flow=True"):
        slot_flow(np.array([1]), indptr, slots, np.array([1])).slot_of_left()
