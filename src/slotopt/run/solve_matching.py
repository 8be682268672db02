"""Solving a matching instance: priority order, one method, optional second stage and checks."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from slotopt.engines.matching.order import draw_seed, positions_from_order, priority_order
from slotopt.errors import UsageError, VerificationError
from slotopt.instance.matching import MatchingInstance
from slotopt.methods import MATCHING_METHODS, SECOND_STAGES, load, unpack
from slotopt.run.matching_result import MatchingResult
from slotopt.verify.matching import check_matching

# Re-exported for callers that looked the registries up here.
METHODS = MATCHING_METHODS


# Options of the solver module: the MIP methods and the second stages take them.
SOLVER_OPTIONS = frozenset({"time_limit", "mip_gap", "threads", "raise_on_failure", "log"})
COMBINATORIAL = frozenset({"greedy", "naive", "serial-dictatorship"})


def _method_options(
    method: str, options: dict[str, Any], second_stage: str | None
) -> dict[str, Any]:
    """The options the method itself takes; the combinatorial methods take none."""
    if method not in COMBINATORIAL:
        return options
    unusable = sorted(set(options) - (SOLVER_OPTIONS if second_stage else set()))
    if unusable:
        raise UsageError(
            f"method {method!r} takes no option {', '.join(unusable)}; solver options "
            f"({', '.join(sorted(SOLVER_OPTIONS))}) apply to 'lp', 'lexicographic' and the "
            "second stage"
        )
    return {}


def resolve_seed(inst: MatchingInstance, seed: int | None) -> int:
    if seed is None:
        seed = inst.seed if inst.seed is not None else draw_seed()
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise UsageError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def solve_matching(
    inst: MatchingInstance,
    *,
    method: str | None = None,
    seed: int | None = None,
    verify: bool = False,
    second_stage: str | None = None,
    **options: Any,
) -> MatchingResult:
    """Solve a matching instance; see :func:`slotopt.solve` for the common parameters.

    Parameters
    ----------
    method
        ``"greedy"`` (default; Algorithm 1 by augmenting paths), ``"naive"`` (one max flow per
        applicant; small instances only), ``"serial-dictatorship"`` (baseline), ``"lp"`` (one
        weighted LP through HiGHS), ``"lexicographic"`` (sequential solves through HiGHS).
    second_stage
        ``None`` (the method's own slot choice) or ``"min-rank"`` / ``"rank-maximal"``: keep the
        matched set and choose each matched applicant's slot to minimise the total rank.
    **options
        Passed to the method (e.g. ``time_limit``, ``levels`` for the MIP methods).
    """
    method = method or "greedy"
    if method not in METHODS:
        raise UsageError(f"unknown matching method {method!r}; choose from {', '.join(METHODS)}")
    if second_stage is not None and second_stage not in SECOND_STAGES:
        raise UsageError(
            f"unknown second stage {second_stage!r}; choose from {', '.join(SECOND_STAGES)}"
        )
    seed = resolve_seed(inst, seed)
    start = time.perf_counter()
    order = priority_order(inst.priority, inst.applicant_ids, seed)
    position = positions_from_order(order)
    slot_of, info = unpack(
        load(METHODS[method])(inst, order, **_method_options(method, options, second_stage))
    )
    if second_stage is not None:
        stage_options = {k: v for k, v in options.items() if k in SOLVER_OPTIONS}
        slot_of, stage_info = unpack(
            load(SECOND_STAGES[second_stage])(inst, slot_of >= 0, **stage_options)
        )
        info.update({f"second_stage_{k}": v for k, v in stage_info.items()})
    seconds = time.perf_counter() - start
    report = check_matching(inst, slot_of, position) if verify else None
    result = MatchingResult(
        instance=inst,
        slot_of=slot_of,
        position=position,
        method=method,
        seed=seed,
        seconds=seconds,
        verification=report,
        second_stage=second_stage,
        extra=info,
    )
    if report is not None and not report.ok:
        raise VerificationError(
            f"the {method} result for {inst.name!r} failed its certificates:\n" + report.describe(),
            report=report,
        )
    return result
