"""Exact DP: hand derivations, brute force (tests/offer_set/brute.py), the one-period search."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from slotopt.engines.offer_set.choice import ChoiceModel, LinearRamp
from slotopt.engines.offer_set.dp import (
    StateSpace,
    backward_induction,
    backward_induction_batch,
    best_offers,
    best_offers_enumerate,
    evaluate_choices,
    evaluate_policies,
    evaluate_policy,
    per_unit_gains,
)
from slotopt.instance.offer_set import offer_set_from_dict

from .brute import Case, myopic_offer, optimal_values, policy_values, states_of


@st.composite
def cases(draw: st.DrawFn, max_types: int = 3, max_cap: int = 3, max_tau: int = 5) -> Case:
    n = draw(st.integers(1, max_types))
    caps = tuple(draw(st.lists(st.integers(0, max_cap), min_size=n, max_size=n)))
    if sum(caps) < 2:
        caps = (2,) + caps[1:]
    weights = tuple(
        draw(st.lists(st.sampled_from([0.0, 1.0, 2.0, 5.0, -1.0, 0.7]), min_size=n, max_size=n))
    )
    tau = draw(st.integers(1, max_tau))
    alpha = tuple(draw(st.lists(st.sampled_from([0.2, 0.5, 0.8, 1.0]), min_size=tau, max_size=tau)))
    beta = draw(st.sampled_from([0.0, 0.5, 1.5, 3.0, 6.0, -1.0]))
    kappa = sum(caps)
    a = draw(st.sampled_from([0.0, max(0.25 * kappa, 1.0)]))
    b = float(kappa) if a < kappa else a + 1.0
    r = draw(st.sampled_from([1.0, 2.5]))
    w0 = draw(st.sampled_from([0.0, 0.5]))
    return Case(caps, weights, beta, alpha, a, b, r, w0)


def solve_both(case: Case) -> tuple[np.ndarray, np.ndarray, StateSpace]:
    inst = offer_set_from_dict(case.spec())
    fast = backward_induction(inst)
    slow = backward_induction(inst, method="enumerate")
    return fast.values, slow.values, fast.space


def test_one_slot_one_period_by_hand() -> None:
    # V_1(1) = alpha e^w / (e^w + e^{w0}): with w = 1, w0 = 0, alpha = 0.8
    case = Case((1,), (1.0,), beta=3.0, alpha=(0.8,), a=1.0, b=2.0)
    inst = offer_set_from_dict(case.spec())
    sol = backward_induction(inst)
    assert sol.optimal_value == pytest.approx(0.8 * math.e / (math.e + 1), rel=1e-14)
    assert sol.offer(1, (1,)) == (1,)


def test_one_slot_two_periods_by_hand() -> None:
    # q = alpha P = probability to sell in one period; V_2 = q + (1 - q) q
    case = Case((1,), (0.0,), beta=0.0, alpha=(0.5, 0.5), a=1.0, b=2.0)
    sol = backward_induction(offer_set_from_dict(case.spec()))
    q = 0.5 * 0.5
    assert sol.optimal_value == pytest.approx(q + (1 - q) * q, rel=1e-14)


def test_two_slots_one_period_blocks_when_beta_is_large() -> None:
    # kappa = 2, a = 1, b = 2, w = 0: showing 1 slot books with 1/2, showing 2 with
    # 2 / (2 + e^beta); for beta = 2, 2 / (2 + e^2) = 0.213 < 1/2, so show one slot.
    case = Case((2,), (0.0,), beta=2.0, alpha=(1.0,), a=1.0, b=2.0)
    sol = backward_induction(offer_set_from_dict(case.spec()))
    assert sol.offer(1, (2,)) == (1,)
    assert sol.optimal_value == pytest.approx(0.5, rel=1e-14)
    # with beta = 0 showing both is better: 2/3
    case0 = Case((2,), (0.0,), beta=0.0, alpha=(1.0,), a=1.0, b=2.0)
    sol0 = backward_induction(offer_set_from_dict(case0.spec()))
    assert sol0.offer(1, (2,)) == (2,)
    assert sol0.optimal_value == pytest.approx(2 / 3, rel=1e-14)


@pytest.mark.parametrize(
    "case",
    [
        Case((2, 1), (2.0, 1.0), 0.5, (0.5,) * 8, 1.0, 3.0),  # Appendix G (footnote 7)
        Case((2, 2), (1.0, 1.0), 3.0, (0.2,) * 8, 1.0, 4.0),
        Case((3, 2), (5.0, 1.0), 6.0, (0.8,) * 10, 1.25, 5.0),
        Case((1, 2, 2), (2.0, 0.0, 1.0), 1.5, (0.3, 0.9, 0.5, 0.7, 0.2), 1.25, 5.0, r=2.0, w0=0.4),
        Case((2, 1, 1, 1), (0.5, 2.0, 2.0, -1.0), 3.0, (0.6,) * 4, 0.0, 5.0),
    ],
)
def test_dp_equals_brute_force(case: Case) -> None:
    fast, slow, space = solve_both(case)
    brute = optimal_values(case)
    for t in range(case.horizon + 1):
        expected = np.array([brute[t][tuple(s)] for s in space.states.tolist()])
        np.testing.assert_allclose(fast[t], expected, rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(slow[t], expected, rtol=1e-12, atol=1e-13)
    assert states_of(case.caps) == [tuple(s) for s in space.states.tolist()]


@given(cases())
def test_dp_equals_brute_force_random(case: Case) -> None:
    fast, slow, space = solve_both(case)
    brute = optimal_values(case)
    expected = np.array([brute[case.horizon][tuple(s)] for s in space.states.tolist()])
    np.testing.assert_allclose(fast[-1], expected, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(slow[-1], expected, rtol=1e-11, atol=1e-12)


@given(cases(max_types=4, max_cap=3, max_tau=4))
def test_sort_and_enumeration_choose_the_same_offers(case: Case) -> None:
    inst = offer_set_from_dict(case.spec())
    a = backward_induction(inst)
    b = backward_induction(inst, method="enumerate")
    np.testing.assert_array_equal(a.policy, b.policy)


@given(
    weights=st.lists(st.floats(-3, 3), min_size=1, max_size=4),
    beta=st.floats(-2, 6),
    data=st.data(),
)
def test_one_period_search_equals_enumeration(
    weights: list[float], beta: float, data: st.DataObject
) -> None:
    n = len(weights)
    states = np.array(
        data.draw(
            st.lists(st.lists(st.integers(0, 4), min_size=n, max_size=n), min_size=1, max_size=6)
        )
    )
    gains = np.array(
        data.draw(
            st.lists(
                st.lists(st.floats(-1, 3), min_size=n, max_size=n),
                min_size=len(states),
                max_size=len(states),
            )
        )
    )
    model = ChoiceModel(tuple(weights), beta=beta, effect=LinearRamp(1, 5))
    o_fast, v_fast = best_offers(model, states, gains)
    o_slow, v_slow = best_offers_enumerate(model, states, gains)
    np.testing.assert_allclose(v_fast, v_slow, rtol=1e-12, atol=1e-12)
    assert ((o_fast >= 0) & (o_fast <= states)).all()
    # the chosen offer really earns the reported value
    p = model.probabilities(o_fast)
    np.testing.assert_allclose((p * np.where(states > 0, gains, 0)).sum(axis=1), v_fast, atol=1e-12)


def test_sorting_by_numerator_alone_is_not_enough() -> None:
    # Unit A: v = 100, D = 1 -> alone 100/101; unit B: v = 1, D = 3 -> alone 3/2. A sort by
    # v_n D_n (100 > 3) would show A; the optimum shows B alone (3/2 > 103/102 > 100/101).
    m = ChoiceModel((math.log(100.0), 0.0), beta=0.0, effect=LinearRamp(1, 2))
    o, val = best_offers(m, [[1, 1]], [[1.0, 3.0]])
    assert o.tolist() == [[0, 1]]
    assert float(val[0]) == pytest.approx(1.5)


def test_ties_take_the_smallest_then_lexicographically_smallest_offer() -> None:
    # Two identical types, one slot each, one period: showing (1, 0) or (0, 1) ties.
    # beta = 5 with a = 1 makes showing both worse, so the tie is between single slots.
    case = Case((1, 1), (0.0, 0.0), beta=5.0, alpha=(1.0,), a=1.0, b=2.0)
    inst = offer_set_from_dict(case.spec())
    for method in ("sort", "enumerate"):
        sol = backward_induction(inst, method=method)  # type: ignore[arg-type]
        assert sol.offer(1, (1, 1)) == (0, 1)
    # zero gain everywhere (r > 0 but nothing left): offer nothing
    assert backward_induction(inst).offer(1, (0, 0)) == (0, 0)


def test_shapes_and_terminal_value() -> None:
    case = Case((2, 1, 3), (1.0, 0.0, 2.0), 1.0, (0.5,) * 5, 1.5, 6.0)
    sol = backward_induction(offer_set_from_dict(case.spec()))
    assert sol.values.shape == (6, 3 * 2 * 4)
    assert sol.policy.shape == (5, 24, 3) and sol.policy.dtype == np.int64
    assert (sol.values[0] == 0).all()
    assert sol.space.full == 23 and sol.space.states[23].tolist() == [2, 1, 3]
    with pytest.raises(ValueError, match="period t"):
        sol.offer(0, (2, 1, 3))


def test_state_space_indexing() -> None:
    sp = StateSpace.of((2, 1, 3))
    for i, s in enumerate(sp.states.tolist()):
        assert sp.index(s) == i
        for n in range(3):
            if s[n] == 0:
                assert sp.down[i, n] == -1
            else:
                t = list(s)
                t[n] -= 1
                assert sp.states[sp.down[i, n]].tolist() == t


def test_policy_evaluation_reproduces_the_optimum_and_rejects_bad_policies() -> None:
    case = Case((2, 2), (2.0, 1.0), 1.5, (0.4, 0.6, 0.5, 0.9), 1.0, 4.0)
    inst = offer_set_from_dict(case.spec())
    sol = backward_induction(inst)
    np.testing.assert_allclose(evaluate_policy(inst, sol.policy), sol.values, rtol=1e-13)
    bad = sol.space.states + 1
    with pytest.raises(ValueError, match="not free"):
        evaluate_policy(inst, bad)
    with pytest.raises(ValueError, match="shape"):
        evaluate_policy(inst, np.zeros((3, 2), dtype=np.int64))


def test_gains_are_zero_for_empty_types() -> None:
    sp = StateSpace.of((1, 1))
    g = per_unit_gains(np.arange(4.0), sp, 1.0)
    assert g[sp.index((0, 1)), 0] == 0.0
    assert g[sp.index((1, 1)), 0] == 1.0 + 1.0 - 3.0  # r + V(0, 1) - V(1, 1)


def test_unknown_method_and_too_large_instances() -> None:
    inst = offer_set_from_dict(Case((1,), (0.0,), 0.0, (0.5,), 1.0, 2.0).spec())
    with pytest.raises(ValueError, match="unknown DP method"):
        backward_induction(inst, method="magic")  # type: ignore[arg-type]
    huge = offer_set_from_dict(Case((20,) * 8, (0.0,) * 8, 1.0, (0.5,) * 100, 1.0, 160.0).spec())
    with pytest.raises(ValueError, match="GiB"):
        backward_induction(huge)


# --- the batch axis ------------------------------------------------------------------------


@given(case=cases(max_types=3, max_cap=2, max_tau=4), data=st.data())
def test_batch_members_equal_their_own_backward_induction(case: Case, data: st.DataObject) -> None:
    # B arrival-probability vectors over one choice model: each member must be the instance
    # solved alone (to the last bit: same arithmetic) and the brute-force optimum of Eq. 3
    alphas = data.draw(
        st.lists(
            st.lists(
                st.sampled_from([0.2, 0.5, 0.8, 1.0]), min_size=case.horizon, max_size=case.horizon
            ),
            min_size=1,
            max_size=3,
        )
    )
    insts = [offer_set_from_dict(replace(case, alpha=tuple(a)).spec()) for a in alphas]
    model = ChoiceModel.from_instance(insts[0])
    space = StateSpace.of(case.caps)
    alpha = np.stack([inst.alpha() for inst in insts])
    for method in ("sort", "enumerate"):
        batch = backward_induction_batch(model, space, alpha, revenue=case.r, method=method)
        assert batch.values.shape == (len(alphas), case.horizon + 1, space.n_states)
        assert batch.policy.shape == (len(alphas), case.horizon, space.n_states, space.n_types)
        for b, inst in enumerate(insts):
            alone = backward_induction(inst, method=method)
            np.testing.assert_array_equal(batch.values[b], alone.values)
            np.testing.assert_array_equal(batch.policy[b], alone.policy)
    for b, a in enumerate(alphas):
        brute = optimal_values(replace(case, alpha=tuple(a)))[case.horizon]
        expected = [brute[tuple(s)] for s in space.states.tolist()]
        np.testing.assert_allclose(batch.values[b, -1], expected, rtol=1e-11, atol=1e-12)


def test_batch_with_constant_alpha_needs_and_uses_the_horizon() -> None:
    case = Case((2, 1), (1.0, 0.0), 1.0, (0.5,) * 3, 1.0, 3.0)
    inst = offer_set_from_dict(case.spec())
    model, space = ChoiceModel.from_instance(inst), StateSpace.of(case.caps)
    batch = backward_induction_batch(model, space, [0.5], horizon=3)
    np.testing.assert_array_equal(batch.values[0], backward_induction(inst).values)
    np.testing.assert_array_equal(batch.solution(0).policy, backward_induction(inst).policy)
    with pytest.raises(ValueError, match="alpha must have shape"):
        backward_induction_batch(model, space, [0.5])  # no horizon for a (B,) alpha
    with pytest.raises(ValueError, match="alpha must have shape"):
        backward_induction_batch(model, space, [[0.5, 0.5]], horizon=3)
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        backward_induction_batch(model, space, [1.5], horizon=3)
    with pytest.raises(ValueError, match="unknown DP method"):
        backward_induction_batch(model, space, [0.5], horizon=3, method="magic")  # type: ignore[arg-type]


def test_evaluate_policies_equals_each_policy_alone_and_brute_force() -> None:
    case = Case((2, 2), (2.0, 1.0), 1.5, (0.4, 0.6, 0.5, 0.9), 1.0, 4.0)
    inst = offer_set_from_dict(case.spec())
    space = StateSpace.of(case.caps)
    sol = backward_induction(inst)
    show_all = space.states
    myopic = np.array([myopic_offer(case, tuple(s)) for s in space.states.tolist()])
    stationary = np.stack([show_all, myopic])
    alpha = np.stack([inst.alpha(), inst.alpha()])
    model = ChoiceModel.from_instance(inst)
    got = evaluate_policies(model, space, stationary, alpha, revenue=case.r)
    assert got.shape == (2, case.horizon + 1, space.n_states)
    for b, pol in enumerate(stationary):
        np.testing.assert_array_equal(got[b], evaluate_policy(inst, pol))
    brute = policy_values(case, lambda t, s: myopic_offer(case, s))[case.horizon]
    expected = [brute[tuple(s)] for s in space.states.tolist()]
    np.testing.assert_allclose(got[1, -1], expected, rtol=1e-12, atol=1e-13)
    # time-varying policies: the optimal one reproduces the optimum
    timed = evaluate_policies(model, space, sol.policy[None], inst.alpha()[None], revenue=case.r)
    np.testing.assert_allclose(timed[0], sol.values, rtol=1e-13)


def test_evaluate_policies_rejects_bad_shapes_and_offers() -> None:
    case = Case((1, 1), (0.0, 0.0), 0.0, (0.5, 0.5), 1.0, 2.0)
    inst = offer_set_from_dict(case.spec())
    model, space = ChoiceModel.from_instance(inst), StateSpace.of(case.caps)
    pol = np.stack([space.states])
    with pytest.raises(ValueError, match="horizon"):
        evaluate_policies(model, space, pol, [0.5])
    with pytest.raises(ValueError, match="members"):
        evaluate_policies(model, space, pol, [0.5, 0.5], horizon=2)
    with pytest.raises(ValueError, match="policy must have shape"):
        evaluate_policies(model, space, pol[:, :2], [0.5], horizon=2)
    with pytest.raises(ValueError, match="not free"):
        evaluate_policies(model, space, pol + 1, [0.5], horizon=2)
    with pytest.raises(ValueError, match="alpha must have shape"):
        evaluate_policies(model, space, np.stack([np.stack([space.states] * 2)]), [[0.5]])


@given(case=cases(max_types=3, max_cap=2, max_tau=4), data=st.data())
def test_batch_members_may_have_their_own_choice_model(case: Case, data: st.DataObject) -> None:
    # members over one state space with different betas, weights and arrival rates: each one is
    # its own instance solved alone, to the last bit, by both searches
    members = data.draw(
        st.lists(
            st.tuples(
                st.sampled_from([0.0, 0.5, 3.0, -1.0]),
                st.lists(
                    st.sampled_from([0.0, 1.0, 2.0, -1.0]),
                    min_size=len(case.caps),
                    max_size=len(case.caps),
                ),
                st.sampled_from([0.2, 0.5, 1.0]),
            ),
            min_size=2,
            max_size=4,
        )
    )
    insts = [
        offer_set_from_dict(
            replace(case, beta=b, weights=tuple(w), alpha=(a,) * case.horizon).spec()
        )
        for b, w, a in members
    ]
    models = [ChoiceModel.from_instance(inst) for inst in insts]
    space = StateSpace.of(case.caps)
    alpha = [a for _, _, a in members]
    for method in ("sort", "enumerate"):
        batch = backward_induction_batch(
            models, space, alpha, revenue=case.r, horizon=case.horizon, method=method
        )
        for b, inst in enumerate(insts):
            alone = backward_induction(inst, method=method)
            np.testing.assert_array_equal(batch.values[b], alone.values)
            np.testing.assert_array_equal(batch.policy[b], alone.policy)


def test_batch_needs_one_model_or_one_per_member() -> None:
    case = Case((1, 1), (0.0, 1.0), 0.5, (0.5, 0.5), 1.0, 2.0)
    model = ChoiceModel.from_instance(offer_set_from_dict(case.spec()))
    space = StateSpace.of(case.caps)
    with pytest.raises(ValueError, match="one per member"):
        backward_induction_batch([model, model], space, [0.5, 0.5, 0.5], horizon=2)
    other = ChoiceModel.from_instance(
        offer_set_from_dict(Case((1,), (0.0,), 0.5, (0.5, 0.5), 1.0, 2.0).spec())
    )
    with pytest.raises(ValueError, match="slot types"):
        backward_induction_batch([model, other], space, [0.5, 0.5], horizon=2)


def test_evaluate_choices_takes_members_of_different_models() -> None:
    # one policy (the beta = 0 optimum) under two betas, in one call, equals each evaluation alone
    case = Case((2, 1), (2.0, 1.0), 0.0, (0.5,) * 6, 1.0, 3.0)
    low = offer_set_from_dict(case.spec())
    high = offer_set_from_dict(replace(case, beta=3.0).spec())
    space = StateSpace.of(case.caps)
    policy = backward_induction(low).policy
    probs = np.stack([ChoiceModel.from_instance(i).probabilities(policy) for i in (low, high)])
    got = evaluate_choices(space, probs, [0.5, 0.5], revenue=case.r)
    for b, inst in enumerate((low, high)):
        np.testing.assert_array_equal(got[b], evaluate_policy(inst, policy))
    brute = policy_values(
        replace(case, beta=3.0), lambda t, s: tuple(policy[t - 1, space.index(s)])
    )[case.horizon]
    np.testing.assert_allclose(
        got[1, -1], [brute[tuple(s)] for s in space.states.tolist()], rtol=1e-12, atol=1e-13
    )


def test_evaluate_choices_rejects_bad_probabilities_and_shapes() -> None:
    space = StateSpace.of((1, 1))
    ok = np.full((1, space.n_states, 2), 0.25)
    assert evaluate_choices(space, ok, [0.5], horizon=2).shape == (1, 3, space.n_states)
    with pytest.raises(ValueError, match="at most 1"):
        evaluate_choices(space, ok * 3, [0.5], horizon=2)  # sums to 1.5
    with pytest.raises(ValueError, match=">= 0"):
        evaluate_choices(space, -ok, [0.5], horizon=2)
    with pytest.raises(ValueError, match="probabilities must have shape"):
        evaluate_choices(space, ok[:, :2], [0.5], horizon=2)
    with pytest.raises(ValueError, match="probabilities must have shape"):
        evaluate_choices(space, np.stack([ok] * 3, axis=1), [0.5], horizon=2)  # tau 3 != 2
    with pytest.raises(ValueError, match="members"):
        evaluate_choices(space, ok, [0.5, 0.5], horizon=2)
    with pytest.raises(ValueError, match="horizon"):
        evaluate_choices(space, ok, [0.5])


def test_subnormal_gains_do_not_overflow_the_tie_tolerance() -> None:
    # Found by Hypothesis: the only available unit gains 3e-307, so the tie tolerance is
    # subnormal and the (masked) key of the unavailable type overflowed into a RuntimeWarning.
    model = ChoiceModel((0.0, 0.0), beta=0.0, effect=LinearRamp(1, 2))
    offers, value = best_offers(model, [[0, 1]], [[1.0, 2.9630248667015846e-307]])
    assert offers.tolist() == [[0, 1]]
    assert value[0] == 0.5 * 2.9630248667015846e-307  # P_2 = 1 / (1 + 1), times the gain
