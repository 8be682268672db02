"""The column-wise forms of the chain's formulas agree with the per-request ones, on any input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from slotopt.engines.batch.codes import dense_codes, lex_order, locate
from slotopt.registry.bulk import (
    chain_hashes,
    digest_tails,
    group_slots,
    parse_slot_texts,
    parse_slots,
    request_digests,
    separator,
    slots_json,
)
from slotopt.registry.chain import GENESIS, receipt_hash, request_digest
from slotopt.registry.store import _slots_json

# Ids drawn from a small alphabet (so they collide), with accents, an astral character and
# control characters (candidates for the separator).
ID_CHARS = st.sampled_from(["a", "b", "Z", "é", "ü", "\U0001f600", "\x1e", "\x1f", " ", '"'])
IDS = st.text(ID_CHARS, min_size=1, max_size=4)


@st.composite
def batches(draw: st.DrawFn) -> tuple[list[str], list[tuple[int, str, int]]]:
    """Request ids and acceptable-slot rows (request position, slot id, rank or -1), in any
    order, each (request, slot) pair once."""
    rid = draw(st.lists(IDS, min_size=0, max_size=8, unique=True))
    pairs: list[tuple[int, str, int]] = []
    if rid:
        chosen = draw(
            st.lists(st.tuples(st.integers(0, len(rid) - 1), IDS), max_size=20, unique=True)
        )
        rank = st.one_of(st.just(-1), st.integers(1, 12))
        ranks = draw(st.lists(rank, min_size=len(chosen), max_size=len(chosen)))
        pairs = [(r, s, k) for (r, s), k in zip(chosen, ranks, strict=True)]
    return rid, draw(st.permutations(pairs))


def by_request(rid: list[str], pairs: list[tuple[int, str, int]]) -> list[list[tuple[str, int]]]:
    out: list[list[tuple[str, int]]] = [[] for _ in rid]
    for r, s, k in pairs:
        out[r].append((s, k))
    return [sorted(p) for p in out]


def grouped(rid: list[str], pairs: list[tuple[int, str, int]]):
    return group_slots(
        len(rid),
        np.array([p[0] for p in pairs], dtype=np.int64),
        np.array([p[1] for p in pairs], dtype=object),
        np.array([p[2] for p in pairs], dtype=np.int64),
    )


@given(batches())
def test_stored_json_and_digest_tails_are_the_per_request_texts(batch) -> None:
    rid, pairs = batch
    g = grouped(rid, pairs)
    expected = by_request(rid, pairs)
    assert slots_json(g) == [
        _slots_json([(s, None if k < 0 else k) for s, k in p]) for p in expected
    ]
    assert digest_tails(g) == [
        "".join(f"\0{s}\0{'' if k < 0 else k}" for s, k in p) for p in expected
    ]


def test_digest_tails_without_a_free_separator_join_request_by_request() -> None:
    # Slot ids that use every control character: no separator is free, the slow path runs.
    every = "".join(chr(c) for c in range(1, 32))
    slot_ids = [f"s{every}", "t"]
    assert separator(slot_ids) is None
    g = group_slots(
        2,
        np.array([1, 0, 0]),
        np.array([slot_ids[1], slot_ids[0], slot_ids[1]], dtype=object),
        np.array([-1, 2, 1]),
    )
    assert digest_tails(g) == [f"\0{slot_ids[0]}\x002\0t\x001", "\0t\0"]
    assert separator(["a\x1e", "b"]) == "\x1f"


@given(batches(), st.integers(0, 3), st.integers(0, 5))
def test_request_digests_and_the_chain_are_the_documented_hashes(
    batch: tuple,
    tier: int,
    start: int,
) -> None:
    rid, pairs = batch
    ikh = [format(i, "064x") for i in range(len(rid))]
    at = [1_767_225_600 + 7 * i for i in range(len(rid))]
    tiers, carry = [tier] * len(rid), list(range(len(rid)))
    g = grouped(rid, pairs)
    digests = request_digests("b\u00e9", rid, ikh, at, tiers, carry, digest_tails(g))
    slots = [[(s, None if k < 0 else k) for s, k in p] for p in by_request(rid, pairs)]
    expected = [
        request_digest("b\u00e9", r, ikh[i], at[i], tier, carry[i], slots[i])
        for i, r in enumerate(rid)
    ]
    assert digests == expected
    prev = GENESIS if start == 0 else format(start, "064x")
    hashes = chain_hashes(start + 1, prev, "b\u00e9", rid, ikh, at, digests)
    for i, h in enumerate(hashes):
        before = prev if i == 0 else hashes[i - 1]
        assert h == receipt_hash(
            start + 1 + i, "b\u00e9", rid[i], ikh[i], at[i], digests[i], before
        )


@given(
    st.lists(IDS, unique=True, max_size=10),
    st.lists(st.integers(0, 12), max_size=30),
    st.booleans(),
)
def test_locate_finds_each_key_grouped_or_not(
    ids: list[str], picks: list[int], group: bool
) -> None:
    pool = [*ids, "missing-1", "missing-2"]
    keys = [pool[p % len(pool)] for p in picks]
    if group:  # the usual layout: grouped in the order of the ids
        keys.sort(key=lambda k: (pool.index(k), k))
    found = locate(np.array(keys, dtype=object), np.array(ids, dtype=object))
    assert found.tolist() == [ids.index(k) if k in ids else -1 for k in keys]


@pytest.mark.parametrize(
    "keys",
    [
        ([3, 1, 2, 1], [0, 0, 1, 1]),  # plain
        ([5, -1, 5, -1, 7], [2, 2, 1, 1, 0]),  # negative values
        ([2**62, 1, 2**62, 0], [1, 1, 0, 0]),  # a sentinel far above the rest
        ([2**40, 2**41, 3, 2**40], [2**30, 2**31, 2**30, 2**31]),  # wide: ranked, then packed
        tuple([(k + j) % 4 for j in (0, 3, 1, 2)] for k in range(32)),  # 4**32 > 2**62: lexsort
    ],
)
def test_lex_order_is_lexsort(keys: tuple[list[int], ...]) -> None:
    arrays = tuple(np.array(k, dtype=np.int64) for k in keys)
    assert lex_order(*arrays).tolist() == np.lexsort(arrays).tolist()


@given(
    st.lists(
        st.tuples(st.integers(-3, 3), st.integers(0, 4), st.integers(0, 2)), min_size=1, max_size=40
    )
)
def test_lex_order_is_lexsort_on_random_keys(rows: list[tuple[int, int, int]]) -> None:
    a, b, c = (np.array(col, dtype=np.int64) for col in zip(*rows, strict=True))
    assert lex_order(a, b, c).tolist() == np.lexsort((a, b, c)).tolist()


def per_text(texts: list[str]) -> tuple[list[int], list[str], list[int | None]]:
    rows = [parse_slots(t) for t in texts]
    return [len(r) for r in rows], [s for r in rows for s, _ in r], [k for r in rows for _, k in r]


@pytest.mark.parametrize(
    "texts",
    [
        ['[["S1",null],["S2",3]]', "[]", '[["S\\u00fc",1]]'],  # what the registry writes
        [' [["S1",2]] ', '[ ["S2" , null] ]\n'],  # white space json.loads accepts
        ['[["S1",2.0]]', "[[5,1]]", '[["S1",true]]'],  # values parse_slots converts
        ['{"ab": 1}'],  # not a list: parse_slots iterates the keys' characters (and fails)
    ],
)
def test_parse_slot_texts_is_parse_slots_text_by_text(texts: list[str]) -> None:
    try:
        expected = per_text(texts)
    except (ValueError, TypeError) as exc:
        with pytest.raises(type(exc)):
            parse_slot_texts(texts)
    else:
        assert parse_slot_texts(texts) == expected


@pytest.mark.parametrize(
    "texts",
    [['[["S1",1]]', '[["S2",1]'], ['[["S1",1]]x'], [""], ['[["S1",1,2]]'], ['[["S1",1],[]]']],
)
def test_parse_slot_texts_raises_where_parse_slots_does(texts: list[str]) -> None:
    with pytest.raises(ValueError) as want:
        per_text(texts)
    with pytest.raises(type(want.value)):
        parse_slot_texts(texts)


def test_parse_slot_texts_never_reads_across_texts() -> None:
    # Joined, these three malformed texts would read as three well-formed lists.
    texts = ["[1],[2]", "[[3]", "[4]]"]
    with pytest.raises(ValueError):
        parse_slot_texts(texts)


@given(st.lists(st.one_of(st.integers(-5, 5), st.integers(-(2**62), 2**62)), max_size=30))
def test_dense_codes_are_the_sorted_uniques_and_their_inverse(values: list[int]) -> None:
    a = np.array(values, dtype=np.int64)
    uniques, inverse = dense_codes(a)
    assert uniques.tolist() == sorted(set(values))
    assert uniques[inverse].tolist() == values
