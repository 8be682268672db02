"""The ``kind: "matching"`` instance: slots with capacities, applicants with priorities, and the
(applicant, slot) pairs each applicant accepts.

:func:`matching_from_frames` is the single validator; loading a folder, the generator and tests
all go through it, so a ``MatchingInstance`` is always consistent. Ids are kept as strings
(``"007"`` stays ``"007"``) and everything downstream works on the integer-coded arrays.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from slotopt.errors import UsageError
from slotopt.instance import _row_loops
from slotopt.instance._tables import (
    INT_MAX,
    INT_MIN,
    RANGE_TEXT,
    ArrowTable,
    Problems,
    arrow_table_from_frame,
    check_ids,
    check_unique,
    integer_column,
    read_table,
    read_table_fast,
    sha256_of,
)
from slotopt.instance.provenance import HasProvenance, Provenance

SLOTS, APPLICANTS, ACCEPTABLE = "slots", "applicants", "acceptable"


@dataclass(frozen=True)
class ApplicantTypes:
    """Applicants grouped by identical acceptable sets.

    Attributes
    ----------
    type_of : ndarray of shape (A,)
        The type index of each applicant.
    indptr : ndarray of shape (T+1,)
        ``slots[indptr[t]:indptr[t+1]]`` are the (sorted) slot indices type ``t`` accepts.
    slots : ndarray of shape (P_T,)
    size : ndarray of shape (T,)
        Number of applicants of each type.
    """

    type_of: np.ndarray
    indptr: np.ndarray
    slots: np.ndarray
    size: np.ndarray

    @property
    def n_types(self) -> int:
        return len(self.size)

    def slots_of(self, t: int) -> np.ndarray:
        return self.slots[self.indptr[t] : self.indptr[t + 1]]


@dataclass(frozen=True)
class OtherColumns:
    """The columns of the three tables that the algorithms do not read (``location``,
    ``identity``, a user's own columns), in the instance's canonical row order, and each table's
    column order. Kept for the table views and for writing the folder back; never handed out
    (the views copy them).
    """

    slots: pd.DataFrame = field(default_factory=pd.DataFrame)
    applicants: pd.DataFrame = field(default_factory=pd.DataFrame)
    acceptable: pd.DataFrame = field(default_factory=pd.DataFrame)
    order: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: {
            SLOTS: ("slot_id", "capacity"),
            APPLICANTS: ("applicant_id", "priority"),
            ACCEPTABLE: ("applicant_id", "slot_id", "rank"),
        }
    )

    def take(self, stem: str, rows: np.ndarray) -> pd.DataFrame:
        """The other columns of table ``stem`` at ``rows`` (a boolean mask), renumbered."""
        df = getattr(self, stem)
        return df if df.shape[1] == 0 else _rows(df, rows)


@dataclass(frozen=True, eq=False)
class MatchingInstance(HasProvenance):
    """A validated matching instance. Build it with :func:`matching_from_frames` or
    :func:`slotopt.load_instance`; never mutate it. Its arrays (and those of :attr:`types`) are
    read-only, so an attempt to change one in place raises ``ValueError``; derive a changed
    instance with :meth:`restrict` or by editing the tables and validating them again.

    The arrays are the only copy of each quantity. The tables (:attr:`slots`,
    :attr:`applicants`, :attr:`acceptable`) are built from them on each access, so a table can
    be edited freely and never disagrees with the instance.

    Attributes
    ----------
    slot_ids : ndarray of shape (S,), object
        The slot ids (strings), in ``slot_id`` order.
    applicant_ids : ndarray of shape (A,), object
        The applicant ids (strings), in ``applicant_id`` order.
    capacity : ndarray of shape (S,), int64
    priority : ndarray of shape (A,), int64
    acc_indptr : ndarray of shape (A+1,)
        Applicant ``i`` accepts slot indices ``acc_slot[acc_indptr[i]:acc_indptr[i+1]]``.
    acc_slot : ndarray of shape (P,), int64
        Sorted by applicant, then by rank (unranked last), then by slot index.
    acc_rank : ndarray of shape (P,), int64
        The rank of each pair, ``-1`` where none was given.
    other_columns : OtherColumns
        The tables' other columns (shown in explanations, written back).
    provenance : Provenance
        Seed, source, input hashes, unknown ``instance.json`` keys, and whether the instance
        was restricted (``inst.seed``, ``inst.source``, ``inst.input_sha256``, ``inst.meta``).
    """

    name: str
    slot_ids: np.ndarray
    applicant_ids: np.ndarray
    capacity: np.ndarray
    priority: np.ndarray
    acc_indptr: np.ndarray
    acc_slot: np.ndarray
    acc_rank: np.ndarray
    other_columns: OtherColumns = field(default_factory=OtherColumns)
    provenance: Provenance = field(default_factory=Provenance)

    kind = "matching"

    @property
    def n_applicants(self) -> int:
        return len(self.priority)

    @property
    def n_slots(self) -> int:
        return len(self.capacity)

    @property
    def total_capacity(self) -> int:
        return int(self.capacity.sum())

    @cached_property
    def applicant_index(self) -> pd.Index:
        return pd.Index(self.applicant_ids)

    @cached_property
    def slot_index(self) -> pd.Index:
        return pd.Index(self.slot_ids)

    # The tables are views built on demand, a new frame on every access: a cached frame could
    # be edited in place and then disagree with the arrays. Building costs little next to any
    # solve (the slots and applicants tables are one column copy each; the acceptable table,
    # which repeats the ids per pair, is built only to write a folder or for a test).
    @property
    def slots(self) -> pd.DataFrame:
        """The slots table (``slot_id``, ``capacity`` and the other columns), a new frame."""
        core = {"slot_id": _text(self.slot_ids), "capacity": self.capacity.copy()}
        return self._table(SLOTS, core)

    @property
    def applicants(self) -> pd.DataFrame:
        """The applicants table (``applicant_id``, ``priority``, ...), a new frame."""
        core = {"applicant_id": _text(self.applicant_ids), "priority": self.priority.copy()}
        return self._table(APPLICANTS, core)

    @property
    def acceptable(self) -> pd.DataFrame:
        """The acceptable pairs (``applicant_id``, ``slot_id``, ``rank`` as nullable integers,
        ...) in canonical order, a new frame."""
        owner = np.repeat(np.arange(self.n_applicants), np.diff(self.acc_indptr))
        core = {
            "applicant_id": _text(self.applicant_ids).take(owner),
            "slot_id": _text(self.slot_ids).take(self.acc_slot),
            "rank": pd.arrays.IntegerArray(self.acc_rank.copy(), self.acc_rank < 0),
        }
        return self._table(ACCEPTABLE, core)

    def _table(self, stem: str, core: dict[str, Any]) -> pd.DataFrame:
        df = pd.DataFrame(core)
        other = getattr(self.other_columns, stem)
        for col in other.columns:
            df[col] = other[col].to_numpy(copy=True) if other[col].dtype == object else other[col]
        order = [c for c in self.other_columns.order[stem] if c in df.columns]
        return df[order + [c for c in df.columns if c not in order]].copy()

    def acceptable_slots(self, i: int) -> np.ndarray:
        """Slot indices applicant ``i`` accepts, most preferred first."""
        return self.acc_slot[self.acc_indptr[i] : self.acc_indptr[i + 1]]

    @cached_property
    def types(self) -> ApplicantTypes:
        """Group applicants with the same acceptable set (rank ignored): the matched set only
        depends on the sets, and models built over types grow with distinct sets, not people.
        Types are numbered in order of their first applicant."""
        types = group_types(self.acc_indptr, self.acc_slot, self.n_slots)
        _read_only(types.type_of, types.indptr, types.slots, types.size)
        return types

    def restrict(
        self, applicants: ArrayLike | None = None, capacity: ArrayLike | None = None
    ) -> MatchingInstance:
        """The same instance with a subset of its applicants and/or other capacities.

        Nothing already validated is checked again: the kept applicants, their pairs and ranks
        are sliced out of the arrays (in their current, canonical order), so the result equals
        :func:`matching_from_frames` of the filtered tables, at the cost of a few array copies.
        The original is unchanged.

        Parameters
        ----------
        applicants
            The applicants to keep: a boolean mask of length ``n_applicants`` or an array of
            distinct applicant indices (their order does not matter; the instance order is kept).
            ``None`` keeps all.
        capacity
            The new capacity of every slot, an integer array of length ``n_slots`` with values in
            ``0..2**62`` (and a total within that range too). ``None`` keeps the capacities.

        Returns
        -------
        MatchingInstance
            With the provenance (seed, source, input hashes, meta) of this one, and
            ``provenance.restricted`` saying what differs from the files the hashes name:
            ``{"applicants_kept": k, "applicants_in_files": n, "capacity_changed": bool}``.

        Raises
        ------
        UsageError
            A mask or capacity array of the wrong length, an index out of range or repeated, a
            capacity that is not an integer in range.
        """
        keep = None if applicants is None else self._keep_mask(applicants)
        new_capacity = None if capacity is None else self._checked_capacity(capacity)
        # The arrays are read-only, so whatever is not sliced is shared, not copied.
        cap = self.capacity if new_capacity is None else new_capacity
        ids, priority, other = self.applicant_ids, self.priority, self.other_columns
        indptr, acc_slot, acc_rank = self.acc_indptr, self.acc_slot, self.acc_rank
        if keep is not None:
            lengths = np.diff(self.acc_indptr)
            pairs = np.repeat(keep, lengths)
            ids, priority = self.applicant_ids[keep], self.priority[keep]
            indptr = np.zeros(int(keep.sum()) + 1, dtype=np.int64)
            np.cumsum(lengths[keep], out=indptr[1:])
            acc_slot, acc_rank = self.acc_slot[pairs], self.acc_rank[pairs]
            _read_only(ids, priority, indptr, acc_slot, acc_rank)
            other = dataclasses.replace(
                other,
                applicants=other.take(APPLICANTS, keep),
                acceptable=other.take(ACCEPTABLE, pairs),
            )
        before = self.provenance.restricted or {}
        in_files = int(before.get("applicants_in_files", self.n_applicants))
        note = {
            "applicants_kept": len(priority),
            "applicants_in_files": in_files,
            "capacity_changed": new_capacity is not None or bool(before.get("capacity_changed")),
        }
        restricted = dataclasses.replace(
            self,
            applicant_ids=ids,
            capacity=cap,
            priority=priority,
            acc_indptr=indptr,
            acc_slot=acc_slot,
            acc_rank=acc_rank,
            other_columns=other,
            provenance=self.provenance.replace(restricted=note),
        )
        if keep is None and "types" in self.__dict__:  # same acceptable sets, same types
            restricted.__dict__["types"] = self.types
        return restricted

    def _keep_mask(self, applicants: ArrayLike) -> np.ndarray:
        """A boolean mask over the applicants from a mask or distinct indices."""
        arr = np.asarray(applicants)
        n = self.n_applicants
        if arr.ndim != 1:
            raise UsageError(f"applicants: expected a 1-d mask or index array, got {arr.ndim}-d")
        if arr.dtype == np.bool_:
            if len(arr) != n:
                raise UsageError(
                    f"applicants: a boolean mask needs {n} entries (one per applicant), "
                    f"got {len(arr)}"
                )
            return arr
        if len(arr) and not np.issubdtype(arr.dtype, np.integer):
            raise UsageError(
                f"applicants: expected a boolean mask or integer indices, got dtype {arr.dtype}"
            )
        idx = arr.astype(np.int64)
        if len(idx) and (idx.min() < 0 or idx.max() >= n):
            raise UsageError(f"applicants: indices must lie in 0..{n - 1}")
        keep = np.zeros(n, dtype=bool)
        keep[idx] = True
        if int(keep.sum()) != len(idx):
            raise UsageError("applicants: an index is repeated (each applicant is kept once)")
        return keep

    def _checked_capacity(self, capacity: ArrayLike) -> np.ndarray:
        """Capacities as read-only int64, in the loader's range 0..2**62 with a total in range."""
        arr = np.asarray(capacity)
        if arr.ndim != 1 or len(arr) != self.n_slots:
            raise UsageError(
                f"capacity: expected one value per slot ({self.n_slots}), got shape {arr.shape}"
            )
        if len(arr) and not np.issubdtype(arr.dtype, np.integer):  # bool is not an integer dtype
            raise UsageError(f"capacity: expected integers, got dtype {arr.dtype}")
        if len(arr) and (int(arr.min()) < INT_MIN or int(arr.max()) > INT_MAX):
            raise UsageError(f"capacity: every value must lie in {RANGE_TEXT}")
        cap = arr.astype(np.int64)
        total = _exact_sum(cap)
        if total > INT_MAX:
            raise UsageError(
                f"capacity: the capacities add up to {total}, more than the supported total "
                f"{RANGE_TEXT.split('..')[1]}"
            )
        _read_only(cap)
        return cap

    def __repr__(self) -> str:  # one line, not the DataFrames
        return (
            f"MatchingInstance({self.name!r}: {self.n_applicants} applicants, {self.n_slots} "
            f"slots, {self.total_capacity} appointments, {len(self.acc_slot)} acceptable pairs)"
        )

    def describe(self) -> str:
        return (
            f"matching instance {self.name!r}: {self.n_applicants} applicants, "
            f"{self.n_slots} slots ({self.total_capacity} appointments), "
            f"{len(self.acc_slot)} acceptable pairs"
        )


def group_types(
    indptr: np.ndarray, acc_slot: np.ndarray, n_slots: int, *, compiled: bool | None = None
) -> ApplicantTypes:
    """Group rows of a CSR set system into identical sets, exactly.

    Types are numbered by their first row, and each type's slots are sorted. With numba and at
    least :data:`slotopt.instance._row_loops.COMPILE_ABOVE` pairs (or ``compiled=True``), one
    compiled pass sorts each row and one more numbers the distinct rows through a hash table
    whose hits are confirmed element by element. Otherwise (or ``compiled=False``) numpy: each
    set is hashed twice (sums of random 64-bit words per slot, order-free), grouped by (size,
    hash, hash), and every member is then compared element by element with its group's first
    member; if two different sets ever shared a key the grouping falls back to exact tuples.
    The result is the same either way.
    """
    lengths = np.diff(indptr)
    loops = _row_loops.loops(len(acc_slot), compiled)
    if loops is not None:
        try:
            return _group_types_loops(loops, indptr, acc_slot, lengths)
        except Exception:  # a numba that imports but cannot compile: the numpy version
            if compiled:
                raise
            _row_loops.mark_unusable()
    n = len(indptr) - 1
    flat = _sorted_rows(indptr, acc_slot, lengths, n_slots)
    words = _hash_words(n_slots)
    hashes = np.zeros((2, n), dtype=np.uint64)
    nonempty = np.flatnonzero(lengths > 0)
    if len(nonempty):
        for j in range(2):
            hashes[j, nonempty] = np.add.reduceat(words[j, flat], indptr[:-1][nonempty])
    # Rows with equal keys (size, hash, hash) must end up next to each other: one sort on the
    # first hash does it unless two different keys share that hash, when the full sort does.
    order = np.argsort(hashes[0])
    h0, h1, size = hashes[0, order], hashes[1, order], lengths[order]
    same = h0[1:] == h0[:-1]
    if ((h1[1:] != h1[:-1]) & same).any() or ((size[1:] != size[:-1]) & same).any():
        order = np.lexsort((hashes[1], hashes[0], lengths))
        h0, h1, size = hashes[0, order], hashes[1, order], lengths[order]
        same = (h0[1:] == h0[:-1]) & (h1[1:] == h1[:-1]) & (size[1:] == size[:-1])
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = ~same
    group_sorted = np.cumsum(new_group) - 1
    group = np.empty(n, dtype=np.int64)
    group[order] = group_sorted
    # renumber groups by first appearance
    first = np.full(int(group_sorted[-1]) + 1 if n else 0, n, dtype=np.int64)
    np.minimum.at(first, group, np.arange(n))
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    type_of = rank[group]
    rep = np.sort(first)  # representative (first applicant) of each type, in type order
    # every member equals its representative, element by element
    shift = np.repeat(indptr[rep[type_of]] - indptr[:-1], lengths)
    if not np.array_equal(flat, flat[shift + np.arange(len(flat))]):
        return _group_types_exact(indptr, flat)
    t_lengths = lengths[rep]
    t_indptr = np.zeros(len(rep) + 1, dtype=np.int64)
    np.cumsum(t_lengths, out=t_indptr[1:])
    t_slots = flat[np.repeat(indptr[rep] - t_indptr[:-1], t_lengths) + np.arange(int(t_indptr[-1]))]
    size = np.bincount(type_of, minlength=len(rep)).astype(np.int64)
    return ApplicantTypes(
        type_of=type_of, indptr=t_indptr, slots=t_slots.astype(np.int64), size=size
    )


def _group_types_loops(
    loops: _row_loops.Loops, indptr: np.ndarray, acc_slot: np.ndarray, lengths: np.ndarray
) -> ApplicantTypes:
    """:func:`group_types` by the row loops (compiled, or plain Python in the tests)."""
    sort_fn, group_fn, gather_fn = loops.sort_rows, loops.group, loops.gather
    n = len(indptr) - 1
    indptr = indptr.astype(np.int64, copy=False)
    flat = np.empty(len(acc_slot), dtype=np.int64)
    if not sort_fn(indptr, acc_slot.astype(np.int64, copy=False), flat):
        flat = acc_slot.astype(np.int64, copy=False)  # every row was sorted
    type_of = np.empty(n, dtype=np.int64)
    first = np.empty(n, dtype=np.int64)
    n_types = int(group_fn(indptr, flat, type_of, first))
    rep = first[:n_types].copy()
    t_indptr = np.zeros(n_types + 1, dtype=np.int64)
    np.cumsum(lengths[rep], out=t_indptr[1:])
    t_slots = np.empty(int(t_indptr[-1]), dtype=np.int64)
    gather_fn(indptr, flat, rep, t_indptr, t_slots)
    size = np.bincount(type_of, minlength=n_types).astype(np.int64)
    return ApplicantTypes(type_of=type_of, indptr=t_indptr, slots=t_slots, size=size)


def _hash_words(n_slots: int) -> np.ndarray:
    """Two random 64-bit words per slot (fixed seed): a set's hashes are the sums of its words."""
    return (
        np.random.Generator(np.random.PCG64(0x51075))
        .integers(1, np.iinfo(np.int64).max, size=(2, max(n_slots, 1)), dtype=np.int64)
        .astype(np.uint64)
    )


def _sorted_rows(
    indptr: np.ndarray, acc_slot: np.ndarray, lengths: np.ndarray, n_slots: int
) -> np.ndarray:
    """``acc_slot`` with each row sorted; the array itself when every row already is (pairs
    are stored by rank, then slot, so unranked instances need no sort)."""
    rising = acc_slot[1:] > acc_slot[:-1]
    starts = indptr[1:-1]
    rising[starts[(starts > 0) & (starts < len(acc_slot))] - 1] = True  # a new row may go down
    if rising.all():
        return acc_slot
    owner = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    span = max(n_slots, 1)
    return np.sort(owner * span + acc_slot) - owner * span


def _group_types_exact(indptr: np.ndarray, flat: np.ndarray) -> ApplicantTypes:
    """The same grouping with exact tuples (the fallback for a hash collision)."""
    bounds = indptr.tolist()
    values = flat.tolist()
    seen: dict[tuple[int, ...], int] = {}
    type_of = np.empty(len(bounds) - 1, dtype=np.int64)
    for i in range(len(bounds) - 1):
        key = tuple(values[bounds[i] : bounds[i + 1]])
        type_of[i] = seen.setdefault(key, len(seen))
    keys = list(seen)
    lengths = np.fromiter((len(k) for k in keys), dtype=np.int64, count=len(keys))
    t_indptr = np.zeros(len(keys) + 1, dtype=np.int64)
    np.cumsum(lengths, out=t_indptr[1:])
    t_slots = np.fromiter((s for k in keys for s in k), dtype=np.int64, count=int(t_indptr[-1]))
    size = np.bincount(type_of, minlength=len(keys)).astype(np.int64)
    return ApplicantTypes(type_of=type_of, indptr=t_indptr, slots=t_slots, size=size)


def matching_from_frames(
    slots: pd.DataFrame,
    applicants: pd.DataFrame,
    acceptable: pd.DataFrame,
    *,
    name: str = "unnamed",
    seed: int | None = None,
    source: Path | None = None,
    input_sha256: Mapping[str, str] | None = None,
    meta: Mapping[str, Any] | None = None,
    labels: Mapping[str, str] | None = None,
) -> MatchingInstance:
    """Validate three tables and build a :class:`MatchingInstance`.

    Parameters
    ----------
    slots, applicants, acceptable
        Tables with the columns of the instance format (docs/instance-format.md).
    labels
        File names to use in error messages (default ``slots.csv`` etc.).

    Raises
    ------
    InstanceError
        Listing every problem (first 20), each naming file, 1-based data row and column.
    """
    default_labels = {
        SLOTS: "slots.csv",
        APPLICANTS: "applicants.csv",
        ACCEPTABLE: "acceptable.csv",
    }
    labels = default_labels | dict(labels or {})
    problems = Problems()
    frames = {SLOTS: slots, APPLICANTS: applicants, ACCEPTABLE: acceptable}
    required = {
        SLOTS: ("slot_id", "capacity"),
        APPLICANTS: ("applicant_id", "priority"),
        ACCEPTABLE: ("applicant_id", "slot_id"),
    }
    for key, cols in required.items():
        missing = [c for c in cols if c not in frames[key].columns]
        if missing:
            problems.add(labels[key], f"missing column(s) {', '.join(missing)}")
    problems.raise_if_any()

    # new frames (columns are replaced below, never written into): the caller's stay as given
    slots = slots.reset_index(drop=True)
    applicants = applicants.reset_index(drop=True)
    acceptable = acceptable.reset_index(drop=True)
    fs, fa, fp = labels[SLOTS], labels[APPLICANTS], labels[ACCEPTABLE]

    check_ids(slots, fs, "slot_id", problems)
    check_unique(slots, fs, "slot_id", problems)
    capacity = integer_column(slots, fs, "capacity", problems, minimum=0, what="an integer >= 0")

    if capacity is not None:
        total = _exact_sum(capacity)
        if total > INT_MAX:
            problems.add(
                f"{fs}, column capacity",
                f"the capacities add up to {total}, more than the supported total of "
                f"{RANGE_TEXT.split('..')[1]}",
            )

    check_ids(applicants, fa, "applicant_id", problems)
    check_unique(applicants, fa, "applicant_id", problems)
    priority = integer_column(
        applicants, fa, "priority", problems, minimum=0, what="an integer >= 0 (1 = served first)"
    )

    check_ids(acceptable, fp, "applicant_id", problems)
    check_ids(acceptable, fp, "slot_id", problems)
    rank: np.ndarray | None
    if "rank" in acceptable.columns:
        rank = integer_column(
            acceptable,
            fp,
            "rank",
            problems,
            minimum=1,
            what="an integer >= 1 (1 = most preferred)",
            allow_missing=True,
        )
    else:
        rank = np.full(len(acceptable), -1, dtype=np.int64)

    slot_index = pd.Index(slots["slot_id"])
    app_index = pd.Index(applicants["applicant_id"])
    a_idx = _codes(acceptable["applicant_id"], app_index) if app_index.is_unique else None
    s_idx = _codes(acceptable["slot_id"], slot_index) if slot_index.is_unique else None
    present_a = acceptable["applicant_id"].notna().to_numpy(dtype=bool)
    present_s = acceptable["slot_id"].notna().to_numpy(dtype=bool)
    if a_idx is not None:
        for row in np.flatnonzero((a_idx < 0) & present_a)[:20]:
            problems.add(
                f"{fp} row {row + 1}, column applicant_id",
                f"{acceptable['applicant_id'].iloc[row]!r} is not an applicant in {fa}",
            )
    if s_idx is not None:
        for row in np.flatnonzero((s_idx < 0) & present_s)[:20]:
            problems.add(
                f"{fp} row {row + 1}, column slot_id",
                f"{acceptable['slot_id'].iloc[row]!r} is not a slot in {fs}",
            )
    if a_idx is not None and s_idx is not None:
        for row in _duplicate_pairs(a_idx, s_idx, len(slots))[:20]:
            problems.add(
                f"{fp} row {row + 1}, column slot_id",
                f"duplicate pair ({acceptable['applicant_id'].iloc[row]!r}, "
                f"{acceptable['slot_id'].iloc[row]!r}) (each pair may be listed once)",
            )
    problems.raise_if_any()
    # raise_if_any() above guarantees these were all parsed
    capacity, priority = cast(np.ndarray, capacity), cast(np.ndarray, priority)
    rank, a_idx, s_idx = cast(np.ndarray, rank), cast(np.ndarray, a_idx), cast(np.ndarray, s_idx)

    # The canonical order: slots by slot_id, applicants by applicant_id (code-point order), and
    # pairs by applicant, then rank (unranked last), then slot. Everything downstream (types,
    # the greedy's choice of slot, every output table) reads the instance in this order, so a
    # result depends on the content of the files and the seed only, never on their row order.
    # Files already in this order (all that slotopt writes) need no sorting.
    slot_ids = slots["slot_id"].to_numpy(dtype=object)
    slot_perm = _id_order(slot_ids)
    if slot_perm is not None:
        slots = slots.iloc[slot_perm].reset_index(drop=True)
        slot_ids, capacity = slot_ids[slot_perm], capacity[slot_perm]
        s_idx = _inverse(slot_perm)[s_idx]
    applicant_ids = applicants["applicant_id"].to_numpy(dtype=object)
    app_perm = _id_order(applicant_ids)
    if app_perm is not None:
        applicants = applicants.iloc[app_perm].reset_index(drop=True)
        applicant_ids, priority = applicant_ids[app_perm], priority[app_perm]
        a_idx = _inverse(app_perm)[a_idx]
    core = {
        SLOTS: ("slot_id", "capacity"),
        APPLICANTS: ("applicant_id", "priority"),
        ACCEPTABLE: ("applicant_id", "slot_id", "rank"),
    }
    frames = {SLOTS: slots, APPLICANTS: applicants, ACCEPTABLE: acceptable}
    return _assemble(
        name,
        slot_ids,
        applicant_ids,
        capacity,
        priority,
        a_idx,
        s_idx,
        rank,
        others={k: df[[c for c in df.columns if c not in core[k]]] for k, df in frames.items()},
        order={k: tuple(str(c) for c in df.columns) for k, df in frames.items()},
        provenance=Provenance(
            seed=seed, source=source, input_sha256=dict(input_sha256 or {}), meta=dict(meta or {})
        ),
    )


def _assemble(
    name: str,
    slot_ids: np.ndarray,
    applicant_ids: np.ndarray,
    capacity: np.ndarray,
    priority: np.ndarray,
    a_idx: np.ndarray,
    s_idx: np.ndarray,
    rank: np.ndarray,
    *,
    others: Mapping[str, pd.DataFrame],
    order: Mapping[str, tuple[str, ...]],
    provenance: Provenance,
) -> MatchingInstance:
    """The instance from validated arrays: slots and applicants already in canonical order
    (``a_idx``/``s_idx`` index them), the pairs (and ``others[ACCEPTABLE]``) still in file
    order; puts the pairs in canonical order and marks every array read-only."""
    pair_order = _pair_order(a_idx, rank, s_idx, len(applicant_ids), len(slot_ids))
    acc_other = others[ACCEPTABLE]
    if pair_order is not None:
        a_idx, s_idx, rank = a_idx[pair_order], s_idx[pair_order], rank[pair_order]
        if acc_other.shape[1]:
            acc_other = acc_other.iloc[pair_order]
    indptr = np.zeros(len(applicant_ids) + 1, dtype=np.int64)
    np.cumsum(np.bincount(a_idx, minlength=len(applicant_ids)), out=indptr[1:])
    acc_slot, acc_rank = s_idx.astype(np.int64, copy=False), rank.astype(np.int64, copy=False)
    capacity = capacity.astype(np.int64, copy=False)
    priority = priority.astype(np.int64, copy=False)
    _read_only(slot_ids, applicant_ids, capacity, priority, indptr, acc_slot, acc_rank)
    other = OtherColumns(
        slots=others[SLOTS].reset_index(drop=True),
        applicants=others[APPLICANTS].reset_index(drop=True),
        acceptable=acc_other.reset_index(drop=True),
        order=dict(order),
    )
    return MatchingInstance(
        name=name,
        slot_ids=slot_ids,
        applicant_ids=applicant_ids,
        capacity=capacity,
        priority=priority,
        acc_indptr=indptr,
        acc_slot=acc_slot,
        acc_rank=acc_rank,
        other_columns=other,
        provenance=provenance,
    )


def _pair_order(
    a_idx: np.ndarray,
    rank: np.ndarray,
    s_idx: np.ndarray,
    n_applicants: int,
    n_slots: int,
    *,
    compiled: bool | None = None,
) -> np.ndarray | None:
    """The permutation putting pairs in (applicant, rank with unranked last, slot) order, or
    None when they are in it already. The check is one compiled pass by the rule of
    :func:`_row_loops.loops`; otherwise, and to sort, one int64 key when it fits (one pass to
    check, one sort otherwise), three keys when ranks are too large for that."""
    if len(a_idx) < 2:
        return None
    if _row_loops.run("canonical", len(a_idx), compiled, a_idx, rank, s_idx):
        return None
    top = int(rank.max())
    width = max(top, 0) + 2  # ranks 1..top, unranked = top + 1
    if n_applicants * width * max(n_slots, 1) < 2**62:
        key = a_idx * width  # one new array, then in place
        key += rank
        key[rank < 0] += top + 2  # unranked (-1) after every rank: top + 1
        key *= max(n_slots, 1)
        key += s_idx
        if bool((key[1:] > key[:-1]).all()):
            return None
        return np.argsort(key, kind="stable")
    rank_key = np.where(rank < 0, np.iinfo(np.int64).max, rank)
    if _is_sorted(a_idx, rank_key, s_idx):
        return None
    return np.lexsort((s_idx, rank_key, a_idx))


def _text(ids: np.ndarray) -> Any:
    """Ids as a pandas string array (what the loader makes of an id column)."""
    return pd.array(ids, dtype="string")


def _read_only(*arrays: np.ndarray) -> None:
    """Mark arrays non-writeable (an in-place change would make them disagree with the tables)."""
    for arr in arrays:
        arr.flags.writeable = False


def _rows(df: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
    """The rows of ``df`` where ``keep`` holds, renumbered from 0. Column by column, which is
    faster than ``df[keep]`` for a few million rows of string columns."""
    out = pd.DataFrame({j: df.iloc[:, j].array[keep] for j in range(df.shape[1])})
    out.columns = df.columns
    return out


def _id_order(values: np.ndarray) -> np.ndarray | None:
    """The permutation that sorts unique string ids by code point, or None if they are sorted
    (UTF-8 byte order, which Arrow and Python's str comparison agree on)."""
    if len(values) < 2 or bool((values[1:] > values[:-1]).all()):
        return None
    return np.argsort(values, kind="stable")


def _inverse(perm: np.ndarray) -> np.ndarray:
    """``inv[old] = new`` where ``perm[new] = old``."""
    inv = np.empty(len(perm), dtype=np.int64)
    inv[perm] = np.arange(len(perm))
    return inv


def _exact_sum(values: np.ndarray) -> int:
    """The exact sum of non-negative int64 values (int64's own sum could wrap)."""
    high = int((values >> 31).sum())  # each term < 2**32, so this cannot overflow below 2**31 rows
    low = int((values & (2**31 - 1)).sum())
    return (high << 31) + low


def _is_sorted(a: np.ndarray, r: np.ndarray, s: np.ndarray) -> bool:
    """Whether rows are already ordered by (a, r, s)."""
    if len(a) < 2:
        return True
    da, dr, ds = np.diff(a), np.diff(r), np.diff(s)
    return bool(((da > 0) | ((da == 0) & ((dr > 0) | ((dr == 0) & (ds > 0))))).all())


def _codes(ids: pd.Series, index: pd.Index) -> np.ndarray:
    """Position of each id in ``index`` (-1 when absent or missing). Ids repeat (a million pairs
    name a hundred thousand applicants), so only the distinct ones are looked up."""
    codes, uniques = pd.factorize(ids, use_na_sentinel=True)
    lookup = np.append(index.get_indexer(uniques), -1)  # code -1 (missing) reads the last entry
    return lookup[codes].astype(np.int64)


def _duplicate_pairs(a_idx: np.ndarray, s_idx: np.ndarray, n_slots: int) -> np.ndarray:
    """Rows (0-based, in file order) repeating an earlier row's (applicant, slot) pair."""
    valid = (a_idx >= 0) & (s_idx >= 0)
    key = np.where(valid, a_idx * max(n_slots, 1) + s_idx, -1 - np.arange(len(a_idx)))
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    repeat = np.zeros(len(key), dtype=bool)
    repeat[order[1:]] = sorted_key[1:] == sorted_key[:-1]
    return np.flatnonzero(repeat & valid)


def load_matching(folder: Path, spec: Mapping[str, Any], json_sha: str) -> MatchingInstance:
    """Read and validate the three tables of a matching instance folder."""
    problems = Problems()
    seed = spec.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        problems.add("instance.json, key seed", f"expected a non-negative integer, got {seed!r}")
    name = spec.get("name", folder.name)
    if not isinstance(name, str) or not name.strip():
        problems.add("instance.json, key name", f"expected a non-empty string, got {name!r}")
        name = folder.name
    meta = {k: v for k, v in spec.items() if k not in {"kind", "name", "seed"}}
    # tables the fast path had to read with read_table, reused below instead of read twice
    legacy: dict[str, tuple[pd.DataFrame | None, Path | None, Problems]] = {}
    if not problems:
        provenance = Provenance(seed=seed, source=folder, meta=meta)
        fast = _load_fast(folder, name, provenance, json_sha, legacy)
        if fast is not None:
            return fast
    # The path that locates every problem (and reads what the fast path leaves alone).
    tables: dict[str, pd.DataFrame] = {}
    labels: dict[str, str] = {}
    hashes = {"instance.json": json_sha}
    for stem in WANTED:
        df, path, found = _read_located(folder, stem, legacy)
        problems.items.extend(found.items)
        if path is not None:
            labels[stem] = path.name
        if df is not None and path is not None:
            hashes[path.name] = sha256_of(path)
            tables[stem] = df
    problems.raise_if_any()
    return matching_from_frames(
        tables[SLOTS],
        tables[APPLICANTS],
        tables[ACCEPTABLE],
        name=name,
        seed=seed,
        source=folder,
        input_sha256=hashes,
        meta=meta,
        labels=labels,
    )


WANTED = {
    SLOTS: (("slot_id", "capacity"), ("slot_id", "location", "slot_type"), ("capacity",)),
    APPLICANTS: (("applicant_id", "priority"), ("applicant_id", "identity"), ("priority",)),
    ACCEPTABLE: (("applicant_id", "slot_id"), ("applicant_id", "slot_id"), ("rank",)),
}
"""Per table: required columns, text columns, integer columns."""


def _read_located(
    folder: Path, stem: str, cache: dict[str, tuple[pd.DataFrame | None, Path | None, Problems]]
) -> tuple[pd.DataFrame | None, Path | None, Problems]:
    """``read_table`` of one table with its own problems, read once per load."""
    if stem not in cache:
        required, strings, integers = WANTED[stem]
        problems = Problems()
        df, path = read_table(
            folder,
            stem,
            required=required,
            string_columns=strings,
            integer_columns=integers,
            problems=problems,
        )
        cache[stem] = (df, path, problems)
    return cache[stem]


def _load_fast(
    folder: Path,
    name: str,
    provenance: Provenance,
    json_sha: str,
    legacy: dict[str, tuple[pd.DataFrame | None, Path | None, Problems]],
) -> MatchingInstance | None:
    """The instance read and validated without a Python loop over rows, or None.

    The tables are read by pyarrow (CSV or Parquet) and checked with whole-array operations
    that only say *whether* every clause of :func:`matching_from_frames` holds: ids present,
    non-empty, without surrounding blanks and unique; integers in range; every reference
    known; no repeated pair. The first clause that fails (or any input that is merely
    unusual, such as ids that need stripping) returns None, and the caller validates again
    with the path that locates every problem by file, row and column, so messages never
    depend on which path ran. The canonical order is checked before anything is sorted.
    """
    if importlib.util.find_spec("pyarrow") is None:
        return None
    tables: dict[str, ArrowTable] = {}
    for stem, (required, strings, integers) in WANTED.items():
        columns = (*required, *integers)
        table = read_table_fast(
            folder,
            stem,
            required=required,
            string_columns=strings,
            integer_columns=integers,
            core_columns=columns,
            dictionary_columns=("applicant_id", "slot_id") if stem == ACCEPTABLE else (),
        )
        if table is None:  # e.g. a column pyarrow leaves to pandas' type inference
            df, path, problems = _read_located(folder, stem, legacy)
            if problems or df is None or path is None:
                return None
            table = arrow_table_from_frame(df, path, integer_columns=integers, core_columns=columns)
            if table is None:
                return None
        tables[stem] = table
    slots, applicants, acceptable = tables[SLOTS], tables[APPLICANTS], tables[ACCEPTABLE]
    for table, column in (
        (slots, "slot_id"),
        (applicants, "applicant_id"),
        (acceptable, "applicant_id"),
        (acceptable, "slot_id"),
    ):
        if not _plain_ids(table.core[column]):
            return None
    capacity = _plain_integers(slots.core["capacity"], 0)
    priority = _plain_integers(applicants.core["priority"], 0)
    if "rank" in acceptable.core:
        rank = _plain_integers(acceptable.core["rank"], 1, missing=-1)
    else:
        rank = np.full(len(acceptable.core["slot_id"]), -1, dtype=np.int64)
    if capacity is None or priority is None or rank is None or _exact_sum(capacity) > INT_MAX:
        return None
    slot_ids, slot_perm = _sorted_unique(slots.core["slot_id"])
    applicant_ids, app_perm = _sorted_unique(applicants.core["applicant_id"])
    if slot_ids is None or applicant_ids is None:
        return None
    s_idx = _lookup(acceptable.core["slot_id"], slot_ids, runs=False)
    a_idx = _lookup(acceptable.core["applicant_id"], applicant_ids, runs=True)
    if s_idx is None or a_idx is None or _has_duplicate_pair(a_idx, s_idx, len(slot_ids)):
        return None
    others = {stem: t.extras for stem, t in tables.items()}
    if slot_perm is not None:
        capacity = capacity[slot_perm]
        if others[SLOTS].shape[1]:
            others[SLOTS] = others[SLOTS].iloc[slot_perm]
    if app_perm is not None:
        priority = priority[app_perm]
        if others[APPLICANTS].shape[1]:
            others[APPLICANTS] = others[APPLICANTS].iloc[app_perm]
    hashes = {"instance.json": json_sha} | {t.path.name: t.sha256 for t in tables.values()}
    return _assemble(
        name,
        slot_ids.to_numpy(zero_copy_only=False).astype(object),
        applicant_ids.to_numpy(zero_copy_only=False).astype(object),
        capacity,
        priority,
        a_idx,
        s_idx,
        rank,
        others=others,
        order={stem: t.columns for stem, t in tables.items()},
        provenance=provenance.replace(input_sha256=hashes),
    )


def _plain_ids(ids: Any) -> bool:
    """Whether every id of a pyarrow string column is present, non-empty and starts and ends
    with a visible ASCII character (so stripping blanks would change nothing). Ids beginning or
    ending with anything else (a space, a tab, non-ASCII) are left to the locating path."""
    if ids.null_count:
        return False
    import pyarrow as pa

    if pa.types.is_dictionary(ids.type):  # the values of each chunk's dictionary
        return all(c.dictionary.null_count == 0 and _plain_chunk(c.dictionary) for c in ids.chunks)
    return all(_plain_chunk(c) for c in ids.chunks)


def _plain_chunk(arr: Any) -> bool:
    if len(arr) == 0:
        return True
    start = arr.offset
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[start : start + len(arr) + 1]
    if bool((offsets[1:] <= offsets[:-1]).any()):  # an empty id
        return False
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)
    ends = data[np.concatenate((offsets[:-1], offsets[1:] - 1))]
    return bool(((ends > 0x20) & (ends < 0x7F)).all())


def _plain_integers(arr: Any, low: int, *, missing: int | None = None) -> np.ndarray | None:
    """An int64 pyarrow column as numpy when every value lies in ``low..2**62`` (nulls only
    where ``missing`` is given, as that value), else None."""
    import pyarrow.compute as pc

    if arr.null_count and missing is None:
        return None
    values = pc.fill_null(arr, missing).to_numpy() if arr.null_count else arr.to_numpy()
    checked = values[pc.is_valid(arr).to_numpy()] if arr.null_count else values
    if len(checked) and (int(checked.min()) < low or int(checked.max()) > INT_MAX):
        return None
    return values.astype(np.int64, copy=False)


def _sorted_unique(arr: Any) -> tuple[Any, np.ndarray | None]:
    """(ids in code-point order, the permutation that sorted them or None when they already
    were); ``(None, None)`` when an id repeats. UTF-8 byte order is code-point order."""
    import pyarrow.compute as pc

    if len(arr) < 2 or pc.all(pc.less(arr[:-1], arr[1:])).as_py():
        return arr, None
    perm = pc.sort_indices(arr)
    ordered = arr.take(perm)
    if not pc.all(pc.less(ordered[:-1], ordered[1:])).as_py():
        return None, None
    return ordered, perm.to_numpy(zero_copy_only=False).astype(np.int64)


def _lookup(ids: Any, ordered: Any, *, runs: bool) -> np.ndarray | None:
    """Position of each id in ``ordered`` (int64), or None when one is not there. With ``runs``,
    only the first id of each run of equal ids is looked up (the pairs of one applicant are
    usually adjacent, so eleven million pairs need one lookup per applicant)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(ids) == 0:
        return np.zeros(0, dtype=np.int64)
    if pa.types.is_dictionary(ids.type):
        # Every distinct dictionary (chunks of one Parquet row group share theirs) is looked
        # up in one call, so the set of known ids is hashed once; then each chunk gathers.
        first: dict[tuple[int, int], int] = {}
        dictionaries: list[Any] = []
        for chunk in ids.chunks:
            key = (chunk.dictionary.buffers()[1].address, len(chunk.dictionary))
            if key not in first:
                first[key] = int(sum(len(d) for d in dictionaries))
                dictionaries.append(chunk.dictionary)
        mapping = _merged_positions(dictionaries, ordered) if runs else None
        if mapping is None:
            found = pc.index_in(pa.chunked_array(dictionaries, type=pa.string()), value_set=ordered)
            if found.null_count:  # (an unused dictionary entry also lands here: still safe)
                return None
            mapping = found.to_numpy(zero_copy_only=False).astype(np.int64)
        parts = [
            mapping[first[(c.dictionary.buffers()[1].address, len(c.dictionary))] :][
                c.indices.to_numpy(zero_copy_only=False)
            ]
            for c in ids.chunks
        ]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    starts = None
    if runs and len(ids) > 1:
        change = pc.not_equal(ids[1:], ids[:-1]).to_numpy(zero_copy_only=False)
        starts = np.flatnonzero(np.concatenate(([True], change)))
        ids = _take_chunkwise(ids, starts)
    codes = _merged_positions(ids.chunks, ordered) if runs else None
    if codes is None:
        found = pc.index_in(ids, value_set=ordered)
        if found.null_count:
            return None
        codes = found.to_numpy(zero_copy_only=False).astype(np.int64)
    if starts is None:
        return codes
    return np.repeat(codes, np.diff(np.append(starts, len(change) + 1)))


def _merged_positions(chunks: list[Any], ordered: Any) -> np.ndarray | None:
    """The position of every id of ``chunks`` (pyarrow string arrays, one after another) in
    ``ordered`` (strictly increasing) by one compiled walk along both, which works when the
    ids come in increasing order (an applicant's pairs after the previous applicant's, as
    canonical files hold them; an id may repeat); None otherwise, or below the size of the
    compiled loops, and the caller hashes (``pyarrow.compute.index_in``)."""
    import pyarrow as pa

    n = sum(len(c) for c in chunks)
    if n == 0 or _row_loops.loops(n * 8, None) is None:  # (about eight pairs per id here)
        return None

    def flat(arrays: list[Any]) -> tuple[np.ndarray, np.ndarray]:
        arr = pa.concat_arrays([a.cast(pa.large_string()) for a in arrays])
        buffers = arr.buffers()
        offsets = np.frombuffer(buffers[1], dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
        data = buffers[2]
        return offsets, np.frombuffer(data, dtype=np.uint8) if data else np.zeros(1, np.uint8)

    targets = ordered.chunks if isinstance(ordered, pa.ChunkedArray) else [ordered]
    a_off, a_data = flat(list(chunks))
    b_off, b_data = flat(list(targets))
    out = np.empty(n, dtype=np.int64)
    walked = _row_loops.run("merge_positions", n * 8, None, a_off, a_data, b_off, b_data, out)
    return out if walked else None


def _take_chunkwise(ids: Any, rows: np.ndarray) -> Any:
    """``ids.take(rows)`` for increasing ``rows``, chunk by chunk (a take from a chunked array
    would first concatenate all its chunks: eleven million strings copied for a million)."""
    import pyarrow as pa

    bounds = np.cumsum([0] + [len(c) for c in ids.chunks])
    cut = np.searchsorted(rows, bounds)
    return pa.chunked_array(
        [
            chunk.take(pa.array(rows[cut[k] : cut[k + 1]] - bounds[k]))
            for k, chunk in enumerate(ids.chunks)
        ],
        type=ids.type,
    )


def _has_duplicate_pair(
    a_idx: np.ndarray, s_idx: np.ndarray, n_slots: int, *, compiled: bool | None = None
) -> bool:
    """Whether any (applicant, slot) pair repeats: one compiled pass with a last-seen stamp per
    slot when the pairs of each applicant are together (the rule of :func:`_row_loops.loops`), else
    one sort of an int64 key unless the key is already increasing."""
    if len(a_idx) < 2:
        return False
    found = _row_loops.run("repeated_pair", len(a_idx), compiled, a_idx, s_idx, n_slots)
    if found is not None and found >= 0:  # -1: one applicant's pairs are apart: the sort
        return bool(found)
    key = a_idx * max(n_slots, 1)  # one new array, then in place (fresh memory is slow)
    key += s_idx
    if bool((key[1:] > key[:-1]).all()):
        return False
    key.sort()
    return bool((key[1:] == key[:-1]).any())


def matching_tables(inst: MatchingInstance) -> dict[str, pd.DataFrame]:
    """The three tables as they are written to an instance folder."""
    acc = inst.acceptable
    if acc["rank"].isna().all():
        acc = acc.drop(columns="rank")
    return {"slots": inst.slots, "applicants": inst.applicants, "acceptable": acc}
