"""Proof of attempt: the receipt document an applicant takes away, and its verification.

A receipt document (JSON, format ``"slotopt-receipt-v1"``) carries:

``receipt``
    The chain link of this request: ``seq``, ``batch``, ``request_id``, ``identity_key_hash``,
    ``registered_at``, ``request_digest``, ``prev_hash``, ``receipt_hash``
    (:mod:`slotopt.registry.chain` gives the exact bytes hashed).
``request``
    What was registered: ``priority_tier``, ``carry_over``, ``slots`` (``[slot_id, rank]``);
    together with the receipt fields it recomputes ``request_digest``.
``attempts``
    Every request of the same identity in the registry, oldest first: batch, request id, receipt
    ``seq`` and hash, registration time, and the outcome (``"allocated"`` with the slot,
    ``"not allocated"`` when the draw did not select it, ``"not drawn yet"``), with each draw's
    commitment and seed so the outcome can be recomputed (``slotopt audit``).
``summary``
    Batches entered, how many were unsuccessful, first and last attempt (UTC) and the days
    between them, and one sentence stating it — what a judge asks for when an applicant says
    they tried for more than a week without getting an appointment (Conseil d'État, 10 June
    2020).
``chain_head``
    The last receipt of the chain when the document was issued: the registry cannot later
    rewrite anything before it without this document showing it.

:func:`verify_receipt` checks a document against a registry and names every difference.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slotopt._version import __version__
from slotopt.errors import InstanceError, UsageError
from slotopt.registry.bulk import parse_slots
from slotopt.registry.chain import GENESIS, Receipt, request_digest
from slotopt.registry.integrity import check_registry
from slotopt.registry.store import Registry

__all__ = ["FORMAT", "ReceiptCheck", "receipt_document", "verify_receipt"]

FORMAT = "slotopt-receipt-v1"
_RECEIPT_FIELDS = (
    "seq",
    "batch",
    "request_id",
    "identity_key_hash",
    "registered_at",
    "request_digest",
    "prev_hash",
    "receipt_hash",
)


def _utc(t: int) -> str:
    return datetime.fromtimestamp(int(t), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _stored_receipt(registry: Registry, seq: int) -> Receipt | None:
    row = registry.connection.execute(
        f"SELECT {', '.join(_RECEIPT_FIELDS)} FROM requests WHERE seq = ?", (int(seq),)
    ).fetchone()
    return None if row is None else Receipt(*row)


def _stored_request(registry: Registry, batch: str, request_id: str) -> dict[str, Any] | None:
    c = registry.connection
    row = c.execute(
        "SELECT seq, identity_key_hash, registered_at, priority_tier, carry_over, slots "
        "FROM requests WHERE batch = ? AND request_id = ?",
        (batch, request_id),
    ).fetchone()
    if row is None:
        return None
    try:
        slots = parse_slots(row[5])
    except (ValueError, TypeError):
        slots = []  # unreadable: the request digest check reports it
    return {
        "seq": int(row[0]),
        "identity_key_hash": row[1],
        "registered_at": int(row[2]),
        "priority_tier": int(row[3]),
        "carry_over": int(row[4]),
        "slots": [[s, k] for s, k in slots],
    }


def _attempts(registry: Registry, identity_key_hash: str) -> list[dict[str, Any]]:
    c = registry.connection
    rows = c.execute(
        "SELECT r.seq, r.batch, r.request_id, r.registered_at, r.receipt_hash, "
        "d.seed, c.commitment, d.n_requests, d.n_allocated, "
        "a.slot_id, a.lottery_position, a.waitlist_position, d.batch IS NOT NULL "
        "FROM requests r "
        "LEFT JOIN draws d ON d.batch = r.batch "
        "LEFT JOIN commitments c ON c.batch = r.batch "
        "LEFT JOIN draw_requests a ON a.batch = r.batch AND a.request_id = r.request_id "
        "WHERE r.identity_key_hash = ? ORDER BY r.seq",
        (identity_key_hash,),
    ).fetchall()
    out = []
    for seq, batch, rid, at, h, seed, com, n_req, n_alloc, slot, pos, wait, drawn in rows:
        if not drawn:
            outcome = "not drawn yet"
        elif slot is not None:
            outcome = "allocated"
        else:
            outcome = "not allocated"
        out.append(
            {
                "batch": batch,
                "request_id": rid,
                "seq": int(seq),
                "receipt_hash": h,
                "registered_at": int(at),
                "registered_at_utc": _utc(at),
                "outcome": outcome,
                "slot_id": slot,
                "lottery_position": None if pos is None else int(pos),
                "waitlist_position": None if wait is None else int(wait),
                "in_draw": pos is not None,
                "batch_requests": None if n_req is None else int(n_req),
                "batch_allocated": None if n_alloc is None else int(n_alloc),
                "commitment": com,
                "seed": seed,
            }
        )
    return out


def _summary(attempts: list[dict[str, Any]]) -> dict[str, Any]:
    times = [a["registered_at"] for a in attempts]
    drawn = [a for a in attempts if a["outcome"] != "not drawn yet"]
    unsuccessful = [a for a in drawn if a["outcome"] == "not allocated"]
    allocated = [a for a in drawn if a["outcome"] == "allocated"]
    span = (max(times) - min(times)) / 86400 if times else 0.0
    first, last = _utc(min(times))[:10], _utc(max(times))[:10]
    if allocated:
        tail = f"it was allocated an appointment in {len(allocated)} of them"
    else:
        tail = "it was not allocated an appointment in any of them"
    statement = (
        f"This identity entered {len(attempts)} batch(es) between {first} and {last} "
        f"({span:.1f} days); {len(drawn)} were drawn and {tail}."
    )
    return {
        "batches_entered": len(attempts),
        "batches_drawn": len(drawn),
        "unsuccessful": len(unsuccessful),
        "allocated": len(allocated),
        "first_attempt_utc": _utc(min(times)),
        "last_attempt_utc": _utc(max(times)),
        "span_days": round(span, 3),
        "statement": statement,
    }


def receipt_document(
    registry: Registry, request_id: str, *, batch: str | None = None
) -> dict[str, Any]:
    """The receipt document of a registered request (module docstring).

    Raises
    ------
    UsageError
        No such request, or (without ``batch``) the id is registered in several batches.
    """
    c = registry.connection
    if batch is None:
        found = [
            str(r[0])
            for r in c.execute(
                "SELECT batch FROM requests WHERE request_id = ? ORDER BY seq", (request_id,)
            )
        ]
        if not found:
            raise UsageError(f"request {request_id!r} is not registered in {registry.path}")
        if len(found) > 1:
            raise UsageError(
                f"request {request_id!r} is registered in batches {', '.join(found)}; "
                "name one with --batch"
            )
        batch = found[0]
    stored = _stored_request(registry, batch, request_id)
    if stored is None:
        raise UsageError(f"request {request_id!r} is not registered in batch {batch!r}")
    receipt = _stored_receipt(registry, stored["seq"])
    if receipt is None:  # the request row is its receipt row; only a concurrent delete
        raise UsageError(f"request {request_id!r} has no receipt")
    attempts = _attempts(registry, stored["identity_key_hash"])
    head = registry.chain_head()
    return {
        "format": FORMAT,
        "issued_by": f"slotopt {__version__}",
        "registry_schema": registry.schema_version,
        "receipt": receipt.to_dict(),
        "request": {
            "priority_tier": stored["priority_tier"],
            "carry_over": stored["carry_over"],
            "slots": stored["slots"],
        },
        "attempts": attempts,
        "summary": _summary(attempts),
        "chain_head": {"seq": head.seq, "receipt_hash": head.receipt_hash},
    }


@dataclass(frozen=True)
class ReceiptCheck:
    """The outcome of :func:`verify_receipt`.

    Attributes
    ----------
    problems
        One sentence per difference between the document, the registry and the chain.
    notes
        What changed legitimately since the document was issued (e.g. a batch drawn since).
    """

    problems: tuple[str, ...]
    notes: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def _parse(doc: Any, source: str) -> tuple[Receipt, dict[str, Any], list[Any], dict[str, Any]]:
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InstanceError(f"{source}: not a slotopt receipt (key format must be {FORMAT!r})")
    for key in ("receipt", "request", "attempts", "chain_head"):
        if key not in doc:
            raise InstanceError(f"{source}: key {key!r} is missing")
    rec = doc["receipt"]
    missing = [k for k in _RECEIPT_FIELDS if not isinstance(rec, dict) or k not in rec]
    if missing:
        raise InstanceError(f"{source}: key receipt.{missing[0]} is missing")
    try:
        receipt = Receipt(
            seq=int(rec["seq"]),
            batch=str(rec["batch"]),
            request_id=str(rec["request_id"]),
            identity_key_hash=str(rec["identity_key_hash"]),
            registered_at=int(rec["registered_at"]),
            request_digest=str(rec["request_digest"]),
            prev_hash=str(rec["prev_hash"]),
            receipt_hash=str(rec["receipt_hash"]),
        )
        request = doc["request"]
        slots = [(str(s), None if k is None else int(k)) for s, k in request["slots"]]
        req = {
            "priority_tier": int(request["priority_tier"]),
            "carry_over": int(request["carry_over"]),
            "slots": slots,
        }
        head = {
            "seq": int(doc["chain_head"]["seq"]),
            "receipt_hash": str(doc["chain_head"]["receipt_hash"]),
        }
        attempts = list(doc["attempts"])
    except (TypeError, ValueError, KeyError) as exc:
        raise InstanceError(f"{source}: malformed receipt ({exc})") from None
    return receipt, req, attempts, head


def verify_receipt(registry: Registry, doc: Any, *, source: str = "receipt") -> ReceiptCheck:
    """Check a receipt document against the registry and its chain.

    Checks, in order: the document's receipt hash recomputes from its fields; its request
    section recomputes its request digest; the registry holds the same receipt at the same
    ``seq`` and the same request content; the chain is intact (every problem of
    :func:`~slotopt.registry.integrity.check_registry`) and still contains the document's chain
    head; every attempt listed is still in the chain with the same hash and outcome.

    Raises
    ------
    InstanceError
        The document is not a receipt (missing keys, wrong format); names ``source``.
    """
    receipt, req, attempts, head = _parse(doc, source)
    problems: list[str] = []
    notes: list[str] = []
    label = f"receipt seq {receipt.seq} (batch {receipt.batch!r}, request {receipt.request_id!r})"
    if receipt.recomputed_hash() != receipt.receipt_hash:
        problems.append(f"{label}: the document was altered: its hash does not match its fields")
    digest = request_digest(
        receipt.batch,
        receipt.request_id,
        receipt.identity_key_hash,
        receipt.registered_at,
        req["priority_tier"],
        req["carry_over"],
        req["slots"],
    )
    if digest != receipt.request_digest:
        problems.append(f"{label}: the document's request section does not give its request_digest")

    stored = _stored_receipt(registry, receipt.seq)
    if stored is None:
        problems.append(f"{label}: the registry has no receipt seq {receipt.seq} (deleted)")
    elif stored != receipt:
        fields = [
            f"{k} (registry {getattr(stored, k)!r}, document {getattr(receipt, k)!r})"
            for k in _RECEIPT_FIELDS
            if getattr(stored, k) != getattr(receipt, k)
        ]
        problems.append(f"{label}: the registry's receipt differs in {'; '.join(fields)}")
    content = _stored_request(registry, receipt.batch, receipt.request_id)
    if content is None:
        problems.append(f"{label}: the registry has no such request (deleted)")
    else:
        now = request_digest(
            receipt.batch,
            receipt.request_id,
            content["identity_key_hash"],
            content["registered_at"],
            content["priority_tier"],
            content["carry_over"],
            [(s, k) for s, k in content["slots"]],
        )
        if now != receipt.request_digest:
            problems.append(
                f"{label}: the registry's stored request is not the one this receipt fixed "
                "(it was altered after the receipt was issued)"
            )

    report = check_registry(registry)
    problems.extend(f"registry: {p}" for p in report.problems)
    held = _stored_receipt(registry, head["seq"]) if head["seq"] else None
    held_hash = GENESIS if head["seq"] == 0 else (None if held is None else held.receipt_hash)
    if held_hash != head["receipt_hash"]:
        problems.append(
            f"the chain head this receipt was issued with (seq {head['seq']}) is no longer in the "
            "registry's chain: receipts before it were rewritten or deleted"
        )

    now_attempts = {
        (a["batch"], a["request_id"]): a for a in _attempts(registry, receipt.identity_key_hash)
    }
    for a in attempts:
        try:
            key = (str(a["batch"]), str(a["request_id"]))
            seq, h, outcome = int(a["seq"]), str(a["receipt_hash"]), str(a["outcome"])
        except (TypeError, ValueError, KeyError) as exc:
            raise InstanceError(f"{source}: malformed attempt ({exc})") from None
        cur = now_attempts.get(key)
        where = f"attempt in batch {key[0]!r} (request {key[1]!r}, seq {seq})"
        if cur is None:
            problems.append(f"{where}: no longer in the registry under this identity")
            continue
        if (cur["seq"], cur["receipt_hash"]) != (seq, h):
            problems.append(f"{where}: its receipt in the registry differs")
        if cur["outcome"] != outcome:
            if outcome == "not drawn yet":
                notes.append(f"{where}: drawn since the receipt was issued: {cur['outcome']}")
            else:
                problems.append(
                    f"{where}: the document says {outcome!r}, the registry now says "
                    f"{cur['outcome']!r}"
                )
    return ReceiptCheck(tuple(problems), tuple(notes))
