"""The receipt hash chain: the exact bytes hashed, in one place.

Every registered request gets a receipt, the ``seq``-th link of one chain over the whole
registry (all batches). Two digests, both SHA-256 as 64 lowercase hex digits, with fields UTF-8
encoded and joined by NUL bytes (``\\0``; no field may contain one):

* the **request digest** fixes what was registered::

      SHA-256( "slotopt-request-v1" \\0 batch \\0 request_id \\0 identity_key_hash \\0
               registered_at \\0 priority_tier \\0 carry_over
               { \\0 slot_id \\0 rank }  for each acceptable slot, by slot_id (code points) )

  integers in decimal, ``rank`` empty when the slot is unranked;

* the **receipt hash** links it into the chain::

      SHA-256( "slotopt-receipt-v1" \\0 seq \\0 batch \\0 request_id \\0 identity_key_hash \\0
               registered_at \\0 request_digest \\0 prev_hash )

  where ``prev_hash`` is the receipt hash of link ``seq - 1`` and :data:`GENESIS` (64 zeros) for
  ``seq = 1``.

Changing any stored request changes its request digest; changing or deleting any receipt breaks
the link after it; rewriting the whole chain changes the hash every applicant already holds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

__all__ = [
    "ALLOCATION_TAG",
    "GENESIS",
    "RECEIPT_TAG",
    "REQUEST_TAG",
    "Receipt",
    "allocation_digest",
    "receipt_hash",
    "request_digest",
]

GENESIS = "0" * 64
REQUEST_TAG = "slotopt-request-v1"
RECEIPT_TAG = "slotopt-receipt-v1"
ALLOCATION_TAG = "slotopt-allocation-v1"


def request_digest(
    batch: str,
    request_id: str,
    identity_key_hash: str,
    registered_at: int,
    priority_tier: int,
    carry_over: int,
    slots: Iterable[tuple[str, int | None]],
) -> str:
    """The digest of one registered request (module docstring).

    ``slots`` are ``(slot_id, rank)`` pairs in any order; ``rank`` None when unranked.
    """
    parts = [
        REQUEST_TAG,
        batch,
        request_id,
        identity_key_hash,
        str(int(registered_at)),
        str(int(priority_tier)),
        str(int(carry_over)),
    ]
    for slot_id, rank in sorted(slots, key=lambda p: p[0]):
        parts.append(slot_id)
        parts.append("" if rank is None else str(int(rank)))
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def receipt_hash(
    seq: int,
    batch: str,
    request_id: str,
    identity_key_hash: str,
    registered_at: int,
    request_digest: str,
    prev_hash: str,
) -> str:
    """The hash of chain link ``seq`` (module docstring)."""
    text = "\0".join(
        (
            RECEIPT_TAG,
            str(int(seq)),
            batch,
            request_id,
            identity_key_hash,
            str(int(registered_at)),
            request_digest,
            prev_hash,
        )
    )
    return hashlib.sha256(text.encode()).hexdigest()


def allocation_digest(rows: Iterable[Sequence[object]]) -> str:
    """The fingerprint of a stored draw: SHA-256 over its ``draw_requests`` rows.

    Each row is ``(batch, request_id, priority_tier, carry_over, registered_at, slots, slot_id,
    lottery_position, waitlist_position, tickets)``; rows are taken in ``request_id`` order, each
    written as its fields after ``batch`` joined by NUL (None as empty) and ended by a newline,
    after the tag ``"slotopt-allocation-v1"`` and a NUL.
    """
    ordered = sorted(rows, key=lambda r: str(r[1]))
    h = hashlib.sha256(f"{ALLOCATION_TAG}\0".encode())
    step = 65_536  # hash in chunks: a million rows never sit in memory as one string
    for a in range(0, len(ordered), step):
        h.update(
            "".join(
                f"{r[1]}\0{r[2]}\0{r[3]}\0{r[4]}\0{r[5]}\0{'' if r[6] is None else r[6]}\0"
                f"{r[7]}\0{'' if r[8] is None else r[8]}\0{r[9]}\n"
                for r in ordered[a : a + step]
            ).encode()
        )
    return h.hexdigest()


@dataclass(frozen=True)
class Receipt:
    """One link of the chain, as stored in the ``receipts`` table and handed to the applicant."""

    seq: int
    batch: str
    request_id: str
    identity_key_hash: str
    registered_at: int
    request_digest: str
    prev_hash: str
    receipt_hash: str

    def recomputed_hash(self) -> str:
        """The hash these fields must have; differs from ``receipt_hash`` if any was altered."""
        return receipt_hash(
            self.seq,
            self.batch,
            self.request_id,
            self.identity_key_hash,
            self.registered_at,
            self.request_digest,
            self.prev_hash,
        )

    def to_dict(self) -> dict[str, object]:
        return asdict(self)
