"""The two CSV readers: pyarrow's is chosen when pyarrow is installed, each path really reads
the file it is given, and both give the same instance (the conftest runs every other test in
this folder through both)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import slotopt
from slotopt.instance import _tables, write_instance
from slotopt.instance.generate import generate_prefecture
from tests.matching.test_validation import folder


def test_pyarrow_is_the_default_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    assert _tables.default_csv_reader() == ("pyarrow" if real("pyarrow") else "pandas")
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "pyarrow" else real(name)
    )
    assert _tables.default_csv_reader() == "pandas"


def refuse(*args: Any, **kwargs: Any) -> None:
    raise AssertionError("this reader must not be used here")


def test_pyarrow_reader_reads_a_plain_file_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("pyarrow")
    monkeypatch.setattr(_tables, "CSV_READER", "pyarrow")
    monkeypatch.setattr(_tables, "_read_csv_pandas", refuse)
    inst = slotopt.load_instance(folder(tmp_path))
    assert inst.capacity.tolist() == [1, 2] and inst.acc_rank.tolist() == [1, 2, -1, 1]
    assert inst.slots["location"].tolist() == ["Town hall", "Town hall"]


def test_pandas_reader_never_touches_pyarrow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_tables, "CSV_READER", "pandas")
    monkeypatch.setattr(_tables, "_read_csv_arrow", refuse)
    inst = slotopt.load_instance(folder(tmp_path))
    assert inst.capacity.tolist() == [1, 2] and inst.acc_rank.tolist() == [1, 2, -1, 1]


def test_pyarrow_hands_a_ragged_file_to_pandas_for_the_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("pyarrow")
    monkeypatch.setattr(_tables, "CSV_READER", "pyarrow")
    calls: list[str] = []
    real = _tables._read_csv_pandas

    def spy(*args: Any, **kwargs: Any) -> pd.DataFrame | None:
        calls.append(args[0].name)
        return real(*args, **kwargs)

    monkeypatch.setattr(_tables, "_read_csv_pandas", spy)
    d = folder(tmp_path, applicants_csv="applicant_id,priority\nA,1\nB\nC,2\n")
    with pytest.raises(slotopt.InstanceError, match=r"applicants\.csv row 2: row 2 has 1 fields"):
        slotopt.load_instance(d)
    assert calls == ["applicants.csv"]


def test_both_readers_give_the_same_instance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("pyarrow")
    d = write_instance(generate_prefecture(400, seed=9), tmp_path / "week")
    loaded = {}
    for reader in _tables.CSV_READERS:
        monkeypatch.setattr(_tables, "CSV_READER", reader)
        loaded[reader] = slotopt.load_instance(d)
    a, b = loaded["pyarrow"], loaded["pandas"]
    for name in ("capacity", "priority", "acc_indptr", "acc_slot", "acc_rank"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    for table in ("slots", "applicants", "acceptable"):
        left, right = getattr(a, table), getattr(b, table)
        assert list(left.columns) == list(right.columns)
        for col in left.columns:  # same values as text (optional columns may differ in dtype)
            assert left[col].astype("string").tolist() == right[col].astype("string").tolist()


def test_spaces_after_commas_are_skipped_and_blank_text_is_missing(tmp_path: Path) -> None:
    # pandas' skipinitialspace, and an empty optional cell is missing, on both readers
    slots = "slot_id,capacity,location\nm, 1, Town hall\nn,2,\n"
    inst = slotopt.load_instance(folder(tmp_path, slots_csv=slots))
    assert inst.capacity.tolist() == [1, 2]
    assert inst.slots["location"].iloc[0] == "Town hall"
    assert pd.isna(inst.slots["location"].iloc[1])


def test_a_column_of_unknown_type_keeps_pandas_inference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # batch and choice tables have float columns read by inference; pyarrow would make them text
    pytest.importorskip("pyarrow")
    monkeypatch.setattr(_tables, "CSV_READER", "pyarrow")
    slots = "slot_id,capacity,weight\nm,1,1.5\nn,2,0.25\n"
    inst = slotopt.load_instance(folder(tmp_path, slots_csv=slots))
    assert inst.slots["weight"].dtype == np.float64
    assert inst.slots["weight"].tolist() == [1.5, 0.25]
