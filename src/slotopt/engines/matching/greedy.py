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

from slotopt.engines.matching import kernel, layout
from slotopt.instance.matching import ApplicantTypes, MatchingInstance

COMPILE_ABOVE = 20_000
"""With ``compiled=None``, instances with fewer applicants run the Python kernel: it finishes
before numba would have loaded its cached machine code (about a second per process)."""

OUTPUTS = (
    "added",
    "comp_of",
    "found_slot",
    "found_moves",
    "comp_indptr",
    "comp_slots",
    "ref_indptr",
    "refs",
    "stats",
)
"""The kernel's per-entry and component outputs that :func:`run_kernel` can return."""


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


@dataclass(frozen=True, eq=False)
class GreedyPlan:
    """What :func:`greedy_matching` prepares from the instance alone, before the priority order
    matters: the types' slots least contested first and the kernel's layout of them. It depends
    on no seed, so it can be built while the lottery draws (:func:`plan_greedy`) and reused for
    other seeds of the same instance."""

    instance: MatchingInstance
    compiled: bool | None
    t_slots: np.ndarray
    view: _Layout


def plan_greedy(inst: MatchingInstance, *, compiled: bool | None = None) -> GreedyPlan:
    """The :class:`GreedyPlan` of ``inst`` (``compiled`` as for :func:`greedy_matching`)."""
    types = inst.types
    t_indptr = types.indptr.astype(np.int64)
    loops = _loops(inst.n_applicants, compiled)
    t_slots = None
    if loops is not None:
        try:
            t_slots = layout.least_contested_compiled(
                loops, t_indptr, types.slots, types.size, inst.capacity
            )
        except Exception:  # a numba that imports but cannot compile: the numpy version
            layout.mark_unusable()
    if t_slots is None:
        t_slots = least_contested_first(types, inst.capacity)
    fn, loops = _kernel_choice(inst.n_applicants, compiled)
    view = _Layout.build(t_indptr, t_slots, inst.n_slots, types.slots, loops=loops)
    return GreedyPlan(instance=inst, compiled=compiled, t_slots=t_slots, view=view)


def greedy_matching(
    inst: MatchingInstance,
    order: np.ndarray,
    *,
    compiled: bool | None = None,
    plan: GreedyPlan | None = None,
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
    plan
        The instance's :func:`plan_greedy` (with the same ``compiled``), when it was built
        beforehand; built here otherwise.

    Returns
    -------
    ndarray of shape (A,), int64
        ``slot_of[i]`` for applicant ``i``; the matched set is exactly Algorithm 1's.
    """
    if plan is None:
        plan = plan_greedy(inst, compiled=compiled)
    elif plan.instance is not inst or plan.compiled != compiled:
        raise ValueError("the greedy plan was made for another instance or kernel choice")
    types = inst.types
    order = np.asarray(order, dtype=np.int64)
    seq = types.type_of[order]
    view = plan.view
    out = run_kernel(
        seq,
        np.full(len(seq), -2, dtype=np.int64),
        types.indptr.astype(np.int64),
        plan.t_slots,
        inst.capacity,
        sorted_slots=types.slots,
        compiled=compiled,
        names=("added",),
        view=view,
        raw=True,
    )
    # in the layout's numbering (each type's slots keep their order there): no conversion of
    # the per-pair counts back to the types' numbering
    return distribute(view.new_of_old[types.type_of], order, view.t_slots, out["added"], out["occ"])


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
    out = run_kernel(
        seq, forced, t_indptr, t_slots, inst.capacity, sorted_slots=t_slots, compiled=compiled
    )
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
    sorted_slots: np.ndarray | None = None,
    compiled: bool | None = None,
    names: tuple[str, ...] = OUTPUTS,
    view: _Layout | None = None,
    raw: bool = False,
) -> dict[str, Any]:
    """Run :func:`~slotopt.engines.matching.kernel.greedy_kernel` on a type sequence.

    ``t_slots`` is each type's slots in the order the search tries them; ``sorted_slots``, if
    given, the same slots sorted within each type (``types.slots``), which saves a sort.

    Returns its outputs by name, in the numbering of the arguments: ``matched`` (per type),
    ``occ`` (per pair), ``n_comp`` and those of ``names`` (default all of :data:`OUTPUTS`:
    ``added``, ``comp_of``, ``found_slot``, ``found_moves`` (per entry), ``comp_indptr``,
    ``comp_slots``, ``ref_indptr``, ``refs``, ``stats``). ``view``: the layout of these
    ``t_indptr`` and ``t_slots`` when it was built beforehand (:func:`plan_greedy`). ``raw``:
    the kernel's own buffers, ``matched`` and ``occ`` in the layout's numbering (``view``'s
    ``new_of_old`` and ``pair_new``), without the conversions.
    """
    fn, loops = _kernel_choice(len(seq), compiled)
    if view is None:
        view = _Layout.build(t_indptr, t_slots, len(capacity), sorted_slots, loops=loops)
    if fn is not None:
        buffers = _buffers(view, seq, forced, capacity)
        try:
            n_comp = fn(**buffers)
        except Exception as exc:  # a numba that imports but cannot compile: fall back for good
            if compiled:
                raise
            kernel.mark_unusable(exc)
        else:
            return view.outputs(buffers, int(n_comp), names, raw=raw)
    arrays = _buffers(view, seq, forced, capacity)
    lists = {k: v.tolist() for k, v in arrays.items()}
    n_comp = kernel.greedy_kernel(**lists)
    out = {k: np.asarray(v, dtype=arrays[k].dtype) for k, v in lists.items()}
    return view.outputs(out, int(n_comp), names, raw=raw)


def _kernel_choice(n: int, compiled: bool | None) -> tuple[Any, tuple[Any, ...] | None]:
    """(the compiled kernel or None, the compiled layout loops or None) for ``n`` entries."""
    small = compiled is None and n < COMPILE_ABOVE
    fn = None if compiled is False or small else kernel.compiled_kernel()
    if compiled and fn is None:
        raise RuntimeError(
            f"the compiled greedy is not available ({kernel.fallback_reason()}); "
            "install slotopt[fast]"
        )
    return fn, (_loops(n, compiled) if fn is not None else None)


def _loops(n: int, compiled: bool | None) -> tuple[Any, ...] | None:
    """The compiled layout loops when the compiled kernel would run (same rule), else None."""
    if compiled is False or (compiled is None and n < COMPILE_ABOVE):
        return None
    if kernel.compiled_kernel() is None:
        return None
    return layout.compiled_loops()


@dataclass(frozen=True)
class _Layout:
    """The kernel's view of the types: renumbered for locality, with 64-slot words.

    A search touches types whose slots lie close together, so types are renumbered by the first
    slot they list (ties by type index): their buffers then sit near each other in memory. The
    kernel's steps never compare type numbers, only use them as indices, so a renumbering
    changes no decision; :meth:`outputs` maps the results back. ``w_idx[w_indptr[t]:...]`` and
    ``w_mask`` are type ``t``'s slots as 64-bit words (slot ``s`` is bit ``s % 64`` of word
    ``s // 64``; stored as int64, bit 63 being the sign bit). Every index array is of dtype
    ``index``, the kernel's, so the kernel's buffers use them without a copy.
    """

    new_of_old: np.ndarray  # (T,) new type number of each type
    pair_new: np.ndarray  # (P,) new pair index of each pair
    t_indptr: np.ndarray
    t_slots: np.ndarray
    pair_type: np.ndarray  # (P,) the (new) type of each new pair
    w_indptr: np.ndarray
    w_idx: np.ndarray
    w_mask: np.ndarray
    n_words: int
    index: np.dtype[Any]  # of the index buffers: int32 when every index fits

    @classmethod
    def build(
        cls,
        t_indptr: np.ndarray,
        t_slots: np.ndarray,
        n_slots: int,
        sorted_slots: np.ndarray | None = None,
        *,
        loops: tuple[Any, ...] | None = None,
    ) -> _Layout:
        """The layout by numpy sorts, or by the compiled loops (:mod:`.layout`) when given:
        the same arrays either way."""
        n_types, n_pairs = len(t_indptr) - 1, len(t_slots)
        big = max(n_pairs, n_types, n_slots) + 2
        index = np.dtype(np.int32 if big < 2**31 - 1 else np.int64)
        n_words = (max(n_slots, 1) + 63) // 64
        if loops is not None and sorted_slots is not None:
            try:
                arrays = layout.layout_compiled(
                    loops, t_indptr, t_slots, sorted_slots, n_slots, index
                )
            except Exception:  # a numba that imports but cannot compile: the numpy version
                layout.mark_unusable()
            else:
                return cls(**arrays, n_words=n_words, index=index)
        lengths = np.diff(t_indptr)
        first = np.full(n_types, n_slots, dtype=np.int64)
        nonempty = lengths > 0
        first[nonempty] = t_slots[t_indptr[:-1][nonempty]]
        old_of_new = np.argsort(first, kind="stable")
        new_of_old = np.empty(n_types, dtype=np.int64)
        new_of_old[old_of_new] = np.arange(n_types)
        new_indptr, take = _regroup(t_indptr, old_of_new)
        pair_new = np.empty(n_pairs, dtype=np.int64)
        pair_new[take] = np.arange(n_pairs)
        # the words of each type: one per run of equal (type, slot // 64) in its sorted slots
        owner = np.repeat(np.arange(n_types, dtype=np.int64), lengths)
        span = max(n_slots, 1) + 64
        if sorted_slots is None:
            sorted_slots = np.sort(owner * span + t_slots) - owner * span
        word_key = owner * span + (sorted_slots >> 6)
        starts = np.flatnonzero(np.r_[True, word_key[1:] != word_key[:-1]]) if n_pairs else owner
        bits = (np.uint64(1) << (sorted_slots & 63).astype(np.uint64)).view(np.int64)
        w_mask = np.bitwise_or.reduceat(bits, starts) if n_pairs else bits
        w_old_indptr = np.zeros(n_types + 1, dtype=np.int64)
        np.cumsum(np.bincount(owner[starts], minlength=n_types), out=w_old_indptr[1:])
        w_indptr, w_take = _regroup(w_old_indptr, old_of_new)
        return cls(
            new_of_old=new_of_old.astype(index),
            pair_new=pair_new.astype(index),
            t_indptr=new_indptr.astype(index),
            t_slots=t_slots[take].astype(index),
            pair_type=np.repeat(np.arange(n_types, dtype=index), np.diff(new_indptr)),
            w_indptr=w_indptr.astype(index),
            w_idx=(word_key[starts] % span)[w_take].astype(index),
            w_mask=w_mask[w_take],
            n_words=n_words,
            index=index,
        )

    def outputs(
        self,
        buffers: dict[str, Any],
        n_comp: int,
        names: tuple[str, ...] = OUTPUTS,
        *,
        raw: bool = False,
    ) -> dict[str, Any]:
        """The kernel's results in the callers' numbering (int64): ``names`` (of
        :data:`OUTPUTS`), ``matched``, ``occ`` and ``n_comp``; with ``raw``, the buffers as
        the kernel left them (``matched`` and ``occ`` in this layout's numbering)."""
        if raw:
            kept = {name: buffers[name] for name in (*names, "matched", "occ")}
            return {**kept, "n_comp": n_comp}
        out: dict[str, Any] = {name: np.asarray(buffers[name], dtype=np.int64) for name in names}
        out["matched"] = np.asarray(buffers["matched"], dtype=np.int64)[self.new_of_old]
        out["occ"] = np.asarray(buffers["occ"], dtype=np.int64)[self.pair_new]
        out["n_comp"] = n_comp
        return out


def _regroup(indptr: np.ndarray, old_of_new: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CSR rows in a new order: the new ``indptr`` and, for each new entry, its old index."""
    lengths = np.diff(indptr)[old_of_new]
    new_indptr = np.zeros(len(old_of_new) + 1, dtype=np.int64)
    np.cumsum(lengths, out=new_indptr[1:])
    take = np.repeat(indptr[:-1][old_of_new] - new_indptr[:-1], lengths) + np.arange(
        int(new_indptr[-1]), dtype=np.int64
    )
    return new_indptr, take


def _buffers(
    layout: _Layout, seq: np.ndarray, forced: np.ndarray, capacity: np.ndarray
) -> dict[str, np.ndarray]:
    """Fresh input and work buffers of the kernel (layout in its module docstring)."""
    t_indptr, t_slots, index = layout.t_indptr, layout.t_slots, layout.index
    n_types, n_pairs, n_slots, n = len(t_indptr) - 1, len(t_slots), len(capacity), len(seq)
    # Free capacity beyond the number of applicants never matters; clipping keeps the
    # arithmetic safe for huge capacities.
    free = np.minimum(capacity.astype(np.int64), n).astype(index)
    roster_size = np.minimum(free, np.bincount(t_slots, minlength=n_slots))
    s_start = np.zeros(n_slots, dtype=index)
    np.cumsum(roster_size[:-1], out=s_start[1:])
    roster_total = max(int(roster_size.sum()), 1)
    width = max(n_types, 1)
    slots = np.arange(n_slots, dtype=np.int64)
    forced = np.asarray(forced, dtype=np.int64)
    placed = forced >= 0
    if placed.any():
        forced = forced.copy()
        forced[placed] = layout.pair_new[forced[placed]]

    def zeros(size: int, dtype: Any = index) -> np.ndarray:
        return np.zeros(size, dtype=dtype)

    def minus_one(size: int) -> np.ndarray:
        return np.full(size, -1, dtype=index)

    return dict(
        seq=layout.new_of_old[seq],
        forced=forced.astype(index),
        # read-only in the kernel: the layout's own arrays
        t_indptr=t_indptr,
        t_slots=t_slots,
        pair_type=layout.pair_type,
        w_indptr=layout.w_indptr,
        w_idx=layout.w_idx,
        w_mask=layout.w_mask,
        s_word=(slots >> 6).astype(index),
        s_bit=(np.uint64(1) << (slots & 63).astype(np.uint64)).view(np.int64),
        free=free,
        occ=zeros(n_pairs),
        s_start=s_start,
        s_len=zeros(n_slots),
        roster=zeros(roster_total),
        roster_type=zeros(roster_total),
        slot_at=minus_one(n_pairs),
        matched=zeros(n_types),
        added=zeros(n, np.int8),
        ptr=t_indptr[:-1].copy(),
        gone=zeros(n_types, np.int8),
        type_comp=minus_one(n_types),
        slot_comp=minus_one(n_slots),
        dead_bits=zeros(layout.n_words, np.int64),
        stamp=zeros(n_types),
        seen=zeros(n_slots),
        seen_bits=zeros(layout.n_words, np.int64),
        in_pair=zeros(n_slots),
        from_pair=zeros(n_slots),
        reached=zeros(n_slots),
        touched=zeros(width),
        expand=zeros(width),
        expand_type=zeros(width),
        comp_of=minus_one(n),
        comp_indptr=zeros(width + 1),
        comp_slots=zeros(max(n_slots, 1)),
        ref_indptr=zeros(width + 1),
        # one failed search adds at most as many refs as it can meet components
        refs=zeros(max(n_pairs, 1)),
        ref_stamp=zeros(width),
        found_slot=minus_one(n),
        found_moves=zeros(n),
        stats=zeros(4, np.int64),
    )


def distribute(
    type_of: np.ndarray,
    order: np.ndarray,
    t_slots: np.ndarray,
    added: np.ndarray,
    occ: np.ndarray,
) -> np.ndarray:
    """One slot per applicant from the kernel's outcome: the applicants added (``added[k]`` for
    the ``k``-th in priority order) are, type by type, a priority prefix of its members; they are
    spread over its slots as ``occ`` says (members of a type are interchangeable for
    feasibility; earlier members take earlier-listed slots)."""
    slot_of = np.full(len(type_of), -1, dtype=np.int64)
    chosen = order[np.asarray(added, dtype=bool)]  # in priority order
    chosen = chosen[np.argsort(type_of[chosen], kind="stable")]  # grouped by type
    slot_of[chosen] = np.repeat(t_slots, occ)
    return slot_of
