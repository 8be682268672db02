"""Rolling batches, one rule per test, each on a hand-derived case."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import slotopt
from slotopt.batch import MemoryRecorder, run
from slotopt.batch.checks import check_draws
from slotopt.engines.commitment import commitment, replay_secret
from slotopt.instance.batch import batch_from_frames

WEEKS = ["W1", "W2", "W3"]


def make(requests, *, slots=None, events=(), **policy):
    """requests: (request_id, registered_at, document_number[, tier]); one period per 100 s."""
    periods = pd.DataFrame(
        {"period_id": WEEKS, "opens_at": [0, 100, 200], "closes_at": [100, 200, 300]}
    )
    if slots is None:
        slots = [("s1", "W1", 1)]
    sl = pd.DataFrame(
        [(s, p, c, "desk", "any") for s, p, c in slots],
        columns=["slot_id", "period_id", "capacity", "site", "slot_type"],
    )
    rq = pd.DataFrame(
        [(r[0], r[1], r[2], "1980-01-01", r[3] if len(r) > 3 else 1) for r in requests],
        columns=[
            "request_id",
            "registered_at",
            "document_number",
            "date_of_birth",
            "priority_tier",
        ],
    )
    rs = pd.DataFrame({"request_id": rq["request_id"], "site": "desk", "slot_type": "any"})
    ev = pd.DataFrame(list(events), columns=["request_id", "event", "after"])
    spec = {"kind": "batch", "name": "case", "seed": 4} | policy
    return batch_from_frames(spec, periods, sl, rq, rs, ev)


def outcome(result, period, request):
    d = result.draws
    row = d[(d["period_id"] == period) & (d["request_id"] == request)]
    return None if row.empty else row["outcome"].iloc[0]


def test_carry_over_sends_the_loser_to_the_next_batch_with_count_one():
    inst = make(
        [("a", 10, "A"), ("b", 20, "B")], slots=[("s1", "W1", 1), ("s2", "W2", 1)], carry_over=True
    )
    res = run(inst)
    w1 = res.draws[res.draws["period_id"] == "W1"]
    loser = w1.loc[w1["outcome"] == "not_allocated", "request_id"].item()
    w2 = res.draws[res.draws["period_id"] == "W2"]
    assert w2["request_id"].tolist() == [loser]
    assert w2["carry_over"].tolist() == [1] and w2["outcome"].tolist() == ["served"]
    assert res.periods["requests_carried_in"].tolist() == [0, 1, 0]
    # without carry-over the loser is gone and W2's slot stays unallocated (then expires)
    res2 = run(make([("a", 10, "A"), ("b", 20, "B")], slots=[("s1", "W1", 1), ("s2", "W2", 1)]))
    assert res2.periods["in_draw"].tolist() == [2, 0, 0]
    assert res2.periods["expired"].tolist() == [0, 0, 1]


def test_applicant_cancellation_goes_to_the_next_batch_not_the_waitlist():
    # both register in W1 for one slot; whoever wins cancels; the slot is
    # not handed to the loser in W1 (it would be "straight back online") but joins W2's batch.
    inst = make(
        [("a", 10, "A"), ("b", 20, "B")],
        events=[("a", "cancel", 60), ("b", "cancel", 60)],
        carry_over=True,
    )
    res = run(inst)
    p = res.periods.set_index("period_id")
    assert p.loc["W1", "allocated"] == 1 and p.loc["W1", "cancelled_by_applicant"] == 1
    assert p.loc["W2", "appointments_carried_in"] == 1 and p.loc["W2", "appointments"] == 1
    w2 = res.draws[res.draws["period_id"] == "W2"]
    assert len(w2) == 1 and w2["via"].item() == "draw" and w2["slot_id"].item() == "s1"


def test_unconfirmed_offer_goes_to_next_batch_by_default_and_to_the_waitlist_if_asked():
    # one slot, two requests; only b confirms in time (5 s <= 30 s window); a confirms late.
    ev = [("a", "confirm", 31), ("b", "confirm", 5)]
    base = dict(events=ev, confirmation_window=30)
    # tiers make a drawn first whatever the lottery: a tier 1, b tier 2
    req = [("a", 10, "A", 1), ("b", 20, "B", 2)]
    nxt = run(make(req, **base))
    w1 = nxt.draws[nxt.draws["period_id"] == "W1"].set_index("request_id")
    assert w1.loc["a", "outcome"] == "unconfirmed" and w1.loc["b", "outcome"] == "not_allocated"
    assert nxt.periods.set_index("period_id").loc["W2", "appointments_carried_in"] == 1
    wl = run(make(req, unconfirmed="waitlist", **base))
    w1 = wl.draws[wl.draws["period_id"] == "W1"].set_index("request_id")
    assert w1.loc["a", "outcome"] == "unconfirmed"
    assert w1.loc["b", "outcome"] == "served" and w1.loc["b", "via"] == "waitlist"
    assert wl.periods["appointments_carried_in"].tolist() == [0, 0, 0]
    ev_kinds = wl.events[["request_id", "event"]].values.tolist()
    assert ev_kinds == [["a", "unconfirmed"], ["b", "confirmed"]]


def test_no_show_bars_the_identity_for_k_periods():
    # a wins W1 alone and does not show; its later requests (new ids, same person with another
    # spelling) are barred in W2 and W3 for k = 2, and allowed again with k = 1.
    req = [("a", 10, "Doc 1"), ("a2", 110, "DOC  1"), ("a3", 210, "doc 1")]
    slots = [("s1", "W1", 1), ("s2", "W2", 1), ("s3", "W3", 1)]
    res = run(make(req, slots=slots, events=[("a", "no_show", None)], no_show_bar=2))
    assert outcome(res, "W1", "a") == "no_show"
    assert res.excluded[["period_id", "request_id", "reason"]].values.tolist() == [
        ["W2", "a2", "barred_no_show"],
        ["W3", "a3", "barred_no_show"],
    ]
    res1 = run(make(req, slots=slots, events=[("a", "no_show", None)], no_show_bar=1))
    assert res1.excluded["request_id"].tolist() == ["a2"]
    assert outcome(res1, "W3", "a3") == "served"
    # a no-show's slot is spent, never re-released (W3 only receives W2's unused slot s2)
    assert res.periods["appointments_carried_in"].tolist() == [0, 0, 1]
    assert res.periods["appointments"].tolist() == [1, 1, 2]


def test_provider_cancellation_gives_first_place_in_the_next_batch():
    # W1: a alone wins, the provider cancels. W2: a re-enters at tier 0 with three newcomers for
    # one slot, so a wins whatever the lottery; the slot itself is not re-released.
    req = [("a", 10, "A"), ("b", 110, "B"), ("c", 120, "C"), ("d", 130, "D")]
    slots = [("s1", "W1", 1), ("s2", "W2", 1)]
    ev = [("a", "provider_cancel", 3600)]
    for seed in range(6):
        res = run(make(req, slots=slots, events=ev), seed=seed)
        w2 = res.draws[res.draws["period_id"] == "W2"].set_index("request_id")
        assert w2.loc["a", "priority_tier"] == 0 and w2.loc["a", "outcome"] == "served"
        assert w2.loc["a", "lottery_position"] == 1
        assert res.periods["appointments_carried_in"].tolist()[1] == 0
    res = run(make(req, slots=slots, events=ev, provider_cancel_priority=False), seed=0)
    w2 = res.draws[res.draws["period_id"] == "W2"].set_index("request_id")
    assert w2.loc["a", "priority_tier"] == 1  # re-enters, without priority


def test_window_duplicates_holders_and_late_requests_are_reported():
    req = [("a", 10, "X"), ("a-dup", 50, "x"), ("late", 999, "Y"), ("again", 150, "X")]
    res = run(make(req, slots=[("s1", "W1", 1), ("s2", "W2", 1)]))
    assert res.merges[["period_id", "kept_request_id", "dropped_request_id"]].values.tolist() == [
        ["W1", "a", "a-dup"]
    ]
    excl = res.excluded[["request_id", "reason"]].values.tolist()
    assert ["late", "outside_window"] in excl and ["again", "has_appointment"] in excl


def test_waiting_time_counts_periods_from_first_draw():
    inst = make(
        [("a", 10, "A"), ("b", 20, "B")], slots=[("s1", "W1", 1), ("s2", "W3", 1)], carry_over=True
    )
    res = run(inst)
    waited = sorted(res.waiting["periods_waited"].tolist())
    assert waited == [0, 2]


def test_recorder_sees_commitment_before_draw_and_resumes():
    inst = make(
        [("a", 10, "A"), ("b", 20, "B")], slots=[("s1", "W1", 1), ("s2", "W2", 1)], carry_over=True
    )
    rec = MemoryRecorder()
    res = run(inst, seed=9, recorder=rec)
    assert rec.calls[:4] == [
        ("register", "W1"),
        ("commit", "W1"),
        ("record_draw", "W1"),
        ("record_events", "W1"),
    ]
    assert rec.commitments["W1"] == (commitment(replay_secret(9, "W1")), None)
    assert rec.draws["W2"]["context"] == "batch-W2"
    reg, acc = rec.registered["W1"]
    assert list(reg.columns) == [
        "request_id",
        "identity_key_hash",
        "registered_at",
        "priority_tier",
        "carry_over",
    ]
    assert list(acc.columns) == ["request_id", "slot_id", "rank"]
    # a re-run against a recorder that finished W1 records only W2 and W3 and gives the same result
    rec2 = MemoryRecorder(done={"W1"})
    again = run(inst, seed=9, recorder=rec2)
    assert ("register", "W1") not in rec2.calls and ("register", "W2") in rec2.calls
    pd.testing.assert_frame_equal(res.draws, again.draws)


def test_same_seed_same_result_different_seed_is_recorded():
    inst = make([(f"r{k}", k, f"D{k}") for k in range(9)], slots=[("s1", "W1", 3)])
    a, b = run(inst, seed=1), run(inst, seed=1)
    pd.testing.assert_frame_equal(a.draws, b.draws)
    assert run(inst).seed == 4  # the instance's seed


def test_check_draws_is_clean_and_catches_each_broken_clause():
    inst = make([(f"r{k}", k, f"D{k}") for k in range(6)], slots=[("s1", "W1", 2)])
    res = run(inst, seed=3)
    assert check_draws(res) == []
    req, slots, d = res.batch_draws["W1"]
    import dataclasses

    def with_draw(**changes):
        bad = dataclasses.replace(d, **changes)
        return dataclasses.replace(res, batch_draws={"W1": (req, slots, bad)})

    s = d.slot_of_request.copy()
    one_over = s.copy()
    one_over[int(np.flatnonzero(s < 0)[0])] = 0  # capacity 2, now 3 requests hold it
    assert any("capacity 2" in m for m in check_draws(with_draw(slot_of_request=one_over)))
    wl = d.waitlist[::-1].copy()
    assert any("waitlist" in m for m in check_draws(with_draw(waitlist=wl)))
    swapped = s.copy()
    i, j = int(np.flatnonzero(s >= 0)[0]), int(np.flatnonzero(s < 0)[0])
    swapped[i], swapped[j] = -1, 0
    msgs = check_draws(with_draw(slot_of_request=swapped))
    assert any("recomputing the draw differs" in m for m in msgs)
    forged = dataclasses.replace(res, commitments=res.commitments.assign(commitment="0" * 64))
    assert any("commitment" in m for m in check_draws(forged))


def test_check_draws_catches_an_unacceptable_slot():
    periods = pd.DataFrame({"period_id": ["W1"], "opens_at": [0], "closes_at": [10]})
    sl = pd.DataFrame(
        {
            "slot_id": ["x", "y"],
            "period_id": "W1",
            "capacity": 1,
            "site": ["A", "B"],
            "slot_type": "t",
        }
    )
    rq = pd.DataFrame(
        {
            "request_id": ["a"],
            "registered_at": [1],
            "document_number": ["1"],
            "date_of_birth": ["1990-01-01"],
        }
    )
    rs = pd.DataFrame({"request_id": ["a"], "site": ["A"], "slot_type": ["t"]})
    res = run(batch_from_frames({"kind": "batch", "name": "u"}, periods, sl, rq, rs), seed=0)
    import dataclasses

    req, slots, d = res.batch_draws["W1"]
    other = 1 - int(d.slot_of_request[0])
    bad = dataclasses.replace(d, slot_of_request=np.array([other]))
    res2 = dataclasses.replace(res, batch_draws={"W1": (req, slots, bad)})
    assert any("does not accept" in m for m in check_draws(res2))


def test_solve_dispatches_kind_batch(tmp_path):
    inst = make([("a", 10, "A"), ("b", 20, "B")])
    res = slotopt.solve(inst, verify=True, seed=2)
    assert res.seed == 2 and res.mechanism == "uniform"
    assert slotopt.solve(inst, method="fcfs", seed=2).mechanism == "fcfs"
    with pytest.raises(slotopt.UsageError, match="no option"):
        slotopt.solve(inst, time_limit=3)
    out = res.to_folder(tmp_path / "out")
    assert {p.name for p in out.iterdir()} >= {
        "summary.json",
        "periods.csv",
        "draws.csv",
        "merges.csv",
        "supply_demand.png",
    }
    assert "BatchRunResult('case'" in repr(res)
