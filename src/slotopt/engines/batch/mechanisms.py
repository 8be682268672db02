"""The five ways one batch's slots go to its requests, behind one function, :func:`draw`.

Every mechanism first fixes a *draw order* of the requests, then walks it:

``"uniform"``
    Uniform lottery (tiers first, then ``uniform_order``). Each request in turn takes an acceptable
    free slot, ignoring ranks; of several it takes the one *the fewest requests of the batch
    accept* (ties: smallest slot id), which keeps the most options open for the requests drawn
    after it. With identical slots (everyone accepts everything) this is exactly "the first
    ``capacity`` requests drawn are served". Taking the most preferred slot instead would make it
    ``"serial_dictatorship"``; the exact maximum number of appointments is ``"priority"``.
``"serial_dictatorship"``
    Random serial dictatorship (random priority, Hagenbach & Kübler 2021, last section): each
    request in lottery order takes its best-ranked acceptable free slot (unranked slots after
    ranked ones, ties by slot id).
``"priority"``
    Policy tiers, ties broken by the lottery, through Arnosti's Algorithm 1
    (:func:`slotopt.engines.matching.greedy.greedy_matching`): the matched set is the
    priority-respecting maximum matching, so acceptable sets are honoured and appointments are
    maximised. Which of its acceptable slots a matched request holds is the greedy's (ranks are
    not optimised).
``"weighted"``
    Weighted lottery: request ``r`` holds ``tickets(carry_over[r])`` tickets
    (``weighted_order``; integer tickets, exact), then walks like ``"uniform"``. Rules:
    ``"constant"`` 1 ticket; ``"linear"`` ``1 + k``; ``"doubling"`` ``2**k`` capped at ``cap``
    tickets (default 1024 = ``2**10``: after ten unsuccessful batches a request already holds
    1024 times a newcomer's chance, and the cap bounds the hashing a recomputation costs).
``"fcfs"``
    First come, first served, the status quo baseline: arrival order (``registered_at``, then
    request id); each request takes its best-ranked free slot, like the serial dictatorship.
    Tiers are ignored (the booking page knows none).

Every lottery mechanism orders by ``priority_tier`` first (all 1 when there is no policy; 0 for
applicants whose appointment the provider cancelled), and reads nothing but the tier, the
carry-over count and the request id. The result depends on ids, never on array order: the
requests and slots are put in id order before anything else happens.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from slotopt.engines.batch.types import BatchRequests, BatchSlots, DrawResult
from slotopt.engines.lottery import uniform_order, weighted_order
from slotopt.errors import UsageError
from slotopt.instance.batch import DEFAULT_CAP, MECHANISMS, WEIGHT_RULES, check_params

__all__ = ["MECHANISMS", "WEIGHT_RULES", "draw", "tickets"]


def tickets(carry_over: np.ndarray, rule: str, *, cap: int = DEFAULT_CAP) -> np.ndarray:
    """Tickets per request under ``rule`` given ``k`` = earlier unsuccessful batches.

    >>> tickets(np.array([0, 1, 3, 20]), "doubling", cap=1024).tolist()
    [1, 2, 8, 1024]
    >>> tickets(np.array([0, 1, 3]), "linear").tolist()
    [1, 2, 4]
    """
    k = np.asarray(carry_over, dtype=np.int64)
    if rule == "constant":
        return np.ones(len(k), dtype=np.int64)
    if rule == "linear":
        return np.minimum(1 + k, cap).astype(np.int64)
    if rule == "doubling":
        # 2**k without overflow: anything from 2**62 up is above every allowed cap
        return np.minimum(np.left_shift(1, np.minimum(k, 62)), cap).astype(np.int64)
    raise UsageError(f"weighted rule must be one of {', '.join(WEIGHT_RULES)}, got {rule!r}")


def _resolve_params(mechanism: str, params: Mapping[str, Any]) -> dict[str, Any]:
    used, problems = check_params(mechanism, params)
    if problems:
        raise UsageError("; ".join(problems))
    return used


def _id_ranks(ids: np.ndarray) -> np.ndarray:
    """Rank of each id in sorted (code point) order."""
    order = sorted(range(len(ids)), key=ids.__getitem__)
    rank = np.empty(len(ids), dtype=np.int64)
    rank[np.asarray(order, dtype=np.int64)] = np.arange(len(ids), dtype=np.int64)
    return rank


def _preference_order(requests: BatchRequests, slot_rank: np.ndarray) -> list[int]:
    """All acceptable pairs, each request's best first: rank (unranked last), then slot id.
    Request ``r``'s list is ``flat[acc_indptr[r]:acc_indptr[r+1]]``."""
    acc, rk, ptr = requests.acc_slot, requests.acc_rank, requests.acc_indptr
    key_rank = np.where(rk < 0, np.iinfo(np.int64).max, rk)
    owner = np.repeat(np.arange(requests.n_requests), np.diff(ptr))
    order = np.lexsort((slot_rank[acc] if len(acc) else acc, key_rank, owner))
    flat: list[int] = acc[order].tolist()
    return flat


def _walk_best(
    order: np.ndarray, requests: BatchRequests, slot_rank: np.ndarray, capacity: np.ndarray
) -> np.ndarray:
    """Each request in ``order`` takes its most preferred acceptable free slot."""
    flat = _preference_order(requests, slot_rank)
    ptr = requests.acc_indptr.tolist()
    free = capacity.astype(np.int64).tolist()
    left = sum(free)
    slot_of = np.full(requests.n_requests, -1, dtype=np.int64)
    for r in order.tolist():
        if left == 0:  # every slot is full: nobody later can be served
            break
        for s in flat[ptr[r] : ptr[r + 1]]:
            if free[s] > 0:
                free[s] -= 1
                left -= 1
                slot_of[r] = s
                break
    return slot_of


def _walk_open(
    order: np.ndarray, requests: BatchRequests, slot_rank: np.ndarray, capacity: np.ndarray
) -> np.ndarray:
    """Each request takes its acceptable free slot that the fewest requests accept."""
    n_slots = len(capacity)
    demand = np.bincount(requests.acc_slot, minlength=n_slots).astype(np.int64)
    # one integer key per slot: demand first, slot id second
    key = (demand * max(n_slots, 1) + slot_rank).tolist()
    free = capacity.astype(np.int64).tolist()
    left = sum(free)
    acc, ptr = requests.acc_slot.tolist(), requests.acc_indptr.tolist()
    slot_of = np.full(requests.n_requests, -1, dtype=np.int64)
    for r in order.tolist():
        if left == 0:  # every slot is full: nobody later can be served
            break
        best, best_key = -1, -1
        for s in acc[ptr[r] : ptr[r + 1]]:
            if free[s] > 0 and (best < 0 or key[s] < best_key):
                best, best_key = s, key[s]
        if best >= 0:
            free[best] -= 1
            left -= 1
            slot_of[r] = best
    return slot_of


def _priority_matching(
    order: np.ndarray, requests: BatchRequests, slots: BatchSlots, slot_rank: np.ndarray
) -> np.ndarray:
    """Arnosti's Algorithm 1 on the batch, built in id order so array order cannot matter."""
    from slotopt.engines.matching.greedy import greedy_matching
    from slotopt.instance.matching import matching_from_frames

    r_canon = np.argsort(_id_ranks(requests.request_id), kind="stable")  # canonical -> input
    s_canon = np.argsort(slot_rank, kind="stable")
    r_pos = np.empty_like(r_canon)
    r_pos[r_canon] = np.arange(len(r_canon))
    counts = np.diff(requests.acc_indptr)
    owner = np.repeat(np.arange(requests.n_requests), counts)
    inst = matching_from_frames(
        pd.DataFrame({"slot_id": slots.slot_id[s_canon], "capacity": slots.capacity[s_canon]}),
        pd.DataFrame(
            {
                "applicant_id": requests.request_id[r_canon],
                "priority": requests.priority_tier[r_canon],
            }
        ),
        pd.DataFrame(
            {
                "applicant_id": requests.request_id[owner],
                "slot_id": slots.slot_id[requests.acc_slot],
            }
        ),
        name="batch",
    )
    canon_slot = greedy_matching(inst, r_pos[order])
    slot_of = np.full(requests.n_requests, -1, dtype=np.int64)
    hit = canon_slot >= 0
    slot_of[r_canon[hit]] = s_canon[canon_slot[hit]]
    return slot_of


def draw(
    mechanism: str,
    requests: BatchRequests,
    slots: BatchSlots,
    *,
    seed: int,
    context: str,
    **params: Any,
) -> DrawResult:
    """Allocate one batch's slots to its requests.

    Parameters
    ----------
    mechanism
        One of :data:`MECHANISMS` (module docstring).
    requests, slots
        The batch (see :func:`slotopt.engines.batch.requests_from_frames`).
    seed
        Non-negative integer lottery seed (a replay's or ``draw_seed(secret, public)``).
    context
        Names the draw in every digest, e.g. ``"batch-2026-W01"``.
    **params
        ``"weighted"`` only: ``rule`` (``"constant"``, ``"linear"`` (default), ``"doubling"``)
        and ``cap`` (most tickets per request, default 1024).

    Returns
    -------
    DrawResult
        Bit-for-bit the same for the same content in any row order.

    Raises
    ------
    UsageError
        Unknown mechanism, parameter, rule or cap; a request listing a slot index out of range.

    Examples
    --------
    >>> import pandas as pd
    >>> from slotopt.engines.batch import requests_from_frames
    >>> req = pd.DataFrame({"request_id": ["a", "b", "c"], "priority_tier": 1,
    ...                     "carry_over": 0, "registered_at": [3, 1, 2]})
    >>> acc = pd.DataFrame({"request_id": ["a", "b", "c"], "slot_id": "s"})
    >>> r, s = requests_from_frames(req, acc, pd.DataFrame({"slot_id": ["s"], "capacity": [2]}))
    >>> fcfs = draw("fcfs", r, s, seed=0, context="batch-1")
    >>> [r.request_id[i] for i in fcfs.waitlist]
    ['a']
    >>> draw("uniform", r, s, seed=7, context="batch-1").n_allocated
    2
    """
    used = _resolve_params(mechanism, params)
    if len(requests.acc_slot) and (
        requests.acc_slot.min() < 0 or requests.acc_slot.max() >= slots.n_slots
    ):
        raise UsageError("a request lists a slot index outside the batch's slots")
    ids = requests.request_id
    slot_rank = _id_ranks(slots.slot_id)
    n_tickets = np.ones(requests.n_requests, dtype=np.int64)
    tier = requests.priority_tier
    if mechanism == "fcfs":
        order = np.lexsort((_id_ranks(ids), requests.registered_at)).astype(np.int64)
    elif mechanism == "weighted":
        n_tickets = tickets(requests.carry_over, used["rule"], cap=used["cap"])
        order = weighted_order(seed, ids, n_tickets, context=context, priority=tier)
    else:
        order = uniform_order(seed, ids, context=context, priority=tier)

    if mechanism in ("serial_dictatorship", "fcfs"):
        slot_of = _walk_best(order, requests, slot_rank, slots.capacity)
    elif mechanism == "priority":
        slot_of = _priority_matching(order, requests, slots, slot_rank)
    else:
        slot_of = _walk_open(order, requests, slot_rank, slots.capacity)

    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(1, len(order) + 1)
    waitlist = order[slot_of[order] < 0]
    return DrawResult(
        mechanism=mechanism,
        seed=int(seed),
        context=context,
        slot_of_request=slot_of,
        lottery_position=position,
        waitlist=waitlist,
        params=used,
        tickets=n_tickets,
    )
