"""One failure policy for the solve and the verification: on_failure="raise" | "record".

A recorded failure is not disguised: the result carries each step's StopReason and
SolutionStatus, the verification outcome and the message; report(), summary.json and the CLI's
exit code show it; a failed second stage keeps the first stage's matched set.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import slotopt
from slotopt.errors import SolverError, UsageError, VerificationError
from slotopt.formulations.solver import SolutionStatus, StopReason
from slotopt.instance import write_instance
from slotopt.instance.generate import generate_prefecture
from slotopt.methods import MATCHING_METHODS
from slotopt.run.cli import main
from slotopt.run.outcome import VerificationOutcome
from tests.matching import cases

pytestmark = pytest.mark.solver


@pytest.fixture(scope="module")
def day() -> slotopt.MatchingInstance:
    return generate_prefecture(300, seed=1)


def test_a_failed_second_stage_keeps_the_first_stage_matched_set(
    day: slotopt.MatchingInstance,
) -> None:
    # Regression: the failed second stage returned an empty schedule and report() said
    # "matched 0" although the first stage had matched most of the 300 applicants.
    first = slotopt.solve(day, seed=0)
    assert 0 < first.n_matched < day.n_applicants
    # time_limit=0 stops the second stage before HiGHS has done anything; the greedy itself
    # takes no time limit, so only the second stage fails
    result = slotopt.solve(
        day, seed=0, second_stage="min-rank", time_limit=0, on_failure="record", verify=True
    )
    assert np.array_equal(result.slot_of, first.slot_of)  # the method's whole schedule
    assert result.n_matched == first.n_matched
    method, stage = result.stages
    assert method.ok and method.stop is StopReason.optimal
    assert stage.stage == "second_stage" and stage.stop is StopReason.time_limit
    assert stage.solution is SolutionStatus.none and "time_limit" in stage.message
    assert result.status is StopReason.time_limit
    assert result.solution is SolutionStatus.feasible  # valid, just not rank-optimal
    assert result.verification_outcome is VerificationOutcome.passed
    assert not result.ok and result.failure == stage.message
    text = result.report()
    assert f"matched {first.n_matched} of 300 applicants" in text
    assert "FAILED: second stage min-rank stopped with time_limit" in text
    assert f"kept the greedy method's schedule: its {first.n_matched} matched" in text
    assert "(second stage min-rank)" not in text  # the total rank is the method's
    with pytest.raises(SolverError, match="time_limit"):
        slotopt.solve(day, seed=0, second_stage="min-rank", time_limit=0)


def test_the_recorded_failure_reaches_summary_json(
    day: slotopt.MatchingInstance, tmp_path: Path
) -> None:
    result = slotopt.solve(day, seed=0, second_stage="min-rank", time_limit=0, on_failure="record")
    out = result.to_folder(tmp_path / "out")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["ok"] is False and summary["status"] == "time_limit"
    assert summary["solution"] == "feasible"
    assert summary["stages"]["method"]["stop"] == "optimal"
    assert summary["stages"]["second_stage"]["stop"] == "time_limit"
    assert summary["failure"] == result.failure
    assert summary["verification_outcome"] == "not_run"
    assert summary["n_matched"] == result.n_matched > 0


def test_a_failed_method_schedules_nobody_and_says_so(day: slotopt.MatchingInstance) -> None:
    result = slotopt.solve(
        day, method="lp", seed=0, second_stage="min-rank", time_limit=0, on_failure="record"
    )
    assert result.n_matched == 0
    (stage,) = result.stages  # the second stage needs the method's set: not run
    assert stage.stage == "method" and stage.stop is StopReason.time_limit
    assert result.solution is SolutionStatus.none
    text = result.report()
    assert "FAILED: method lp stopped with time_limit" in text
    assert "nobody is scheduled" in text and "second stage min-rank not run" in text


def test_a_solver_error_is_recorded_as_an_error_stage(monkeypatch: pytest.MonkeyPatch) -> None:
    from slotopt.formulations.matching import weighted_lp

    def broken(*args: object, **kwargs: object) -> None:
        raise SolverError("HiGHS refused the weighted LP (passModel failed)")

    monkeypatch.setattr(weighted_lp, "weighted_lp_matching", broken)
    result = slotopt.solve(cases.chain(), method="lp", seed=0, on_failure="record")
    assert result.status is StopReason.error and "passModel" in (result.failure or "")
    with pytest.raises(SolverError, match="passModel"):
        slotopt.solve(cases.chain(), method="lp", seed=0)


def test_a_failed_certificate_is_recorded(monkeypatch: pytest.MonkeyPatch) -> None:

    # a method that is not Algorithm 1 registered under the name of one
    serial = MATCHING_METHODS["serial-dictatorship"]
    monkeypatch.setitem(MATCHING_METHODS, "greedy", replace(serial, name="greedy"))
    result = slotopt.solve(cases.footnote4(), seed=0, verify=True, on_failure="record")
    assert result.verification_outcome is VerificationOutcome.failed
    assert result.stages[0].ok and not result.ok
    assert (result.failure or "").startswith("the greedy result for 'footnote4' failed")
    assert "verification: FAILED" in result.report()
    with pytest.raises(VerificationError):
        slotopt.solve(cases.footnote4(), seed=0, verify=True)


def test_raise_on_failure_is_a_deprecated_alias(day: slotopt.MatchingInstance) -> None:
    with pytest.warns(DeprecationWarning, match="on_failure"):
        result = slotopt.solve(day, method="lp", seed=0, time_limit=0, raise_on_failure=False)
    assert result.status is StopReason.time_limit and not result.ok
    with pytest.raises(UsageError, match="on_failure"), pytest.warns(DeprecationWarning):
        slotopt.solve(day, seed=0, raise_on_failure=False, on_failure="raise")


@pytest.mark.parametrize(
    "options",
    [
        {"on_failure": "ignore"},
        {"method": "lp", "time_limit": -1},
        {"method": "lp", "time_limit": float("nan")},
        {"method": "lp", "time_limit": "10"},
        {"method": "lp", "mip_gap": 2},
        {"method": "lp", "threads": -1},
        {"method": "lp", "threads": True},
        {"method": "lp", "log": 5},
        {"second_stage": "min-rank", "time_limit": -0.5},
        {"method": "greedy", "time_limit": 5},
        {"method": "lexicographic", "levels": "weeks"},
    ],
)
def test_bad_solver_arguments_are_usage_errors(options: dict[str, object]) -> None:
    with pytest.raises(UsageError):
        slotopt.solve(cases.chain(), seed=0, **options)


def test_the_cli_exits_1_on_a_recorded_failure_and_writes_the_folder(
    day: slotopt.MatchingInstance, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_instance(day, tmp_path / "day")
    out = tmp_path / "result"
    code = main(
        ["solve", str(folder), "--out", str(out), "--second-stage", "min-rank", "--time-limit", "0"]
    )
    assert code == 1
    summary = json.loads((out / "summary.json").read_text())
    assert summary["ok"] is False and summary["stages"]["second_stage"]["stop"] == "time_limit"
    printed = capsys.readouterr().out
    assert "FAILED: second stage min-rank" in printed
    assert main(["solve", str(folder), "--out", str(tmp_path / "fine")]) == 0


@pytest.mark.parametrize(
    "options",
    [
        {"method": "lp", "mip_gap": 0},
        {"method": "lp", "mip_gap": 1},
        {"method": "lp", "mip_gap": 0.25},
        {"method": "lp", "threads": 0},
        {"method": "lp", "time_limit": 0.5 * 60},
        {"method": "lp", "log": False},
    ],
)
def test_solver_arguments_at_their_bounds_are_accepted(options: dict[str, object]) -> None:
    assert slotopt.solve(cases.chain(), seed=0, **options).n_matched == 2


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"time_limit": -1}, "time_limit must be a number of seconds >= 0, got -1"),
        ({"mip_gap": "0.1"}, "mip_gap must be a number in [0, 1], got '0.1'"),
        ({"mip_gap": 1.5}, "mip_gap must be a number in [0, 1], got 1.5"),
        ({"threads": -2}, "threads must be an integer >= 0 (0: HiGHS's choice), got -2"),
        ({"log": 3}, "log must be True, False or a text stream, got 3"),
    ],
)
def test_bad_solver_arguments_say_what_is_expected(
    options: dict[str, object], message: str
) -> None:
    with pytest.raises(UsageError) as caught:
        slotopt.solve(cases.chain(), method="lp", seed=0, **options)
    assert str(caught.value) == message
