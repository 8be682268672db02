"""The greedy's inner loop over flat arrays, compiled with numba when it is usable.

:func:`greedy_kernel` is written once, in the subset of Python that numba compiles (index
operations on flat buffers, no objects), and runs either compiled on numpy arrays or as plain
Python on lists. Both execute the same statements in the same order, so the schedule does not
depend on whether numba is installed (tests compare the two).

Data layout (``P`` = type-slot pairs, ``S`` = slots, ``T`` = types):

* ``t_indptr`` (T+1,), ``t_slots`` (P,): type ``t``'s slots, least contested first;
  ``pair_type`` (P,) the type of each pair.
* ``w_idx[w_indptr[t]:w_indptr[t+1]]`` / ``w_mask``: the same slots as 64-bit words (slot ``s``
  is bit ``s_bit[s]`` of word ``s_word[s]``); ``seen_bits`` and ``dead_bits`` (S/64,) hold the
  slots reached by the current search and the dead ones in the same words.
* ``free`` (S,): free capacity; only ever decreases along the run. ``gone[t]`` is set once
  every slot of ``t`` is full, which is then so for good.
* ``occ`` (P,): applicants of the pair's type sitting in the pair's slot.
* a per-slot occupant list, ``roster[s_start[s] : s_start[s] + s_len[s]]``, of the pairs with
  ``occ > 0`` at slot ``s`` (their types alongside in ``roster_type``, which saves a memory
  access per occupant in the search; ``slot_at[p]`` is ``p``'s place in it, -1 when absent);
  removal swaps in the last entry. The list of a slot holds at most ``min(capacity, types accepting
  it)`` entries, which is how ``s_start`` is sized.

The same loop replays a given schedule in priority order (``forced``), which is how the
certificates build their priority witnesses: each unmatched applicant's failed search is the
closed, full set of slots that proves it could not be added.

One augmenting-path search is a breadth-first search over types, in which each type is
expanded once and every occupant of a newly reached slot is asked at once for a free slot (an
O(1) pointer test, the pointer only moving forward), so a search stops at the first type that
can move out. A failed search marks
every slot it reached dead (full, and closed: no occupant can leave; recorded as a *component*)
and every type it touched dead (no later member of it can be added), so neither is looked at
again; since a type that fails
once never succeeds later, its remaining members are skipped in O(1).

Three shortcuts skip work without changing any decision (so the schedule is bit for bit the
one of the plain search). An expanded type whose slots are all reached or dead reaches nothing
(its slot list would be read only to skip every entry); its words say so in a few operations.
A type found without a free slot once is ``gone`` and not asked again. The earlier components
a failed search ran into are collected after it failed, from the types it touched: in a
failed search every touched type was expanded, in the order it was touched, so the list is the
one the search would have collected while expanding.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from slotopt._jit import DISABLE_ENV  # set (non-empty): the pure-Python kernel, and no numba

__all__ = ["DISABLE_ENV", "compiled_kernel", "fallback_reason", "greedy_kernel", "mark_unusable"]


def greedy_kernel(  # noqa: PLR0912, PLR0913, PLR0915 - one loop, kept whole for the compiler
    seq: Any,
    forced: Any,
    t_indptr: Any,
    t_slots: Any,
    pair_type: Any,
    w_indptr: Any,
    w_idx: Any,
    w_mask: Any,
    s_word: Any,
    s_bit: Any,
    free: Any,
    occ: Any,
    s_start: Any,
    s_len: Any,
    roster: Any,
    roster_type: Any,
    slot_at: Any,
    matched: Any,
    added: Any,
    ptr: Any,
    gone: Any,
    type_comp: Any,
    slot_comp: Any,
    dead_bits: Any,
    stamp: Any,
    seen: Any,
    seen_bits: Any,
    in_pair: Any,
    from_pair: Any,
    reached: Any,
    touched: Any,
    expand: Any,
    expand_type: Any,
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
    there in the schedule). Outputs: ``matched`` (per type), ``added[k]`` (1 when entry ``k``
    was placed or added), ``occ`` (per pair), ``comp_of[k]`` (the component whose failed search
    turned entry ``k`` away, else -1) and the components:
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
            added[k] = 1
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
        while True:
            # Most expanded types reach nothing new: every one of their slots was reached
            # already or is dead. One test per 64-slot word of the type's slots says so
            # before its slot list is read.
            fresh = False
            for i in range(w_indptr[u], w_indptr[u + 1]):
                w = w_idx[i]
                if (w_mask[i] & ~(seen_bits[w] | dead_bits[w])) != 0:
                    fresh = True
                    break
            if fresh:
                for q in range(t_indptr[u], t_indptr[u + 1]):
                    s = t_slots[q]
                    if slot_comp[s] >= 0 or seen[s] == sid:
                        continue
                    seen[s] = sid
                    seen_bits[s_word[s]] |= s_bit[s]
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
                        if gone[v] == 0:
                            v_end = t_indptr[v + 1]
                            pv = ptr[v]
                            while pv < v_end and free[t_slots[pv]] <= 0:
                                pv += 1
                            ptr[v] = pv
                            if pv < v_end:
                                found_from = roster[base + r]
                                found_to = pv
                                break
                            gone[v] = 1  # free capacity only decreases: never again
                        expand[tail] = roster[base + r]
                        expand_type[tail] = v
                        tail += 1
                    if found_to >= 0:
                        break
            if found_to >= 0 or head == tail:
                break
            a = expand[head]
            u = expand_type[head]
            head += 1
        for j in range(n_reached):
            seen_bits[s_word[reached[j]]] = 0
        if found_to < 0:
            # Everything reached is full and closed for good: a new component. The earlier
            # components it ran into are the dead slots of the types it expanded, which in a
            # failed search are all the types it touched, in the order they were expanded.
            for j in range(n_touched):
                v = touched[j]
                for q in range(t_indptr[v], t_indptr[v + 1]):
                    c = slot_comp[t_slots[q]]
                    if c >= 0 and ref_stamp[c] != sid:
                        ref_stamp[c] = sid
                        refs[n_refs] = c
                        n_refs += 1
            stats[3] += n_reached
            for j in range(n_reached):
                s = reached[j]
                slot_comp[s] = n_comp
                dead_bits[s_word[s]] |= s_bit[s]
                comp_slots[n_dead] = s
                n_dead += 1
            comp_indptr[n_comp + 1] = n_dead
            ref_indptr[n_comp + 1] = n_refs
            for j in range(n_touched):
                type_comp[touched[j]] = n_comp
            comp_of[k] = n_comp
            n_comp += 1
            continue
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
        added[k] = 1
    return n_comp


_COMPILED: Callable[..., int] | None = None
_COMPILE_ERROR: str | None = None


def compiled_kernel() -> Callable[..., int] | None:
    """The numba-compiled kernel, or None when numba is missing, unusable or disabled.

    Compiled on first use (cached on disk by numba); the reason for a fallback is kept in
    :func:`fallback_reason`.
    """
    global _COMPILED, _COMPILE_ERROR
    if os.environ.get(DISABLE_ENV):
        return None
    if _COMPILED is not None or _COMPILE_ERROR is not None:
        return _COMPILED
    try:
        import numba

        _COMPILED = numba.njit(cache=True, nogil=True)(greedy_kernel)
    except Exception as exc:  # any import or setup failure means: use the Python kernel
        _COMPILE_ERROR = f"{type(exc).__name__}: {exc}"
        return None
    return _COMPILED


def fallback_reason() -> str | None:
    """Why the compiled kernel is not used (None when it is or has not been tried)."""
    if os.environ.get(DISABLE_ENV):
        return f"{DISABLE_ENV} is set"
    return _COMPILE_ERROR


def mark_unusable(exc: BaseException) -> None:
    """Record that the compiled kernel failed when called, so the Python one is used from now."""
    global _COMPILED, _COMPILE_ERROR
    _COMPILED = None
    _COMPILE_ERROR = f"{type(exc).__name__}: {exc}"
