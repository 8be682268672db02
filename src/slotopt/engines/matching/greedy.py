"""Arnosti's Algorithm 1 by incremental augmenting paths (the production method).

Algorithm 1 (Arnosti 2021): in priority order, commit to matching applicant ``a_k`` if some
feasible matching serves everyone committed so far plus ``a_k``. Whether such a matching exists is
exactly whether the current matching has an augmenting path from ``a_k``'s acceptable slots to a
free slot (Berge), so one augmenting-path search per applicant decides each step; committed
applicants stay matched but may be re-routed.

Searches run over applicant *types* (identical acceptable sets): members of a type are
interchangeable, so the search only tracks how many of each type sit in each slot, a type's
matched members are the first ones of it in priority order, and a type that fails once never
succeeds later. The loop itself is :func:`slotopt.engines.matching.kernel.greedy_kernel`,
compiled with numba when available (``pip install 'slotopt[fast]'``) and run as plain Python
otherwise; both give the same schedule.

References
----------
N. Arnosti (2021), "A Better Way to Schedule Vaccinations", Algorithm 1 and Theorem 1.
"""

from __future__ import annotations

import numpy as np

from slotopt.engines.matching import kernel
from slotopt.instance.matching import ApplicantTypes, MatchingInstance


def least_contested_first(types: ApplicantTypes, capacity: np.ndarray) -> np.ndarray:
    """Each type's slots reordered least contested first (applicants accepting the slot per
    place; ties by slot index), as one flat array aligned with ``types.indptr``.

    Where a committed applicant sits never changes who is committed, but sitting where few others
    want to keeps contested slots free and augmenting paths short.
    """
    n_slots = len(capacity)
    lengths = np.diff(types.indptr)
    demand = np.bincount(
        types.slots, weights=np.repeat(types.size, lengths), minlength=n_slots
    ) / np.maximum(capacity, 1)
    by_demand = np.lexsort((np.arange(n_slots), demand))  # slots, least contested first
    place = np.empty(n_slots, dtype=np.int64)
    place[by_demand] = np.arange(n_slots)
    # one integer sort of (type, place of the slot) instead of a three-key lexsort
    owner = np.repeat(np.arange(types.n_types, dtype=np.int64), lengths)
    key = np.sort(owner * max(n_slots, 1) + place[types.slots])
    return by_demand[key - owner * max(n_slots, 1)].astype(np.int64)


def greedy_matching(
    inst: MatchingInstance, order: np.ndarray, *, compiled: bool | None = None
) -> np.ndarray:
    """Algorithm 1; returns the slot index of each applicant (-1 when unmatched).

    Parameters
    ----------
    inst
        A validated matching instance.
    order : ndarray of shape (A,)
        Applicant indices in final priority order.
    compiled
        None (default) uses the numba kernel when numba imports and compiles, else the
        pure-Python one; True requires the compiled kernel (``RuntimeError`` without it); False
        forces pure Python. The schedule is the same either way.

    Returns
    -------
    ndarray of shape (A,), int64
        ``slot_of[i]`` for applicant ``i``; the matched set is exactly Algorithm 1's.
    """
    types = inst.types
    order = np.asarray(order, dtype=np.int64)
    t_indptr = types.indptr.astype(np.int64)
    t_slots = least_contested_first(types, inst.capacity)
    matched, occ, _ = run_kernel(
        types.type_of[order], t_indptr, t_slots, inst.capacity, compiled=compiled
    )
    return distribute(types.type_of, order, t_indptr, t_slots, matched, occ)


def run_kernel(
    seq: np.ndarray,
    t_indptr: np.ndarray,
    t_slots: np.ndarray,
    capacity: np.ndarray,
    *,
    compiled: bool | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run the kernel on a type sequence; returns ``matched`` per type, ``occ`` per pair and the
    kernel's ``stats`` (see :func:`~slotopt.engines.matching.kernel.greedy_kernel`)."""
    n_types, n_pairs, n_slots = len(t_indptr) - 1, len(t_slots), len(capacity)
    pair_type = np.repeat(np.arange(n_types, dtype=np.int64), np.diff(t_indptr))
    # Free capacity beyond the number of types' members never matters; clipping keeps int64
    # arithmetic safe for huge capacities.
    free = np.minimum(capacity.astype(np.int64), len(seq)).astype(np.int64)
    roster_size = np.minimum(free, np.bincount(t_slots, minlength=n_slots))
    s_start = np.zeros(n_slots, dtype=np.int64)
    np.cumsum(roster_size[:-1], out=s_start[1:])
    buffers = dict(
        seq=np.ascontiguousarray(seq, dtype=np.int64),
        t_indptr=t_indptr,
        t_slots=t_slots,
        pair_type=pair_type,
        free=free,
        occ=np.zeros(n_pairs, dtype=np.int64),
        s_start=s_start,
        s_len=np.zeros(n_slots, dtype=np.int64),
        roster=np.zeros(max(int(roster_size.sum()), 1), dtype=np.int64),
        roster_type=np.zeros(max(int(roster_size.sum()), 1), dtype=np.int64),
        slot_at=np.full(n_pairs, -1, dtype=np.int64),
        matched=np.zeros(n_types, dtype=np.int64),
        ptr=t_indptr[:-1].copy(),
        dead_type=np.zeros(n_types, dtype=np.bool_),
        dead_slot=np.zeros(n_slots, dtype=np.bool_),
        stamp=np.zeros(n_types, dtype=np.int64),
        seen=np.zeros(n_slots, dtype=np.int64),
        in_pair=np.zeros(n_slots, dtype=np.int64),
        from_pair=np.zeros(n_slots, dtype=np.int64),
        reached=np.zeros(n_slots, dtype=np.int64),
        touched=np.zeros(max(n_types, 1), dtype=np.int64),
        expand=np.zeros(max(n_types, 1), dtype=np.int64),
        stats=np.zeros(4, dtype=np.int64),
    )
    fn = None if compiled is False else kernel.compiled_kernel()
    if compiled and fn is None:
        raise RuntimeError(
            f"the compiled greedy is not available ({kernel.fallback_reason()}); "
            "install slotopt[fast]"
        )
    if fn is not None:
        try:
            fn(**buffers)
            return buffers["matched"], buffers["occ"], buffers["stats"]
        except Exception as exc:  # a numba that imports but cannot compile: fall back for good
            if compiled:
                raise
            kernel.mark_unusable(exc)
            buffers = _reset(buffers, capacity, len(seq), t_indptr)
    lists = {k: v.tolist() for k, v in buffers.items()}
    kernel.greedy_kernel(**lists)
    matched, occ, stats = (
        np.asarray(lists[k], dtype=np.int64) for k in ("matched", "occ", "stats")
    )
    return matched, occ, stats


def _reset(
    buffers: dict[str, np.ndarray], capacity: np.ndarray, n: int, t_indptr: np.ndarray
) -> dict[str, np.ndarray]:
    """Fresh state after a compiled call that raised part-way."""
    out = dict(buffers)
    out["free"] = np.minimum(capacity.astype(np.int64), n).astype(np.int64)
    for name in ("occ", "s_len", "matched", "stamp", "seen", "stats"):
        out[name] = np.zeros_like(buffers[name])
    out["slot_at"] = np.full_like(buffers["slot_at"], -1)
    out["ptr"] = t_indptr[:-1].copy()
    out["dead_type"] = np.zeros_like(buffers["dead_type"])
    out["dead_slot"] = np.zeros_like(buffers["dead_slot"])
    return out


def distribute(
    type_of: np.ndarray,
    order: np.ndarray,
    t_indptr: np.ndarray,
    t_slots: np.ndarray,
    matched: np.ndarray,
    occ: np.ndarray,
) -> np.ndarray:
    """One slot per applicant from type-level counts: a type's matched applicants are its first
    ``matched[t]`` members in priority order, spread over its slots as ``occ`` says (members of
    a type are interchangeable for feasibility; earlier members take earlier-listed slots)."""
    n = len(type_of)
    slot_of = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return slot_of
    by_type = order[np.argsort(type_of[order], kind="stable")]  # grouped by type, priority order
    sizes = np.bincount(type_of, minlength=len(matched))
    starts = np.cumsum(sizes) - sizes
    rank_in_type = np.arange(n) - np.repeat(starts, sizes)
    grouped_type = np.repeat(np.arange(len(matched)), sizes)
    chosen = by_type[rank_in_type < matched[grouped_type]]
    slot_of[chosen] = np.repeat(t_slots, occ)
    return slot_of
