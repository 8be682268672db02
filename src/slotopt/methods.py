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
