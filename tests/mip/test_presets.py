"""The HiGHS presets are parameters: each model is solved with its own field of
:class:`HighsPresets`, a field passed in reaches HiGHS, and bad values are refused up front."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

import slotopt
from slotopt.engines.matching.order import priority_order
from slotopt.engines.offer_set.choice import ChoiceModel, LinearRamp
from slotopt.errors import SolverError, UsageError
from slotopt.formulations.assortment import assortment_problem, best_offer
from slotopt.formulations.cdlp import solve_cdlp
from slotopt.formulations.matching.flow import can_serve, max_appointments
from slotopt.formulations.matching.lexicographic import lexicographic_matching
from slotopt.formulations.matching.second_stage import (
    min_rank_assignment,
    rank_maximal_assignment,
)
from slotopt.formulations.matching.weighted_lp import weighted_lp_matching
from slotopt.formulations.matching_models import build_max_appointments
from slotopt.formulations.solver import (
    DEFAULT_PRESETS,
    CompiledModel,
    HighsOptions,
    HighsPresets,
    compile_model,
)
from slotopt.instance.generate import generate_prefecture
from slotopt.instance.offer_set import offer_set_from_dict
from tests.matching import cases

pytestmark = pytest.mark.solver

FIELDS = [f.name for f in dataclasses.fields(HighsPresets)]


def _copies() -> HighsPresets:
    """The default presets as new objects, so a solve's options say which field they came from."""
    return HighsPresets(
        **{
            name: HighsOptions(dict(opt.values), warm_start=opt.warm_start)
            for name in FIELDS
            for opt in [getattr(DEFAULT_PRESETS, name)]
        }
    )


@pytest.fixture
def used(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The HighsOptions object of every HiGHS solve, in order."""
    seen: list[Any] = []
    original = CompiledModel.solve

    def spy(self: CompiledModel, **kwargs: Any) -> Any:
        seen.append(kwargs.get("options"))
        return original(self, **kwargs)

    monkeypatch.setattr(CompiledModel, "solve", spy)
    return seen


def _names(presets: HighsPresets, used: list[Any]) -> list[str]:
    by_id = {id(getattr(presets, name)): name for name in FIELDS}
    return [by_id.get(id(opt), repr(opt)) for opt in used]


def _tiers() -> slotopt.MatchingInstance:
    return cases.build(
        {"s1": 1, "s2": 1},
        {"a": 1, "b": 2, "c": 3},
        [("a", "s1"), ("b", "s1"), ("b", "s2"), ("c", "s2")],
    )


def test_each_model_is_solved_with_its_own_preset(used: list[Any]) -> None:
    presets = _copies()
    inst = _tiers()
    order = priority_order(inst.priority, inst.applicant_ids, 0)
    matched = slotopt.solve(inst, seed=0).matched
    runs = {
        "lp": lambda: weighted_lp_matching(inst, order, presets=presets),
        "tiers": lambda: lexicographic_matching(inst, order, levels="tiers", presets=presets),
        "positions": lambda: lexicographic_matching(inst, order, presets=presets),
        "min-rank": lambda: min_rank_assignment(inst, matched, presets=presets),
        "rank-maximal": lambda: rank_maximal_assignment(inst, matched, presets=presets),
        "can-serve": lambda: can_serve(inst, matched, presets=presets),
        "max": lambda: max_appointments(inst, presets=presets),
    }
    seen = {}
    for name, run in runs.items():
        used.clear()
        run()
        seen[name] = _names(presets, used)
    n_positions = len(seen["positions"])
    assert seen == {
        "lp": ["weighted_lp"],
        "tiers": ["tier", "tier", "tier", "tier_final"],
        "positions": ["level"] * n_positions,
        "min-rank": ["second_stage"],
        # nobody ranks a slot here: one rank (all equal), then the total-rank solve
        "rank-maximal": ["second_stage", "level"],
        "can-serve": ["flow"],
        "max": ["flow"],
    }
    assert n_positions >= 2


def test_rank_maximal_later_ranks_use_the_level_preset(used: list[Any]) -> None:
    presets = _copies()
    inst = cases.footnote4()
    matched = slotopt.solve(inst, seed=0).matched
    _, info = rank_maximal_assignment(inst, matched, presets=presets)
    names = _names(presets, used)
    assert names[0] == "second_stage" and len(names) >= 3
    assert set(names[1:]) == {"level"}
    assert info["rank_counts"] == {"1": 1, "2": 1}  # footnote 4 by hand: B rank 1, A rank 2


def test_solve_passes_presets_to_the_method_and_the_second_stage(used: list[Any]) -> None:
    presets = _copies()
    inst = cases.footnote4()
    result = slotopt.solve(inst, method="lp", seed=0, second_stage="min-rank", presets=presets)
    assert _names(presets, used) == ["weighted_lp", "second_stage"]
    assert result.total_rank == 3  # footnote 4 by hand


def test_a_preset_reaches_highs() -> None:
    inst = _tiers()
    order = priority_order(inst.priority, inst.applicant_ids, 0)
    bad = HighsPresets(tier_final=HighsOptions({"solver": "no-such-solver"}))
    with pytest.raises(SolverError, match="HiGHS rejected the option solver='no-such-solver'"):
        lexicographic_matching(inst, order, levels="tiers", presets=bad)
    # the other fields keep their defaults: positions never use tier_final
    lexicographic_matching(inst, order, presets=bad)


def test_warm_start_reaches_highs() -> None:
    compiled = compile_model(build_max_appointments(generate_prefecture(300, seed=1)))
    no_presolve = {"presolve": "off", "solver": "simplex"}
    first = compiled.solve(options=HighsOptions(no_presolve))
    assert first.iterations is not None and first.iterations > 0
    warm = compiled.solve(options=HighsOptions(no_presolve))
    assert warm.iterations == 0  # the optimal basis is kept
    cold = compiled.solve(options=HighsOptions(no_presolve, warm_start=False))
    assert cold.iterations == first.iterations  # forgotten: the same work again
    assert cold.objective == pytest.approx(first.objective)


def test_the_documented_defaults() -> None:
    # docs/mip.md and HighsPresets' docstring state these (measured in docs/performance.md)
    ipm = {"solver": "ipm", "run_crossover": "on"}
    devex = {"simplex_strategy": 1, "simplex_dual_edge_weight_strategy": 1}
    assert dict(DEFAULT_PRESETS.flow.values) == ipm and DEFAULT_PRESETS.flow.warm_start
    assert dict(DEFAULT_PRESETS.weighted_lp.values) == devex
    assert dict(DEFAULT_PRESETS.level.values) == {"simplex_strategy": 4}
    assert DEFAULT_PRESETS.level.warm_start
    assert dict(DEFAULT_PRESETS.tier.values) == ipm
    assert dict(DEFAULT_PRESETS.tier_final.values) == devex
    assert DEFAULT_PRESETS.tier_final.warm_start is False
    assert dict(DEFAULT_PRESETS.second_stage.values) == ipm
    assert HighsPresets() == DEFAULT_PRESETS


def test_options_are_frozen() -> None:
    opt = HighsOptions({"presolve": "off"})
    with pytest.raises(TypeError):
        opt.values["presolve"] = "on"  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        opt.warm_start = False  # type: ignore[misc]


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: HighsOptions({1: "x"}), "must map HiGHS option names"),  # type: ignore[dict-item]
        (lambda: HighsOptions([("presolve", "off")]), "must map HiGHS option names"),  # type: ignore[arg-type]
        (lambda: HighsOptions(warm_start="no"), "warm_start must be a bool"),  # type: ignore[arg-type]
        (lambda: HighsPresets(tier={"solver": "ipm"}), "HighsPresets.tier must be"),  # type: ignore[arg-type]
    ],
)
def test_malformed_options_are_usage_errors(make: Any, match: str) -> None:
    with pytest.raises(UsageError, match=match):
        make()


def test_presets_of_the_wrong_type_are_refused_before_any_work() -> None:
    inst = cases.chain()
    with pytest.raises(UsageError, match="presets must be a slotopt HighsPresets"):
        slotopt.solve(inst, method="lp", seed=0, presets={"weighted_lp": {}})
    with pytest.raises(UsageError, match="presets"):
        slotopt.solve(inst, method="greedy", seed=0, presets=HighsPresets())


def _one_slot() -> Any:
    # solve_cdlp's docstring instance: one slot, one period, the fluid bound 1/2
    return offer_set_from_dict(
        {
            "slot_types": [{"name": "x", "capacity": 1, "weight": 0.0}],
            "horizon": 1,
            "arrival_rate": 1.0,
            "beta": 2.0,
            "lower_bound": 1,
            "upper_bound": 2,
        }
    )


def test_offer_set_instances_refuse_presets() -> None:
    with pytest.raises(UsageError, match="presets"):
        slotopt.solve(_one_slot(), presets=HighsPresets())


def test_assortment_and_cdlp_options_reach_highs() -> None:
    bad = HighsOptions({"solver": "no-such-solver"})
    problem = assortment_problem(ChoiceModel((5.0, 1.0), 0.5, LinearRamp(0, 3)), [2, 1])
    for method in ("lp", "milp"):
        with pytest.raises(SolverError, match="no-such-solver"):
            best_offer(problem, method=method, options=bad)  # type: ignore[arg-type]
    inst = _one_slot()
    for method in ("enumerate", "columns"):
        with pytest.raises(SolverError, match="no-such-solver"):
            solve_cdlp(inst, method=method, options=bad)  # type: ignore[arg-type]
    # and an option that changes nothing but is accepted gives the same answer as the default
    same = best_offer(problem, options=HighsOptions({"presolve": "off"}))
    assert np.array_equal(same.offer, best_offer(problem).offer)


def test_options_hold_for_one_solve_only() -> None:
    # an iteration limit of 0 stops the first solve; the next one is back on HiGHS's defaults
    compiled = compile_model(build_max_appointments(generate_prefecture(300, seed=1)))
    stopped = compiled.solve(
        options=HighsOptions({"simplex_iteration_limit": 0, "presolve": "off"}),
        raise_on_failure=False,
    )
    assert not stopped.ok
    assert compiled.solve().ok


def test_the_registry_names_the_presets_each_method_uses(used: list[Any]) -> None:
    from slotopt.methods import MATCHING_METHODS, SECOND_STAGES

    presets = _copies()
    inst = cases.footnote4()
    order = priority_order(inst.priority, inst.applicant_ids, 0)
    matched = slotopt.solve(inst, seed=0).matched
    runs: dict[str, list[dict[str, Any]]] = {"lexicographic": [{}, {"levels": "tiers"}]}
    for facts in [*MATCHING_METHODS.values(), *SECOND_STAGES.values()]:
        seen: set[str] = set()
        for extra in runs.get(facts.name, [{}]):
            used.clear()
            first = order if facts.name in MATCHING_METHODS else matched
            if facts.needs_highs:
                facts.load()(inst, first, presets=presets, **extra)
            else:
                facts.load()(inst, first)
            seen |= set(_names(presets, used))
        assert seen == set(facts.presets), facts.name
