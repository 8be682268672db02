"""``slotopt.solve`` on offer-set instances: the result object, its folder, verification, docs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import slotopt
from slotopt import VerificationError
from slotopt._atomic import OutputExistsError
from slotopt.engines.offer_set.dp import DPSolution, backward_induction
from slotopt.instance.offer_set import offer_set_from_dict
from slotopt.run.solve_offer_set import OfferSetResult, solve_offer_set
from slotopt.verify.offer_set import check_offer_set

from .brute import Case

SMALL = Case((2, 2), (2.0, 1.0), 1.5, (0.5,) * 6, 1.0, 4.0)


@pytest.fixture(scope="module")
def paper_result() -> OfferSetResult:
    root = Path(__file__).resolve().parents[2]
    return slotopt.solve(root / "instances" / "offer-set-paper", verify=True, n_runs=2000)


def test_result_fields_and_summary(paper_result: OfferSetResult) -> None:
    res = paper_result
    assert res.method == "dp" and res.seed == 20240704  # the instance's seed
    assert res.values.shape == (9, 6) and res.policy.shape == (8, 6, 2)
    assert res.verification is not None and res.verification.ok
    assert res.verification.matches_reference is True
    s = res.summary()
    for key in ("kind", "name", "method", "seed", "optimal_value", "rules", "seconds"):
        assert key in s
    assert s["kind"] == "offer_set" and set(s["rules"]) == {
        "no_blocking",
        "r_low",
        "r_one",
        "r_myopic",
    }
    assert s["input_sha256"].keys() == {"instance.json"}
    assert s["verified"] is True
    json.dumps(s)  # serialisable
    assert "offer-set-paper: optimal expected revenue 2.67347" in res.report()


def test_tables(paper_result: OfferSetResult) -> None:
    tables = paper_result.tables()
    pol = tables["policy"]
    assert list(pol.columns) == [
        "period",
        "state_preferred",
        "state_less-preferred",
        "offered_preferred",
        "offered_less-preferred",
    ]
    assert len(pol) == 8 * 6
    row = pol[
        (pol.period == 1) & (pol["state_preferred"] == 2) & (pol["state_less-preferred"] == 1)
    ]
    assert row[["offered_preferred", "offered_less-preferred"]].values.tolist() == [[2, 0]]
    rules = tables["rules"]
    assert rules["rule"].tolist() == ["optimal", "no_blocking", "r_low", "r_one", "r_myopic"]
    for col in ("expected_revenue", "gap_pct", "mc_mean", "mc_ci_low", "mc_ci_high"):
        assert col in rules.columns
    assert (rules["gap_pct"] >= 0).all()


def test_to_folder(paper_result: OfferSetResult, tmp_path: Path) -> None:
    out = paper_result.to_folder(tmp_path / "out")
    assert sorted(p.name for p in out.iterdir()) == [
        "policy.csv",
        "policy.png",
        "rules.csv",
        "summary.json",
    ]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["optimal_value"] == paper_result.optimal_value
    pd.testing.assert_frame_equal(pd.read_csv(out / "rules.csv"), paper_result.tables()["rules"])
    with pytest.raises(OutputExistsError):
        paper_result.to_folder(tmp_path / "out")
    paper_result.to_folder(tmp_path / "out", force=True)


def test_absent_parts_are_none_or_empty() -> None:
    inst = offer_set_from_dict(SMALL.spec())
    res = solve_offer_set(inst, seed=5, n_runs=0, rules=())
    assert res.optimal_monte_carlo is None and res.verification is None
    assert dict(res.rules) == {}
    assert res.summary()["rules"] == {} and res.summary()["verified"] is None
    assert res.tables()["rules"]["rule"].tolist() == ["optimal"]
    assert res.tables()["rules"]["mc_mean"].isna().all()


def test_enumerate_method_agrees_and_options_are_checked() -> None:
    inst = offer_set_from_dict(SMALL.spec())
    a = slotopt.solve(inst, seed=1, n_runs=0)
    b = slotopt.solve(inst, method="enumerate", seed=1, n_runs=0)
    np.testing.assert_allclose(a.values, b.values, rtol=1e-13)
    assert b.method == "enumerate"
    with pytest.raises(ValueError, match="unknown offer_set method"):
        slotopt.solve(inst, method="greedy")
    with pytest.raises(ValueError, match="unknown option"):
        slotopt.solve(inst, n_run=5)
    with pytest.raises(ValueError, match="unknown rule"):
        slotopt.solve(inst, rules=("r_best",))
    with pytest.raises(ValueError, match="seed"):
        slotopt.solve(inst, seed=-1)


def test_seed_is_drawn_and_recorded_when_absent() -> None:
    inst = offer_set_from_dict(SMALL.spec())
    res = solve_offer_set(inst, n_runs=10)
    assert isinstance(res.seed, int) and res.seed >= 0


def test_verification_catches_a_wrong_solution() -> None:
    inst = offer_set_from_dict(SMALL.spec())
    sol = backward_induction(inst)
    policy = sol.policy.copy()
    full = sol.space.full
    policy[-1, full] = 0  # show nothing with everything free: feasible but not optimal
    wrong_policy = DPSolution(sol.values, policy, sol.space, "tampered")
    report = check_offer_set(inst, wrong_policy)
    assert not report.ok and not report.policy_value
    values = sol.values.copy()
    values[-1, full] += 0.01
    report = check_offer_set(inst, DPSolution(values, sol.policy, sol.space, "x"), reference=sol)
    assert report.matches_reference is False and not report.ok
    nob = solve_offer_set(inst, seed=0, n_runs=0).rules["no_blocking"].values
    report = check_offer_set(inst, sol, rule_values={"too-good": nob + 1})
    assert not report.dominates_rules


def test_verify_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    import slotopt.engines.offer_set.dp as mod  # where the registry's DP methods live

    inst = offer_set_from_dict(SMALL.spec())

    def broken(inst: object, *, method: str = "sort") -> DPSolution:
        sol = backward_induction(inst, method=method)  # type: ignore[arg-type]
        pol = sol.policy.copy()
        pol[-1, sol.space.full] = 0
        return DPSolution(sol.values, pol, sol.space, method)

    monkeypatch.setattr(mod, "backward_induction", broken)
    with pytest.raises(VerificationError, match="failed its certificates"):
        slotopt.solve(inst, seed=0, n_runs=0, verify=True)


@pytest.mark.slow
def test_realistic_day_solves_and_verifies(repo: Path) -> None:
    res = slotopt.solve(repo / "instances" / "offer-set-day", verify=True, n_runs=1000)
    assert res.verification is not None and res.verification.ok
    assert res.values.shape == (97, 6561)
    assert all(v <= res.optimal_value + 1e-9 for v in res.rule_values().values())
