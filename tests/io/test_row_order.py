"""Row-order invariance: shuffling the rows of any input file gives a byte-identical result
folder for the same seed. The loader puts slots, applicants and pairs into one canonical order
(by id, and pairs by applicant, rank, slot), so every method and every output sees the same
instance whatever the order of the rows in the files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from slotopt.run.cli import main

IDS = st.text(alphabet="abAB09-_é", min_size=1, max_size=4)
TIMING = "seconds"  # any summary key containing it is a measured time


@st.composite
def instance_tables(draw: st.DrawFn) -> dict[str, pd.DataFrame]:
    slot_ids = draw(st.lists(IDS, min_size=1, max_size=5, unique=True))
    app_ids = draw(st.lists(IDS, min_size=1, max_size=12, unique=True))
    slots = pd.DataFrame(
        {
            "slot_id": slot_ids,
            "capacity": draw(
                st.lists(st.integers(0, 3), min_size=len(slot_ids), max_size=len(slot_ids))
            ),
            "location": [f"site {i % 2}" for i in range(len(slot_ids))],
        }
    )
    applicants = pd.DataFrame(
        {
            "applicant_id": app_ids,
            "priority": draw(
                st.lists(st.integers(1, 3), min_size=len(app_ids), max_size=len(app_ids))
            ),
        }
    )
    pairs = []
    for a in app_ids:
        accepted = draw(st.lists(st.sampled_from(slot_ids), unique=True, max_size=len(slot_ids)))
        ranks = draw(st.permutations(list(range(1, len(accepted) + 1))))
        for s, r in zip(accepted, ranks, strict=True):
            pairs.append((a, s, r if draw(st.booleans()) else None))
    acceptable = pd.DataFrame(pairs, columns=["applicant_id", "slot_id", "rank"]).astype(
        {"rank": "Int64"}
    )
    return {"slots": slots, "applicants": applicants, "acceptable": acceptable}


def write(folder: Path, tables: dict[str, pd.DataFrame], seed: int) -> None:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir()
    (folder / "instance.json").write_text(json.dumps({"kind": "matching", "name": "rows"}))
    for stem, df in tables.items():
        df.to_csv(folder / f"{stem}.csv", index=False)


def result_files(out: Path) -> dict[str, object]:
    files: dict[str, object] = {}
    for path in sorted(out.iterdir()):
        if path.name == "summary.json":
            summary = json.loads(path.read_text())
            # the only keys allowed to differ: measured times, and the SHA-256 of the input
            # files, which identify the files' bytes (and so change with their row order)
            files[path.name] = {
                k: v for k, v in summary.items() if TIMING not in k and k != "input_sha256"
            }
        else:
            files[path.name] = path.read_bytes()
    return files


def solve_folder(inst: Path, out: Path, seed: int, extra: list[str]) -> dict[str, object]:
    if out.exists():
        shutil.rmtree(out)
    assert main(["solve", str(inst), "--out", str(out), "--seed", str(seed), *extra]) == 0
    return result_files(out)


@given(
    tables=instance_tables(),
    seed=st.integers(0, 2**32),
    method=st.sampled_from(["greedy", "serial-dictatorship", "naive"]),
    data=st.data(),
)
def test_shuffled_rows_give_the_same_result_folder(
    tmp_path_factory: pytest.TempPathFactory,
    tables: dict[str, pd.DataFrame],
    seed: int,
    method: str,
    data: st.DataObject,
) -> None:
    base = tmp_path_factory.mktemp("rows")
    inst, out = base / "inst", base / "out"
    write(inst, tables, seed)
    # serial dictatorship is the baseline that is not maximal: its certificates may fail
    extra = ["--method", method, *([] if method == "serial-dictatorship" else ["--verify"])]
    expected = solve_folder(inst, out, seed, extra)
    shuffled = {
        stem: df.iloc[data.draw(st.permutations(list(range(len(df)))), label=stem)]
        for stem, df in tables.items()
    }
    write(inst, shuffled, seed)  # the same folder, so summary.json's instance path is equal
    assert solve_folder(inst, out, seed, extra) == expected


@pytest.mark.solver
def test_shuffled_rows_give_the_same_result_with_the_solver_methods(tmp_path: Path) -> None:
    # the LP and the min-rank second stage see the same (canonical) model, so HiGHS makes the
    # same choice among equally good schedules
    pytest.importorskip("highspy")
    week = Path(__file__).resolve().parents[2] / "instances" / "prefecture-week"
    tables = {
        s: pd.read_csv(week / f"{s}.csv", dtype=str, keep_default_na=False)
        for s in ("slots", "applicants", "acceptable")
    }
    inst, out = tmp_path / "inst", tmp_path / "out"
    for extra in (["--method", "lp"], ["--second-stage", "min-rank"]):
        write(inst, tables, 7)
        expected = solve_folder(inst, out, 7, extra)
        write(inst, {s: df.sample(frac=1.0, random_state=5) for s, df in tables.items()}, 7)
        assert solve_folder(inst, out, 7, extra) == expected
