"""The matching result writes assignment.csv itself, faster than pandas: the text must be exactly
what ``DataFrame.to_csv(index=False)`` writes, for plain ids (pyarrow's writer, or our own join
without pyarrow) and for ids pandas would quote or that are empty (pandas' writer)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from slotopt.run import matching_result
from slotopt.run.matching_result import _plain_csv

PLAIN = st.text(
    st.characters(blacklist_characters=',"\r\n', blacklist_categories=["Cs"]), min_size=1
)
ANY = st.text(st.characters(blacklist_categories=["Cs"]))


@st.composite
def assignments(draw: st.DrawFn, ids: st.SearchStrategy[str]) -> pd.DataFrame:
    n = draw(st.integers(0, 12))
    slots = draw(st.lists(st.one_of(st.none(), ids), min_size=n, max_size=n))
    return pd.DataFrame(
        {
            "applicant_id": pd.array(draw(st.lists(ids, min_size=n, max_size=n)), dtype="string"),
            "slot_id": pd.array(slots, dtype="string"),
            "position": np.array(draw(st.permutations(list(range(1, n + 1)))), dtype=np.int64),
        }
    )


def _columns(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The table as the arrays ``write_assignment`` takes."""
    slot_col = table["slot_id"]
    slot_ids = np.array(sorted(set(slot_col.dropna())), dtype=object)
    index = {s: k for k, s in enumerate(slot_ids)}
    slot = np.array([-1 if pd.isna(s) else index[s] for s in slot_col], dtype=np.int64)
    ids = table["applicant_id"].to_numpy(dtype=object)
    return ids, slot_ids, slot, table["position"].to_numpy()


def _written(table: pd.DataFrame, tmp: Path, *, arrow: bool = True) -> tuple[bytes, bytes]:
    mine, theirs = tmp / "mine.csv", tmp / "theirs.csv"
    with pytest.MonkeyPatch.context() as mp:
        if not arrow:
            mp.setattr(matching_result, "_write_assignment_arrow", lambda *args: False)
        matching_result.write_assignment(mine, *_columns(table))
    table.to_csv(theirs, index=False)
    return mine.read_bytes(), theirs.read_bytes()


def _arrow_wrote(table: pd.DataFrame, tmp: Path) -> bool:
    return matching_result._write_assignment_arrow(tmp / "arrow.csv", *_columns(table))


@given(assignments(PLAIN))
def test_plain_ids_are_written_by_our_writers_exactly_as_pandas(table: pd.DataFrame) -> None:
    assert _plain_csv(table) is not None
    with tempfile.TemporaryDirectory() as tmp:
        for arrow in (True, False):
            mine, theirs = _written(table, Path(tmp), arrow=arrow)
            assert mine == theirs
        assert _arrow_wrote(table, Path(tmp))  # the fast route took these


@given(assignments(ANY))
def test_any_ids_are_written_exactly_as_pandas(table: pd.DataFrame) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for arrow in (True, False):
            mine, theirs = _written(table, Path(tmp), arrow=arrow)
            assert mine == theirs


@pytest.mark.parametrize("bad", ["a,b", 'a"b', "a\nb", "a\rb", ""])
def test_ids_pandas_would_quote_or_leave_empty_go_to_pandas(bad: str) -> None:
    table = pd.DataFrame(
        {
            "applicant_id": pd.array(["x", bad], dtype="string"),
            "slot_id": pd.array(["s", None], dtype="string"),
            "position": [1, 2],
        }
    )
    assert _plain_csv(table) is None
    assert _plain_csv(table.iloc[:1]) is not None
    with tempfile.TemporaryDirectory() as tmp:
        assert not _arrow_wrote(table, Path(tmp))
        assert _arrow_wrote(table.iloc[:1], Path(tmp))
        mine, theirs = _written(table, Path(tmp))
        assert mine == theirs


def test_without_pyarrow_the_assignment_is_written_by_our_join(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import builtins

    real_import = builtins.__import__

    def no_pyarrow(name: str, *args: object, **kwargs: object) -> object:
        importer = args[0].get("__name__", "") if args and isinstance(args[0], dict) else ""
        if name.startswith("pyarrow") and importer.startswith("slotopt"):  # pandas keeps it
            raise ImportError(name)
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    table = pd.DataFrame(
        {
            "applicant_id": pd.array(["a", "b"], dtype="string"),
            "slot_id": pd.array(["s", None], dtype="string"),
            "position": [1, 2],
        }
    )
    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    assert not matching_result._write_assignment_arrow(tmp_path / "x.csv", *_columns(table))
    matching_result.write_assignment(tmp_path / "mine.csv", *_columns(table))
    monkeypatch.undo()
    table.to_csv(tmp_path / "theirs.csv", index=False)
    assert (tmp_path / "mine.csv").read_bytes() == (tmp_path / "theirs.csv").read_bytes()


def test_an_integer_column_with_gaps_goes_to_pandas() -> None:
    table = pd.DataFrame({"position": pd.array([1, None], dtype="Int64")})
    assert _plain_csv(table) is None


@given(assignments(ANY), st.randoms(use_true_random=False))
def test_rows_taken_by_an_order_are_written_as_that_table(table: pd.DataFrame, rnd) -> None:  # type: ignore[no-untyped-def]
    # per-applicant arrays in another order, and the order that gives the table's rows
    ids, slot_ids, slot, position = _columns(table)
    perm = list(range(len(ids)))
    rnd.shuffle(perm)
    order = np.array(perm, dtype=np.int64)  # row k (at perm[k] below) is applicant order[k]
    scattered = np.empty_like(ids), np.empty_like(slot), np.empty_like(position)
    for arr, src in zip(scattered, (ids, slot, position), strict=True):
        arr[perm] = src
    with tempfile.TemporaryDirectory() as tmp:
        for arrow in (True, False):
            mine = Path(tmp) / f"mine{arrow}.csv"
            with pytest.MonkeyPatch.context() as mp:
                if not arrow:
                    mp.setattr(matching_result, "_write_assignment_arrow", lambda *args: False)
                matching_result.write_assignment(
                    mine, scattered[0], slot_ids, scattered[1], scattered[2], order=order
                )
            table.to_csv(Path(tmp) / "theirs.csv", index=False)
            assert mine.read_bytes() == (Path(tmp) / "theirs.csv").read_bytes()
