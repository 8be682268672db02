"""The matching result writes assignment.csv itself, faster than pandas: the text must be exactly
what ``DataFrame.to_csv(index=False)`` writes, for plain ids (its own writer) and for ids
pandas would quote (pandas' writer)."""

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


def _written(table: pd.DataFrame, tmp: Path) -> tuple[bytes, bytes]:
    # write_table reads only the table it is given
    mine, theirs = tmp / "mine.csv", tmp / "theirs.csv"
    matching_result.MatchingResult.write_table(None, "assignment", table, mine)  # type: ignore[arg-type]
    table.to_csv(theirs, index=False)
    return mine.read_bytes(), theirs.read_bytes()


@given(assignments(PLAIN))
def test_plain_ids_are_written_by_our_writer_exactly_as_pandas(table: pd.DataFrame) -> None:
    assert _plain_csv(table) is not None
    with tempfile.TemporaryDirectory() as tmp:
        mine, theirs = _written(table, Path(tmp))
    assert mine == theirs


@given(assignments(ANY))
def test_any_ids_are_written_exactly_as_pandas(table: pd.DataFrame) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        mine, theirs = _written(table, Path(tmp))
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


def test_an_integer_column_with_gaps_goes_to_pandas() -> None:
    table = pd.DataFrame({"position": pd.array([1, None], dtype="Int64")})
    assert _plain_csv(table) is None
