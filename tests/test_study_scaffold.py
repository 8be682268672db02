"""The study scaffold (slotopt.run.studies.scaffold): the factorial design table, runs by group
joined back in design order with every clause of the one-to-one check, and the result folder."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import slotopt
from slotopt._atomic import OutputExistsError
from slotopt.run.studies.scaffold import GroupResult, StudyOutput, factorial, run_design


def test_factorial_is_the_product_in_order_with_ids_first() -> None:
    d = factorial({"size": [3, 1], "rate": [0.5, 0.2, 0.8]}, id_column="case")
    assert list(d.columns) == ["case", "size", "rate"]
    assert d["case"].tolist() == list(range(6))
    # the first factor varies slowest, levels in the order given
    assert list(zip(d["size"], d["rate"], strict=True)) == [
        (3, 0.5), (3, 0.2), (3, 0.8), (1, 0.5), (1, 0.2), (1, 0.8),
    ]  # fmt: skip
    with pytest.raises(ValueError, match="id column"):
        factorial({"case": [1]}, id_column="case")


def _square(rows: pd.DataFrame) -> GroupResult:
    # answers in reverse order: the scaffold must put them back in design order
    back = rows.iloc[::-1]
    return GroupResult(
        pd.DataFrame({"run": back["run"], "square": back["x"] ** 2}),
        {"groups": pd.DataFrame({"g": [int(rows["g"].iloc[0])], "n": [len(rows)]})},
    )


def test_run_design_joins_results_in_design_order_and_concatenates_tables() -> None:
    d = factorial({"g": [2, 1], "x": [1, 2, 3]})
    seen: list[tuple[int, int]] = []
    runs = run_design(d, _square, by=["g"], progress=lambda done, total: seen.append((done, total)))
    pd.testing.assert_frame_equal(runs.results[list(d.columns)], d)
    assert runs.results["square"].tolist() == [1, 4, 9, 1, 4, 9]
    # groups run in order of first appearance (g = 2 first), one progress call each
    assert runs.tables["groups"].to_dict("list") == {"g": [2, 1], "n": [3, 3]}
    assert seen == [(1, 2), (2, 2)]


@pytest.mark.parametrize(
    "broken",
    [
        lambda rows: rows.iloc[1:],  # a row missing
        lambda rows: pd.concat([rows, rows.iloc[:1]]),  # a row repeated
        lambda rows: pd.concat([rows, rows.iloc[:1].assign(run=99)]),  # an id of no design row
    ],
    ids=["missing", "repeated", "foreign"],
)
def test_run_design_rejects_rows_that_do_not_match_the_group(broken: Any) -> None:
    d = factorial({"g": [1, 2], "x": [1, 2]})

    def run(rows: pd.DataFrame) -> GroupResult:
        return GroupResult(broken(rows[["run"]].assign(y=1.0)))

    with pytest.raises(ValueError, match="one to one"):
        run_design(d, run, by=["g"])


def test_run_design_rejects_result_columns_that_overwrite_the_design() -> None:
    d = factorial({"g": [1], "x": [1, 2]})
    with pytest.raises(ValueError, match=r"reuse design columns \['x'\]"):
        run_design(d, lambda rows: GroupResult(rows[["run", "x"]]), by=["g"])


def test_run_design_rejects_repeated_design_ids() -> None:
    d = factorial({"g": [1], "x": [1, 2]}).assign(run=0)
    with pytest.raises(ValueError, match="repeated"):
        run_design(d, lambda rows: GroupResult(rows[["run"]]), by=["g"])


@dataclass(frozen=True)
class _Tiny(StudyOutput):
    table: pd.DataFrame

    def summary(self) -> dict[str, Any]:
        return {"n": len(self.table)}

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"runs": self.table}


def test_study_output_writes_tables_and_summary_and_never_overwrites(tmp_path: Path) -> None:
    out = tmp_path / "study"
    result = _Tiny(factorial({"x": [1, 2]}))
    assert result.figures() == {}
    result.to_folder(out)
    assert {p.name for p in out.iterdir()} == {"runs.csv", "summary.json"}
    summary = json.loads((out / "summary.json").read_text())
    assert summary.pop("files") == ["runs.csv", "summary.json"]  # the folder's manifest
    assert summary.pop("slotopt_version") == slotopt.__version__  # what --force looks for
    assert summary == {"n": 2}
    pd.testing.assert_frame_equal(pd.read_csv(out / "runs.csv"), result.table)
    with pytest.raises(OutputExistsError):
        result.to_folder(out)
    _Tiny(factorial({"x": [5]})).to_folder(out, force=True)
    assert json.loads((out / "summary.json").read_text())["n"] == 1
