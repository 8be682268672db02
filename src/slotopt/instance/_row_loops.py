"""Row-wise passes over the acceptable-set table in single compiled loops.

At a million applicants the numpy versions in :mod:`slotopt.instance.matching` (the repeated-
pair check of loading, the per-row sort and the type grouping) sort or gather all eleven million
pairs several times, and a fresh process pays for every temporary in page faults. The loops
here give the same answers in one or two passes over the pairs: a per-row insertion sort of a
dozen slots instead of a global sort, a last-seen stamp per slot instead of sorting pairs to
find a repeat, and one hash table of distinct sets, whose every hit is confirmed element by
element, instead of two hash sums, a sort and a comparison.

They are plain Python (integer arithmetic that stays below 2**63, so numba and Python compute
the same hashes), used compiled through :func:`slotopt._jit.compiled` above
:data:`COMPILE_ABOVE` pairs; without numba the numpy versions run. The tests run the loops
both ways and compare them with the numpy versions.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

import slotopt._jit as _jit

#: Fewer acceptable pairs than this take the numpy versions (numba's start-up costs more).
COMPILE_ABOVE = 200_000
_INSERTION_MAX = 32  # longer rows are sorted with np.sort
_LOW40 = (1 << 40) - 1  # a row's running hash stays below 2**40, its products below 2**63
_LOW31 = (1 << 31) - 1
_GROUP = "instance.rows"


def sort_rows_loop(indptr: Any, values: Any, out: Any) -> int:
    """``out``: each row of ``values`` sorted; returns how many rows were not sorted already."""
    unsorted = 0
    for r in range(len(indptr) - 1):
        lo = indptr[r]
        hi = indptr[r + 1]
        rising = True
        for p in range(lo + 1, hi):
            if values[p] < values[p - 1]:
                rising = False
                break
        if rising:
            for p in range(lo, hi):
                out[p] = values[p]
            continue
        unsorted += 1
        if hi - lo > _INSERTION_MAX:
            out[lo:hi] = np.sort(values[lo:hi])
            continue
        for p in range(lo, hi):
            v = values[p]
            q = p
            while q > lo and out[q - 1] > v:
                out[q] = out[q - 1]
                q -= 1
            out[q] = v
    return unsorted


def repeated_pair_loop(owner: Any, values: Any, n_values: int) -> int:
    """1 if some (owner, value) pair occurs twice, 0 if none does, -1 when that cannot be told
    this way: ``owner`` decreases somewhere before a repeat is met (the pairs of one owner are
    not together), and the caller sorts instead."""
    seen = np.full(max(n_values, 1), -1, dtype=np.int64)
    last = -1
    for p in range(len(owner)):
        a = owner[p]
        if a < last:
            return -1
        last = a
        v = values[p]
        if seen[v] == a:
            return 1
        seen[v] = a
    return 0


def canonical_loop(owner: Any, rank: Any, values: Any) -> bool:
    """Whether the pairs are in (owner, rank with unranked (negative) last, value) order, each
    pair after the one before it."""
    for p in range(1, len(owner)):
        a, b = owner[p - 1], owner[p]
        if a != b:
            if a > b:
                return False
            continue
        r, q = rank[p - 1], rank[p]
        if r != q:
            if q >= 0 and (r < 0 or r > q):
                return False
            continue
        if values[p - 1] >= values[p]:
            return False
    return True


def merge_positions_loop(a_off: Any, a_data: Any, b_off: Any, b_data: Any, out: Any) -> bool:
    """``out[k]``: the position of string ``a[k]`` in the strictly increasing strings ``b``
    (byte order), by one walk along both; False as soon as that cannot be done so (``a``
    decreases somewhere, or holds a string ``b`` lacks): the caller hashes then. Strings are
    given as offsets and UTF-8 bytes (Arrow's layout)."""
    j = 0
    n_b = len(b_off) - 1
    for k in range(len(a_off) - 1):
        lo = a_off[k]
        n_a = a_off[k + 1] - lo
        while True:
            if j >= n_b:
                return False
            b_lo = b_off[j]
            n_bj = b_off[j + 1] - b_lo
            c = 0
            for i in range(min(n_a, n_bj)):
                x = a_data[lo + i]
                y = b_data[b_lo + i]
                if x != y:
                    c = -1 if x < y else 1
                    break
            if c == 0 and n_a != n_bj:
                c = -1 if n_a < n_bj else 1
            if c == 0:
                out[k] = j
                break
            if c < 0:
                return False
            j += 1
    return True


def group_loop(indptr: Any, flat: Any, type_of: Any, first: Any) -> int:
    """Number the distinct rows of ``flat`` (each row sorted) by first appearance: ``type_of``
    per row, ``first`` the first row of each type; returns the number of types. A hash table
    proposes the type; the rows are then compared element by element, so the result does not
    depend on the hash. Each table entry holds the type's hash and number packed in one word
    and its first row beside it (one cache line per probe)."""
    n = len(indptr) - 1
    bits = 1
    while (1 << bits) < 2 * n:
        bits += 1
    mask = (1 << bits) - 1
    table = np.full((mask + 1, 2), -1, dtype=np.int64)
    n_types = 0
    for r in range(n):
        lo = indptr[r]
        hi = indptr[r + 1]
        h = hi - lo
        for p in range(lo, hi):
            h = (h * 1_000_003 + (flat[p] & _LOW40)) & _LOW40
        h = (h ^ (h >> 23)) & _LOW31
        slot = ((h * 2_654_435_761) >> 16) & mask
        while True:
            key = table[slot, 0]
            if key < 0:
                table[slot, 0] = (h << 32) | n_types
                table[slot, 1] = r
                first[n_types] = r
                type_of[r] = n_types
                n_types += 1
                break
            if key >> 32 == h:
                f_lo = indptr[table[slot, 1]]
                same = indptr[table[slot, 1] + 1] - f_lo == hi - lo
                if same:
                    for k in range(hi - lo):
                        if flat[lo + k] != flat[f_lo + k]:
                            same = False
                            break
                if same:
                    type_of[r] = key & 0xFFFFFFFF
                    break
            slot = (slot + 1) & mask
    return n_types


def gather_loop(indptr: Any, flat: Any, rows: Any, out_indptr: Any, out: Any) -> None:
    """``out``: the rows ``rows`` of ``flat`` one after another (``out_indptr`` their bounds)."""
    for k in range(len(rows)):
        lo = indptr[rows[k]]
        o = out_indptr[k]
        for p in range(out_indptr[k + 1] - o):
            out[o + p] = flat[lo + p]


class Loops(NamedTuple):
    """The row loops by name (compiled, or plain Python in the tests)."""

    sort_rows: Any
    repeated_pair: Any
    group: Any
    gather: Any
    canonical: Any
    merge_positions: Any


_PLAIN = Loops(
    sort_rows_loop,
    repeated_pair_loop,
    group_loop,
    gather_loop,
    canonical_loop,
    merge_positions_loop,
)


def loops(n_pairs: int, compiled: bool | None) -> Loops | None:
    """The compiled :class:`Loops` when they should run: ``compiled=None`` from
    :data:`COMPILE_ABOVE` pairs if numba works, ``True`` always (``RuntimeError`` without
    numba), ``False`` never."""
    if compiled is False or (compiled is None and n_pairs < COMPILE_ABOVE):
        return None
    found = _jit.compiled(_GROUP, *_PLAIN)
    if found is None and compiled:
        raise RuntimeError("the compiled row loops need numba (pip install 'slotopt[fast]')")
    return None if found is None else Loops(*found)


def run(name: str, n_pairs: int, compiled: bool | None, *args: Any) -> Any:
    """The compiled loop ``name`` (a field of :class:`Loops`) on ``args`` by the rule of
    :func:`loops`, or None when the numpy version should run instead: below the size, without
    numba, or when the compiled loops fail when called (then for good; with ``compiled=True``
    the failure is raised)."""
    found = loops(n_pairs, compiled)
    if found is None:
        return None
    try:
        return getattr(found, name)(*args)
    except Exception:  # a numba that imports but cannot compile: the numpy versions
        if compiled:
            raise
        mark_unusable()
        return None


def python_loops() -> Loops:
    """The same loops uncompiled (slow: for tests on small inputs)."""
    return _PLAIN


def mark_unusable() -> None:
    """The compiled loops failed when called: use the numpy versions from now on."""
    _jit.mark_unusable(_GROUP)
