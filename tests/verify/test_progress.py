"""Progress is drawn on a terminal only: forced here with a stream that says it is a tty."""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import slotopt
from slotopt.engines.matching.order import priority_order
from slotopt.run import progress as progress_module
from slotopt.run.progress import Progress, on_terminal
from tests.matching import cases


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _terminal(monkeypatch: pytest.MonkeyPatch) -> FakeTerminal:
    """Make stderr a terminal for the rest of the test (patched in the test body: pytest's
    capture resets sys.stderr between a fixture's setup and the test)."""
    stream = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", stream)
    monkeypatch.setattr(progress_module, "INTERVAL", 0.0)  # draw on every call
    monkeypatch.setattr(progress_module, "DELAY", 0.0)  # and from the start
    monkeypatch.delenv("SLOTOPT_PROGRESS", raising=False)
    return stream


def test_a_bar_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    tty = _terminal(monkeypatch)
    with Progress("counting", 10) as bar:
        bar(5)
    text = tty.getvalue()
    assert "counting [############............]  50% 5/10" in text
    assert text.endswith("\n") and "counting: done in" in text


def test_an_unknown_size_shows_elapsed_time(monkeypatch: pytest.MonkeyPatch) -> None:
    tty = _terminal(monkeypatch)
    monkeypatch.setattr(progress_module, "TICK", 0.01)
    bar = Progress("solving")  # no callbacks: the ticker draws the elapsed time
    for _ in range(200):
        if "solving ... 0 s" in tty.getvalue():
            break
        time.sleep(0.01)
    bar.close("stopped")
    assert "solving ... 0 s" in tty.getvalue() and "solving: stopped in" in tty.getvalue()


def test_a_quick_step_draws_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    tty = _terminal(monkeypatch)
    monkeypatch.setattr(progress_module, "DELAY", 60.0)
    with Progress("counting", 10) as bar:
        bar(5)
    assert tty.getvalue() == ""


def test_nothing_off_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    plain = io.StringIO()
    with Progress("counting", 10, stream=plain) as bar:
        bar(5)
    assert plain.getvalue() == "" and not on_terminal(plain)
    monkeypatch.setenv("SLOTOPT_PROGRESS", "0")
    tty = FakeTerminal()
    with Progress("counting", 10, stream=tty) as bar:
        bar(5)
    assert tty.getvalue() == ""


def test_solve_draws_each_long_step_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    tty = _terminal(monkeypatch)
    inst = cases.chain()
    slotopt.solve(inst, method="naive", seed=0, verify=True)
    text = tty.getvalue()
    assert "method naive [" in text and "method naive: done in" in text
    assert "certificates: done in" in text
    slotopt.solve(inst, seed=0, second_stage="rank-maximal")
    assert "second stage rank-maximal: done in" in tty.getvalue()
    assert capfd.readouterr().out == ""  # never on stdout


def test_solve_prints_nothing_under_pytest(capfd: pytest.CaptureFixture[str]) -> None:
    slotopt.solve(cases.chain(), method="naive", seed=0, verify=True)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


@pytest.mark.solver
@pytest.mark.parametrize("levels", ["positions", "tiers"])
def test_the_lexicographic_sequence_reports_progress(levels: str) -> None:
    from slotopt.formulations.matching.lexicographic import lexicographic_matching

    inst = cases.chain()
    order = priority_order(inst.priority, inst.applicant_ids, 0)
    calls: list[tuple[int, int]] = []
    lexicographic_matching(inst, order, levels=levels, progress=lambda d, t: calls.append((d, t)))
    assert calls and all(0 <= d < t for d, t in calls)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_naive_and_certificates_report_every_applicant() -> None:
    from slotopt.engines.matching.naive import naive_matching
    from slotopt.verify.matching import check_matching

    inst = cases.chain()
    order = priority_order(inst.priority, inst.applicant_ids, 0)
    calls: list[tuple[int, int]] = []
    slot_of = naive_matching(inst, order, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(0, 3), (1, 3), (2, 3)]
    seen: list[tuple[int, int]] = []
    position = np.empty(3, dtype=np.int64)
    position[order] = np.arange(1, 4)
    assert check_matching(inst, slot_of, position, progress=lambda d, t: seen.append((d, t))).ok
    assert seen == [(0, 3)]  # every 256th applicant


@pytest.mark.solver
def test_cross_validate_and_slotopt_verify_report_methods(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    tty = _terminal(monkeypatch)
    from slotopt.instance import write_instance
    from slotopt.run.cli import main
    from slotopt.verify.cross_validate import cross_validate

    calls: list[tuple[int, int]] = []
    cross_validate(
        cases.chain(), ("greedy", "lp"), seed=0, progress=lambda d, t: calls.append((d, t))
    )
    assert calls == [(0, 2), (1, 2), (2, 2)]
    folder = write_instance(cases.chain(), tmp_path / "chain")
    assert main(["verify", str(folder), "--methods", "greedy,lp", "--seed", "0"]) == 0
    assert "verify: 2 methods [" in tty.getvalue()


def test_the_offer_set_steps_are_drawn(monkeypatch: pytest.MonkeyPatch) -> None:
    tty = _terminal(monkeypatch)
    from slotopt.instance.offer_set import offer_set_from_dict

    inst = offer_set_from_dict(
        {
            "slot_types": [{"name": "x", "capacity": 2, "weight": 1.0}],
            "horizon": 3,
            "arrival_rate": 0.5,
            "beta": 0.5,
        }
    )
    slotopt.solve(inst, seed=0, n_runs=10, verify=True)
    text = tty.getvalue()
    assert "dp over 3 states x 3 periods: done in" in text
    assert "rules (4) and 10 simulated horizons each: done in" in text
    assert "certificates: done in" in text
