"""``method="lp"``: Algorithm 1's matched set from one weighted LP (models/weighted_lp.md).

References
----------
N. Arnosti (2021), "A Better Way to Schedule Vaccinations", Algorithm 1, Theorem 1.
R. Rado (1957); J. Edmonds (1971): the greedy algorithm on a matroid.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from slotopt.engines.matching.structure import matching_network
from slotopt.errors import SolverError
from slotopt.formulations.matching.extract import extract_by_type
from slotopt.formulations.matching.solving import Failed, MethodRun, check_options, integral
from slotopt.formulations.matching_models import build_weighted_lp
from slotopt.instance.matching import MatchingInstance

__all__ = ["weighted_lp_matching"]


def weighted_lp_matching(
    inst: MatchingInstance, order: np.ndarray, **options: Any
) -> tuple[np.ndarray, dict[str, Any]]:
    """Algorithm 1's matched set from one weighted LP (models/weighted_lp.md).

    Parameters
    ----------
    inst
        A validated matching instance.
    order : ndarray of shape (A,)
        Applicant indices in final priority order.
    **options
        ``weights`` (shape (A,), strictly decreasing in position; default ``|A| + 1 -
        position``), ``time_limit``, ``mip_gap``, ``threads``, ``raise_on_failure``, ``log``,
        ``presets`` (a :class:`~slotopt.formulations.solver.HighsPresets`; its
        ``weighted_lp`` field is used).

    Returns
    -------
    slot_of : ndarray of shape (A,)
    info : dict
        ``status``, ``solution``, ``objective``, ``max_fractionality``, ``solves``,
        ``build_seconds``, ``translate_seconds``, ``highs_seconds`` and the model size.

    Raises
    ------
    SolverError
        HiGHS failed or stopped early, or the LP solution is fractional.
    """
    check_options("method lp", options, {"weights"})
    run = MethodRun("lp", options)
    net = run.build(lambda: matching_network(inst))
    model = run.build(lambda: build_weighted_lp(inst, order, options.get("weights"), net=net))
    what = "weighted LP"
    compiled = run.compile(model, what)
    try:
        out = run.optimal(compiled, run.presets.weighted_lp, what)
        take_cols = compiled.column_index(list(model.take.values()))
        assign_cols = compiled.column_index(list(model.assign.values()))
        values = compiled.values()
        take, frac_y = integral(values[take_cols], what)
        flow, frac_x = integral(values[assign_cols], what)
        served = model.segment_applicant[take == 1]
        slot_of = extract_by_type(inst, net, served, flow)
    except Failed as exc:
        return run.failure(inst.n_applicants, exc)
    except SolverError as exc:
        return run.error(inst.n_applicants, exc)
    return slot_of, run.info(
        objective=out.objective,
        max_fractionality=max(frac_y, frac_x),
        n_types=net.n_types,
        n_slot_groups=net.n_groups,
        n_columns=compiled.n_columns,
        n_rows=compiled.n_rows,
    )
