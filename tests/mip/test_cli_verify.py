"""slotopt verify through main(argv): agreement exits 0, any disagreement or failed certificate
exits 1, bad input exits 2."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from slotopt.instance import MatchingInstance, write_instance
from slotopt.instance.generate import generate_prefecture
from slotopt.methods import MATCHING_METHODS
from slotopt.run.cli import main
from slotopt.verify import cross_validate as cv
from tests.matching import cases

pytestmark = pytest.mark.solver


@pytest.fixture(autouse=True)
def _at_repo(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo)


@pytest.mark.parametrize("folder", ["instances/arnosti-footnote4", "instances/prefecture-week"])
def test_shipped_instances_agree(folder: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", folder]) == 0
    out = capsys.readouterr().out
    for method in ("greedy", "naive", "lp", "lexicographic"):
        assert method in out
    assert "agree" in out


def test_second_stage_and_tiers(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "verify",
        "instances/prefecture-week",
        "--methods",
        "greedy,lp,lexicographic",
        "--second-stage",
        "min-rank",
        "--levels",
        "tiers",
        "--seed",
        "9",
    ]
    assert main(argv) == 0
    assert "seed 9" in capsys.readouterr().out


def test_serial_dictatorship_disagrees_on_footnote4(capsys: pytest.CaptureFixture[str]) -> None:
    # Arnosti's footnote 4: the serial dictatorship gives A the morning and leaves B out, so it
    # serves a different (smaller) set and fails maximality and priority respect
    argv = ["verify", "instances/arnosti-footnote4", "--methods", "greedy,serial-dictatorship"]
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert "DISAGREEMENT" in out
    assert "serial-dictatorship: matched set differs" in out
    assert "certificate(s) failed" in out


def test_a_broken_method_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = replace(MATCHING_METHODS["lp"], target="tests.mip.test_cli_verify:_nobody")
    monkeypatch.setitem(MATCHING_METHODS, "lp", broken)
    df = cv.cross_validate(cases.chain(), ("greedy", "lp"), seed=0)
    assert not df.attrs["agree"]
    assert df.set_index("method").loc["lp", "same_matched_set"] is False
    assert any("lp" in line for line in cv.disagreements(df))


def _nobody(inst: MatchingInstance, order: np.ndarray, **options: Any) -> np.ndarray:
    """A broken "method" that serves nobody: cross-validation must catch it."""
    return np.full(inst.n_applicants, -1)


def test_naive_is_skipped_on_large_instances(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inst = generate_prefecture(1200, seed=4, n_slots=140, pairs_per_applicant=6)
    folder = write_instance(inst, tmp_path / "big")
    df = cv.cross_validate(inst, ("greedy", "naive", "lp"), seed=1, naive_max_applicants=1000)
    row = df.set_index("method").loc["naive"]
    assert str(row["status"]).startswith("skipped")
    assert df.attrs["agree"]
    assert main(["verify", str(folder), "--methods", "greedy,lp"]) == 0


def test_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "instances/prefecture-week", "--methods", "greedy,magic"]) == 2
    assert "magic" in capsys.readouterr().err
    assert main(["verify", str(tmp_path / "missing")]) == 2
    assert main(["verify", "instances/offer-set-day"]) == 2
    assert "matching" in capsys.readouterr().err


def test_table_has_one_row_per_method_and_every_column() -> None:
    df = cv.cross_validate(cases.footnote4(), seed=0, second_stage="min-rank")
    assert list(df["method"]) == list(cv.DEFAULT_METHODS)
    assert {
        "n_matched",
        "same_matched_set",
        "certificates_ok",
        "total_rank",
        "second_stage_objective",
        "seconds",
        "status",
    } <= set(df.columns)
    assert isinstance(df, pd.DataFrame)
    # footnote 4 by hand: both served; A afternoon (rank 2) + B morning (rank 1) = 3
    assert (df["n_matched"] == 2).all()
    assert (df["second_stage_objective"] == 3).all()
    assert (df["total_rank"] == 3).all()
