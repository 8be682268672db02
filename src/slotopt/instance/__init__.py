"""Instance layer: typed, validated data. Nothing else in slotopt parses files.

``load_instance(path)`` reads ``instance.json``, dispatches on its ``kind`` and returns a frozen,
validated instance; every problem raises :class:`slotopt.InstanceError` naming file, row, column.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Protocol

from slotopt._atomic import atomic_folder, write_json
from slotopt.errors import InstanceError
from slotopt.instance._tables import read_json, sha256_of
from slotopt.instance.matching import (
    ApplicantTypes,
    MatchingInstance,
    matching_from_frames,
    matching_tables,
)

__all__ = [
    "KINDS",
    "ApplicantTypes",
    "Instance",
    "MatchingInstance",
    "load_instance",
    "matching_from_frames",
    "write_instance",
]


class Instance(Protocol):
    """What every instance kind has."""

    kind: str
    name: str


# kind -> "module:function(folder, spec, json_sha256) -> instance". Imported lazily so a kind's
# dependencies are only loaded when a folder of that kind is read.
KINDS: dict[str, str] = {
    "matching": "slotopt.instance.matching:load_matching",
    "offer_set": "slotopt.instance.offer_set:load_offer_set",
    "batch": "slotopt.instance.batch:load_batch",
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
    if not folder.exists():
        raise InstanceError(f"{folder}: no such instance folder")
    if not folder.is_dir():
        raise InstanceError(f"{folder}: expected an instance folder containing instance.json")
    spec_path = folder / "instance.json"
    spec = read_json(spec_path)
    kind = spec.get("kind")
    if kind not in KINDS:
        known = ", ".join(repr(k) for k in KINDS)
        raise InstanceError(f"instance.json, key kind: expected one of {known}, got {kind!r}")
    module, func = KINDS[kind].split(":")
    loader = getattr(importlib.import_module(module), func)
    return loader(folder, spec, sha256_of(spec_path))


def write_instance(inst: Any, folder: str | Path, *, force: bool = False) -> Path:
    """Write ``inst`` as an instance folder, atomically; refuses to overwrite without ``force``."""
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
                df.to_csv(tmp / f"{stem}.csv", index=False)
        return folder
    to_spec = getattr(inst, "to_spec", None)
    if to_spec is None:
        raise TypeError(f"cannot write an instance of type {type(inst).__name__}")
    with atomic_folder(folder, force=force) as tmp:
        write_json(tmp / "instance.json", to_spec())
    return folder
