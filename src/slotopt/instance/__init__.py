"""Instance layer: typed, validated data. Nothing else in slotopt parses files.

``load_instance(path)`` reads ``instance.json``, dispatches on its ``kind`` and returns a frozen,
validated instance; every problem raises :class:`slotopt.InstanceError` naming file, row, column.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from slotopt._atomic import atomic_folder, write_json
from slotopt.errors import InstanceError, UsageError
from slotopt.instance._tables import not_a_file, read_json, sha256_of
from slotopt.instance.batch import load_batch
from slotopt.instance.market import load_market_folder
from slotopt.instance.matching import (
    ApplicantTypes,
    MatchingInstance,
    load_matching,
    matching_from_frames,
    matching_tables,
)
from slotopt.instance.offer_set import load_offer_set
from slotopt.instance.provenance import Provenance

__all__ = [
    "FORMATS",
    "KINDS",
    "ApplicantTypes",
    "Instance",
    "MatchingInstance",
    "Provenance",
    "load_instance",
    "matching_from_frames",
    "require_format",
    "write_instance",
]


class Instance(Protocol):
    """What every instance kind has (read-only: instances are frozen)."""

    @property
    def kind(self) -> str: ...

    @property
    def name(self) -> str: ...


Loader = Callable[[Path, dict[str, Any], str], Instance]
"""A kind's loader: ``(folder, instance.json as a dict, its SHA-256) -> instance``."""

# Loaders are instance-layer code (pandas and numpy only), so importing them all costs a few
# milliseconds: the table holds the functions, checked by mypy (docs/design.md).
KINDS: dict[str, Loader] = {
    "matching": load_matching,
    "offer_set": load_offer_set,
    "batch": load_batch,
    "market": load_market_folder,
}


def load_instance(path: str | Path) -> Any:
    """Load and validate an instance folder (or the path of its ``instance.json``).

    Raises
    ------
    InstanceError
        When the folder is missing, ``instance.json`` is malformed, the ``kind`` is unknown, or any
        file of the kind's format is invalid. The message names file, 1-based row and column.
    """
    folder = Path(path)
    if folder.name == "instance.json":
        folder = folder.parent
    if not folder.is_dir():
        why = not_a_file(folder)
        if why == "file not found":
            raise InstanceError(f"{folder}: no such instance folder")
        if why is None:
            why = "is a file"
        raise InstanceError(
            f"{folder}: {why}; expected an instance folder containing instance.json"
        )
    spec_path = folder / "instance.json"
    spec = read_json(spec_path)
    kind = spec.get("kind")
    if kind not in KINDS:
        known = ", ".join(repr(k) for k in KINDS)
        raise InstanceError(f"instance.json, key kind: expected one of {known}, got {kind!r}")
    return KINDS[kind](folder, spec, sha256_of(spec_path))


FORMATS = ("csv", "parquet")
"""The table formats :func:`write_instance` writes (the loader reads both)."""


def require_format(format: str) -> None:
    """Refuse an unknown table format, or ``parquet`` when pyarrow is not installed.

    Raises
    ------
    UsageError
        Naming the formats, or the command that installs pyarrow.
    """
    if format not in FORMATS:
        raise UsageError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    if format == "parquet" and not has_pyarrow():
        raise UsageError("writing Parquet needs pyarrow: pip install 'slotopt[parquet]'")


def has_pyarrow() -> bool:
    """Whether pyarrow (the optional ``parquet`` extra) can be imported."""
    try:
        importlib.import_module("pyarrow")
    except ImportError:
        return False
    return True


def write_instance(
    inst: Any, folder: str | Path, *, force: bool = False, format: str = "csv"
) -> Path:
    """Write ``inst`` as an instance folder, atomically; refuses to overwrite without ``force``.

    Parameters
    ----------
    format
        ``"csv"`` (default) or ``"parquet"``: the tables of a matching instance as
        ``slots.parquet``, ``applicants.parquet`` and ``acceptable.parquet`` (needs pyarrow),
        with ids and text as strings and integer columns as int64. Other kinds have no tables.

    Raises
    ------
    UsageError
        For an unknown ``format``, or ``"parquet"`` without pyarrow.
    """
    require_format(format)
    folder = Path(folder)
    if isinstance(inst, MatchingInstance):
        spec: dict[str, Any] = {"kind": "matching", "name": inst.name}
        if inst.seed is not None:
            spec["seed"] = inst.seed
        spec.update(inst.meta)
        tables = matching_tables(inst)
        with atomic_folder(folder, force=force) as tmp:
            write_json(tmp / "instance.json", spec)
            for stem, df in tables.items():
                if format == "parquet":
                    _write_parquet(df, tmp / f"{stem}.parquet")
                else:
                    df.to_csv(tmp / f"{stem}.csv", index=False)
        return folder
    to_spec = getattr(inst, "to_spec", None)
    if to_spec is None:
        raise TypeError(f"cannot write an instance of type {type(inst).__name__}")
    with atomic_folder(folder, force=force) as tmp:
        write_json(tmp / "instance.json", to_spec())
    return folder


def _write_parquet(df: Any, path: Path) -> None:
    """One table as Parquet: integer columns int64 (nullable ``rank`` keeps its nulls), every
    other column a string column (missing values stay null)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = []
    for col in df.columns:
        values = df[col]
        if pd.api.types.is_integer_dtype(values.dtype):
            arrays.append(pa.array(values, type=pa.int64(), from_pandas=True))
        else:
            arrays.append(pa.array(values.astype("string"), type=pa.string(), from_pandas=True))
    pq.write_table(pa.table(arrays, names=[str(c) for c in df.columns]), path)
