"""Where every matching method and second stage lives: the one registry that ``solve()`` and the
cross-validation harness both read.

Functions are named by import path so that reading the registry imports neither Pyomo nor any
engine; a method is loaded only when it runs. Methods: ``function(inst, order, **options)``;
second stages: ``function(inst, matched_mask, **options)``; both return ``slot_of`` (slot index
per applicant, -1 when unmatched) or ``(slot_of, info)`` with ``info`` a dict of JSON-able facts
(solver status, objective values, timings) that ends up in summary.json.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import numpy as np

from slotopt.engines.matching.order import draw_seed
from slotopt.errors import UsageError

MATCHING_METHODS: dict[str, str] = {
    "greedy": "slotopt.engines.matching.greedy:greedy_matching",
    "naive": "slotopt.engines.matching.naive:naive_matching",
    "serial-dictatorship": "slotopt.engines.matching.serial:serial_dictatorship",
    "lp": "slotopt.formulations.matching_solve:weighted_lp_matching",
    "lexicographic": "slotopt.formulations.matching_solve:lexicographic_matching",
}
SECOND_STAGES: dict[str, str] = {
    "min-rank": "slotopt.formulations.matching_solve:min_rank_assignment",
    "rank-maximal": "slotopt.formulations.matching_solve:rank_maximal_assignment",
}


def load(spec: str) -> Callable[..., Any]:
    """The function a registry entry (``"module:function"``) names."""
    module, func = spec.split(":")
    return getattr(importlib.import_module(module), func)


def unpack(out: Any) -> tuple[np.ndarray, dict[str, Any]]:
    """A method's return value as ``(slot_of, info)``."""
    if isinstance(out, tuple):
        slot_of, info = out
        return np.asarray(slot_of, dtype=np.int64), dict(info)
    return np.asarray(out, dtype=np.int64), {}


def resolve_seed(instance: Any, seed: Any, *, needed_for: str | None = None) -> int:
    """The seed a run uses: ``seed``, else the instance's ``seed``, else a fresh one.

    Parameters
    ----------
    instance
        Any instance kind (its ``seed`` attribute, None when instance.json has none).
    seed
        The caller's seed or None.
    needed_for
        When given, a missing seed is an error naming what needs it (``slotopt export``
        writes a model that depends on the lottery, so it never draws one).

    Raises
    ------
    UsageError
        ``seed`` is not an integer >= 0, or no seed exists and ``needed_for`` forbids drawing.
    """
    if seed is None:
        seed = getattr(instance, "seed", None)
    if seed is None:
        if needed_for is not None:
            raise UsageError(
                f"--seed: {needed_for} depends on the lottery order and instance.json has no "
                "seed; pass --seed N"
            )
        seed = draw_seed()
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise UsageError(f"seed must be an integer >= 0, got {seed!r}")
    return int(seed)
