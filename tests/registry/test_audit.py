"""The audit recomputes draws, names the first difference, and catches the DV-2012 failure."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from slotopt.engines.batch import draw, requests_from_frames
from slotopt.engines.commitment import commitment, draw_seed, replay_secret
from slotopt.registry import Registry
from slotopt.verify.audit import (
    MIN_EXPECTED,
    _merge_days,
    _pearson,
    audit_draw,
    registration_time_test,
)

from .helpers import DAY, T0, Batch, draw_inputs, make_batch, open_registry, record

MECHANISMS = ["uniform", "serial_dictatorship", "priority", "weighted", "fcfs"]


def check(report, name: str):
    return next(c for c in report.checks if c.name == name)


@pytest.fixture
def reg(tmp_path: Path):
    r = open_registry(tmp_path)
    yield r
    r.close()


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_every_mechanism_audits_clean(reg: Registry, mechanism: str) -> None:
    b = make_batch("w1", 60, slots=4, capacity=3, ranked=True)
    record(reg, b, mechanism=mechanism)
    report = audit_draw(reg.published_draw("w1"))
    assert report.ok, report.text()
    assert report.first_difference is None and report.n_differences == 0
    assert report.n_allocated_published == report.n_allocated_recomputed > 0
    assert [c.name for c in report.checks] == [
        "commitment",
        "reveal",
        "seed",
        "request list",
        "recompute",
        "registration time",
    ]


def _record_inputs(reg: Registry, b: Batch, inputs: dict[str, pd.DataFrame]) -> None:
    """Register ``b`` but draw (consistently) from other ``inputs``: a manipulated list."""
    reg.register(b.name, b.requests, b.request_slots)
    secret = replay_secret(5, b.name)
    r, s = requests_from_frames(inputs["requests"], inputs["request_slots"], inputs["slots"])
    result = draw("uniform", r, s, seed=draw_seed(secret), context=f"batch-{b.name}")
    reg.commit(b.name, commitment(secret), None)
    reg.record_draw(
        b.name,
        mechanism="uniform",
        params={},
        context=f"batch-{b.name}",
        inputs=inputs,
        result=result,
        secret=secret,
        public=b"",
    )


def test_a_registered_request_left_out_of_the_draw_is_named(reg: Registry) -> None:
    b = make_batch("w1", 30)
    inputs = draw_inputs(b)
    gone = "w1-R0007"
    inputs["requests"] = inputs["requests"][inputs["requests"].request_id != gone]
    inputs["request_slots"] = inputs["request_slots"][inputs["request_slots"].request_id != gone]
    _record_inputs(reg, b, inputs)
    report = audit_draw(reg.published_draw("w1"))
    assert not report.ok
    assert check(report, "recompute").ok  # the draw itself is consistent...
    bad = check(report, "request list")  # ...but not over the registered list
    assert not bad.ok and "1 difference(s)" in bad.detail and gone in bad.detail
    assert report.first_difference.request_id == gone


def test_a_request_never_registered_or_changed_is_named(reg: Registry) -> None:
    b = make_batch("w1", 30)
    inputs = draw_inputs(b)
    extra = pd.DataFrame(
        {"request_id": ["w1-FAKE"], "priority_tier": [1], "carry_over": [0], "registered_at": [T0]}
    )
    inputs["requests"] = pd.concat([inputs["requests"], extra], ignore_index=True)
    inputs["requests"].loc[inputs["requests"].request_id == "w1-R0003", "priority_tier"] = 0
    inputs["request_slots"] = pd.concat(
        [
            inputs["request_slots"],
            pd.DataFrame(
                {
                    "request_id": ["w1-FAKE"],
                    "slot_id": ["S0"],
                    "rank": pd.array([None], dtype="Int64"),
                }
            ),
        ],
        ignore_index=True,
    )
    slots = inputs["request_slots"]
    k = slots.index[slots.request_id == "w1-R0005"][0]
    slots.loc[k, "slot_id"] = "S2" if slots.loc[k, "slot_id"] != "S2" else "S1"
    inputs["request_slots"] = slots.drop_duplicates(["request_id", "slot_id"])
    _record_inputs(reg, b, inputs)
    report = audit_draw(reg.published_draw("w1"))
    bad = check(report, "request list")
    # the extra request, a changed tier, and one or two changed acceptable slots of R0005
    assert not bad.ok and report.n_differences in (3, 4)
    names = {str(d.request_id) for d in report.differences}
    assert names == {"w1-FAKE", "w1-R0003", "w1-R0005"}
    assert report.first_difference.request_id == "w1-FAKE"


def test_a_changed_seed_is_caught(reg: Registry) -> None:
    record(reg, make_batch("w1", 40))
    pub = reg.published_draw("w1")
    other = dataclasses.replace(pub, secret=replay_secret(999, "w1"))
    report = audit_draw(other)
    assert not check(report, "reveal").ok and not check(report, "seed").ok
    assert not check(report, "recompute").ok
    forged = dataclasses.replace(pub, seed=pub.seed + 1)
    report = audit_draw(forged)
    assert not check(report, "seed").ok and check(report, "reveal").ok
    assert "published" in check(report, "seed").detail
    assert not audit_draw(dataclasses.replace(pub, commitment=None)).ok


def test_a_changed_allocation_names_the_first_request_in_lottery_order(reg: Registry) -> None:
    record(reg, make_batch("w1", 40))
    pub = reg.published_draw("w1")
    alloc = pub.allocation.copy()  # by lottery position
    won = alloc.index[alloc.slot_id.notna()]
    lost = alloc.index[alloc.slot_id.isna()]
    a, b = won[-1], lost[0]  # the last winner loses its slot to the first loser
    alloc.loc[b, "slot_id"] = alloc.loc[a, "slot_id"]
    alloc.loc[a, "slot_id"] = None
    report = audit_draw(dataclasses.replace(pub, allocation=alloc))
    bad = check(report, "recompute")
    assert not bad.ok and report.n_differences == 2
    first = report.first_difference
    earlier = a if alloc.loc[a, "lottery_position"] < alloc.loc[b, "lottery_position"] else b
    assert first.request_id == alloc.loc[earlier, "request_id"] and first.field == "slot"
    assert (first.published is None) == (earlier == a)
    assert "2 request(s) differ" in bad.detail

    moved = pub.allocation.copy()
    moved.loc[moved.index[3], "lottery_position"] = 999
    report = audit_draw(dataclasses.replace(pub, allocation=moved))
    assert report.first_difference.field == "lottery position"
    short = pub.allocation.iloc[1:]
    report = audit_draw(dataclasses.replace(pub, allocation=short))
    assert report.first_difference.field == "allocation row"


def test_invalid_published_inputs_fail_the_audit(reg: Registry) -> None:
    record(reg, make_batch("w1", 10))
    pub = reg.published_draw("w1")
    broken = pub.request_slots.assign(slot_id="S-unknown")
    report = audit_draw(dataclasses.replace(pub, request_slots=broken, registered=None))
    assert not check(report, "recompute").ok and "invalid" in check(report, "recompute").detail


# ---------------------------------------------------------------- registration time
DAYS, PER_DAY, PLACES = 30, 200, 300


def _dv_population() -> tuple[np.ndarray, np.ndarray]:
    at = T0 + np.repeat(np.arange(DAYS), PER_DAY) * DAY + 3_600
    ids = np.array([f"DV-{i:05d}" for i in range(DAYS * PER_DAY)], dtype=object)
    return ids, at


def test_the_dv2012_failure_mode_is_caught() -> None:
    """Over 90% of winners from the first 2 of 30 registration days (the voided 2012 draw)."""
    ids, at = _dv_population()
    rng = np.random.default_rng(2012)
    early = np.flatnonzero(at < T0 + 2 * DAY)
    late = np.flatnonzero(at >= T0 + 2 * DAY)
    winners = np.concatenate(
        [rng.choice(early, 275, replace=False), rng.choice(late, 25, replace=False)]
    )
    won = np.zeros(len(ids), dtype=bool)
    won[winners] = True
    rigged = registration_time_test(at, won)
    assert rigged.method == "chi-square" and rigged.dof == DAYS - 1
    assert rigged.p_value < 1e-100

    # An honest uniform draw of the same population (fixed seed: the same p on every run).
    req = pd.DataFrame(
        {"request_id": ids, "priority_tier": 1, "carry_over": 0, "registered_at": at}
    )
    acc = pd.DataFrame({"request_id": ids, "slot_id": "S"})
    r, s = requests_from_frames(req, acc, pd.DataFrame({"slot_id": ["S"], "capacity": [PLACES]}))
    honest = draw("uniform", r, s, seed=2012, context="batch-dv")
    fair = registration_time_test(at, honest.slot_of_request >= 0)
    assert fair.method == "chi-square" and fair.p_value > 0.01


def test_the_audit_fails_a_rigged_draw_on_registration_time(reg: Registry) -> None:
    b = make_batch("w1", 400, slots=1, capacity=40, days=20, seed=3)
    record(reg, b)
    pub = reg.published_draw("w1")
    alloc = pub.allocation.copy()
    first = set(b.requests.request_id.iloc[:40])  # the 40 earliest registrations
    alloc["slot_id"] = ["S0" if r in first else None for r in alloc.request_id]
    report = audit_draw(dataclasses.replace(pub, allocation=alloc))
    t = check(report, "registration time")
    assert not t.ok and "winning depends on the registration day" in t.detail
    assert check(audit_draw(pub), "registration time").ok


def test_strata_of_tier_and_tickets_prevent_a_false_alarm() -> None:
    """Weighted lottery: requests carried over (more tickets) registered early. Winning then
    depends on registration day through the tickets only; the stratified test knows that."""
    n = 2_000
    at = T0 + np.sort(np.random.default_rng(1).integers(0, 10 * DAY, n))
    carry = np.where(np.arange(n) < n // 2, 6, 0)
    ids = np.array([f"R{i:05d}" for i in range(n)], dtype=object)
    req = pd.DataFrame(
        {"request_id": ids, "priority_tier": 1, "carry_over": carry, "registered_at": at}
    )
    acc = pd.DataFrame({"request_id": ids, "slot_id": "S"})
    r, s = requests_from_frames(req, acc, pd.DataFrame({"slot_id": ["S"], "capacity": [300]}))
    res = draw("weighted", r, s, seed=7, context="batch-x", rule="linear")
    won = res.slot_of_request >= 0
    pooled = registration_time_test(at, won)
    assert pooled.p_value < 1e-6  # a naive test would cry foul...
    strata = registration_time_test(at, won, res.tickets)
    assert strata.p_value > 0.01  # ...the test within equal-ticket groups does not


def test_days_are_merged_until_every_expected_count_is_five() -> None:
    n = np.array([2, 2, 2, 10, 1, 30, 3])
    w = np.array([1, 1, 1, 5, 0, 15, 2])
    groups = _merge_days(n, w)
    p = w.sum() / n.sum()
    assert groups[0][0] == 0 and groups[-1][1] == len(n)
    assert all(a[1] == b[0] for a, b in zip(groups, groups[1:], strict=False))
    for a, b in groups:
        assert n[a:b].sum() * p >= MIN_EXPECTED and n[a:b].sum() * (1 - p) >= MIN_EXPECTED
    assert groups == [(0, 4), (4, 7)]


def test_pearson_and_chi_square_agree_with_scipy() -> None:
    n = np.array([40, 55, 61, 38])
    w = np.array([10, 12, 20, 5])
    table = np.vstack([w, n - w])
    want = stats.chi2_contingency(table, correction=False)
    assert _pearson(n, w) == pytest.approx(want.statistic, rel=1e-12)
    at = np.repeat(T0 + np.arange(4) * DAY, n)
    won = np.concatenate([np.arange(k) < x for k, x in zip(n, w, strict=True)])
    t = registration_time_test(at, won)
    assert t.method == "chi-square" and t.dof == 3
    assert t.p_value == pytest.approx(want.pvalue, rel=1e-9)
    assert t.days["requests"].tolist() == n.tolist()
    assert t.days["day"].tolist() == ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"]


def test_small_counts_use_an_exact_test() -> None:
    # Two days, few requests: Fisher's exact test on the 2 x 2 table.
    at = np.array([T0] * 6 + [T0 + DAY] * 6)
    won = np.array([1, 1, 1, 0, 0, 0] + [0] * 6, dtype=bool)
    t = registration_time_test(at, won)
    assert t.method == "fisher-exact"
    assert t.p_value == pytest.approx(stats.fisher_exact([[3, 3], [0, 6]]).pvalue)
    # Several days, few requests: the seeded permutation test; the same p every time.
    at = np.repeat(T0 + np.arange(4) * DAY, 3)
    won = np.array([1, 1, 1] + [0] * 9, dtype=bool)  # all of day one won
    a = registration_time_test(at, won)
    assert a.method == "permutation" and a.p_value == registration_time_test(at, won).p_value
    # Exact: the winners are one of C(12, 3) = 220 equally likely sets, and only the 4 sets
    # filling one whole day are as extreme, so p = 4/220; the 9,999 shuffles estimate it.
    assert a.p_value == pytest.approx(4 / 220, abs=0.006)
    spread = np.zeros(12, dtype=bool)
    spread[[0, 3, 6, 9]] = True  # one winner a day
    assert registration_time_test(at, spread).p_value > 0.5


def test_nothing_to_test_is_said() -> None:
    at = np.full(20, T0)
    assert registration_time_test(at, np.arange(20) < 5).method == "not testable"
    at = T0 + np.arange(20) * DAY
    assert registration_time_test(at, np.zeros(20, dtype=bool)).method == "not testable"


def test_merging_also_waits_for_five_expected_losers() -> None:
    # 90% win: five expected winners come quickly, five expected losers take 50 requests.
    n = np.array([20, 20, 20, 20, 20, 50])
    w = np.array([18, 18, 18, 18, 18, 45])
    assert _merge_days(n, w) == [(0, 3), (3, 6)]


def test_the_audit_compares_days_within_equal_tier_and_tickets(reg: Registry) -> None:
    """Through the registry: a weighted draw whose carried-over requests (more tickets)
    registered first audits clean, because days are compared within equal-ticket groups."""
    b = make_batch("w1", 2_000, slots=1, capacity=300, days=10, seed=4)
    b.requests["carry_over"] = np.where(np.arange(2_000) < 1_000, 6, 0)  # the earlier half
    record(reg, b, mechanism="weighted", rule="linear")
    report = audit_draw(reg.published_draw("w1"))
    assert report.ok, report.text()
    pub = reg.published_draw("w1")
    won = pub.allocation.set_index("request_id")["slot_id"].notna()
    req = pub.requests.set_index("request_id")
    pooled = registration_time_test(
        req["registered_at"].to_numpy(), won.reindex(req.index).to_numpy()
    )
    assert pooled.p_value < 1e-3  # what a test blind to the tickets would have concluded


def _tampered(reg: Registry, seed: int):  # noqa: ANN202
    """A published draw of 60 requests with changes to its request list and its allocation."""
    b = make_batch("w1", 60, ranked=True, seed=seed)
    record(reg, b)
    pub = reg.published_draw("w1")
    rng = np.random.default_rng(seed)
    req = pub.requests.copy()
    gone = str(req.request_id.iloc[int(rng.integers(60))])
    req = req[req.request_id != gone]
    req.loc[req.index[int(rng.integers(50))], "priority_tier"] = 0
    req.loc[req.index[int(rng.integers(50))], "registered_at"] += 1
    extra = {"request_id": "w1-FAKE", "priority_tier": 1, "carry_over": 0, "registered_at": T0}
    req = pd.concat([req, pd.DataFrame([extra])], ignore_index=True)
    acc = pub.request_slots.copy()
    acc = acc[acc.request_id != gone].drop(index=acc.index[int(rng.integers(40))])
    acc.loc[acc.index[int(rng.integers(40))], "rank"] = 9  # same slot, another rank
    new = {"request_id": ["w1-FAKE", str(req.request_id.iloc[3])], "slot_id": ["S0", "S9"]}
    acc = pd.concat([acc, pd.DataFrame(new)], ignore_index=True)
    acc["rank"] = pd.array(acc["rank"], dtype="Int64")
    alloc = pub.allocation.copy()
    moved, changed, dropped = (alloc.index[int(k)] for k in rng.choice(60, 3, replace=False))
    alloc.loc[moved, "lottery_position"] += 100
    alloc.loc[changed, "slot_id"] = "S2" if alloc.loc[changed, "slot_id"] == "S1" else "S1"
    alloc = alloc.drop(index=dropped)
    extra_row = {"request_id": "w1-NOBODY", "slot_id": None, "lottery_position": 5}
    alloc = pd.concat([alloc, pd.DataFrame([extra_row])], ignore_index=True)
    return dataclasses.replace(pub, requests=req, request_slots=acc, allocation=alloc)


@pytest.mark.parametrize("seed", range(4))
def test_the_array_comparisons_report_what_the_label_comparisons_report(
    reg: Registry, seed: int
) -> None:
    from slotopt.engines.batch import requests_from_frames as frames
    from slotopt.verify.audit import (
        MAX_DIFFERENCES,
        _allocation_differences,
        _allocation_differences_by_array,
        _list_differences,
        _list_differences_by_label,
    )

    pub = _tampered(reg, seed)
    by_label = _list_differences_by_label(pub, pub.registered)
    by_array = _list_differences(pub)  # unique ids: the array route
    assert len(by_label) >= 6
    # Same differences; the label route leaves ties of one (request, slot) in set order.
    assert sorted(map(str, by_array)) == sorted(map(str, by_label))
    assert [d.request_id for d in by_array] == [d.request_id for d in by_label]

    ok = dataclasses.replace(pub, requests=reg.published_draw("w1").requests)
    ok = dataclasses.replace(ok, request_slots=reg.published_draw("w1").request_slots)
    requests, slots = frames(ok.requests, ok.request_slots, ok.slots)
    result = draw("uniform", requests, slots, seed=pub.seed, context=pub.context)
    recomputed = result.allocation(requests, slots)
    recomputed["request_id"] = recomputed["request_id"].astype(str)
    alloc = pub.allocation.copy()
    alloc["request_id"] = alloc["request_id"].astype(str)
    with_none = np.concatenate([slots.slot_id, np.array([None], dtype=object)])
    got = _allocation_differences_by_array(
        alloc,
        alloc["request_id"].tolist(),
        requests.request_id.tolist(),
        with_none[result.slot_of_request],
        result.lottery_position,
        MAX_DIFFERENCES,
    )
    want = _allocation_differences(alloc, recomputed, MAX_DIFFERENCES)
    assert want[1] >= 4 and got == want


def test_two_published_rows_that_trade_request_ids_are_caught(reg: Registry) -> None:
    # Positions and the slot at each position stay as drawn: only the ids at two positions
    # change (each request now holds the other's slot).
    record(reg, make_batch("w1", 40))
    pub = reg.published_draw("w1")
    alloc = pub.allocation.copy()
    won = alloc.index[alloc.slot_id.notna()]
    a, b = won[0], won[1]
    alloc.loc[[a, b], "request_id"] = alloc.loc[[b, a], "request_id"].to_numpy()
    report = audit_draw(dataclasses.replace(pub, allocation=alloc))
    assert not check(report, "recompute").ok and report.n_differences == 2
    assert report.first_difference.field == "slot"
