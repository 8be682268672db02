"""Regression: two solves with different ``threads`` in one process.

HiGHS 1.16 starts one task scheduler per thread on the first ``run()`` and refuses a later solve
in that thread asking for another thread count: ``run()`` returns an error and the model status
stays "Not Set". The solver module ignored that status and reported "stopped with unknown; raise
the time limit". These tests pin the fix (the scheduler is reset deliberately), the status check
behind it (switch the reset off and the error, with HiGHS's own words, must surface), and that
HiGHS prints nothing unless asked for a log.
"""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest

import slotopt
from slotopt.errors import SolverError
from slotopt.formulations import solver
from slotopt.formulations.matching_models import build_max_appointments
from slotopt.formulations.solver import (
    SolutionStatus,
    StopReason,
    compile_model,
    solve_model,
)
from tests.matching import cases

pytestmark = pytest.mark.solver


def _max_chain(**options: object) -> solver.SolveOutcome:
    # chain: a1 {s1, s2}, a2 {s1}, a3 {s2}, one seat each: at most 2 served (by hand)
    return solve_model(build_max_appointments(cases.chain()), **options)  # type: ignore[arg-type]


def test_two_solves_with_different_threads_in_one_process() -> None:
    first = _max_chain(threads=1)
    second = _max_chain(threads=2)
    third = _max_chain()  # HiGHS's default after an explicit count
    fourth = _max_chain(threads=1)
    for out in (first, second, third, fourth):
        assert out.stop is StopReason.optimal and out.solution is SolutionStatus.optimal
        assert out.objective == pytest.approx(2.0)


def test_second_stage_with_threads_after_an_earlier_solve() -> None:
    # the full-run failure of test_second_stage_options: an earlier solve in the process had
    # started HiGHS's scheduler with its default thread count
    inst = cases.footnote4()
    slotopt.solve(inst, method="lp", seed=0, threads=2)
    best = slotopt.solve(inst, seed=0, second_stage="min-rank", threads=1, verify=True)
    # Footnote 4 by hand: serving both forces B morning (rank 1), A afternoon (rank 2)
    assert best.n_matched == 2 and best.total_rank == 3


def _no_reset(monkeypatch: pytest.MonkeyPatch) -> None:
    """Switch the deliberate scheduler reset off, so the clash HiGHS refuses happens."""

    def start_only(highspy: object, threads: int | None) -> None:
        if solver._scheduler.threads is None:
            solver._scheduler.threads = 0 if threads is None else int(threads)

    monkeypatch.setattr(solver, "_prepare_threads", start_only)


def test_a_refused_run_is_an_error_with_highs_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _max_chain(threads=1)
    _no_reset(monkeypatch)
    compiled = compile_model(build_max_appointments(cases.chain()))
    out = compiled.solve(threads=2, raise_on_failure=False)
    assert out.stop is StopReason.error and out.solution is SolutionStatus.none
    assert "scheduler" in out.message
    with pytest.raises(SolverError, match="scheduler") as caught:
        compiled.solve(threads=2)
    assert "time limit" not in str(caught.value)


def test_a_refused_re_solve_keeps_nothing_of_the_last_solution(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the compiled model's last solve was optimal; a refused run must not report that again
    compiled = compile_model(build_max_appointments(cases.chain()))
    assert compiled.solve(threads=1).ok
    _no_reset(monkeypatch)
    out = compiled.solve(threads=2, raise_on_failure=False)
    assert out.stop is StopReason.error and out.solution is SolutionStatus.none
    assert out.objective is None
    with pytest.raises(SolverError, match="no solution to read"):
        compiled.values()


def test_a_bad_option_value_names_highs_reason() -> None:
    with pytest.raises(SolverError, match="threads=-3"):
        _max_chain(threads=-3)


def _stopped(stop: StopReason, message: str) -> solver.SolveOutcome:
    return solver.SolveOutcome(
        stop=stop,
        solution=SolutionStatus.none,
        objective=None,
        bound=None,
        seconds=0.0,
        message=message,
    )


def test_time_limit_advice_only_for_a_time_limit() -> None:
    with pytest.raises(SolverError) as caught:
        solver.raise_for_outcome(_stopped(StopReason.unknown, "ERROR: x"), time_limit=5)
    assert "time limit" not in str(caught.value) and "ERROR: x" in str(caught.value)
    timed = _stopped(StopReason.time_limit, "Time limit reached")
    with pytest.raises(SolverError, match="after 5 s.*raise the time limit"):
        solver.raise_for_outcome(timed, time_limit=5)


def test_nothing_of_highs_on_stdout_in_a_fresh_process() -> None:
    # a fresh interpreter: the banner is printed by the first Highs object of a process
    code = (
        "import slotopt\n"
        "from tests.matching import cases\n"
        "inst = cases.footnote4()\n"
        "slotopt.solve(inst, method='lp', seed=0)\n"
        "slotopt.solve(inst, method='lexicographic', seed=0, second_stage='rank-maximal')\n"
        "from slotopt.formulations.assortment import assortment_problem, best_offer\n"
        "from slotopt.engines.offer_set.choice import ChoiceModel, LinearRamp\n"
        "best_offer(assortment_problem(ChoiceModel((5.0, 1.0), 0.5, LinearRamp(0, 3)), [2, 1]))\n"
        "print('done')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert proc.stdout == "done\n"
    assert "HiGHS" not in proc.stderr


def test_log_goes_where_asked(capfd: pytest.CaptureFixture[str]) -> None:
    stream = io.StringIO()
    _max_chain(log=stream)
    assert "Model status        : Optimal" in stream.getvalue()
    quiet = _max_chain()
    assert quiet.ok
    out, err = capfd.readouterr()
    assert out == "" and "Model status" not in err
    other = io.StringIO()
    compiled = compile_model(build_max_appointments(cases.chain()))
    compiled.solve(log=other)
    assert "Model status        : Optimal" in other.getvalue()
    compiled.solve()  # the next solve without a log writes nowhere, not to the last stream
    assert other.getvalue().count("Model status") == 1
    out, err = capfd.readouterr()
    assert out == "" and "Model status" not in err


def test_log_true_writes_to_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    _max_chain(log=True)
    out, err = capfd.readouterr()
    assert out == ""
    assert "Model status        : Optimal" in err


def test_solve_takes_log(capfd: pytest.CaptureFixture[str]) -> None:
    stream = io.StringIO()
    res = slotopt.solve(cases.footnote4(), method="lp", seed=0, log=stream)
    assert res.n_matched == 2
    assert "Model status        : Optimal" in stream.getvalue()
    assert capfd.readouterr().out == ""


def test_second_stage_takes_threads_twice_in_a_row() -> None:
    inst = cases.footnote4()
    for threads in (1, 2):
        res = slotopt.solve(inst, seed=0, second_stage="min-rank", threads=threads)
        assert np.array_equal(res.matched, slotopt.solve(inst, seed=0).matched)
        assert res.total_rank == 3
