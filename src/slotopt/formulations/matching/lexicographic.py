"""``method="lexicographic"``: priority levels maximised one after another, each optimum fixed
(models/lexicographic.md).

Levels = positions (one level per applicant) is Algorithm 1 exactly, solved as a sequence of
bound changes on one compiled max-appointments model; levels = tiers maximises each
``priority`` value's count in turn, then lets the weighted objective decide inside the tiers.
The whole sequence shares one time limit (:mod:`slotopt.formulations.matching.solving`).

References
----------
N. Arnosti (2021), "A Better Way to Schedule Vaccinations", Algorithm 1, Theorem 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from slotopt.engines.matching.structure import MatchingNetwork, matching_network, members_by_type
from slotopt.errors import SolverError, UsageError
from slotopt.formulations.matching.extract import assign_slots, extract_by_type, ranges
from slotopt.formulations.matching.solving import (
    Failed,
    MethodRun,
    check_options,
    integral,
    integral_count,
)
from slotopt.formulations.matching_models import Levels, build_lexicographic
from slotopt.formulations.solver import CompiledModel
from slotopt.instance.matching import MatchingInstance

__all__ = ["lexicographic_matching"]


def lexicographic_matching(
    inst: MatchingInstance, order: np.ndarray, **options: Any
) -> tuple[np.ndarray, dict[str, Any]]:
    """Priority levels maximised one after another, each optimum fixed (models/lexicographic.md).

    Parameters
    ----------
    order : ndarray of shape (A,)
        Applicant indices in final priority order.
    **options
        ``levels``: ``"positions"`` (default; one level per applicant, Algorithm 1 exactly) or
        ``"tiers"`` (one level per ``priority`` value, then the weighted objective decides
        inside the tiers by lottery order); ``time_limit`` (seconds for the whole sequence:
        each solve gets what remains, and when nothing remains the method stops with
        ``time_limit``), ``mip_gap``, ``threads``, ``raise_on_failure``, ``log``, ``presets``
        (a :class:`~slotopt.formulations.solver.HighsPresets`: ``level`` for positions,
        ``tier`` and ``tier_final`` for tiers).

    Returns
    -------
    slot_of, info
        ``info`` adds ``levels``, ``solves`` and, for tiers, ``tier_counts``.

    Notes
    -----
    Levels = positions runs on one compiled max-appointments model; only bounds of the type
    counts :math:`m_t` change between solves. Two exact shortcuts keep the number of solves far
    below the number of applicants (models/lexicographic.md proves both):

    * a type that fails once never succeeds later (its later members are interchangeable with
      the failed one and face a larger committed set), so its remaining levels need no solve;
    * consecutive levels are solved together: if the levels ``k..k+b-1`` together reach their
      full count ``b``, each of them, solved alone in turn, reaches 1 (subsets of a feasible set
      are feasible); otherwise the block is halved, and the second half's count is the block's
      minus the first half's (matroid rank is additive along the greedy), so it needs no solve
      of its own.
    """
    check_options("method lexicographic", options, {"levels"})
    levels: Levels = options.get("levels", "positions")
    if levels not in ("positions", "tiers"):
        raise UsageError(f"levels must be 'positions' or 'tiers', got {levels!r}")
    run = MethodRun("lexicographic", options)
    net = run.build(lambda: matching_network(inst))
    model = run.build(lambda: build_lexicographic(inst, order, levels, net=net))
    compiled = run.compile(model, f"lexicographic ({levels}) model")
    try:
        if levels == "positions":
            slot_of, more = _positions(inst, order, net, model, compiled, run)
        else:
            slot_of, more = _tiers(inst, net, model, compiled, run)
    except Failed as exc:
        return run.failure(inst.n_applicants, exc, levels=levels)
    except SolverError as exc:
        return run.error(inst.n_applicants, exc, levels=levels)
    return slot_of, run.info(levels=levels, n_types=net.n_types, n_slot_groups=net.n_groups, **more)


def _positions(
    inst: MatchingInstance,
    order: np.ndarray,
    net: MatchingNetwork,
    model: Any,
    compiled: CompiledModel,
    run: MethodRun,
) -> tuple[np.ndarray, dict[str, Any]]:
    type_of = net.types.type_of
    n_types = net.n_types
    served_cols = compiled.column_index([model.served[t] for t in range(n_types)])
    committed = np.zeros(n_types, dtype=np.int64)  # r_t: committed members of type t
    dead = np.zeros(n_types, dtype=bool)
    compiled.set_bounds(served_cols, 0.0, 0.0)
    state = {"committed_total": 0}

    def count(block: np.ndarray) -> int:
        """Solve one block of levels: the most of ``block`` servable on top of the commitments."""
        types, members = np.unique(type_of[block], return_counts=True)
        base = committed[types].astype(np.float64)
        compiled.set_bounds(served_cols[types], base, base + members)
        what = f"lexicographic level model (positions {len(block)} from applicant {int(block[0])})"
        out = run.optimal(compiled, run.presets.level, what)
        compiled.set_bounds(served_cols[types], base, base)
        return integral_count(float(out.objective or 0.0) - state["committed_total"], what)

    def commit(block: np.ndarray) -> None:
        types, members = np.unique(type_of[block], return_counts=True)
        committed[types] += members
        state["committed_total"] += len(block)
        level = committed[types].astype(np.float64)
        compiled.set_bounds(served_cols[types], level, level)

    def decide(block: np.ndarray, z: int | None) -> None:
        block = block[~dead[type_of[block]]]
        if len(block) == 0:
            return
        if z is None:
            z = count(block)
        if z == len(block):
            commit(block)
            return
        if z == 0:
            dead[type_of[block]] = True
            return
        half = len(block) // 2
        z_first = count(block[:half])
        decide(block[:half], z_first)
        decide(block[half:], z - z_first)

    size = 1
    k = 0
    n = len(order)
    while k < n:
        run.step(k, n)
        take = order[k : k + size]
        k += size
        before = int(dead.sum())
        decide(take, None)
        size = size * 2 if int(dead.sum()) == before else max(1, size // 2)
    # the last solve may have been a failed block: one more solve with everything fixed
    what = "lexicographic final model (all levels fixed)"
    out = run.optimal(compiled, run.presets.level, what)
    assign_cols = compiled.column_index(list(model.assign.values()))
    flow, frac = integral(compiled.values(assign_cols), what)
    indptr, members = members_by_type(net.types, order)
    # a type's committed members are its first r_t in priority order (it commits until it dies)
    served = members[indptr[:-1].repeat(committed) + ranges(committed)]
    served_indptr = np.zeros(n_types + 1, dtype=np.int64)
    np.cumsum(committed, out=served_indptr[1:])
    slot_of = assign_slots(inst, net, served_indptr, served, flow)
    return slot_of, {
        "objective": out.objective,
        "max_fractionality": frac,
        "dead_types": int(dead.sum()),
    }


def _tiers(
    inst: MatchingInstance,
    net: MatchingNetwork,
    model: Any,
    compiled: CompiledModel,
    run: MethodRun,
) -> tuple[np.ndarray, dict[str, Any]]:
    counts: dict[str, int] = {}
    n_tiers = len(model.tiers)
    for j, tier in enumerate(model.tiers):
        run.step(j, n_tiers + 1)
        objective = model.tier_matched[tier]
        compiled.set_objective(objective)
        what = f"lexicographic tier {tier} model"
        out = run.optimal(compiled, run.presets.tier, what)
        counts[str(tier)] = z = integral_count(out.objective, what)
        col = compiled.column_index([model.tier_count[tier]])
        compiled.set_bounds(col, float(z), np.inf)
    compiled.set_objective(model.priority_weight)
    what = "lexicographic final weighted model (tier counts fixed)"
    out = run.optimal(compiled, run.presets.tier_final, what)
    values = compiled.values()
    take, frac_y = integral(values[compiled.column_index(list(model.take.values()))], what)
    flow, frac_x = integral(values[compiled.column_index(list(model.assign.values()))], what)
    served = model.segment_applicant[take == 1]
    slot_of = extract_by_type(inst, net, served, flow)
    return slot_of, {
        "objective": out.objective,
        "max_fractionality": max(frac_x, frac_y),
        "tier_counts": counts,
    }
