"""The Eq. 2b choice model and the menu-size effects."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from slotopt.engines.offer_set.choice import (
    ChoiceModel,
    InverseU,
    LinearRamp,
    PiecewiseLinear,
    menu_effect,
)


def test_one_slot_by_hand() -> None:
    # w = 0, beta = 0: one shown slot against the no-choice option, e^0 / (e^0 + e^0) = 1/2.
    m = ChoiceModel((0.0,), beta=0.0, effect=LinearRamp(1, 2))
    assert m.probabilities([[1]]).tolist() == [[0.5]]
    assert m.no_choice_probability([[1]]).tolist() == [0.5]


def test_nothing_shown_means_no_booking() -> None:
    m = ChoiceModel((3.0, -1.0), beta=2.0, effect=LinearRamp(1, 4))
    assert m.probabilities([[0, 0]]).tolist() == [[0.0, 0.0]]
    assert m.no_choice_probability([[0, 0]]).tolist() == [1.0]


def test_eq_2a_equals_eq_2b() -> None:
    # Eq. 2a subtracts beta f(sigma) from every slot's utility; Eq. 2b adds it to the no-choice
    # option. Dividing numerator and denominator by e^{-beta f} shows they are the same.
    w, beta, w0 = (2.0, 1.0, -0.5), 1.7, 0.3
    m = ChoiceModel(w, beta=beta, effect=LinearRamp(1, 6), w0=w0)
    for o in [(1, 2, 3), (2, 0, 1), (0, 0, 1), (2, 2, 2)]:
        f = max((sum(o) - 1) / 5, 0.0)
        terms = [on * math.exp(wn - beta * f) for on, wn in zip(o, w, strict=True)]
        eq2a = [x / (sum(terms) + math.exp(w0)) for x in terms]
        assert m.probabilities([o])[0] == pytest.approx(eq2a, rel=1e-13)


def test_table_9_no_choice_probabilities() -> None:
    """Kaluza et al. (2024), Appendix G, Table 9, state s = (2, 1), in per cent.

    The footnote's parameters (w = (2, 1), a = 1, b = 3) give P_0(2, 1) = 8.6 %, not the printed
    0.55 %. All six printed values are reproduced by w = (5, 1), beta = 0.5 and
    f(sigma) = sigma / 3 (a = 0, b = 3), derived by solving the printed P_0(0, 1) = 30.29 % for
    f(1) and checking the rest (docs/offer-set.md). Table 9 lists (0, 0) as "1", i.e. 100 %.
    """
    m = ChoiceModel((5.0, 1.0), beta=0.5, effect=LinearRamp(0, 3))
    offers = [(2, 1), (2, 0), (1, 1), (1, 0), (0, 1), (0, 0)]
    printed = [0.55, 0.47, 0.91, 0.79, 30.29, 100.0]
    got = [round(100 * float(p), 2) for p in m.no_choice_probability(offers)]
    assert got == printed


def test_footnote_parameters_do_not_give_table_9() -> None:
    m = ChoiceModel((2.0, 1.0), beta=0.5, effect=LinearRamp(1, 3))
    # by hand: e^0.5 / (2 e^2 + e + e^0.5) = 0.0861
    assert float(m.no_choice_probability([(2, 1)])[0]) == pytest.approx(
        math.exp(0.5) / (2 * math.exp(2) + math.e + math.exp(0.5))
    )
    assert round(100 * float(m.no_choice_probability([(2, 1)])[0]), 2) != 0.55


def test_vectorised_shapes() -> None:
    m = ChoiceModel((1.0, 0.0, 2.0), beta=1.0, effect=LinearRamp(1, 5))
    offers = np.zeros((4, 2, 3), dtype=np.int64)
    offers[..., 0] = 1
    assert m.probabilities(offers).shape == (4, 2, 3)
    assert m.no_choice_probability(offers).shape == (4, 2)
    assert m.log_probabilities(offers).shape == (4, 2, 4)
    with pytest.raises(ValueError, match="3 entries"):
        m.probabilities([[1, 2]])


def test_large_weights_do_not_overflow() -> None:
    m = ChoiceModel((800.0, 799.0), beta=1.0, effect=LinearRamp(1, 3))
    p = m.probabilities([[1, 1]])[0]
    # the no-choice option is negligible; the two slots split 1 : e^-1
    assert p.tolist() == pytest.approx([1 / (1 + math.exp(-1)), math.exp(-1) / (1 + math.exp(-1))])
    assert np.isfinite(m.log_probabilities([[1, 1]])).all()


def test_linear_ramp_positive_part_and_cap() -> None:
    assert LinearRamp(2, 6)([0, 2, 4, 6, 10]).tolist() == [0.0, 0.0, 0.5, 1.0, 2.0]
    assert LinearRamp(2, 6, cap=True)([10]).tolist() == [1.0]


def test_piecewise_and_inverse_u() -> None:
    pw = PiecewiseLinear((2.0, 8.0, 32.0), (0.0, 1.0, 1.5))
    assert pw([0, 2, 5, 8, 20, 32, 40]).tolist() == [0.0, 0.0, 0.5, 1.0, 1.25, 1.5, 1.5]
    iu = InverseU(peak=4, upper=12, scarcity=2.0)
    # scarcity * (peak - s) / peak below the peak, (s - peak) / (upper - peak) above
    assert iu([0, 2, 4, 8, 12]).tolist() == [2.0, 1.0, 0.0, 0.5, 1.0]


def test_menu_effect_factory() -> None:
    assert menu_effect({}, 1, 3) == LinearRamp(1.0, 3.0)
    assert menu_effect({"shape": "linear", "cap": True}, 1, 3) == LinearRamp(1.0, 3.0, cap=True)
    assert menu_effect({"shape": "piecewise", "points": [[0, 0], [3, 1]]}, 1, 3) == (
        PiecewiseLinear((0.0, 3.0), (0.0, 1.0))
    )
    assert menu_effect({"shape": "inverse_u", "peak": 2, "scarcity": 0.5}, 1, 8) == InverseU(
        2.0, 8.0, 0.5
    )
    with pytest.raises(ValueError, match="unknown menu-effect shape"):
        menu_effect({"shape": "cubic"}, 1, 3)
    for effect in (LinearRamp(1.0, 3.0), PiecewiseLinear((0.0, 1.0), (0.0, 1.0)), InverseU(1, 3)):
        assert menu_effect(effect.to_spec(), 1, 3) == effect  # to_spec round-trips


@given(
    weights=st.lists(st.floats(-4, 4), min_size=1, max_size=4),
    beta=st.floats(-3, 6),
    w0=st.floats(-2, 2),
    data=st.data(),
)
def test_probabilities_are_a_distribution_with_iia(
    weights: list[float], beta: float, w0: float, data: st.DataObject
) -> None:
    n = len(weights)
    o = data.draw(st.lists(st.integers(0, 5), min_size=n, max_size=n))
    m = ChoiceModel(tuple(weights), beta=beta, effect=LinearRamp(1, 6), w0=w0)
    p = m.probabilities([o])[0]
    p0 = float(m.no_choice_probability([o])[0])
    assert (p >= 0).all() and 0 < p0 <= 1
    assert float(p.sum()) + p0 == pytest.approx(1.0, abs=1e-12)
    logp = m.log_probabilities([o])[0]
    assert np.exp(logp[0]) == pytest.approx(p0, rel=1e-9)
    # IIA: the ratio of two offered types depends only on their counts and weights
    shown = [i for i in range(n) if o[i] > 0]
    if len(shown) >= 2:
        i, j = shown[:2]
        expected = o[i] * math.exp(weights[i]) / (o[j] * math.exp(weights[j]))
        assert p[i] / p[j] == pytest.approx(expected, rel=1e-9)
