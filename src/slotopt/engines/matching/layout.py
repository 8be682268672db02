"""The kernel's slot order and type layout in single passes, compiled with numba.

:func:`slotopt.engines.matching.greedy.least_contested_first` and ``greedy._Layout.build``
compute the same arrays with numpy sorts over every type-slot pair; at a million applicants
those sorts and temporaries cost more than the search's setup should. The loops here give the
same arrays (bit for bit; the tests compare them on random instances) in one or two passes: a
per-type insertion sort of a dozen slots instead of a global sort, and a counting sort of the
types by their first slot instead of an argsort. They are only used compiled; without numba the
numpy versions run (the loops as plain Python would be slower than numpy).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import slotopt._jit as _jit


def contested_loop(indptr: Any, slots: Any, by_demand: Any, place: Any, out: Any) -> None:
    """``out``: each type's slots sorted by ``place`` (``place[by_demand[j]] == j``)."""
    n_types = len(indptr) - 1
    buf = np.empty(64, dtype=np.int64)
    for t in range(n_types):
        lo = indptr[t]
        hi = indptr[t + 1]
        n = hi - lo
        if n > len(buf):
            buf = np.empty(2 * n, dtype=np.int64)
        for i in range(n):  # insertion sort of the places (distinct within a type)
            v = place[slots[lo + i]]
            j = i
            while j > 0 and buf[j - 1] > v:
                buf[j] = buf[j - 1]
                j -= 1
            buf[j] = v
        for i in range(n):
            out[lo + i] = by_demand[buf[i]]


def demand_loop(indptr: Any, slots: Any, size: Any, demand: Any) -> None:
    """``demand[s]`` += the size of every type accepting ``s``, in pair order (as
    ``np.bincount`` with weights adds them)."""
    for t in range(len(indptr) - 1):
        w = float(size[t])
        for p in range(indptr[t], indptr[t + 1]):
            demand[slots[p]] += w


def layout_loop(  # noqa: PLR0913 - flat buffers for the compiler
    t_indptr: Any,
    t_slots: Any,
    sorted_slots: Any,
    n_slots: int,
    new_of_old: Any,
    pair_new: Any,
    new_indptr: Any,
    new_slots: Any,
    pair_type: Any,
    w_indptr: Any,
    w_idx: Any,
    w_mask: Any,
) -> int:
    """Renumber the types by first slot (stable), regroup their slots and words; returns the
    number of words."""
    n_types = len(t_indptr) - 1
    count = np.zeros(n_slots + 2, dtype=np.int64)
    first = np.empty(n_types, dtype=np.int64)
    for t in range(n_types):
        f = n_slots if t_indptr[t + 1] == t_indptr[t] else t_slots[t_indptr[t]]
        first[t] = f
        count[f + 1] += 1
    for s in range(n_slots + 1):
        count[s + 1] += count[s]
    old_of_new = np.empty(n_types, dtype=np.int64)
    for t in range(n_types):
        f = first[t]
        old_of_new[count[f]] = t
        count[f] += 1
    pos = 0
    n_words = 0
    one = np.uint64(1)
    for i in range(n_types):
        t = old_of_new[i]
        new_of_old[t] = i
        lo = t_indptr[t]
        hi = t_indptr[t + 1]
        for p in range(lo, hi):
            pair_new[p] = pos
            new_slots[pos] = t_slots[p]
            pair_type[pos] = i
            pos += 1
        new_indptr[i + 1] = pos
        last = -1
        for p in range(lo, hi):
            s = sorted_slots[p]
            w = s >> 6
            if w != last:
                w_idx[n_words] = w
                w_mask[n_words] = 0
                n_words += 1
                last = w
            w_mask[n_words - 1] |= one << np.uint64(s & 63)
        w_indptr[i + 1] = n_words
    return n_words


Loops = tuple[Callable[..., Any], ...]
#: The name the loops are compiled and kept under (:func:`slotopt._jit.compiled`).
GROUP = "engines.matching.layout"


def compiled_loops() -> Loops | None:
    """``(demand_loop, contested_loop, layout_loop)`` compiled, or None without numba, after
    :func:`mark_unusable` or with :data:`slotopt._jit.DISABLE_ENV` set."""
    return _jit.compiled(GROUP, demand_loop, contested_loop, layout_loop)


def mark_unusable() -> None:
    """The compiled loops failed when called: use the numpy versions from now on."""
    _jit.mark_unusable(GROUP)


def least_contested_compiled(
    loops: Loops,
    indptr: np.ndarray,
    slots: np.ndarray,
    size: np.ndarray,
    capacity: np.ndarray,
) -> np.ndarray:
    """:func:`~slotopt.engines.matching.greedy.least_contested_first` by the compiled loops."""
    demand_fn, contested_fn = loops[0], loops[1]
    n_slots = len(capacity)
    demand = np.zeros(n_slots, dtype=np.float64)
    demand_fn(indptr, slots, size, demand)
    demand /= np.maximum(capacity, 1)
    by_demand = np.lexsort((np.arange(n_slots), demand)).astype(np.int64)
    place = np.empty(n_slots, dtype=np.int64)
    place[by_demand] = np.arange(n_slots)
    out = np.empty(len(slots), dtype=np.int64)
    contested_fn(indptr, slots, by_demand, place, out)
    return out


def layout_compiled(
    loops: Loops,
    t_indptr: np.ndarray,
    t_slots: np.ndarray,
    sorted_slots: np.ndarray,
    n_slots: int,
    index: np.dtype[Any],
) -> dict[str, np.ndarray]:
    """The arrays of ``greedy._Layout`` by the compiled loop (same names; index arrays of
    dtype ``index``)."""
    layout_fn = loops[2]
    n_types, n_pairs = len(t_indptr) - 1, len(t_slots)
    new_of_old = np.empty(n_types, dtype=index)
    pair_new = np.empty(n_pairs, dtype=index)
    new_indptr = np.zeros(n_types + 1, dtype=index)
    new_slots = np.empty(n_pairs, dtype=index)
    pair_type = np.empty(n_pairs, dtype=index)
    w_indptr = np.zeros(n_types + 1, dtype=index)
    w_idx = np.empty(n_pairs, dtype=index)
    w_mask = np.empty(n_pairs, dtype=np.uint64)
    n_words = layout_fn(
        t_indptr,
        t_slots,
        sorted_slots,
        n_slots,
        new_of_old,
        pair_new,
        new_indptr,
        new_slots,
        pair_type,
        w_indptr,
        w_idx,
        w_mask,
    )
    return dict(
        new_of_old=new_of_old,
        pair_new=pair_new,
        t_indptr=new_indptr,
        t_slots=new_slots,
        pair_type=pair_type,
        w_indptr=w_indptr,
        w_idx=w_idx[:n_words].copy(),
        w_mask=w_mask[:n_words].view(np.int64).copy(),
    )
