"""Arnosti's Algorithm 1 by incremental augmenting paths (the production method).

Algorithm 1 (Arnosti 2021): in priority order, commit to matching applicant ``a_k`` if some
feasible matching serves everyone committed so far plus ``a_k``. Whether such a matching exists is
exactly whether the current matching has an augmenting path from ``a_k``'s acceptable slots to a
free slot (Berge), so one augmenting-path search per applicant decides each step; committed
applicants stay matched but may be re-routed. Searches run on the type network
(:mod:`slotopt.engines.matching.network`), which skips types and slots that can never change.

References
----------
N. Arnosti (2021), "A Better Way to Schedule Vaccinations", Algorithm 1 and Theorem 1.
"""

from __future__ import annotations

import numpy as np

from slotopt.engines.matching.network import TypeNetwork
from slotopt.instance.matching import MatchingInstance


def greedy_matching(inst: MatchingInstance, order: np.ndarray) -> np.ndarray:
    """Algorithm 1; returns the slot index of each applicant (-1 when unmatched).

    Parameters
    ----------
    inst
        A validated matching instance.
    order : ndarray of shape (A,)
        Applicant indices in final priority order.

    Returns
    -------
    ndarray of shape (A,), int64
        ``slot_of[i]`` for applicant ``i``; the matched set is exactly Algorithm 1's.
    """
    types = inst.types
    net = TypeNetwork(types, inst.capacity)
    type_of = types.type_of.tolist()
    committed: list[list[int]] = [[] for _ in range(types.n_types)]
    type_comp, free_slot, place = net.type_comp, net.free_slot, net.place
    search, augment = net.search, net.augment
    for i in order.tolist():
        t = type_of[i]
        if type_comp[t] >= 0:  # its slots are closed and full for good
            continue
        f = free_slot(t)
        if f >= 0:  # the common case: room without moving anyone
            place(t, f)
            committed[t].append(i)
            continue
        moves = search(t)
        if moves is not None:
            augment(moves)
            committed[t].append(i)
    return _distribute(inst.n_applicants, committed, net)


def _distribute(n: int, committed: list[list[int]], net: TypeNetwork) -> np.ndarray:
    """Turn type-level occupancy into one slot per committed applicant (any split is valid:
    members of a type are interchangeable for feasibility)."""
    slot_of = np.full(n, -1, dtype=np.int64)
    cursor = [0] * len(committed)
    for s, occ in enumerate(net.occ):
        for t, count in occ.items():
            members = committed[t]
            c = cursor[t]
            slot_of[members[c : c + count]] = s
            cursor[t] = c + count
    return slot_of
