"""Pyomo models of the matching problem, built over applicant types and slot groups.

Each builder takes a validated :class:`~slotopt.instance.matching.MatchingInstance` and returns a
``pyo.ConcreteModel``; nothing here reads files or solves (that is
:mod:`slotopt.formulations.matching` through :mod:`slotopt.formulations.solver`). The
mathematical statement of each model is in ``models/<name>.md`` with the same symbols:

* :func:`build_feasibility` (``models/feasibility.md``): can every applicant of a set be served?
* :func:`build_max_appointments` (``models/max_appointments.md``): serve as many as possible;
  with bounds on :math:`m_t` it is also the level model of the lexicographic sequence;
* :func:`build_weighted_lp` (``models/weighted_lp.md``): one LP whose weights strictly decrease
  in priority position;
* :func:`build_lexicographic` (``models/lexicographic.md``): the models the sequential solves
  change (levels = positions, or priority tiers followed by the weighted objective);
* :func:`build_second_stage` (``models/second_stage.md``): matched set fixed, best slots by rank.

Why types and slot groups. Applicants with the same acceptable set are interchangeable for
feasibility, so the first-stage models count how many of each *type* ``t`` are served in each
*slot group* ``g``; a slot group is a set of slots accepted by exactly the same types (the
15-minute slots of one availability block, typically), so a flow into a group can be split over
its slots in any way that respects their capacities. Model size follows the number of distinct
acceptable sets and availability blocks, not the number of applicants or slots: the generated
100,000-applicant week (about 900,000 acceptable pairs) becomes 26,557 types x 770 groups with
102,521 (type, group) pairs. Only the weighted LP needs one variable per applicant (its segment
variables, capped by what the type's slots could ever hold), because there each applicant has
its own weight. The types, groups, segments and preference classes are computed in
:mod:`slotopt.engines.matching.structure`; this module only states the models over them.

Construction avoids per-term operator overloading: every row is a ``LinearExpression`` built
from a list of variables (unit coefficients need no ``MonomialTermExpression``), so building the
100k-applicant weighted LP takes about a second (docs/performance.md, "MIP layer").

References
----------
N. Arnosti (2021), "A Better Way to Schedule Vaccinations", Algorithm 1, Definitions 1-3.
A. J. Hoffman and J. B. Kruskal (1956), "Integral boundary points of convex polyhedra".
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression

from slotopt.engines.matching.structure import (
    MatchingNetwork,
    PreferenceClasses,
    by_key,
    matching_network,
    preference_classes,
    segments,
)
from slotopt.instance.matching import MatchingInstance

__all__ = [
    "Levels",
    "build_feasibility",
    "build_lexicographic",
    "build_max_appointments",
    "build_second_stage",
    "build_weighted_lp",
    "default_weights",
]

Levels = Literal["positions", "tiers"]


# -- the weights of the weighted LP -----------------------------------------------------------


def default_weights(order: np.ndarray) -> np.ndarray:
    """:math:`w_a = |A| + 1 - \\pi(a)`: the applicant at position 1 weighs ``|A|``, the last 1.

    Returns an array of shape (A,) in instance order. Integers keep the LP's costs exact; any
    strictly decreasing positive weights give the same optimum (docs/mip.md).
    """
    n = len(order)
    weights = np.empty(n, dtype=np.float64)
    weights[order] = np.arange(n, 0, -1, dtype=np.float64)
    return weights


def _check_weights(weights: Any, order: np.ndarray) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != order.shape:
        raise ValueError(f"weights must have one entry per applicant ({len(order)}), got {w.shape}")
    in_order = w[order]
    if not np.isfinite(in_order).all() or (in_order <= 0).any():
        raise ValueError("weights must be finite and positive")
    if (np.diff(in_order) >= 0).any():
        k = int(np.flatnonzero(np.diff(in_order) >= 0)[0])
        raise ValueError(
            f"weights must strictly decrease in priority position; positions {k + 1} and "
            f"{k + 2} have {in_order[k]:g} and {in_order[k + 1]:g}"
        )
    return w


def _total(variables: list[Any]) -> LinearExpression:
    """The sum of variables as one ``LinearExpression`` (no per-term operator overloading)."""
    return LinearExpression(args=variables)


def _slices(values: list[Any], indptr: np.ndarray) -> list[list[Any]]:
    bounds = indptr.tolist()
    return [values[bounds[i] : bounds[i + 1]] for i in range(len(bounds) - 1)]


# -- the flow part every first-stage model shares ---------------------------------------------


def _add_flow(m: pyo.ConcreteModel, net: MatchingNetwork, pair_mask: np.ndarray | None) -> None:
    """Sets ``types``, ``slot_groups``, ``pairs``, the variable ``assign`` and the constraint
    ``slot_capacity``; ``pair_mask`` keeps only some (type, group) pairs."""
    pt, pg = net.pair_type, net.pair_group
    if pair_mask is not None:
        pt, pg = pt[pair_mask], pg[pair_mask]
    m.types = pyo.RangeSet(0, net.n_types - 1, doc="applicant types t (same acceptable set)")
    m.slot_groups = pyo.RangeSet(
        0, net.n_groups - 1, doc="slot groups g (slots accepted by exactly the same types)"
    )
    m.pairs = pyo.Set(
        dimen=2,
        ordered=True,
        initialize=list(zip(pt.tolist(), pg.tolist(), strict=True)),
        doc="(t, g) with g in G_t: type t accepts the slots of group g",
    )
    m.capacity = pyo.Param(
        m.slot_groups,
        initialize=dict(enumerate(net.capacity.tolist())),
        within=pyo.NonNegativeIntegers,
        doc="d_g: appointments in slot group g",
    )
    m.assign = pyo.Var(
        m.pairs, domain=pyo.NonNegativeReals, doc="x_tg: applicants of type t served in group g"
    )
    assign = list(m.assign.values())
    by_group, group_ptr = by_key(pg, net.n_groups)
    in_group = _slices([assign[i] for i in by_group.tolist()], group_ptr)
    _, type_ptr = by_key(pt, net.n_types)  # pairs are sorted by type already
    # kept on the model so rules of the builders can read a type's x_tg without a search
    m._assign_of_type = _slices(assign, type_ptr)

    @m.Constraint(m.slot_groups, doc="A slot group serves at most its capacity d_g")
    def slot_capacity(m: pyo.ConcreteModel, g: int) -> Any:
        if not in_group[g]:
            return pyo.Constraint.Skip
        return _total(in_group[g]) <= m.capacity[g]


def _new_model(inst: MatchingInstance, name: str) -> pyo.ConcreteModel:
    return pyo.ConcreteModel(name=f"{name}[{inst.name}]")


# -- builders ----------------------------------------------------------------------------------


def build_feasibility(
    inst: MatchingInstance, must_match: np.ndarray, *, net: MatchingNetwork | None = None
) -> pyo.ConcreteModel:
    """Can every applicant in ``must_match`` be served at once? (models/feasibility.md)

    Parameters
    ----------
    inst
        A validated matching instance.
    must_match : ndarray of shape (A,), bool
        The set :math:`F` of applicants that must be served.
    net
        The instance's :func:`matching_network`, when the caller already has it.

    Returns
    -------
    ConcreteModel
        Variables ``assign[t, g]`` (:math:`x_{tg}`) over the types with members in :math:`F`;
        constraints ``serve_required[t]`` (:math:`\\sum_g x_{tg} = f_t`) and
        ``slot_capacity[g]``; a zero objective. Feasible iff the set can be served.
    """
    net = net if net is not None else matching_network(inst)
    mask = np.asarray(must_match, dtype=bool)
    if mask.shape != (inst.n_applicants,):
        raise ValueError(
            f"must_match must be a boolean mask over the {inst.n_applicants} applicants"
        )
    required = np.bincount(net.types.type_of[mask], minlength=net.n_types)
    m = _new_model(inst, "feasibility")
    _add_flow(m, net, required[net.pair_type] > 0)
    m.required = pyo.Param(
        m.types,
        initialize=dict(enumerate(required.tolist())),
        within=pyo.NonNegativeIntegers,
        doc="f_t: members of type t in the required set F",
    )
    assign_of = m._assign_of_type

    @m.Constraint(m.types, doc="Every required applicant is served")
    def serve_required(m: pyo.ConcreteModel, t: int) -> Any:
        if m.required[t] == 0:
            return pyo.Constraint.Skip
        return _total(assign_of[t]) == m.required[t]

    m.no_objective = pyo.Objective(expr=0.0, doc="a feasibility question: nothing to optimise")
    return m


def build_max_appointments(
    inst: MatchingInstance, *, net: MatchingNetwork | None = None
) -> pyo.ConcreteModel:
    """Serve as many applicants as possible (models/max_appointments.md).

    Returns
    -------
    ConcreteModel
        ``assign[t, g]`` (:math:`x_{tg}`), ``served[t]`` (:math:`m_t \\in [0, n_t]`), constraints
        ``type_served[t]`` (:math:`\\sum_g x_{tg} = m_t`) and ``slot_capacity[g]``; objective
        ``appointments`` = :math:`\\max \\sum_t m_t`. The lexicographic sequence with levels =
        positions solves this same model with changed bounds on :math:`m_t`.
    """
    net = net if net is not None else matching_network(inst)
    m = _new_model(inst, "max_appointments")
    _add_flow(m, net, None)
    size = net.types.size.tolist()
    m.served = pyo.Var(
        m.types,
        domain=pyo.NonNegativeReals,
        bounds=lambda m, t: (0, size[t]),
        doc="m_t: applicants of type t served",
    )
    assign_of = m._assign_of_type

    @m.Constraint(m.types, doc="A type's served count is what its groups serve")
    def type_served(m: pyo.ConcreteModel, t: int) -> Any:
        return _total(assign_of[t]) == m.served[t]

    m.appointments = pyo.Objective(
        expr=_total(list(m.served.values())),
        sense=pyo.maximize,
        doc="the number of applicants served",
    )
    return m


def build_weighted_lp(
    inst: MatchingInstance,
    order: np.ndarray,
    weights: Any = None,
    *,
    net: MatchingNetwork | None = None,
) -> pyo.ConcreteModel:
    """One LP whose optimum serves exactly Algorithm 1's applicants (models/weighted_lp.md).

    Parameters
    ----------
    order : ndarray of shape (A,)
        Applicant indices in final priority order (position 1 first).
    weights : array of shape (A,), optional
        :math:`w_a` in instance order, positive and strictly decreasing in position; default
        :func:`default_weights`.

    Returns
    -------
    ConcreteModel
        ``assign[t, g]``, the segment variables ``take[t, k]`` (:math:`y_{tk} \\in [0, 1]`: the
        ``k``-th member of type ``t`` in priority order is served; ``k`` up to
        :math:`\\min(n_t, c_t)`), constraints
        ``type_link[t]`` (:math:`\\sum_g x_{tg} = \\sum_k y_{tk}`) and ``slot_capacity[g]``;
        objective ``priority_weight`` = :math:`\\max \\sum_{t,k} w_{tk} y_{tk}`. The weights
        :math:`w_{tk}` are the objective's coefficients; the model also carries
        ``segment_applicant`` and ``segment_weight`` (ndarrays in the order of ``m.segments``:
        the applicant of each segment and its weight) for extraction.

    Raises
    ------
    ValueError
        ``weights`` are not positive and strictly decreasing in position.
    """
    net = net if net is not None else matching_network(inst)
    order = np.asarray(order, dtype=np.int64)
    w = default_weights(order) if weights is None else _check_weights(weights, order)
    m = _new_model(inst, "weighted_lp")
    _add_flow(m, net, None)
    _add_segments(m, net, order, w)
    m.priority_weight = pyo.Objective(
        expr=LinearExpression(
            linear_coefs=m.segment_weight.tolist(), linear_vars=list(m.take.values())
        ),
        sense=pyo.maximize,
        doc="total weight of the served applicants",
    )
    return m


def _add_segments(
    m: pyo.ConcreteModel, net: MatchingNetwork, order: np.ndarray, w: np.ndarray
) -> None:
    """Segments ``take[t, k]`` with weights, linked to the flow by ``type_link[t]``."""
    seg = segments(net, order)  # segments beyond c_t would always be 0: they are left out
    m.segments = pyo.Set(
        dimen=2,
        ordered=True,
        initialize=list(zip(seg.type.tolist(), seg.k.tolist(), strict=True)),
        doc="(t, k): the k-th member of type t in priority order, k <= min(n_t, c_t)",
    )
    m.take = pyo.Var(m.segments, bounds=(0, 1), doc="y_tk: the k-th member of type t is served")
    takes = _slices(list(m.take.values()), seg.indptr)
    assign_of = m._assign_of_type

    @m.Constraint(m.types, doc="A type serves as many as its segments say")
    def type_link(m: pyo.ConcreteModel, t: int) -> Any:
        if not takes[t]:
            return pyo.Constraint.Skip
        return _total(assign_of[t]) == _total(takes[t])

    m.segment_applicant = seg.applicant
    m.segment_weight = w[seg.applicant]


def build_lexicographic(
    inst: MatchingInstance,
    order: np.ndarray,
    levels: Levels = "positions",
    *,
    net: MatchingNetwork | None = None,
) -> pyo.ConcreteModel:
    """The model the lexicographic sequence re-solves (models/lexicographic.md).

    * ``levels="positions"``: :func:`build_max_appointments`; level ``k`` (the applicant at
      position ``k``, of type ``t``) opens the bound of :math:`m_t` by one, maximises, and
      fixes the result, so only column bounds change between solves.
    * ``levels="tiers"``: :func:`build_weighted_lp` plus ``tier_count[l]``
      (:math:`z_\\ell = \\sum_{(t,k) \\in \\ell} y_{tk}`, linked by ``tier_link[l]``) and one
      deactivated objective ``tier_matched[l]`` (:math:`\\max z_\\ell`) per priority tier,
      solved in tier order with each optimum fixed as a lower bound on :math:`z_\\ell`; the
      final solve is ``priority_weight`` (the lottery order inside the tiers).
    """
    if levels == "positions":
        return build_max_appointments(inst, net=net)
    if levels != "tiers":
        raise ValueError(f"levels must be 'positions' or 'tiers', got {levels!r}")
    m = build_weighted_lp(inst, order, net=net)
    tier_values = np.unique(inst.priority)
    seg_tier = np.searchsorted(tier_values, inst.priority[m.segment_applicant])
    takes = list(m.take.values())
    in_tier: list[list[Any]] = [[] for _ in tier_values]
    for j, tier in enumerate(seg_tier.tolist()):
        in_tier[tier].append(takes[j])
    m.tiers = pyo.Set(
        initialize=tier_values.tolist(), ordered=True, doc="priority tiers l (1 served first)"
    )
    index_of = {int(v): i for i, v in enumerate(tier_values.tolist())}
    m.tier_count = pyo.Var(m.tiers, domain=pyo.NonNegativeReals, doc="z_l: served in tier l")

    @m.Constraint(m.tiers, doc="z_l counts the served segments of tier l")
    def tier_link(m: pyo.ConcreteModel, tier: int) -> Any:
        return m.tier_count[tier] == _total(in_tier[index_of[tier]])

    @m.Objective(m.tiers, sense=pyo.maximize, doc="serve as many of tier l as possible")
    def tier_matched(m: pyo.ConcreteModel, tier: int) -> Any:
        return m.tier_count[tier]

    m.tier_matched.deactivate()
    return m


# -- the second stage --------------------------------------------------------------------------


def build_second_stage(
    inst: MatchingInstance,
    matched: np.ndarray,
    *,
    rank_maximal: bool = False,
    classes: PreferenceClasses | None = None,
) -> pyo.ConcreteModel:
    """With the matched set fixed, choose each matched applicant's slot (models/second_stage.md).

    Parameters
    ----------
    matched : ndarray of shape (A,), bool
        The matched set :math:`M`; it is kept exactly.
    rank_maximal
        Also add ``rank_count[r]`` (:math:`h_r`, assignments at rank ``r``), ``rank_link[r]``
        and one deactivated objective ``rank_matched[r]`` per rank, for the rank-maximal
        sequence (maximise :math:`h_1`, fix it, then :math:`h_2`, ...).

    Returns
    -------
    ConcreteModel
        ``assign[p, s]`` (:math:`x_{ps}`: members of preference class ``p`` in slot ``s``),
        constraints ``serve_matched[p]`` (:math:`\\sum_s x_{ps} = n_p`) and
        ``slot_capacity[s]``; objective ``total_rank`` = :math:`\\min \\sum r_{ps} x_{ps}`
        (the ranks :math:`r_{ps}` are its coefficients). The model carries ``classes_data``
        (the :class:`PreferenceClasses`) for extraction.
    """
    pc = classes if classes is not None else preference_classes(inst, matched)
    m = pyo.ConcreteModel(name=f"second_stage[{inst.name}]")
    m.classes = pyo.RangeSet(
        0, pc.n_classes - 1, doc="preference classes p (same acceptable slots and ranks)"
    )
    used = np.unique(pc.pair_slot)
    m.slots = pyo.Set(initialize=used.tolist(), ordered=True, doc="slots s some class accepts")
    m.pairs = pyo.Set(
        dimen=2,
        ordered=True,
        initialize=list(zip(pc.pair_class.tolist(), pc.pair_slot.tolist(), strict=True)),
        doc="(p, s): class p accepts slot s",
    )
    m.members = pyo.Param(
        m.classes,
        initialize=dict(enumerate(pc.size.tolist())),
        within=pyo.NonNegativeIntegers,
        doc="n_p: matched applicants in class p",
    )
    m.capacity = pyo.Param(
        m.slots,
        # no slot holds more than all applicants (equivalent; unchanged for capacities <= |A|)
        initialize={s: min(int(inst.capacity[s]), inst.n_applicants) for s in used.tolist()},
        within=pyo.NonNegativeIntegers,
        doc="d_s: appointments in slot s",
    )
    m.assign = pyo.Var(m.pairs, domain=pyo.NonNegativeReals, doc="x_ps: class p in slot s")
    assign = list(m.assign.values())
    of_class = _slices(assign, pc.pair_indptr)
    by_slot, slot_ptr = by_key(np.searchsorted(used, pc.pair_slot), len(used))
    slot_pos = {s: i for i, s in enumerate(used.tolist())}
    in_slot = _slices([assign[i] for i in by_slot.tolist()], slot_ptr)

    @m.Constraint(m.classes, doc="Every matched applicant keeps an appointment")
    def serve_matched(m: pyo.ConcreteModel, p: int) -> Any:
        return _total(of_class[p]) == m.members[p]

    @m.Constraint(m.slots, doc="A slot serves at most its capacity d_s")
    def slot_capacity(m: pyo.ConcreteModel, s: int) -> Any:
        return _total(in_slot[slot_pos[s]]) <= m.capacity[s]

    m.total_rank = pyo.Objective(
        expr=LinearExpression(linear_coefs=pc.pair_rank.tolist(), linear_vars=assign),
        sense=pyo.minimize,
        doc="the sum of the ranks of the assigned slots",
    )
    if rank_maximal:
        ranks = np.unique(pc.pair_rank)
        m.ranks = pyo.Set(initialize=ranks.tolist(), ordered=True, doc="ranks r in use")
        at_rank: dict[int, list[Any]] = {int(r): [] for r in ranks.tolist()}
        for j, r in enumerate(pc.pair_rank.tolist()):
            at_rank[r].append(assign[j])
        m.rank_count = pyo.Var(m.ranks, domain=pyo.NonNegativeReals, doc="h_r: served at rank r")

        @m.Constraint(m.ranks, doc="h_r counts the assignments at rank r")
        def rank_link(m: pyo.ConcreteModel, r: int) -> Any:
            return m.rank_count[r] == _total(at_rank[r])

        @m.Objective(m.ranks, sense=pyo.maximize, doc="as many assignments at rank r as possible")
        def rank_matched(m: pyo.ConcreteModel, r: int) -> Any:
            return m.rank_count[r]

        m.rank_matched.deactivate()
    m.classes_data = pc
    return m
