"""The notebook API: results exported from ``slotopt``, one-line reprs, and output that leaves
matplotlib's backend and pyplot's figures alone."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest

import slotopt
from slotopt.instance.offer_set import offer_set_from_dict
from tests.matching.test_validation import folder

SPEC = {
    "slot_types": [
        {"name": "h", "capacity": 2, "weight": 2},
        {"name": "l", "capacity": 1, "weight": 1},
    ],
    "horizon": 6,
    "arrival_rate": 0.5,
    "beta": 0.5,
    "name": "small",
}


def test_result_classes_are_public() -> None:
    from slotopt.run.matching_result import MatchingResult
    from slotopt.run.solve_offer_set import OfferSetResult

    assert slotopt.MatchingResult is MatchingResult and slotopt.OfferSetResult is OfferSetResult
    assert {"MatchingResult", "OfferSetResult", "solve", "load_instance"} <= set(slotopt.__all__)
    assert all(hasattr(slotopt, name) for name in slotopt.__all__)
    assert set(slotopt.__all__) <= set(dir(slotopt))


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'solv'"):
        slotopt.solv  # noqa: B018


def test_reprs_are_one_short_line(tmp_path: Path) -> None:
    inst = slotopt.load_instance(folder(tmp_path))
    res = slotopt.solve(inst, seed=3, verify=True)
    offer = offer_set_from_dict(SPEC)
    offer_res = slotopt.solve(offer, seed=1, n_runs=0, verify=True)
    shown = {repr(x) for x in (inst, res, offer, offer_res)}
    assert shown == {
        "MatchingInstance('tiny': 3 applicants, 2 slots, 3 appointments, 4 acceptable pairs)",
        "MatchingResult('tiny': 3 of 3 matched, method greedy, seed 3, verified ok)",
        "OfferSetInstance('small': 2 slot types, 3 slots, horizon 6, beta 0.5)",
        f"OfferSetResult('small': optimal value {offer_res.optimal_value:.6g}, method dp, "
        "seed 1, verified ok)",
    }


def test_output_leaves_matplotlib_alone(tmp_path: Path) -> None:
    import matplotlib.pyplot as plt

    previous = matplotlib.get_backend()
    matplotlib.use("svg")  # a backend that is not the one the writer might switch to
    mine = plt.figure()  # a figure of the user's own, in pyplot's registry
    try:
        before = (matplotlib.get_backend(), plt.get_fignums())
        res = slotopt.solve(offer_set_from_dict(SPEC), seed=1, n_runs=50)
        figures = res.figures()
        assert figures, "the offer-set result has figures to write"
        res.to_folder(tmp_path / "out")
        matching = slotopt.solve(slotopt.load_instance(folder(tmp_path)), seed=1)
        matching.to_folder(tmp_path / "out2")
        assert (matplotlib.get_backend(), plt.get_fignums()) == before
        assert any(p.suffix == ".png" for p in (tmp_path / "out").iterdir())
    finally:
        plt.close(mine)
        matplotlib.use(previous)
