"""An integral type x slot-group flow turned into one slot per served applicant.

Members of a type are interchangeable and the slots of a group are accepted by the same types,
so any split of a flow is valid; these functions make the one split the methods report.
"""

from __future__ import annotations

import numpy as np

from slotopt.engines.matching.structure import MatchingNetwork
from slotopt.errors import SolverError
from slotopt.instance.matching import MatchingInstance

__all__ = ["assign_slots", "extract_by_type", "ranges"]


def ranges(lengths: np.ndarray) -> np.ndarray:
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
    member = served_members[np.repeat(start[by_group], f) + ranges(f)]
    group = np.repeat(net.pair_group[by_group], f)
    within = ranges(np.bincount(group, minlength=net.n_groups))
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


def extract_by_type(
    inst: MatchingInstance, net: MatchingNetwork, served: np.ndarray, flow: np.ndarray
) -> np.ndarray:
    """:func:`assign_slots` for served applicants given in any order (grouped by type here)."""
    type_of = net.types.type_of[served]
    by_type = np.argsort(type_of, kind="stable")
    indptr = np.zeros(net.n_types + 1, dtype=np.int64)
    np.cumsum(np.bincount(type_of, minlength=net.n_types), out=indptr[1:])
    return assign_slots(inst, net, indptr, served[by_type], flow)
