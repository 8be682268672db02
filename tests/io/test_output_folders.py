"""The output-folder contract: --force replaces only what slotopt wrote, never an input, the
current directory, a parent of it or a folder holding other files; two writers to one target
cannot both succeed; a killed run's temporary folders are removed by the next run, and nobody
else's files are."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pandas as pd
import pytest

from slotopt._atomic import OutputError, OutputExistsError, atomic_folder
from slotopt.run.cli import main
from tests.matching.test_validation import folder

REPO = Path(__file__).resolve().parents[2]


def solved(tmp_path: Path, name: str = "res") -> tuple[Path, Path]:
    inst = folder(tmp_path)
    out = tmp_path / name
    assert main(["solve", str(inst), "--out", str(out)]) == 0
    return inst, out


def refused(capsys: pytest.CaptureFixture[str], argv: list[str], needle: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err, err


def test_force_never_replaces_the_instance_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inst = folder(tmp_path)
    before = sorted(p.name for p in inst.iterdir())
    refused(capsys, ["solve", str(inst), "--out", str(inst), "--force"], "is the instance folder")
    assert sorted(p.name for p in inst.iterdir()) == before


def test_force_never_replaces_a_folder_containing_the_instance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inst = folder(tmp_path)
    argv = ["solve", str(inst), "--out", str(tmp_path), "--force"]
    refused(capsys, argv, "contains an input of this run (inst)")
    assert (inst / "instance.json").is_file()


def test_force_never_replaces_a_generated_instance_it_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a generated instance folder carries slotopt's mark, so only the input rule protects it
    week = tmp_path / "week"
    assert main(["generate", str(week), "--applicants", "20"]) == 0
    refused(capsys, ["solve", str(week), "--out", str(week), "--force"], "is the instance folder")
    assert (week / "applicants.csv").is_file()


@pytest.mark.parametrize(
    ("out", "needle"), [(".", "is the current directory"), ("..", "contains the current directory")]
)
def test_force_never_replaces_the_current_directory_or_a_parent(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    out: str,
    needle: str,
) -> None:
    inst, res = solved(tmp_path)
    monkeypatch.chdir(res)  # even a folder slotopt wrote is not replaced while we stand in it
    refused(capsys, ["solve", str(inst), "--out", out, "--force"], needle)
    assert (res / "summary.json").is_file() and (inst / "instance.json").is_file()


def test_force_refuses_a_folder_with_other_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inst, out = solved(tmp_path)
    (out / "notes.txt").write_text("mine")
    argv = ["solve", str(inst), "--out", str(out), "--force"]
    refused(capsys, argv, "holds files slotopt did not write (notes.txt)")
    assert (out / "notes.txt").read_text() == "mine"
    (out / "notes.txt").unlink()
    (out / "extra.csv").write_text("a\n1\n")  # a CSV slotopt did not list is not slotopt's
    refused(capsys, argv, "holds files slotopt did not write (extra.csv)")
    (out / "extra.csv").unlink()
    assert main(argv) == 0


def test_force_refuses_a_folder_slotopt_did_not_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inst = folder(tmp_path)
    out = tmp_path / "res"
    out.mkdir()
    (out / "summary.json").write_text(json.dumps({"kind": "matching"}))  # no slotopt mark
    refused(
        capsys, ["solve", str(inst), "--out", str(out), "--force"], "was not written by slotopt"
    )
    assert json.loads((out / "summary.json").read_text()) == {"kind": "matching"}


def test_force_refuses_a_symbolic_link(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inst, out = solved(tmp_path)
    link = tmp_path / "latest"
    link.symlink_to(out)
    refused(capsys, ["solve", str(inst), "--out", str(link), "--force"], "is a symbolic link")
    assert link.is_symlink() and (out / "summary.json").is_file()


def test_force_replaces_its_own_folder_and_leaves_nothing_beside_it(tmp_path: Path) -> None:
    inst, out = solved(tmp_path)
    assert main(["solve", str(inst), "--out", str(out), "--force", "--seed", "11"]) == 0
    assert json.loads((out / "summary.json").read_text())["seed"] == 11
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inst", "res"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["files"] == sorted(p.name for p in out.iterdir())


def test_generate_force_refuses_a_folder_it_did_not_generate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inst = folder(tmp_path)  # a hand-written instance: no generated_by
    refused(
        capsys,
        ["generate", str(inst), "--applicants", "5", "--force"],
        "was not written by slotopt",
    )
    assert (inst / "slots.csv").read_text().startswith("slot_id,capacity,location")


def test_export_force_refuses_an_input_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inst = folder(tmp_path)
    target = inst / "slots.csv"
    text = target.read_text()
    argv = [
        "export",
        str(inst),
        "--model",
        "max-appointments",
        "--format",
        "lp",
        "--out",
        str(target),
        "--force",
    ]
    refused(capsys, argv, "was not written by slotopt")
    assert target.read_text() == text


# -- two writers ---------------------------------------------------------------------------


def test_a_second_writer_fails_while_the_first_is_writing(tmp_path: Path) -> None:
    target = tmp_path / "res"
    inside, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with atomic_folder(target) as tmp:
                (tmp / "who.txt").write_text("first")
                inside.set()
                assert release.wait(30)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=first)
    thread.start()
    assert inside.wait(30)
    with (
        pytest.raises(OutputExistsError, match="another slotopt run is writing it"),
        atomic_folder(target) as tmp,
    ):
        (tmp / "who.txt").write_text("second")
    release.set()
    thread.join(30)
    assert not errors
    assert (target / "who.txt").read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]


def test_rename_semantics_the_writer_relies_on(tmp_path: Path) -> None:
    # POSIX rename(2) of a folder onto a non-empty folder fails (ENOTEMPTY or EEXIST), so the
    # folder renamed first is never silently replaced; onto an EMPTY folder it succeeds, which
    # is why the writer also checks, under its lock, that the target is still absent.
    a, b, empty = tmp_path / "a", tmp_path / "b", tmp_path / "empty"
    for d in (a, b, empty):
        d.mkdir()
    (a / "x").write_text("a")
    (b / "x").write_text("b")
    with pytest.raises(OSError) as exc:
        os.rename(a, b)
    assert exc.value.errno in (errno.ENOTEMPTY, errno.EEXIST)
    assert (b / "x").read_text() == "b"
    os.rename(a, empty)
    assert (empty / "x").read_text() == "a"


def test_a_writer_that_ignores_the_lock_is_never_silently_replaced(tmp_path: Path) -> None:
    target = tmp_path / "res"
    with (
        pytest.raises(OutputExistsError, match="another run wrote it while this one"),
        atomic_folder(target) as tmp,
    ):
        (tmp / "who.txt").write_text("late")
        target.mkdir()
        (target / "who.txt").write_text("early")
    assert (target / "who.txt").read_text() == "early"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]


def test_two_processes_racing_on_one_new_folder(tmp_path: Path) -> None:
    inst = folder(tmp_path)
    out = tmp_path / "res"
    code = textwrap.dedent(
        f"""
        import sys
        from slotopt.run.cli import main
        sys.exit(main(["solve", {str(inst)!r}, "--out", {str(out)!r}, "--seed", sys.argv[1]]))
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, seed],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=REPO,
        )
        for seed in ("1", "2")
    ]
    results = [(p.wait(timeout=300), p.communicate()[1]) for p in procs]
    codes = sorted(rc for rc, _ in results)
    assert codes == [0, 2], results
    loser = next(err for rc, err in results if rc == 2)
    assert loser.count("\n") == 1 and "Traceback" not in loser
    assert any(
        s in loser
        for s in ("already exists", "another slotopt run is writing", "another run wrote it")
    )
    winner_seed = json.loads((out / "summary.json").read_text())["seed"]
    assert winner_seed in (1, 2) and len(pd.read_csv(out / "assignment.csv")) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inst", "res"]


# -- leftovers of a killed run -------------------------------------------------------------


def test_a_killed_run_leaves_a_temporary_folder_the_next_run_removes(tmp_path: Path) -> None:
    target = tmp_path / "res"
    code = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        from slotopt._atomic import atomic_folder
        with atomic_folder(Path({str(target)!r})) as tmp:
            (tmp / "half.csv").write_text("a,b\\n1,")
            os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=120)
    assert done.returncode == -9
    left = sorted(p.name for p in tmp_path.iterdir())
    assert len(left) == 2 and left[0] == ".res.slotopt-lock" and ".res.slotopt-tmp-" in left[1]
    # someone else's folder with a look-alike name, without slotopt's marker: never touched
    foreign = tmp_path / ".res.slotopt-tmp-notours"
    foreign.mkdir()
    (foreign / "data.txt").write_text("keep")
    with atomic_folder(target) as tmp:  # the killed run's lock died with it: no waiting
        (tmp / "whole.csv").write_text("a,b\n1,2\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".res.slotopt-tmp-notours", "res"]
    assert (foreign / "data.txt").read_text() == "keep"
    assert sorted(p.name for p in target.iterdir()) == ["whole.csv"]  # no marker left inside


def test_a_failed_body_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "res"
    with pytest.raises(RuntimeError), atomic_folder(target) as tmp:
        (tmp / "half.csv").write_text("a")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_the_marker_is_what_makes_a_folder_replaceable(tmp_path: Path) -> None:
    target = tmp_path / "res"
    target.mkdir()
    (target / "summary.json").write_text(json.dumps({"slotopt_version": "0.0", "files": []}))
    with atomic_folder(target, force=True) as tmp:
        (tmp / "summary.json").write_text("{}")
    assert (target / "summary.json").read_text() == "{}"
    with (
        pytest.raises(OutputError, match="was not written by slotopt"),  # "{}" has no mark
        atomic_folder(target, force=True),
    ):
        pass
