"""What every MIP-layer matching method shares: its options, the solves of one call under one
time limit, the integrality check, and how a failure is raised or recorded.

Each method returns ``(slot_of, info)``: the slot index of every applicant (-1 unmatched) and a
JSON-able dict (statuses, objective values, number of solves, build / translate / HiGHS
seconds, the largest distance of the LP solution from an integer). The LPs' constraint matrices
are network matrices, so their basic optimal solutions are integral (Hoffman and Kruskal); the
methods check every solution they use with :func:`integral` instead of relying on that.

Failures raise (:class:`~slotopt.errors.InfeasibleError`, :class:`~slotopt.errors.SolverError`)
unless ``raise_on_failure=False``, in which case nobody is matched, ``info["status"]`` and
``info["solution"]`` say why (the solver's stop reason and solution status, by their enum
values; ``"error"`` and ``"none"`` for a solution that cannot be used, such as a fractional one)
and ``info["message"]`` is the message the error would have carried. ``slotopt.solve`` turns
these into the result's :class:`~slotopt.run.outcome.StageOutcome` (``on_failure="record"``).

**The time limit is a budget for the whole call.** ``time_limit`` bounds all HiGHS solves of one
method call together, not each of them: the clock starts when the first solve starts, each solve
gets what remains, and once nothing remains the next solve is not started and the method stops
with ``time_limit`` (model building and compiling before the first solve do not count).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from slotopt.errors import SlotoptError, SolverError, UsageError
from slotopt.formulations.solver import (
    DEFAULT_PRESETS,
    CompiledModel,
    HighsOptions,
    HighsPresets,
    SolutionStatus,
    SolveOutcome,
    StopReason,
    check_solver_options,
    compile_model,
    raise_for_outcome,
)

__all__ = [
    "INTEGRALITY_TOLERANCE",
    "Failed",
    "MethodRun",
    "check_options",
    "integral",
    "integral_count",
]

INTEGRALITY_TOLERANCE = 1e-6
"""Largest distance from an integer accepted in an LP solution (HiGHS's feasibility tolerance
is 1e-7; anything farther means the solution is not a vertex of the integral polytope)."""

# progress: a callback progress(done, total) for the sequences (the run layer draws it)
_SOLVE_KEYS = frozenset(
    {"time_limit", "mip_gap", "threads", "raise_on_failure", "log", "progress", "presets"}
)

_clock: Callable[[], float] = time.monotonic
"""The clock of the time budget (a test replaces it with a fake)."""


def check_options(method: str, options: dict[str, Any], extra: set[str]) -> dict[str, Any]:
    """Refuse unknown options and out-of-range solver options (:class:`UsageError`)."""
    unknown = set(options) - _SOLVE_KEYS - extra
    if unknown:
        allowed = ", ".join(sorted(_SOLVE_KEYS | extra))
        raise UsageError(
            f"unknown option(s) {', '.join(sorted(unknown))} for {method}; allowed: {allowed}"
        )
    check_solver_options(options)
    return options


class MethodRun:
    """One method call's solves: options, time budget, timings, the last status."""

    def __init__(self, method: str, options: dict[str, Any]) -> None:
        self.method = method
        self.time_limit = options.get("time_limit")
        self.mip_gap = options.get("mip_gap")
        self.threads = options.get("threads")
        self.log = options.get("log")
        self.progress = options.get("progress")
        self.presets: HighsPresets = options.get("presets") or DEFAULT_PRESETS
        self.raise_on_failure = bool(options.get("raise_on_failure", True))
        self.build_seconds = 0.0
        self.translate_seconds = 0.0
        self.highs_seconds = 0.0
        self.solves = 0
        self.iterations = 0
        self.last: SolveOutcome | None = None
        self._deadline: float | None = None

    def build(self, fn: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        out = fn()
        self.build_seconds += time.perf_counter() - start
        return out

    def compile(self, model: Any, what: str) -> CompiledModel:
        compiled = compile_model(model, what=what)
        self.translate_seconds += compiled.translate_seconds
        return compiled

    def remaining(self) -> float | None:
        """Seconds left of the time limit (None: no limit); the first call starts the clock."""
        if self.time_limit is None:
            return None
        now = _clock()
        if self._deadline is None:
            self._deadline = now + float(self.time_limit)
        return max(self._deadline - now, 0.0)

    def solve(self, compiled: CompiledModel, options: HighsOptions, what: str) -> SolveOutcome:
        """Solve with what remains of the time limit; never raises for a non-optimal outcome."""
        limit = self.remaining()
        if limit == 0.0:
            # the budget is spent: starting HiGHS could only waste time (or, on a warm basis,
            # return an answer the limit did not pay for)
            out = SolveOutcome(
                stop=StopReason.time_limit,
                solution=SolutionStatus.none,
                objective=None,
                bound=None,
                seconds=0.0,
                message=f"Time limit reached before this solve ({self.time_limit:g} s for all "
                f"solves of {self.method})",
            )
        else:
            out = compiled.solve(
                time_limit=limit,
                mip_gap=self.mip_gap,
                threads=self.threads,
                options=options,
                raise_on_failure=False,
                log=self.log,
                what=what,
            )
            self.solves += 1
            self.highs_seconds += out.seconds
            self.iterations += out.iterations or 0
        self.last = out
        return out

    def optimal(self, compiled: CompiledModel, options: HighsOptions, what: str) -> SolveOutcome:
        """:meth:`solve`, raising :class:`Failed` unless the outcome is a proven optimum."""
        out = self.solve(compiled, options, what)
        if not out.ok:
            raise Failed(out, what)
        return out

    def step(self, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(done, total)

    def info(self, **more: Any) -> dict[str, Any]:
        last = self.last
        out: dict[str, Any] = {
            "status": None if last is None else last.stop.value,
            "solution": None if last is None else last.solution.value,
            "solves": self.solves,
            "simplex_iterations": self.iterations,
            "build_seconds": round(self.build_seconds, 6),
            "translate_seconds": round(self.translate_seconds, 6),
            "highs_seconds": round(self.highs_seconds, 6),
        }
        out.update(more)
        return out

    def failure(self, n: int, exc: Failed, **more: Any) -> tuple[np.ndarray, dict[str, Any]]:
        """A solve without a proven optimum: raise, or schedule nobody and say why."""
        try:
            raise_for_outcome(exc.outcome, what=exc.what, time_limit=self.time_limit)
        except SlotoptError as err:
            if self.raise_on_failure:
                raise
            message = str(err)
        else:  # pragma: no cover - Failed is only raised for outcomes that are not ok
            message = ""
        return np.full(n, -1, dtype=np.int64), self.info(
            failed_model=exc.what, message=message, **more
        )

    def error(self, n: int, exc: SolverError, **more: Any) -> tuple[np.ndarray, dict[str, Any]]:
        """A solution that cannot be used (fractional, inconsistent): raise, or schedule nobody
        and say why (``status`` "error", ``solution`` "none", ``error`` and ``message`` the
        message)."""
        if self.raise_on_failure:
            raise exc
        info = self.info(**more)
        info.update(status="error", solution="none", error=str(exc), message=str(exc))
        return np.full(n, -1, dtype=np.int64), info


class Failed(Exception):
    """A solve did not give a proven optimum (carries the outcome and the model's name)."""

    def __init__(self, outcome: SolveOutcome, what: str) -> None:
        self.outcome = outcome
        self.what = what
        super().__init__(what)


def integral(values: ArrayLike, what: str) -> tuple[np.ndarray, float]:
    """Round an LP solution (or an optimal value) after checking that it is integral.

    Returns the rounded values as int64 (a 0-d array for a scalar) and the largest distance from
    an integer.

    Raises
    ------
    SolverError
        A value is farther than :data:`INTEGRALITY_TOLERANCE` from an integer.
    """
    arr = np.asarray(values, dtype=np.float64)
    rounded = np.rint(arr)
    frac = float(np.abs(arr - rounded).max(initial=0.0))
    if frac > INTEGRALITY_TOLERANCE:
        kind = "optimum" if arr.ndim == 0 else "solution"
        raise SolverError(
            f"the {what} returned a fractional {kind} (a value {frac:.3g} away from an "
            "integer). Its constraint matrix is a network matrix, so basic optimal solutions "
            "are integral; a fractional one means HiGHS stopped at a non-basic point (e.g. an "
            "interior-point solution without crossover). Re-run with the simplex method"
        )
    return rounded.astype(np.int64), frac


def integral_count(value: float | None, what: str) -> int:
    """An optimal value that counts applicants (``None`` counts 0), checked by :func:`integral`."""
    count, _ = integral(0.0 if value is None else value, what)
    return int(count)
