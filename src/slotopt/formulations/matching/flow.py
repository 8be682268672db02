"""Can a set of applicants be served at once, and how many can any schedule serve?

Both are flow models without per-applicant weights (models/feasibility.md,
models/max_appointments.md), solved with :attr:`HighsPresets.flow
<slotopt.formulations.solver.HighsPresets>`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from slotopt.engines.matching.structure import matching_network
from slotopt.formulations.matching.solving import MethodRun, check_options, integral_count
from slotopt.formulations.matching_models import build_feasibility, build_max_appointments
from slotopt.formulations.solver import StopReason, raise_for_outcome
from slotopt.instance.matching import MatchingInstance

__all__ = ["can_serve", "max_appointments"]


def can_serve(
    inst: MatchingInstance, must_match: np.ndarray, **options: Any
) -> tuple[bool, dict[str, Any]]:
    """Can every applicant in ``must_match`` be served at once? (models/feasibility.md)

    Returns ``(answer, info)``; an infeasible model is the answer "no", not an error. Other
    failures (time limit, HiGHS error) raise :class:`~slotopt.errors.SolverError` unless
    ``raise_on_failure=False``, in which case the answer is False and ``info["status"]`` says
    why. Options: ``time_limit``, ``mip_gap``, ``threads``, ``log``, ``presets``.
    """
    check_options("can_serve", options, set())
    run = MethodRun("feasibility", options)
    net = run.build(lambda: matching_network(inst))
    model = run.build(lambda: build_feasibility(inst, must_match, net=net))
    what = "feasibility model"
    compiled = run.compile(model, what)
    out = run.solve(compiled, run.presets.flow, what)
    if out.stop is StopReason.infeasible:
        return False, run.info()
    if not out.ok:
        if run.raise_on_failure:
            raise_for_outcome(out, what=what, time_limit=run.time_limit)
        return False, run.info()
    return True, run.info()


def max_appointments(inst: MatchingInstance, **options: Any) -> tuple[int, dict[str, Any]]:
    """The largest number of applicants any schedule serves (models/max_appointments.md).

    Returns ``(count, info)``; raises like
    :func:`~slotopt.formulations.matching.weighted_lp.weighted_lp_matching` (``count`` is -1 with
    ``raise_on_failure=False`` when HiGHS did not prove an optimum).
    """
    check_options("max_appointments", options, set())
    run = MethodRun("max-appointments", options)
    net = run.build(lambda: matching_network(inst))
    model = run.build(lambda: build_max_appointments(inst, net=net))
    what = "max-appointments model"
    compiled = run.compile(model, what)
    out = run.solve(compiled, run.presets.flow, what)
    if not out.ok:
        if run.raise_on_failure:
            raise_for_outcome(out, what=what, time_limit=run.time_limit)
        return -1, run.info()
    return integral_count(out.objective, what), run.info(objective=out.objective)
