"""The MIP-layer matching methods: build a model, solve it through the solver module, extract.

The four functions named by ``slotopt.run.solve_matching``'s registries:

* :func:`weighted_lp_matching` (``method="lp"``): one weighted LP (models/weighted_lp.md);
* :func:`lexicographic_matching` (``method="lexicographic"``): sequential LPs over levels =
  positions (Algorithm 1 exactly) or priority tiers (models/lexicographic.md);
* :func:`min_rank_assignment` / :func:`rank_maximal_assignment` (``second_stage=...``): keep
  the matched set, choose the slots by rank (models/second_stage.md).

Each returns ``(slot_of, info)``: the slot index of every applicant (-1 unmatched) and a
JSON-able dict (statuses, objective values, number of solves, build / translate / HiGHS
seconds, the largest distance of the LP solution from an integer). The LPs' constraint matrices
are network matrices, so their basic optimal solutions are integral (Hoffman and Kruskal); the
code checks every solution it uses instead of relying on that, and refuses a fractional one.

Failures raise (:class:`~slotopt.errors.InfeasibleError`, :class:`~slotopt.errors.SolverError`)
unless ``raise_on_failure=False``, in which case nobody is matched, ``info["status"]`` and
``info["solution"]`` say why (the solver's stop reason and solution status, by their enum
values; ``"error"`` and ``"none"`` for a solution that cannot be used, such as a fractional one)
and ``info["message"]`` is the message the error would have carried. ``slotopt.solve`` turns
these into the result's :class:`~slotopt.run.outcome.StageOutcome` (``on_failure="record"``).

References
----------
N. Arnosti (2021), "A Better Way to Schedule Vaccinations", Algorithm 1, Theorem 1.
A. J. Hoffman and J. B. Kruskal (1956), "Integral boundary points of convex polyhedra".
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from slotopt.errors import SlotoptError, SolverError, UsageError
from slotopt.formulations.matching_models import (
    Levels,
    MatchingNetwork,
    PreferenceClasses,
    build_feasibility,
    build_lexicographic,
    build_max_appointments,
    build_second_stage,
    build_weighted_lp,
    matching_network,
    members_by_type,
)
from slotopt.formulations.solver import (
    CompiledModel,
    SolveOutcome,
    StopReason,
    check_solver_options,
    compile_model,
    raise_for_outcome,
)
from slotopt.instance.matching import MatchingInstance

__all__ = [
    "INTEGRALITY_TOLERANCE",
    "can_serve",
    "lexicographic_matching",
    "max_appointments",
    "min_rank_assignment",
    "rank_maximal_assignment",
    "weighted_lp_matching",
]

INTEGRALITY_TOLERANCE = 1e-6
"""Largest distance from an integer accepted in an LP solution (HiGHS's feasibility tolerance
is 1e-7; anything farther means the solution is not a vertex of the integral polytope)."""

# Measured on the generated weeks (docs/performance.md, "MIP layer"): the dual simplex with
# Devex pricing solves the weighted LP 2-3x faster than HiGHS's default steepest edge, and the
# primal simplex re-solves the lexicographic levels (bounds opened one level at a time) faster
# than the dual.
WEIGHTED_LP_OPTIONS: dict[str, Any] = {
    "simplex_strategy": 1,
    "simplex_dual_edge_weight_strategy": 1,
}
SEQUENCE_OPTIONS: dict[str, Any] = {"simplex_strategy": 4}
# The tier counts: each tier's objective is new, and the interior point method with crossover
# (which ends at a basic, hence integral, solution) beat every simplex variant measured, by 8x
# at 100,000 applicants; the final weighted solve then starts afresh, because the tier solves'
# basis is a poor start for it (26 s warm against 5 s cold at 100,000 applicants).
TIER_OPTIONS: dict[str, Any] = {"solver": "ipm", "run_crossover": "on"}
FINAL_TIER_WARM_START = False
# The second stage is a transportation problem with one row per preference class: HiGHS's
# interior point method with crossover (which ends at a basic, hence integral, solution) was
# twice as fast as its simplex at 30,000 applicants (docs/performance.md, "MIP layer").
SECOND_STAGE_OPTIONS: dict[str, Any] = {"solver": "ipm", "run_crossover": "on"}
# Feasibility and maximum appointments (no per-applicant weights): the interior point method
# with crossover took 3.3 s at 100,000 applicants against 13 s for the dual simplex.
FLOW_OPTIONS: dict[str, Any] = {"solver": "ipm", "run_crossover": "on"}

# progress: a callback progress(done, total) for the sequences (the run layer draws it)
_SOLVE_KEYS = {"time_limit", "mip_gap", "threads", "raise_on_failure", "log", "progress"}


def _split_options(method: str, options: dict[str, Any], extra: set[str]) -> dict[str, Any]:
    unknown = set(options) - _SOLVE_KEYS - extra
    if unknown:
        allowed = ", ".join(sorted(_SOLVE_KEYS | extra))
        raise UsageError(
            f"unknown option(s) {', '.join(sorted(unknown))} for {method}; allowed: {allowed}"
        )
    check_solver_options(options)
    return options


class _Run:
    """Bookkeeping of one method: timings, solves, the last status."""

    def __init__(self, method: str, options: dict[str, Any]) -> None:
        self.method = method
        self.time_limit = options.get("time_limit")
        self.mip_gap = options.get("mip_gap")
        self.threads = options.get("threads")
        self.log = options.get("log")
        self.progress = options.get("progress")
        self.raise_on_failure = bool(options.get("raise_on_failure", True))
        self.build_seconds = 0.0
        self.translate_seconds = 0.0
        self.highs_seconds = 0.0
        self.solves = 0
        self.iterations = 0
        self.last: SolveOutcome | None = None

    def build(self, fn: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        out = fn()
        self.build_seconds += time.perf_counter() - start
        return out

    def compile(self, model: Any, what: str) -> CompiledModel:
        compiled = compile_model(model, what=what)
        self.translate_seconds += compiled.translate_seconds
        return compiled

    def solve(
        self, compiled: CompiledModel, options: dict[str, Any], what: str, warm_start: bool = True
    ) -> SolveOutcome:
        out = compiled.solve(
            time_limit=self.time_limit,
            mip_gap=self.mip_gap,
            threads=self.threads,
            options=options,
            raise_on_failure=False,
            log=self.log,
            what=what,
            warm_start=warm_start,
        )
        self.solves += 1
        self.highs_seconds += out.seconds
        self.iterations += out.iterations or 0
        self.last = out
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


class _Failed(Exception):
    """A solve did not give a proven optimum (carries the outcome and the model's name)."""

    def __init__(self, outcome: SolveOutcome, what: str) -> None:
        self.outcome = outcome
        self.what = what
        super().__init__(what)


def _require_optimal(run: _Run, out: SolveOutcome, what: str) -> None:
    if not out.ok:
        raise _Failed(out, what)


def _failure(run: _Run, n: int, exc: _Failed, **more: Any) -> tuple[np.ndarray, dict[str, Any]]:
    try:
        raise_for_outcome(exc.outcome, what=exc.what, time_limit=run.time_limit)
    except SlotoptError as err:
        if run.raise_on_failure:
            raise
        message = str(err)
    else:  # pragma: no cover - _Failed is only raised for outcomes that are not ok
        message = ""
    return np.full(n, -1, dtype=np.int64), run.info(failed_model=exc.what, message=message, **more)


def _error(run: _Run, n: int, exc: SolverError, **more: Any) -> tuple[np.ndarray, dict[str, Any]]:
    """A solution that cannot be used (fractional, inconsistent): raise, or with the opt-out
    schedule nobody and say why (``status`` "error", ``solution`` "none", ``error`` and
    ``message`` the message)."""
    if run.raise_on_failure:
        raise exc
    info = run.info(**more)
    info.update(status="error", solution="none", error=str(exc), message=str(exc))
    return np.full(n, -1, dtype=np.int64), info


def _fractionality(values: np.ndarray) -> float:
    if len(values) == 0:
        return 0.0
    return float(np.abs(values - np.rint(values)).max())


def _integral(run: _Run, values: np.ndarray, what: str) -> tuple[np.ndarray, float]:
    """Round an LP solution after checking that it is integral (never assume it)."""
    frac = _fractionality(values)
    if frac > INTEGRALITY_TOLERANCE:
        raise SolverError(
            f"the {what} returned a fractional solution (a value {frac:.3g} away from an "
            "integer). Its constraint matrix is a network matrix, so basic optimal solutions "
            "are integral; a fractional one means HiGHS stopped at a non-basic point (e.g. an "
            "interior-point solution without crossover). Re-run with the simplex method"
        )
    return np.rint(values).astype(np.int64), frac


def _ranges(lengths: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(l)`` for every ``l`` in ``lengths``."""
    total = int(lengths.sum())
    starts = np.cumsum(lengths) - lengths
    return np.arange(total, dtype=np.int64) - np.repeat(starts, lengths)


def assign_slots(
    inst: MatchingInstance,
    net: MatchingNetwork,
    served_indptr: np.ndarray,
    served_members: np.ndarray,
    flow: np.ndarray,
) -> np.ndarray:
    """Turn an integral type x group flow into one slot per served applicant.

    Parameters
    ----------
    served_indptr, served_members
        ``served_members[served_indptr[t]:served_indptr[t+1]]`` are type ``t``'s served
        applicants.
    flow : ndarray of shape (P,), int
        :math:`x_{tg}` for every pair of ``net`` (type-major order).

    Members of a type are interchangeable and slots of a group are accepted by the same types,
    so any split is valid: pairs take the type's served members in order, and each group fills
    its slots in order up to their capacities.
    """
    served_count = np.diff(served_indptr)
    per_type = np.bincount(net.pair_type, weights=flow, minlength=net.n_types).astype(np.int64)
    if not np.array_equal(per_type, served_count):
        raise SolverError("the LP flow does not serve each type's counted members")
    per_group = np.bincount(net.pair_group, weights=flow, minlength=net.n_groups)
    if (per_group > net.capacity).any():
        raise SolverError("the LP flow exceeds a slot group's capacity")
    excl = np.cumsum(flow) - flow
    start = served_indptr[net.pair_type] + excl - excl[net.pair_indptr[net.pair_type]]
    by_group = np.argsort(net.pair_group, kind="stable")
    f = flow[by_group]
    member = served_members[np.repeat(start[by_group], f) + _ranges(f)]
    group = np.repeat(net.pair_group[by_group], f)
    within = _ranges(np.bincount(group, minlength=net.n_groups))
    # the seats of every group's slots laid end to end, group after group: the k-th member a
    # group serves takes its k-th seat. Seats are counted, never materialised (a capacity may
    # be 2**40), and no slot needs more seats than there are applicants.
    seats = np.minimum(inst.capacity[net.group_slots], inst.n_applicants)
    ends = np.cumsum(seats)
    group_first_seat = (ends - seats)[net.group_indptr[:-1]]
    slot_of = np.full(inst.n_applicants, -1, dtype=np.int64)
    seat = group_first_seat[group] + within
    slot_of[member] = net.group_slots[np.searchsorted(ends, seat, side="right")]
    return slot_of


# -- feasibility and maximum appointments ----------------------------------------------------


def can_serve(
    inst: MatchingInstance, must_match: np.ndarray, **options: Any
) -> tuple[bool, dict[str, Any]]:
    """Can every applicant in ``must_match`` be served at once? (models/feasibility.md)

    Returns ``(answer, info)``; an infeasible model is the answer "no", not an error. Other
    failures (time limit, HiGHS error) raise :class:`~slotopt.errors.SolverError` unless
    ``raise_on_failure=False``, in which case the answer is False and ``info["status"]`` says
    why.
    """
    _split_options("can_serve", options, set())
    run = _Run("feasibility", options)
    net = run.build(lambda: matching_network(inst))
    model = run.build(lambda: build_feasibility(inst, must_match, net=net))
    what = "feasibility model"
    compiled = run.compile(model, what)
    out = run.solve(compiled, FLOW_OPTIONS, what)
    if out.stop is StopReason.infeasible:
        return False, run.info()
    if not out.ok:
        if run.raise_on_failure:
            raise_for_outcome(out, what=what, time_limit=run.time_limit)
        return False, run.info()
    return True, run.info()


def max_appointments(inst: MatchingInstance, **options: Any) -> tuple[int, dict[str, Any]]:
    """The largest number of applicants any schedule serves (models/max_appointments.md).

    Returns ``(count, info)``; raises like :func:`weighted_lp_matching` (``count`` is -1 with
    ``raise_on_failure=False`` when HiGHS did not prove an optimum).
    """
    _split_options("max_appointments", options, set())
    run = _Run("max-appointments", options)
    net = run.build(lambda: matching_network(inst))
    model = run.build(lambda: build_max_appointments(inst, net=net))
    what = "max-appointments model"
    compiled = run.compile(model, what)
    out = run.solve(compiled, FLOW_OPTIONS, what)
    if not out.ok:
        if run.raise_on_failure:
            raise_for_outcome(out, what=what, time_limit=run.time_limit)
        return -1, run.info()
    value = float(out.objective or 0.0)
    if abs(value - round(value)) > INTEGRALITY_TOLERANCE:
        raise SolverError(f"the {what} has a fractional optimum {value:.6g}")
    return int(round(value)), run.info(objective=out.objective)


# -- the weighted LP -----------------------------------------------------------------------------


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
        position``), ``time_limit``, ``mip_gap``, ``threads``, ``raise_on_failure``, ``log``.

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
    _split_options("method lp", options, {"weights"})
    run = _Run("lp", options)
    net = run.build(lambda: matching_network(inst))
    model = run.build(lambda: build_weighted_lp(inst, order, options.get("weights"), net=net))
    what = "weighted LP"
    compiled = run.compile(model, what)
    try:
        out = run.solve(compiled, WEIGHTED_LP_OPTIONS, what)
        _require_optimal(run, out, what)
        take_cols = compiled.column_index(list(model.take.values()))
        assign_cols = compiled.column_index(list(model.assign.values()))
        values = compiled.values()
        take, frac_y = _integral(run, values[take_cols], what)
        flow, frac_x = _integral(run, values[assign_cols], what)
        served = model.segment_applicant[take == 1]
        slot_of = _extract_by_type(inst, net, served, flow)
    except _Failed as exc:
        return _failure(run, inst.n_applicants, exc)
    except SolverError as exc:
        return _error(run, inst.n_applicants, exc)
    return slot_of, run.info(
        objective=out.objective,
        max_fractionality=max(frac_y, frac_x),
        n_types=net.n_types,
        n_slot_groups=net.n_groups,
        n_columns=compiled.n_columns,
        n_rows=compiled.n_rows,
    )


def _extract_by_type(
    inst: MatchingInstance, net: MatchingNetwork, served: np.ndarray, flow: np.ndarray
) -> np.ndarray:
    type_of = net.types.type_of[served]
    by_type = np.argsort(type_of, kind="stable")
    indptr = np.zeros(net.n_types + 1, dtype=np.int64)
    np.cumsum(np.bincount(type_of, minlength=net.n_types), out=indptr[1:])
    return assign_slots(inst, net, indptr, served[by_type], flow)


# -- the lexicographic sequence ------------------------------------------------------------------


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
        inside the tiers by lottery order); ``time_limit`` (per solve), ``mip_gap``,
        ``threads``, ``raise_on_failure``, ``log``.

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
    _split_options("method lexicographic", options, {"levels"})
    levels: Levels = options.get("levels", "positions")
    if levels not in ("positions", "tiers"):
        raise UsageError(f"levels must be 'positions' or 'tiers', got {levels!r}")
    run = _Run("lexicographic", options)
    net = run.build(lambda: matching_network(inst))
    model = run.build(lambda: build_lexicographic(inst, order, levels, net=net))
    compiled = run.compile(model, f"lexicographic ({levels}) model")
    try:
        if levels == "positions":
            slot_of, more = _positions(inst, order, net, model, compiled, run)
        else:
            slot_of, more = _tiers(inst, net, model, compiled, run)
    except _Failed as exc:
        return _failure(run, inst.n_applicants, exc, levels=levels)
    except SolverError as exc:
        return _error(run, inst.n_applicants, exc, levels=levels)
    return slot_of, run.info(levels=levels, n_types=net.n_types, n_slot_groups=net.n_groups, **more)


def _positions(
    inst: MatchingInstance,
    order: np.ndarray,
    net: MatchingNetwork,
    model: Any,
    compiled: CompiledModel,
    run: _Run,
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
        out = run.solve(compiled, SEQUENCE_OPTIONS, what)
        _require_optimal(run, out, what)
        compiled.set_bounds(served_cols[types], base, base)
        z = float(out.objective or 0.0) - state["committed_total"]
        if abs(z - round(z)) > INTEGRALITY_TOLERANCE:
            raise SolverError(f"the {what} has a fractional optimum {z:.6g}")
        return int(round(z))

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
    out = run.solve(compiled, SEQUENCE_OPTIONS, what)
    _require_optimal(run, out, what)
    assign_cols = compiled.column_index(list(model.assign.values()))
    flow, frac = _integral(run, compiled.values(assign_cols), what)
    indptr, members = members_by_type(net.types, order)
    # a type's committed members are its first r_t in priority order (it commits until it dies)
    served = members[indptr[:-1].repeat(committed) + _ranges(committed)]
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
    run: _Run,
) -> tuple[np.ndarray, dict[str, Any]]:
    counts: dict[str, int] = {}
    n_tiers = len(model.tiers)
    for j, tier in enumerate(model.tiers):
        run.step(j, n_tiers + 1)
        objective = model.tier_matched[tier]
        compiled.set_objective(objective)
        what = f"lexicographic tier {tier} model"
        out = run.solve(compiled, TIER_OPTIONS, what)
        _require_optimal(run, out, what)
        z = float(out.objective or 0.0)
        if abs(z - round(z)) > INTEGRALITY_TOLERANCE:
            raise SolverError(f"the {what} has a fractional optimum {z:.6g}")
        counts[str(tier)] = int(round(z))
        col = compiled.column_index([model.tier_count[tier]])
        compiled.set_bounds(col, float(round(z)), np.inf)
    compiled.set_objective(model.priority_weight)
    what = "lexicographic final weighted model (tier counts fixed)"
    out = run.solve(compiled, WEIGHTED_LP_OPTIONS, what, warm_start=FINAL_TIER_WARM_START)
    _require_optimal(run, out, what)
    values = compiled.values()
    take, frac_y = _integral(run, values[compiled.column_index(list(model.take.values()))], what)
    flow, frac_x = _integral(run, values[compiled.column_index(list(model.assign.values()))], what)
    served = model.segment_applicant[take == 1]
    slot_of = _extract_by_type(inst, net, served, flow)
    return slot_of, {
        "objective": out.objective,
        "max_fractionality": max(frac_x, frac_y),
        "tier_counts": counts,
    }


# -- the second stage ------------------------------------------------------------------------------


def min_rank_assignment(
    inst: MatchingInstance, matched_mask: np.ndarray, **options: Any
) -> tuple[np.ndarray, dict[str, Any]]:
    """Keep the matched set; give each matched applicant a slot so the total rank is least.

    Parameters
    ----------
    matched_mask : ndarray of shape (A,), bool
        The matched set, kept exactly.
    **options
        ``time_limit``, ``mip_gap``, ``threads``, ``raise_on_failure``, ``log``.

    Returns
    -------
    slot_of, info
        ``info["objective"]`` is the total rank (unranked pairs rank after the applicant's
        ranked ones; all equal when none is ranked: :func:`effective_rank`).

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
    _split_options(f"second stage {name}", options, set())
    run = _Run(name, options)
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
                step_options = SECOND_STAGE_OPTIONS if j == 0 else SEQUENCE_OPTIONS
                out = run.solve(compiled, step_options, step)
                _require_optimal(run, out, step)
                z = float(out.objective or 0.0)
                if abs(z - round(z)) > INTEGRALITY_TOLERANCE:
                    raise SolverError(f"the {step} has a fractional optimum {z:.6g}")
                counts[str(r)] = int(round(z))
                compiled.set_bounds(compiled.column_index([model.rank_count[r]]), round(z), np.inf)
                if sum(counts.values()) == int(pc.size.sum()):
                    break  # everyone is placed: every later rank's maximum is 0
            compiled.set_objective(model.total_rank)
        out = run.solve(compiled, SEQUENCE_OPTIONS if rank_maximal else SECOND_STAGE_OPTIONS, what)
        _require_optimal(run, out, what)
        flow, frac = _integral(
            run, compiled.values(compiled.column_index(list(model.assign.values()))), what
        )
    except _Failed as exc:
        return _failure(run, inst.n_applicants, exc)
    except SolverError as exc:
        return _error(run, inst.n_applicants, exc)
    members = np.flatnonzero(mask)
    by_class = members[np.argsort(pc.class_of[members], kind="stable")]
    excl = np.cumsum(flow) - flow
    start = (
        np.concatenate([[0], np.cumsum(pc.size)])[pc.pair_class]
        + excl
        - excl[pc.pair_indptr[pc.pair_class]]
    )
    slot_of = np.full(inst.n_applicants, -1, dtype=np.int64)
    slot_of[by_class[np.repeat(start, flow) + _ranges(flow)]] = np.repeat(pc.pair_slot, flow)
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
