"""``slotopt.solve()``: one entry point that dispatches on the instance kind."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

from slotopt.errors import UsageError
from slotopt.instance import load_instance

if TYPE_CHECKING:
    from slotopt.instance.matching import MatchingInstance
    from slotopt.instance.offer_set import OfferSetInstance
    from slotopt.run.matching_result import MatchingResult
    from slotopt.run.solve_offer_set import OfferSetResult

# kind -> "module:function(instance, *, method, seed, verify, **options) -> result".
SOLVERS: dict[str, str] = {
    "matching": "slotopt.run.solve_matching:solve_matching",
    "offer_set": "slotopt.run.solve_offer_set:solve_offer_set",
    "market": "slotopt.run.market_result:solve_market",
    "batch": "slotopt.batch.rolling:solve_batch",
}


@overload
def solve(
    instance: MatchingInstance,
    *,
    method: str | None = None,
    seed: int | None = None,
    verify: bool = False,
    **options: Any,
) -> MatchingResult: ...


@overload
def solve(
    instance: OfferSetInstance,
    *,
    method: str | None = None,
    seed: int | None = None,
    verify: bool = False,
    **options: Any,
) -> OfferSetResult: ...


@overload
def solve(
    instance: str | os.PathLike[str],
    *,
    method: str | None = None,
    seed: int | None = None,
    verify: bool = False,
    **options: Any,
) -> MatchingResult | OfferSetResult: ...


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
    MatchingResult or OfferSetResult
        The result of the instance's kind, with ``summary()``, ``tables()``, ``report()`` and
        ``to_folder(path)``; a type checker knows which from the argument's type.

    Raises
    ------
    InstanceError
        The instance folder is invalid.
    UsageError
        Not an instance slotopt can solve; unknown method or option for this kind (a
        ``ValueError``).
    VerificationError
        ``verify=True`` and a certificate failed.

    Examples
    --------
    Two applicants want the one appointment of slot ``m``; priority 1 is served first:

    >>> import pandas as pd
    >>> import slotopt
    >>> from slotopt.instance import matching_from_frames
    >>> inst = matching_from_frames(
    ...     pd.DataFrame({"slot_id": ["m"], "capacity": [1]}),
    ...     pd.DataFrame({"applicant_id": ["A", "B"], "priority": [2, 1]}),
    ...     pd.DataFrame({"applicant_id": ["A", "B"], "slot_id": ["m", "m"]}),
    ...     name="tiny",
    ... )
    >>> result = slotopt.solve(inst, seed=1, verify=True)
    >>> result
    MatchingResult('tiny': 1 of 2 matched, method greedy, seed 1, verified ok)
    >>> result.assignment["slot_id"].tolist()  # in position order: B first, then A
    ['m', <NA>]
    """
    is_path = isinstance(instance, str | os.PathLike)
    inst = load_instance(Path(instance)) if is_path else instance
    kind = getattr(inst, "kind", None)
    if not isinstance(kind, str) or kind not in SOLVERS:
        known = ", ".join(SOLVERS)
        raise UsageError(
            f"cannot solve an object of type {type(inst).__name__} (kind {kind!r}); pass an "
            f"instance of kind {known} (slotopt.load_instance) or the path of an instance folder"
        )
    module, func = SOLVERS[kind].split(":")
    return getattr(importlib.import_module(module), func)(
        inst, method=method, seed=seed, verify=verify, **options
    )
