"""The one-period assortment models against brute-force enumeration, side constraints, the
integrality check, Appendix G's Table 9, and the DP's own one-step choice."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pyomo.environ as pyo
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slotopt.engines.offer_set.choice import ChoiceModel, LinearRamp
from slotopt.errors import InfeasibleError, SolverError
from slotopt.formulations.assortment import (
    OfferLimits,
    assortment_problem,
    best_offer,
    build_assortment_lp,
    offer_from_lp,
)

pytestmark = pytest.mark.solver


def brute_force(weights, beta, a, b, state, gains, limits: OfferLimits):
    """Best sum_n g_n P_n(o) over every integer offer vector meeting the limits (Eq. 2b written
    out here, independently of the choice module)."""
    n = len(state)
    must = limits.must_show or (0,) * n
    caps = limits.caps or tuple(state)
    best = -math.inf
    for o in itertools.product(*(range(s + 1) for s in state)):
        sigma = sum(o)
        if any(o[i] < must[i] or o[i] > caps[i] for i in range(n)):
            continue
        if sigma < limits.min_shown or (limits.max_shown is not None and sigma > limits.max_shown):
            continue
        num = [o[i] * math.exp(weights[i]) for i in range(n)]
        den = sum(num) + math.exp(beta * max((sigma - a) / (b - a), 0.0))
        g = gains or (1.0,) * n
        best = max(best, sum(g[i] * num[i] for i in range(n)) / den)
    return best


@st.composite
def problems(draw):
    n = draw(st.integers(1, 3))
    state = tuple(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)))
    weights = tuple(
        draw(st.lists(st.sampled_from([-1.0, 0.0, 0.5, 1.0, 2.0]), min_size=n, max_size=n))
    )
    beta = draw(st.sampled_from([-0.5, 0.0, 0.5, 1.5, 3.0, 6.0]))
    a = draw(st.sampled_from([0.0, 1.0, 2.0]))
    b = a + draw(st.sampled_from([1.0, 2.0, 4.0]))
    gains = draw(st.none() | st.tuples(*[st.sampled_from([-0.3, 0.2, 0.5, 1.0]) for _ in range(n)]))
    must = tuple(draw(st.integers(0, s)) if draw(st.booleans()) else 0 for s in state)
    caps = tuple(draw(st.integers(m, s)) for m, s in zip(must, state, strict=True))
    lo = draw(st.integers(0, 2))
    hi = draw(st.none() | st.integers(lo, 6))
    limits = OfferLimits(
        min_shown=lo,
        max_shown=hi,
        must_show=must if any(must) else None,
        caps=caps if draw(st.booleans()) else None,
    )
    return weights, beta, a, b, state, gains, limits


def limits_feasible(state, limits: OfferLimits) -> bool:
    must = limits.must_show or (0,) * len(state)
    caps = limits.caps or state
    lo = max(limits.min_shown, sum(must))
    hi = sum(min(c, s) for c, s in zip(caps, state, strict=True))
    if limits.max_shown is not None:
        hi = min(hi, limits.max_shown)
    return lo <= hi


@settings(max_examples=30)
@given(problems())
def test_lp_and_milp_equal_enumeration(case):
    weights, beta, a, b, state, gains, limits = case
    choice = ChoiceModel(weights, beta, LinearRamp(a, b))
    if not limits_feasible(state, limits):
        with pytest.raises(InfeasibleError):
            assortment_problem(choice, state, gains=gains, limits=limits)
        return
    problem = assortment_problem(choice, state, gains=gains, limits=limits)
    expected = brute_force(weights, beta, a, b, state, gains, limits)
    for method in ("lp", "milp"):
        spread = problem.no_choice[problem.sizes].max() / problem.no_choice[problem.sizes].min()
        if method == "milp" and spread > 1e12:
            with pytest.raises(ValueError, match="12 orders of magnitude"):
                best_offer(problem, method=method)
            continue
        got = best_offer(problem, method=method, mip_gap=0.0)
        # the LP per size is exact; the MILP up to HiGHS's feasibility tolerance (1e-6)
        tol = 1e-9 if method == "lp" else 1e-6
        assert got.value == pytest.approx(expected, rel=1e-7, abs=tol), method
        o = got.offer
        # the side constraints hold for the returned offer
        assert np.all(o >= 0) and np.all(o <= np.asarray(state))
        if limits.must_show:
            assert np.all(o >= np.asarray(limits.must_show))
        if limits.caps:
            assert np.all(o <= np.asarray(limits.caps))
        assert o.sum() >= limits.min_shown
        if limits.max_shown is not None:
            assert o.sum() <= limits.max_shown


def test_lp_table_lists_every_feasible_size_and_ties_go_to_the_smallest():
    # beta = 0, one type, gains 1: showing 1..3 slots of weight 0 gives 1/2, 2/3, 3/4 (no tie);
    # with every gain 0 all sizes tie at 0 and the smallest size (0) is returned.
    choice = ChoiceModel((0.0,), 0.0, LinearRamp(0, 1))
    best = best_offer(assortment_problem(choice, [3]))
    assert best.by_size is not None
    assert best.by_size["sigma"].tolist() == [0, 1, 2, 3]
    assert best.by_size["value"].tolist() == pytest.approx([0, 1 / 2, 2 / 3, 3 / 4])
    assert best.offer.tolist() == [3]
    tie = best_offer(assortment_problem(choice, [3], gains=[0.0]))
    assert tie.sigma == 0


def test_appendix_g_table_9_minimum_no_choice_offer():
    # Appendix G, Table 9 (state s = (2, 1)): the minimum no-choice probability, 0.47 %, is at
    # o = (2, 0). The weights printed in footnote 7 (w = (2, 1)) do not reproduce Table 9; the
    # reading w = (5, 1), beta = 0.5, f = sigma / 3 does (see choice.ChoiceModel's example), so the
    # table is checked under that reading.
    choice = ChoiceModel((5.0, 1.0), 0.5, LinearRamp(0, 3))
    for method in ("lp", "milp"):
        best = best_offer(assortment_problem(choice, [2, 1]), method=method, mip_gap=0.0)
        assert best.offer.tolist() == [2, 0]
        assert round(100 * best.no_choice_probability, 2) == 0.47


def test_fractional_lp_solution_is_reported_not_rounded():
    problem = assortment_problem(ChoiceModel((0.0, 1.0), 1.0, LinearRamp(1, 4)), [2, 2])
    model = build_assortment_lp(problem, 2)
    # a point of the LP's feasible set that is not a vertex: o = (1.5, 0.5)
    o = np.array([1.5, 0.5])
    t = 1.0 / (sum(pyo.value(model.u[n]) * o[n] for n in model.types) + pyo.value(model.c))
    model.t.set_value(t)
    for n in model.types:
        model.y[n].set_value(o[n] * t)
    assert pyo.value(model.normalisation.body) == pytest.approx(1.0)
    with pytest.raises(SolverError, match="fractional offer vector"):
        offer_from_lp(model)


def test_infeasible_limits_and_bad_arguments():
    choice = ChoiceModel((0.0, 1.0), 1.0, LinearRamp(1, 4))
    with pytest.raises(InfeasibleError, match="must_show exceeds"):
        assortment_problem(choice, [1, 1], limits=OfferLimits(must_show=(2, 0)))
    with pytest.raises(InfeasibleError, match="at least 3 and at most 2"):
        assortment_problem(choice, [1, 1], limits=OfferLimits(min_shown=3))
    with pytest.raises(ValueError, match="state must have 2 entries"):
        assortment_problem(choice, [1, 1, 1])
    with pytest.raises(ValueError, match="gains must be finite"):
        assortment_problem(choice, [1, 1], gains=[math.nan, 1.0])
    # a type with nothing to show may carry any gain (the DP's D_n is undefined there)
    assert assortment_problem(choice, [0, 1], gains=[-math.inf, 1.0]).gains.tolist() == [0, 1]


def test_dp_one_step_equals_the_assortment_optimum():
    # The DP (engines.offer_set.dp) writes V_t(s) = V_{t-1}(s) + alpha_t max_o sum_n P_n(o) D_n(s).
    # Its increment must equal alpha_t times the assortment optimum with gains D_n(s).
    dp = pytest.importorskip("slotopt.engines.offer_set.dp")
    from slotopt.instance.offer_set import offer_set_from_dict

    inst = offer_set_from_dict(
        {
            "slot_types": [
                {"name": "h", "capacity": 2, "weight": 2.0},
                {"name": "l", "capacity": 2, "weight": 1.0},
            ],
            "horizon": 4,
            "arrival_rate": 0.5,
            "beta": 1.5,
        }
    )
    sol = dp.backward_induction(inst)
    space = sol.space
    choice = ChoiceModel.from_instance(inst)
    for t in (1, 4):
        gains = dp.per_unit_gains(sol.values[t - 1], space, inst.revenue)
        for i, s in enumerate(space.states):
            if s.sum() == 0:
                continue
            problem = assortment_problem(choice, s, gains=gains[i])
            best = best_offer(problem)
            step = (sol.values[t, i] - sol.values[t - 1, i]) / 0.5
            assert best.value == pytest.approx(step, rel=1e-9, abs=1e-12)
            # the DP's offer attains the same one-step value
            dp_offer = sol.policy[t - 1, i]
            p = choice.probabilities(dp_offer)
            assert float(p @ gains[i]) == pytest.approx(best.value, rel=1e-9, abs=1e-12)
