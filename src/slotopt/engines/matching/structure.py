"""The matching problem's pure structure: the types x slot-groups network, members by type, the
effective-rank rule and preference classes.

These are the data the Pyomo models of :mod:`slotopt.formulations.matching_models` are built from,
and the rank rule every layer that reports a rank uses (the second stage, the cross-validation
harness, the result object), so each exists once, here, in numpy and without a solver.

* :func:`matching_network`: applicants with the same acceptable set are one *type* ``t``; slots
  accepted by exactly the same types are one *slot group* ``g`` (the 15-minute slots of one
  availability block, typically), so a flow into a group can be split over its slots in any way
  that respects their capacities (models/max_appointments.md).
* :func:`members_by_type`: a type's members in priority order (the segments of
  models/weighted_lp.md).
* :func:`effective_rank` and :func:`total_rank`: a given rank stands; an unranked pair ranks just
  after the applicant's worst given rank (models/second_stage.md).
* :func:`preference_classes`: matched applicants with the same acceptable slots *and* ranks (the
  classes of the second stage).

References
----------
N. Arnosti (2021), "A Better Way to Schedule Vaccinations", Algorithm 1, Definitions 1-3.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from slotopt.instance.matching import ApplicantTypes, MatchingInstance

__all__ = [
    "MatchingNetwork",
    "PreferenceClasses",
    "Segments",
    "by_key",
    "effective_rank",
    "matching_network",
    "members_by_type",
    "preference_classes",
    "segments",
    "total_rank",
]


def by_key(keys: np.ndarray, n_keys: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions grouped by key, as CSR: ``order[indptr[k]:indptr[k+1]]`` have key ``k``.

    Parameters
    ----------
    keys : ndarray of shape (P,)
        Integer keys in ``0 .. n_keys - 1``.

    Returns
    -------
    order : ndarray of shape (P,)
        Positions sorted by key, stable (equal keys keep their order).
    indptr : ndarray of shape (n_keys + 1,)
    """
    order = np.argsort(keys, kind="stable")
    indptr = np.zeros(n_keys + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys, minlength=n_keys), out=indptr[1:])
    return order, indptr


# -- applicant types x slot groups ------------------------------------------------------------


@dataclass(frozen=True)
class MatchingNetwork:
    """An instance seen as applicant types x slot groups.

    Attributes
    ----------
    types : ApplicantTypes
        ``inst.types``: ``T`` types, ``size[t]`` = :math:`n_t` members.
    group_of : ndarray of shape (S,)
        The slot group of each slot; -1 for slots no applicant accepts or with capacity 0 (they
        can serve nobody and are left out of the models).
    group_indptr, group_slots : ndarray of shapes (G+1,), (S_used,)
        ``group_slots[group_indptr[g]:group_indptr[g+1]]`` are the slots of group ``g``.
    capacity : ndarray of shape (G,)
        :math:`d_g`, the summed capacity of the group's slots.
    pair_type, pair_group : ndarray of shape (P,)
        The (type, group) pairs :math:`(t, g)`, ``g`` in :math:`G_t`, sorted by type then group.
    pair_indptr : ndarray of shape (T+1,)
        Pairs of type ``t`` are ``pair_indptr[t]:pair_indptr[t+1]``.
    reach : ndarray of shape (T,)
        :math:`c_t = \\sum_{g \\in G_t} d_g`: no more than this many of type ``t`` can be served.
    """

    types: ApplicantTypes
    group_of: np.ndarray
    group_indptr: np.ndarray
    group_slots: np.ndarray
    capacity: np.ndarray
    pair_type: np.ndarray
    pair_group: np.ndarray
    pair_indptr: np.ndarray
    reach: np.ndarray

    @property
    def n_types(self) -> int:
        return self.types.n_types

    @property
    def n_groups(self) -> int:
        return len(self.capacity)

    @property
    def n_pairs(self) -> int:
        return len(self.pair_type)

    def pairs(self) -> list[tuple[int, int]]:
        return list(zip(self.pair_type.tolist(), self.pair_group.tolist(), strict=True))


def matching_network(inst: MatchingInstance) -> MatchingNetwork:
    """Group the instance's applicants into types and its slots into slot groups.

    Two slots are in one group when exactly the same types accept them; slots with capacity 0
    or accepted by nobody are dropped. Groups are numbered by their first slot, so the result
    depends only on the instance.
    """
    types = inst.types
    n_slots = inst.n_slots
    owner = np.repeat(np.arange(types.n_types, dtype=np.int64), np.diff(types.indptr))
    slot = types.slots
    by_slot = np.lexsort((owner, slot))
    slot_sorted, owner_sorted = slot[by_slot], owner[by_slot]
    bounds = np.searchsorted(slot_sorted, np.arange(n_slots + 1))
    group_of = np.full(n_slots, -1, dtype=np.int64)
    keys: dict[bytes, int] = {}
    for s in range(n_slots):
        lo, hi = bounds[s], bounds[s + 1]
        if lo == hi or inst.capacity[s] <= 0:
            continue
        key = owner_sorted[lo:hi].tobytes()
        g = keys.get(key)
        if g is None:
            g = keys[key] = len(keys)
        group_of[s] = g
    n_groups = len(keys)
    used = np.flatnonzero(group_of >= 0)
    order = np.argsort(group_of[used], kind="stable")
    group_slots = used[order]
    group_indptr = np.zeros(n_groups + 1, dtype=np.int64)
    np.cumsum(np.bincount(group_of[used], minlength=n_groups), out=group_indptr[1:])
    # No slot serves more than all applicants, so larger capacities are clipped there: an
    # equivalent model (unchanged for every capacity <= |A|) whose sums stay exact for any
    # capacity the loader accepts (up to 2**62)
    seats = np.minimum(inst.capacity[used], inst.n_applicants)
    capacity = np.bincount(group_of[used], weights=seats, minlength=n_groups).astype(np.int64)

    pair_group_all = group_of[slot]
    keep = pair_group_all >= 0
    code = np.unique(owner[keep] * max(n_groups, 1) + pair_group_all[keep])
    pair_type = code // max(n_groups, 1)
    pair_group = code % max(n_groups, 1)
    pair_indptr = np.zeros(types.n_types + 1, dtype=np.int64)
    np.cumsum(np.bincount(pair_type, minlength=types.n_types), out=pair_indptr[1:])
    reach = np.bincount(pair_type, weights=capacity[pair_group], minlength=types.n_types)
    return MatchingNetwork(
        types=types,
        group_of=group_of,
        group_indptr=group_indptr,
        group_slots=group_slots,
        capacity=capacity,
        pair_type=pair_type.astype(np.int64),
        pair_group=pair_group.astype(np.int64),
        pair_indptr=pair_indptr,
        reach=reach.astype(np.int64),
    )


def members_by_type(types: ApplicantTypes, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Members of each type in priority order.

    Returns
    -------
    indptr : ndarray of shape (T+1,)
    members : ndarray of shape (A,)
        ``members[indptr[t]:indptr[t+1]]`` are type ``t``'s applicants, first position first.
    """
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))
    members = np.lexsort((position, types.type_of)).astype(np.int64)
    indptr = np.zeros(types.n_types + 1, dtype=np.int64)
    np.cumsum(types.size, out=indptr[1:])
    return indptr, members


@dataclass(frozen=True)
class Segments:
    """The members of each type that could ever be served, in priority order.

    Segment ``(t, k)`` is the ``k``-th member of type ``t`` (``k = 1`` first in priority);
    ``k <= min(n_t, c_t)``, since beyond what the type's groups can hold (:math:`c_t`) nobody of
    the type is served.

    Attributes
    ----------
    type : ndarray of shape (K,)
        ``t`` of each segment, sorted.
    k : ndarray of shape (K,)
        ``k`` of each segment, 1-based.
    indptr : ndarray of shape (T+1,)
        Segments of type ``t`` are ``indptr[t]:indptr[t+1]``.
    applicant : ndarray of shape (K,)
        The applicant of each segment.
    """

    type: np.ndarray
    k: np.ndarray
    indptr: np.ndarray
    applicant: np.ndarray


def segments(net: MatchingNetwork, order: np.ndarray) -> Segments:
    """The segments of the weighted LP (models/weighted_lp.md) for priority order ``order``."""
    indptr, members = members_by_type(net.types, order)
    count = np.minimum(net.types.size, net.reach)
    seg_type = np.repeat(np.arange(net.n_types, dtype=np.int64), count)
    seg_ptr = np.zeros(net.n_types + 1, dtype=np.int64)
    np.cumsum(count, out=seg_ptr[1:])
    seg_k = np.arange(len(seg_type), dtype=np.int64) - seg_ptr[seg_type]
    return Segments(
        type=seg_type, k=seg_k + 1, indptr=seg_ptr, applicant=members[indptr[seg_type] + seg_k]
    )


# -- the effective-rank rule -------------------------------------------------------------------


def effective_rank(inst: MatchingInstance) -> np.ndarray:
    """The rank of every acceptable pair, shape (P,) aligned with ``inst.acc_slot``.

    A given rank stands; an unranked pair ranks just after the applicant's worst given rank, so
    an applicant who ranked nothing has all slots at rank 1 (all equal), and one who ranked some
    prefers those. :func:`total_rank` counts an assignment's ranks by this rule.
    """
    rank = inst.acc_rank
    owner = np.repeat(np.arange(inst.n_applicants), np.diff(inst.acc_indptr))
    return np.where(rank > 0, rank, _worst_given_rank(inst)[owner] + 1).astype(np.int64)


def _worst_given_rank(inst: MatchingInstance) -> np.ndarray:
    """Each applicant's largest given rank, 0 when they ranked nothing; shape (A,)."""
    worst = np.zeros(inst.n_applicants, dtype=np.int64)
    rows = np.flatnonzero(np.diff(inst.acc_indptr) > 0)
    if len(rows):  # rows without pairs are left out, so each reduction is exactly one row
        given = np.maximum(inst.acc_rank, 0)
        worst[rows] = np.maximum.reduceat(given, inst.acc_indptr[:-1][rows])
    return worst


def total_rank(inst: MatchingInstance, slot_of: np.ndarray) -> float | None:
    """Sum of the :func:`effective_rank` of the assigned slots; None when the instance has no ranks.

    Parameters
    ----------
    slot_of : ndarray of shape (A,)
        The slot index of each applicant, -1 for the unmatched.
    """
    if (inst.acc_rank < 0).all():
        return None
    # only the matched applicants' pairs are read (a third of them in a week of 3x demand)
    matched = np.flatnonzero(slot_of >= 0)
    starts = inst.acc_indptr[matched]
    lengths = inst.acc_indptr[matched + 1] - starts
    row = np.repeat(np.arange(len(matched)), lengths)
    offsets = np.zeros(len(matched), dtype=np.int64)
    np.cumsum(lengths[:-1], out=offsets[1:])
    pair = np.repeat(starts - offsets, lengths) + np.arange(len(row))
    hit = inst.acc_slot[pair] == slot_of[matched][row]
    used, owner = pair[hit], matched[row[hit]]
    rank = inst.acc_rank[used]
    unranked = rank <= 0
    if unranked.any():  # the effective rank of just the assigned pairs
        rank = np.where(unranked, _worst_given_rank(inst)[owner] + 1, rank)
    return float(rank.astype(np.int64).sum())


# -- preference classes (the second stage) ------------------------------------------------------


@dataclass(frozen=True)
class PreferenceClasses:
    """Matched applicants with the same acceptable slots *and* the same ranks.

    Attributes
    ----------
    class_of : ndarray of shape (A,)
        Class of each matched applicant, -1 for the unmatched.
    size : ndarray of shape (C,)
        :math:`n_p`, members per class.
    pair_class, pair_slot, pair_rank : ndarray of shape (Q,)
        The class's acceptable slots (with capacity > 0) and their ranks :math:`r_{ps}`, by
        class, then rank, then slot.
    pair_indptr : ndarray of shape (C+1,)
    """

    class_of: np.ndarray
    size: np.ndarray
    pair_class: np.ndarray
    pair_slot: np.ndarray
    pair_rank: np.ndarray
    pair_indptr: np.ndarray

    @property
    def n_classes(self) -> int:
        return len(self.size)


def preference_classes(inst: MatchingInstance, matched: np.ndarray) -> PreferenceClasses:
    """Group the matched applicants by (acceptable slots, ranks).

    An applicant's pairs are stored by rank (unranked last), then slot; with
    :func:`effective_rank` that order is canonical, so equal (slot, rank) sets have equal byte
    strings and one dictionary pass groups them.
    """
    mask = np.asarray(matched, dtype=bool)
    if mask.shape != (inst.n_applicants,):
        raise ValueError(f"matched must be a boolean mask over {inst.n_applicants} applicants")
    rank = effective_rank(inst)
    indptr = inst.acc_indptr.tolist()
    slot_bytes = inst.acc_slot.tobytes()
    rank_bytes = rank.tobytes()
    width = inst.acc_slot.itemsize
    class_of = np.full(inst.n_applicants, -1, dtype=np.int64)
    keys: dict[bytes, int] = {}
    firsts: list[int] = []
    for i in np.flatnonzero(mask).tolist():
        lo, hi = indptr[i] * width, indptr[i + 1] * width
        key = slot_bytes[lo:hi] + rank_bytes[lo:hi]
        c = keys.get(key)
        if c is None:
            c = keys[key] = len(keys)
            firsts.append(i)
        class_of[i] = c
    n_classes = len(keys)
    size = np.bincount(class_of[mask], minlength=n_classes).astype(np.int64)
    first = np.asarray(firsts, dtype=np.int64)
    lengths = np.diff(inst.acc_indptr)[first]
    pair_class = np.repeat(np.arange(n_classes, dtype=np.int64), lengths)
    flat = np.repeat(inst.acc_indptr[first], lengths) + (
        np.arange(int(lengths.sum()), dtype=np.int64)
        - np.repeat(np.cumsum(lengths) - lengths, lengths)
    )
    pair_slot = inst.acc_slot[flat]
    pair_rank = rank[flat]
    keep = inst.capacity[pair_slot] > 0
    pair_class, pair_slot, pair_rank = pair_class[keep], pair_slot[keep], pair_rank[keep]
    pair_indptr = np.zeros(n_classes + 1, dtype=np.int64)
    np.cumsum(np.bincount(pair_class, minlength=n_classes), out=pair_indptr[1:])
    return PreferenceClasses(
        class_of=class_of,
        size=size,
        pair_class=pair_class,
        pair_slot=pair_slot,
        pair_rank=pair_rank,
        pair_indptr=pair_indptr,
    )
