"""The chain's formulas for a whole batch at once: the same bytes, without per-row Python work.

:mod:`slotopt.registry.chain` states each digest for one request; registering or storing a
million requests with those functions spends most of its time in Python bookkeeping. This module
computes the same values column-wise:

* :func:`group_slots` sorts a batch's acceptable slots by request and then slot id (code points)
  once, with numpy;
* :func:`slots_json` and :func:`digest_tails` turn the sorted pairs into each request's stored
  JSON (``[["slot_id", rank], ...]``) and its request-digest tail (``NUL slot_id NUL rank`` per
  slot) by writing every piece of every request into one string and splitting it at a separator
  no piece contains, so each request's text is made by C code, not by a Python join;
* :func:`request_digests` and :func:`chain_hashes` hash one text per request (the chain is
  sequential by design: each receipt hashes the one before it).

The tests compare every function here with the per-request formulas on random inputs, and pin
reference values computed from the documented bytes (``tests/registry/test_reference_values.py``).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import json.scanner
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from slotopt.engines.batch.codes import dense_codes, lex_order
from slotopt.registry.chain import RECEIPT_TAG, REQUEST_TAG

__all__ = [
    "GroupedSlots",
    "chain_hashes",
    "digest_tails",
    "group_slots",
    "parse_slots",
    "parse_slot_texts",
    "request_digests",
    "separator",
    "slots_json",
]

#: Candidate separators for the split: control characters, which JSON always escapes.
_SEPARATORS = tuple(chr(c) for c in (0x1E, 0x1F, 0x1D, 0x1C, *range(1, 0x1C)))


@dataclass(frozen=True)
class GroupedSlots:
    """A batch's acceptable slots in stored order: by request, then slot id (code points).

    Attributes
    ----------
    indptr : ndarray of shape (R+1,), int64
        Request ``r`` has pairs ``indptr[r]:indptr[r+1]``.
    slot_code : ndarray of shape (P,), int64
        Each pair's slot, an index into ``slot_ids``.
    rank : ndarray of shape (P,), int64
        Each pair's rank, -1 when unranked.
    slot_ids : ndarray of shape (S,), object
        The distinct slot ids, in code-point order.
    order : ndarray of shape (P,), int64
        Position of each sorted pair in the input table.
    """

    indptr: np.ndarray
    slot_code: np.ndarray
    rank: np.ndarray
    slot_ids: np.ndarray
    order: np.ndarray


def group_slots(
    n_requests: int, request_code: np.ndarray, slot_id: np.ndarray, rank: np.ndarray
) -> GroupedSlots:
    """Sort the pairs ``(request_code[i], slot_id[i], rank[i])`` by request, then slot id.

    ``request_code`` holds request positions in ``0 .. n_requests - 1``; ``slot_id`` is an object
    array of strings; ``rank`` is int64 with -1 for unranked.
    """
    codes, uniques = pd.factorize(np.asarray(slot_id, dtype=object), sort=True)
    s_code = codes.astype(np.int64)
    r_code = np.asarray(request_code, dtype=np.int64)
    order = lex_order(s_code, r_code)
    indptr = np.zeros(n_requests + 1, dtype=np.int64)
    np.cumsum(np.bincount(r_code, minlength=n_requests), out=indptr[1:])
    return GroupedSlots(
        indptr=indptr,
        slot_code=s_code[order],
        rank=np.asarray(rank, dtype=np.int64)[order],
        slot_ids=np.asarray(uniques, dtype=object),
        order=order,
    )


def separator(texts: Sequence[str]) -> str | None:
    """A control character that occurs in none of ``texts`` (None in the absurd case that every
    one of them occurs)."""
    joined = "".join(texts)
    return next((s for s in _SEPARATORS if s not in joined), None)


def _rank_texts(rank: np.ndarray, missing: str, suffix: str) -> tuple[np.ndarray, np.ndarray]:
    """Text of each distinct rank (``missing`` for -1) plus ``suffix``, and each pair's index."""
    values, inverse = dense_codes(rank)
    text = np.array(
        [(missing if v < 0 else str(int(v))) + suffix for v in values.tolist()], dtype=object
    )
    return text, inverse


def _segments(
    indptr: np.ndarray, pair_pieces: tuple[np.ndarray, np.ndarray], ends: tuple[str, str], sep: str
) -> list[str]:
    """Each request's text: its pairs' two pieces in order, then ``ends[0]`` (``ends[1]`` for a
    request without pairs).

    All pieces go into one string, each request's text followed by ``sep``, which no piece
    contains; splitting at ``sep`` gives the texts.
    """
    n = len(indptr) - 1
    p = int(indptr[-1])
    counts = np.diff(indptr)
    tokens = np.empty(2 * p + n, dtype=object)
    owner = np.repeat(np.arange(n, dtype=np.int64), counts)
    at = 2 * np.arange(p, dtype=np.int64) + owner
    tokens[at] = pair_pieces[0]
    tokens[at + 1] = pair_pieces[1]
    end = np.where(counts > 0, ends[0] + sep, ends[1] + sep).astype(object)
    tokens[2 * indptr[1:] + np.arange(n, dtype=np.int64)] = end
    out = "".join(tokens.tolist()).split(sep)
    out.pop()  # after the last separator
    return out


def _first_of_request(indptr: np.ndarray) -> np.ndarray:
    first = np.zeros(int(indptr[-1]), dtype=bool)
    starts = indptr[:-1][np.diff(indptr) > 0]
    first[starts] = True
    return first


def slots_json(g: GroupedSlots) -> list[str]:
    """Each request's stored ``slots`` column: ``[["slot_id",rank],...]`` (``null`` when
    unranked), slot ids JSON-escaped as ``json.dumps`` does (ASCII only)."""
    encoded = [json.dumps(str(u)) for u in g.slot_ids.tolist()]
    opening = np.array(["[[" + e + "," for e in encoded], dtype=object)
    between = np.array([",[" + e + "," for e in encoded], dtype=object)
    first = _first_of_request(g.indptr)
    slot_piece = np.where(first, opening[g.slot_code], between[g.slot_code])
    rank_text, rank_at = _rank_texts(g.rank, "null", "]")
    # JSON escapes every control character, so any of them separates safely.
    return _segments(g.indptr, (slot_piece, rank_text[rank_at]), ("]", "[]"), "\x1e")


def digest_tails(g: GroupedSlots) -> list[str]:
    """Each request's request-digest tail: ``NUL slot_id NUL rank`` per slot (rank empty when
    unranked), the part of the digest text after ``carry_over``."""
    ids = g.slot_ids.tolist()
    sep = separator(ids)
    if sep is None:  # every control character is in some slot id: join request by request
        ptr = g.indptr.tolist()
        parts = [
            f"\0{ids[s]}\0{'' if k < 0 else k}"
            for s, k in zip(g.slot_code.tolist(), g.rank.tolist(), strict=True)
        ]
        return ["".join(parts[a:b]) for a, b in zip(ptr[:-1], ptr[1:], strict=True)]
    pieces = np.array([f"\0{u}\0" for u in ids], dtype=object)
    rank_text, rank_at = _rank_texts(g.rank, "", "")
    return _segments(g.indptr, (pieces[g.slot_code], rank_text[rank_at]), ("", ""), sep)


def request_digests(
    batch: str,
    request_id: Sequence[str],
    identity_key_hash: Sequence[str],
    registered_at: Sequence[int],
    priority_tier: Sequence[int],
    carry_over: Sequence[int],
    tails: Sequence[str],
) -> list[str]:
    """:func:`slotopt.registry.chain.request_digest` of every request (integers as ints)."""
    sha = hashlib.sha256
    head = f"{REQUEST_TAG}\0{batch}\0"
    return [
        sha(f"{head}{r}\0{k}\0{a}\0{t}\0{c}{tail}".encode()).hexdigest()
        for r, k, a, t, c, tail in zip(
            request_id,
            identity_key_hash,
            registered_at,
            priority_tier,
            carry_over,
            tails,
            strict=True,
        )
    ]


def chain_hashes(
    first_seq: int,
    prev_hash: str,
    batch: str,
    request_id: Sequence[str],
    identity_key_hash: Sequence[str],
    registered_at: Sequence[int],
    request_digest: Sequence[str],
) -> list[str]:
    """:func:`slotopt.registry.chain.receipt_hash` of consecutive links ``first_seq``, ``first_seq
    + 1``, ...; the first link's ``prev_hash`` is ``prev_hash``, each next one's the hash before."""
    sha = hashlib.sha256
    tag, tail = f"{RECEIPT_TAG}\0", f"\0{batch}\0"
    out: list[str] = []
    append = out.append
    h = prev_hash
    for seq, r, k, a, d in zip(
        range(first_seq, first_seq + len(request_id)),
        request_id,
        identity_key_hash,
        registered_at,
        request_digest,
        strict=True,
    ):
        h = sha(f"{tag}{seq}{tail}{r}\0{k}\0{a}\0{d}\0{h}".encode()).hexdigest()
        append(h)
    return out


def parse_slots(text: str) -> list[tuple[str, int | None]]:
    """``(slot_id, rank)`` pairs of a stored ``slots`` column (rank None when unranked)."""
    return [(str(s), None if k is None else int(k)) for s, k in json.loads(text)]


# The decoder's own scanner (C when available), as json.loads uses it.
_scan = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]


def _load(text: str) -> Any:
    """``json.loads(text)``: the C scanner alone when the text is one value with nothing around
    it (what the registry writes), ``json.loads`` itself otherwise (same value, same errors)."""
    try:
        value, end = _scan(text, 0)
    except StopIteration:
        end = -1
    return value if end == len(text) else json.loads(text)


def parse_slot_texts(texts: Sequence[str]) -> tuple[list[int], list[str], list[int | None]]:
    """:func:`parse_slots` of many stored ``slots`` columns, flattened.

    Returns each text's number of pairs, and every pair's slot id and rank, in stored order.
    Same values and the same exceptions as :func:`parse_slots` text by text: the flat route is
    taken only when every value is a list of ``[str, int or null]`` pairs, where
    :func:`parse_slots` converts nothing.
    """
    parsed = [_load(t) for t in texts]
    if set(map(type, parsed)) <= {list}:
        flat = list(itertools.chain.from_iterable(parsed))
        if set(map(type, flat)) <= {list} and set(map(len, flat)) <= {2}:
            sid = list(map(operator.itemgetter(0), flat))
            rank = list(map(operator.itemgetter(1), flat))
            if set(map(type, sid)) <= {str} and set(map(type, rank)) <= {int, type(None)}:
                return list(map(len, parsed)), sid, rank
    # parse_slots' conversions (and its error, for the first text that has one)
    rows = [[(str(s), None if k is None else int(k)) for s, k in v] for v in parsed]
    return (
        [len(r) for r in rows],
        [s for r in rows for s, _ in r],
        [k for r in rows for _, k in r],
    )
