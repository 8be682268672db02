"""Every method slotopt can run, with its facts: the one registry that ``solve()``, the
cross-validation harness and ``slotopt verify`` read.

Each :class:`Method` says where its function lives (an import path, so that reading the
registry imports neither Pyomo nor any engine; a method is loaded only when it runs), whether it
needs HiGHS, which options it takes, and the size above which it is impractical (with the
measurement behind that limit). Matching methods are ``function(inst, order, **options)``,
second stages ``function(inst, matched_mask, **options)``; both return ``slot_of`` (slot index
per applicant, -1 when unmatched) or ``(slot_of, info)`` with ``info`` a dict of JSON-able facts
(solver status, objective values, timings) that ends up in summary.json. Offer-set methods are
``backward_induction(inst, **fixed)``.

This module also holds :func:`resolve_seed`, the one rule for which seed a run uses.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from slotopt.engines.matching.order import draw_seed
from slotopt.errors import UsageError

__all__ = [
    "MATCHING_METHODS",
    "OFFER_SET_METHODS",
    "OFFER_SET_OPTIONS",
    "SECOND_STAGES",
    "SOLVER_OPTIONS",
    "ImpracticalMethodWarning",
    "Method",
    "load",
    "resolve_seed",
    "unpack",
    "warn_if_impractical",
]

SOLVER_OPTIONS: frozenset[str] = frozenset({"time_limit", "mip_gap", "threads", "log", "presets"})
"""Options of the solver module (formulations/solver.py): every method that needs HiGHS takes
them. ``time_limit`` is a budget for all HiGHS solves of one method call (or of one second
stage) together; ``presets`` is a ``slotopt.formulations.solver.HighsPresets``, the HiGHS options
of each model (its fields document the measured defaults)."""

OFFER_SET_OPTIONS: frozenset[str] = frozenset({"n_runs", "rules", "confidence", "verify_states"})
"""Options every offer-set method takes (run/solve_offer_set.py documents them)."""


class ImpracticalMethodWarning(UserWarning):
    """A method was asked to run on an instance larger than it is practical for (the message
    says what was measured and what to use instead)."""


@dataclass(frozen=True)
class Method:
    """The facts of one method.

    Attributes
    ----------
    name : str
        The name users pass (``method="lp"``, ``second_stage="min-rank"``).
    target : str
        ``"module:function"`` of the function that runs it.
    needs_highs : bool
        True when it solves through HiGHS (and so takes :data:`SOLVER_OPTIONS`).
    options : frozenset of str
        Every option the function accepts.
    impractical_above : int or None
        Above this size (counted in ``size``) the method takes minutes or more; None when it
        scales to every size slotopt supports.
    size : str
        What ``impractical_above`` counts: ``"applicants"``, or for the enumerating DP
        ``"state-offer pairs per period"``.
    practical_with : Mapping
        Options under which the method stays practical above that size (``levels="tiers"``).
    measured : str
        The measurement behind the limit (docs/performance.md).
    fixed : Mapping
        Keyword arguments the registry passes to ``target`` for this method.
    reports_progress : bool
        True when ``target`` takes ``progress=callback(done, total)`` (its long loops call it).
    presets : tuple of str
        The fields of ``slotopt.formulations.solver.HighsPresets`` (the HiGHS options of each
        model, passed as ``presets=``) that this method's solves use; empty when it calls no
        solver.
    plan : str or None
        ``"module:function"`` of a preparation that needs only the instance (no seed):
        ``plan(inst)``'s result is passed to ``target`` as ``plan=``, and a large instance's is
        built in a thread while the lottery draws. None when the method has none.
    """

    name: str
    target: str
    needs_highs: bool
    options: frozenset[str] = frozenset()
    impractical_above: int | None = None
    size: str = "applicants"
    practical_with: Mapping[str, Any] = field(default_factory=dict, compare=False)
    measured: str = ""
    fixed: Mapping[str, Any] = field(default_factory=dict, compare=False)
    reports_progress: bool = False
    presets: tuple[str, ...] = ()
    plan: str | None = None

    def load(self) -> Callable[..., Any]:
        """The function this method runs (imported now)."""
        return load(self.target)

    def impractical(self, size: int, options: Mapping[str, Any] | None = None) -> bool:
        """True when ``size`` is above the limit and ``options`` do not keep it practical."""
        if self.impractical_above is None or size <= self.impractical_above:
            return False
        given = options or {}
        return not self.practical_with or any(
            given.get(k, None) != v for k, v in self.practical_with.items()
        )


_MATCHING = "slotopt.formulations.matching"

MATCHING_METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method(
            "greedy",
            "slotopt.engines.matching.greedy:greedy_matching",
            needs_highs=False,
            plan="slotopt.engines.matching.greedy:plan_greedy",
        ),
        Method(
            "naive",
            "slotopt.engines.matching.naive:naive_matching",
            needs_highs=False,
            reports_progress=True,
            impractical_above=3_000,
            measured="one max flow per applicant: 6 s at 2,000 applicants, growing faster than "
            "quadratically",
        ),
        Method(
            "serial-dictatorship",
            "slotopt.engines.matching.serial:serial_dictatorship",
            needs_highs=False,
        ),
        Method(
            "lp",
            f"{_MATCHING}.weighted_lp:weighted_lp_matching",
            needs_highs=True,
            options=SOLVER_OPTIONS | {"weights"},
            presets=("weighted_lp",),
        ),
        Method(
            "lexicographic",
            f"{_MATCHING}.lexicographic:lexicographic_matching",
            needs_highs=True,
            options=SOLVER_OPTIONS | {"levels"},
            reports_progress=True,
            impractical_above=10_000,
            practical_with={"levels": "tiers"},
            measured="levels='positions' needs thousands of re-solves at about 10 ms each",
            presets=("level", "tier", "tier_final"),
        ),
    )
}
SECOND_STAGES: dict[str, Method] = {
    m.name: m
    for m in (
        Method(
            "min-rank",
            f"{_MATCHING}.second_stage:min_rank_assignment",
            needs_highs=True,
            options=SOLVER_OPTIONS,
            reports_progress=True,
            presets=("second_stage",),
        ),
        Method(
            "rank-maximal",
            f"{_MATCHING}.second_stage:rank_maximal_assignment",
            needs_highs=True,
            options=SOLVER_OPTIONS,
            reports_progress=True,
            presets=("second_stage", "level"),
        ),
    )
}
OFFER_SET_METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method(
            "dp",
            "slotopt.engines.offer_set.dp:backward_induction",
            needs_highs=False,
            options=OFFER_SET_OPTIONS,
            fixed={"method": "sort"},
        ),
        Method(
            "enumerate",
            "slotopt.engines.offer_set.dp:backward_induction",
            needs_highs=False,
            options=OFFER_SET_OPTIONS,
            impractical_above=50_000_000,
            size="state-offer pairs per period",
            measured="87 ns per state-offer pair: about 4 s per period at the limit",
            fixed={"method": "enumerate"},
        ),
    )
}


def warn_if_impractical(
    method: Method, size: int, options: Mapping[str, Any] | None = None, *, instead: str = ""
) -> None:
    """Warn (:class:`ImpracticalMethodWarning`) before running ``method`` on ``size`` when the
    registry says that takes minutes or more."""
    if not method.impractical(size, options):
        return
    advice = f"; {instead}" if instead else ""
    warnings.warn(
        f"method {method.name!r} on {size:,} {method.size} (above {method.impractical_above:,}) "
        f"may run for a long time: {method.measured}{advice}",
        ImpracticalMethodWarning,
        stacklevel=3,
    )


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
