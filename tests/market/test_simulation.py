"""The agent-based simulation: a learning scalper converges to the equilibrium model, flooding
with fake identities lowers his clients' chances in batch, weaker identity checks bring scalping
back where the derivation says, and the batch side allocates through slotopt.engines.batch."""

from __future__ import annotations

import numpy as np
import pytest

import slotopt.engines.market.simulation as simulation
from slotopt.engines.batch import draw as batch_draw
from slotopt.engines.market.experiment import late_means, model_for
from slotopt.engines.market.simulation import (
    _batch_round,
    expected_served,
    posted_price,
    run_streams,
    simulate_run,
)
from slotopt.instance.market import market_from_dict
from tests.market.configs import small


def late_entry(spec: dict, system: str, seeds: int = 3) -> list[float]:
    inst = market_from_dict(spec)
    return [
        late_means(simulate_run(inst, system, inst.applicants, run_streams(inst.seed, 0, k)))[
            "scalper_enters"
        ]
        for k in range(seeds)
    ]


def test_learning_scalper_converges_to_the_fcfs_equilibrium_entry() -> None:
    spec = small()
    assert model_for(market_from_dict(spec), 60).fcfs.scalper_enters
    assert min(late_entry(spec, "fcfs")) >= 0.9


def test_learning_scalper_converges_to_no_entry_under_batch_with_perfect_checks() -> None:
    spec = small()
    assert not model_for(market_from_dict(spec), 60).batch.scalper_enters
    eps = 0.02  # the default exploration floor: he still tries about that often
    assert max(late_entry(spec, "batch")) <= eps + 0.06


def test_learning_scalper_stays_out_of_fcfs_when_revenue_cannot_cover_the_cost() -> None:
    spec = small(entry_cost=10_000, rounds=240)  # above m * max value = 3000: nothing covers it
    assert not model_for(market_from_dict(spec), 60).fcfs.scalper_enters
    assert max(late_entry(spec, "fcfs")) <= 0.08


def test_flooding_with_fake_identities_lowers_the_scalpers_clients_success() -> None:
    inst = market_from_dict(small(fake_pass=0.0))
    clients = np.zeros(60, dtype=bool)
    clients[:20] = True
    rates = {}
    for flooding in ("never", "always"):
        cfg = inst.with_(flooding=flooding, fakes_per_slot=3.0, cancel_rate=0.0)
        rng = np.random.Generator(np.random.PCG64(1))
        won = [
            np.count_nonzero(_batch_round(cfg, True, clients, 0, rng, 11, t).paid)
            for t in range(1, 61)
        ]
        rates[flooding] = np.mean(won) / 20
    # own requests only: 30 slots for 60 requests -> 1/2; with 90 fakes: 30 / 150 -> 1/5
    assert rates["never"] == pytest.approx(0.5, abs=0.08)
    assert rates["always"] == pytest.approx(0.2, abs=0.06)


@pytest.mark.parametrize("fake_pass", [0.0, 0.75])
def test_weakening_the_identity_check_brings_scalping_back_where_the_model_says(
    fake_pass: float,
) -> None:
    spec = small(fake_pass=fake_pass, applicants=80)
    eq = model_for(market_from_dict(spec), 80).batch
    entry = late_entry(spec, "batch")
    if fake_pass == 0.0:
        assert not eq.scalper_enters and max(entry) <= 0.1
    else:
        assert eq.scalper_enters and eq.regime.value == "flood" and min(entry) >= 0.8


def test_leaky_checks_do_not_bring_scalping_back_under_low_demand() -> None:
    spec = small(fake_pass=1.0, applicants=20)  # 30 slots for 20 applicants
    assert not model_for(market_from_dict(spec), 20).batch.scalper_enters
    assert max(late_entry(spec, "batch")) <= 0.1


def test_batch_rounds_allocate_through_the_batch_engines_uniform_draw(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = []

    def spy(mechanism, requests, slots, **kw):  # type: ignore[no-untyped-def]
        calls.append((mechanism, kw["context"], requests.n_requests, int(slots.capacity.sum())))
        return batch_draw(mechanism, requests, slots, **kw)

    monkeypatch.setattr(simulation, "draw", spy)
    inst = market_from_dict(small(rounds=5))
    out = simulate_run(inst, "batch", 60, run_streams(1, 1, 0))
    assert [c[1] for c in calls] == [f"round-{t}" for t in range(1, 6)]
    assert all(c[0] == "uniform" for c in calls)
    assert [c[3] for c in calls] == out["capacity"].astype(int).tolist()
    simulate_run(inst, "fcfs", 60, run_streams(1, 0, 0))
    assert len(calls) == 5  # FCFS never draws


def test_same_streams_same_run_and_other_seed_other_run() -> None:
    inst = market_from_dict(small(rounds=30))
    a = simulate_run(inst, "batch", 60, run_streams(3, 1, 0))
    b = simulate_run(inst, "batch", 60, run_streams(3, 1, 0))
    c = simulate_run(inst, "batch", 60, run_streams(4, 1, 0))
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert any(not np.array_equal(a[k], c[k], equal_nan=True) for k in a)


def test_posted_price_with_believing_applicants_is_the_fcfs_price() -> None:
    u = np.array([10.0, 8.0, 3.0])
    served = expected_served(market_from_dict(small()), "fcfs", np.arange(1, 4), 3, 2)
    # b_c = 1, b_d = 0: p_k = u_k, revenue 10 * 1, 8 * 2, 3 * 2
    assert posted_price(u, served, 1.0, 0.0) == 8.0


def test_posted_price_when_nobody_would_come() -> None:
    u = np.array([10.0, 8.0, 3.0])
    # equal beliefs and no direct cost: no positive price attracts anyone; he posts the price
    # that would be best were he believed
    assert posted_price(u, np.array([1.0, 2.0, 2.0]), 0.5, 0.5) == 8.0


def test_duplicate_requests_are_merged_by_the_batch_systems_deduplication() -> None:
    """One request per identity: the scalper's extra requests under his clients' names are
    merged away (and reported), so they do not raise his clients' chances; without the de-dup
    they would (four tickets each)."""
    inst = market_from_dict(small(cancel_rate=0.0))
    clients = np.zeros(60, dtype=bool)
    clients[:10] = True
    rates, dropped = {}, {}
    for label, extra, dedup in (("none", 0, True), ("merged", 3, True), ("kept", 3, False)):
        cfg = inst.with_(duplicates_per_client=extra, deduplicate=dedup)
        rng = np.random.Generator(np.random.PCG64(2))
        rounds = [_batch_round(cfg, True, clients, 0, rng, 5, t) for t in range(1, 81)]
        rates[label] = np.mean([np.count_nonzero(r.paid) for r in rounds]) / 10
        dropped[label] = {r.duplicates_dropped for r in rounds}
    assert dropped == {"none": {0}, "merged": {30}, "kept": {0}}
    # 30 slots for 60 identities: 1/2 each; with 30 duplicates kept a client holds 4 of 90
    # tickets: 1 - C(86, 30) / C(90, 30), about 0.81
    assert rates["merged"] == pytest.approx(0.5, abs=0.07)
    assert rates["none"] == pytest.approx(0.5, abs=0.07)
    assert rates["kept"] == pytest.approx(0.81, abs=0.07)


def test_run_streams_are_the_documented_spawned_seed_sequences() -> None:
    child = np.random.SeedSequence(42).spawn(3)[2].spawn(5)[4]
    behaviour, lottery = child.spawn(2)
    streams = run_streams(42, 2, 4)
    expected = np.random.Generator(np.random.PCG64(behaviour)).random(3)
    np.testing.assert_array_equal(streams.rng.random(3), expected)
    assert streams.lottery_seed == int(lottery.generate_state(1, np.uint64)[0] >> np.uint64(1))


def test_applicants_compare_the_scalper_with_their_own_failing_request() -> None:
    from slotopt.engines.market.simulation import chooses_scalper

    v = np.array([10.0, 20.0, 40.0])
    # b_c = 0.9, b_d = 0.6, phi = 0.5, kappa = 1, p = 10: scalper 0.9 (v - 10) against
    # 0.3 v - 1: v = 10 -> 0 vs 2 no; v = 20 -> 9 vs 5 yes; v = 40 -> 27 vs 11 yes (ignoring
    # the failure, 0.6 v - 1, would turn v = 20 away: 9 vs 11)
    assert chooses_scalper(v, 10.0, 0.9, 0.6, 0.5, 1.0).tolist() == [False, True, True]
    # without the failure (phi = 0): 0.5 v - 1 -> v = 20: 9 vs 9 ties go to him; v = 10: no
    assert chooses_scalper(v, 10.0, 0.9, 0.5, 0.0, 1.0).tolist() == [False, True, True]
    assert chooses_scalper(v, 10.0, 0.9, 0.6, 0.0, 0.0).tolist() == [False, False, True]


def test_entry_probabilities_follow_the_documented_learning_rule() -> None:
    inst = market_from_dict(small(rounds=60, entry_cost=1500))
    out = simulate_run(inst, "fcfs", 60, run_streams(0, 0, 0))
    learn = inst.learning
    avg = learn.initial_profit
    for t in range(60):
        eps = learn.exploration
        expected = eps + (1 - 2 * eps) / (1 + np.exp(-avg / learn.temperature))
        assert out["entry_probability"][t] == pytest.approx(expected)
        if out["entered"][t]:
            avg += learn.rate * (out["scalper_profit"][t] - avg)
        else:
            assert out["scalper_profit"][t] == 0
    assert out["entered"].any() and not out["entered"].all()
