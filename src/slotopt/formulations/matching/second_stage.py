"""``second_stage="min-rank" | "rank-maximal"``: keep the matched set, choose each matched
applicant's slot by rank (models/second_stage.md).

Min-rank is one transportation LP over preference classes (applicants with the same slots and
the same ranks) and slots; rank-maximal maximises the number served at rank 1, then rank 2, ...,
one LP per rank in use on one compiled model, all under one time limit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from slotopt.engines.matching.structure import PreferenceClasses
from slotopt.errors import SolverError, UsageError
from slotopt.formulations.matching.extract import ranges
from slotopt.formulations.matching.solving import (
    Failed,
    MethodRun,
    check_options,
    integral,
    integral_count,
)
from slotopt.formulations.matching_models import build_second_stage
from slotopt.instance.matching import MatchingInstance

__all__ = ["min_rank_assignment", "rank_maximal_assignment"]


def min_rank_assignment(
    inst: MatchingInstance, matched_mask: np.ndarray, **options: Any
) -> tuple[np.ndarray, dict[str, Any]]:
    """Keep the matched set; give each matched applicant a slot so the total rank is least.

    Parameters
    ----------
    matched_mask : ndarray of shape (A,), bool
        The matched set, kept exactly.
    **options
        ``time_limit`` (seconds for all solves of the second stage together), ``mip_gap``,
        ``threads``, ``raise_on_failure``, ``log``, ``presets`` (a
        :class:`~slotopt.formulations.solver.HighsPresets`: ``second_stage`` for min-rank and
        the first rank of rank-maximal, ``level`` for rank-maximal's later ranks and its final
        solve).

    Returns
    -------
    slot_of, info
        ``info["objective"]`` is the total rank (unranked pairs rank after the applicant's
        ranked ones; all equal when none is ranked:
        :func:`~slotopt.engines.matching.structure.effective_rank`).

    Raises
    ------
    InfeasibleError
        The matched set cannot be served at once.
    """
    return _second_stage(inst, matched_mask, False, options)


def rank_maximal_assignment(
    inst: MatchingInstance, matched_mask: np.ndarray, **options: Any
) -> tuple[np.ndarray, dict[str, Any]]:
    """Keep the matched set; lexicographically maximise the number at rank 1, then rank 2, ...

    Same parameters and return as :func:`min_rank_assignment`; ``info["rank_counts"]`` is the
    profile, ``info["objective"]`` the total rank of the result.
    """
    return _second_stage(inst, matched_mask, True, options)


def _second_stage(
    inst: MatchingInstance, matched_mask: np.ndarray, rank_maximal: bool, options: dict[str, Any]
) -> tuple[np.ndarray, dict[str, Any]]:
    name = "rank-maximal" if rank_maximal else "min-rank"
    check_options(f"second stage {name}", options, set())
    run = MethodRun(name, options)
    mask = np.asarray(matched_mask, dtype=bool)
    if mask.shape != (inst.n_applicants,):
        raise UsageError(f"matched_mask must be a boolean mask over {inst.n_applicants} applicants")
    model = run.build(lambda: build_second_stage(inst, mask, rank_maximal=rank_maximal))
    pc: PreferenceClasses = model.classes_data
    what = f"{name} second stage"
    compiled = run.compile(model, what)
    counts: dict[str, int] = {}
    try:
        if rank_maximal:
            for j, r in enumerate(model.ranks):
                run.step(j, len(model.ranks) + 1)
                compiled.set_objective(model.rank_matched[r])
                step = f"{what} (rank {r})"
                # later ranks restart from the previous basis: the simplex, not a new IPM run
                step_options = run.presets.second_stage if j == 0 else run.presets.level
                out = run.optimal(compiled, step_options, step)
                counts[str(r)] = z = integral_count(out.objective, step)
                compiled.set_bounds(compiled.column_index([model.rank_count[r]]), z, np.inf)
                if sum(counts.values()) == int(pc.size.sum()):
                    break  # everyone is placed: every later rank's maximum is 0
            compiled.set_objective(model.total_rank)
        final = run.presets.level if rank_maximal else run.presets.second_stage
        out = run.optimal(compiled, final, what)
        flow, frac = integral(
            compiled.values(compiled.column_index(list(model.assign.values()))), what
        )
    except Failed as exc:
        return run.failure(inst.n_applicants, exc)
    except SolverError as exc:
        return run.error(inst.n_applicants, exc)
    members = np.flatnonzero(mask)
    by_class = members[np.argsort(pc.class_of[members], kind="stable")]
    excl = np.cumsum(flow) - flow
    start = (
        np.concatenate([[0], np.cumsum(pc.size)])[pc.pair_class]
        + excl
        - excl[pc.pair_indptr[pc.pair_class]]
    )
    slot_of = np.full(inst.n_applicants, -1, dtype=np.int64)
    slot_of[by_class[np.repeat(start, flow) + ranges(flow)]] = np.repeat(pc.pair_slot, flow)
    more: dict[str, Any] = {
        "objective": out.objective,
        "max_fractionality": frac,
        "n_classes": pc.n_classes,
    }
    if rank_maximal:
        more["rank_counts"] = counts
    if (slot_of[mask] < 0).any():
        raise SolverError(f"the {what} left a matched applicant without a slot")
    return slot_of, run.info(**more)
