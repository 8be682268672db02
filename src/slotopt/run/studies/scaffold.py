"""The shape every study shares: a design table, runs over groups of its rows, and a result that
writes its tables, figures and summary to one folder.

A study is

1. a **design**: one row per run (an instance, a simulated scenario), numbered by an id column;
   :func:`factorial` builds the full factorial table of some factor levels;
2. **runs**: :func:`run_design` splits the design into groups of rows that can share work (rows
   with equal values in some columns, e.g. the same choice model) and calls one function per
   group; each call returns a :class:`GroupResult` with one result row per design row, plus any
   other tables it makes; the rows come back joined onto the design, in design order, and a
   group that returns a missing, extra or repeated row is an error;
3. a **result** type (a frozen dataclass) with ``summary() -> dict``, ``tables() -> dict[str,
   DataFrame]`` and ``figures() -> dict[str, Figure]``; :class:`StudyOutput` adds ``to_folder()``,
   which writes them through :func:`slotopt.run.folders.write_result_folder` (whole or not at
   all).

The Kaluza et al. (2024) study (:mod:`slotopt.run.studies.kaluza`) is built this way; docs/design.md
says how to add another.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from slotopt.run.folders import write_result_folder

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["DesignRuns", "GroupResult", "StudyOutput", "factorial", "run_design"]


def factorial(factors: Mapping[str, Sequence[Any]], *, id_column: str = "run") -> pd.DataFrame:
    """The full factorial design of ``factors``: one row per combination of levels.

    Rows are in product order (the first factor varies slowest, each factor's levels in the
    order given); ``id_column`` numbers them from 0 and comes first.

    Examples
    --------
    >>> factorial({"kappa": [3, 4], "alpha": [0.2, 0.5]}, id_column="instance").values.tolist()
    [[0.0, 3.0, 0.2], [1.0, 3.0, 0.5], [2.0, 4.0, 0.2], [3.0, 4.0, 0.5]]
    """
    names = list(factors)
    if id_column in names:
        raise ValueError(f"a factor may not be called {id_column!r}, the id column")
    rows = list(itertools.product(*(factors[n] for n in names)))
    out = pd.DataFrame(rows, columns=names)
    out.insert(0, id_column, np.arange(len(out), dtype=np.int64))
    return out


@dataclass(frozen=True, eq=False)
class GroupResult:
    """What one group's run returns.

    Attributes
    ----------
    rows : DataFrame
        One row per design row of the group: its id column and the result columns.
    tables : dict of str to DataFrame
        Any other tables the group makes (each concatenated over the groups, in run order).
    """

    rows: pd.DataFrame
    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class DesignRuns:
    """The outcome of :func:`run_design`.

    Attributes
    ----------
    results : DataFrame
        The design's columns followed by the result columns, in design order.
    tables : dict of str to DataFrame
        The groups' other tables, concatenated in run order (a name no group returned is absent).
    """

    results: pd.DataFrame
    tables: dict[str, pd.DataFrame]


def run_design(
    design: pd.DataFrame,
    run: Callable[[pd.DataFrame], GroupResult],
    *,
    by: Sequence[str],
    id_column: str = "run",
    progress: Callable[[int, int], None] | None = None,
) -> DesignRuns:
    """Run ``run`` on every group of design rows with equal values in ``by``.

    Parameters
    ----------
    design
        One row per run, with a unique ``id_column``.
    run
        Called once per group with the group's design rows (in design order); returns a
        :class:`GroupResult` whose ``rows`` hold exactly the group's ids.
    by
        The columns that define a group; groups run in order of first appearance in the design.
    id_column
        The column that names a design row.
    progress
        Called as ``progress(done, total)`` after each group (a progress-bar hook).

    Returns
    -------
    DesignRuns

    Raises
    ------
    ValueError
        The ids are not unique, or a group's ``rows`` miss, repeat or add an id, or reuse a
        design column.

    Examples
    --------
    >>> d = factorial({"kappa": [3, 4], "alpha": [0.2, 0.5]})
    >>> def double(rows):
    ...     return GroupResult(pd.DataFrame({"run": rows["run"], "twice": 2 * rows["alpha"]}))
    >>> run_design(d, double, by=["kappa"]).results["twice"].tolist()
    [0.4, 1.0, 0.4, 1.0]
    """
    ids = design[id_column]
    if ids.duplicated().any():
        raise ValueError(f"the design's {id_column!r} column has repeated values")
    groups = design.groupby(list(by), sort=False)
    rows: list[pd.DataFrame] = []
    tables: dict[str, list[pd.DataFrame]] = {}
    for done, (_, part) in enumerate(groups, start=1):
        out = run(part)
        clash = [c for c in out.rows.columns if c != id_column and c in design.columns]
        got = out.rows[id_column]
        if clash or got.duplicated().any() or set(got) != set(part[id_column]):
            raise ValueError(
                f"the run of group {part.iloc[0][list(by)].to_dict()} returned rows that do not "
                f"match its {len(part)} design rows one to one (or reuse design columns {clash})"
            )
        rows.append(out.rows)
        for name, table in out.tables.items():
            tables.setdefault(name, []).append(table)
        if progress is not None:
            progress(done, groups.ngroups)
    found = pd.concat(rows, ignore_index=True).set_index(id_column)
    results = design.join(found, on=id_column)
    return DesignRuns(
        results=results.reset_index(drop=True),
        tables={name: pd.concat(parts, ignore_index=True) for name, parts in tables.items()},
    )


class StudyOutput(ABC):
    """Adds :meth:`to_folder` to a result type that has ``summary()``, ``tables()`` and (when it
    draws any) ``figures()``."""

    @abstractmethod
    def summary(self) -> dict[str, Any]:
        """``summary.json``: plain JSON values."""

    @abstractmethod
    def tables(self) -> dict[str, pd.DataFrame]:
        """One CSV per entry, named by its key."""

    def figures(self) -> dict[str, Figure]:
        """One PNG per entry, named by its key; none unless the study draws some."""
        return {}

    def to_folder(self, path: str | Path, *, force: bool = False) -> Path:
        """Write every table (CSV), figure (PNG) and ``summary.json`` to ``path``, atomically.

        Raises
        ------
        OutputExistsError
            ``path`` exists and ``force`` is False; nothing is written.
        """
        return write_result_folder(self, path, force=force)
