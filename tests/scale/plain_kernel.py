"""The greedy's kernel as it was before the search shortcuts (types renumbered, word tests,
``gone`` flags, refs collected after a failed search), kept as the oracle of the *schedule*:
the kernel must reach exactly the same decisions, so the same slot for every applicant and the
same witness components, bit for bit. Run as plain Python only."""

from __future__ import annotations

from typing import Any

import numpy as np

from slotopt.engines.matching.greedy import least_contested_first
from slotopt.instance.matching import MatchingInstance


def plain_greedy(inst: MatchingInstance, order: np.ndarray) -> np.ndarray:
    """``slot_of`` as the previous kernel chose it."""
    types = inst.types
    t_indptr = types.indptr.astype(np.int64)
    t_slots = least_contested_first(types, inst.capacity)
    out = _run(types.type_of[order], np.full(len(order), -2), t_indptr, t_slots, inst.capacity)
    return distribute(types.type_of, order, t_indptr, t_slots, out["matched"], out["occ"])


def plain_replay(inst: MatchingInstance, slot_of: np.ndarray, order: np.ndarray) -> dict[str, Any]:
    """The previous kernel's replay outputs (components, refs, rooms) by name."""
    types = inst.types
    t_indptr = types.indptr.astype(np.int64)
    t_slots = types.slots.astype(np.int64)
    seq = types.type_of[order]
    n_slots = max(inst.n_slots, 1)
    owner = np.repeat(np.arange(types.n_types, dtype=np.int64), np.diff(t_indptr))
    slots_in_order = slot_of[order]
    forced = np.full(len(seq), -1, dtype=np.int64)
    placed = slots_in_order >= 0
    forced[placed] = np.searchsorted(
        owner * n_slots + t_slots, seq[placed] * n_slots + slots_in_order[placed]
    )
    return _run(seq, forced, t_indptr, t_slots, inst.capacity)


def _run(
    seq: np.ndarray,
    forced: np.ndarray,
    t_indptr: np.ndarray,
    t_slots: np.ndarray,
    capacity: np.ndarray,
) -> dict[str, Any]:
    arrays = _buffers(seq, forced, t_indptr, t_slots, capacity)
    lists = {k: v.tolist() for k, v in arrays.items()}
    n_comp = plain_kernel(**lists)
    out = {k: np.asarray(v, dtype=np.int64) for k, v in lists.items()}
    return {**out, "n_comp": int(n_comp)}


def plain_kernel(  # noqa: PLR0912, PLR0913, PLR0915
    seq: Any,
    forced: Any,
    t_indptr: Any,
    t_slots: Any,
    pair_type: Any,
    free: Any,
    occ: Any,
    s_start: Any,
    s_len: Any,
    roster: Any,
    roster_type: Any,
    slot_at: Any,
    matched: Any,
    ptr: Any,
    type_comp: Any,
    slot_comp: Any,
    stamp: Any,
    seen: Any,
    in_pair: Any,
    from_pair: Any,
    reached: Any,
    touched: Any,
    expand: Any,
    comp_of: Any,
    comp_indptr: Any,
    comp_slots: Any,
    ref_indptr: Any,
    refs: Any,
    ref_stamp: Any,
    found_slot: Any,
    found_moves: Any,
    stats: Any,
) -> int:
    """Run Algorithm 1 over the type sequence ``seq`` (the type of each applicant, in priority
    order), or replay a given schedule; returns the number of components (failed searches).

    ``forced[k]`` says what to do with entry ``k``: ``-2`` decide (Algorithm 1: add the
    applicant if an augmenting path exists, and apply it), ``-1`` only search (the applicant is
    unmatched in the schedule being replayed: a path found is recorded in ``found_slot[k]`` /
    ``found_moves[k]`` and not applied), ``p >= 0`` place the applicant in pair ``p`` (matched
    there in the schedule). Outputs: ``matched`` (per type), ``occ`` (per pair), ``comp_of[k]``
    (the component whose failed search turned entry ``k`` away, else -1) and the components:
    ``comp_slots[comp_indptr[c]:comp_indptr[c+1]]`` the slots search ``c`` found full and
    closed, ``refs[ref_indptr[c]:ref_indptr[c+1]]`` the earlier components it ran into.
    ``stats`` (4,) receives: direct placements, successful searches, slots reached by
    successful searches, slots reached by failed ones. Every other argument is a work buffer
    (module docstring).
    """
    sid = 0
    n_comp = 0
    n_dead = 0
    n_refs = 0
    for k in range(len(seq)):
        t = seq[k]
        end = t_indptr[t + 1]
        if end == t_indptr[t]:  # accepts nothing
            continue
        p = forced[k]
        if p < 0 and type_comp[t] >= 0:  # failed before: never succeeds again
            comp_of[k] = type_comp[t]
            continue
        if p < 0:
            # a free slot of t's own: the common case
            p = ptr[t]
            while p < end and free[t_slots[p]] <= 0:
                p += 1
            ptr[t] = p
            if p == end:
                p = -1
            elif forced[k] == -1:
                found_slot[k] = t_slots[p]
                found_moves[k] = 1
                continue
        if p >= 0:
            s = t_slots[p]
            free[s] -= 1
            if occ[p] == 0:
                slot_at[p] = s_len[s]
                roster[s_start[s] + s_len[s]] = p
                roster_type[s_start[s] + s_len[s]] = t
                s_len[s] += 1
            occ[p] += 1
            matched[t] += 1
            stats[0] += 1
            continue
        # Breadth-first search for an augmenting path, over types: a slot's occupants are
        # asked for a free slot of their own the moment the slot is reached (an O(1) pointer
        # test), and a type is expanded (its slots reached) only when its turn in the queue
        # comes, so a successful search stops at the first occupant that can move out.
        sid += 1
        stamp[t] = sid
        n_reached = 0
        n_touched = 0
        touched[n_touched] = t
        n_touched += 1
        head = 0
        tail = 0
        found_from = -1
        found_to = -1
        a = -1  # the pair (type, slot) whose type's slots are being reached; -1: the newcomer
        u = t
        ref_start = n_refs
        while True:
            for q in range(t_indptr[u], t_indptr[u + 1]):
                s = t_slots[q]
                c = slot_comp[s]
                if c >= 0:
                    if ref_stamp[c] != sid:
                        ref_stamp[c] = sid
                        refs[n_refs] = c
                        n_refs += 1
                    continue
                if seen[s] == sid:
                    continue
                seen[s] = sid
                in_pair[s] = q
                from_pair[s] = a
                reached[n_reached] = s
                n_reached += 1
                base = s_start[s]
                for r in range(s_len[s]):
                    v = roster_type[base + r]
                    if stamp[v] == sid:
                        continue
                    stamp[v] = sid
                    touched[n_touched] = v
                    n_touched += 1
                    v_end = t_indptr[v + 1]
                    pv = ptr[v]
                    while pv < v_end and free[t_slots[pv]] <= 0:
                        pv += 1
                    ptr[v] = pv
                    if pv < v_end:
                        found_from = roster[base + r]
                        found_to = pv
                        break
                    expand[tail] = roster[base + r]
                    tail += 1
                if found_to >= 0:
                    break
            if found_to >= 0 or head == tail:
                break
            a = expand[head]
            head += 1
            u = pair_type[a]
        if found_to < 0:
            # everything reached is full and closed for good: a new component
            stats[3] += n_reached
            for j in range(n_reached):
                slot_comp[reached[j]] = n_comp
                comp_slots[n_dead] = reached[j]
                n_dead += 1
            comp_indptr[n_comp + 1] = n_dead
            ref_indptr[n_comp + 1] = n_refs
            for j in range(n_touched):
                type_comp[touched[j]] = n_comp
            comp_of[k] = n_comp
            n_comp += 1
            continue
        n_refs = ref_start  # refs only matter for failed searches
        stats[1] += 1
        stats[2] += n_reached
        if forced[k] == -1:
            moves = 2
            s = t_slots[found_from]
            while from_pair[s] >= 0:
                moves += 1
                s = t_slots[from_pair[s]]
            found_slot[k] = t_slots[found_to]
            found_moves[k] = moves
            continue
        # apply the path: found_from -> found_to, then back along the parents to the newcomer
        src = found_from
        dst = found_to
        while True:
            s = t_slots[dst]
            free[s] -= 1
            if occ[dst] == 0:
                slot_at[dst] = s_len[s]
                roster[s_start[s] + s_len[s]] = dst
                roster_type[s_start[s] + s_len[s]] = pair_type[dst]
                s_len[s] += 1
            occ[dst] += 1
            if src < 0:
                break
            s = t_slots[src]
            free[s] += 1
            occ[src] -= 1
            if occ[src] == 0:
                last = s_len[s] - 1
                moved = roster[s_start[s] + last]
                roster[s_start[s] + slot_at[src]] = moved
                roster_type[s_start[s] + slot_at[src]] = roster_type[s_start[s] + last]
                slot_at[moved] = slot_at[src]
                slot_at[src] = -1
                s_len[s] = last
            dst = in_pair[s]
            src = from_pair[s]
        matched[t] += 1
    return n_comp


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
