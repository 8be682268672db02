"""Is the registry what it was? The receipt chain, request contents, draws and triggers, checked.

:func:`check_registry` reads everything and names every place where the file is not what the
chain and the published commitments say it was:

* a missing append-only trigger (the protection was removed);
* a receipt whose hash does not recompute from its fields (the row was altered), whose
  ``prev_hash`` is not the previous receipt's hash, or a gap in ``seq`` (rows deleted);
* a request whose content (identity, time, tier, carry-over, acceptable slots) no longer gives
  the request digest its receipt fixed;
* a commitment or draw whose recorded chain head is no longer in the chain (the chain was
  rewritten or truncated after it was published);
* a draw whose stored rows no longer give its recorded fingerprint, or whose revealed secret
  does not match its commitment.

Someone who can write the file can also recompute a consistent chain; what they cannot do is
change the receipt hashes applicants hold or the chain heads and commitments already published.
That is why receipts, commitments and each draw's chain head are handed out.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass

from slotopt.engines.commitment import reveal_matches
from slotopt.registry.bulk import parse_slots
from slotopt.registry.chain import GENESIS, RECEIPT_TAG, allocation_digest, request_digest
from slotopt.registry.schema import APPEND_ONLY
from slotopt.registry.store import ChainHead, Registry

__all__ = ["IntegrityReport", "check_registry"]

#: Stop listing after this many problems of one kind (the count is still reported).
MAX_LISTED = 20


@dataclass(frozen=True)
class IntegrityReport:
    """What :func:`check_registry` found.

    Attributes
    ----------
    n_receipts
        Receipts in the chain.
    head
        The last receipt (``seq`` 0 when the chain is empty).
    problems
        One sentence per problem found, naming the table, batch, request and ``seq``.
    """

    n_receipts: int
    head: ChainHead
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []
        self._counts: dict[str, int] = {}

    def add(self, kind: str, text: str) -> None:
        n = self._counts.get(kind, 0) + 1
        self._counts[kind] = n
        if n <= MAX_LISTED:
            self.items.append(text)

    def finish(self) -> tuple[str, ...]:
        more = [
            f"... and {n - MAX_LISTED} more problem(s) of the kind '{kind}'"
            for kind, n in self._counts.items()
            if n > MAX_LISTED
        ]
        return tuple(self.items + more)


def _missing_triggers(c: sqlite3.Connection) -> list[str]:
    have = {str(r[0]) for r in c.execute("SELECT name FROM sqlite_master WHERE type='trigger'")}
    return [
        f"{t}_no_{op}"
        for t in APPEND_ONLY
        for op in ("update", "delete")
        if f"{t}_no_{op}" not in have
    ]


def check_registry(registry: Registry) -> IntegrityReport:
    """Check the whole registry (module docstring); never modifies it."""
    c = registry.connection
    p = _Problems()
    for name in _missing_triggers(c):
        p.add("trigger", f"trigger {name} is missing: the append-only protection was removed")

    # The chain in seq order, and each request's content against its request digest.
    sha = hashlib.sha256
    expected_seq, prev = 1, GENESIS
    hash_at: dict[int, str] = {0: GENESIS}
    n = 0
    for seq, batch, rid, ikh, at, tier, carry, slots, digest, prev_hash, h in c.execute(
        "SELECT seq, batch, request_id, identity_key_hash, registered_at, priority_tier, "
        "carry_over, slots, request_digest, prev_hash, receipt_hash FROM requests ORDER BY seq"
    ):
        n += 1
        where = f"receipt seq {seq} (batch {batch!r}, request {rid!r})"
        if seq != expected_seq:
            gap = f"{expected_seq}" if seq == expected_seq + 1 else f"{expected_seq}..{seq - 1}"
            p.add("gap", f"receipt(s) seq {gap} are missing from the chain: rows were deleted")
        if prev_hash != prev:
            p.add("link", f"{where}: prev_hash is not the hash of the receipt before it")
        text = f"{RECEIPT_TAG}\0{seq}\0{batch}\0{rid}\0{ikh}\0{at}\0{digest}\0{prev_hash}"
        if sha(text.encode()).hexdigest() != h:
            p.add("hash", f"{where}: receipt_hash does not match the receipt's fields: altered")
        try:
            pairs = parse_slots(slots)
        except (ValueError, TypeError):
            pairs = None
        if pairs is None or request_digest(batch, rid, ikh, at, tier, carry, pairs) != digest:
            p.add(
                "content",
                f"request {rid!r} of batch {batch!r} (receipt seq {seq}): its stored content "
                "(identity, time, tier, carry-over or acceptable slots) is not what its receipt "
                "fixed",
            )
        hash_at[seq] = h
        expected_seq, prev = seq + 1, h
    head = ChainHead(expected_seq - 1, prev) if n else ChainHead(0, GENESIS)

    # Published chain heads must still be in the chain.
    for table in ("commitments", "draws"):
        for batch, seq, h in c.execute(f"SELECT batch, chain_seq, chain_head FROM {table}"):
            if hash_at.get(int(seq)) != h:
                p.add(
                    "head",
                    f"{table} of batch {batch!r} recorded chain head seq {seq} = {h[:12]}…, which "
                    "is no longer in the chain: receipts were rewritten or deleted after it",
                )

    # Draws: fingerprint of the stored rows, and the reveal.
    for batch, secret, n_req, fingerprint, com in c.execute(
        "SELECT d.batch, d.secret, d.n_requests, d.result_digest, c.commitment "
        "FROM draws d LEFT JOIN commitments c ON c.batch = d.batch"
    ):
        rows = c.execute(
            "SELECT * FROM draw_requests WHERE batch = ? ORDER BY request_id", (batch,)
        ).fetchall()
        if len(rows) != n_req:
            p.add(
                "draw", f"draw of batch {batch!r}: {len(rows)} draw_requests rows, recorded {n_req}"
            )
        if allocation_digest(rows) != fingerprint:
            p.add(
                "draw",
                f"draw of batch {batch!r}: its stored inputs/allocation rows are not those "
                "recorded at the draw (fingerprint differs)",
            )
        if com is None:
            p.add("draw", f"draw of batch {batch!r} has no commitment")
        elif not reveal_matches(str(com), bytes.fromhex(secret)):
            p.add(
                "draw",
                f"draw of batch {batch!r}: the revealed secret does not match the commitment",
            )
    return IntegrityReport(n_receipts=n, head=head, problems=p.finish())
