"""The method registry (slotopt.methods) is what solve(), cross_validate and slotopt verify read:
change a fact there and each of them follows."""

from __future__ import annotations

import warnings
from dataclasses import replace

import pytest

import slotopt
from slotopt.errors import UsageError
from slotopt.methods import (
    MATCHING_METHODS,
    OFFER_SET_METHODS,
    SECOND_STAGES,
    SOLVER_OPTIONS,
    ImpracticalMethodWarning,
    resolve_seed,
)
from slotopt.verify import cross_validate as cv
from tests.matching import cases

ALL = {**MATCHING_METHODS, **{f"stage {k}": v for k, v in SECOND_STAGES.items()}}


@pytest.mark.parametrize("key", sorted(ALL) + [f"offer_set {k}" for k in OFFER_SET_METHODS])
def test_every_entry_loads_and_says_whether_it_needs_highs(key: str) -> None:
    facts = OFFER_SET_METHODS[key.split()[1]] if key.startswith("offer_set") else ALL[key]
    fn = facts.load()
    assert callable(fn)
    # the MIP layer is exactly what needs HiGHS, and it takes every solver option
    assert facts.needs_highs == fn.__module__.startswith("slotopt.formulations")
    if facts.needs_highs:
        assert facts.options >= SOLVER_OPTIONS


def test_solve_takes_the_options_the_registry_lists() -> None:
    inst = cases.chain()
    assert slotopt.solve(inst, method="lexicographic", levels="tiers", seed=0).n_matched == 2
    with pytest.raises(UsageError, match="levels"):
        slotopt.solve(inst, method="lp", levels="tiers", seed=0)
    with pytest.raises(UsageError, match="takes no option weights"):
        slotopt.solve(inst, method="greedy", weights=[3, 2, 1], seed=0)


def test_a_method_above_its_practical_size_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    naive = MATCHING_METHODS["naive"]
    monkeypatch.setitem(MATCHING_METHODS, "naive", replace(naive, impractical_above=2))
    with pytest.warns(ImpracticalMethodWarning, match=r"'naive' on 3 applicants \(above 2\)"):
        result = slotopt.solve(cases.chain(), method="naive", seed=0)
    assert result.n_matched == 2  # it still runs: the warning is advice


@pytest.mark.solver
def test_lexicographic_warns_only_for_positions(monkeypatch: pytest.MonkeyPatch) -> None:
    lex = MATCHING_METHODS["lexicographic"]
    monkeypatch.setitem(MATCHING_METHODS, "lexicographic", replace(lex, impractical_above=2))
    with pytest.warns(ImpracticalMethodWarning, match="levels='tiers'"):
        slotopt.solve(cases.chain(), method="lexicographic", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        slotopt.solve(cases.chain(), method="lexicographic", levels="tiers", seed=0)


@pytest.mark.solver
def test_cross_validate_reads_the_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    lex = MATCHING_METHODS["lexicographic"]
    monkeypatch.setitem(MATCHING_METHODS, "lexicographic", replace(lex, impractical_above=2))
    df = cv.cross_validate(cases.chain(), ("greedy", "lexicographic"), seed=0)
    assert df.set_index("method").loc["lexicographic", "note"].startswith("levels=tiers")
    naive = MATCHING_METHODS["naive"]
    monkeypatch.setitem(MATCHING_METHODS, "naive", replace(naive, impractical_above=2))
    df = cv.cross_validate(cases.chain(), ("greedy", "naive"), seed=0)
    assert str(df.set_index("method").loc["naive", "status"]).startswith("skipped: 3 applicants")


def test_the_enumerating_dp_limit_comes_from_the_registry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from slotopt.instance.offer_set import offer_set_from_dict
    from slotopt.run import solve_offer_set as module

    inst = offer_set_from_dict(
        {
            "slot_types": [{"name": "x", "capacity": 2, "weight": 1.0}],
            "horizon": 2,
            "arrival_rate": 0.5,
            "beta": 0.5,
        }
    )
    assert slotopt.solve(inst, method="enumerate", n_runs=0).ok
    monkeypatch.setattr(module, "MAX_ENUMERATION_WORK", 1)
    with pytest.raises(UsageError, match="method 'enumerate' would evaluate 9"):
        slotopt.solve(inst, method="enumerate", n_runs=0)


class _Seeded:
    seed: int | None = 11


class _Seedless:
    seed: int | None = None


def test_resolve_seed_is_the_one_seed_rule() -> None:
    assert resolve_seed(_Seeded(), None) == 11
    assert resolve_seed(_Seeded(), 4) == 4
    drawn = resolve_seed(_Seedless(), None)
    assert 0 <= drawn < 2**31
    for bad in (-1, True, 2.0, "3"):
        with pytest.raises(UsageError, match="seed must be an integer"):
            resolve_seed(_Seeded(), bad)
    with pytest.raises(UsageError, match="the weighted-lp model depends on the lottery"):
        resolve_seed(_Seedless(), None, needed_for="the weighted-lp model")
