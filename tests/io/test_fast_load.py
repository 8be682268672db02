"""The loop-free load path: it reads plain folders by itself, gives exactly the instance the
locating path (``read_table`` + ``matching_from_frames``) gives, and steps aside on every
clause it cannot vouch for, so that the locating path reports the problem."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import slotopt
from slotopt.instance import MatchingInstance, _row_loops, _tables, matching, write_instance
from slotopt.instance.generate import generate_prefecture
from slotopt.instance.provenance import Provenance
from tests.matching.test_validation import GOOD, folder

pytest.importorskip("pyarrow")

ARRAYS = ("capacity", "priority", "acc_indptr", "acc_slot", "acc_rank")


def refuse(*args: Any, **kwargs: Any) -> None:
    raise AssertionError("the locating path must not run here")


def locating(path: Path, monkeypatch: pytest.MonkeyPatch) -> MatchingInstance:
    with monkeypatch.context() as m:
        m.setattr(matching, "_load_fast", lambda *a, **k: None)
        return slotopt.load_instance(path)


def fast_only(path: Path, monkeypatch: pytest.MonkeyPatch) -> MatchingInstance:
    with monkeypatch.context() as m:
        m.setattr(matching, "matching_from_frames", refuse)
        return slotopt.load_instance(path)


def fast_result(path: Path) -> MatchingInstance | None:
    return matching._load_fast(path, "x", Provenance(), "sha", {})


def assert_identical(a: MatchingInstance, b: MatchingInstance) -> None:
    for name in ARRAYS:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), name
        assert not x.flags.writeable, name
    assert a.slot_ids.tolist() == b.slot_ids.tolist()
    assert a.applicant_ids.tolist() == b.applicant_ids.tolist()
    for table in ("slots", "applicants", "acceptable"):
        left, right = getattr(a, table), getattr(b, table)
        assert list(left.columns) == list(right.columns), table
        for col in left.columns:  # as text: an optional column's dtype may differ by reader
            assert left[col].astype("string").tolist() == right[col].astype("string").tolist()
    assert (a.name, a.seed, a.source) == (b.name, b.seed, b.source)
    assert dict(a.input_sha256) == dict(b.input_sha256) and dict(a.meta) == dict(b.meta)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_written_folder_is_read_by_the_fast_path_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    d = write_instance(generate_prefecture(300, seed=4), tmp_path / "week", format=fmt)
    got = fast_only(d, monkeypatch)
    assert_identical(got, locating(d, monkeypatch))
    assert got.n_applicants == 300 and got.input_sha256.keys() == {p.name for p in d.iterdir()}


def shuffled(text: str, seed: int) -> str:
    head, *rows = text.strip("\n").split("\n")
    order = np.random.default_rng(seed).permutation(len(rows))
    return "\n".join([head, *(rows[i] for i in order)]) + "\n"


VALID_VARIANTS = {
    "rows shuffled": {
        "slots_csv": "slot_id,capacity,location\nn,2,Town hall\nm,1,Town hall\n",
        "applicants_csv": "applicant_id,priority\nC,2\nA,1\nB,2\n",
        "acceptable_csv": "applicant_id,slot_id,rank\nC,n,1\nB,m,\nA,n,2\nA,m,1\n",
    },
    "ids with blanks around them": {
        "applicants_csv": "applicant_id,priority\n A,1\nB ,2\nC,2\n",
        "acceptable_csv": "applicant_id,slot_id,rank\nA ,m,1\nA,n ,2\nB,m,\nC,n,1\n",
    },
    "the same ids with blanks in both files": {
        "applicants_csv": "applicant_id,priority\n A,1\nB\t,2\nC,2\n",
        "acceptable_csv": "applicant_id,slot_id,rank\n A,m,1\n A,n,2\nB\t,m,\nC,n,1\n",
    },
    "the same ids with a no-break space in both files": {
        "applicants_csv": "applicant_id,priority\n\u00a0A,1\nB,2\nC,2\n",
        "acceptable_csv": "applicant_id,slot_id,rank\n\u00a0A,m,1\n\u00a0A,n,2\nB,m,\nC,n,1\n",
    },
    "non-ASCII ids": {
        "applicants_csv": "applicant_id,priority\nÄ,1\nB,2\nΩ,2\n",
        "acceptable_csv": "applicant_id,slot_id,rank\nÄ,m,1\nÄ,n,2\nB,m,\nΩ,n,1\n",
    },
    "no rank column": {"acceptable_csv": "applicant_id,slot_id\nA,m\nA,n\nB,m\nC,n\n"},
    "all ranks blank": {"acceptable_csv": "applicant_id,slot_id,rank\nA,m,\nA,n,\nB,m,\nC,n,\n"},
    "ranks out of slot order": {
        "acceptable_csv": "applicant_id,slot_id,rank\nA,m,2\nA,n,1\nB,m,\nC,n,1\n"
    },
    "own columns in every table": {
        "slots_csv": "slot_id,capacity,weight\nm,1,1.5\nn,2,0.25\n",
        "applicants_csv": "applicant_id,priority,identity,note\nA,1,p1,x\nB,2,p2,\nC,2,p3,z\n",
        "acceptable_csv": "applicant_id,slot_id,rank,source\nA,m,1,web\nA,n,2,web\nB,m,,tel\n"
        "C,n,1,web\n",
    },
    "an applicant with no pair": {
        "applicants_csv": "applicant_id,priority\nA,1\nB,2\nC,2\nD,1\n",
    },
    "no pairs at all": {"acceptable_csv": "applicant_id,slot_id,rank\n"},
    "17-digit priorities": {
        "applicants_csv": "applicant_id,priority\nA,20250303083015123\nB,20250303083015124\nC,2\n",
    },
    "the largest values": {
        "slots_csv": f"slot_id,capacity\nm,{2**62}\nn,0\n",
        "acceptable_csv": f"applicant_id,slot_id,rank\nA,m,{2**62}\nA,n,2\nB,m,\nC,n,1\n",
    },
}


@pytest.mark.parametrize("variant", sorted(VALID_VARIANTS))
def test_valid_variants_give_the_instance_of_the_locating_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variant: str
) -> None:
    d = folder(tmp_path, **VALID_VARIANTS[variant])
    assert_identical(slotopt.load_instance(d), locating(d, monkeypatch))


def test_the_fast_path_takes_shuffled_rows_and_outside_columns_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, csv_reader: str
) -> None:
    # what it can vouch for without a loop: order, other columns, blank ranks, a weight column
    # that pandas must type (that table goes through read_table, the others through pyarrow;
    # pandas' own reader gives a column with a blank rank as text, which only the locating
    # path parses)
    if csv_reader == "pandas":
        pytest.skip("pandas reads a rank column with a blank as text")
    d = folder(
        tmp_path,
        slots_csv="slot_id,capacity,weight\nn,2,0.25\nm,1,1.5\n",
        acceptable_csv=shuffled(GOOD["acceptable.csv"], 3),
    )
    got = fast_only(d, monkeypatch)
    assert got.slot_ids.tolist() == ["m", "n"] and got.capacity.tolist() == [1, 2]
    assert got.slots["weight"].tolist() == [1.5, 0.25]
    assert got.acc_rank.tolist() == [1, 2, -1, 1]


BAD = {
    "empty slot id": {"slots_csv": "slot_id,capacity\nm,1\n,2\n"},
    "empty applicant id": {"applicants_csv": "applicant_id,priority\nA,1\n,2\nC,2\n"},
    "empty id in a pair": {"acceptable_csv": "applicant_id,slot_id,rank\nA,m,1\n,n,2\n"},
    "repeated slot id": {"slots_csv": "slot_id,capacity\nm,1\nn,2\nn,1\n"},
    "repeated applicant id": {"applicants_csv": "applicant_id,priority\nA,1\nB,2\nC,2\nC,1\n"},
    "unknown applicant": {"acceptable_csv": "applicant_id,slot_id,rank\nA,m,1\nZ,n,2\n"},
    "unknown slot": {"acceptable_csv": "applicant_id,slot_id,rank\nA,m,1\nB,q,2\n"},
    "repeated pair": {"acceptable_csv": "applicant_id,slot_id,rank\nA,m,1\nB,m,\nA,m,2\n"},
    "negative capacity": {"slots_csv": "slot_id,capacity\nm,-1\nn,2\n"},
    "capacity beyond 2**62": {"slots_csv": f"slot_id,capacity\nm,{2**62 + 1}\nn,2\n"},
    "capacities adding up beyond 2**62": {"slots_csv": f"slot_id,capacity\nm,{2**62}\nn,1\n"},
    "missing capacity": {"slots_csv": "slot_id,capacity\nm,\nn,2\n"},
    "text capacity": {"slots_csv": "slot_id,capacity\nm,one\nn,2\n"},
    "negative priority": {"applicants_csv": "applicant_id,priority\nA,-1\nB,2\nC,2\n"},
    "missing priority": {"applicants_csv": "applicant_id,priority\nA,\nB,2\nC,2\n"},
    "rank 0": {"acceptable_csv": "applicant_id,slot_id,rank\nA,m,0\nB,m,\n"},
    "rank beyond 2**62": {"acceptable_csv": f"applicant_id,slot_id,rank\nA,m,{2**62 + 1}\n"},
    "missing column": {"applicants_csv": "applicant_id\nA\nB\nC\n"},
}


@pytest.mark.parametrize("clause", sorted(BAD))
def test_every_broken_clause_leaves_the_fast_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clause: str
) -> None:
    monkeypatch.setattr(_tables, "CSV_READER", "pyarrow")  # the reader the fast path uses
    d = folder(tmp_path, **BAD[clause])
    assert fast_result(d) is None
    with pytest.raises(slotopt.InstanceError, match=r"\.csv"):  # located by the other path
        slotopt.load_instance(d)


needs_numba = pytest.mark.skipif(
    importlib.util.find_spec("numba") is None, reason="numba is not installed (slotopt[fast])"
)


def compiled_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """The compiled row loops of loading at every size, and small CSV blocks (many chunks, one
    dictionary each, as at a million rows)."""
    monkeypatch.setattr(_row_loops, "COMPILE_ABOVE", 0)
    monkeypatch.setattr(_tables, "CSV_BLOCK_BYTES", 64)
    monkeypatch.setattr(_tables, "CSV_READER", "pyarrow")


@needs_numba
@pytest.mark.parametrize("clause", sorted(BAD))
def test_every_broken_clause_leaves_the_fast_path_with_the_compiled_loops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clause: str
) -> None:
    compiled_everywhere(monkeypatch)
    d = folder(tmp_path, **BAD[clause])
    assert fast_result(d) is None
    with pytest.raises(slotopt.InstanceError, match=r"\.csv"):
        slotopt.load_instance(d)


@needs_numba
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_the_compiled_loops_and_many_blocks_read_what_the_locating_path_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    compiled_everywhere(monkeypatch)
    d = write_instance(generate_prefecture(300, seed=4), tmp_path / "week", format=fmt)
    got = fast_only(d, monkeypatch)
    assert_identical(got, locating(d, monkeypatch))
    # the rows shuffled: the walk along the applicants fails and the hash finds them
    acc = (d / "acceptable.csv") if fmt == "csv" else None
    if acc is not None:
        acc.write_text(shuffled(acc.read_text(), 5))
        assert_identical(fast_only(d, monkeypatch), locating(d, monkeypatch))


def test_the_good_folder_is_taken_by_the_fast_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the control for the test above: the same call on the unbroken folder is not None
    monkeypatch.setattr(_tables, "CSV_READER", "pyarrow")
    got = fast_result(folder(tmp_path))
    assert got is not None and got.capacity.tolist() == [1, 2]


def test_parquet_with_numbers_as_floats_is_left_to_the_locating_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = write_instance(slotopt.load_instance(folder(tmp_path)), tmp_path / "pq", format="parquet")
    slots = pd.read_parquet(d / "slots.parquet")
    slots["capacity"] = slots["capacity"].astype("float64")
    slots.to_parquet(d / "slots.parquet")
    assert fast_result(d) is None
    assert locating(d, monkeypatch).capacity.tolist() == slotopt.load_instance(d).capacity.tolist()


def test_an_empty_id_in_parquet_leaves_the_fast_path(tmp_path: Path) -> None:
    # CSV readers make an empty field a missing value; Parquet keeps an empty string. It goes
    # on D, who lists no slot, so that no other clause fails.
    csv = folder(tmp_path, applicants_csv="applicant_id,priority\nA,1\nB,2\nC,2\nD,1\n")
    d = write_instance(slotopt.load_instance(csv), tmp_path / "pq", format="parquet")
    assert fast_result(d) is not None
    applicants = pd.read_parquet(d / "applicants.parquet")
    applicants.loc[3, "applicant_id"] = ""
    applicants.to_parquet(d / "applicants.parquet")
    assert fast_result(d) is None
    where = r"applicants\.parquet row 4, column applicant_id: empty id"
    with pytest.raises(slotopt.InstanceError, match=where):
        slotopt.load_instance(d)


def test_a_parquet_file_with_a_stored_pandas_index_reads_as_pandas_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = write_instance(slotopt.load_instance(folder(tmp_path)), tmp_path / "pq", format="parquet")
    slots = pd.read_parquet(d / "slots.parquet")
    slots.index = pd.Index([10, 20], name="kept")
    slots.to_parquet(d / "slots.parquet")  # the index is stored as a column "kept"
    got = slotopt.load_instance(d)
    assert list(got.slots.columns) == ["slot_id", "capacity", "location"]
    assert_identical(got, locating(d, monkeypatch))
