"""slotopt export writes files HiGHS reads back with the same optimum we compute."""

from __future__ import annotations

from pathlib import Path

import highspy
import numpy as np
import pandas as pd
import pytest

import slotopt
from slotopt.engines.matching.order import positions_from_order, priority_order
from slotopt.formulations.matching.second_stage import min_rank_assignment
from slotopt.instance import load_instance, write_instance
from slotopt.run.cli import main
from tests.matching import cases

pytestmark = pytest.mark.solver

WEEK = "instances/prefecture-week"


def _highs(path: Path) -> highspy.Highs:
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    assert h.readModel(str(path)) == highspy.HighsStatus.kOk
    h.run()
    return h


@pytest.fixture
def week(repo: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(repo)
    return load_instance(WEEK)


@pytest.mark.parametrize("fmt", ["lp", "mps"])
def test_max_appointments_optimum_is_the_greedy_count(week, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"m.{fmt}"
    assert (
        main(["export", WEEK, "--model", "max-appointments", "--format", fmt, "--out", str(out)])
        == 0
    )
    h = _highs(out)
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    # Theorem 1: Algorithm 1 (the greedy, no LP involved) serves the maximum number
    greedy = slotopt.solve(week, method="greedy", seed=3)
    assert h.getInfo().objective_function_value == pytest.approx(greedy.n_matched)


@pytest.mark.parametrize("model", ["weighted-lp", "lexicographic_tiers"])
@pytest.mark.parametrize("fmt", ["lp", "mps"])
def test_weighted_optimum_is_the_weight_of_algorithm_1s_set(
    week, tmp_path: Path, fmt: str, model: str
) -> None:
    out = tmp_path / f"w.{fmt}"
    argv = ["export", WEEK, "--model", model, "--format", fmt, "--out", str(out), "--seed", "3"]
    assert main(argv) == 0
    h = _highs(out)
    order = priority_order(week.priority, week.applicant_ids, 3)
    position = positions_from_order(order)
    greedy = slotopt.solve(week, method="greedy", seed=3)
    # weights |A| + 1 - position (models/weighted_lp.md), summed over the greedy's set
    expected = float((week.n_applicants + 1 - position[greedy.matched]).sum())
    assert h.getInfo().objective_function_value == pytest.approx(expected)


def test_feasibility_of_everyone_and_of_a_given_set(week, tmp_path: Path) -> None:
    out = tmp_path / "f.lp"
    assert (
        main(["export", WEEK, "--model", "feasibility", "--format", "lp", "--out", str(out)]) == 0
    )
    # 300 applicants, 229 appointments: not everyone
    assert _highs(out).getModelStatus() == highspy.HighsModelStatus.kInfeasible
    greedy = slotopt.solve(week, method="greedy", seed=3)
    chosen = tmp_path / "chosen.csv"
    pd.DataFrame({"applicant_id": week.applicant_ids[greedy.matched]}).to_csv(chosen, index=False)
    argv = [
        "export",
        WEEK,
        "--model",
        "feasibility",
        "--format",
        "mps",
        "--out",
        str(tmp_path / "f.mps"),
        "--must-match",
        str(chosen),
    ]
    assert main(argv) == 0
    assert _highs(tmp_path / "f.mps").getModelStatus() == highspy.HighsModelStatus.kOptimal


def test_second_stage_optimum(week, tmp_path: Path) -> None:
    out = tmp_path / "s.mps"
    argv = [
        "export",
        WEEK,
        "--model",
        "second-stage",
        "--format",
        "mps",
        "--out",
        str(out),
        "--seed",
        "3",
    ]
    assert main(argv) == 0
    greedy = slotopt.solve(week, method="greedy", seed=3)
    _, info = min_rank_assignment(week, greedy.matched)
    assert _highs(out).getInfo().objective_function_value == pytest.approx(info["objective"])


def test_refuses_to_overwrite_without_force(week, tmp_path: Path) -> None:
    out = tmp_path / "m.lp"
    out.write_text("keep me")
    argv = ["export", WEEK, "--model", "max-appointments", "--format", "lp", "--out", str(out)]
    assert main(argv) == 2
    assert out.read_text() == "keep me"
    assert main([*argv, "--force"]) == 2  # --force replaces only a model file slotopt wrote
    assert out.read_text() == "keep me"
    out.unlink()
    assert main(argv) == 0
    inode = out.stat().st_ino
    assert main([*argv, "--force"]) == 0  # its own file: replaced (a new file renamed in)
    assert out.stat().st_ino != inode
    assert [p.name for p in tmp_path.iterdir()] == ["m.lp"]  # no temporary file left behind


def test_bad_input_exits_2(week, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "x.lp")
    assert main(["export", WEEK, "--model", "nonsense", "--format", "lp", "--out", out]) == 2
    assert "--model" in capsys.readouterr().err
    assert (
        main(
            [
                "export",
                str(tmp_path / "nowhere"),
                "--model",
                "max-appointments",
                "--format",
                "lp",
                "--out",
                out,
            ]
        )
        == 2
    )
    bad = tmp_path / "bad.csv"
    bad.write_text("applicant_id\nNOBODY\n")
    assert (
        main(
            [
                "export",
                WEEK,
                "--model",
                "feasibility",
                "--format",
                "lp",
                "--out",
                out,
                "--must-match",
                str(bad),
            ]
        )
        == 2
    )
    assert "NOBODY" in capsys.readouterr().err
    # a seedless instance cannot fix the lottery order by itself
    folder = write_instance(cases.chain(), tmp_path / "chain")
    assert (
        main(["export", str(folder), "--model", "weighted-lp", "--format", "lp", "--out", out]) == 2
    )
    assert "--seed" in capsys.readouterr().err
    assert not Path(out).exists()


def test_unused_slots_are_not_written(tmp_path: Path) -> None:
    # slots nobody accepts or with capacity 0 are left out of the models (they serve nobody)
    inst = cases.build({"s1": 1, "s2": 0, "s3": 4}, {"a": 1}, [("a", "s1"), ("a", "s2")])
    folder = write_instance(inst, tmp_path / "tiny")
    out = tmp_path / "t.lp"
    assert (
        main(
            [
                "export",
                str(folder),
                "--model",
                "max-appointments",
                "--format",
                "lp",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    text = out.read_text()
    assert "slot_capacity(0)" in text and "slot_capacity(1)" not in text
    assert np.isclose(_highs(out).getInfo().objective_function_value, 1.0)
