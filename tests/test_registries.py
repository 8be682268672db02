"""Every entry of the string registries (KINDS, SOLVERS, the matching methods and second stages,
the CLI's command modules) names something that exists and has the documented shape, so a misspelt
entry fails here rather than when a user reaches it (docs/design.md, "the string registries")."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from slotopt.instance import KINDS
from slotopt.methods import MATCHING_METHODS, SECOND_STAGES, Method, load
from slotopt.run.cli import command_modules
from slotopt.run.solve import SOLVERS


def _parameters(fn: Callable[..., Any]) -> dict[str, inspect.Parameter]:
    return dict(inspect.signature(fn).parameters)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_names_a_loader_of_folder_spec_and_hash(kind: str) -> None:
    params = _parameters(KINDS[kind])
    assert len([p for p in params.values() if p.default is p.empty]) == 3, params


@pytest.mark.parametrize("kind", sorted(SOLVERS))
def test_every_solver_takes_the_documented_keywords(kind: str) -> None:
    params = _parameters(load(SOLVERS[kind]))
    for name in ("method", "seed", "verify"):
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY, (kind, name)
    assert any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    assert kind in KINDS  # a solver without a loader could never be reached


@pytest.mark.parametrize(
    "method", [*MATCHING_METHODS.values(), *SECOND_STAGES.values()], ids=lambda m: m.name
)
def test_every_method_and_second_stage_resolves(method: Method) -> None:
    fn = load(method.target)
    assert callable(fn) and len(_parameters(fn)) >= 2


@pytest.mark.parametrize("module", command_modules(), ids=lambda m: m.__name__.rsplit(".")[-1])
def test_every_command_module_adds_a_parser_that_runs(module: ModuleType) -> None:
    assert callable(module.add_parser)
    # a command runs through run(args) or through sub-commands that set their own run
    assert callable(getattr(module, "run", None)) or "set_defaults(run=" in inspect.getsource(
        module
    )


def test_a_misspelt_entry_fails_to_resolve() -> None:
    with pytest.raises(AttributeError):
        load("slotopt.engines.matching.greedy:greedy_matchnig")
    with pytest.raises(ModuleNotFoundError):
        load("slotopt.engines.matching.gredy:greedy_matching")
