"""The CLI through ``main(argv)``: exit codes, result folders, explanations."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from slotopt.run.cli import command_names, main
from tests.matching.cases import SUMMARY_KEYS
from tests.matching.test_validation import folder


def test_solve_writes_the_result_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inst = folder(tmp_path)
    out = tmp_path / "res"
    assert main(["solve", str(inst), "--out", str(out), "--verify"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["assignment.csv", "summary.json"]
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary) >= SUMMARY_KEYS
    assert summary["verified"] is True and summary["seed"] == 3 and summary["n_matched"] == 3
    assignment = pd.read_csv(out / "assignment.csv")
    assert list(assignment.columns) == ["applicant_id", "slot_id", "position"]
    assert "matched 3 of 3" in capsys.readouterr().out


def test_solve_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inst, out = folder(tmp_path), tmp_path / "res"
    out.mkdir()
    (out / "mine.txt").write_text("precious")
    assert main(["solve", str(inst), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already exists" in err
    assert [p.name for p in out.iterdir()] == ["mine.txt"]
    # --force replaces only a folder slotopt wrote: not this one
    assert main(["solve", str(inst), "--out", str(out), "--force"]) == 2
    assert "was not written by slotopt" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["mine.txt"]
    res = tmp_path / "res2"
    assert main(["solve", str(inst), "--out", str(res)]) == 0
    assert main(["solve", str(inst), "--out", str(res), "--force", "--seed", "9"]) == 0
    assert json.loads((res / "summary.json").read_text())["seed"] == 9


def test_bad_input_exits_2_with_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inst = folder(tmp_path, slots_csv="slot_id,capacity\nm,-1\nn,1\n")
    out = tmp_path / "res"
    assert main(["solve", str(inst), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "slots.csv row 1, column capacity" in err
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".res")]


def test_explain(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # m (1 seat) is wanted by A (1st) and B (2nd); A can also use n (2 seats), C wants n.
    inst = folder(
        tmp_path,
        slots_csv="slot_id,capacity\nm,1\nn,1\n",
        applicants_csv="applicant_id,priority\nA,1\nB,2\nC,3\n",
        acceptable_csv="applicant_id,slot_id\nA,m\nA,n\nB,m\nC,n\n",
    )
    out = tmp_path / "res"
    assert main(["solve", str(inst), "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["explain", str(out), "C"]) == 0
    text = capsys.readouterr().out
    assert "could not be given an appointment" in text and "witness slots (2): m, n" in text
    assert main(["explain", str(out), "B"]) == 0
    assert "has an appointment: slot m" in capsys.readouterr().out
    assert main(["explain", str(out), "nobody"]) == 2


def test_explain_finds_a_relative_instance_from_another_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "project"
    work.mkdir()
    folder(work)
    monkeypatch.chdir(work)
    assert main(["solve", "inst", "--out", "results/r"]) == 0
    summary = json.loads((work / "results" / "r" / "summary.json").read_text())
    assert summary["instance"] == "inst"  # as named: no path of this machine
    assert summary["instance_from_result"] == os.path.join("..", "..", "inst")
    monkeypatch.chdir(tmp_path)  # "inst" does not exist from here
    assert main(["explain", "project/results/r", "A"]) == 0
    assert "A" in capsys.readouterr().out
    moved = tmp_path / "moved"
    work.rename(moved)  # the result and the instance moved together
    assert main(["explain", "moved/results/r", "A"]) == 0


def test_explain_without_its_instance_says_where_it_looked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    inst = folder(tmp_path)
    out = tmp_path / "res"
    assert main(["solve", str(inst), "--out", str(out)]) == 0
    shutil.rmtree(inst)
    capsys.readouterr()
    assert main(["explain", str(out), "A"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "key instance" in err and "pass --instance DIR" in err
    summary = json.loads((out / "summary.json").read_text())
    del summary["instance"]
    (out / "summary.json").write_text(json.dumps(summary))
    assert main(["explain", str(out), "A"]) == 2
    assert "no instance folder recorded" in capsys.readouterr().err


def test_explain_notices_a_changed_instance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inst = folder(tmp_path)
    out = tmp_path / "res"
    assert main(["solve", str(inst), "--out", str(out)]) == 0
    (inst / "slots.csv").write_text("slot_id,capacity,location\nm,1,Town hall\nn,5,Town hall\n")
    assert main(["explain", str(out), "A"]) == 2
    assert "changed since the result was computed" in capsys.readouterr().err


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert "slotopt" in capsys.readouterr().out
    assert main(["--help"]) == 0
    listed = capsys.readouterr().out
    for command in command_names():
        assert command in listed
        assert main([command, "--help"]) == 0, command
        assert "usage: slotopt " + command in capsys.readouterr().out


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no command given; choose one of solve" in err


def test_unknown_method_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["solve", str(folder(tmp_path)), "--out", str(tmp_path / "r"), "--method", "magic"])
        == 2
    )
    assert "unknown matching method" in capsys.readouterr().err


def test_result_folder_gets_the_usual_permissions(tmp_path: Path) -> None:
    import os

    umask = os.umask(0o022)
    try:
        out = tmp_path / "res"
        assert main(["solve", str(folder(tmp_path)), "--out", str(out)]) == 0
        assert out.stat().st_mode & 0o777 == 0o755
    finally:
        os.umask(umask)
