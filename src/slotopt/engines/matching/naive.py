"""Algorithm 1 taken literally: one maximum-flow feasibility check per applicant.

Kept as the reference oracle for tests (it shares no code with the greedy): ``a_k`` is committed
iff the maximum flow through source -> committed applicants + ``a_k`` -> acceptable slots ->
sink (slot capacities) saturates every chosen applicant. Quadratic work; use it on small
instances only.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_flow

from slotopt.instance.matching import MatchingInstance


def _flow_graph(inst: MatchingInstance, chosen: np.ndarray) -> tuple[csr_matrix, int, int]:
    n_a, n_s = inst.n_applicants, inst.n_slots
    source, sink = 0, 1 + n_a + n_s
    counts = np.diff(inst.acc_indptr)
    rows = np.concatenate(
        [
            np.zeros(n_a, dtype=np.int64),
            1 + np.repeat(np.arange(n_a), counts),
            1 + n_a + np.arange(n_s),
        ]
    )
    cols = np.concatenate(
        [1 + np.arange(n_a), 1 + n_a + inst.acc_slot, np.full(n_s, sink, dtype=np.int64)]
    )
    caps = np.concatenate(
        [
            chosen.astype(np.int32),
            np.ones(len(inst.acc_slot), np.int32),
            # scipy needs int32; no slot holds more than all applicants (exact for any capacity)
            np.minimum(inst.capacity, n_a).astype(np.int32),
        ]
    )
    graph = csr_matrix((caps, (rows, cols)), shape=(sink + 1, sink + 1))
    return graph, source, sink


def max_flow_value(inst: MatchingInstance, chosen: np.ndarray) -> int:
    """Most applicants of the boolean mask ``chosen`` that can be matched at once."""
    graph, source, sink = _flow_graph(inst, chosen)
    return int(maximum_flow(graph, source, sink).flow_value)


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
    graph, source, sink = _flow_graph(inst, chosen)
    flow = maximum_flow(graph, source, sink).flow.tocoo()
    n_a = inst.n_applicants
    slot_of = np.full(n_a, -1, dtype=np.int64)
    mask = (
        (flow.data > 0)
        & (flow.row >= 1)
        & (flow.row <= n_a)
        & (flow.col > n_a)
        & (flow.col <= n_a + inst.n_slots)
    )
    slot_of[flow.row[mask] - 1] = flow.col[mask] - 1 - n_a
    return slot_of
