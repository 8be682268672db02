"""Reading the files of an instance folder, with every problem collected and located.

This module is the only place that parses instance files. Readers never raise on the first
problem: they add to a :class:`Problems` collector, which raises one ``InstanceError`` at the
boundary listing the first 20 problems, each naming file, 1-based data row and column.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from slotopt.errors import InstanceError


@dataclass
class Problems:
    """Collects located problems; ``raise_if_any()`` turns them into one ``InstanceError``."""

    items: list[str] = field(default_factory=list)

    def add(self, where: str, message: str) -> None:
        self.items.append(f"{where}: {message}")

    def extend_rows(
        self, file: str, column: str, rows: Iterable[int], message: str, *, limit: int = 20
    ) -> None:
        """Add one problem per offending data row (``rows`` are 0-based positions)."""
        for n, row in enumerate(rows):
            if n >= limit:
                break
            self.add(f"{file} row {int(row) + 1}, column {column}", message)

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise InstanceError(self.items)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_json(path: Path) -> dict[str, Any]:
    """Read ``instance.json``; a missing file, bad bytes or bad JSON is an ``InstanceError``."""
    name = path.name
    if not path.is_file():
        raise InstanceError(
            f"{name}: file not found in {path.parent} (every instance folder needs one)"
        )
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InstanceError(f"{name}: not UTF-8 text (byte {exc.start} is invalid)") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InstanceError(
            f"{name} line {exc.lineno}, column {exc.colno}: malformed JSON ({exc.msg})"
        ) from None
    if not isinstance(data, dict):
        raise InstanceError(f"{name}: expected a JSON object at the top level")
    return data


def find_table(folder: Path, stem: str) -> Path | None:
    """The CSV or Parquet file for ``stem`` (CSV wins when both exist), or None."""
    for suffix in (".csv", ".parquet"):
        p = folder / f"{stem}{suffix}"
        if p.is_file():
            return p
    return None


def read_table(
    folder: Path,
    stem: str,
    *,
    required: Sequence[str],
    string_columns: Sequence[str],
    problems: Problems,
) -> tuple[pd.DataFrame | None, Path | None]:
    """Read ``stem.csv`` (or ``stem.parquet``) with id columns as strings.

    Returns ``(None, path)`` and records a problem when the file is missing, unreadable or lacks
    a required column. Values are not validated here beyond being readable.
    """
    path = find_table(folder, stem)
    label = f"{stem}.csv"
    if path is None:
        problems.add(label, f"file not found in {folder.name or folder} (required)")
        return None, None
    label = path.name
    try:
        if path.suffix == ".parquet":
            try:
                df = pd.read_parquet(path)
            except ImportError:
                problems.add(label, "reading Parquet needs pyarrow: pip install 'slotopt[parquet]'")
                return None, path
            for col in string_columns:
                if col in df.columns:
                    df[col] = _as_string_ids(df[col])
        else:
            raw = path.read_bytes()
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                line = raw[: exc.start].count(b"\n") + 1
                problems.add(
                    f"{label} line {line}", f"not UTF-8 text (byte {exc.start} is invalid)"
                )
                return None, path
            df = pd.read_csv(
                path,
                dtype={c: "string" for c in string_columns},
                keep_default_na=False,
                na_values=[""],
                skipinitialspace=True,
                encoding="utf-8",
            )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        problems.add(label, f"cannot be read as a table ({first})")
        return None, path
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in required if c not in df.columns]
    if missing:
        problems.add(
            label,
            f"missing column(s) {', '.join(missing)} (found: {', '.join(df.columns) or 'none'})",
        )
        return None, path
    return df, path


def _as_string_ids(col: pd.Series) -> pd.Series:
    out = col.astype("string")
    return out.str.strip()


def check_ids(df: pd.DataFrame, file: str, column: str, problems: Problems) -> None:
    """Ids must be present, non-blank strings."""
    col = df[column].astype("string").str.strip()
    df[column] = col
    bad = np.flatnonzero((col.isna() | (col == "")).to_numpy(dtype=bool))
    problems.extend_rows(file, column, bad, "empty id (every row needs one)")


def check_unique(df: pd.DataFrame, file: str, column: str, problems: Problems) -> None:
    col = df[column]
    dup = col.duplicated(keep="first") & col.notna()
    for row in np.flatnonzero(dup.to_numpy(dtype=bool))[:20]:
        problems.add(
            f"{file} row {row + 1}, column {column}",
            f"duplicate id {col.iloc[row]!r} (ids must be unique)",
        )


def integer_column(
    df: pd.DataFrame,
    file: str,
    column: str,
    problems: Problems,
    *,
    minimum: int | None = None,
    what: str = "an integer",
    allow_missing: bool = False,
) -> np.ndarray | None:
    """Parse ``column`` as int64, recording every non-integer or too-small value.

    Returns the parsed array (missing values as ``-1`` when ``allow_missing``) or None when
    any value is bad.
    """
    raw = df[column]
    num = pd.to_numeric(raw, errors="coerce")
    missing = raw.isna().to_numpy(dtype=bool)
    ok_number = num.notna().to_numpy(dtype=bool)
    values = num.to_numpy(dtype="float64", na_value=np.nan)
    finite = np.isfinite(values)
    integral = np.zeros(len(values), dtype=bool)
    integral[finite] = values[finite] == np.round(values[finite])
    bad_type = ~(ok_number & integral)
    if allow_missing:
        bad_type &= ~missing
    n_bad = 0
    for row in np.flatnonzero(bad_type)[:20]:
        shown = raw.iloc[row]
        problems.add(
            f"{file} row {row + 1}, column {column}",
            f"expected {what}, got {'nothing' if pd.isna(shown) else repr(str(shown))}",
        )
        n_bad += 1
    if minimum is not None:
        low = ok_number & integral & (np.where(finite, values, minimum) < minimum)
        for row in np.flatnonzero(low)[:20]:
            problems.add(
                f"{file} row {row + 1}, column {column}",
                f"expected {what}, got {int(values[row])}",
            )
            n_bad += 1
    if n_bad:
        return None
    out = np.where(missing, -1, np.where(finite, values, -1)).astype(np.int64)
    return out
