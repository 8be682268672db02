"""The one maximum-flow helper: source -> left nodes -> slots -> sink, by scipy.

Both users build the same three-layer network and differ only in what a left node is: the
naive algorithm's oracle puts one node per applicant (capacity 1 if chosen, else 0) and reads a
schedule off the flow; the certificate check puts one node per applicant type (capacity: the
type's size) and needs only the value. Arcs from a left node to each slot it accepts carry the
largest left capacity (no arc can carry more than its node receives); a slot's arc to the sink
carries its capacity, clipped to what the left nodes accepting it can send at most, which
leaves every maximum flow unchanged and keeps the numbers within scipy's int32 capacities for
any slot capacity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_flow

__all__ = ["SlotFlow", "slot_flow"]

_INT32_MAX = int(np.iinfo(np.int32).max)


@dataclass(frozen=True, eq=False)
class SlotFlow:
    """A maximum flow; node ``1 + k`` is left node ``k``, node ``1 + n_left + s`` slot ``s``.

    Attributes
    ----------
    value : int
        The flow's value: the most left-node units that slots can take at once.
    n_left : int
    flow : scipy.sparse.csr_matrix or None
        The flow on each arc (only when asked for).
    """

    value: int
    n_left: int
    flow: csr_matrix | None

    def slot_of_left(self) -> np.ndarray:
        """For unit left capacities: the slot each left node's unit goes to (-1 for none)."""
        if self.flow is None:
            raise ValueError("slot_flow(..., with_flow=True) keeps the flow this needs")
        coo = self.flow.tocoo()
        n = self.n_left
        mask = (coo.data > 0) & (coo.row >= 1) & (coo.row <= n) & (coo.col > n)
        slot_of = np.full(n, -1, dtype=np.int64)
        slot_of[coo.row[mask] - 1] = coo.col[mask] - 1 - n
        return slot_of


def slot_flow(
    left_cap: np.ndarray,
    indptr: np.ndarray,
    slots: np.ndarray,
    capacity: np.ndarray,
    *,
    with_flow: bool = False,
) -> SlotFlow:
    """A maximum flow through source -> left nodes -> acceptable slots -> sink.

    Parameters
    ----------
    left_cap : ndarray of shape (L,), int
        What each left node may send (0 removes it).
    indptr, slots : ndarray
        CSR lists: left node ``k`` accepts ``slots[indptr[k]:indptr[k + 1]]``.
    capacity : ndarray of shape (S,), int
        Slot capacities (any non-negative int64).
    with_flow : bool
        Keep the flow on every arc (for :meth:`SlotFlow.slot_of_left`).

    Raises
    ------
    OverflowError
        A left capacity, or a slot's clipped capacity, above 2**31 - 1 (scipy's int32 limit:
        an instance with more than two billion applicants).
    """
    left_cap = np.asarray(left_cap, dtype=np.int64)
    n_left, n_slots = len(left_cap), len(capacity)
    source, sink = 0, 1 + n_left + n_slots
    counts = np.diff(indptr)
    accepting = np.bincount(slots, weights=np.repeat(left_cap, counts), minlength=n_slots)
    slot_cap = np.minimum(np.asarray(capacity, dtype=np.int64), accepting.astype(np.int64))
    arc = int(left_cap.max(initial=0))
    if arc > _INT32_MAX or int(slot_cap.max(initial=0)) > _INT32_MAX:
        raise OverflowError("more than 2**31 applicants: beyond scipy's int32 maximum flow")
    rows = np.concatenate(
        [
            np.zeros(n_left, np.int64),
            1 + np.repeat(np.arange(n_left), counts),
            1 + n_left + np.arange(n_slots),
        ]
    )
    cols = np.concatenate(
        [1 + np.arange(n_left), 1 + n_left + slots, np.full(n_slots, sink, dtype=np.int64)]
    )
    caps = np.concatenate([left_cap, np.full(len(slots), arc), slot_cap]).astype(np.int32)
    graph = csr_matrix((caps, (rows, cols)), shape=(sink + 1, sink + 1))
    result = maximum_flow(graph, source, sink)
    return SlotFlow(
        value=int(result.flow_value), n_left=n_left, flow=result.flow if with_flow else None
    )
