"""Seeded, portable lotteries: digests of (seed, context, id), uniform orders and weighted draws.

Every lottery in slotopt is built from one recomputable number per participant, the SHA-256
digest of a tagged message, read as a 256-bit big-endian integer (smaller = drawn earlier):

* without a context (the matching lottery that breaks priority ties; unchanged since the first
  release): ``SHA-256(b"slotopt-lottery-v1\\0" + str(seed) + b"\\0" + id)``;
* with a context, e.g. ``"batch-3"`` (the batch system's draws):
  ``SHA-256(b"slotopt-draw-v1\\0" + str(seed) + b"\\0" + context + b"\\0" + id)``.

Strings are UTF-8 and ``seed`` is written in decimal. A participant's number depends on the seed,
the context and their own id only, so adding or removing another participant never reorders the
rest, and anyone with the published seed can recompute a draw by hand (``sha256sum`` suffices).
The two tags keep a contexted message from ever equalling an uncontexted one.

Weighted draws hold ``w`` tickets per participant (``w`` a positive integer): ticket ``j`` is the
digest of id ``f"{id}#{j}"`` (``j = 0 .. w-1``) and a participant's key is their *smallest*
ticket. The minimum of ``w`` independent uniform numbers is what Efraimidis & Spirakis' keys
``u**(1/w)`` encode, so drawing in key order is successive sampling with probabilities
proportional to ``w`` — computed on integers, with no floating point, bit for bit everywhere.
A weight of 1 gives the uniform key of the same id's ``#0`` ticket.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

import numpy as np

from slotopt.engines import _sha256

__all__ = [
    "DRAW_TAG",
    "LOTTERY_TAG",
    "MAX_TICKETS",
    "digest",
    "digest_words",
    "lottery_number",
    "uniform_order",
    "weighted_order",
]

LOTTERY_TAG = b"slotopt-lottery-v1\0"
DRAW_TAG = b"slotopt-draw-v1\0"
#: Largest number of tickets one participant may hold in a weighted draw (a doubling rule
#: reaches it after 20 unsuccessful batches); more would make a draw slow to recompute.
MAX_TICKETS = 2**20
#: From this many ids on, digests are computed in one compiled loop when numba is installed
#: (:mod:`slotopt.engines._sha256`; the same digests); below it, numba's start-up would cost more.
COMPILED_ABOVE = 20_000


def _prefix(seed: int, context: str | None) -> bytes:
    seed = int(seed)
    if seed < 0:
        raise ValueError(f"a lottery seed is a non-negative integer, got {seed}")
    if context is None:
        return LOTTERY_TAG + str(seed).encode() + b"\0"
    if "\0" in context:
        raise ValueError("a lottery context may not contain a NUL character")
    return DRAW_TAG + str(seed).encode() + b"\0" + context.encode() + b"\0"


def digest(seed: int, item_id: str, context: str | None = None) -> bytes:
    """The 32-byte lottery digest of one participant (module docstring; stable across versions)."""
    return hashlib.sha256(_prefix(seed, context) + str(item_id).encode()).digest()


def lottery_number(seed: int, item_id: str, context: str | None = None) -> int:
    """The digest as the 256-bit integer it is compared by (smaller = drawn earlier)."""
    return int.from_bytes(digest(seed, item_id, context), "big")


def digest_words(seed: int, ids: Iterable[object], context: str | None = None) -> np.ndarray:
    """Digests of many ids as big-endian 64-bit words.

    Returns
    -------
    ndarray of shape (N, 4), uint64
        Row ``k`` is id ``k``'s digest; column 0 holds its most significant 64 bits.
    """
    prefix = _prefix(seed, context)
    texts = list(map(str, ids))
    fast = _sha256.compiled_digests() if len(texts) >= COMPILED_ABOVE else None
    if fast is not None:
        data, lengths = _encoded(texts)
        raw = fast(prefix, data, lengths).view(">u8")
    else:
        sha = hashlib.sha256
        raw = np.frombuffer(
            b"".join([sha(prefix + t.encode()).digest() for t in texts]), dtype=">u8"
        )
    return raw.reshape(-1, 4).astype(np.uint64)


def _encoded(texts: list[str]) -> tuple[bytes, np.ndarray]:
    """The UTF-8 bytes of all texts, one after another, and each one's length in bytes."""
    joined = "".join(texts)
    data = joined.encode()
    if len(data) == len(joined):  # all ASCII: a character is a byte
        return data, np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    parts = [t.encode() for t in texts]
    return b"".join(parts), np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))


def _order_by_words(words: np.ndarray, first_keys: Sequence[np.ndarray] = ()) -> np.ndarray:
    """Indices sorted by the given keys, then by the digest's words, most significant first;
    stable (equal keys and digests, impossible in practice, keep input order)."""
    if len(first_keys) <= 1 and len(words) > 1:
        # The same order from one sort on the first word (then a stable sort on the key):
        # unless two rows share the key and the first 64 bits, which the check below finds.
        top = words[:, 0]
        order = np.argsort(top)
        if first_keys:
            key = np.asarray(first_keys[0])[order]
            if np.issubdtype(key.dtype, np.integer) and int(key.max()) - int(key.min()) < 2**16:
                key = (key - key.min()).astype(np.uint16)  # numpy radix-sorts 16-bit keys
            by_key = np.argsort(key, kind="stable")
            order, key = order[by_key], key[by_key]
            tie = (top[order[1:]] == top[order[:-1]]) & (key[1:] == key[:-1])
        else:
            tie = top[order[1:]] == top[order[:-1]]
        if not tie.any():
            return order.astype(np.int64)
    # np.lexsort sorts by its last key first: the given keys, then the digest's words, most
    # significant first.
    keys = tuple(words[:, j] for j in (3, 2, 1, 0)) + tuple(reversed(first_keys))
    return np.lexsort(keys).astype(np.int64)


def uniform_order(
    seed: int,
    ids: Sequence[object] | np.ndarray,
    *,
    context: str | None = None,
    priority: np.ndarray | None = None,
) -> np.ndarray:
    """Indices of ``ids`` in draw order: by ``priority`` (smaller first) if given, then by digest.

    Parameters
    ----------
    seed
        Non-negative integer seed.
    ids : sequence of N ids
        Each id's string form feeds the digest.
    context
        Names the draw (e.g. ``"batch-3"``); None is the matching lottery's uncontexted digest.
    priority : ndarray of shape (N,), optional
        Integer tiers drawn before the lottery.

    Returns
    -------
    ndarray of shape (N,), int64
        ``order[k]`` is the index of the participant drawn ``k``-th.

    Examples
    --------
    Removing a participant does not reorder the others:

    >>> ids = ["a", "b", "c"]
    >>> full = [ids[i] for i in uniform_order(7, ids, context="batch-1")]
    >>> less = [["a", "c"][i] for i in uniform_order(7, ["a", "c"], context="batch-1")]
    >>> [a for a in full if a != "b"] == less
    True
    """
    words = digest_words(seed, ids, context)
    first = () if priority is None else (np.asarray(priority),)
    return _order_by_words(words, first)


def weighted_order(
    seed: int,
    ids: Sequence[object] | np.ndarray,
    weights: Sequence[int] | np.ndarray,
    *,
    context: str | None = None,
    priority: np.ndarray | None = None,
) -> np.ndarray:
    """Indices of ``ids`` in the order of a weighted draw without replacement.

    Participant ``k`` holds ``weights[k]`` tickets; its key is its smallest ticket digest
    (module docstring), so the first draw picks ``k`` with probability
    ``weights[k] / sum(weights)``, and each later draw does the same among those left.

    Parameters
    ----------
    weights : ndarray of shape (N,)
        Positive integers, at most :data:`MAX_TICKETS`.
    priority : ndarray of shape (N,), optional
        Integer tiers drawn before the lottery (weights act inside a tier).

    Returns
    -------
    ndarray of shape (N,), int64
        ``order[k]`` is the index of the participant drawn ``k``-th.
    """
    w = np.asarray(weights)
    if len(w) != len(ids):
        raise ValueError(f"{len(ids)} ids but {len(w)} weights")
    if w.size and (not np.issubdtype(w.dtype, np.integer) or w.min() < 1 or w.max() > MAX_TICKETS):
        raise ValueError(f"weights are integers from 1 to {MAX_TICKETS} (tickets per participant)")
    tickets = [f"{a}#0" for a in ids]
    words = digest_words(seed, tickets, context)
    if w.size and int(w.max()) > 1:
        prefix = _prefix(seed, context)
        sha = hashlib.sha256
        for k in np.flatnonzero(w > 1).tolist():
            best = bytes(words[k].astype(">u8").tobytes())
            base = prefix + str(ids[k]).encode() + b"#"
            for j in range(1, int(w[k])):
                d = sha(base + str(j).encode()).digest()
                if d < best:
                    best = d
            words[k] = np.frombuffer(best, dtype=">u8").astype(np.uint64)
    first = () if priority is None else (np.asarray(priority),)
    return _order_by_words(words, first)
