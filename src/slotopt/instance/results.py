"""Reading a matching result folder back (for ``slotopt explain``), validated like any input."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from slotopt.errors import InstanceError
from slotopt.instance._tables import Problems, check_ids, integer_column, read_json, read_table
from slotopt.instance.matching import MatchingInstance


def read_matching_result(
    folder: str | Path, inst: MatchingInstance
) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    """Read ``summary.json`` and ``assignment.csv`` of a result folder for ``inst``.

    Returns
    -------
    summary, slot_of (A,), position (A,)
        In the instance's applicant order.

    Raises
    ------
    InstanceError
        Missing files, unknown ids, or an assignment that does not cover every applicant once.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InstanceError(f"{folder}: no such result folder")
    summary = read_json(folder / "summary.json")
    problems = Problems()
    df, _ = read_table(
        folder,
        "assignment",
        required=("applicant_id", "slot_id", "position"),
        string_columns=("applicant_id", "slot_id"),
        problems=problems,
    )
    problems.raise_if_any()
    df = cast(pd.DataFrame, df)  # raise_if_any() returned, so the table was read
    check_ids(df, "assignment.csv", "applicant_id", problems)
    position = integer_column(
        df, "assignment.csv", "position", problems, minimum=1, what="an integer >= 1"
    )
    a_idx = inst.applicant_index.get_indexer(df["applicant_id"])
    for row in np.flatnonzero(a_idx < 0)[:20]:
        problems.add(
            f"assignment.csv row {row + 1}, column applicant_id",
            f"{df['applicant_id'].iloc[row]!r} is not an applicant of instance {inst.name!r}",
        )
    slot_col = df["slot_id"]
    has_slot = slot_col.notna().to_numpy(dtype=bool)
    s_idx = np.where(has_slot, inst.slot_index.get_indexer(slot_col.fillna("")), -1)
    for row in np.flatnonzero(has_slot & (s_idx < 0))[:20]:
        problems.add(
            f"assignment.csv row {row + 1}, column slot_id",
            f"{slot_col.iloc[row]!r} is not a slot of instance {inst.name!r}",
        )
    if len(df) != inst.n_applicants or len(set(a_idx.tolist())) != len(df):
        problems.add("assignment.csv", "expected exactly one row per applicant of the instance")
    problems.raise_if_any()
    slot_of = np.full(inst.n_applicants, -1, dtype=np.int64)
    pos = np.zeros(inst.n_applicants, dtype=np.int64)
    slot_of[a_idx] = s_idx
    pos[a_idx] = position if position is not None else 0
    return summary, slot_of, pos
