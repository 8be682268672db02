"""One validator, every implementation: each matching method's result passes the independent
certificates (feasible, maximum, respects priorities) on the shipped and generated instances."""

from __future__ import annotations

from typing import Any

import pytest

import slotopt
from slotopt.instance import load_instance
from slotopt.instance.generate import generate_prefecture
from slotopt.verify.matching import check_matching
from tests.matching import cases

# (method, options, second stage): every way slotopt can produce a schedule that claims the
# certificates (serial dictatorship does not claim them and is not here)
METHODS: list[tuple[str, dict[str, Any], str | None]] = [
    ("greedy", {}, None),
    ("naive", {}, None),
    ("lp", {}, None),
    ("lexicographic", {"levels": "positions"}, None),
    ("lexicographic", {"levels": "tiers"}, None),
    ("greedy", {}, "min-rank"),
    ("lp", {}, "rank-maximal"),
]


def _instances() -> list[Any]:
    return [
        pytest.param(lambda: load_instance("instances/arnosti-footnote4"), id="footnote4"),
        pytest.param(lambda: load_instance("instances/prefecture-week"), id="prefecture-week"),
        pytest.param(cases.chain, id="chain"),
        pytest.param(cases.skip_inflexible, id="skip-inflexible"),
        pytest.param(
            lambda: generate_prefecture(400, seed=11, n_slots=60, pairs_per_applicant=6),
            id="generated-400",
        ),
    ]


@pytest.mark.solver
@pytest.mark.parametrize("make", _instances())
@pytest.mark.parametrize(
    ("method", "options", "second_stage"),
    METHODS,
    ids=[f"{m}-{o.get('levels', '')}-{s or ''}".strip("-") for m, o, s in METHODS],
)
def test_every_method_passes_the_certificates(
    make: Any,
    method: str,
    options: dict[str, Any],
    second_stage: str | None,
    repo: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(repo)
    inst = make()
    result = slotopt.solve(inst, method=method, seed=5, second_stage=second_stage, **options)
    report = check_matching(inst, result.slot_of, result.position)
    assert report.feasible, report.describe()
    assert report.maximum, report.describe()
    assert report.respects_priorities, report.describe()
