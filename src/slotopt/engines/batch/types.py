"""What one batch draw sees and returns: requests, slots and the draw's result.

A draw's input carries only what a lottery may use: the request id (which feeds the lottery
digest), the declared policy priority tier, the number of earlier unsuccessful batches of the
identity (the carry-over count), the registration time (read by the first-come-first-served
baseline only) and the acceptable slots with their ranks. Names, document numbers, dates of birth,
nationality or anything else collected at registration never reach it, so no mechanism can sort
applicants by them (Hagenbach & Kübler 2021, last section).

:func:`requests_from_frames` and :func:`requests_to_frames` convert to and from three plain
tables, so a registry can store a draw's exact inputs and an audit can rebuild them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd

from slotopt.engines.batch.codes import lex_order, locate, object_array
from slotopt.engines.batch.gcpause import without_gc
from slotopt.instance._tables import Problems, check_ids, check_unique, integer_column

__all__ = [
    "BatchRequests",
    "BatchSlots",
    "DrawResult",
    "requests_from_frames",
    "requests_to_frames",
]


def _frozen(a: np.ndarray, dtype: Any) -> np.ndarray:
    out = np.array(a, dtype=dtype, copy=True)
    out.flags.writeable = False
    return out


@dataclass(frozen=True, eq=False)
class BatchRequests:
    """One batch's de-duplicated requests. Arrays are read-only copies.

    Attributes
    ----------
    request_id : ndarray of shape (R,), object (str)
        Unique; feeds the lottery digest.
    priority_tier : ndarray of shape (R,), int64
        Policy tier, smaller is served first (1 when there are no tiers; 0 for applicants whose
        appointment the provider cancelled).
    carry_over : ndarray of shape (R,), int64
        Earlier unsuccessful batches of this identity (the weighted lottery reads it).
    registered_at : ndarray of shape (R,), int64
        Registration time on any monotone integer clock (the FCFS baseline reads it).
    acc_indptr : ndarray of shape (R+1,), int64
        Request ``r`` accepts ``acc_slot[acc_indptr[r]:acc_indptr[r+1]]``.
    acc_slot : ndarray of shape (P,), int64
        Slot indices into :class:`BatchSlots`.
    acc_rank : ndarray of shape (P,), int64
        1 = most preferred; -1 where unranked.
    """

    request_id: np.ndarray
    priority_tier: np.ndarray
    carry_over: np.ndarray
    registered_at: np.ndarray
    acc_indptr: np.ndarray
    acc_slot: np.ndarray
    acc_rank: np.ndarray

    def __post_init__(self) -> None:
        ids = np.array([str(x) for x in self.request_id], dtype=object)
        ids.flags.writeable = False
        object.__setattr__(self, "request_id", ids)
        for name in (
            "priority_tier",
            "carry_over",
            "registered_at",
            "acc_indptr",
            "acc_slot",
            "acc_rank",
        ):
            object.__setattr__(self, name, _frozen(getattr(self, name), np.int64))
        n = len(ids)
        for name in ("priority_tier", "carry_over", "registered_at"):
            if len(getattr(self, name)) != n:
                raise ValueError(
                    f"BatchRequests.{name} has {len(getattr(self, name))} entries for {n} requests"
                )
        ptr = self.acc_indptr
        if len(ptr) != n + 1 or (n + 1 and (ptr[0] != 0 or np.any(np.diff(ptr) < 0))):
            raise ValueError("BatchRequests.acc_indptr must be a CSR pointer of length R+1 from 0")
        if int(ptr[-1]) != len(self.acc_slot) or len(self.acc_rank) != len(self.acc_slot):
            raise ValueError("BatchRequests.acc_slot/acc_rank must have acc_indptr[-1] entries")
        if len(self.acc_slot):
            if self.acc_slot.min() < 0:
                raise ValueError("BatchRequests.acc_slot holds slot indices >= 0")
            owner = np.repeat(np.arange(n, dtype=np.int64), np.diff(ptr))
            if _repeats(owner * (int(self.acc_slot.max()) + 1) + self.acc_slot):
                raise ValueError("BatchRequests lists a (request, slot) pair twice")
        if len(set(ids.tolist())) != n:
            raise ValueError("BatchRequests.request_id must be unique (ids feed the lottery)")
        if n and (self.carry_over.min() < 0 or self.priority_tier.min() < 0):
            raise ValueError("priority_tier and carry_over are non-negative integers")

    @property
    def n_requests(self) -> int:
        return len(self.request_id)

    def slots_of(self, r: int) -> np.ndarray:
        return self.acc_slot[self.acc_indptr[r] : self.acc_indptr[r + 1]]


@dataclass(frozen=True, eq=False)
class BatchSlots:
    """The slots of one batch.

    Attributes
    ----------
    slot_id : ndarray of shape (S,), object (str)
    capacity : ndarray of shape (S,), int64
        Appointments the slot holds (>= 0).
    """

    slot_id: np.ndarray
    capacity: np.ndarray

    def __post_init__(self) -> None:
        ids = np.array([str(x) for x in self.slot_id], dtype=object)
        ids.flags.writeable = False
        object.__setattr__(self, "slot_id", ids)
        object.__setattr__(self, "capacity", _frozen(self.capacity, np.int64))
        if len(self.capacity) != len(ids):
            raise ValueError("BatchSlots.capacity must have one entry per slot")
        if len(set(ids.tolist())) != len(ids):
            raise ValueError("BatchSlots.slot_id must be unique")
        if len(ids) and self.capacity.min() < 0:
            raise ValueError("BatchSlots.capacity must be >= 0")

    @property
    def n_slots(self) -> int:
        return len(self.slot_id)


@dataclass(frozen=True, eq=False)
class DrawResult:
    """The outcome of one draw, in the input order of the requests.

    Attributes
    ----------
    mechanism, seed, context
        What was drawn and with which lottery seed and context (e.g. ``"batch-2026-W01"``).
    slot_of_request : ndarray of shape (R,), int64
        Slot index (into the draw's :class:`BatchSlots`) of each request, -1 when not allocated.
    lottery_position : ndarray of shape (R,), int64
        1-based position in the draw order (tiers first, then the lottery; for ``"fcfs"`` the
        arrival order).
    waitlist : ndarray of shape (W,), int64
        Indices of the requests not allocated, in the order they would be offered a freed slot.
    params : mapping
        The mechanism's parameters as used (e.g. ``{"rule": "linear"}``); defaults filled in.
    tickets : ndarray of shape (R,), int64
        Lottery tickets each request held (1 except in the weighted lottery).
    """

    mechanism: str
    seed: int
    context: str
    slot_of_request: np.ndarray
    lottery_position: np.ndarray
    waitlist: np.ndarray
    params: Mapping[str, Any] = field(default_factory=dict)
    tickets: np.ndarray | None = None

    def __post_init__(self) -> None:
        for name in ("slot_of_request", "lottery_position", "waitlist"):
            object.__setattr__(self, name, _frozen(getattr(self, name), np.int64))
        if self.tickets is not None:
            object.__setattr__(self, "tickets", _frozen(self.tickets, np.int64))

    @property
    def n_allocated(self) -> int:
        return int((self.slot_of_request >= 0).sum())

    def allocation(self, requests: BatchRequests, slots: BatchSlots) -> pd.DataFrame:
        """``request_id``, ``slot_id`` (NA when not allocated), ``lottery_position``, sorted by
        position."""
        s = self.slot_of_request
        slot_id = pd.array(
            [slots.slot_id[k] if k >= 0 else pd.NA for k in s.tolist()], dtype="string"
        )
        df = pd.DataFrame(
            {
                "request_id": pd.array(requests.request_id, dtype="string"),
                "slot_id": slot_id,
                "lottery_position": self.lottery_position,
            }
        )
        return df.sort_values("lottery_position", kind="stable").reset_index(drop=True)


REQUESTS, REQUEST_SLOTS, SLOTS = "requests", "request_slots", "slots"


@without_gc
def requests_from_frames(
    requests_df: pd.DataFrame,
    request_slots_df: pd.DataFrame,
    slots_df: pd.DataFrame,
    *,
    labels: Mapping[str, str] | None = None,
) -> tuple[BatchRequests, BatchSlots]:
    """Validate three tables and build the draw's inputs.

    Parameters
    ----------
    requests_df
        ``request_id``, ``priority_tier``, ``carry_over``, ``registered_at`` (one row each).
    request_slots_df
        ``request_id``, ``slot_id``, ``rank`` (nullable; 1 = most preferred): the acceptable
        slots of each request.
    slots_df
        ``slot_id``, ``capacity``.
    labels
        Names used in error messages (default ``requests``, ``request_slots``, ``slots``).

    Raises
    ------
    InstanceError
        Every problem, each naming the table, the 1-based row and the column.

    Examples
    --------
    >>> import pandas as pd
    >>> req = pd.DataFrame({"request_id": ["a", "b"], "priority_tier": [1, 1],
    ...                     "carry_over": [0, 2], "registered_at": [10, 5]})
    >>> acc = pd.DataFrame({"request_id": ["a", "b"], "slot_id": ["s", "s"], "rank": [1, None]})
    >>> r, s = requests_from_frames(req, acc, pd.DataFrame({"slot_id": ["s"], "capacity": [1]}))
    >>> r.n_requests, s.n_slots, r.acc_rank.tolist()
    (2, 1, [1, -1])
    """
    names = {REQUESTS: REQUESTS, REQUEST_SLOTS: REQUEST_SLOTS, SLOTS: SLOTS} | dict(labels or {})
    fr, fp, fs = names[REQUESTS], names[REQUEST_SLOTS], names[SLOTS]
    problems = Problems()
    required = {
        fr: (requests_df, ("request_id", "priority_tier", "carry_over", "registered_at")),
        fp: (request_slots_df, ("request_id", "slot_id")),
        fs: (slots_df, ("slot_id", "capacity")),
    }
    for label, (df, cols) in required.items():
        missing = [c for c in cols if c not in df.columns]
        if missing:
            problems.add(label, f"missing column(s) {', '.join(missing)}")
    problems.raise_if_any()
    req = requests_df.reset_index(drop=True).copy()
    acc = request_slots_df.reset_index(drop=True).copy()
    sl = slots_df.reset_index(drop=True).copy()

    check_ids(req, fr, "request_id", problems)
    check_unique(req, fr, "request_id", problems)
    tier = integer_column(req, fr, "priority_tier", problems, minimum=0, what="an integer >= 0")
    carry = integer_column(req, fr, "carry_over", problems, minimum=0, what="an integer >= 0")
    reg = integer_column(req, fr, "registered_at", problems, what="an integer time")
    check_ids(sl, fs, "slot_id", problems)
    check_unique(sl, fs, "slot_id", problems)
    cap = integer_column(sl, fs, "capacity", problems, minimum=0, what="an integer >= 0")
    check_ids(acc, fp, "request_id", problems)
    check_ids(acc, fp, "slot_id", problems)
    if "rank" in acc.columns:
        rank = integer_column(
            acc,
            fp,
            "rank",
            problems,
            minimum=1,
            what="an integer >= 1 (1 = most preferred) or empty",
            allow_missing=True,
        )
    else:
        rank = np.full(len(acc), -1, dtype=np.int64)
    problems.raise_if_any()

    req_ids = object_array(req["request_id"])
    r_code = locate(object_array(acc["request_id"]), req_ids)
    s_code = locate(object_array(acc["slot_id"]), object_array(sl["slot_id"]))
    problems.extend_rows(fp, "request_id", np.flatnonzero(r_code < 0), f"not a request_id of {fr}")
    problems.extend_rows(fp, "slot_id", np.flatnonzero(s_code < 0), f"not a slot_id of {fs}")
    pair = r_code * max(len(sl), 1) + s_code
    if (r_code >= 0).all() and (s_code >= 0).all() and _repeats(pair):
        problems.extend_rows(
            fp,
            "slot_id",
            np.flatnonzero(pd.Series(pair).duplicated().to_numpy()),
            "this request already lists this slot (list each pair once)",
        )
    problems.raise_if_any()
    # raise_if_any() above guarantees every column parsed
    tier, carry, reg = cast(np.ndarray, tier), cast(np.ndarray, carry), cast(np.ndarray, reg)
    cap, rank = cast(np.ndarray, cap), cast(np.ndarray, rank)

    # Pairs by request, then rank (unranked last), then slot index.
    rank_key = np.where(rank < 0, max(int(rank.max(initial=0)), 0) + 1, rank)  # unranked last
    order = lex_order(s_code, rank_key, r_code)
    indptr = np.zeros(len(req) + 1, dtype=np.int64)
    np.cumsum(np.bincount(r_code, minlength=len(req)), out=indptr[1:])
    requests = BatchRequests(
        request_id=req_ids,
        priority_tier=tier,
        carry_over=carry,
        registered_at=reg,
        acc_indptr=indptr,
        acc_slot=s_code[order],
        acc_rank=rank[order],
    )
    slots = BatchSlots(slot_id=object_array(sl["slot_id"]), capacity=cap)
    return requests, slots


def _repeats(key: np.ndarray) -> bool:
    """Does some value of ``key`` occur twice? (No sort when it is increasing, the usual case.)"""
    if len(key) < 2 or bool((key[1:] > key[:-1]).all()):
        return False
    ordered = np.sort(key)
    return bool((ordered[1:] == ordered[:-1]).any())


def requests_to_frames(
    requests: BatchRequests, slots: BatchSlots
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The inverse of :func:`requests_from_frames`: ``(requests_df, request_slots_df,
    slots_df)``, in the order of the arrays, with ``rank`` as a nullable integer column."""
    req = pd.DataFrame(
        {
            "request_id": pd.array(requests.request_id, dtype="string"),
            "priority_tier": requests.priority_tier.astype(np.int64),
            "carry_over": requests.carry_over.astype(np.int64),
            "registered_at": requests.registered_at.astype(np.int64),
        }
    )
    counts = np.diff(requests.acc_indptr)
    rank = requests.acc_rank
    acc = pd.DataFrame(
        {
            "request_id": pd.array(np.repeat(requests.request_id, counts), dtype="string"),
            "slot_id": pd.array(
                slots.slot_id[requests.acc_slot] if len(rank) else [], dtype="string"
            ),
            "rank": pd.arrays.IntegerArray(rank.astype(np.int64), rank < 0),
        }
    )
    sl = pd.DataFrame(
        {
            "slot_id": pd.array(slots.slot_id, dtype="string"),
            "capacity": slots.capacity.astype(np.int64),
        }
    )
    return req, acc, sl
