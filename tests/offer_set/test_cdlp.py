"""CDLP: an upper bound on the DP value (checked against a brute-force DP written here), column
generation equal to full enumeration, hand-derived small cases."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slotopt.formulations.cdlp import solve_cdlp
from slotopt.instance.offer_set import offer_set_from_dict

pytestmark = pytest.mark.solver


def brute_force_dp(inst) -> float:
    """V_tau(kappa) by backward induction over every offer vector, Eq. 2b written out here."""
    caps = inst.capacities
    w = inst.weights
    a, b = inst.lower_bound, inst.upper_bound
    alpha = inst.alpha()  # alpha[t - 1] = alpha_t
    states = list(itertools.product(*(range(c + 1) for c in caps)))
    value = dict.fromkeys(states, 0.0)
    for t in range(1, inst.horizon + 1):
        new = {}
        for s in states:
            best = -math.inf
            for o in itertools.product(*(range(x + 1) for x in s)):
                sigma = sum(o)
                num = [o[n] * math.exp(w[n]) for n in range(len(s))]
                den = sum(num) + math.exp(inst.w0 + inst.beta * max((sigma - a) / (b - a), 0.0))
                step = value[s]
                for n in range(len(s)):
                    if o[n]:
                        down = tuple(x - (i == n) for i, x in enumerate(s))
                        step += (
                            alpha[t - 1] * num[n] / den * (inst.revenue + value[down] - value[s])
                        )
                best = max(best, step)
            new[s] = best
        value = new
    return value[tuple(caps)]


@st.composite
def instances(draw):
    n = draw(st.integers(1, 2))
    caps = draw(st.lists(st.integers(1, 3), min_size=n, max_size=n))
    horizon = draw(st.integers(1, 6))
    rate = draw(
        st.sampled_from([0.2, 0.5, 1.0])
        | st.lists(st.sampled_from([0.1, 0.4, 0.9]), min_size=horizon, max_size=horizon)
    )
    return offer_set_from_dict(
        {
            "slot_types": [
                {"name": f"t{i}", "capacity": c, "weight": draw(st.sampled_from([0.0, 1.0, 2.0]))}
                for i, c in enumerate(caps)
            ],
            "horizon": horizon,
            "arrival_rate": rate,
            "beta": draw(st.sampled_from([0.0, 0.5, 1.5, 3.0, 6.0])),
            "revenue": draw(st.sampled_from([1.0, 2.5])),
        }
    )


@settings(max_examples=25)
@given(instances())
def test_cdlp_bounds_the_dp_and_column_generation_matches_enumeration(inst):
    dp = brute_force_dp(inst)
    full = solve_cdlp(inst)
    assert full.value >= dp - 1e-9
    generated = solve_cdlp(inst, method="columns")
    assert generated.value == pytest.approx(full.value, rel=1e-7, abs=1e-9)
    for result in (full, generated):
        plan = result.plan
        assert plan["periods"].sum() <= inst.horizon + 1e-7
        for n, cap in enumerate(inst.capacities):
            assert plan[f"bookings_{n}"].sum() <= cap + 1e-7
        # the plan's revenue is the reported value
        booked = plan[[f"bookings_{n}" for n in range(inst.n_types)]].to_numpy().sum()
        assert inst.revenue * booked == pytest.approx(result.value, rel=1e-7, abs=1e-9)


def test_one_slot_one_period_by_hand():
    # kappa = 1, tau = 1, alpha = 1, w = 0, a = 1: showing the slot gives f(1) = 0 and
    # P = 1 / (1 + 1) = 1/2; the CDLP shows it the whole period: value 1/2 = the DP value.
    inst = offer_set_from_dict(
        {
            "slot_types": [{"name": "x", "capacity": 1, "weight": 0.0}],
            "horizon": 1,
            "arrival_rate": 1.0,
            "beta": 2.0,
            "lower_bound": 1,
            "upper_bound": 2,
        }
    )
    assert solve_cdlp(inst).value == pytest.approx(0.5)
    assert brute_force_dp(inst) == pytest.approx(0.5)


def test_capacity_binds_when_demand_is_ample():
    # Two slots of weight 5 (P close to 1 when shown), 10 periods at alpha = 1: the fluid plan
    # sells both slots, so the bound is exactly r * kappa = 2 * 3.
    inst = offer_set_from_dict(
        {
            "slot_types": [{"name": "x", "capacity": 2, "weight": 5.0}],
            "horizon": 10,
            "arrival_rate": 1.0,
            "beta": 1.0,
            "revenue": 3.0,
        }
    )
    assert solve_cdlp(inst).value == pytest.approx(6.0)


def test_blocking_raises_the_fluid_booking_rate():
    # One type, kappa = 4, w = 0, beta = 6, a = 1, b = 4, tau = 2, alpha = 1: capacity never
    # binds, so the bound is tau * max_o P(o). Showing o slots gives o / (o + e^{6 (o - 1)/3});
    # by hand o = 1 gives 1/2, o = 2 gives 2 / (2 + e^2) = 0.213..., so the best is 1/2 and the
    # bound is 2 * 1/2 = 1 (the no-blocking plan would earn 2 * 4 / (4 + e^6) = 0.0196).
    inst = offer_set_from_dict(
        {
            "slot_types": [{"name": "x", "capacity": 4, "weight": 0.0}],
            "horizon": 2,
            "arrival_rate": 1.0,
            "beta": 6.0,
            "lower_bound": 1,
            "upper_bound": 4,
        }
    )
    result = solve_cdlp(inst, method="columns")
    assert result.value == pytest.approx(1.0)
    assert result.plan[["o_0"]].to_numpy().ravel().tolist() == [1]


def test_per_period_arrivals_equal_their_mean():
    # models/cdlp.md: with per-period alpha_t the LP only depends on sum_t alpha_t.
    spec = {
        "slot_types": [
            {"name": "h", "capacity": 2, "weight": 2.0},
            {"name": "l", "capacity": 1, "weight": 1.0},
        ],
        "horizon": 4,
        "beta": 1.5,
    }
    varying = offer_set_from_dict({**spec, "arrival_rate": [0.1, 0.3, 0.5, 0.7]})
    constant = offer_set_from_dict({**spec, "arrival_rate": 0.4})
    assert solve_cdlp(varying).value == pytest.approx(solve_cdlp(constant).value, rel=1e-9)


def test_unknown_method_is_rejected():
    inst = offer_set_from_dict(
        {
            "slot_types": [{"name": "x", "capacity": 1, "weight": 0.0}],
            "horizon": 1,
            "arrival_rate": 1.0,
            "beta": 0.0,
        }
    )
    with pytest.raises(ValueError, match="method must be"):
        solve_cdlp(inst, method="guess")  # type: ignore[arg-type]
    assert np.isclose(solve_cdlp(inst, method="columns", pricing="milp").value, 0.5)


@pytest.mark.parametrize("beta", [0.0, 1.5, 6.0])
def test_cdlp_bounds_the_dp_engine_at_study_sizes(beta):
    # The numerical study's largest system (Table 4: kappa = 6, ratio 4:2, tau = 3 kappa) and a
    # four-type day; the DP is the engine's (checked against enumeration by its own tests).
    dp = pytest.importorskip("slotopt.engines.offer_set.dp")
    for types, horizon, rate in (
        ([(4, 2.0), (2, 1.0)], 18, 0.2),
        ([(3, 2.0), (3, 1.5), (2, 1.0), (2, 0.5)], 20, 0.5),
    ):
        inst = offer_set_from_dict(
            {
                "slot_types": [
                    {"name": f"t{i}", "capacity": c, "weight": w} for i, (c, w) in enumerate(types)
                ],
                "horizon": horizon,
                "arrival_rate": rate,
                "beta": beta,
            }
        )
        value = dp.backward_induction(inst).optimal_value
        bound = solve_cdlp(inst)
        assert bound.value >= value - 1e-9
