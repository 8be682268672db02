"""Tampering with the stored registry is caught and named, clause by clause.

Each test edits the file with raw SQL (dropping the append-only trigger for the edit and putting
it back, so that exactly one check is exercised), then checks what ``check_registry`` and
``verify_receipt`` say.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from slotopt.errors import InstanceError
from slotopt.registry import Registry
from slotopt.registry.integrity import check_registry
from slotopt.registry.proof import receipt_document, verify_receipt
from slotopt.registry.schema import append_only_triggers

from .helpers import T0, make_batch, record

PERSON = 3  # an identity that enters all three weekly batches


@pytest.fixture
def path(tmp_path: Path) -> Path:
    p = tmp_path / "registry.sqlite"
    with Registry.open(p) as reg:
        for week in range(3):
            b = make_batch(
                f"w{week + 1}",
                20,
                people=range(week, week + 20),
                start=T0 + week * 7 * 86_400,
                seed=week,
            )
            record(reg, b)
    return p


def tamper(path: Path, table: str, sql: str, args: tuple = ()) -> None:
    """Run ``sql`` with ``table``'s triggers dropped, then restore them."""
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute(f"DROP TRIGGER {table}_no_update")
    raw.execute(f"DROP TRIGGER {table}_no_delete")
    raw.execute(sql, args)
    for stmt in append_only_triggers((table,)):
        raw.execute(stmt)
    raw.close()


@pytest.fixture
def reg(path: Path) -> Iterator[Registry]:
    r = Registry.open(path)
    yield r
    r.close()


def problems(path: Path) -> tuple[str, ...]:
    with Registry.open(path, create=False) as r:
        return check_registry(r).problems


def person_request(path: Path, batch: str = "w2") -> str:
    with Registry.open(path) as r:
        return str(
            r.connection.execute(
                "SELECT request_id FROM requests WHERE batch = ? ORDER BY seq LIMIT 1 OFFSET ?",
                (batch, PERSON - 1),
            ).fetchone()[0]
        )


def test_an_untouched_registry_is_clean(reg: Registry) -> None:
    report = check_registry(reg)
    assert report.ok and report.n_receipts == 60 and report.head.seq == 60


def test_a_dropped_trigger_is_named(path: Path) -> None:
    raw = sqlite3.connect(path)
    raw.execute("DROP TRIGGER requests_no_delete")
    raw.commit()
    raw.close()
    assert problems(path) == (
        "trigger requests_no_delete is missing: the append-only protection was removed",
    )


def test_a_flipped_byte_in_a_receipt_hash_is_named(path: Path) -> None:
    tamper(
        path,
        "requests",
        "UPDATE requests SET receipt_hash = (CASE substr(receipt_hash, 1, 1) WHEN 'a' "
        "THEN 'b' ELSE 'a' END) || substr(receipt_hash, 2) WHERE seq = 25",
    )
    got = problems(path)
    assert any(
        p.startswith("receipt seq 25 ") and "does not match the receipt's fields" in p for p in got
    )
    assert any(p.startswith("receipt seq 26 ") and "prev_hash" in p for p in got)


def test_a_changed_registration_time_is_named(path: Path) -> None:
    tamper(path, "requests", "UPDATE requests SET registered_at = registered_at - 1 WHERE seq = 7")
    got = problems(path)
    assert any("receipt seq 7 " in p and "altered" in p for p in got)
    assert any("(receipt seq 7)" in p and "not what its receipt fixed" in p for p in got)


def test_a_changed_priority_tier_is_named(path: Path) -> None:
    # The tier is not in the receipt's own fields, only in its request digest.
    tamper(path, "requests", "UPDATE requests SET priority_tier = 0 WHERE seq = 8")
    got = problems(path)
    assert len(got) == 1 and "(receipt seq 8)" in got[0] and "not what its receipt fixed" in got[0]


def test_a_changed_acceptable_slot_is_named(path: Path) -> None:
    tamper(
        path, "requests", "UPDATE requests SET slots = replace(slots, '\"S', '\"X') WHERE seq = 4"
    )
    got = problems(path)
    assert len(got) == 1 and "batch 'w1'" in got[0] and "acceptable slots" in got[0]


def test_a_deleted_request_is_named(path: Path) -> None:
    tamper(path, "requests", "DELETE FROM requests WHERE seq = 30")
    got = problems(path)
    assert "receipt(s) seq 30 are missing from the chain: rows were deleted" in got
    assert any("receipt seq 31 " in p and "prev_hash" in p for p in got)


def test_deleting_the_last_receipts_is_caught_by_the_published_heads(path: Path) -> None:
    tamper(path, "requests", "DELETE FROM requests WHERE seq > 55")
    got = problems(path)
    # No gap and no broken link is left; only the chain heads published with w3 give it away.
    assert got and all("no longer in the chain" in p for p in got)
    assert any(p.startswith("commitments of batch 'w3'") for p in got)
    assert any(p.startswith("draws of batch 'w3'") for p in got)


def test_a_changed_allocation_is_named(path: Path) -> None:
    tamper(
        path,
        "draw_requests",
        "UPDATE draw_requests SET slot_id = 'S2' WHERE batch = 'w2' AND request_id = "
        "(SELECT request_id FROM draw_requests WHERE batch = 'w2' AND slot_id IS NULL LIMIT 1)",
    )
    got = problems(path)
    assert len(got) == 1 and got[0].startswith("draw of batch 'w2'") and "fingerprint" in got[0]


def test_a_changed_revealed_secret_is_named(path: Path) -> None:
    tamper(path, "draws", "UPDATE draws SET secret = ? WHERE batch = 'w1'", ("00" * 32,))
    got = problems(path)
    assert got == ("draw of batch 'w1': the revealed secret does not match the commitment",)


# ---------------------------------------------------------------- receipts
def doc_of(path: Path, request_id: str, batch: str | None = None) -> dict:
    with Registry.open(path) as r:
        return json.loads(json.dumps(receipt_document(r, request_id, batch=batch)))


def check(path: Path, doc: dict) -> tuple[tuple[str, ...], tuple[str, ...]]:
    with Registry.open(path, create=False) as r:
        out = verify_receipt(r, doc)
    return out.problems, out.notes


def test_a_receipt_carries_every_attempt_of_the_identity(path: Path) -> None:
    doc = doc_of(path, person_request(path))
    batches = [a["batch"] for a in doc["attempts"]]
    assert batches == ["w1", "w2", "w3"]
    assert {a["outcome"] for a in doc["attempts"]} <= {"allocated", "not allocated"}
    s = doc["summary"]
    assert s["batches_entered"] == 3 and s["batches_drawn"] == 3
    assert s["unsuccessful"] + s["allocated"] == 3
    assert s["span_days"] > 7  # more than a week of attempts (Conseil d'État, 10 June 2020)
    assert s["statement"].startswith("This identity entered 3 batch(es) between 2026-01-")
    assert check(path, doc) == ((), ())


def test_an_altered_receipt_document_is_named(path: Path) -> None:
    doc = doc_of(path, person_request(path))
    doc["receipt"]["registered_at"] += 60
    got, _ = check(path, doc)
    assert any("the document was altered" in p for p in got)
    assert any("differs in registered_at" in p for p in got)
    doc = doc_of(path, person_request(path))
    doc["request"]["priority_tier"] = 0
    got, _ = check(path, doc)
    rec = doc["receipt"]
    assert got == (
        f"receipt seq {rec['seq']} (batch 'w2', request {rec['request_id']!r}): "
        "the document's request section does not give its request_digest",
    )


def test_a_receipt_detects_a_changed_stored_request(path: Path) -> None:
    rid = person_request(path)
    doc = doc_of(path, rid)
    tamper(path, "requests", "UPDATE requests SET carry_over = 4 WHERE request_id = ?", (rid,))
    got, _ = check(path, doc)
    assert any("stored request is not the one this receipt fixed" in p for p in got)
    assert any(p.startswith("registry: ") for p in got)


def test_a_receipt_detects_a_deleted_row(path: Path) -> None:
    rid = person_request(path)
    doc = doc_of(path, rid)
    tamper(path, "requests", "DELETE FROM requests WHERE request_id = ?", (rid,))
    got, _ = check(path, doc)
    seq = doc["receipt"]["seq"]
    assert any(f"the registry has no receipt seq {seq} (deleted)" in p for p in got)
    assert any("no longer in the registry under this identity" in p for p in got)


def test_a_receipt_detects_a_consistently_rewritten_chain(path: Path) -> None:
    """The operator edits an early request and recomputes every hash after it: the chain is
    self-consistent again, but the receipts applicants hold are not in it any more."""
    from slotopt.registry.bulk import parse_slots
    from slotopt.registry.chain import receipt_hash, request_digest

    rid = person_request(path, "w1")
    doc = doc_of(path, rid, "w1")
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("DROP TRIGGER requests_no_update")
    raw.execute(
        "UPDATE requests SET registered_at = registered_at + 3600 WHERE request_id = ?", (rid,)
    )
    prev = "0" * 64
    rows = raw.execute(
        "SELECT seq, batch, request_id, identity_key_hash, registered_at, priority_tier, "
        "carry_over FROM requests ORDER BY seq"
    ).fetchall()
    for seq, b, r, ikh, at, tier, carry in rows:
        slots = parse_slots(
            raw.execute("SELECT slots FROM requests WHERE seq = ?", (seq,)).fetchone()[0]
        )
        d = request_digest(b, r, ikh, at, tier, carry, slots)
        h = receipt_hash(seq, b, r, ikh, at, d, prev)
        raw.execute(
            "UPDATE requests SET request_digest = ?, prev_hash = ?, receipt_hash = ? WHERE seq = ?",
            (d, prev, h, seq),
        )
        prev = h
    for stmt in append_only_triggers(("requests",))[:1]:
        raw.execute(stmt)
    raw.close()
    got, _ = check(path, doc)
    assert any("the registry's receipt differs in" in p for p in got)
    assert any("chain head this receipt was issued with" in p for p in got)
    # The chain alone looks fine; the published heads of the three draws do not.
    assert all("no longer in the chain" in p for p in problems(path))


def test_a_receipt_detects_a_changed_outcome(path: Path) -> None:
    rid = person_request(path)
    doc = doc_of(path, rid)
    before = {a["batch"]: a["outcome"] for a in doc["attempts"]}["w2"]
    new_slot = "NULL" if before == "allocated" else "'S0'"
    tamper(
        path,
        "draw_requests",
        f"UPDATE draw_requests SET slot_id = {new_slot} WHERE batch = 'w2' AND request_id = ?",
        (rid,),
    )
    got, _ = check(path, doc)
    assert any(f"the document says {before!r}" in p for p in got)


def test_a_batch_drawn_after_the_receipt_is_a_note_not_a_problem(tmp_path: Path) -> None:
    p = tmp_path / "registry.sqlite"
    b = make_batch("w1", 10)
    with Registry.open(p) as r:
        r.register("w1", b.requests, b.request_slots)
        doc = json.loads(json.dumps(receipt_document(r, "w1-R0002")))
    assert doc["attempts"][0]["outcome"] == "not drawn yet"
    with Registry.open(p) as r:
        from slotopt.engines.commitment import commitment

        from .helpers import run_draw

        inputs, result, secret = run_draw(b)
        r.commit("w1", commitment(secret), None)
        r.record_draw(
            "w1",
            mechanism="uniform",
            params={},
            context="batch-w1",
            inputs=inputs,
            result=result,
            secret=secret,
            public=b"",
        )
    got, notes = check(p, doc)
    assert got == () and len(notes) == 1 and "drawn since the receipt was issued" in notes[0]


@pytest.mark.parametrize(
    "doc",
    [
        [],
        {"format": "other"},
        {"format": "slotopt-receipt-v1"},
        {
            "format": "slotopt-receipt-v1",
            "receipt": {},
            "request": {},
            "attempts": [],
            "chain_head": {},
        },
    ],
    ids=["list", "format", "keys", "fields"],
)
def test_a_malformed_receipt_is_an_input_error(reg: Registry, doc: object) -> None:
    with pytest.raises(InstanceError, match="receipt"):
        verify_receipt(reg, doc, source="r.json")


def test_an_unranked_slot_rewritten_with_rank_minus_one_is_named(path: Path) -> None:
    # -1 is how the bulk check writes "unranked" internally; a stored -1 is still a change.
    tamper(
        path, "requests", "UPDATE requests SET slots = replace(slots, 'null', '-1') WHERE seq = 5"
    )
    got = problems(path)
    assert len(got) == 1 and "(receipt seq 5)" in got[0] and "not what its receipt fixed" in got[0]


def test_unreadable_slots_leave_every_other_row_its_own_verdict(path: Path) -> None:
    # One row's slots are not JSON (the bulk check gives way to row-by-row); another row's tier
    # changed; both are named, and nothing else.
    tamper(path, "requests", "UPDATE requests SET slots = '[[' WHERE seq = 9")
    tamper(path, "requests", "UPDATE requests SET priority_tier = 0 WHERE seq = 33")
    got = problems(path)
    assert len(got) == 2
    assert "(receipt seq 9)" in got[0] and "(receipt seq 33)" in got[1]
