"""Parquet written alongside CSV: ``write_instance(..., format="parquet")`` and
``slotopt generate --format parquet`` give folders that load to the same arrays as the CSV ones,
with integers exact, and refuse clearly when pyarrow is missing."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import slotopt
from slotopt.errors import UsageError
from slotopt.instance import matching_from_frames, write_instance
from slotopt.instance.generate import generate_prefecture
from slotopt.run.cli import main

pa = pytest.importorskip("pyarrow")
import pyarrow.parquet as pq  # noqa: E402

TABLES = ("slots", "applicants", "acceptable")


def same_arrays(a: slotopt.MatchingInstance, b: slotopt.MatchingInstance) -> None:
    for name in ("capacity", "priority", "acc_indptr", "acc_slot", "acc_rank"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert list(a.applicant_ids) == list(b.applicant_ids)
    assert list(a.slot_ids) == list(b.slot_ids)
    assert (a.name, a.seed, a.meta) == (b.name, b.seed, b.meta)


def test_csv_and_parquet_folders_load_and_solve_identically(tmp_path: Path) -> None:
    inst = generate_prefecture(300, seed=5)
    csv_dir = write_instance(inst, tmp_path / "csv")
    pq_dir = write_instance(inst, tmp_path / "pq", format="parquet")
    assert {p.name for p in pq_dir.iterdir()} == {"instance.json"} | {
        f"{t}.parquet" for t in TABLES
    }
    from_csv, from_pq = slotopt.load_instance(csv_dir), slotopt.load_instance(pq_dir)
    same_arrays(from_csv, from_pq)
    same_arrays(inst, from_pq)
    for seed in (0, 7):
        r_csv, r_pq = slotopt.solve(from_csv, seed=seed), slotopt.solve(from_pq, seed=seed)
        np.testing.assert_array_equal(r_csv.slot_of, r_pq.slot_of)
        np.testing.assert_array_equal(r_csv.position, r_pq.position)
        assert r_pq.n_matched > 0


def test_parquet_columns_are_int64_and_strings(tmp_path: Path) -> None:
    d = write_instance(generate_prefecture(50, seed=1), tmp_path / "pq", format="parquet")
    for stem in TABLES:
        schema = pq.read_schema(d / f"{stem}.parquet")
        for name in schema.names:
            kind = schema.field(name).type
            if name in {"capacity", "priority", "rank"}:
                assert kind == pa.int64(), (stem, name, kind)
            else:
                assert kind == pa.string(), (stem, name, kind)


def exact_instance() -> slotopt.MatchingInstance:
    slots = pd.DataFrame(
        {"slot_id": ["007", "NA"], "capacity": [3_000_000_000, 2**62 - 3_000_000_000]}
    )
    apps = pd.DataFrame(
        {
            "applicant_id": ["A", "B", "C"],
            "priority": ["10000000000000002", "10000000000000001", str(2**62)],
        }
    )
    acc = pd.DataFrame(
        {
            "applicant_id": ["A", "A", "B", "C"],
            "slot_id": ["007", "NA", "007", "NA"],
            "rank": ["1", "", "2", ""],
        }
    )
    acc["rank"] = acc["rank"].replace("", None)
    return matching_from_frames(slots, apps, acc, name="exact", seed=2)


def test_parquet_round_trip_keeps_integers_and_ids_exact(tmp_path: Path) -> None:
    inst = exact_instance()
    back = slotopt.load_instance(write_instance(inst, tmp_path / "pq", format="parquet"))
    assert back.priority.tolist() == [10000000000000002, 10000000000000001, 2**62]
    assert back.capacity.tolist() == [3_000_000_000, 2**62 - 3_000_000_000]
    assert list(back.slot_ids) == ["007", "NA"]  # ids stay text, NA is not missing
    assert back.acc_rank.tolist() == [1, -1, 2, -1]  # blank rank stays unranked
    same_arrays(inst, back)
    table = pq.read_table(tmp_path / "pq" / "acceptable.parquet")
    assert table.column("rank").null_count == 2


def test_parquet_value_beyond_the_range_is_refused_with_its_row(tmp_path: Path) -> None:
    d = write_instance(exact_instance(), tmp_path / "pq", format="parquet")
    table = pa.table({"applicant_id": ["A", "B", "C"], "priority": pa.array([1, 2**62 + 1, 2])})
    pq.write_table(table, d / "applicants.parquet")
    with pytest.raises(slotopt.InstanceError) as exc:
        slotopt.load_instance(d)
    assert "applicants.parquet row 2, column priority: expected an integer >= 0" in str(exc.value)
    assert f"got {2**62 + 1} (outside the supported range" in str(exc.value)


def test_has_pyarrow_sees_a_missing_module(monkeypatch: pytest.MonkeyPatch) -> None:
    from slotopt.instance import has_pyarrow

    assert has_pyarrow()
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow now raises ImportError
    assert not has_pyarrow()


def test_unknown_format_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"format must be one of csv, parquet, got 'feather'"):
        write_instance(exact_instance(), tmp_path / "x", format="feather")
    assert not (tmp_path / "x").exists()


def test_parquet_without_pyarrow_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("slotopt.instance.has_pyarrow", lambda: False)
    with pytest.raises(UsageError, match=r"pip install 'slotopt\[parquet\]'"):
        write_instance(exact_instance(), tmp_path / "x", format="parquet")
    assert not (tmp_path / "x").exists()


def test_generate_format_parquet(tmp_path: Path) -> None:
    out = tmp_path / "week"
    assert main(["generate", str(out), "--applicants", "120", "--seed", "3"]) == 0
    out_pq = tmp_path / "week-pq"
    argv = ["generate", str(out_pq), "--applicants", "120", "--seed", "3", "--format", "parquet"]
    assert main(argv) == 0
    assert sorted(p.name for p in out_pq.iterdir()) == sorted(
        ["instance.json"] + [f"{t}.parquet" for t in TABLES]
    )
    a, b = slotopt.load_instance(out), slotopt.load_instance(out_pq)
    for name in ("capacity", "priority", "acc_indptr", "acc_slot", "acc_rank"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert b.meta["generated_by"].endswith("--format parquet")


def test_generate_parquet_without_pyarrow_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("slotopt.instance.has_pyarrow", lambda: False)
    out = tmp_path / "week"
    argv = ["generate", str(out), "--applicants", "20", "--format", "parquet"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "pip install 'slotopt[parquet]'" in err
    assert not out.exists()
