"""Reading the files of an instance folder, with every problem collected and located.

This module is the only place that parses instance files. Readers never raise on the first
problem: they add to a :class:`Problems` collector, which raises one ``InstanceError`` at the
boundary listing the first 20 problems, each naming file, 1-based data row and column.
"""

from __future__ import annotations

import csv
import errno
import hashlib
import importlib.util
import io
import json
import os
import re
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from slotopt.errors import InstanceError

INT_MIN, INT_MAX = 0, 2**62
"""The integers slotopt accepts in instance files: priorities, capacities and ranks lie in
``0 .. 2**62`` (each kind may ask for more, e.g. ranks >= 1). 2**62 leaves room to add two
values in int64 without overflow; sums over a whole table are checked separately."""
RANGE_TEXT = f"{INT_MIN}..2**62 ({INT_MAX})"

CSV_READERS = ("pyarrow", "pandas")


def default_csv_reader() -> str:
    """``"pyarrow"`` when pyarrow is installed (it reads a million-row CSV faster), else
    ``"pandas"``."""
    return "pyarrow" if importlib.util.find_spec("pyarrow") is not None else "pandas"


CSV_READER = default_csv_reader()
"""Which parser reads CSV tables: pyarrow's multi-threaded reader when pyarrow is installed
(for tables whose every column is a known text or integer column), pandas' otherwise. Both
give the same frames and the same messages: pyarrow parses integer columns as int64 (refusing,
never rounding, anything else) and any file it cannot read as a plain table (a ragged row, a
blank-looking line, a quote after a space) goes to the pandas path, which locates the
problem."""


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
    """Read ``instance.json``; a missing file, bad bytes or bad JSON is an ``InstanceError``.

    A UTF-8 byte-order mark is accepted (as in the CSVs). ``NaN``, ``Infinity`` and ``1e400``
    (which Python reads as infinity) are read as floats and refused by each kind's validator,
    which names the key; reading never stops at the first problem.
    """
    name = path.name
    why = not_a_file(path)
    if why is not None:
        hint = " (every instance folder needs one)" if name == "instance.json" else ""
        raise InstanceError(f"{name}: {why} in {path.parent}{hint}")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InstanceError(f"{name}: not UTF-8 text (byte {exc.start} is invalid)") from None
    except OSError as exc:
        raise InstanceError(f"{name}: cannot be read ({exc.strerror or exc})") from None

    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InstanceError(
            f"{name} line {exc.lineno}, column {exc.colno}: malformed JSON ({exc.msg})"
        ) from None
    except RecursionError:
        raise InstanceError(f"{name}: nested too deeply to be read") from None
    if not isinstance(data, dict):
        raise InstanceError(f"{name}: expected a JSON object at the top level")
    return data


def not_a_file(path: Path) -> str | None:
    """Why ``path`` is not a readable regular file (None when it is one).

    Says what the path is: missing, a folder, a symbolic-link loop, a link to nothing.
    """
    try:
        st = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            return f"is a symbolic link to {os.readlink(path)!r}, which does not exist"
        return "file not found"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "is a symbolic link loop (the link points back to itself)"
        return f"cannot be read ({exc.strerror or exc})"
    if stat.S_ISDIR(st.st_mode):
        return "is a folder, expected a file"
    if not stat.S_ISREG(st.st_mode):
        return "is not a regular file"
    return None


def find_table(folder: Path, stem: str) -> Path | None:
    """The CSV or Parquet file for ``stem`` (CSV wins when both exist), or None.

    A path that exists but is not a file (a folder, a link loop) is returned too, so that the
    reader can say what it is instead of "not found".
    """
    for suffix in (".csv", ".parquet"):
        p = folder / f"{stem}{suffix}"
        if p.is_symlink() or p.exists():
            return p
    return None


def read_table(
    folder: Path,
    stem: str,
    *,
    required: Sequence[str],
    string_columns: Sequence[str],
    problems: Problems,
    integer_columns: Sequence[str] = (),
) -> tuple[pd.DataFrame | None, Path | None]:
    """Read ``stem.csv`` (or ``stem.parquet``) with id columns as strings.

    ``integer_columns`` of a CSV are read as int64 or as text, never as floats, so that
    :func:`integer_column` takes them exactly (a float64 round trip would merge 17-digit
    priorities); :data:`CSV_READER` says which parser reads them. Returns ``(None, path)`` and
    records a problem when the file is missing, not a file, unreadable, has a duplicated header,
    a row with the wrong number of fields, or lacks a required column. Values are not validated
    here beyond being readable.
    """
    path = find_table(folder, stem)
    label = f"{stem}.csv"
    if path is None:
        problems.add(label, f"file not found in {folder.name or folder} (required)")
        return None, None
    label = path.name
    why = not_a_file(path)
    if why is not None:
        problems.add(label, f"{why} (in {folder.name or folder})")
        return None, path
    try:
        if path.suffix == ".parquet":
            df = _read_parquet(path, label, problems)
            if df is None:
                return None, path
            for col in string_columns:
                if col in df.columns:
                    df[col] = _as_string_ids(df[col])
        else:
            raw = path.read_bytes()
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                line = raw[: exc.start].count(b"\n") + 1
                problems.add(
                    f"{label} line {line}", f"not UTF-8 text (byte {exc.start} is invalid)"
                )
                return None, path
            header = _csv_header(text)
            dup = _duplicates([h.strip() for h in header])
            if dup:
                problems.add(
                    label,
                    f"duplicate column header(s) {', '.join(map(repr, dup))} "
                    "(each column may appear once)",
                )
                return None, path
            df = None
            # pyarrow reads a table whose every column has a known type (text or integer);
            # other columns keep pandas' type inference (weights, times), so such files go there
            known = {*string_columns, *integer_columns}
            if CSV_READER == "pyarrow" and all(h.strip() in known for h in header):
                df = _read_csv_arrow(path, raw, header, integer_columns, '"' in text)
            if df is None:
                df = _read_csv_pandas(
                    path, raw, text, header, label, problems, string_columns, integer_columns
                )
                if df is None:
                    return None, path
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


def _read_csv_arrow(
    path: Path, raw: bytes, header: Sequence[str], integer_columns: Sequence[str], quoted: bool
) -> pd.DataFrame | None:
    """The table read by pyarrow, or None when pandas should read it (and locate a problem).

    See :func:`_arrow_csv_table`; strings become pandas' string dtype, and an int64 column with
    missing values a nullable Int64 (it would become float64 otherwise).
    """
    table = _arrow_csv_table(raw, header, integer_columns, quoted)
    if table is None:
        return None
    import pyarrow as pa

    # one conversion for the whole table (strings to pandas' string dtype); an int64 column
    # with missing values would become float64 there, so it goes to a nullable Int64 instead
    nullable = [
        n
        for n, c in zip(table.column_names, table.columns, strict=True)
        if pa.types.is_integer(c.type) and c.null_count
    ]
    df = table.drop_columns(nullable).to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get)
    for name in nullable:
        df[name] = table.column(name).to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
    return df[list(table.column_names)]


CSV_BLOCK_BYTES = 4 << 20


def _arrow_csv_table(
    raw: bytes,
    header: Sequence[str],
    integer_columns: Sequence[str],
    quoted: bool,
    dictionary_columns: Sequence[str] = (),
) -> Any:
    """The CSV bytes parsed by pyarrow as a ``pyarrow.Table``, or None when pandas should read
    them (and locate a problem).

    Integer columns are parsed by pyarrow as int64, which is exact and refuses a sign ``+``,
    a decimal point, an exponent or a number beyond int64 (but takes hexadecimal, see below);
    when any value is refused, those columns are read again as text for :func:`integer_column`,
    like the pandas path. Every other column is text (``dictionary_columns`` dictionary-encoded
    by the parser, one dictionary per block, when no blank follows a comma). Empty fields
    are missing values, as with pandas' ``na_values=[""]``; spaces after a comma are skipped
    (pandas' ``skipinitialspace``), and a file with a quote after such a space goes to pandas.
    """
    # (each multi-byte search only after a one-byte memchr says it could match: Python's
    # search for ", " through a file of commas is slow, a memchr for a space is not)
    space, quote = b" " in raw, b'"' in raw
    if (space and quote and b', "' in raw) or (b"\t" in raw and b",\t" in raw):
        return None
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    ints = [h for h in header if h.strip() in integer_columns]
    # 4 MB blocks (pyarrow's default is 1 MB): a quarter of the per-block dictionaries to look
    # up afterwards, and still dozens of blocks for the threads at a million applicants
    read = pacsv.ReadOptions(use_threads=True, block_size=CSV_BLOCK_BYTES)
    parse = pacsv.ParseOptions(newlines_in_values=quoted)

    coded = pa.dictionary(pa.int32(), pa.string())
    encode = set() if space and b", " in raw else {h for h in header if h in dictionary_columns}

    def convert(as_int: bool) -> Any:
        types = {
            h: pa.int64() if as_int and h in ints else coded if h in encode else pa.string()
            for h in header
        }
        return pacsv.ConvertOptions(
            column_types=types,
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        )

    # Arrow's int64 parser also takes hexadecimal ("0x10" is 16, "0xFFFFFFFFFFFFFFFF" is -1):
    # a file with "0x" anywhere (even in an id) has its integer columns read as text instead.
    as_int = not (b"x" in raw and b"0x" in raw) and not (b"X" in raw and b"0X" in raw)
    buffer = pa.py_buffer(raw)
    try:
        try:
            table = pacsv.read_csv(pa.BufferReader(buffer), read, parse, convert(as_int))
        except pa.ArrowInvalid as exc:
            if not as_int or "conversion error" not in str(exc):
                return None
            table = pacsv.read_csv(pa.BufferReader(buffer), read, parse, convert(False))
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if table.column_names != list(header):
        return None
    if space and b", " in raw:
        for i, name in enumerate(table.column_names):
            col = table.column(i)
            if pa.types.is_string(col.type):
                col = pc.utf8_ltrim(col, characters=" ")
                col = pc.if_else(pc.equal(col, ""), pa.scalar(None, pa.string()), col)
                table = table.set_column(i, name, col)
    return table


def _read_csv_pandas(
    path: Path,
    raw: bytes,
    text: str,
    header: Sequence[str],
    label: str,
    problems: Problems,
    string_columns: Sequence[str],
    integer_columns: Sequence[str],
) -> pd.DataFrame | None:
    """The table read by pandas; None (with a located problem) for a ragged row."""
    options: dict[str, Any] = {
        "keep_default_na": False,
        "na_values": [""],
        "skipinitialspace": True,
        "encoding": "utf-8",
    }
    try:
        df = pd.read_csv(path, dtype={c: "string" for c in string_columns}, **options)
    except pd.errors.ParserError:
        if not _rows_ok(raw, text, len(header), label, problems):
            return None
        raise
    # A short row shows as a blank last cell (so does an empty last field, hence the
    # exact count only then); a row one field too long on every line becomes pandas'
    # index. Both are counted exactly in those cases only, to keep loading fast.
    last = df[df.columns[-1]] if len(df.columns) else None
    suspicious = not isinstance(df.index, pd.RangeIndex) or (
        last is not None and bool(last.isna().any())
    )
    if suspicious and not _rows_ok(raw, text, len(header), label, problems):
        return None
    # pandas' own int64 parse is exact; any other result (float64 for a blank cell or a
    # number beyond int64, bool, text) is read again as text for integer_column.
    retry = {
        c
        for c in df.columns
        if str(c).strip() in integer_columns and not pd.api.types.is_integer_dtype(df[c].dtype)
    }
    if retry:
        again = pd.read_csv(path, usecols=lambda c: c in retry, dtype="string", **options)
        for c in retry:
            df[c] = again[c]
    return df


def _read_parquet(path: Path, label: str, problems: Problems) -> pd.DataFrame | None:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        problems.add(label, "reading Parquet needs pyarrow: pip install 'slotopt[parquet]'")
        return None
    try:
        names = [str(n).strip() for n in pq.read_schema(path).names]
    except Exception as exc:  # pyarrow raises its own types for a corrupt file
        problems.add(label, f"cannot be read as a Parquet table ({exc})")
        return None
    dup = _duplicates(names)
    if dup:
        problems.add(label, f"duplicate column header(s) {', '.join(map(repr, dup))}")
        return None
    return pd.read_parquet(path)


def _duplicates(names: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    return sorted({n for n in names if n in seen or seen.add(n)})  # type: ignore[func-returns-value]


def _csv_header(text: str) -> list[str]:
    """The first non-blank line, split by the csv module (a header has no line breaks)."""
    pos = 0
    while pos < len(text):
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        line = text[pos:end]
        if line.strip():
            return next(csv.reader([line]))
        pos = end + 1
    return []


def _rows_ok(raw: bytes, text: str, width: int, label: str, problems: Problems) -> bool:
    """Whether every data row has ``width`` fields; records "row N has K fields, the header has
    M" otherwise. pandas would fill a short row with blanks and fail on a long one with a file
    line number, so rows are counted here, numbered like every other message: data rows,
    1-based, blank lines skipped. Files without quotes are counted with numpy (the common case
    at a million rows); files with quotes go through the csv module.
    """
    if '"' in text:
        counts = [len(r) for r in csv.reader(io.StringIO(text)) if r and any(f.strip() for f in r)]
        fields = np.asarray(counts[1:], dtype=np.int64)
    else:
        buf = np.frombuffer(raw, dtype=np.uint8)
        ends = np.append(np.flatnonzero(buf == 10), len(buf))
        starts = np.concatenate(([0], ends[:-1] + 1))
        if starts[-1] >= len(buf):  # the file ends with a newline: no last line
            starts, ends = starts[:-1], ends[:-1]
        # a line is blank when it holds only spaces, tabs and a carriage return (pandas skips
        # it); an empty line's first byte is its own newline, so reduceat sees False there
        visible = (buf != 32) & (buf != 9) & (buf != 13) & (buf != 10)
        filled = np.logical_or.reduceat(visible, starts) if len(starts) else starts > 0
        commas = np.flatnonzero(buf == 44)
        per_line = np.diff(np.searchsorted(commas, ends), prepend=0) + 1
        fields = per_line[np.flatnonzero(filled)[1:]]
    for row in np.flatnonzero(fields != width)[:20]:
        problems.add(
            f"{label} row {int(row) + 1}",
            f"row {int(row) + 1} has {int(fields[row])} fields, the header has {width}",
        )
    return bool((fields == width).all())


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
    maximum: int = INT_MAX,
) -> np.ndarray | None:
    """Parse ``column`` exactly as int64, recording every bad value with its row.

    Text (CSV) is parsed digit by digit: optional sign, ASCII digits, surrounding blanks; no
    decimal point, exponent, underscore or ``true``/``false``. Integer columns are taken as they
    are; a float column (a Parquet file or a DataFrame) only where every value is integral and
    below 2**53, the largest range in which a float can hold an integer exactly. Values must lie
    in ``minimum .. maximum`` (``maximum`` defaults to 2**62).

    Returns the parsed array (missing values as ``-1`` when ``allow_missing``) or None when
    any value is bad.
    """
    raw = df[column]
    low = INT_MIN if minimum is None else minimum
    where = f"{file} row {{}}, column {column}"
    missing = raw.isna().to_numpy(dtype=bool)
    values, bad = _exact_integers(raw, missing)
    if not allow_missing:
        bad |= missing
    found: list[tuple[int, str]] = []
    for row in np.flatnonzero(bad)[:20].tolist():
        shown = raw.iloc[row]
        got = "nothing" if pd.isna(shown) else repr(str(shown).strip())
        if isinstance(shown, bool | np.bool_) or str(shown).strip().lower() in {"true", "false"}:
            got += " (true/false is not an integer)"
        found.append((row, f"expected {what}, got {got}"))
    for row, value in _out_of_range(raw, values, bad | missing, low, maximum):
        bound = f"{low}..{_bound(maximum)}"
        found.append((row, f"expected {what}, got {value} (outside the supported range {bound})"))
    for row, message in sorted(found)[:20]:  # in file order
        problems.add(where.format(row + 1), message)
    if found:
        return None
    return np.where(missing, -1, values).astype(np.int64)


def _bound(maximum: int) -> str:
    return "2**62 (4611686018427387904)" if maximum == INT_MAX else str(maximum)


_LONG = 24  # longer texts are parsed one by one (leading zeros or a huge number)


def _exact_integers(raw: pd.Series, missing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(values as int64, bad mask). Values beyond int64's safe range are not bad here but left
    as 0 for :func:`_out_of_range`, which reports them exactly."""
    n = len(raw)
    dtype = raw.dtype
    # booleans (a Parquet bool column) fall through to the text path: "True" is not an integer
    if pd.api.types.is_integer_dtype(dtype):
        ints = (raw.fillna(0) if missing.any() else raw).to_numpy()
        if ints.dtype == np.uint64:
            ints = np.where(ints > np.uint64(INT_MAX), np.uint64(0), ints)
        return ints.astype(np.int64), np.zeros(n, dtype=bool)
    if pd.api.types.is_float_dtype(dtype):
        f = raw.to_numpy(dtype="float64", na_value=np.nan)
        ok = np.isfinite(f) & (np.abs(f) < 2.0**53)
        ok[ok] = f[ok] == np.floor(f[ok])
        return np.where(ok, f, 0).astype(np.int64), ~ok & ~missing
    return _parse_texts(raw.astype("string"), missing)


def _parse_texts(texts: pd.Series, missing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = len(texts)
    values = np.zeros(n, dtype=np.int64)
    bad = np.zeros(n, dtype=bool)
    objects = texts.to_numpy(dtype=object, na_value="0")
    lengths = texts.str.len().to_numpy(dtype=np.int64, na_value=1)
    short = np.flatnonzero(lengths <= _LONG)
    width = int(lengths[short].max()) if len(short) else 1
    arr = np.asarray(objects[short], dtype=f"U{width}")
    # ASCII digits, signs and blanks only: numpy's (and Python's) int() also takes "1_000" and
    # non-ASCII digits, which are not integers in a CSV file.
    codes = arr.view(np.uint32).reshape(len(arr), width)
    allowed = (
        (codes == 0)
        | ((codes >= 48) & (codes <= 57))
        | (codes == 43)
        | (codes == 45)
        | (codes == 32)
        | (codes == 9)
    )
    plain = allowed.all(axis=1)
    try:
        values[short[plain]] = arr[plain].astype(np.int64)
        bad[short[~plain]] = True
        rest = np.flatnonzero(lengths > _LONG)
    except (ValueError, OverflowError):  # locate the bad rows one by one (the error path)
        rest = np.arange(n)
    for i in rest.tolist():
        value = _parse_one(str(objects[i]))
        if value is None:
            bad[i] = True
        elif -INT_MAX <= value <= INT_MAX:
            values[i] = value
    return values, bad & ~missing


_INTEGER = re.compile(r"[ \t]*[+-]?[0-9]+[ \t]*")


def _parse_one(text: str) -> int | None:
    return int(text) if _INTEGER.fullmatch(text) else None


def _out_of_range(
    raw: pd.Series, values: np.ndarray, skip: np.ndarray, low: int, high: int
) -> list[tuple[int, int]]:
    """(row, exact value) of the first 20 usable values outside ``low .. high``."""
    dtype = raw.dtype
    if pd.api.types.is_integer_dtype(dtype):
        u = (raw.fillna(0) if skip.any() else raw).to_numpy()
        if u.dtype == np.uint64:
            rows = np.flatnonzero(((u > np.uint64(high)) | (u < np.uint64(max(low, 0)))) & ~skip)
            return [(r, int(u[r])) for r in rows[:20].tolist()]
    rows = np.flatnonzero(((values < low) | (values > high)) & ~skip)
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        return [(r, int(values[r])) for r in rows[:20].tolist()]
    # texts beyond int64's safe range were left as 0: find them by their length
    texts = raw.astype("string").fillna("")
    long_rows = np.flatnonzero((texts.str.strip().str.len().to_numpy(dtype=np.int64) > 18) & ~skip)
    objects = texts.to_numpy(dtype=object)
    found = []
    for r in np.union1d(rows, long_rows).tolist():
        value = _parse_one(str(objects[r]))
        if value is not None and not low <= value <= high:
            found.append((r, value))
            if len(found) == 20:
                break
    return found


@dataclass(frozen=True)
class ArrowTable:
    """A table read for the loop-free loading path (:func:`read_table_fast`).

    ``core`` holds the required columns (and the optional ones asked for) as ``pyarrow``
    chunked arrays in file row order: ids as strings, integers as int64. ``extras`` holds
    every other column as pandas read them, in file row order; ``columns`` is the file's
    column order.
    """

    path: Path
    sha256: str
    columns: tuple[str, ...]
    core: dict[str, Any]
    extras: pd.DataFrame


def read_table_fast(
    folder: Path,
    stem: str,
    *,
    required: Sequence[str],
    string_columns: Sequence[str],
    integer_columns: Sequence[str],
    core_columns: Sequence[str],
    dictionary_columns: Sequence[str] = (),
) -> ArrowTable | None:
    """Read ``stem.csv`` or ``stem.parquet`` for the loop-free loading path, or None.

    ``dictionary_columns`` (text columns of the core) may come back dictionary-encoded, one
    dictionary per chunk: Parquet stores them so, and pyarrow's CSV parser builds them in its
    threads, so eleven million ids need no string hashing afterwards.

    None means "use :func:`read_table`": the file is missing or unusual (a duplicated header, a
    text value in an integer column, a row pyarrow refuses, no pyarrow, ``CSV_READER`` is
    pandas, ...). Nothing is reported here; the caller reads everything again with
    :func:`read_table`, which locates every problem with its file, row and column. The bytes
    are read once: the SHA-256 is computed from them (in a thread, while pyarrow parses).
    """
    if importlib.util.find_spec("pyarrow") is None:
        return None
    path = find_table(folder, stem)
    if path is None or not_a_file(path) is not None:
        return None
    import pyarrow as pa

    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            coded = [n for n in pq.read_schema(path).names if str(n).strip() in dictionary_columns]
            table = pq.read_table(path, read_dictionary=coded)
        except Exception:  # pyarrow raises its own types for a corrupt file
            return None
        digest = sha256_of(path)
        names = [str(n).strip() for n in table.column_names]
        # pandas' read_parquet turns a stored index back into the index, not a column
        stored_index = (table.schema.pandas_metadata or {}).get("index_columns", [])
        if _duplicates(names) or any(isinstance(c, str) for c in stored_index):
            return None
        table = table.rename_columns(names)
        extra_names = [n for n in names if n not in core_columns]
        extras = table.select(extra_names).to_pandas() if extra_names else None
        if extras is not None:
            for col in string_columns:
                if col in extras.columns:
                    extras[col] = _as_string_ids(extras[col])
    elif CSV_READER != "pyarrow":
        return None
    else:
        raw = path.read_bytes()
        hasher = _Sha256Thread(raw)
        hasher.start()
        try:
            header = _csv_header_bytes(raw)
            known = {*string_columns, *integer_columns}
            names = [h.strip() for h in header] if header is not None else []
            if header is None or _duplicates(names) or not all(n in known for n in names):
                return None
            quoted = b'"' in raw
            table = _arrow_csv_table(raw, header, integer_columns, quoted, dictionary_columns)
        finally:
            hasher.join()
        if table is None:
            return None
        digest = hasher.hexdigest
        table = table.rename_columns(names)
        extra_names = [n for n in names if n not in core_columns]
        extras = None
        if extra_names:
            extras = table.select(extra_names).to_pandas()
            for col in extra_names:
                if pa.types.is_string(table.column(col).type):
                    extras[col] = extras[col].astype("string")
                elif table.column(col).null_count:
                    extras[col] = table.column(col).to_pandas().astype("Int64")
    if any(c not in names for c in required):
        return None
    core: dict[str, Any] = {}
    for col in core_columns:
        if col not in names:
            continue
        arr = table.column(col)  # chunked: every later step works chunk by chunk
        if col in integer_columns:
            if arr.type != pa.int64():
                return None
        elif pa.types.is_dictionary(arr.type):
            if not pa.types.is_string(arr.type.value_type) or col not in dictionary_columns:
                return None
        elif pa.types.is_large_string(arr.type):
            arr = arr.cast(pa.string())
        elif not pa.types.is_string(arr.type):
            return None
        core[col] = arr
    if extras is None:
        extras = pd.DataFrame(index=pd.RangeIndex(table.num_rows))
    return ArrowTable(path, digest, tuple(names), core, extras)


class _Sha256Thread:
    """SHA-256 of bytes in a thread (hashlib releases the GIL on large buffers)."""

    def __init__(self, data: bytes) -> None:
        import threading

        self._data = data
        self.hexdigest = ""
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.hexdigest = hashlib.sha256(self._data).hexdigest()

    def start(self) -> None:
        self._thread.start()

    def join(self) -> None:
        self._thread.join()


def _csv_header_bytes(raw: bytes) -> list[str] | None:
    """The header of CSV bytes (the first non-blank line), or None when it is not UTF-8."""
    pos = 0
    while pos < len(raw):
        end = raw.find(b"\n", pos)
        end = len(raw) if end < 0 else end
        try:
            line = raw[pos:end].decode("utf-8-sig" if pos == 0 else "utf-8")
        except UnicodeDecodeError:
            return None
        if line.strip():
            return next(csv.reader([line]))
        pos = end + 1
    return []


def arrow_table_from_frame(
    df: pd.DataFrame,
    path: Path,
    *,
    integer_columns: Sequence[str],
    core_columns: Sequence[str],
) -> ArrowTable | None:
    """A table read by :func:`read_table` as an :class:`ArrowTable` (None when a core column
    is not plain text or int64, e.g. an integer column read as text: the caller then takes the
    path that locates the problem)."""
    import pyarrow as pa

    core: dict[str, Any] = {}
    for col in core_columns:
        if col not in df.columns:
            continue
        values = df[col]
        if col in integer_columns:
            if not pd.api.types.is_integer_dtype(values.dtype) or values.dtype == np.uint64:
                return None
            arr = pa.chunked_array([pa.array(values, type=pa.int64(), from_pandas=True)])
        else:
            if not pd.api.types.is_string_dtype(values.dtype):
                return None
            arr = pa.array(values, from_pandas=True)
            if pa.types.is_large_string(arr.type):
                arr = arr.cast(pa.string())
            if not pa.types.is_string(arr.type):
                return None
            arr = pa.chunked_array([arr])
        core[col] = arr
    extras = df[[c for c in df.columns if c not in core_columns]].reset_index(drop=True)
    return ArrowTable(path, sha256_of(path), tuple(df.columns), core, extras)
