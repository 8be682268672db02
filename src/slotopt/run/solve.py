"""``slotopt.solve()``: one entry point that dispatches on the instance kind."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from slotopt.instance import load_instance

# kind -> "module:function(instance, *, method, seed, verify, **options) -> result".
SOLVERS: dict[str, str] = {
    "matching": "slotopt.run.solve_matching:solve_matching",
    "offer_set": "slotopt.run.solve_offer_set:solve_offer_set",
    "batch": "slotopt.batch.rolling:solve_batch",
}


def solve(
    instance: Any,
    *,
    method: str | None = None,
    seed: int | None = None,
    verify: bool = False,
    **options: Any,
) -> Any:
    """Solve an instance (an instance object, or the path of an instance folder).

    Parameters
    ----------
    instance
        A validated instance (``slotopt.load_instance``) or a path to an instance folder.
    method
        The method for this kind; None picks the kind's default (``"greedy"`` for matching,
        ``"dp"`` for offer_set). See docs/ for each kind's methods.
    seed
        Seed for every random choice (ties in priority, simulations). None uses the instance's
        ``seed`` or draws one; the result records the seed used.
    verify
        Run the kind's certificates and raise ``VerificationError`` on any violation.
    **options
        Method-specific options (e.g. ``second_stage``, ``time_limit``), documented per kind.

    Returns
    -------
    A result object of the kind (``MatchingResult``, ``OfferSetResult``) with ``summary()``,
    ``tables()`` and ``to_folder(path)``.

    Raises
    ------
    InstanceError
        The instance folder is invalid.
    UsageError
        Unknown method or option for this kind (a ``ValueError``).
    VerificationError
        ``verify=True`` and a certificate failed.
    """
    inst = load_instance(instance) if isinstance(instance, str | Path) else instance
    kind = getattr(inst, "kind", None)
    if kind not in SOLVERS:
        raise ValueError(f"cannot solve objects of type {type(inst).__name__} (kind {kind!r})")
    module, func = SOLVERS[kind].split(":")
    return getattr(importlib.import_module(module), func)(
        inst, method=method, seed=seed, verify=verify, **options
    )
