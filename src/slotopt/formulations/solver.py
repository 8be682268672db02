"""The one module that talks to HiGHS.

Formulations build Pyomo models and never solve them; everything that solves comes here. This
module holds every solver option (the per-model presets :class:`HighsPresets`, the time limit, the
MIP gap, threads, the log), maps HiGHS's model status onto our two enums (one table), and is the
one place where HiGHS's log and error lines are captured.

There is one route from a Pyomo model to HiGHS: :func:`compile_model` compiles the whole model at
once with Pyomo's own ``LinearStandardFormCompiler`` (the templated linear-repn walker behind
Pyomo's LP writer) into sparse matrices and passes them to one ``highspy.Highs`` object in a
single call. On the matching models that is 3-5 times faster than Pyomo's ``contrib.solver``
HiGHS interface, which hands a model over constraint by constraint (1.5 s against 8.9 s for the
200,000-column weighted LP at 100,000 applicants; docs/performance.md, "MIP layer"). The returned
:class:`CompiledModel` stays alive for re-solves that only change column bounds or the
objective, so HiGHS restarts from its last basis: the lexicographic and rank-maximal sequences
rely on this. :func:`solve_model` composes compile, one solve and loading the solution into the
Pyomo variables, for models solved once (the assortment models and the CDLP).

Two process-wide facts of HiGHS (1.16) are handled here once:

* **Threads.** HiGHS starts one task scheduler per calling thread on the first ``run()`` and
  refuses (``run()`` returns an error, the model status stays "Not Set") any later solve in that
  thread whose ``threads`` option asks for a different count. :func:`_prepare_threads` remembers
  the count this thread's scheduler was started with and resets the scheduler deliberately
  (``Highs.resetThreadScheduler``) before a solve that asks for another one.
* **Output.** HiGHS prints a banner on stdout when the first ``Highs`` object of a process is
  made, and its log on stdout during every solve. Nothing of it reaches stdout unless the caller
  passes ``log`` (``True`` for stderr, or any text stream): the log is collected through HiGHS's
  logging callback, and its error lines become the outcome's ``message`` and reach the raised
  error.
"""

from __future__ import annotations

import enum
import os
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TextIO

import numpy as np

from slotopt.errors import InfeasibleError, SolverError, UsageError

__all__ = [
    "DEFAULT_PRESETS",
    "CompiledModel",
    "HighsOptions",
    "HighsPresets",
    "LogOption",
    "SolutionStatus",
    "SolveOutcome",
    "StopReason",
    "check_solver_options",
    "compile_model",
    "raise_for_outcome",
    "solve_model",
    "start_scheduler",
]


class StopReason(enum.Enum):
    """Why the solver stopped."""

    optimal = "optimal"
    infeasible = "infeasible"
    unbounded = "unbounded"
    infeasible_or_unbounded = "infeasible_or_unbounded"
    time_limit = "time_limit"
    iteration_limit = "iteration_limit"
    objective_limit = "objective_limit"
    interrupted = "interrupted"
    error = "error"
    unknown = "unknown"


class SolutionStatus(enum.Enum):
    """What solution exists after the solve."""

    none = "none"
    feasible = "feasible"
    optimal = "optimal"


@dataclass(frozen=True)
class SolveOutcome:
    """The result of one solve: statuses, objective, bound and the time spent in HiGHS.

    ``objective`` and ``bound`` are None when no solution / no bound exists; values of the model's
    variables are loaded into the model only when ``solution`` is not ``none``. ``seconds`` is the
    time HiGHS itself ran; ``translate_seconds`` the time spent handing the model to HiGHS (None
    when the solve reused a model already handed over); ``iterations`` the simplex iterations
    (None when HiGHS did not report them).
    """

    stop: StopReason
    solution: SolutionStatus
    objective: float | None
    bound: float | None
    seconds: float
    message: str = ""
    translate_seconds: float | None = None
    iterations: int | None = None

    @property
    def ok(self) -> bool:
        return self.solution is SolutionStatus.optimal


LogOption = bool | TextIO | None
"""The ``log`` option of every solve: None or False for silence (the default), True for HiGHS's
log on stderr, or a text stream to write it to."""


@dataclass(frozen=True)
class HighsOptions:
    """HiGHS options for one kind of solve.

    Attributes
    ----------
    values : Mapping
        Options by HiGHS's own names (``{"solver": "ipm", "run_crossover": "on"}``), set on top of
        HiGHS's defaults for this solve only (every solve starts from the defaults, so one solve's
        choice never leaks into the next). HiGHS checks names and values; one it rejects is a
        :class:`~slotopt.errors.SolverError` naming it.
    warm_start : bool
        True (default): a re-solve of a compiled model starts from the previous solve's basis.
        False forgets it first (when that basis is a poor start for the new objective).
    """

    values: Mapping[str, Any] = field(default_factory=dict, hash=False)
    warm_start: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.values, Mapping) or not all(isinstance(k, str) for k in self.values):
            raise UsageError(
                f"HighsOptions.values must map HiGHS option names to values, got {self.values!r}"
            )
        if not isinstance(self.warm_start, bool):
            raise UsageError(f"HighsOptions.warm_start must be a bool, got {self.warm_start!r}")
        object.__setattr__(self, "values", MappingProxyType(dict(self.values)))


_IPM_CROSSOVER = {"solver": "ipm", "run_crossover": "on"}
_DUAL_DEVEX = {"simplex_strategy": 1, "simplex_dual_edge_weight_strategy": 1}
_PRIMAL = {"simplex_strategy": 4}


@dataclass(frozen=True)
class HighsPresets:
    """The HiGHS options each model of the matching MIP layer is solved with.

    Pass one as ``presets=`` to ``slotopt.solve(method="lp" | "lexicographic", second_stage=...)``
    (or to the method functions) to change one model's options and keep the others. The defaults
    were chosen by measurement on the generated benchmark weeks (docs/performance.md, "MIP
    layer"); any choice must still end at a vertex (a simplex method, or the interior point method
    with crossover), or the integrality check refuses the solution.

    Attributes
    ----------
    flow : HighsOptions
        Feasibility and maximum appointments. Default: the interior point method with crossover
        (3.3 s against 13 s for the dual simplex at 100,000 applicants).
    weighted_lp : HighsOptions
        The weighted LP (``method="lp"``). Default: the dual simplex with Devex pricing
        (``simplex_strategy=1``, ``simplex_dual_edge_weight_strategy=1``), 2-3x faster than
        HiGHS's default dual steepest edge.
    level : HighsOptions
        Every re-solve of the lexicographic sequence by positions (bounds opened one block of
        levels at a time) and its final solve; the ranks after the first of the rank-maximal
        second stage and its final total-rank solve. Default: the primal simplex
        (``simplex_strategy=4``), warm from the previous basis.
    tier : HighsOptions
        Each tier count of the lexicographic sequence by tiers. Default: the interior point
        method with crossover (8x faster than every simplex variant measured at 100,000).
    tier_final : HighsOptions
        The weighted solve after the tier counts are fixed. Default: the weighted LP's dual
        simplex with Devex pricing, started cold (``warm_start=False``: from the tier solves'
        basis it took 26 s, cold 5 s at 100,000 applicants).
    second_stage : HighsOptions
        The min-rank second stage and the first rank of rank-maximal (a transportation LP).
        Default: the interior point method with crossover (twice as fast as the simplex at 30,000
        applicants).
    """

    flow: HighsOptions = HighsOptions(_IPM_CROSSOVER)
    weighted_lp: HighsOptions = HighsOptions(_DUAL_DEVEX)
    level: HighsOptions = HighsOptions(_PRIMAL)
    tier: HighsOptions = HighsOptions(_IPM_CROSSOVER)
    tier_final: HighsOptions = HighsOptions(_DUAL_DEVEX, warm_start=False)
    second_stage: HighsOptions = HighsOptions(_IPM_CROSSOVER)

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if not isinstance(value, HighsOptions):
                raise UsageError(f"HighsPresets.{name} must be a HighsOptions, got {value!r}")


DEFAULT_PRESETS = HighsPresets()
"""The measured defaults (each field of :class:`HighsPresets` documents its own)."""


def _log_stream(log: LogOption) -> TextIO | None:
    if log is None or log is False:
        return None
    if log is True:
        return sys.stderr
    return log


class _SchedulerState(threading.local):
    """The ``threads`` count this thread's HiGHS scheduler was started with (None: not started;
    0: HiGHS's own default)."""

    threads: int | None = None


_scheduler = _SchedulerState()


def _prepare_threads(highspy: Any, threads: int | None) -> None:
    """Make the next ``run()`` in this thread accept ``threads`` (None: HiGHS's default).

    HiGHS accepts its default with any scheduler already running, and an explicit count only
    when it equals the running scheduler's; otherwise the scheduler is shut down here so that
    the solve starts a new one with the requested count.
    """
    want = 0 if threads is None else int(threads)
    have = _scheduler.threads
    if have is None:
        _scheduler.threads = want
        return
    if want == 0 or want == have:
        return
    highspy.Highs.resetThreadScheduler(True)
    _scheduler.threads = want


_banner_shown = False


def _new_highs(highspy: Any) -> Any:
    """A ``highspy.Highs`` object, the process's first made with stdout closed to its banner.

    HiGHS writes the banner from C++ straight to file descriptor 1, so redirecting
    ``sys.stdout`` would not catch it; the descriptor itself is pointed at the null device for
    the duration of the constructor (once per process: later objects print no banner).
    """
    global _banner_shown
    if _banner_shown:
        return highspy.Highs()
    _banner_shown = True
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):  # no usable descriptor 1 (pythonw, closed stdout)
        return highspy.Highs()
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            try:
                return highspy.Highs()
            finally:
                os.dup2(saved, 1)
    finally:
        os.close(saved)


def _error_lines(log: str) -> str:
    """HiGHS's error lines in a log, joined; "" when there are none."""
    lines = [ln.strip() for ln in log.splitlines() if ln.lstrip().startswith("ERROR")]
    return " ".join(lines)


def _is_number(x: object) -> bool:
    return isinstance(x, int | float | np.integer | np.floating) and not isinstance(x, bool)


def check_solver_options(options: Mapping[str, Any]) -> None:
    """Refuse solver option values HiGHS would reject or misread, before any model is built.

    Raises
    ------
    UsageError
        ``time_limit`` not a number >= 0, ``mip_gap`` not in [0, 1], ``threads`` not an
        integer >= 0 (0: HiGHS's default), ``log`` not a bool or a writable text stream,
        ``presets`` not a :class:`HighsPresets`.
    """
    limit = options.get("time_limit")
    if limit is not None and (not _is_number(limit) or not limit >= 0 or np.isnan(limit)):
        raise UsageError(f"time_limit must be a number of seconds >= 0, got {limit!r}")
    gap = options.get("mip_gap")
    if gap is not None and (not _is_number(gap) or not 0 <= gap <= 1):
        raise UsageError(f"mip_gap must be a number in [0, 1], got {gap!r}")
    threads = options.get("threads")
    if threads is not None and (
        isinstance(threads, bool) or not isinstance(threads, int | np.integer) or threads < 0
    ):
        raise UsageError(f"threads must be an integer >= 0 (0: HiGHS's choice), got {threads!r}")
    log = options.get("log")
    if log is not None and not isinstance(log, bool) and not callable(getattr(log, "write", None)):
        raise UsageError(f"log must be True, False or a text stream, got {log!r}")
    presets = options.get("presets")
    if presets is not None and not isinstance(presets, HighsPresets):
        raise UsageError(f"presets must be a slotopt HighsPresets, got {presets!r}")


_ADVICE = {
    StopReason.time_limit: "raise the time limit",
    StopReason.iteration_limit: "raise HiGHS's iteration limit",
    StopReason.objective_limit: "remove the objective bound or target from the options",
    StopReason.interrupted: "the solve was interrupted; run it again to finish",
    StopReason.unbounded: "the model is unbounded, which no slotopt model can be: please report it",
    StopReason.infeasible_or_unbounded: (
        "HiGHS could not tell infeasible from unbounded; check the instance, or report it"
    ),
}


def raise_for_outcome(
    outcome: SolveOutcome, *, what: str = "model", time_limit: float | None = None
) -> None:
    """Raise the exception that a non-optimal ``outcome`` calls for (nothing when optimal).

    The message names the stop reason and the solution that exists, carries HiGHS's own message
    (``outcome.message``), and gives the advice that fits the stop reason (a time limit is only
    blamed when HiGHS stopped at one).

    Raises
    ------
    InfeasibleError
        ``outcome.stop`` is ``infeasible``.
    SolverError
        Any other stop without a proven optimum.
    """
    if outcome.ok:
        return
    stop, sol = outcome.stop, outcome.solution
    if stop is StopReason.infeasible:
        raise InfeasibleError(
            f"the {what} is infeasible; check the instance (capacities, acceptable pairs) "
            "or the fixed set you asked for"
        )
    limit = f" after {time_limit:g} s" if stop is StopReason.time_limit and time_limit else ""
    said = f" (HiGHS: {outcome.message})" if outcome.message else ""
    if stop is StopReason.optimal:
        # converged, but the solution is only feasible: a MIP that stopped at its gap
        advice = "tighten the MIP gap (mip_gap) to get a proven optimum"
    elif stop in (StopReason.error, StopReason.unknown):
        advice = "HiGHS failed; its message above says why"
    else:
        advice = _ADVICE[stop]
    raise SolverError(
        f"HiGHS stopped on the {what} with {stop.value}{limit} and solution {sol.value}"
        f"{said}; {advice} (or pass on_failure='record' to get the status instead)"
    )


# -- HiGHS itself ------------------------------------------------------------------------------


def _highspy() -> Any:
    try:
        import highspy
    except ImportError as exc:  # pragma: no cover - highspy is a runtime dependency
        raise SolverError("HiGHS is not available; install it with: pip install highspy") from exc
    return highspy


def _map_highs_status(highspy: Any, status: Any) -> StopReason:
    ms = highspy.HighsModelStatus
    table = {
        ms.kOptimal: StopReason.optimal,
        ms.kModelEmpty: StopReason.optimal,
        ms.kInfeasible: StopReason.infeasible,
        ms.kUnboundedOrInfeasible: StopReason.infeasible_or_unbounded,
        ms.kUnbounded: StopReason.unbounded,
        ms.kObjectiveBound: StopReason.objective_limit,
        ms.kObjectiveTarget: StopReason.objective_limit,
        ms.kTimeLimit: StopReason.time_limit,
        ms.kIterationLimit: StopReason.iteration_limit,
        ms.kSolutionLimit: StopReason.iteration_limit,
        ms.kInterrupt: StopReason.interrupted,
        ms.kHighsInterrupt: StopReason.interrupted,
        ms.kLoadError: StopReason.error,
        ms.kModelError: StopReason.error,
        ms.kPresolveError: StopReason.error,
        ms.kSolveError: StopReason.error,
        ms.kPostsolveError: StopReason.error,
        ms.kMemoryLimit: StopReason.error,
    }
    return table.get(status, StopReason.unknown)


def _solution_status(highspy: Any, status: Any, primal_solution_status: int) -> SolutionStatus:
    """What solution exists: optimal only for HiGHS's "Optimal" (or an empty model), feasible
    when HiGHS holds a feasible primal point (a MIP stopped at a limit with an incumbent)."""
    if status in (highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kModelEmpty):
        return SolutionStatus.optimal
    if primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible:
        return SolutionStatus.feasible
    return SolutionStatus.none


class CompiledModel:
    """A Pyomo model compiled once into a persistent ``highspy.Highs`` object.

    Build it with :func:`compile_model`. Between solves only column bounds
    (:meth:`set_bounds`) and the objective (:meth:`set_objective`) may change; HiGHS then
    restarts from its last basis (a bound change keeps the basis dual feasible, an objective
    change keeps it primal feasible), which is what makes a sequence of related LPs cheap. The
    Pyomo model itself is not modified by these calls; :meth:`load` writes the last solution
    into its variables.

    Attributes
    ----------
    columns : list of VarData
        The model's variables in column order (variables that appear in no constraint and not in
        the objective are left out by the compiler).
    translate_seconds : float
        Seconds spent compiling the model and handing it to HiGHS.
    n_rows, n_columns : int
    """

    def __init__(self, model: Any, *, what: str = "model") -> None:
        from pyomo.common.errors import InfeasibleConstraintException
        from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

        highspy = _highspy()
        self.what = what
        self.model = model
        self._highspy = highspy
        self.trivially_infeasible: str | None = None
        start = time.perf_counter()
        try:
            info = LinearStandardFormCompiler().write(model, mixed_form=True, set_sense=None)
        except InfeasibleConstraintException as exc:
            # A constraint without variables that cannot hold (e.g. "serve 1 applicant who
            # accepts no slot"): the model is infeasible before HiGHS sees it.
            self.trivially_infeasible = str(exc)
            info = None
        self._highs = h = _new_highs(highspy)
        # HiGHS logs to this object's callback only (never to the console), and only while a
        # caller asked for the log or an error is being explained: formatting and passing every
        # log line costs ~0.5 ms a solve, a third of a lexicographic sequence's time
        self._log_lines: list[str] = []
        self._log_to: TextIO | None = None
        h.cbLogging.subscribe(self._on_log)
        self._quiet(logging=True)
        self.columns: list[Any] = [] if info is None else list(info.columns)
        self._index = {id(v): j for j, v in enumerate(self.columns)}
        self.n_columns = len(self.columns)
        self.n_rows = 0
        if info is not None:
            self._pass(info)
        self.translate_seconds = time.perf_counter() - start
        self.last: SolveOutcome | None = None

    def _on_log(self, event: Any) -> None:
        self._log_lines.append(event.message)
        if self._log_to is not None:
            self._log_to.write(event.message)

    def _quiet(self, *, logging: bool) -> None:
        h = self._highs
        h.setOptionValue("output_flag", logging)
        h.setOptionValue("log_to_console", False)

    def _highs_said(self) -> str:
        """HiGHS's error lines since the last :meth:`solve` started."""
        return _error_lines("".join(self._log_lines))

    def _pass(self, info: Any) -> None:
        highspy = self._highspy
        inf = highspy.kHighsInf
        n = self.n_columns
        bounds = [v.bounds for v in self.columns]
        lower = np.array([-inf if lb is None else lb for lb, _ in bounds], dtype=np.float64)
        upper = np.array([inf if ub is None else ub for _, ub in bounds], dtype=np.float64)
        # domains are shared objects (Reals, NonNegativeIntegers, ...): ask each one once
        discrete: dict[int, bool] = {}
        integer = np.zeros(n, dtype=bool)
        for j, v in enumerate(self.columns):
            dom = v.domain
            flag = discrete.get(id(dom))
            if flag is None:
                flag = discrete[id(dom)] = dom.get_interval()[2] == 1
            integer[j] = flag
        # mixed form: one row per (constraint, bound type); 0 is an equality, 1 an upper bound
        # and -1 a lower bound, each with its right-hand side (rows are not negated)
        kind = np.array([r.bound_type for r in info.rows], dtype=np.int64)
        rhs = np.asarray(info.rhs, dtype=np.float64).reshape(-1)
        row_lower = np.where(kind == 1, -inf, rhs)
        row_upper = np.where(kind == -1, inf, rhs)
        A = info.A.tocsc()
        lp = highspy.HighsLp()
        lp.num_col_ = n
        lp.num_row_ = len(kind)
        lp.col_lower_ = lower
        lp.col_upper_ = upper
        lp.row_lower_ = row_lower
        lp.row_upper_ = row_upper
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = A.indptr.astype(np.int32)
        lp.a_matrix_.index_ = A.indices.astype(np.int32)
        lp.a_matrix_.value_ = A.data.astype(np.float64)
        lp.col_cost_ = np.zeros(n)
        h = self._highs
        status = h.passModel(lp)
        if status == highspy.HighsStatus.kError:
            said = self._highs_said()
            raise SolverError(
                f"HiGHS refused the {self.what} (passModel failed)" + (f": {said}" if said else "")
            )
        if integer.any():
            cols = np.flatnonzero(integer).astype(np.int32)
            h.changeColsIntegrality(
                len(cols), cols, np.full(len(cols), highspy.HighsVarType.kInteger)
            )
        self.n_rows = len(kind)
        if info.objectives:
            self.set_objective(info.objectives[0])

    # -- changes between solves ----------------------------------------------------------
    def column_index(self, variables: Sequence[Any]) -> np.ndarray:
        """Column indices of Pyomo variables (KeyError for a variable the model does not use)."""
        index = self._index
        return np.fromiter((index[id(v)] for v in variables), dtype=np.int64, count=len(variables))

    def set_bounds(self, columns: np.ndarray, lower: Any, upper: Any) -> None:
        """Change the bounds of columns (indices from :meth:`column_index`); scalars broadcast."""
        cols = np.asarray(columns, dtype=np.int32)
        if len(cols) == 0:
            return
        lo = np.broadcast_to(np.asarray(lower, dtype=np.float64), cols.shape).copy()
        up = np.broadcast_to(np.asarray(upper, dtype=np.float64), cols.shape).copy()
        self._highs.changeColsBounds(len(cols), cols, lo, up)

    def set_objective(self, objective: Any) -> None:
        """Make a Pyomo objective (component data, active or not) the one HiGHS optimises."""
        from pyomo.core.base.objective import maximize
        from pyomo.repn.linear import LinearRepnVisitor

        repn = LinearRepnVisitor({}).walk_expression(objective.expr)
        if repn.nonlinear is not None:
            raise SolverError(f"the objective of the {self.what} is not linear")
        costs = np.zeros(self.n_columns)
        for vid, coef in repn.linear.items():
            j = self._index.get(vid)
            if j is None:
                raise SolverError(
                    f"the objective of the {self.what} uses a variable that is in no constraint"
                )
            costs[j] = float(coef)
        self.set_costs(costs, maximize=objective.sense == maximize, offset=float(repn.constant))

    def set_costs(self, costs: np.ndarray, *, maximize: bool, offset: float = 0.0) -> None:
        """Set the whole cost vector (length ``n_columns``) and the sense directly."""
        highspy = self._highspy
        h = self._highs
        n = self.n_columns
        h.changeObjectiveSense(
            highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize
        )
        h.changeObjectiveOffset(offset)
        if n:
            h.changeColsCost(n, np.arange(n, dtype=np.int32), np.asarray(costs, dtype=np.float64))

    # -- solving ---------------------------------------------------------------------------
    def solve(
        self,
        *,
        time_limit: float | None = None,
        mip_gap: float | None = None,
        threads: int | None = None,
        options: HighsOptions | None = None,
        raise_on_failure: bool = True,
        what: str | None = None,
        log: LogOption = None,
    ) -> SolveOutcome:
        """Run HiGHS from the current state; see :func:`solve_model` for the parameters.

        ``options.warm_start=False`` forgets the last basis first. The solution stays in HiGHS
        (read it with :meth:`values` or write it into the Pyomo variables with :meth:`load`).
        """
        highspy = self._highspy
        h = self._highs
        what = what or self.what
        if self.trivially_infeasible is not None:
            outcome = SolveOutcome(
                stop=StopReason.infeasible,
                solution=SolutionStatus.none,
                objective=None,
                bound=None,
                seconds=0.0,
                message=self.trivially_infeasible,
                translate_seconds=self.translate_seconds,
            )
        else:
            # options persist in a Highs object: start every solve from the defaults, so one
            # solve's choice (say, the interior point method) does not leak into the next
            h.resetOptions()
            stream = _log_stream(log)
            self._quiet(logging=True)
            chosen: dict[str, Any] = {
                "time_limit": highspy.kHighsInf if time_limit is None else float(time_limit)
            }
            if mip_gap is not None:
                chosen["mip_rel_gap"] = float(mip_gap)
            if threads is not None:
                chosen["threads"] = int(threads)
            preset = options if options is not None else HighsOptions()
            chosen.update(preset.values)
            for key, val in chosen.items():
                self._log_lines.clear()
                if h.setOptionValue(key, val) == highspy.HighsStatus.kError:
                    said = self._highs_said()
                    raise SolverError(
                        f"HiGHS rejected the option {key}={val!r}" + (f": {said}" if said else "")
                    )
            if not preset.warm_start:
                h.clearSolver()
            self._quiet(logging=stream is not None)
            _prepare_threads(highspy, threads)
            self._log_lines.clear()
            self._log_to = stream
            start = time.perf_counter()
            try:
                run_status = h.run()
                if run_status == highspy.HighsStatus.kError and stream is None:
                    # explain the failure: run again with the log on to collect HiGHS's words
                    self._quiet(logging=True)
                    h.run()
            except Exception as exc:  # HiGHS failed outright
                raise SolverError(f"HiGHS failed on the {what}: {exc}") from exc
            finally:
                self._log_to = None
            seconds = time.perf_counter() - start
            status = h.getModelStatus()
            said = self._highs_said()
            hinfo = h.getInfo()
            if run_status == highspy.HighsStatus.kError:
                # run() refused or failed (a threads clash, a bad option value, ...): whatever
                # the model status says, nothing it computed can be trusted
                stop, sol = StopReason.error, SolutionStatus.none
            else:
                stop = _map_highs_status(highspy, status)
                sol = _solution_status(highspy, status, hinfo.primal_solution_status)
            objective = (
                float(hinfo.objective_function_value) if sol is not SolutionStatus.none else None
            )
            if hinfo.mip_node_count >= 0:
                bound: float | None = float(hinfo.mip_dual_bound)
            else:
                bound = objective if sol is SolutionStatus.optimal else None
            outcome = SolveOutcome(
                stop=stop,
                solution=sol,
                objective=objective,
                bound=bound,
                seconds=seconds,
                message=said or h.modelStatusToString(status),
                translate_seconds=self.translate_seconds if self.last is None else None,
                iterations=int(hinfo.simplex_iteration_count),
            )
        self.last = outcome
        if raise_on_failure:
            raise_for_outcome(outcome, what=what, time_limit=time_limit)
        return outcome

    def values(self, columns: np.ndarray | None = None) -> np.ndarray:
        """Primal values of the last solution (all columns, or the given column indices)."""
        if self.last is None or self.last.solution is SolutionStatus.none:
            raise SolverError(f"the {self.what} has no solution to read")
        if self.n_columns == 0:
            vals = np.zeros(0)
        else:
            vals = np.asarray(self._highs.getSolution().col_value, dtype=np.float64)
        return vals if columns is None else vals[np.asarray(columns, dtype=np.int64)]

    def load(self) -> None:
        """Write the last solution into the Pyomo variables."""
        for v, x in zip(self.columns, self.values().tolist(), strict=True):
            v.set_value(x, skip_validation=True)


def compile_model(model: Any, *, what: str = "model") -> CompiledModel:
    """Compile a linear Pyomo model for HiGHS in one pass (see :class:`CompiledModel`).

    Raises
    ------
    SolverError
        highspy is missing, or HiGHS refused the compiled model.
    """
    return CompiledModel(model, what=what)


def solve_model(
    model: Any,
    *,
    time_limit: float | None = None,
    mip_gap: float | None = None,
    threads: int | None = None,
    options: HighsOptions | None = None,
    raise_on_failure: bool = True,
    load: bool = True,
    what: str = "model",
    log: LogOption = None,
) -> SolveOutcome:
    """Compile a linear Pyomo model, solve it once with HiGHS and load the solution into it.

    Parameters
    ----------
    model
        A Pyomo ``ConcreteModel`` with exactly one active objective, linear constraints.
    time_limit
        Seconds; None for no limit.
    mip_gap
        Relative MIP gap at which HiGHS may stop (HiGHS's default 1e-4 when None).
    threads
        HiGHS's thread count (None or 0: HiGHS's choice).
    options
        Further HiGHS options (:class:`HighsOptions`); None for HiGHS's defaults.
    raise_on_failure
        When True (default) anything but a proven optimum raises; batch code passes False and
        records ``SolveOutcome.stop`` / ``.solution`` instead.
    load
        Write the solution (when one exists) into the model's variables.
    what
        A short name for the model used in error messages.
    log
        None/False (default): HiGHS prints nothing; True: its log goes to stderr; a text
        stream: its log goes there.

    Returns
    -------
    SolveOutcome
        ``translate_seconds`` is the compilation time.

    Raises
    ------
    InfeasibleError
        The model was proven infeasible.
    SolverError
        HiGHS is missing, refused the model or an option, errored, or stopped (time limit, ...)
        without a proven optimum; the message carries HiGHS's own error lines.
    """
    compiled = compile_model(model, what=what)
    outcome = compiled.solve(
        time_limit=time_limit,
        mip_gap=mip_gap,
        threads=threads,
        options=options,
        raise_on_failure=raise_on_failure,
        log=log,
    )
    if load and outcome.solution is not SolutionStatus.none:
        compiled.load()
    return outcome


def start_scheduler(threads: int = 1) -> None:
    """Start this thread's HiGHS task scheduler now with ``threads`` threads, quietly.

    A worker process of ``solve-all`` calls this once: the workers themselves are the
    parallelism, so each HiGHS solve in them should use one thread, and the scheduler HiGHS starts
    on its first ``run()`` keeps its thread count. Solving one tiny LP fixes it; later solves
    that pass no ``threads`` run on it. Does nothing when HiGHS is not installed (the
    combinatorial methods still run).
    """
    try:
        highspy = _highspy()
    except SolverError:
        return
    _prepare_threads(highspy, threads)
    h = _new_highs(highspy)
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", int(threads))
    h.addVar(0.0, 1.0)
    h.changeColCost(0, 1.0)
    h.run()
