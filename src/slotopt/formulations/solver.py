"""The one module that talks to HiGHS (through Pyomo's ``contrib.solver`` interface).

Formulations build Pyomo models and never solve them; everything that solves comes here. This
module imports the HiGHS interface class directly (not through a factory name: ``'highs'`` vs
``'appsi_highs'`` trips users up, Pyomo issues #3286 and #3777), says whether HiGHS is available,
holds every solver option, and maps raw statuses onto our two enums.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass
from typing import Any

from slotopt.errors import InfeasibleError, SolverError

__all__ = [
    "SolutionStatus",
    "SolveOutcome",
    "StopReason",
    "highs_available",
    "make_persistent",
    "solve_model",
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
    variables are loaded into the model only when ``solution`` is not ``none``.
    """

    stop: StopReason
    solution: SolutionStatus
    objective: float | None
    bound: float | None
    seconds: float
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.solution is SolutionStatus.optimal


def _highs_class() -> Any:
    from pyomo.contrib.solver.solvers.highs import Highs

    return Highs


def highs_available() -> bool:
    """True when Pyomo can drive HiGHS here (``pip install highspy``)."""
    try:
        return bool(_highs_class()().available())
    except Exception:  # any import or probe failure means "not available"
        return False


def make_persistent() -> Any:
    """A persistent HiGHS interface: re-solving after changing a bound or an objective only sends
    the change to HiGHS, which the lexicographic sequence relies on."""
    solver = _highs_class()()
    if not solver.available():
        raise SolverError(
            "HiGHS is not available to Pyomo; install it with: pip install highspy"
        )
    return solver


def _map_status(results: Any) -> tuple[StopReason, SolutionStatus]:
    from pyomo.contrib.solver.common.results import SolutionStatus as PS
    from pyomo.contrib.solver.common.results import TerminationCondition as TC

    stop = {
        TC.convergenceCriteriaSatisfied: StopReason.optimal,
        TC.maxTimeLimit: StopReason.time_limit,
        TC.iterationLimit: StopReason.iteration_limit,
        TC.objectiveLimit: StopReason.objective_limit,
        TC.unbounded: StopReason.unbounded,
        TC.provenInfeasible: StopReason.infeasible,
        TC.locallyInfeasible: StopReason.infeasible,
        TC.infeasibleOrUnbounded: StopReason.infeasible_or_unbounded,
        TC.error: StopReason.error,
        TC.interrupted: StopReason.interrupted,
        TC.emptyModel: StopReason.optimal,
    }.get(results.termination_condition, StopReason.unknown)
    sol = {
        PS.optimal: SolutionStatus.optimal,
        PS.feasible: SolutionStatus.feasible,
    }.get(results.solution_status, SolutionStatus.none)
    if stop is StopReason.optimal and sol is SolutionStatus.feasible:
        # HiGHS reports gap-limited MIPs as converged with a feasible (not proven) solution.
        sol = SolutionStatus.feasible
    return stop, sol


def solve_model(
    model: Any,
    *,
    time_limit: float | None = None,
    mip_gap: float | None = None,
    threads: int | None = None,
    solver: Any | None = None,
    raise_on_failure: bool = True,
    what: str = "model",
) -> SolveOutcome:
    """Solve a Pyomo model with HiGHS and load the solution into it.

    Parameters
    ----------
    model
        A Pyomo ``ConcreteModel`` with exactly one active objective.
    time_limit
        Seconds; None for no limit.
    mip_gap
        Relative MIP gap at which HiGHS may stop (HiGHS default 1e-4 when None).
    solver
        A persistent interface from :func:`make_persistent` to reuse across re-solves.
    raise_on_failure
        When True (default) anything but a proven optimum raises; batch code passes False and
        records ``SolveOutcome.stop`` / ``.solution`` instead.
    what
        A short name for the model used in error messages.

    Raises
    ------
    InfeasibleError
        The model was proven infeasible.
    SolverError
        HiGHS is missing, errored, or stopped (time limit, ...) without a proven optimum.
    """
    opt = solver if solver is not None else make_persistent()
    kwargs: dict[str, Any] = {
        "load_solutions": False,
        "raise_exception_on_nonoptimal_result": False,
    }
    if time_limit is not None:
        kwargs["time_limit"] = float(time_limit)
    if mip_gap is not None:
        kwargs["rel_gap"] = float(mip_gap)
    if threads is not None:
        kwargs["threads"] = int(threads)
    start = time.perf_counter()
    try:
        results = opt.solve(model, **kwargs)
    except Exception as exc:  # HiGHS or the Pyomo interface failed outright
        raise SolverError(f"HiGHS failed on the {what}: {exc}") from exc
    seconds = time.perf_counter() - start
    stop, sol = _map_status(results)
    objective = results.incumbent_objective if sol is not SolutionStatus.none else None
    bound = results.objective_bound
    if sol is not SolutionStatus.none:
        results.solution_loader.load_vars()
    outcome = SolveOutcome(
        stop=stop,
        solution=sol,
        objective=None if objective is None else float(objective),
        bound=None if bound is None else float(bound),
        seconds=seconds,
        message=str(results.termination_condition),
    )
    if raise_on_failure and not outcome.ok:
        if stop is StopReason.infeasible:
            raise InfeasibleError(
                f"the {what} is infeasible; check the instance (capacities, acceptable pairs) "
                "or the fixed set you asked for"
            )
        limit = f" after {time_limit:g} s" if stop is StopReason.time_limit and time_limit else ""
        raise SolverError(
            f"HiGHS stopped on the {what} with {stop.value}{limit} and solution "
            f"{sol.value}; raise the time limit, loosen the MIP gap, or pass "
            "raise_on_failure=False to get the status instead"
        )
    return outcome
