"""Box 1's propositions (IPP brief, Box 1; Hakimov et al. 2021) and our batch derivation
(docs/market.md), checked against brute force on grids of small markets and hand-worked cases."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from slotopt.engines.market import (
    Regime,
    batch_equilibrium,
    best_price,
    equilibrium,
    fcfs_equilibrium,
    revenue_at,
)
from slotopt.errors import UsageError

values_st = st.lists(st.integers(1, 20), min_size=1, max_size=8).map(
    lambda xs: [float(x) for x in xs]
)


def brute_force_best_revenue(values: list[float], capacity: float) -> float:
    """max of p * min(capacity, #{v >= p}) over a fine grid of prices (every value, every
    midpoint, points just below and above each value, and above the largest)."""
    v = np.asarray(values)
    points = set(v.tolist())
    for a, b in itertools.combinations(sorted(points), 2):
        points.add((a + b) / 2)
    for x in list(points):
        points.update({x - 1e-6, x + 1e-6})
    points.update({0.5, v.max() + 1})
    return max(p * min(capacity, np.count_nonzero(v >= p)) for p in points if p > 0)


def test_fcfs_hand_case() -> None:
    # values 10, 8, 3 and two slots: R(10) = 10, R(8) = 2 * 8 = 16, R(3) = 2 * 3 = 6
    out = fcfs_equilibrium([10, 8, 3], 2, entry_cost=15)
    assert (out.scalper_enters, out.price, out.scalper_revenue) == (True, 8.0, 16.0)
    assert out.scalper_slots == 2 and out.applicants_served == 2 and out.slots_wasted == 0
    assert out.applicant_surplus == pytest.approx(10 - 8)  # the v = 8 buyer has surplus 0
    assert not fcfs_equilibrium([10, 8, 3], 2, entry_cost=16.5).scalper_enters


@given(values=values_st, m=st.integers(1, 10), c=st.integers(0, 60))
def test_fcfs_entering_scalper_books_all_and_charges_a_revenue_maximal_price(
    values: list[float], m: int, c: int
) -> None:
    out = fcfs_equilibrium(values, m, float(c))
    best = brute_force_best_revenue(values, m)
    assert out.scalper_enters == (best >= c and best > 0)
    if out.scalper_enters:
        assert out.scalper_slots == m
        assert out.price is not None
        assert revenue_at(values, m, out.price) == pytest.approx(best)
        assert out.scalper_revenue == pytest.approx(best)
        assert out.scalper_profit == pytest.approx(best - c)
        buyers = sum(v >= out.price for v in values)
        assert out.applicants_served == min(m, buyers)
        assert out.slots_wasted == m - min(m, buyers)
        # rationing only ever hits applicants with v = p* (surplus 0): surplus is exact
        assert out.applicant_surplus == pytest.approx(
            sum(v - out.price for v in values if v > out.price)
        )
    else:
        assert out.price is None and out.scalper_slots == 0


@given(values=values_st, m=st.integers(1, 10))
def test_best_price_is_the_lowest_revenue_maximiser(values: list[float], m: int) -> None:
    price, revenue = best_price(values, m)
    assert revenue == pytest.approx(brute_force_best_revenue(values, m))
    assert all(revenue_at(values, m, p) < revenue for p in set(values) if p < price)


@given(values=values_st, m=st.integers(1, 10), c=st.floats(1e-6, 1e4))
def test_batch_with_perfect_checks_has_no_profitable_entry_for_any_positive_cost(
    values: list[float], m: int, c: float
) -> None:
    out = batch_equilibrium(values, m, c)
    assert not out.scalper_enters and out.regime is Regime.NO_ENTRY
    assert out.scalper_profit == 0 and out.scalper_slots == 0


@pytest.mark.parametrize("n,m", [(3, 2), (10, 4), (5, 5), (4, 9)])
def test_exact_lottery_fakes_only_lower_clients_chances_and_clients_prefer_applying(
    n: int, m: int
) -> None:
    """The stripped-down batch model by enumeration: T requests for m identical slots, a uniform
    lottery; a request wins with probability min(1, m/T) (counted over all winning sets). With
    perfect checks a fake's slot is worthless, so a client's chance falls with every fake once
    requests outnumber slots; at equal chances, paying p > 0 on success loses to applying."""
    chances = []
    for fakes in range(0, 4):
        total = n + fakes
        winners = list(itertools.combinations(range(total), min(m, total)))
        # request 0 is one of the scalper's clients (or an applicant applying herself: the
        # lottery cannot tell them apart)
        chances.append(sum(0 in w for w in winners) / len(winners))
    assert chances[0] == pytest.approx(min(1.0, m / n))
    for fewer, more, fakes in zip(chances, chances[1:], range(1, 4), strict=False):
        assert more < fewer if n + fakes > m else more == fewer == 1.0
    # the model's own-request revenue with kappa = phi = 0 is exactly 0 for every client count
    out = batch_equilibrium(np.arange(1.0, n + 1), m, entry_cost=1e-9)
    assert out.scalper_revenue == 0 and not out.scalper_enters


def test_batch_direct_cost_hand_case() -> None:
    # n = 3, m = 2, kappa = 2, phi = 0: q = 2/3; everyone pays up to kappa / q = 3 per success;
    # revenue = 3 clients * q * 3 = kappa * n = 6
    out = batch_equilibrium([10, 8, 3], 2, entry_cost=6, direct_cost=2)
    assert out.scalper_enters and out.regime is Regime.OWN_REQUESTS
    assert out.price == pytest.approx(3.0) and out.scalper_revenue == pytest.approx(6.0)
    assert not batch_equilibrium([10, 8, 3], 2, entry_cost=6.01, direct_cost=2).scalper_enters


def test_batch_direct_failure_hand_case() -> None:
    # n = 2, m = 1, phi = 1/2, values 10 and 2. Top-1 as client: T = 1 + 1/2, q = 2/3,
    # price phi * 10 = 5, revenue 1 * q * 5 = 10/3. Both as clients: T = 2, q = 1/2, price
    # phi * 2 = 1, revenue 2 * 1/2 * 1 = 1.
    out = batch_equilibrium([10, 2], 1, entry_cost=3, direct_failure=0.5)
    assert out.scalper_enters and out.clients == 1
    assert out.price == pytest.approx(5.0) and out.scalper_revenue == pytest.approx(10 / 3)


@pytest.mark.parametrize(
    "fake_pass,revenue,price",
    [
        # pi = 1: flooding gives him both slots -> FCFS with capacity 2: 16 at 8 (k = 3 would need
        # 2 > 3 * 2/3, false: flooding does not beat own requests there)
        (1.0, 16.0, 8.0),
        # pi = 1/2: capacity 1; k = 1: 1 > 2/3 yes -> 10; k = 2: 1 > 4/3 no
        (0.5, 10.0, 10.0),
    ],
)
def test_batch_flooding_hand_cases(fake_pass: float, revenue: float, price: float) -> None:
    out = batch_equilibrium([10, 8, 3], 2, entry_cost=1, fake_pass=fake_pass)
    assert out.regime is Regime.FLOOD and out.scalper_slots == 2
    assert (out.scalper_revenue, out.price) == (revenue, price)


def test_weaker_checks_never_lower_the_scalpers_revenue() -> None:
    v = np.linspace(10, 100, 100)
    revenues = [
        batch_equilibrium(v, 50, 1.0, fake_pass=pi).scalper_revenue for pi in np.linspace(0, 1, 21)
    ]
    assert revenues[0] == 0
    assert all(b >= a - 1e-9 for a, b in zip(revenues, revenues[1:], strict=False))
    # with pi = 1 the batch system is as open as FCFS
    assert revenues[-1] == pytest.approx(fcfs_equilibrium(v, 50, 1.0).scalper_revenue)


def test_low_demand_flooding_does_not_pay() -> None:
    # m >= n: own requests always win (q = 1), so fakes cannot serve more clients
    out = batch_equilibrium(np.linspace(10, 100, 40), 50, 1.0, fake_pass=1.0)
    assert not out.scalper_enters


def test_equilibrium_returns_both_systems() -> None:
    eq = equilibrium([10, 8, 3], 2, 1)
    assert eq.fcfs.system == "fcfs" and eq.batch.system == "batch"
    assert eq.batch.applicant_surplus > eq.fcfs.applicant_surplus


@pytest.mark.parametrize(
    "kwargs,word",
    [
        ({"values": []}, "values"),
        ({"values": [1, -2]}, "values"),
        ({"slots": 0}, "slots"),
        ({"entry_cost": -1}, "entry_cost"),
        ({"direct_failure": 1.0}, "direct_failure"),
        ({"fake_pass": 1.5}, "fake_pass"),
    ],
)
def test_bad_arguments_are_usage_errors_naming_the_argument(kwargs: dict, word: str) -> None:
    args = {"values": [3.0, 2.0], "slots": 1, "entry_cost": 1.0} | kwargs
    with pytest.raises(UsageError, match=word):
        equilibrium(args.pop("values"), args.pop("slots"), args.pop("entry_cost"), **args)


def test_own_request_candidate_is_dropped_when_the_scalper_would_rather_flood() -> None:
    # values 3, 3, 1; m = 1; phi = 3/4, kappa = 1, pi = 1.
    # k = 2 (u = 3): T = 2 + 1/4, q = 4/9; own revenue would be 2 (1 + 3/4 * 4/9 * 3) = 4, but
    #   flooding serves min(1, 2) = 1 > 2 q = 8/9 clients, so he would flood: not an equilibrium.
    # k = 3 (u = 1): q = 1/3; flooding serves 1 = 3 q, not more: valid, revenue
    #   3 (1 + 3/4 * 1/3 * 1) = 15/4 at price 3/4 + 3 = 15/4.
    # flood at u = 3 (k = 2): revenue 3 * min(1, 2) = 3.
    out = batch_equilibrium([3, 3, 1], 1, 0.01, direct_failure=0.75, direct_cost=1, fake_pass=1)
    assert out.regime is Regime.OWN_REQUESTS and out.clients == 3
    assert out.scalper_revenue == pytest.approx(3.75) and out.price == pytest.approx(3.75)


def test_a_tie_between_own_requests_and_flooding_goes_to_own_requests() -> None:
    # values 10, 8, 3; m = 2; pi = 1: flooding earns 16 at 8 (see above); own requests with
    # phi = 0 earn kappa * n = 3 kappa: equal at kappa = 16/3
    out = batch_equilibrium([10, 8, 3], 2, 1, direct_cost=16 / 3, fake_pass=1)
    assert out.scalper_revenue == pytest.approx(16.0)
    assert out.regime is Regime.OWN_REQUESTS


@given(
    values=values_st,
    m=st.integers(1, 10),
    pi=st.sampled_from([0.25, 0.5, 0.75, 1.0]),
)
def test_flooding_outcome_serves_what_passing_fakes_can_carry(
    values: list[float], m: int, pi: float
) -> None:
    out = batch_equilibrium(values, m, 1e-9, fake_pass=pi)
    if out.regime is Regime.FLOOD:
        assert out.applicants_served == pytest.approx(min(pi * m, out.clients))
        assert out.slots_wasted == pytest.approx(m - out.applicants_served)
        assert out.scalper_revenue == pytest.approx(out.price * out.applicants_served)
    elif not out.scalper_enters:
        n = len(values)
        assert out.applicants_served == min(m, n) and out.slots_wasted == m - min(m, n)
        assert out.applicant_surplus == pytest.approx(min(1.0, m / n) * sum(values))
