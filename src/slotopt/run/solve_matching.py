"""Solving a matching instance: priority order, one method, optional second stage and checks."""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from slotopt.engines.matching.order import positions_from_order, priority_order
from slotopt.errors import InfeasibleError, SlotoptError, SolverError, UsageError, VerificationError
from slotopt.formulations.solver import SolutionStatus, StopReason, check_solver_options
from slotopt.instance.matching import MatchingInstance
from slotopt.methods import (
    MATCHING_METHODS,
    SECOND_STAGES,
    SOLVER_OPTIONS,
    Method,
    load,
    resolve_seed,
    unpack,
    warn_if_impractical,
)
from slotopt.run.matching_result import MatchingResult
from slotopt.run.outcome import StageOutcome, VerificationOutcome, exact, on_failure_option
from slotopt.run.progress import Progress
from slotopt.verify.matching import check_matching

# The registry, under the name callers (and tests) look it up by here.


def _method_options(
    method: Method, options: dict[str, Any], second_stage: str | None
) -> dict[str, Any]:
    """The options the method itself takes (from the registry); the rest must be solver
    options meant for the second stage."""
    usable = set(method.options) | (SOLVER_OPTIONS if second_stage else set())
    unusable = sorted(set(options) - usable)
    if unusable:
        takes = (
            f"the options {', '.join(sorted(method.options))}, not"
            if method.options
            else "no option"
        )
        highs = [m.name for m in MATCHING_METHODS.values() if m.needs_highs]
        raise UsageError(
            f"method {method.name!r} takes {takes} {', '.join(unusable)}; solver options "
            f"({', '.join(sorted(SOLVER_OPTIONS))}) apply to {', '.join(map(repr, highs))} and "
            "the second stage"
        )
    return {k: v for k, v in options.items() if k in method.options}


def _instead(facts: Method) -> str:
    if facts.practical_with:
        given = ", ".join(f"{k}={v!r}" for k, v in facts.practical_with.items())
        return f"pass {given}, or use method 'greedy' (the same matched set)"
    return "method 'greedy' gives the same matched set in seconds"


def _stage(stage: str, name: str, info: dict[str, Any]) -> StageOutcome:
    """A solver step's outcome from its info dict (whose JSON-able status keys it takes out)."""
    stop = StopReason(info.pop("status", None) or StopReason.optimal.value)
    solution = SolutionStatus(info.pop("solution", None) or SolutionStatus.optimal.value)
    message = str(info.pop("message", "") or "")
    return StageOutcome(stage, name, stop, solution, message)


def _errored(stage: str, name: str, exc: SlotoptError) -> StageOutcome:
    stop = StopReason.infeasible if isinstance(exc, InfeasibleError) else StopReason.error
    return StageOutcome(stage, name, stop, SolutionStatus.none, str(exc))


#: From this many applicants on, a method's plan is built in a thread while the lottery draws
#: (both release the GIL in their compiled loops and numpy sorts); below it, in the method.
PLAN_CONCURRENTLY_ABOVE = 50_000


def _start_plan(facts: Method, inst: MatchingInstance) -> Future[Any] | None:
    """The method's seed-independent plan, started in a thread (None: the method makes its
    own). The plan is a pure function of the instance, so the result cannot depend on it."""
    if facts.plan is None or inst.n_applicants < PLAN_CONCURRENTLY_ABOVE:
        return None
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="slotopt-plan")
    try:
        return pool.submit(load(facts.plan), inst)
    finally:
        pool.shutdown(wait=False)  # the thread ends with its one task


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
        ``on_failure`` (``"raise"``, default, or ``"record"``: see docs/failures.md); solver
        options (``time_limit``, ``mip_gap``, ``threads``, ``log``) for the MIP methods and the
        second stage; ``levels`` / ``weights`` for the MIP methods.

    Raises
    ------
    UsageError
        Unknown method, second stage or option, or an option value out of range.
    SolverError, InfeasibleError
        With ``on_failure="raise"``: a solver step did not reach a proven optimum.
    VerificationError
        With ``on_failure="raise"``: ``verify=True`` and a certificate failed.
    """
    policy = on_failure_option(options)
    record = policy == "record"
    method = method or "greedy"
    if method not in MATCHING_METHODS:
        raise UsageError(
            f"unknown matching method {method!r}; choose from {', '.join(MATCHING_METHODS)}"
        )
    if second_stage is not None and second_stage not in SECOND_STAGES:
        raise UsageError(
            f"unknown second stage {second_stage!r}; choose from {', '.join(SECOND_STAGES)}"
        )
    facts = MATCHING_METHODS[method]
    method_options = _method_options(facts, options, second_stage)
    stage_options = {k: v for k, v in options.items() if k in SOLVER_OPTIONS}
    check_solver_options(stage_options)
    seed = resolve_seed(inst, seed)
    start = time.perf_counter()
    planned = _start_plan(facts, inst)
    order = priority_order(inst.priority, inst.applicant_ids, seed)
    position = positions_from_order(order)
    warn_if_impractical(
        facts,
        inst.n_applicants,
        {"levels": "positions", **method_options},
        instead=_instead(facts),
    )
    stages: list[StageOutcome] = []
    if not facts.needs_highs:
        with Progress(f"method {method}", inst.n_applicants) as bar:
            extra: dict[str, Any] = {"progress": bar} if facts.reports_progress else {}
            if planned is not None:
                extra["plan"] = planned.result()
            slot_of, info = unpack(facts.load()(inst, order, **method_options, **extra))
        stages.append(exact("method", method))
    else:
        try:
            with Progress(f"method {method}") as bar:
                extra = {"progress": bar} if facts.reports_progress else {}
                slot_of, info = unpack(
                    facts.load()(
                        inst, order, raise_on_failure=not record, **method_options, **extra
                    )
                )
        except (SolverError, InfeasibleError) as exc:
            if not record:
                raise
            slot_of, info = np.full(inst.n_applicants, -1, dtype=np.int64), {}
            stages.append(_errored("method", method, exc))
        else:
            stages.append(_stage("method", method, info))
    if second_stage is not None and stages[0].ok:
        try:
            with Progress(f"second stage {second_stage}") as bar:
                staged, stage_info = unpack(
                    SECOND_STAGES[second_stage].load()(
                        inst,
                        slot_of >= 0,
                        raise_on_failure=not record,
                        progress=bar,
                        **stage_options,
                    )
                )
        except (SolverError, InfeasibleError) as exc:
            if not record:
                raise
            stages.append(_errored("second_stage", second_stage, exc))
        else:
            outcome = _stage("second_stage", second_stage, stage_info)
            stages.append(outcome)
            info.update({f"second_stage_{k}": v for k, v in stage_info.items()})
            if outcome.ok:
                slot_of = staged
            # else: the method's schedule (its matched set and its own slots) is kept
    seconds = time.perf_counter() - start
    report = None
    if verify:
        with Progress("certificates", inst.n_applicants) as bar:
            report = check_matching(inst, slot_of, position, progress=bar)
    failure = next(
        (st.message or f"{st.name} stopped with {st.stop.value}" for st in stages if not st.ok),
        None,
    )
    if report is None:
        verdict = VerificationOutcome.not_run
    elif report.ok:
        verdict = VerificationOutcome.passed
    else:
        verdict = VerificationOutcome.failed
        message = (
            f"the {method} result for {inst.name!r} failed its certificates:\n" + report.describe()
        )
        if not record:
            raise VerificationError(message, report=report)
        failure = failure or message
    return MatchingResult(
        instance=inst,
        slot_of=slot_of,
        position=position,
        method=method,
        seed=seed,
        seconds=seconds,
        verification=report,
        second_stage=second_stage,
        extra=info,
        stages=tuple(stages),
        verification_outcome=verdict,
        failure=failure,
    )
