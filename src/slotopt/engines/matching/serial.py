"""Serial dictatorship: the baseline that first-come-first-served booking approximates.

Each applicant, in priority order, takes their best-ranked acceptable slot that still has room
(unranked slots after ranked ones, then in slots.csv order). It respects nobody's flexibility, so
it can leave slots empty that Algorithm 1 fills (Arnosti 2021, footnote 4).
"""

from __future__ import annotations

import numpy as np

from slotopt.instance.matching import MatchingInstance


def serial_dictatorship(inst: MatchingInstance, order: np.ndarray) -> np.ndarray:
    """Returns the slot index of each applicant (-1 when every acceptable slot was taken)."""
    free = inst.capacity.astype(np.int64).tolist()
    acc = inst.acc_slot.tolist()
    bounds = inst.acc_indptr.tolist()
    slot_of = np.full(inst.n_applicants, -1, dtype=np.int64)
    for i in order.tolist():
        for s in acc[bounds[i] : bounds[i + 1]]:
            if free[s] > 0:
                free[s] -= 1
                slot_of[i] = s
                break
    return slot_of
