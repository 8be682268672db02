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

from dataclasses import dataclass
from typing import Any

import numpy as np

from slotopt.engines.matching import kernel
from slotopt.instance.matching import ApplicantTypes, MatchingInstance

COMPILE_ABOVE = 20_000
"""With ``compiled=None``, instances with fewer applicants run the Python kernel: it finishes
before numba would have loaded its cached machine code (about a second per process)."""


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
        None (default) uses the numba kernel when numba imports and compiles and the
        instance has at least :data:`COMPILE_ABOVE` applicants, else the pure-Python one;
        True requires the compiled kernel (``RuntimeError`` without it); False forces pure
        Python. The schedule is the same either way.

    Returns
    -------
    ndarray of shape (A,), int64
        ``slot_of[i]`` for applicant ``i``; the matched set is exactly Algorithm 1's.
    """
    types = inst.types
    order = np.asarray(order, dtype=np.int64)
    t_indptr = types.indptr.astype(np.int64)
    t_slots = least_contested_first(types, inst.capacity)
    seq = types.type_of[order]
    out = run_kernel(
        seq,
        np.full(len(seq), -2, dtype=np.int64),
        t_indptr,
        t_slots,
        inst.capacity,
        compiled=compiled,
    )
    return distribute(types.type_of, order, t_indptr, t_slots, out["matched"], out["occ"])


@dataclass(frozen=True)
class Replay:
    """A schedule replayed in priority order (see :func:`replay_schedule`).

    ``component_of[i]``: the component whose failed search shows that unmatched applicant ``i``
    could not be added (-1 otherwise); ``components[c]`` its slots, ``refs[c]`` the earlier
    components it ran into; ``room[i]`` a free slot an augmenting path for unmatched applicant
    ``i`` reached (-1 when none) and ``moves[i]`` how many applicants that path moves, the
    newcomer included.
    """

    component_of: np.ndarray
    components: tuple[tuple[int, ...], ...]
    refs: tuple[tuple[int, ...], ...]
    room: np.ndarray
    moves: np.ndarray


def replay_schedule(
    inst: MatchingInstance,
    slot_of: np.ndarray,
    order: np.ndarray,
    *,
    compiled: bool | None = None,
) -> Replay:
    """Place the matched applicants of a feasible schedule in priority order and search for
    room for each unmatched one at its turn, without moving anyone for it."""
    types = inst.types
    order = np.asarray(order, dtype=np.int64)
    t_indptr = types.indptr.astype(np.int64)
    t_slots = types.slots.astype(np.int64)  # sorted within each type: pairs found by bisection
    seq = types.type_of[order]
    n_slots = max(inst.n_slots, 1)
    owner = np.repeat(np.arange(types.n_types, dtype=np.int64), np.diff(t_indptr))
    slots_in_order = slot_of[order]
    forced = np.full(len(seq), -1, dtype=np.int64)
    placed = slots_in_order >= 0
    forced[placed] = np.searchsorted(
        owner * n_slots + t_slots, seq[placed] * n_slots + slots_in_order[placed]
    )
    out = run_kernel(seq, forced, t_indptr, t_slots, inst.capacity, compiled=compiled)
    n_comp = out["n_comp"]
    component_of = np.full(inst.n_applicants, -1, dtype=np.int64)
    component_of[order] = out["comp_of"]
    room = np.full(inst.n_applicants, -1, dtype=np.int64)
    room[order] = out["found_slot"]
    moves = np.zeros(inst.n_applicants, dtype=np.int64)
    moves[order] = out["found_moves"]
    return Replay(
        component_of=component_of,
        components=_split(out["comp_slots"], out["comp_indptr"][: n_comp + 1]),
        refs=_split(out["refs"], out["ref_indptr"][: n_comp + 1]),
        room=room,
        moves=moves,
    )


def _split(flat: np.ndarray, indptr: np.ndarray) -> tuple[tuple[int, ...], ...]:
    values = flat[: int(indptr[-1])].tolist()
    bounds = indptr.tolist()
    return tuple(tuple(values[bounds[c] : bounds[c + 1]]) for c in range(len(bounds) - 1))


def run_kernel(
    seq: np.ndarray,
    forced: np.ndarray,
    t_indptr: np.ndarray,
    t_slots: np.ndarray,
    capacity: np.ndarray,
    *,
    compiled: bool | None = None,
) -> dict[str, Any]:
    """Run :func:`~slotopt.engines.matching.kernel.greedy_kernel` on a type sequence; returns
    its output buffers by name (``matched``, ``occ``, ``comp_of``, ``stats``, ...) and
    ``n_comp``."""
    small = compiled is None and len(seq) < COMPILE_ABOVE
    fn = None if compiled is False or small else kernel.compiled_kernel()
    if compiled and fn is None:
        raise RuntimeError(
            f"the compiled greedy is not available ({kernel.fallback_reason()}); "
            "install slotopt[fast]"
        )
    if fn is not None:
        buffers = _buffers(seq, forced, t_indptr, t_slots, capacity)
        try:
            n_comp = fn(**buffers)
        except Exception as exc:  # a numba that imports but cannot compile: fall back for good
            if compiled:
                raise
            kernel.mark_unusable(exc)
        else:
            return {**buffers, "n_comp": int(n_comp)}
    arrays = _buffers(seq, forced, t_indptr, t_slots, capacity)
    lists = {k: v.tolist() for k, v in arrays.items()}
    n_comp = kernel.greedy_kernel(**lists)
    out = {k: np.asarray(v, dtype=arrays[k].dtype) for k, v in lists.items()}
    return {**out, "n_comp": int(n_comp)}


def _buffers(
    seq: np.ndarray,
    forced: np.ndarray,
    t_indptr: np.ndarray,
    t_slots: np.ndarray,
    capacity: np.ndarray,
) -> dict[str, np.ndarray]:
    """Fresh input and work buffers of the kernel (layout in its module docstring)."""
    n_types, n_pairs, n_slots, n = len(t_indptr) - 1, len(t_slots), len(capacity), len(seq)
    pair_type = np.repeat(np.arange(n_types, dtype=np.int64), np.diff(t_indptr))
    # Free capacity beyond the number of applicants never matters; clipping keeps int64
    # arithmetic safe for huge capacities.
    free = np.minimum(capacity.astype(np.int64), n).astype(np.int64)
    roster_size = np.minimum(free, np.bincount(t_slots, minlength=n_slots))
    s_start = np.zeros(n_slots, dtype=np.int64)
    np.cumsum(roster_size[:-1], out=s_start[1:])
    roster_total = max(int(roster_size.sum()), 1)
    width = max(n_types, 1)

    def zeros(size: int) -> np.ndarray:
        return np.zeros(size, dtype=np.int64)

    def minus_one(size: int) -> np.ndarray:
        return np.full(size, -1, dtype=np.int64)

    return dict(
        seq=np.ascontiguousarray(seq, dtype=np.int64),
        forced=np.ascontiguousarray(forced, dtype=np.int64),
        t_indptr=t_indptr,
        t_slots=t_slots,
        pair_type=pair_type,
        free=free,
        occ=zeros(n_pairs),
        s_start=s_start,
        s_len=zeros(n_slots),
        roster=zeros(roster_total),
        roster_type=zeros(roster_total),
        slot_at=minus_one(n_pairs),
        matched=zeros(n_types),
        ptr=t_indptr[:-1].copy(),
        type_comp=minus_one(n_types),
        slot_comp=minus_one(n_slots),
        stamp=zeros(n_types),
        seen=zeros(n_slots),
        in_pair=zeros(n_slots),
        from_pair=zeros(n_slots),
        reached=zeros(n_slots),
        touched=zeros(width),
        expand=zeros(width),
        comp_of=minus_one(n),
        comp_indptr=zeros(width + 1),
        comp_slots=zeros(max(n_slots, 1)),
        ref_indptr=zeros(width + 1),
        # one failed search adds at most as many refs as it can meet components
        refs=zeros(max(n_pairs, 1)),
        ref_stamp=zeros(width),
        found_slot=minus_one(n),
        found_moves=zeros(n),
        stats=zeros(4),
    )


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
