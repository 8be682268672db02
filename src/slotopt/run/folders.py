"""The result-folder contract: ``summary.json`` plus the kind's tables, written whole or not at all.

Every result type provides ``summary() -> dict`` and ``tables() -> Mapping[str, DataFrame]`` (a
dict, or a :class:`LazyTables` that builds each table when it is looked up), may provide
``figures() -> dict[str, matplotlib Figure]`` and ``write_table(name, path)`` (to write a table
from its own arrays, the text pandas would write); this module adds the keys every summary
carries (slotopt version, input hashes, the list of files written) and writes through
:func:`slotopt._atomic.atomic_folder`, which refuses to replace anything slotopt did not write
(docs/contracts.md). Figures are saved from their own canvas: no pyplot, no backend switch.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from slotopt._atomic import atomic_folder, check_output_folder, write_json
from slotopt._version import __version__
from slotopt.errors import InstanceError

__all__ = [
    "check_result_folder",
    "common_summary",
    "recorded_instance",
    "result_inputs",
    "verification_note",
    "write_result_folder",
]


def common_summary(instance: Any) -> dict[str, Any]:
    """Keys every summary.json has about its input.

    ``instance`` is the folder as the caller named it (a relative path stays relative, so a
    result folder carries no path of the machine it was made on unless it was given one);
    ``restricted`` is None, or what an in-memory restriction changed relative to the files
    ``input_sha256`` names (``MatchingInstance.restrict``): then those files are what the
    instance was derived from, not its exact input.
    """
    source = getattr(instance, "source", None)
    restricted = getattr(getattr(instance, "provenance", None), "restricted", None)
    return {
        "kind": getattr(instance, "kind", None),
        "name": getattr(instance, "name", None),
        "instance": None if source is None else str(source),
        "input_sha256": dict(getattr(instance, "input_sha256", {}) or {}),
        "restricted": None if restricted is None else dict(restricted),
        "slotopt_version": __version__,
    }


def recorded_instance(summary: dict[str, Any], result: str | Path) -> Path:
    """The instance folder a result folder's ``summary.json`` names.

    ``instance`` as it was named to ``solve`` when that folder exists from here (an absolute
    path, or a relative one from the same working directory); otherwise ``instance_from_result``,
    the path from the result folder to the instance, so that the pair can be moved together or
    read from anywhere.

    Raises
    ------
    InstanceError
        Neither is recorded or neither folder exists; the message says to pass the folder.
    """
    named = summary.get("instance")
    if not named:
        raise InstanceError(
            f"{Path(result) / 'summary.json'}: no instance folder recorded; pass --instance DIR"
        )
    candidates = [Path(named)]
    back = summary.get("instance_from_result")
    if back:
        candidates.append(Path(result) / back)
    for folder in candidates:
        if folder.is_dir():
            return folder
    tried = " or ".join(str(c) for c in candidates)
    raise InstanceError(
        f"{Path(result) / 'summary.json'}, key instance: the folder {tried} does not exist "
        "from here; pass --instance DIR"
    )


def verification_note(report: Any) -> str:
    """``", verified ok"``, ``", verification FAILED"`` or nothing, for one-line reprs."""
    if report is None:
        return ""
    return ", verified ok" if report.ok else ", verification FAILED"


def result_inputs(instance: Any) -> list[Path]:
    """The input folders a result folder may never replace (the instance's own folder)."""
    source = getattr(instance, "source", None)
    return [] if source is None else [Path(source)]


def check_result_folder(out: str | Path, instance: Any = None, *, force: bool = False) -> None:
    """Check ``out`` before solving (see :func:`slotopt._atomic.check_output_folder`)."""
    check_output_folder(Path(out), force=force, inputs=result_inputs(instance))


class LazyTables(Mapping[str, Any]):
    """A result's tables by name, each built by its function when first looked up (a result
    folder writer that writes a table from the result's arrays never builds it)."""

    def __init__(self, builders: Mapping[str, Callable[[], Any]]) -> None:
        self._builders = dict(builders)
        self._built: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._built:
            self._built[name] = self._builders[name]()
        return self._built[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._builders)

    def __len__(self) -> int:
        return len(self._builders)

    def __repr__(self) -> str:
        return f"LazyTables({', '.join(self._builders)})"


def write_result_folder(result: Any, out: str | Path, *, force: bool = False) -> Path:
    """Write ``result`` to ``out``: summary.json, one CSV per table, one PNG per figure.

    Raises
    ------
    OutputExistsError
        ``out`` exists and ``force`` is False, or another run is writing it; nothing is written.
    OutputError
        ``out`` may not be replaced (not slotopt's, an input, the current directory) or the disk
        is read-only or full; nothing is written.
    """
    out = Path(out)
    inputs = result_inputs(getattr(result, "instance", None))
    check_output_folder(out, force=force, inputs=inputs)  # before building tables and figures
    summary = dict(result.summary())
    # the marker that lets a later --force recognise the folder as slotopt's own
    summary.setdefault("slotopt_version", __version__)
    tables = result.tables()
    figures_fn = getattr(result, "figures", None)
    figures = figures_fn() if figures_fn is not None else {}
    if summary.get("instance"):
        # the way back from the result to its instance, whatever the working directory then
        summary["instance_from_result"] = os.path.relpath(
            os.path.abspath(summary["instance"]), os.path.abspath(out)
        )
    summary["files"] = sorted(
        [*(f"{name}.csv" for name in tables), *(f"{name}.png" for name in figures), "summary.json"]
    )
    with atomic_folder(out, force=force, inputs=inputs) as tmp:
        # a result may write its own tables (the same text, faster): ``write_table(name, path)``
        write_table = getattr(result, "write_table", None)
        for name in tables:
            if write_table is None:
                tables[name].to_csv(tmp / f"{name}.csv", index=False)
            else:
                write_table(name, tmp / f"{name}.csv")
        for name, fig in figures.items():
            fig.savefig(tmp / f"{name}.png", dpi=120, bbox_inches="tight")
        write_json(tmp / "summary.json", summary)
    return out
