"""solve-all: every instance folder to the end (bad ones as error rows), resumable, no
half-written results after Ctrl-C/SIGTERM, workers that die retried or reported, never lost;
locally and on a Dask LocalCluster."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import slotopt
from slotopt._atomic import PARTIAL, OutputExistsError
from slotopt.instance import write_instance
from slotopt.instance.generate import generate_prefecture
from slotopt.run import solve_all as solve_all_module
from slotopt.run.cli import main
from tests.scale import killers

REPO = Path(__file__).resolve().parents[2]


def _tree(root: Path, names: list[str], *, size: int = 200) -> Path:
    for k, name in enumerate(names):
        write_instance(generate_prefecture(size, seed=k, name=Path(name).name), root / name)
    return root


def _break(folder: Path) -> None:
    text = (folder / "acceptable.csv").read_text().splitlines()
    text[2] = "NOBODY," + text[2].split(",", 1)[1]
    (folder / "acceptable.csv").write_text("\n".join(text) + "\n")


def _no_temporaries(out: Path) -> None:
    leftovers = [
        p
        for p in out.rglob(".*")
        if "tmp-" in p.name or "old-" in p.name or p.name == PARTIAL or (p / PARTIAL).exists()
    ]
    assert leftovers == []


def test_bad_instance_is_a_row_and_the_rest_finish(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    root = _tree(tmp_path / "in", ["a", "deep/b", "deep/er/c", "bad"])
    _break(root / "bad")
    (root / "notes").mkdir()  # no instance.json: not an instance
    code = main(["solve-all", str(root), "--out", str(tmp_path / "out"), "--jobs", "2"])
    assert code == 1
    assert "bad: InstanceError" in capsys.readouterr().err
    rows = pd.read_csv(tmp_path / "out" / "summary.csv", keep_default_na=False)
    assert list(rows.columns) == list(solve_all_module.COLUMNS)
    assert rows["instance"].tolist() == ["a", "bad", "deep/b", "deep/er/c"]
    bad = rows.set_index("instance").loc["bad"]
    assert bad["status"] == "failed" and "NOBODY" in bad["error"] and bad["kind"] == "matching"
    for rel in ["a", "deep/b", "deep/er/c"]:
        summary = json.loads((tmp_path / "out" / rel / "summary.json").read_text())
        expected = slotopt.solve(root / rel)
        assert summary["n_matched"] == expected.n_matched
        row = rows.set_index("instance").loc[rel]
        assert int(row["objective"]) == expected.n_matched and row["status"] == "optimal"
    assert not (tmp_path / "out" / "bad").exists()


def test_every_kind_and_verify(tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "in"
    for name in ["arnosti-footnote4", "offer-set-paper"]:
        src = REPO / "instances" / name
        (root / name).mkdir(parents=True)
        for f in src.iterdir():
            (root / name / f.name).write_bytes(f.read_bytes())
    result = slotopt.solve_all(root, tmp_path / "out", jobs=1, verify=True)
    assert result.ok, result.rows
    kinds = dict(zip(result.rows["instance"], result.rows["kind"], strict=True))
    assert kinds == {"arnosti-footnote4": "matching", "offer-set-paper": "offer_set"}
    assert result.rows["verified"].tolist() == [True, True]


def test_rerun_skips_finished_and_redoes_changed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = _tree(tmp_path / "in", ["a", "b", "c"])
    out = tmp_path / "out"
    first = slotopt.solve_all(root, out, jobs=2)
    assert (first.solved, first.skipped) == (3, 0)
    stamps = {n: (out / n / "summary.json").stat().st_mtime_ns for n in "abc"}
    again = slotopt.solve_all(root, out, jobs=2)
    assert (again.solved, again.skipped) == (0, 3)
    pd.testing.assert_frame_equal(first.rows, again.rows)
    shutil.rmtree(root / "b")  # the user replaces an instance (--force never replaces inputs)
    write_instance(generate_prefecture(250, seed=9, name="b"), root / "b")
    third = slotopt.solve_all(root, out, jobs=2)
    assert (third.solved, third.skipped) == (1, 2)
    assert (out / "a" / "summary.json").stat().st_mtime_ns == stamps["a"]
    assert (out / "b" / "summary.json").stat().st_mtime_ns != stamps["b"]
    # another method is not a finished result for this one
    fourth = slotopt.solve_all(root, out, jobs=1, method="serial-dictatorship")
    assert (fourth.solved, fourth.skipped) == (3, 0)


def test_refuses_a_foreign_results_folder(tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = _tree(tmp_path / "in", ["a"])
    out = tmp_path / "out"
    out.mkdir()
    (out / "precious.txt").write_text("mine")
    with pytest.raises(OutputExistsError):
        slotopt.solve_all(root, out)
    assert main(["solve-all", str(root), "--out", str(out)]) == 2
    assert slotopt.solve_all(root, out, force=True).ok
    assert (out / "precious.txt").read_text() == "mine"


def test_local_worker_killed_mid_instance_is_retried(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    root = _tree(tmp_path / "in", ["a", "victim", "c", "d"])
    monkeypatch.setattr(solve_all_module, "solve_task", killers.die_once)
    result = slotopt.solve_all(root, tmp_path / "out", jobs=2)
    assert (root / ".victim.died").exists()  # the worker really died once
    assert result.ok and result.solved == 4, result.rows
    _no_temporaries(tmp_path / "out")


def test_local_worker_that_always_dies_is_reported(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    root = _tree(tmp_path / "in", ["a", "poison", "c"])
    monkeypatch.setattr(solve_all_module, "solve_task", killers.always_die)
    result = slotopt.solve_all(root, tmp_path / "out", jobs=2, allowed_failures=2)
    rows = result.rows.set_index("instance")
    assert rows.loc["poison", "status"] == "failed"
    assert "worker died 3 times" in rows.loc["poison", "error"]
    # 3 deaths named by running it alone, plus one unnamed if the others were still in flight
    assert (root / ".poison.deaths").read_text() in ("xxx", "xxxx")
    assert rows.loc[["a", "c"], "status"].tolist() == ["optimal", "optimal"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_leaves_no_half_written_result_and_resumes(tmp_path, sig) -> None:  # type: ignore[no-untyped-def]
    names = [f"w{k:02d}" for k in range(12)]
    root = _tree(tmp_path / "in", names)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}
    run_slowly = (
        "import sys; from tests.scale import killers; "
        "sys.exit(killers.cli_with_slow_tasks(sys.argv[1:]))"
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            run_slowly,
            "solve-all",
            str(root),
            "--out",
            str(out),
            "--jobs",
            "1",
            "--verify",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(out.glob("*/summary.json")):
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err.decode()
    _no_temporaries(out)
    done = sorted(p.parent.name for p in out.glob("*/summary.json"))
    assert 1 <= len(done) < len(names)
    for name in os.listdir(out):  # every result folder present is complete
        if (out / name).is_dir():
            assert {"summary.json", "assignment.csv"} <= set(os.listdir(out / name))
    rows = pd.read_csv(out / "summary.csv")
    # a result can land just before the parent stops, its row not yet received: the folder
    # is complete all the same and the next run keeps it
    assert set(rows["instance"]) <= set(done) and len(rows) >= len(done) - 1
    stamps = {n: (out / n / "summary.json").stat().st_mtime_ns for n in done}
    resumed = slotopt.solve_all(root, out, jobs=2, verify=True)
    assert resumed.skipped == len(done) and resumed.solved == len(names) - len(done)
    assert all((out / n / "summary.json").stat().st_mtime_ns == t for n, t in stamps.items())


HAVE_DASK = importlib.util.find_spec("distributed") is not None


@pytest.fixture(scope="module")
def cluster():  # type: ignore[no-untyped-def]
    if not HAVE_DASK:
        pytest.skip("dask.distributed is not installed (slotopt[dask])")
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            processes=True,
            n_workers=2,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
        ) as lc,
        Client(lc) as client,
    ):
        client.run(sys.path.insert, 0, str(REPO))  # the workers import tests.scale.killers
        yield client


def test_dask_runs_to_the_end_with_a_bad_instance(tmp_path, cluster) -> None:  # type: ignore[no-untyped-def]
    root = _tree(tmp_path / "in", ["a", "bad", "sub/c"])
    _break(root / "bad")
    address = cluster.scheduler.address
    code = main(["solve-all", str(root), "--out", str(tmp_path / "out"), "--scheduler", address])
    assert code == 1
    rows = pd.read_csv(tmp_path / "out" / "summary.csv").set_index("instance")
    assert rows.loc["bad", "status"] == "failed" and "NOBODY" in rows.loc["bad", "error"]
    assert rows.loc[["a", "sub/c"], "status"].tolist() == ["optimal", "optimal"]
    local = slotopt.solve_all(root, tmp_path / "local", jobs=1)
    assert rows["objective"].dropna().tolist() == local.rows["objective"].dropna().tolist()


def test_dask_worker_killed_mid_instance_is_retried(tmp_path, cluster, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    root = _tree(tmp_path / "in", ["a", "victim", "c"])
    monkeypatch.setattr(solve_all_module, "solve_task", killers.die_once)
    result = slotopt.solve_all(root, tmp_path / "out", scheduler=cluster)
    assert (root / ".victim.died").exists()  # its worker really died
    assert result.ok and result.solved == 3, result.rows  # rescheduled, then solved


def test_dask_worker_that_always_dies_is_killed_worker_row(tmp_path, cluster, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    root = _tree(tmp_path / "in", ["a", "poison"])
    monkeypatch.setattr(solve_all_module, "solve_task", killers.always_die)
    result = slotopt.solve_all(root, tmp_path / "out", scheduler=cluster)
    rows = result.rows.set_index("instance")
    assert rows.loc["poison", "status"] == "failed"
    assert "KilledWorker" in rows.loc["poison", "error"]
    # distributed.scheduler.allowed-failures = 3: the scheduler gives up at the 4th death
    assert len((root / ".poison.deaths").read_text()) == 4
    assert rows.loc["a", "status"] == "optimal"


def test_cleaning_removes_only_marked_temporaries(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # a worker stopped mid-write leaves atomic_folder's marked temporary; a user's hidden
    # folder (no marker) and a finished result stay
    out = tmp_path / "out"
    tmp = out / "deep" / ".w01.slotopt-tmp-abc123"
    tmp.mkdir(parents=True)
    (tmp / PARTIAL).touch()
    (tmp / "assignment.csv").write_text("applicant_id,slot_id\n")
    (out / ".mine").mkdir()
    (out / "w02").mkdir()
    (out / "w02" / "summary.json").write_text("{}")
    solve_all_module._clean_temporaries(out)
    assert not tmp.exists()
    assert (out / ".mine").is_dir() and (out / "w02" / "summary.json").is_file()
