"""``slotopt simulate market``: the result folder, determinism and the output contract."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slotopt.run.cli import main
from tests.market.configs import small


def write(tmp_path: Path, **changes: object) -> Path:
    cfg = tmp_path / "market.json"
    cfg.write_text(json.dumps(small(rounds=20, **changes)))
    return cfg


def run(cfg: Path, out: Path, *extra: str) -> int:
    return main(["simulate", "market", str(cfg), "--out", str(out), *extra])


def summary_without_timings(folder: Path) -> str:
    data = json.loads((folder / "summary.json").read_text())
    data.pop("seconds")
    return json.dumps(data, sort_keys=True)


def test_result_folder_has_the_promised_files_and_keys(tmp_path: Path) -> None:
    cfg = write(
        tmp_path,
        compare_applicants=20,
        sweep={"applicants": [20, 60], "fake_pass": [0, 1], "rounds": 10, "seeds": 2},
    )
    assert run(cfg, tmp_path / "out") == 0
    out = tmp_path / "out"
    names = {p.name for p in out.iterdir()}
    assert names == {
        "summary.json",
        "rounds.csv",
        "situations.csv",
        "sweep.csv",
        "entry_rate.png",
        "welfare.png",
        "sweep.png",
    }
    s = json.loads((out / "summary.json").read_text())
    for system in ("fcfs", "batch"):
        for key in (
            "scalper_enters",
            "scalper_profit",
            "scalper_share",
            "applicant_welfare",
            "slots_wasted",
            "paid_share",
            "model",
        ):
            assert key in s[system], (system, key)
        assert s[system]["model"]["system"] == system
    assert s["compare"]["applicants"] == 20 and "fcfs" in s["compare"]
    assert s["sweep"]["cells"] == 4
    rounds = (out / "rounds.csv").read_text().splitlines()
    assert len(rounds) == 1 + 4 * 3 * 20  # four situations, three seeds, twenty rounds


def test_same_seed_same_run_byte_for_byte_apart_from_timings(tmp_path: Path) -> None:
    cfg = write(tmp_path)
    assert run(cfg, tmp_path / "a") == 0
    assert run(cfg, tmp_path / "b") == 0
    assert summary_without_timings(tmp_path / "a") == summary_without_timings(tmp_path / "b")
    for name in ("rounds.csv", "situations.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert run(cfg, tmp_path / "c", "--seed", "99") == 0
    assert (tmp_path / "a" / "rounds.csv").read_bytes() != (
        tmp_path / "c" / "rounds.csv"
    ).read_bytes()


def test_existing_output_is_kept_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    assert run(cfg, out) == 2
    assert "--force" in capsys.readouterr().err
    assert (out / "mine.txt").read_text() == "keep me"
    # --force replaces only a folder slotopt wrote itself, never one holding a user's files
    assert run(cfg, out, "--force") == 2
    assert "not written by slotopt" in capsys.readouterr().err
    assert (out / "mine.txt").read_text() == "keep me"
    (out / "mine.txt").unlink()
    out.rmdir()
    assert run(cfg, out) == 0
    assert run(cfg, out, "--force") == 0 and (out / "summary.json").is_file()


def test_no_progress_bar_when_stderr_is_not_a_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(write(tmp_path), tmp_path / "out") == 0
    assert capsys.readouterr().err == ""


def test_negative_seed_is_a_usage_error(tmp_path: Path) -> None:
    assert run(write(tmp_path), tmp_path / "out", "--seed", "-1") == 2
    assert not (tmp_path / "out").exists()


def test_a_market_instance_folder_solves_through_slotopt_solve(tmp_path: Path) -> None:
    import slotopt
    from slotopt.errors import UsageError

    folder = tmp_path / "market"
    folder.mkdir()
    (folder / "instance.json").write_text(json.dumps(small(rounds=6)))
    inst = slotopt.load_instance(folder)
    assert inst.kind == "market" and inst.input_sha256.keys() == {"instance.json"}
    result = slotopt.solve(folder, seed=3)
    assert result.summary()["seed"] == 3 and {"fcfs", "batch"} <= result.summary().keys()
    for bad in ({"method": "greedy"}, {"verify": True}, {"rounds": 3}):
        with pytest.raises(UsageError):
            slotopt.solve(inst, **bad)


def test_progress_is_drawn_on_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    from slotopt.run import progress

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(progress, "DELAY", 0.0)  # a small run finishes within the quiet second
    monkeypatch.delenv("SLOTOPT_PROGRESS", raising=False)
    assert run(write(tmp_path), tmp_path / "out") == 0
    err = capsys.readouterr().err
    assert "simulate market small" in err and err.endswith("\n")
