"""The row loops of loading and type grouping (``slotopt.instance._row_loops``) give what the
numpy versions give: the same types, numbered the same way, and the same answer on repeated
pairs. They run here both as plain Python (always) and compiled (with numba)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slotopt import _jit
from slotopt.instance import _row_loops
from slotopt.instance.matching import _group_types_loops, _has_duplicate_pair, group_types

needs_numba = pytest.mark.skipif(
    importlib.util.find_spec("numba") is None, reason="numba is not installed (slotopt[fast])"
)

# rows in any order (ranks leave them unsorted), some long enough for the np.sort branch
ROWS = st.lists(
    st.one_of(
        st.lists(st.integers(0, 9), max_size=5, unique=True),
        st.permutations(list(range(40))).map(lambda p: p[: 33 + p[0] % 7]),
    ),
    max_size=25,
)


def _csr(rows: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum([len(r) for r in rows], out=indptr[1:])
    return indptr, np.array([s for r in rows for s in r], dtype=np.int64)


def _same_types(a: object, b: object) -> None:
    for name in ("type_of", "indptr", "slots", "size"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype == np.int64, name
        assert np.array_equal(x, y), name


def _brute_types(rows: list[list[int]]) -> tuple[list[int], list[list[int]]]:
    first: dict[tuple[int, ...], int] = {}
    type_of = [first.setdefault(tuple(sorted(r)), len(first)) for r in rows]
    return type_of, [list(k) for k in first]


@given(ROWS)
def test_python_loops_group_like_numpy_and_brute_force(rows: list[list[int]]) -> None:
    indptr, flat = _csr(rows)
    loops = _group_types_loops(_row_loops.python_loops(), indptr, flat, np.diff(indptr))
    _same_types(loops, group_types(indptr, flat, 40, compiled=False))
    type_of, sets = _brute_types(rows)
    assert loops.type_of.tolist() == type_of
    assert [loops.slots_of(t).tolist() for t in range(loops.n_types)] == sets


@given(ROWS)
def test_every_row_hashing_alike_still_groups_exactly(rows: list[list[int]]) -> None:
    # every hash 0: every lookup probes past other types, which only the comparison of the
    # rows element by element tells apart
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_row_loops, "_LOW31", 0)
        indptr, flat = _csr(rows)
        loops = _group_types_loops(_row_loops.python_loops(), indptr, flat, np.diff(indptr))
    type_of, sets = _brute_types(rows)
    assert loops.type_of.tolist() == type_of
    assert [loops.slots_of(t).tolist() for t in range(loops.n_types)] == sets


def test_rows_of_one_hash_but_other_lengths_are_told_apart() -> None:
    # (0,) and (0, 0)-like prefixes: same first elements, another length
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_row_loops, "_LOW31", 0)
        indptr, flat = _csr([[1, 2], [1, 2, 3], [1], [1, 2]])
        loops = _group_types_loops(_row_loops.python_loops(), indptr, flat, np.diff(indptr))
    assert loops.type_of.tolist() == [0, 1, 2, 0]


def test_sort_rows_counts_the_rows_it_sorted() -> None:
    indptr, flat = _csr([[3, 1], [1, 3], [], [5, 4, 9]])
    out = np.empty_like(flat)
    assert _row_loops.sort_rows_loop(indptr, flat, out) == 2
    assert out.tolist() == [1, 3, 1, 3, 4, 5, 9]


@st.composite
def pairs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.integers(0, 30))
    owner = draw(st.lists(st.integers(0, 6), min_size=n, max_size=n))
    if draw(st.booleans()):
        owner.sort()  # the pairs of each applicant together, as files usually hold them
    values = draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))
    return np.array(owner, dtype=np.int64), np.array(values, dtype=np.int64)


@given(pairs())
def test_repeated_pair_loop_against_brute_force(data: tuple[np.ndarray, np.ndarray]) -> None:
    owner, values = data
    repeated = len(set(zip(owner.tolist(), values.tolist(), strict=True))) < len(owner)
    got = _row_loops.repeated_pair_loop(owner, values, 5)
    apart = bool((np.diff(owner) < 0).any())
    if got == -1:
        assert apart  # the caller sorts then
    else:
        assert got == int(repeated)  # a repeat met before the disorder is still a repeat
        assert got == 1 or not apart
    assert _has_duplicate_pair(owner, values, 5, compiled=False) == repeated


@needs_numba
@settings(max_examples=60)
@given(ROWS, pairs())
def test_compiled_loops_match_numpy(
    rows: list[list[int]], data: tuple[np.ndarray, np.ndarray]
) -> None:
    indptr, flat = _csr(rows)
    _same_types(
        group_types(indptr, flat, 40, compiled=True), group_types(indptr, flat, 40, compiled=False)
    )
    owner, values = data
    repeated = len(set(zip(owner.tolist(), values.tolist(), strict=True))) < len(owner)
    assert _has_duplicate_pair(owner, values, 5, compiled=True) == repeated


def test_compiled_on_demand_without_numba_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(_jit.DISABLE_ENV, "1")
    indptr, flat = _csr([[0, 1]])
    with pytest.raises(RuntimeError, match="numba"):
        group_types(indptr, flat, 2, compiled=True)
    # the default falls back to numpy, whatever the size
    monkeypatch.setattr(_row_loops, "COMPILE_ABOVE", 0)
    _same_types(group_types(indptr, flat, 2), group_types(indptr, flat, 2, compiled=False))


def test_small_inputs_take_numpy_and_large_ones_the_loops(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _row_loops.loops(_row_loops.COMPILE_ABOVE - 1, None) is None
    assert _row_loops.loops(10**9, False) is None
    if importlib.util.find_spec("numba") is not None:
        assert _row_loops.loops(_row_loops.COMPILE_ABOVE, None) is not None


@st.composite
def ranked_pairs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = draw(st.integers(0, 25))
    owner = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    rank = draw(st.lists(st.sampled_from([-1, 1, 2, 3]), min_size=n, max_size=n))
    values = draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))
    rows = sorted(set(zip(owner, values, strict=True)))  # distinct pairs, as validated
    ranks = {pair: r for pair, r in zip(zip(owner, values, strict=True), rank, strict=True)}
    triples = [(a, ranks[(a, v)], v) for a, v in rows]
    if draw(st.booleans()):  # canonical: unranked (-1) after every rank
        triples.sort(key=lambda t: (t[0], t[1] < 0, t[1], t[2]))
    else:
        triples = draw(st.permutations(triples))
    cols = list(zip(*triples, strict=True)) or [(), (), ()]
    return tuple(np.array(c, dtype=np.int64) for c in cols)  # type: ignore[return-value]


@given(ranked_pairs())
def test_canonical_loop_agrees_with_the_sort(data: tuple[np.ndarray, ...]) -> None:
    from slotopt.instance.matching import _pair_order

    owner, rank, values = data
    key = [(a, r < 0, r, v) for a, r, v in zip(owner, rank, values, strict=True)]
    canonical = key == sorted(key)
    assert _row_loops.canonical_loop(owner, rank, values) == canonical
    assert (_pair_order(owner, rank, values, 4, 5, compiled=False) is None) == canonical
    if importlib.util.find_spec("numba") is not None:
        assert (_pair_order(owner, rank, values, 4, 5, compiled=True) is None) == canonical


@pytest.mark.parametrize(
    ("rank", "values", "canonical"),
    [
        ([1, 2, -1], [5, 1, 0], True),  # by rank, unranked last
        ([-1, 1], [0, 5], False),  # an unranked pair before a ranked one
        ([2, 1], [0, 5], False),
        ([-1, -1], [3, 1], False),  # unranked pairs by slot
        ([1, 1], [1, 3], True),
    ],
)
def test_canonical_loop_by_hand(rank: list[int], values: list[int], canonical: bool) -> None:
    owner = np.zeros(len(rank), dtype=np.int64)
    got = _row_loops.canonical_loop(owner, np.array(rank), np.array(values))
    assert got == canonical


def _arrow_layout(strings: list[str]) -> tuple[np.ndarray, np.ndarray]:
    data = [s.encode() for s in strings]
    offsets = np.zeros(len(data) + 1, dtype=np.int64)
    np.cumsum([len(d) for d in data], out=offsets[1:])
    return offsets, np.frombuffer(b"".join(data) + b"\0", dtype=np.uint8)


IDS = st.text(st.sampled_from("ab9Zé試"), min_size=1, max_size=4)


@given(st.lists(IDS, unique=True, max_size=12), st.data())
def test_merge_positions_loop_against_python(known: list[str], data: st.DataObject) -> None:
    ordered = sorted(known, key=lambda s: s.encode())  # byte order = code-point order
    probes = data.draw(st.lists(st.one_of(st.sampled_from(ordered), IDS) if ordered else IDS))
    if data.draw(st.booleans()):
        probes.sort(key=lambda s: s.encode())  # increasing, repeats allowed: the walk's case
    out = np.full(len(probes), -1, dtype=np.int64)
    ok = _row_loops.merge_positions_loop(*_arrow_layout(probes), *_arrow_layout(ordered), out)
    increasing = all(a.encode() <= b.encode() for a, b in zip(probes, probes[1:], strict=False))
    present = all(p in ordered for p in probes)
    assert ok == (increasing and present)
    if ok:
        assert out.tolist() == [ordered.index(p) for p in probes]


def test_merge_positions_tells_prefixes_apart() -> None:
    ordered = ["a", "ab", "abc", "b"]
    out = np.empty(4, dtype=np.int64)
    probes = ["a", "ab", "ab", "abc"]
    assert _row_loops.merge_positions_loop(*_arrow_layout(probes), *_arrow_layout(ordered), out)
    assert out.tolist() == [0, 1, 1, 2]
    assert not _row_loops.merge_positions_loop(
        *_arrow_layout(["abd"]), *_arrow_layout(ordered), out
    )


@needs_numba
@settings(max_examples=40)
@given(st.lists(IDS, unique=True, min_size=1, max_size=12), st.data())
def test_lookup_by_walk_equals_lookup_by_hash(known: list[str], data: st.DataObject) -> None:
    import pyarrow as pa

    from slotopt.instance import matching

    ordered = pa.array(sorted(known, key=lambda s: s.encode()))
    probes = data.draw(st.lists(st.sampled_from(known), min_size=1))
    increasing = data.draw(st.booleans())
    if increasing:
        probes.sort(key=lambda s: s.encode())
    half = len(probes) // 2
    ids = pa.chunked_array([pa.array(probes[:half], pa.string()), pa.array(probes[half:])])
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_row_loops, "COMPILE_ABOVE", 0)
        if increasing:  # the walk, not the hash, gives these
            assert matching._merged_positions(list(ids.chunks), ordered) is not None
        walked = matching._lookup(ids, ordered, runs=True)
        coded = matching._lookup(ids.dictionary_encode(), ordered, runs=True)
    hashed = matching._lookup(ids, ordered, runs=False)  # pyarrow's index_in
    assert walked is not None and hashed is not None and coded is not None
    assert walked.tolist() == hashed.tolist() == coded.tolist()


def test_a_loop_that_fails_when_called_falls_back_for_good(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object) -> None:
        raise TypeError("cannot compile")

    failing = _row_loops.python_loops()._replace(repeated_pair=broken)
    monkeypatch.setattr(_row_loops, "loops", lambda n, compiled: failing)
    marked: list[bool] = []
    monkeypatch.setattr(_row_loops, "mark_unusable", lambda: marked.append(True))
    owner, values = np.array([0, 0]), np.array([1, 1])
    assert _row_loops.run("repeated_pair", 2, None, owner, values, 2) is None
    assert marked == [True]
    assert _has_duplicate_pair(owner, values, 2) is True  # by the numpy sort
    with pytest.raises(TypeError):
        _row_loops.run("repeated_pair", 2, True, owner, values, 2)
