"""``slotopt generate`` through ``main(argv)``: it writes a loadable folder, records how it was
made, never overwrites without ``--force``, and turns bad arguments into exit 2 with nothing
written."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import numpy as np
import pytest

from slotopt import load_instance
from slotopt.instance.generate import generate_prefecture
from slotopt.run.cli import main

FILES = {"instance.json", "slots.csv", "applicants.csv", "acceptable.csv"}


def test_writes_a_loadable_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "week"
    assert main(["generate", str(out), "--applicants", "200", "--seed", "4"]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == 1 and "200 applicants" in printed[0] and str(out) in printed[0]
    assert {p.name for p in out.iterdir()} == FILES
    inst = load_instance(out)
    assert inst.n_applicants == 200 and inst.n_slots == 420 and inst.seed == 4
    expected = generate_prefecture(200, seed=4)
    np.testing.assert_array_equal(inst.acc_slot, expected.acc_slot)
    np.testing.assert_array_equal(inst.priority, expected.priority)


def test_records_the_regenerating_command(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    argv = ["generate", str(out), "--applicants", "500", "--slots", "300"]
    argv += ["--pairs-per-applicant", "9", "--seed", "7", "--name", "b"]
    assert main(argv) == 0
    spec = json.loads((out / "instance.json").read_text())
    assert spec["kind"] == "matching" and spec["name"] == "b" and spec["seed"] == 7
    assert spec["generated_by"] == (
        f"slotopt generate {out} --applicants 500 --seed 7 --slots 300 "
        "--pairs-per-applicant 9 --name b"
    )
    assert spec["generator"]["parameters"]["n_slots"] == 300
    # running the recorded command elsewhere gives the same tables byte for byte
    again = tmp_path / "again"
    words = shlex.split(spec["generated_by"])
    assert words[:3] == ["slotopt", "generate", str(out)]
    assert main(["generate", str(again), *words[3:]]) == 0
    for name in FILES - {"instance.json"}:
        assert (again / name).read_bytes() == (out / name).read_bytes()


def test_refuses_to_overwrite_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "week"
    assert main(["generate", str(out), "--applicants", "50", "--seed", "1"]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()
    assert main(["generate", str(out), "--applicants", "60", "--seed", "2"]) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "--force" in err and len(err.strip().splitlines()) == 1
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_force_replaces(tmp_path: Path) -> None:
    out = tmp_path / "week"
    assert main(["generate", str(out), "--applicants", "30", "--seed", "1"]) == 0
    assert main(["generate", str(out), "--applicants", "60", "--seed", "2", "--force"]) == 0
    assert {p.name for p in out.iterdir()} == FILES
    assert load_instance(out).n_applicants == 60
    assert [p.name for p in tmp_path.iterdir()] == ["week"]  # no temporary folders left


@pytest.mark.parametrize(
    "extra",
    [
        ["--applicants", "0"],
        ["--applicants", "ten"],
        ["--applicants", "10", "--seed", "-1"],
        ["--applicants", "10", "--slots", "0"],
        ["--applicants", "10", "--supply-ratio", "0"],
        ["--applicants", "10", "--pairs-per-applicant", "nan"],
        [],
    ],
)
def test_bad_arguments_exit_2_and_write_nothing(
    tmp_path: Path, extra: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "week"
    assert main(["generate", str(out), *extra]) == 2
    assert "error" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize(
    "extra",
    [
        ["--slots", "100", "--sites", "2"],  # either, not both
        ["--pairs-per-applicant", "1"],  # below one block at one site
    ],
)
def test_impossible_models_exit_2_with_one_line(
    tmp_path: Path, extra: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "week"
    assert main(["generate", str(out), "--applicants", "10", *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("slotopt generate: error:")
    assert not out.exists()


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "--help"]) == 0
    assert "--applicants" in capsys.readouterr().out
