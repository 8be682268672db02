"""One validator, every mechanism: on random small batches every draw is feasible, complete,
non-wasteful and reproducible (Hypothesis, ``ci`` profile)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from slotopt.engines.batch import MECHANISMS, draw
from tests.batch.helpers import batch


@st.composite
def batches(draw_, max_requests: int = 9, max_slots: int = 4):
    n_slots = draw_(st.integers(1, max_slots))
    slots = [f"s{j}" for j in range(n_slots)]
    capacity = {s: draw_(st.integers(0, 3)) for s in slots}
    n_req = draw_(st.integers(0, max_requests))
    prefs, tier, carry, at = {}, {}, {}, {}
    for i in range(n_req):
        rid = f"r{i}"
        chosen = draw_(st.lists(st.sampled_from(slots), min_size=1, unique=True))
        ranked = draw_(st.booleans())
        prefs[rid] = {s: k for k, s in enumerate(chosen, start=1)} if ranked else chosen
        tier[rid] = draw_(st.integers(1, 2))
        carry[rid] = draw_(st.integers(0, 3))
        at[rid] = draw_(st.integers(0, 5))
    return batch(prefs, capacity, tier=tier, carry=carry, at=at)


def check(requests, slots, d) -> None:
    s = d.slot_of_request
    n = requests.n_requests
    assert sorted(d.lottery_position.tolist()) == list(range(1, n + 1))
    used = np.bincount(s[s >= 0], minlength=slots.n_slots)
    assert (used <= slots.capacity).all()
    for r in range(n):
        if s[r] >= 0:
            assert s[r] in requests.slots_of(r).tolist()
        else:  # non-wasteful: every slot it accepts is full
            assert all(used[k] == slots.capacity[k] for k in requests.slots_of(r).tolist())
    order = np.argsort(d.lottery_position)
    assert d.waitlist.tolist() == [int(r) for r in order if s[r] < 0]


@pytest.mark.parametrize("mechanism", MECHANISMS)
@given(data=batches(), seed=st.integers(0, 2**64))
def test_every_draw_is_feasible_complete_and_reproducible(mechanism, data, seed):
    requests, slots = data
    params = {"rule": "doubling"} if mechanism == "weighted" else {}
    d = draw(mechanism, requests, slots, seed=seed, context="batch-prop", **params)
    check(requests, slots, d)
    again = draw(mechanism, requests, slots, seed=seed, context="batch-prop", **params)
    assert np.array_equal(d.slot_of_request, again.slot_of_request)
    assert np.array_equal(d.lottery_position, again.lottery_position)


def test_the_check_catches_waste():
    # a request left out while an acceptable slot has room must fail the check
    r, s = batch({"a": ["x"], "b": ["x"]}, {"x": 2})
    d = draw("uniform", r, s, seed=1, context="c")
    import dataclasses

    wasteful = dataclasses.replace(d, slot_of_request=np.array([0, -1]), waitlist=np.array([1]))
    with pytest.raises(AssertionError):
        check(r, s, wasteful)
