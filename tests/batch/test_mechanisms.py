"""The five mechanisms of one batch: hand-derived cases, uniformity, Pareto efficiency, Algorithm
1, weights, and independence from row order and from attributes a draw must not read."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from slotopt.engines.batch import (
    MECHANISMS,
    BatchRequests,
    draw,
    requests_from_frames,
    requests_to_frames,
    tickets,
)
from slotopt.engines.lottery import uniform_order
from slotopt.errors import InstanceError, UsageError
from tests.batch.helpers import batch, winners

PARAMS = {"weighted": {"rule": "doubling"}}


def run(mechanism, requests, slots, seed=11, context="batch-T"):
    return draw(mechanism, requests, slots, seed=seed, context=context, **PARAMS.get(mechanism, {}))


def test_fcfs_serves_in_arrival_order_with_best_free_slot():
    # c arrives first and takes its rank-1 slot x; a then finds x full and takes y; b gets nothing
    r, s = batch(
        {"a": {"x": 1, "y": 2}, "b": {"x": 1}, "c": {"x": 1, "y": 2}},
        {"x": 1, "y": 1},
        at={"a": 5, "b": 9, "c": 1},
    )
    d = run("fcfs", r, s)
    assert winners(r, s, d.slot_of_request) == {"c": "x", "a": "y"}
    assert d.lottery_position.tolist() == [2, 3, 1]
    assert [r.request_id[i] for i in d.waitlist] == ["b"]


def test_fcfs_breaks_equal_times_by_request_id():
    r, s = batch({"b": ["x"], "a": ["x"]}, {"x": 1}, at={"a": 3, "b": 3})
    assert winners(r, s, run("fcfs", r, s).slot_of_request) == {"a": "x"}


def test_lottery_order_is_the_published_digest_order():
    # the draw order of the uniform lottery is uniform_order over the ids with the batch context
    ids = [f"r{k}" for k in range(7)]
    r, s = batch({i: ["x"] for i in ids}, {"x": 3})
    d = run("uniform", r, s, seed=5, context="batch-W1")
    order = uniform_order(5, ids, context="batch-W1")
    assert d.lottery_position[order].tolist() == list(range(1, 8))
    assert sorted(winners(r, s, d.slot_of_request)) == sorted(ids[i] for i in order[:3])
    assert d.waitlist.tolist() == order[3:].tolist()


def test_uniform_takes_the_least_demanded_acceptable_slot():
    # a is drawn first whatever the seed (tier 1 vs 2); of x (accepted by a, b) and y (a only)
    # it takes y, so b still finds x: both served. Taking the "first" slot x would strand b.
    r, s = batch({"a": ["x", "y"], "b": ["x"]}, {"x": 1, "y": 1}, tier={"a": 1, "b": 2})
    assert winners(r, s, run("uniform", r, s).slot_of_request) == {"a": "y", "b": "x"}
    # the serial dictatorship with a preferring x takes x and leaves b unserved (footnote 4)
    r2, s2 = batch({"a": {"x": 1, "y": 2}, "b": {"x": 1}}, {"x": 1, "y": 1}, tier={"a": 1, "b": 2})
    assert winners(r2, s2, run("serial_dictatorship", r2, s2).slot_of_request) == {"a": "x"}


def test_uniform_lottery_is_uniform_chi_square():
    # 6 requests, one slot of capacity 2, 3000 seeds: each request should win 2/6 of the time
    # and be drawn first 1/6 of the time. Seeds are fixed, so the statistics are fixed numbers:
    # win p-value 0.246, first-position p-value 0.840. A biased lottery of
    # this size gives p far below the 1e-4 threshold (next test), so the margin is wide.
    ids = [f"req-{k}" for k in range(6)]
    r, s = batch({i: ["x"] for i in ids}, {"x": 2})
    wins = np.zeros(6)
    first = np.zeros(6)
    n = 3000
    for seed in range(n):
        d = run("uniform", r, s, seed=seed, context="batch-chi")
        wins += d.slot_of_request >= 0
        first[np.argmin(d.lottery_position)] += 1
    p_win = stats.chisquare(wins, np.full(6, n * 2 / 6)).pvalue
    p_first = stats.chisquare(first).pvalue
    assert p_win > 1e-4 and p_first > 1e-4, (p_win, p_first)


def test_chi_square_detects_a_biased_draw_and_weights_match_their_tickets():
    # linear weights with carry-over 0..5 give 1..6 tickets: first-drawn frequencies must follow
    # tickets/21 (p-value 0.258 here) and must reject the uniform hypothesis (p = 3.6e-161).
    ids = [f"req-{k}" for k in range(6)]
    r, s = batch({i: ["x"] for i in ids}, {"x": 1}, carry={i: k for k, i in enumerate(ids)})
    first = np.zeros(6)
    n = 3000
    for seed in range(n):
        d = draw("weighted", r, s, seed=seed, context="batch-w", rule="linear")
        first[np.argmin(d.lottery_position)] += 1
    assert stats.chisquare(first).pvalue < 1e-10
    expected = n * np.arange(1, 7) / 21
    assert stats.chisquare(first, expected).pvalue > 1e-4


def test_tickets_rules_by_hand():
    k = np.array([0, 1, 2, 5, 10, 11, 63, 1000])
    assert tickets(k, "constant").tolist() == [1] * 8
    assert tickets(k, "linear").tolist() == [1, 2, 3, 6, 11, 12, 64, 1001]
    assert tickets(k, "doubling").tolist() == [1, 2, 4, 32, 1024, 1024, 1024, 1024]
    assert tickets(k, "doubling", cap=8).tolist() == [1, 2, 4, 8, 8, 8, 8, 8]
    with pytest.raises(UsageError, match="rule"):
        tickets(k, "tripling")


def test_weighted_constant_is_the_uniform_lottery_of_the_same_tickets():
    ids = [f"r{k}" for k in range(9)]
    r, s = batch({i: ["x"] for i in ids}, {"x": 4}, carry={i: k for k, i in enumerate(ids)})
    a = draw("weighted", r, s, seed=3, context="c", rule="constant")
    b = draw("weighted", r, s, seed=3, context="c", rule="constant")
    assert np.array_equal(a.lottery_position, b.lottery_position)
    assert a.tickets.tolist() == [1] * 9 and a.params == {"rule": "constant", "cap": 1024}


def _prefers(rank_of: dict[str, int], a: str | None, b: str | None) -> int:
    """+1 if slot a is better than b for the request, 0 if equal, -1 if worse (None = nothing)."""
    ka = rank_of[a] if a is not None else 10**9
    kb = rank_of[b] if b is not None else 10**9
    return (kb > ka) - (kb < ka)


def pareto_improvement(
    prefs: dict[str, dict[str, int]], capacity: dict[str, int], alloc: dict[str, str]
) -> dict[str, str | None] | None:
    """Brute force: an allocation where nobody is worse off and someone better, or None."""
    reqs = list(prefs)
    options = [[None, *prefs[r]] for r in reqs]
    for combo in itertools.product(*options):
        used: dict[str, int] = {}
        for sl in combo:
            if sl is not None:
                used[sl] = used.get(sl, 0) + 1
        if any(used[sl] > capacity[sl] for sl in used):
            continue
        cmp = [_prefers(prefs[r], combo[k], alloc.get(r)) for k, r in enumerate(reqs)]
        if min(cmp) >= 0 and max(cmp) > 0:
            return dict(zip(reqs, combo, strict=True))
    return None


def test_pareto_checker_finds_the_swap():
    # a holds y but prefers x, b holds x but prefers y: swapping makes both better off
    prefs = {"a": {"x": 1, "y": 2}, "b": {"y": 1, "x": 2}}
    assert pareto_improvement(prefs, {"x": 1, "y": 1}, {"a": "y", "b": "x"}) == {"a": "x", "b": "y"}
    assert pareto_improvement(prefs, {"x": 1, "y": 1}, {"a": "x", "b": "y"}) is None


def test_random_serial_dictatorship_is_ex_post_pareto_efficient():
    rng = np.random.default_rng(20261202)
    for case in range(150):
        n_req, n_slot = int(rng.integers(2, 6)), int(rng.integers(1, 4))
        slots = [f"s{j}" for j in range(n_slot)]
        capacity = {sl: int(rng.integers(1, 3)) for sl in slots}
        prefs = {}
        for i in range(n_req):
            k = int(rng.integers(1, n_slot + 1))
            chosen = list(rng.permutation(slots)[:k])
            prefs[f"r{i}"] = {sl: rank for rank, sl in enumerate(chosen, start=1)}
        r, s = batch(prefs, capacity)
        d = run("serial_dictatorship", r, s, seed=case)
        alloc = winners(r, s, d.slot_of_request)
        assert pareto_improvement(prefs, capacity, alloc) is None, (case, prefs, alloc)


def _max_matching(prefs: dict[str, list[str]], capacity: dict[str, int]) -> int:
    best = 0
    for combo in itertools.product(*[[None, *prefs[r]] for r in prefs]):
        used: dict[str, int] = {}
        for sl in combo:
            if sl is not None:
                used[sl] = used.get(sl, 0) + 1
        if all(used[sl] <= capacity[sl] for sl in used):
            best = max(best, sum(sl is not None for sl in combo))
    return best


def test_priority_mechanism_maximises_appointments_and_respects_tiers():
    rng = np.random.default_rng(7)
    for case in range(80):
        n_req, n_slot = int(rng.integers(2, 6)), int(rng.integers(1, 4))
        slots = [f"s{j}" for j in range(n_slot)]
        capacity = {sl: int(rng.integers(1, 3)) for sl in slots}
        prefs = {
            f"r{i}": list(rng.permutation(slots)[: int(rng.integers(1, n_slot + 1))])
            for i in range(n_req)
        }
        tier = {r: int(rng.integers(1, 3)) for r in prefs}
        r, s = batch(prefs, capacity, tier=tier)
        d = run("priority", r, s, seed=case)
        got = winners(r, s, d.slot_of_request)
        assert len(got) == _max_matching(prefs, capacity), case
        for req, sl in got.items():
            assert sl in prefs[req]
        # Algorithm 1: the first request in draw order is matched whenever it accepts any slot
        first = str(r.request_id[int(np.argmin(d.lottery_position))])
        assert first in got
        # and the tier-1 requests matched are as many as a maximum matching of tier 1 alone
        t1 = {q: prefs[q] for q in prefs if tier[q] == 1}
        assert sum(tier[q] == 1 for q in got) == _max_matching(t1, capacity), case


def test_priority_serves_the_inflexible_applicant_of_footnote_4():
    # Arnosti footnote 4: A (first, available all day) and B (morning only), one morning and one
    # afternoon slot: Algorithm 1 serves both whatever A prefers.
    r, s = batch(
        {"A": {"morning": 1, "afternoon": 2}, "B": {"morning": 1}},
        {"morning": 1, "afternoon": 1},
        tier={"A": 1, "B": 2},
    )
    assert winners(r, s, run("priority", r, s).slot_of_request) == {
        "A": "afternoon",
        "B": "morning",
    }


def test_listing_more_slots_never_hurts_in_the_priority_mechanism():
    # Arnosti, footnote 6: with Algorithm 1, listing an extra acceptable slot never turns a
    # matched applicant into an unmatched one (the lottery order does not depend on the lists)
    rng = np.random.default_rng(31)
    for case in range(60):
        prefs, capacity, tier, _, _ = _random_batch(rng, n_req=7, n_slot=3)
        r, s = batch(prefs, capacity, tier=tier)
        before = winners(r, s, run("priority", r, s, seed=case).slot_of_request)
        who = sorted(prefs)[case % len(prefs)]
        extra = [sl for sl in capacity if sl not in prefs[who]]
        if not extra:
            continue
        more = dict(prefs, **{who: {**prefs[who], extra[0]: 99}})
        r2, s2 = batch(more, capacity, tier=tier)
        after = winners(r2, s2, run("priority", r2, s2, seed=case).slot_of_request)
        assert who not in before or who in after, case


def _random_batch(rng, n_req=12, n_slot=4):
    slots = [f"s{j}" for j in range(n_slot)]
    capacity = {sl: int(rng.integers(0, 3)) for sl in slots}
    prefs = {}
    for i in range(n_req):
        chosen = list(rng.permutation(slots)[: int(rng.integers(1, n_slot + 1))])
        prefs[f"id-{i:02d}"] = {sl: k for k, sl in enumerate(chosen, start=1)}
    tier = {r: int(rng.integers(1, 3)) for r in prefs}
    carry = {r: int(rng.integers(0, 4)) for r in prefs}
    at = {r: int(rng.integers(0, 5)) for r in prefs}
    return prefs, capacity, tier, carry, at


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_every_mechanism_is_invariant_to_row_order(mechanism):
    rng = np.random.default_rng(99)
    for case in range(15):
        prefs, capacity, tier, carry, at = _random_batch(rng)
        r, s = batch(prefs, capacity, tier=tier, carry=carry, at=at)
        req_df, acc_df, slots_df = requests_to_frames(r, s)
        pr = rng.permutation(len(req_df))
        pa = rng.permutation(len(acc_df))
        ps = rng.permutation(len(slots_df))
        r2, s2 = requests_from_frames(req_df.iloc[pr], acc_df.iloc[pa], slots_df.iloc[ps])
        d1, d2 = run(mechanism, r, s, seed=case), run(mechanism, r2, s2, seed=case)
        assert winners(r, s, d1.slot_of_request) == winners(r2, s2, d2.slot_of_request)
        pos1 = dict(zip(r.request_id, d1.lottery_position.tolist(), strict=True))
        pos2 = dict(zip(r2.request_id, d2.lottery_position.tolist(), strict=True))
        assert pos1 == pos2
        assert [r.request_id[i] for i in d1.waitlist] == [r2.request_id[i] for i in d2.waitlist]


def test_draw_input_carries_no_applicant_attribute_beyond_tier_and_carry_over():
    fields = [f.name for f in dataclasses.fields(BatchRequests)]
    assert fields == [
        "request_id",
        "priority_tier",
        "carry_over",
        "registered_at",
        "acc_indptr",
        "acc_slot",
        "acc_rank",
    ]


@pytest.mark.parametrize("mechanism", ["uniform", "serial_dictatorship", "priority", "weighted"])
def test_lotteries_ignore_registration_time(mechanism):
    rng = np.random.default_rng(5)
    prefs, capacity, tier, carry, at = _random_batch(rng)
    r1, s1 = batch(prefs, capacity, tier=tier, carry=carry, at=at)
    r2, s2 = batch(prefs, capacity, tier=tier, carry=carry, at={q: -10 * v for q, v in at.items()})
    d1, d2 = run(mechanism, r1, s1), run(mechanism, r2, s2)
    assert np.array_equal(d1.slot_of_request, d2.slot_of_request)
    assert np.array_equal(d1.lottery_position, d2.lottery_position)
    # ... while the FCFS baseline does read it (the check above could fail)
    f1, f2 = run("fcfs", r1, s1), run("fcfs", r2, s2)
    assert not np.array_equal(f1.lottery_position, f2.lottery_position)


def test_one_request_more_does_not_reorder_the_others():
    ids = [f"r{k}" for k in range(10)]
    r, s = batch({i: ["x"] for i in ids}, {"x": 3})
    r2, s2 = batch({i: ["x"] for i in [*ids, "newcomer"]}, {"x": 3})
    d, d2 = run("uniform", r, s), run("uniform", r2, s2)
    order = [r.request_id[i] for i in np.argsort(d.lottery_position)]
    order2 = [
        r2.request_id[i] for i in np.argsort(d2.lottery_position) if r2.request_id[i] != "newcomer"
    ]
    assert order == order2


def test_frames_round_trip():
    rng = np.random.default_rng(1)
    prefs, capacity, tier, carry, at = _random_batch(rng)
    r, s = batch(prefs, capacity, tier=tier, carry=carry, at=at)
    frames = requests_to_frames(r, s)
    r2, s2 = requests_from_frames(*frames)
    for f in dataclasses.fields(r):
        assert np.array_equal(getattr(r, f.name), getattr(r2, f.name)), f.name
    assert np.array_equal(s.slot_id, s2.slot_id) and np.array_equal(s.capacity, s2.capacity)
    for a, b in zip(frames, requests_to_frames(r2, s2), strict=True):
        pd.testing.assert_frame_equal(a, b)


def test_batch_requests_refuse_inconsistent_arrays():
    good = dict(
        request_id=np.array(["a", "b"], dtype=object),
        priority_tier=np.array([1, 1]),
        carry_over=np.array([0, 0]),
        registered_at=np.array([0, 1]),
        acc_indptr=np.array([0, 2, 3]),
        acc_slot=np.array([0, 1, 1]),
        acc_rank=np.array([-1, -1, -1]),
    )
    assert BatchRequests(**good).n_requests == 2
    with pytest.raises(ValueError, match="pair twice"):
        BatchRequests(**good | {"acc_slot": np.array([1, 1, 0])})
    with pytest.raises(ValueError, match="unique"):
        BatchRequests(**good | {"request_id": np.array(["a", "a"], dtype=object)})
    with pytest.raises(ValueError, match="CSR"):
        BatchRequests(**good | {"acc_indptr": np.array([0, 3, 2])})
    with pytest.raises(ValueError, match="non-negative"):
        BatchRequests(**good | {"carry_over": np.array([0, -1])})


def test_allocation_table():
    r, s = batch({"a": ["x"], "b": ["x"], "c": ["y"]}, {"x": 1, "y": 1})
    d = run("fcfs", r, s)
    table = d.allocation(r, s)
    assert table["request_id"].tolist() == ["a", "b", "c"]
    assert table["slot_id"].tolist()[0] == "x" and pd.isna(table["slot_id"].iloc[1])
    assert table["slot_id"].iloc[2] == "y" and table["lottery_position"].tolist() == [1, 2, 3]


def test_arrays_are_read_only():
    r, s = batch({"a": ["x"]}, {"x": 1})
    with pytest.raises(ValueError):
        r.priority_tier[0] = 0
    with pytest.raises(ValueError):
        s.capacity[0] = 5
    with pytest.raises(ValueError):
        run("uniform", r, s).slot_of_request[0] = -1


def test_frames_validation_names_table_row_and_column():
    req = pd.DataFrame(
        {
            "request_id": ["a", "a", "b"],
            "priority_tier": [1, 1, -1],
            "carry_over": [0, "x", 0],
            "registered_at": [1, 2, 3],
        }
    )
    acc = pd.DataFrame({"request_id": ["a", "zz"], "slot_id": ["s", "s"], "rank": [0, 1]})
    with pytest.raises(InstanceError) as exc:
        requests_from_frames(req, acc, pd.DataFrame({"slot_id": ["s"], "capacity": [1]}))
    msg = str(exc.value)
    assert "requests row 2, column request_id: duplicate id 'a'" in msg
    assert "requests row 3, column priority_tier" in msg
    assert "requests row 2, column carry_over" in msg
    assert "request_slots row 1, column rank" in msg
    req_ok = pd.DataFrame(
        {"request_id": ["a"], "priority_tier": [1], "carry_over": [0], "registered_at": [1]}
    )
    with pytest.raises(InstanceError, match=r"request_slots row 2, column request_id"):
        requests_from_frames(
            req_ok, acc.assign(rank=[1, 1]), pd.DataFrame({"slot_id": ["s"], "capacity": [1]})
        )
    with pytest.raises(InstanceError, match=r"request_slots row 1, column slot_id"):
        requests_from_frames(
            req_ok,
            pd.DataFrame({"request_id": ["a"], "slot_id": ["t"]}),
            pd.DataFrame({"slot_id": ["s"], "capacity": [1]}),
        )
    with pytest.raises(InstanceError, match=r"request_slots row 2, column slot_id: this request"):
        requests_from_frames(
            req_ok,
            pd.DataFrame({"request_id": ["a", "a"], "slot_id": ["s", "s"]}),
            pd.DataFrame({"slot_id": ["s"], "capacity": [1]}),
        )


def test_bad_mechanism_and_params_are_usage_errors():
    r, s = batch({"a": ["x"]}, {"x": 1})
    with pytest.raises(UsageError, match="mechanism must be one of"):
        draw("dictator", r, s, seed=1, context="c")
    with pytest.raises(UsageError, match="takes no parameter rule"):
        draw("uniform", r, s, seed=1, context="c", rule="linear")
    with pytest.raises(UsageError, match="weighted rule"):
        draw("weighted", r, s, seed=1, context="c", rule="square")
    with pytest.raises(UsageError, match="cap"):
        draw("weighted", r, s, seed=1, context="c", rule="doubling", cap=0)
