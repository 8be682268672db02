"""Tables of observed choice situations, the input of β estimation (``slotopt estimate``).

One CSV row per *option* of a choice situation, in long form (the usual layout for conditional
logit data):

============== ======== =====================================================================
column         required meaning
============== ======== =====================================================================
situation_id   yes      one choice situation (a respondent's screen, a booking-page visit)
alternative    yes      the provider / page the option belongs to (its menu size is summed
                        over its rows)
shown          yes      number of free slots shown, an integer >= 0 (of this row's slot type
                        when ``slot_type`` is given, else of the whole alternative)
chosen         yes      1 on the row that was chosen, 0 elsewhere; a situation with no 1 is a
                        *no choice* and needs ``outside = 1``
outside        no       1 when the customer could book nothing (a no-choice option with utility
                        ``w0 = 0`` was available), 0 for a forced choice (the default, as in the
                        survey of Kaluza et al. 2024); constant within a situation
slot_type      no       slot type of the row; its weight ``w_n`` is estimated when identified
weight         no       a *known* slot-type weight ``w_n`` (an offset, not estimated)
============== ======== =====================================================================

Other columns (a treatment label, a respondent id) are kept and may be used to fit subsets
(:func:`split_by`). :func:`choices_from_frame` is the single validator: every problem is
collected and reported with file, 1-based data row and column.

References
----------
Kaluza, Voigt, Haase & Dietze (2024), Sect. 3.4 (Eq. 1, the survey model) and Appendix D
(Eq. 5, several providers each showing slots of several types).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd

from slotopt.errors import InstanceError
from slotopt.instance._tables import Problems, check_ids, integer_column, read_table, sha256_of
from slotopt.instance.provenance import HasProvenance, Provenance

__all__ = ["ChoiceTable", "choices_from_frame", "load_choices", "split_by"]

REQUIRED = ("situation_id", "alternative", "shown", "chosen")
ROW = "_row"  # column added to ``ChoiceTable.rows``: the 1-based data row of the file
STRINGS = ("situation_id", "alternative", "slot_type")


@dataclass(frozen=True, eq=False)
class ChoiceTable(HasProvenance):
    """Validated choice situations, rows grouped by situation (in order of first appearance).

    Attributes
    ----------
    rows : DataFrame
        The table as read, reordered so that each situation's rows are contiguous (stable);
        column ``_row`` holds the 1-based data row of the file for messages.
    situation : ndarray of shape (R,), int64
        Situation index of each row, ``0 .. n_situations - 1``, non-decreasing.
    alternative : ndarray of shape (R,), int64
        Index of the row's (situation, alternative) group, ``0 .. n_alternatives - 1``.
    shown : ndarray of shape (R,), int64
    chosen : ndarray of shape (R,), bool
    outside : ndarray of shape (n_situations,), bool
        Whether a no-choice option was available in each situation.
    slot_type : ndarray of shape (R,), int64, or None
        Index into ``type_names``; None when the file has no ``slot_type`` column.
    type_names : tuple of str
        Slot types in order of first appearance (empty without ``slot_type``).
    weight : ndarray of shape (R,), float64, or None
        Known weights (``weight`` column), None when absent.
    situation_ids : tuple of str
    file : str
        Name used in messages (``choices.csv``).
    """

    rows: pd.DataFrame
    situation: np.ndarray
    alternative: np.ndarray
    shown: np.ndarray
    chosen: np.ndarray
    outside: np.ndarray
    slot_type: np.ndarray | None
    type_names: tuple[str, ...]
    weight: np.ndarray | None
    situation_ids: tuple[str, ...]
    file: str = "choices.csv"
    provenance: Provenance = field(default_factory=Provenance)

    @property
    def n_situations(self) -> int:
        return len(self.situation_ids)

    @property
    def n_rows(self) -> int:
        return len(self.shown)

    @property
    def n_alternatives(self) -> int:
        return int(self.alternative.max()) + 1 if len(self.alternative) else 0

    @property
    def n_no_choice(self) -> int:
        """Situations in which nothing was chosen."""
        picked = np.zeros(self.n_situations, dtype=bool)
        picked[self.situation[self.chosen]] = True
        return int((~picked).sum())

    def menu_size(self) -> np.ndarray:
        """``sigma`` of each row's alternative (slots shown by that provider), shape (R,)."""
        total = np.bincount(self.alternative, weights=self.shown, minlength=self.n_alternatives)
        return total[self.alternative].astype(np.int64)

    def describe(self) -> str:
        return (
            f"{self.file}: {self.n_situations} choice situations, {self.n_alternatives} "
            f"alternatives, {self.n_no_choice} without a choice"
        )


def _binary_column(
    df: pd.DataFrame, file: str, column: str, problems: Problems
) -> np.ndarray | None:
    values = integer_column(df, file, column, problems, minimum=0, what="0 or 1")
    if values is None:
        return None
    bad = np.flatnonzero(values > 1)
    for row in bad[:20]:
        problems.add(
            f"{file} row {row + 1}, column {column}", f"expected 0 or 1, got {values[row]}"
        )
    return None if len(bad) else values.astype(bool)


def choices_from_frame(
    df: pd.DataFrame,
    *,
    file: str = "choices.csv",
    source: Path | None = None,
    input_sha256: Mapping[str, str] | None = None,
    file_rows: np.ndarray | None = None,
) -> ChoiceTable:
    """Validate a long-form table of choice situations and build a :class:`ChoiceTable`.

    Parameters
    ----------
    df
        One row per option, with the columns listed in this module's docstring.
    file
        The file name used in error messages.
    file_rows
        1-based row of each data row in ``file`` when ``df`` is a subset of it (default
        ``1..len(df)``); kept in ``rows["_row"]`` for later messages.

    Raises
    ------
    InstanceError
        Listing every problem (first 20), each naming file, 1-based data row and column.

    Examples
    --------
    >>> t = choices_from_frame(pd.DataFrame({
    ...     "situation_id": ["r1", "r1", "r2", "r2"], "alternative": ["A", "B", "A", "B"],
    ...     "shown": [2, 8, 2, 8], "chosen": [1, 0, 0, 1]}))
    >>> t.n_situations, t.menu_size().tolist()
    (2, [2, 8, 2, 8])
    """
    problems = Problems()
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        found = ", ".join(map(str, df.columns)) or "none"
        raise InstanceError(f"{file}: missing column(s) {', '.join(missing)} (found: {found})")
    if len(df) == 0:
        raise InstanceError(f"{file}: no data rows (expected one row per option of a situation)")
    df = df.reset_index(drop=True).copy()
    df[ROW] = np.arange(1, len(df) + 1) if file_rows is None else np.asarray(file_rows)

    check_ids(df, file, "situation_id", problems)
    check_ids(df, file, "alternative", problems)
    has_type = "slot_type" in df.columns
    if has_type:
        check_ids(df, file, "slot_type", problems)
    shown = integer_column(df, file, "shown", problems, minimum=0, what="an integer >= 0")
    chosen = _binary_column(df, file, "chosen", problems)
    outside_rows = (
        _binary_column(df, file, "outside", problems)
        if "outside" in df.columns
        else np.zeros(len(df), dtype=bool)
    )
    weight: np.ndarray | None = None
    if "weight" in df.columns:
        raw = df["weight"]
        num = pd.to_numeric(raw, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        for row in np.flatnonzero(~np.isfinite(num))[:20]:
            shown_value = raw.iloc[row]
            problems.add(
                f"{file} row {row + 1}, column weight",
                "expected a finite number (a known slot-type weight), got "
                + ("nothing" if pd.isna(shown_value) else repr(str(shown_value))),
            )
        weight = num
    problems.raise_if_any()
    shown = cast(np.ndarray, shown)
    chosen = cast(np.ndarray, chosen)
    outside_rows = cast(np.ndarray, outside_rows)

    # Codes in order of first appearance, so results never depend on sorting of ids.
    sit_code, sit_names = pd.factorize(df["situation_id"], sort=False)
    key_cols = ["situation_id", "alternative"] + (["slot_type"] if has_type else [])
    dup = df.duplicated(subset=key_cols, keep="first").to_numpy(dtype=bool)
    for row in np.flatnonzero(dup)[:20]:
        what = "(situation_id, alternative" + (", slot_type)" if has_type else ")")
        problems.add(
            f"{file} row {row + 1}, column {key_cols[-1]}",
            f"duplicate {what} {tuple(str(df[c].iloc[row]) for c in key_cols)} "
            "(each option may be listed once)",
        )
    n_sit = len(sit_names)
    first_row = np.full(n_sit, -1, dtype=np.int64)
    for row in range(len(df) - 1, -1, -1):
        first_row[sit_code[row]] = row
    outside = outside_rows[first_row]
    for row in np.flatnonzero(outside_rows != outside[sit_code])[:20]:
        problems.add(
            f"{file} row {row + 1}, column outside",
            f"situation {sit_names[sit_code[row]]!r} has outside = {int(outside[sit_code[row]])} "
            f"on row {first_row[sit_code[row]] + 1} (it must be the same on all its rows)",
        )
    n_chosen = np.bincount(sit_code, weights=chosen, minlength=n_sit)
    seen: set[int] = set()
    for row in np.flatnonzero(chosen & (n_chosen[sit_code] > 1)):
        s = int(sit_code[row])
        if s in seen:
            problems.add(
                f"{file} row {row + 1}, column chosen",
                f"situation {sit_names[s]!r} already has a chosen option (at most one per "
                "situation; none means no choice)",
            )
        seen.add(s)
    for s in np.flatnonzero((n_chosen == 0) & ~outside)[:20]:
        problems.add(
            f"{file} row {first_row[s] + 1}, column chosen",
            f"situation {sit_names[s]!r} has no chosen option and no outside option "
            "(mark the chosen row with 1, or set outside = 1 for a no-choice observation)",
        )
    for row in np.flatnonzero(chosen & (shown == 0))[:20]:
        problems.add(
            f"{file} row {row + 1}, column chosen",
            "this option shows 0 slots, so it cannot have been chosen",
        )
    type_code: np.ndarray | None = None
    type_names: tuple[str, ...] = ()
    if has_type:
        codes, names = pd.factorize(df["slot_type"], sort=False)
        type_code, type_names = codes.astype(np.int64), tuple(str(x) for x in names)
        if weight is not None:
            for t, name in enumerate(type_names):
                rows = np.flatnonzero(type_code == t)
                bad = rows[weight[rows] != weight[rows[0]]]
                for row in bad[:20]:
                    problems.add(
                        f"{file} row {row + 1}, column weight",
                        f"slot type {name!r} has weight {weight[rows[0]]:g} on row {rows[0] + 1}; "
                        "a known weight must be the same on every row of its type",
                    )
    problems.raise_if_any()

    order = np.argsort(sit_code, kind="stable")
    df = df.iloc[order].reset_index(drop=True)
    situation = sit_code[order].astype(np.int64)
    alt_code, _ = pd.factorize(
        pd.MultiIndex.from_arrays([situation, df["alternative"].to_numpy(dtype=object)]),
        sort=False,
    )
    return ChoiceTable(
        rows=df,
        situation=situation,
        alternative=alt_code.astype(np.int64),
        shown=shown[order],
        chosen=chosen[order],
        outside=outside,
        slot_type=None if type_code is None else type_code[order],
        type_names=type_names,
        weight=None if weight is None else weight[order],
        situation_ids=tuple(str(x) for x in sit_names),
        file=file,
        provenance=Provenance(source=source, input_sha256=dict(input_sha256 or {})),
    )


def load_choices(path: str | Path) -> ChoiceTable:
    """Read and validate a choices CSV (or Parquet) file, or ``choices.csv`` in a folder.

    Raises
    ------
    InstanceError
        The file is missing or unreadable, or a row is invalid (file, row and column named).
    """
    p = Path(path)
    folder, stem = (p, "choices") if p.is_dir() else (p.parent, p.stem)
    if not p.is_dir() and p.suffix not in {".csv", ".parquet"}:
        raise InstanceError(f"{p.name}: expected a .csv or .parquet file of choice situations")
    if not p.is_dir() and not p.exists():
        raise InstanceError(f"{p.name}: file not found in {p.parent}")
    problems = Problems()
    df, found = read_table(
        folder, stem, required=REQUIRED, string_columns=STRINGS, problems=problems
    )
    problems.raise_if_any()
    found = cast(Path, found)
    return choices_from_frame(
        cast(pd.DataFrame, df),
        file=found.name,
        source=found,
        input_sha256={found.name: sha256_of(found)},
    )


def split_by(table: ChoiceTable, column: str) -> dict[str, ChoiceTable]:
    """Split into one table per value of ``column`` (constant within each situation).

    Groups are returned in order of first appearance.

    Raises
    ------
    InstanceError
        The column is missing, empty on some row, or differs between rows of one situation.
    """
    df = table.rows
    file = table.file
    if column not in df.columns or column in (*REQUIRED, ROW):
        extra = [c for c in df.columns if c not in REQUIRED + (ROW, "outside", "weight")]
        raise InstanceError(
            f"{file}: no column {column!r} to group by (candidates: {', '.join(extra) or 'none'})"
        )
    problems = Problems()
    values = df[column].astype("string").str.strip()
    for i in np.flatnonzero((values.isna() | (values == "")).to_numpy(dtype=bool))[:20]:
        problems.add(f"{file} row {df[ROW].iloc[i]}, column {column}", "empty group label")
    problems.raise_if_any()
    labels = values.to_numpy(dtype=object)
    first = np.r_[0, np.flatnonzero(np.diff(table.situation)) + 1]
    per_situation = labels[first]
    for i in np.flatnonzero(labels != per_situation[table.situation])[:20]:
        s = table.situation[i]
        problems.add(
            f"{file} row {df[ROW].iloc[i]}, column {column}",
            f"situation {table.situation_ids[s]!r} is {per_situation[s]!r} on row "
            f"{df[ROW].iloc[first[s]]} (a group label must be the same on all its rows)",
        )
    problems.raise_if_any()
    out: dict[str, ChoiceTable] = {}
    for label in pd.unique(per_situation):
        keep = np.asarray(per_situation[table.situation] == label, dtype=bool)
        sub = df.loc[keep].drop(columns=ROW).reset_index(drop=True)
        out[str(label)] = choices_from_frame(
            sub,
            file=file,
            source=table.source,
            input_sha256=table.input_sha256,
            file_rows=df.loc[keep, ROW].to_numpy(),
        )
    return out
