"""RFC 3797 "Publicly Verifiable Nominations Committee (NomCom) Random Selection", exactly.

RFC 3797 (Eastlake, June 2004) selects ``count`` members of a published, numbered pool from
randomness that nobody controls and everybody can read afterwards (lottery draws announced on a
date fixed in advance). The procedure (RFC 3797 section 4 and its reference code in section 7):

1. **Key string.** Each random source is a list of non-negative integers (a four-digit daily
   number is one integer; a six-ball lottery is six). Within a source the integers are sorted
   ascending, each is written in decimal without leading zeros and followed by a period, and the
   source ends with a slash. The sources are concatenated in their published order: the sources
   ``9319``, ``2 5 12 8 10`` and ``9 18 26 34 41 45`` give ``9319./2.5.8.10.12./9.18.26.34.41.45./``
   (section 6). The key is that ASCII string.
2. **One digest per selection.** Selection ``i`` (``i = 0, 1, ...``) hashes the key bracketed on
   both sides by ``i`` as a two-byte big-endian integer: ``MD5(i16 + key + i16)``. MD5 is what the
   RFC specifies; here it is not a security boundary (the inputs are public by design), only the
   published function everybody recomputes.
3. **Reduce and strike out.** The 128-bit digest, read as a big-endian unsigned integer, is taken
   modulo the number of pool members still unselected, ``r = P - i``; the member at that 0-based
   position among the unselected, in pool order, is selected and struck from the list.

The pool is numbered 1..P in its published order (at most 65,535 members, the two-byte limit).
The module is pure: no I/O, no global state. :func:`public_randomness` turns the same sources
into the bytes :func:`slotopt.engines.commitment.draw_seed` mixes with a committed secret, so an
RFC-3797-style public draw can also feed the batch lotteries.

References
----------
D. Eastlake 3rd, "Publicly Verifiable Nominations Committee (NomCom) Random Selection",
RFC 3797, June 2004: section 4 (the algorithm), section 6 (the fully worked example), section 7
(reference code).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "MAX_POOL",
    "Selection",
    "entropy_bits",
    "key_string",
    "public_randomness",
    "select",
    "select_ids",
    "selection_digest",
]

#: Largest pool the two-byte selection index of RFC 3797 supports.
MAX_POOL = 0xFFFF

Source = int | Sequence[int]


@dataclass(frozen=True)
class Selection:
    """One step of the procedure, as the RFC's section 6 table prints it.

    Attributes
    ----------
    index
        1-based selection number (the RFC's "index" column).
    digest_hex
        The MD5 digest in upper-case hex.
    remaining
        Pool members still unselected before this step (the "div" column, the modulus).
    selected
        1-based pool number of the member selected (the "selected" column).
    """

    index: int
    digest_hex: str
    remaining: int
    selected: int


def _as_int(value: object, where: str) -> int:
    # bool is an int subclass; a True among lottery numbers is certainly a mistake.
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            text = str(value).strip()
            if not text.isdigit():
                raise ValueError
            return int(text)
        except ValueError:
            raise ValueError(
                f"{where}: {value!r} is not a non-negative integer (RFC 3797 sources are "
                "integers such as lottery numbers)"
            ) from None
    if value < 0:
        raise ValueError(f"{where}: {value} is negative; RFC 3797 sources are non-negative")
    return int(value)


def key_string(sources: Sequence[Source]) -> str:
    """The RFC 3797 key string of the random sources, in their published order.

    Parameters
    ----------
    sources
        One entry per random source: an integer, or a sequence of integers (any order; they are
        sorted). Decimal strings such as ``"0042"`` are accepted and lose their leading zeros.

    Returns
    -------
    str
        Each source's sorted numbers, each followed by ``"."``, the source closed by ``"/"``.

    Raises
    ------
    ValueError
        No sources, an empty source, or a value that is not a non-negative integer.

    Examples
    --------
    RFC 3797 section 6:

    >>> key_string([9319, [2, 5, 12, 8, 10], [9, 18, 26, 34, 41, 45]])
    '9319./2.5.8.10.12./9.18.26.34.41.45./'
    """
    if len(sources) == 0:
        raise ValueError("RFC 3797 needs at least one random source")
    parts: list[str] = []
    for k, source in enumerate(sources, start=1):
        values = [source] if isinstance(source, int | str) else list(source)
        if not values:
            raise ValueError(f"random source {k} has no values")
        numbers = sorted(_as_int(v, f"random source {k}") for v in values)
        parts.append("".join(f"{n}." for n in numbers) + "/")
    return "".join(parts)


def public_randomness(sources: Sequence[Source]) -> bytes:
    """The key string as ASCII bytes: the ``public`` argument of ``draw_seed``."""
    return key_string(sources).encode("ascii")


def selection_digest(key: str | bytes, index: int) -> bytes:
    """``MD5(i16 + key + i16)`` for 0-based selection ``index`` (RFC 3797 section 4)."""
    if not 0 <= index <= MAX_POOL:
        raise ValueError(f"selection index {index} is outside 0..{MAX_POOL}")
    raw = key.encode("ascii") if isinstance(key, str) else bytes(key)
    bracket = index.to_bytes(2, "big")
    # usedforsecurity=False: MD5 is mandated by the RFC for reproducibility, not secrecy, and
    # FIPS-mode Pythons refuse MD5 without it.
    return hashlib.md5(bracket + raw + bracket, usedforsecurity=False).digest()


def select(pool_size: int, count: int, sources: Sequence[Source] | str) -> list[Selection]:
    """Select ``count`` of the pool members numbered 1..``pool_size``, in selection order.

    Parameters
    ----------
    pool_size
        P, the number of members in the published pool (1..65,535).
    count
        How many to select (0..P); the first ``k`` selections never depend on ``count``.
    sources
        The random sources (see :func:`key_string`), or an already-formed key string.

    Returns
    -------
    list of Selection
        One row per selection, as in the RFC's table.

    Examples
    --------
    >>> [s.selected for s in select(25, 3, [9319, [2, 5, 12, 8, 10], [9, 18, 26, 34, 41, 45]])]
    [17, 7, 2]
    """
    if not 1 <= pool_size <= MAX_POOL:
        raise ValueError(f"the pool has {pool_size} members; RFC 3797 supports 1..{MAX_POOL}")
    if not 0 <= count <= pool_size:
        raise ValueError(f"cannot select {count} of a pool of {pool_size}")
    key = sources if isinstance(sources, str) else key_string(sources)
    unselected = list(range(1, pool_size + 1))
    out: list[Selection] = []
    for i in range(count):
        d = selection_digest(key, i)
        remaining = len(unselected)
        position = int.from_bytes(d, "big") % remaining
        out.append(Selection(i + 1, d.hex().upper(), remaining, unselected.pop(position)))
    return out


def select_ids(ids: Sequence[str], count: int, sources: Sequence[Source] | str) -> list[str]:
    """The ids of the selected pool members; ``ids`` is the pool in its published order."""
    return [ids[s.selected - 1] for s in select(len(ids), count, sources)]


def entropy_bits(pool_size: int, count: int) -> float:
    """log2 C(P, N): the bits of randomness needed to make every selection possible.

    RFC 3797 section 3.3 ("Entropy Needed") asks for at least this much in the sources.
    """
    if not 0 <= count <= pool_size:
        raise ValueError(f"cannot select {count} of {pool_size}")
    return (
        math.lgamma(pool_size + 1) - math.lgamma(count + 1) - math.lgamma(pool_size - count + 1)
    ) / math.log(2)
