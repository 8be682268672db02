"""The CLI's error contract, tried as a new user would: every mistake prints one line on stderr
and exits 2 with nothing written; Ctrl-C exits 130 and a closed pipe 141, neither with a
traceback; a listed command whose module is missing is an error naming it."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

import slotopt
from slotopt import UsageError
from slotopt.run.cli import main
from slotopt.run.matching_result import MatchingResult
from tests.matching.test_validation import folder

REPO = Path(__file__).resolve().parents[2]
OFFER_SET = REPO / "instances" / "offer-set-paper"


def one_line_error(capsys: pytest.CaptureFixture[str], *needles: str) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, err
    return err


def nothing_written(where: Path, *, allowed: set[str]) -> None:
    assert {p.name for p in where.iterdir()} == allowed


@pytest.mark.parametrize(
    ("setup", "needle"),
    [
        ("missing", "no such instance folder"),
        ("file", "is a file; expected an instance folder"),
        ("empty", "instance.json: file not found in"),
        ("tables only", "instance.json: file not found in"),
        ("bad json", "instance.json line 1, column 10: malformed JSON"),
        ("json list", "instance.json: expected a JSON object"),
        ("unknown kind", "instance.json, key kind"),
    ],
)
def test_solve_with_a_wrong_instance_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], setup: str, needle: str
) -> None:
    inst = tmp_path / "inst"
    if setup == "file":
        inst.write_text("hello")
    elif setup != "missing":
        inst.mkdir()
    if setup == "tables only":
        (inst / "slots.csv").write_text("slot_id,capacity\nm,1\n")
    if setup == "bad json":
        (inst / "instance.json").write_text('{"kind": }')
    if setup == "json list":
        (inst / "instance.json").write_text("[1, 2]")
    if setup == "unknown kind":
        (inst / "instance.json").write_text('{"kind": "lottery"}')
    before = {p.name for p in tmp_path.iterdir()}
    assert main(["solve", str(inst), "--out", str(tmp_path / "res")]) == 2
    one_line_error(capsys, "slotopt solve: error:", needle)
    nothing_written(tmp_path, allowed=before)


@pytest.mark.parametrize(
    "argv",
    [
        ["solve", "INST", "--seed", "-1"],
        ["solve", "INST", "--seed", "x"],
        ["solve", "INST", "--time-limit", "-3"],
        ["solve", "INST", "--time-limit", "nan"],
        ["solve", "INST", "--time-limit", "inf"],
        ["solve", "INST", "--second-stage", "best"],
        ["export", "INST", "--model", "max-appointments", "--format", "lp", "--seed", "-1"],
        ["export", "INST", "--model", "max-appointments", "--format", "xls"],
        ["generate", "OUT", "--applicants", "10", "--seed", "-1"],
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    inst = folder(tmp_path)
    out = tmp_path / "res"
    args = [str(inst) if a == "INST" else str(out) if a == "OUT" else a for a in argv]
    if args[0] != "generate":
        args += ["--out", str(out)]
    assert main(args) == 2
    one_line_error(capsys, f"slotopt {args[0]}: error: argument")
    assert not out.exists()


def test_unknown_method_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "res"
    assert main(["solve", str(folder(tmp_path)), "--out", str(out), "--method", "magic"]) == 2
    one_line_error(capsys, "unknown matching method 'magic'")
    assert not out.exists()


def test_no_command_and_unknown_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    one_line_error(capsys, "no command given")
    assert main(["solv"]) == 2
    one_line_error(capsys, "invalid choice: 'solv'")


def test_second_stage_on_an_offer_set_instance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "res"
    assert main(["solve", str(OFFER_SET), "--second-stage", "min-rank", "--out", str(out)]) == 2
    one_line_error(capsys, "--second-stage: applies to matching instances only", "'offer_set'")
    assert not out.exists()


def test_matching_method_on_an_offer_set_instance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["solve", str(OFFER_SET), "--method", "greedy", "--out", str(tmp_path / "r")]) == 2
    one_line_error(capsys, "greedy")


def test_explain_without_a_result_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["explain", str(tmp_path / "nowhere"), "A"]) == 2
    one_line_error(capsys, "nowhere: no such result folder")
    inst = folder(tmp_path)
    assert main(["explain", str(inst), "A"]) == 2  # an instance folder, not a result folder
    one_line_error(capsys, "summary.json: file not found in")


def test_export_onto_an_existing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inst = folder(tmp_path)
    out = tmp_path / "models"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    argv = ["export", str(inst), "--model", "max-appointments", "--format", "lp", "--out", str(out)]
    for extra in ([], ["--force"]):
        assert main([*argv, *extra]) == 2
        one_line_error(capsys, "is a folder; name the file to write")
        assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_output_under_a_file_is_refused_before_solving(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    inst = folder(tmp_path)
    (tmp_path / "afile").write_text("x")

    def no_solving(*args: object, **kwargs: object) -> None:
        raise AssertionError("the output location must be checked before any work")

    monkeypatch.setattr("slotopt.run.commands.solve.load_instance", no_solving)
    assert main(["solve", str(inst), "--out", str(tmp_path / "afile" / "res")]) == 2
    one_line_error(capsys, "afile is not a folder")


def test_unwritable_output_location_is_refused_before_solving(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # /sys refuses new entries even for root (permission bits alone would not show it)
    try:
        os.mkdir("/sys/slotopt-probe")
    except OSError:
        pass
    else:  # pragma: no cover - a machine where /sys is writable
        os.rmdir("/sys/slotopt-probe")
        pytest.skip("/sys is writable here")
    inst = folder(tmp_path)
    monkeypatch.setattr("slotopt.run.commands.solve.load_instance", None)  # never reached
    assert main(["solve", str(inst), "--out", "/sys/slotopt-results/week"]) == 2
    one_line_error(capsys, "/sys/slotopt-results/week: cannot be created in /sys")


def test_full_disk_while_writing_is_one_line_and_leaves_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    inst = folder(tmp_path)

    def disk_full(self: pd.DataFrame, path: object, **kwargs: object) -> None:
        Path(str(path)).write_text("applicant_id,sl")  # a partial file, then the disk is full
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(pd.DataFrame, "to_csv", disk_full)
    # the matching result writes its assignment itself: the disk fills up there too
    monkeypatch.setattr(
        MatchingResult, "write_table", lambda self, name, path: disk_full(None, path)
    )
    assert main(["solve", str(inst), "--out", str(tmp_path / "res")]) == 2
    one_line_error(capsys, "res: cannot be written (no space left on the disk)")
    nothing_written(tmp_path, allowed={"inst"})


def test_ctrl_c_while_running_exits_130(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("slotopt.run.commands.solve.solve", interrupted)
    assert main(["solve", str(folder(tmp_path)), "--out", str(tmp_path / "res")]) == 130
    one_line_error(capsys, "slotopt: interrupted")
    assert not (tmp_path / "res").exists()


def run_python(code: str, *, close_stdout: bool = False) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    if not close_stdout:
        return subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
            cwd=REPO,
        )
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    assert proc.stdout is not None
    proc.stdout.close()  # the reader is gone before the first write, as with `| head -0`
    _, err = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(proc.args, proc.returncode, "", err)


def test_the_command_line_starts_without_the_heavy_libraries() -> None:
    # what lets Ctrl-C during start-up reach main(): nothing heavy loads before it runs
    done = run_python(
        """
        import sys
        import slotopt.run.cli
        heavy = sorted(m for m in ("pandas", "numpy", "pyomo", "scipy", "matplotlib")
                       if m in sys.modules)
        print(heavy)
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_ctrl_c_while_importing_exits_130_without_traceback(tmp_path: Path) -> None:
    done = run_python(
        f"""
        import sys
        import importlib.abc

        class CtrlC(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name == "pandas":
                    raise KeyboardInterrupt
                return None

        from slotopt.run.cli import main
        sys.meta_path.insert(0, CtrlC())
        sys.exit(main(["solve", {str(tmp_path)!r}]))
        """
    )
    assert done.returncode == 130
    assert done.stderr == "slotopt: interrupted\n"


def test_closed_pipe_exits_141_quietly(tmp_path: Path) -> None:
    inst = folder(tmp_path)
    done = run_python(
        f"""
        import sys
        from slotopt.run.cli import main
        sys.exit(main(["solve", {str(inst)!r}, "--out", {str(tmp_path / "res")!r}]))
        """,
        close_stdout=True,
    )
    assert done.returncode == 141
    assert done.stderr == ""  # no traceback, no "Exception ignored ... BrokenPipeError"
    assert (tmp_path / "res" / "summary.json").is_file()  # the work itself was done


def test_closed_pipe_through_a_shell_pipeline(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("slotopt")
    if not script.exists():
        pytest.skip("no slotopt console script beside this Python")
    inst = folder(tmp_path)
    out = tmp_path / "res"
    done = subprocess.run(
        ["bash", "-c", f"set -o pipefail; '{script}' solve '{inst}' --out '{out}' | head -c 0"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode in (0, 141)  # 0 when everything fit in the pipe before head exited
    assert done.stderr == ""


def test_a_listed_command_without_its_module_is_an_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # None in sys.modules makes "import slotopt.run.commands.receipt" fail as a missing file does
    monkeypatch.delattr("slotopt.run.commands.receipt", raising=False)
    monkeypatch.setitem(sys.modules, "slotopt.run.commands.receipt", None)
    assert main(["solve", "--help"]) == 1
    one_line_error(capsys, "slotopt.run.commands.receipt of a command is missing", "reinstall")


def test_solve_refuses_objects_it_cannot_solve() -> None:
    with pytest.raises(UsageError, match="cannot solve an object of type dict"):
        slotopt.solve({"kind": "matching"})
    with pytest.raises(UsageError, match="kind 'tombola'"):
        slotopt.solve(type("Fake", (), {"kind": "tombola"})())


def test_many_problems_are_still_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inst = folder(tmp_path, slots_csv="slot_id,capacity\nm,-1\nn,x\n")
    assert main(["solve", str(inst), "--out", str(tmp_path / "res")]) == 2
    one_line_error(capsys, "row 1, column capacity", "; slots.csv row 2, column capacity")
