"""Algorithm 1 taken literally: one maximum-flow feasibility check per applicant.

Kept as the reference oracle for tests (it shares no code with the greedy): ``a_k`` is committed
iff the maximum flow through source -> committed applicants + ``a_k`` -> acceptable slots ->
sink (slot capacities) saturates every chosen applicant. Quadratic work; use it on small
instances only.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from slotopt.engines.matching.flow import SlotFlow, slot_flow
from slotopt.instance.matching import MatchingInstance


def max_flow_value(inst: MatchingInstance, chosen: np.ndarray) -> int:
    """Most applicants of the boolean mask ``chosen`` that can be matched at once."""
    return _flow(inst, chosen).value


def _flow(inst: MatchingInstance, chosen: np.ndarray, *, with_flow: bool = False) -> SlotFlow:
    return slot_flow(chosen, inst.acc_indptr, inst.acc_slot, inst.capacity, with_flow=with_flow)


def naive_matching(
    inst: MatchingInstance,
    order: np.ndarray,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Algorithm 1 with one max-flow check per applicant; returns slot index or -1 each.

    ``progress(done, total)``, when given, is called after every applicant (it may print; this
    function does not)."""
    chosen = np.zeros(inst.n_applicants, dtype=bool)
    n_committed = 0
    total = len(order)
    for k, i in enumerate(order.tolist()):
        if progress is not None:
            progress(k, total)
        if inst.acc_indptr[i] == inst.acc_indptr[i + 1]:
            continue
        chosen[i] = True
        if max_flow_value(inst, chosen) == n_committed + 1:
            n_committed += 1
        else:
            chosen[i] = False
    return assignment_from_flow(inst, chosen)


def assignment_from_flow(inst: MatchingInstance, chosen: np.ndarray) -> np.ndarray:
    """A feasible schedule for the applicants in ``chosen`` read off one maximum flow."""
    return _flow(inst, chosen, with_flow=True).slot_of_left()
