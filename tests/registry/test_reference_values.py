"""The registry's reference values: request digests, receipts, stored JSON and a draw fingerprint.

These are the format's reference values. Registries written by earlier versions and receipts
already handed to applicants must keep verifying, so any speed-up of registration or draw storage
has to reproduce them byte for byte. Each expected digest is first checked against SHA-256 of the
bytes docs/audit.md prescribes, written out by hand below (fields joined by NUL, integers in
decimal), so the pinned hex strings are derivable from the documented formula alone; the tests
then require the registry to store exactly those values.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from slotopt.engines.batch import DrawResult
from slotopt.engines.commitment import commitment, draw_seed
from slotopt.registry import GENESIS, Registry, receipt_hash, request_digest
from slotopt.registry.chain import allocation_digest

BATCH = "2026-W01"
IKH = ["1" * 64, "ab" * 32, "0123456789abcdef" * 4, "f" * 64]
AT = [1_767_225_600, 1_767_229_200, 1_767_232_800, 1_767_236_400]  # 2026-01-01T00..03:00Z

# The hand-written bytes of each request digest (docs/audit.md, "Proof of attempt").
REQUEST_BYTES = [
    # R1: tier 1, carry-over 0, slot S1 unranked (empty rank)
    b"slotopt-request-v1\x002026-W01\x00R1\x00" + IKH[0].encode() + b"\x001767225600\x001\x000"
    b"\x00S1\x00",
    # R2: tier 0, carry-over 3, S1 rank 2 and S2 rank 1, listed by slot id
    b"slotopt-request-v1\x002026-W01\x00R2\x00" + IKH[1].encode() + b"\x001767229200\x000\x003"
    b"\x00S1\x002\x00S2\x001",
    # \u00e93 (UTF-8 c3 a9): tier 2, carry-over 1, slot S\u00fc rank 1
    b"slotopt-request-v1\x002026-W01\x00\xc3\xa93\x00" + IKH[2].encode() + b"\x001767232800\x002"
    b"\x001\x00S\xc3\xbc\x001",
    # R4: no acceptable slot at all
    b"slotopt-request-v1\x002026-W01\x00R4\x00" + IKH[3].encode() + b"\x001767236400\x001\x000",
]
REQUEST_DIGESTS = [
    "3e4df433ab56181bc8f03259e698c4dc1994f745e12fd4ad95557a2f3b37cb8a",
    "f15d0ac24562ca657bc7ce4c369640884b1c4ecab212f4465176ba7521a7f6ac",
    "1f2ce7fdfd63a30cfae0b47741c780f87a5c43430190f6070bbfda3868897136",
    "99d17479d6718ceb017cd88e7ea76266975ccd85084c2a6a0c66de05f8ccb73b",
]
RECEIPT_HASHES = [
    "e214685e25d06bcd72315a84bbe4b1cca29b82de98c68f2b19ae329e07c41dc1",
    "5c79f48e9a22862569ffb7926d3783070c357af2b3a58d5fe86884073cb6afde",
    "840c7addfbeae7b5f4b3e3e89ffc0330d68743eabe6ab97444afbd621c2f88c1",
    "9a0d1d28869911237ef897f51d50a40a6f6c945e9a8fd8f4e2dd8819afc5277e",
]
IDS = ["R1", "R2", "\u00e93", "R4"]
# requests.slots / draw_requests.slots: JSON with ASCII escapes, by slot id
SLOTS_JSON = ['[["S1",null]]', '[["S1",2],["S2",1]]', '[["S\\u00fc",1]]', "[]"]
# The draw's fingerprint over the rows below (docs/audit.md, draws.result_digest).
DRAW_ROWS_BYTES = (
    b"slotopt-allocation-v1\x00"
    b'R1\x001\x000\x001767225600\x00[["S1",null]]\x00S1\x001\x00\x001\n'
    b'R2\x000\x003\x001767229200\x00[["S1",2],["S2",1]]\x00\x003\x001\x001\n'
    b"R4\x001\x000\x001767236400\x00[]\x00\x004\x002\x001\n"
    b'\xc3\xa93\x002\x001\x001767232800\x00[["S\\u00fc",1]]\x00S\xc3\xbc\x002\x00\x001\n'
)
RESULT_DIGEST = "ac9ad8cfa671994b5d3aead973a514afcc646b92631b0b1967dfe3d855208075"


def receipt_bytes(seq: int) -> bytes:
    prev = GENESIS if seq == 1 else RECEIPT_HASHES[seq - 2]
    return "\0".join(
        [
            "slotopt-receipt-v1",
            str(seq),
            BATCH,
            IDS[seq - 1],
            IKH[seq - 1],
            str(AT[seq - 1]),
            REQUEST_DIGESTS[seq - 1],
            prev,
        ]
    ).encode()


def frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    req = pd.DataFrame(
        {
            "request_id": IDS,
            "identity_key_hash": IKH,
            "registered_at": AT,
            "priority_tier": [1, 0, 2, 1],
            "carry_over": [0, 3, 1, 0],
        }
    )
    acc = pd.DataFrame(
        {
            "request_id": ["R1", "R2", "R2", "\u00e93"],
            "slot_id": ["S1", "S2", "S1", "S\u00fc"],
            "rank": pd.array([None, 1, 2, 1], dtype="Int64"),
        }
    )
    slots = pd.DataFrame({"slot_id": ["S1", "S2", "S\u00fc"], "capacity": [1, 1, 1]})
    return req, acc, slots


def pairs_of(acc: pd.DataFrame, request_id: str) -> list[tuple[str, int | None]]:
    mine = acc[acc.request_id == request_id]
    return [
        (s, None if pd.isna(k) else int(k)) for s, k in zip(mine.slot_id, mine["rank"], strict=True)
    ]


def test_the_reference_values_follow_the_documented_bytes() -> None:
    for raw, digest in zip(REQUEST_BYTES, REQUEST_DIGESTS, strict=True):
        assert hashlib.sha256(raw).hexdigest() == digest
    for seq, h in enumerate(RECEIPT_HASHES, start=1):
        assert hashlib.sha256(receipt_bytes(seq)).hexdigest() == h
    assert hashlib.sha256(DRAW_ROWS_BYTES).hexdigest() == RESULT_DIGEST


def test_the_chain_functions_give_the_reference_values() -> None:
    req, acc, _ = frames()
    for i, r in enumerate(req.itertuples()):
        pairs = pairs_of(acc, r.request_id)
        d = request_digest(BATCH, IDS[i], IKH[i], AT[i], r.priority_tier, r.carry_over, pairs)
        assert d == REQUEST_DIGESTS[i]
        prev = GENESIS if i == 0 else RECEIPT_HASHES[i - 1]
        assert receipt_hash(i + 1, BATCH, IDS[i], IKH[i], AT[i], d, prev) == RECEIPT_HASHES[i]


@pytest.mark.parametrize("how", ["bulk", "one at a time"])
def test_registration_stores_the_reference_receipts(tmp_path: Path, how: str) -> None:
    req, acc, _ = frames()
    with Registry.open(tmp_path / "registry.sqlite") as reg:
        if how == "bulk":
            out = reg.register(BATCH, req, acc)
            assert out["receipt_hash"].tolist() == RECEIPT_HASHES
            assert out["prev_hash"].tolist() == [GENESIS, *RECEIPT_HASHES[:-1]]
        else:
            for r in req.itertuples():
                reg.register_one(
                    BATCH,
                    r.request_id,
                    r.identity_key_hash,
                    r.registered_at,
                    priority_tier=r.priority_tier,
                    carry_over=r.carry_over,
                    slots=pairs_of(acc, r.request_id),
                )
        rows = reg.connection.execute(
            "SELECT seq, request_id, slots, request_digest, prev_hash, receipt_hash "
            "FROM requests ORDER BY seq"
        ).fetchall()
    assert rows == [
        (i + 1, IDS[i], SLOTS_JSON[i], REQUEST_DIGESTS[i], ([GENESIS, *RECEIPT_HASHES])[i], h)
        for i, h in enumerate(RECEIPT_HASHES)
    ]


def test_a_stored_draw_has_the_reference_rows_and_fingerprint(tmp_path: Path) -> None:
    req, acc, slots = frames()
    secret = b"\x01" * 32
    # A hand-made result: R1 gets S1 and \u00e93 gets S\u00fc; R2 then R4 wait.
    result = DrawResult(
        "uniform",
        draw_seed(secret),
        f"batch-{BATCH}",
        slot_of_request=np.array([0, -1, 2, -1]),
        lottery_position=np.array([1, 3, 2, 4]),
        waitlist=np.array([1, 3]),
    )
    with Registry.open(tmp_path / "registry.sqlite") as reg:
        reg.register(BATCH, req, acc)
        reg.commit(BATCH, commitment(secret), None)
        reg.record_draw(
            BATCH,
            mechanism="uniform",
            params={},
            context=f"batch-{BATCH}",
            inputs={
                "requests": req.drop(columns="identity_key_hash"),
                "request_slots": acc,
                "slots": slots,
            },
            result=result,
            secret=secret,
            public=b"",
        )
        c = reg.connection
        rows = c.execute("SELECT * FROM draw_requests ORDER BY request_id").fetchall()
        drawn = c.execute("SELECT result_digest, chain_seq, chain_head FROM draws").fetchall()
    assert rows == [
        (BATCH, "R1", 1, 0, AT[0], SLOTS_JSON[0], "S1", 1, None, 1),
        (BATCH, "R2", 0, 3, AT[1], SLOTS_JSON[1], None, 3, 1, 1),
        (BATCH, "R4", 1, 0, AT[3], SLOTS_JSON[3], None, 4, 2, 1),
        (BATCH, "\u00e93", 2, 1, AT[2], SLOTS_JSON[2], "S\u00fc", 2, None, 1),
    ]
    assert allocation_digest(rows) == RESULT_DIGEST
    assert drawn == [(RESULT_DIGEST, 4, RECEIPT_HASHES[-1])]
