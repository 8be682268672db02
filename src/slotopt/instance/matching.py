"""The ``kind: "matching"`` instance: slots with capacities, applicants with priorities, and the
(applicant, slot) pairs each applicant accepts.

:func:`matching_from_frames` is the single validator; loading a folder, the generator and tests
all go through it, so a ``MatchingInstance`` is always consistent. Ids are kept as strings
(``"007"`` stays ``"007"``) and everything downstream works on the integer-coded arrays.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from slotopt.errors import UsageError
from slotopt.instance._tables import (
    INT_MAX,
    INT_MIN,
    RANGE_TEXT,
    Problems,
    check_ids,
    check_unique,
    integer_column,
    read_table,
    sha256_of,
)

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


@dataclass(frozen=True, eq=False)
class MatchingInstance:
    """A validated matching instance. Build it with :func:`matching_from_frames` or
    :func:`slotopt.load_instance`; never mutate it. Its arrays (and those of :attr:`types`) are
    read-only, so an attempt to change one in place raises ``ValueError``; derive a changed
    instance with :meth:`restrict` or by editing the tables and validating them again.

    Attributes
    ----------
    slots, applicants, acceptable : DataFrame
        The tables as read (id columns as pandas strings; optional columns kept).
    capacity : ndarray of shape (S,), int64
    priority : ndarray of shape (A,), int64
    acc_indptr : ndarray of shape (A+1,)
        Applicant ``i`` accepts slot indices ``acc_slot[acc_indptr[i]:acc_indptr[i+1]]``.
    acc_slot : ndarray of shape (P,), int64
        Sorted by applicant, then by rank (unranked last), then by slot index.
    acc_rank : ndarray of shape (P,), int64
        The rank of each pair, ``-1`` where none was given.
    """

    name: str
    slots: pd.DataFrame
    applicants: pd.DataFrame
    acceptable: pd.DataFrame
    capacity: np.ndarray
    priority: np.ndarray
    acc_indptr: np.ndarray
    acc_slot: np.ndarray
    acc_rank: np.ndarray
    seed: int | None = None
    source: Path | None = None
    input_sha256: Mapping[str, str] = field(default_factory=dict)
    meta: Mapping[str, Any] = field(default_factory=dict)

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
    def applicant_ids(self) -> np.ndarray:
        return self.applicants["applicant_id"].to_numpy(dtype=object)

    @cached_property
    def slot_ids(self) -> np.ndarray:
        return self.slots["slot_id"].to_numpy(dtype=object)

    @cached_property
    def applicant_index(self) -> pd.Index:
        return pd.Index(self.applicant_ids)

    @cached_property
    def slot_index(self) -> pd.Index:
        return pd.Index(self.slot_ids)

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
        are sliced out of the arrays and tables (in their current, canonical order), so the
        result equals :func:`matching_from_frames` of the filtered tables, at the cost of a few
        array copies. The original is unchanged.

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
            With the provenance (seed, source, input hashes, meta) of this one; ``meta`` gains a
            ``"restricted"`` entry saying what was changed.

        Raises
        ------
        UsageError
            A mask or capacity array of the wrong length, an index out of range or repeated, a
            capacity that is not an integer in range.
        """
        keep = None if applicants is None else self._keep_mask(applicants)
        new_capacity = None if capacity is None else self._checked_capacity(capacity)
        # The arrays are read-only and can be shared; the tables are not, so each gets a copy.
        slots, cap = self.slots.copy(), self.capacity
        if new_capacity is not None:
            slots["capacity"] = new_capacity.copy()
            cap = new_capacity
        table, priority = self.applicants, self.priority
        acceptable, indptr = self.acceptable, self.acc_indptr
        acc_slot, acc_rank = self.acc_slot, self.acc_rank
        if keep is None:
            table, acceptable = table.copy(), acceptable.copy()
        else:
            lengths = np.diff(self.acc_indptr)
            pairs = np.repeat(keep, lengths)
            table, acceptable = _rows(self.applicants, keep), _rows(self.acceptable, pairs)
            priority = self.priority[keep]
            indptr = np.zeros(int(keep.sum()) + 1, dtype=np.int64)
            np.cumsum(lengths[keep], out=indptr[1:])
            acc_slot, acc_rank = self.acc_slot[pairs], self.acc_rank[pairs]
            _read_only(priority, indptr, acc_slot, acc_rank)
        note = {
            "applicants": f"{len(priority)} of {self.n_applicants}",
            "capacity_changed": new_capacity is not None,
        }
        restricted = MatchingInstance(
            name=self.name,
            slots=slots,
            applicants=table,
            acceptable=acceptable,
            capacity=cap,
            priority=priority,
            acc_indptr=indptr,
            acc_slot=acc_slot,
            acc_rank=acc_rank,
            seed=self.seed,
            source=self.source,
            input_sha256=dict(self.input_sha256),
            meta=dict(self.meta) | {"restricted": note},
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


def group_types(indptr: np.ndarray, acc_slot: np.ndarray, n_slots: int) -> ApplicantTypes:
    """Group rows of a CSR set system into identical sets, exactly.

    Each set is hashed twice (sums of random 64-bit words per slot, order-free), grouped by
    (size, hash, hash), and every member is then compared element by element with its group's
    first member; if two different sets ever shared a key the grouping falls back to exact tuples.
    """
    n = len(indptr) - 1
    lengths = np.diff(indptr)
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

    slots = slots.reset_index(drop=True).copy()
    applicants = applicants.reset_index(drop=True).copy()
    acceptable = acceptable.reset_index(drop=True).copy()
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
    slot_perm = _id_order(slots["slot_id"])
    if slot_perm is not None:
        slots = slots.iloc[slot_perm].reset_index(drop=True)
        capacity = capacity[slot_perm]
        s_idx = _inverse(slot_perm)[s_idx]
    app_perm = _id_order(applicants["applicant_id"])
    if app_perm is not None:
        applicants = applicants.iloc[app_perm].reset_index(drop=True)
        priority = priority[app_perm]
        a_idx = _inverse(app_perm)[a_idx]
    rank_key = np.where(rank < 0, np.iinfo(np.int64).max, rank)
    if not _is_sorted(a_idx, rank_key, s_idx):
        order = np.lexsort((s_idx, rank_key, a_idx))
        acceptable = acceptable.iloc[order].reset_index(drop=True)
        a_idx, s_idx, rank = a_idx[order], s_idx[order], rank[order]
    indptr = np.zeros(len(applicants) + 1, dtype=np.int64)
    np.cumsum(np.bincount(a_idx, minlength=len(applicants)), out=indptr[1:])

    # The tables get their own copies: editing a table must not change the validated arrays.
    slots["capacity"] = capacity.copy()
    applicants["priority"] = priority.copy()
    acceptable["rank"] = pd.arrays.IntegerArray(rank.copy(), rank < 0)
    acc_slot, acc_rank = s_idx.astype(np.int64), rank.astype(np.int64)
    _read_only(capacity, priority, indptr, acc_slot, acc_rank)
    return MatchingInstance(
        name=name,
        slots=slots,
        applicants=applicants,
        acceptable=acceptable,
        capacity=capacity,
        priority=priority,
        acc_indptr=indptr,
        acc_slot=acc_slot,
        acc_rank=acc_rank,
        seed=seed,
        source=source,
        input_sha256=dict(input_sha256 or {}),
        meta=dict(meta or {}),
    )


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


def _id_order(ids: pd.Series) -> np.ndarray | None:
    """The permutation that sorts unique string ids by code point, or None if they are sorted
    (UTF-8 byte order, which Arrow and Python's str comparison agree on)."""
    values = ids.to_numpy(dtype=object)
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
    tables: dict[str, pd.DataFrame] = {}
    labels: dict[str, str] = {}
    hashes = {"instance.json": json_sha}
    wanted = {
        SLOTS: (("slot_id", "capacity"), ("slot_id", "location", "slot_type"), ("capacity",)),
        APPLICANTS: (("applicant_id", "priority"), ("applicant_id", "identity"), ("priority",)),
        ACCEPTABLE: (("applicant_id", "slot_id"), ("applicant_id", "slot_id"), ("rank",)),
    }
    for stem, (required, strings, integers) in wanted.items():
        df, path = read_table(
            folder,
            stem,
            required=required,
            string_columns=strings,
            integer_columns=integers,
            problems=problems,
        )
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
        meta={k: v for k, v in spec.items() if k not in {"kind", "name", "seed"}},
        labels=labels,
    )


def matching_tables(inst: MatchingInstance) -> dict[str, pd.DataFrame]:
    """The three tables as they are written to an instance folder."""
    acc = inst.acceptable.copy()
    if acc["rank"].isna().all():
        acc = acc.drop(columns="rank")
    return {"slots": inst.slots, "applicants": inst.applicants, "acceptable": acc}
