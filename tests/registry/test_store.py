"""The registry file: schema and versions, append-only tables, registration, commitments, draws."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from slotopt.engines.commitment import commitment, replay_secret
from slotopt.errors import InstanceError, UsageError
from slotopt.registry import (
    GENESIS,
    SCHEMA_VERSION,
    Registry,
    RegistryError,
    SchemaError,
    receipt_hash,
    request_digest,
)
from slotopt.registry.schema import APPEND_ONLY, MIGRATIONS, TABLES, VIEWS

from .helpers import T0, identity, make_batch, open_registry, record, run_draw


# ---------------------------------------------------------------- schema and versions
def test_new_file_is_versioned_wal_and_full(tmp_path: Path) -> None:
    with open_registry(tmp_path) as reg:
        c = reg.connection
        assert reg.schema_version == SCHEMA_VERSION == MIGRATIONS[-1][0]
        assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert c.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert c.execute("SELECT version FROM schema").fetchall() == [(SCHEMA_VERSION,)]
        names = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert set(TABLES) <= names
        views = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='view'")}
        assert set(VIEWS) == views
    with Registry.open(tmp_path / "registry.sqlite", synchronous="NORMAL") as reg:
        assert reg.connection.execute("PRAGMA synchronous").fetchone()[0] == 1


def test_migrations_are_a_consecutive_list() -> None:
    assert [m[0] for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert all(m[1] and m[2] for m in MIGRATIONS)


def test_reopening_keeps_the_version_and_the_data(tmp_path: Path) -> None:
    with open_registry(tmp_path) as reg:
        reg.register_one("b", "R1", identity(1), T0)
    with open_registry(tmp_path) as reg:
        assert reg.schema_version == SCHEMA_VERSION
        assert len(reg.receipts()) == 1
        assert reg.connection.execute("SELECT count(*) FROM schema").fetchone()[0] == 1


def test_a_file_from_a_newer_slotopt_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "registry.sqlite"
    Registry.open(path).close()
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.commit()
    raw.close()
    with pytest.raises(SchemaError, match=f"version {SCHEMA_VERSION + 1}.*newer slotopt"):
        Registry.open(path)


def test_other_files_are_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite"
    raw = sqlite3.connect(other)
    raw.execute("CREATE TABLE t (x)")
    raw.commit()
    raw.close()
    with pytest.raises(SchemaError, match="not a slotopt registry"):
        Registry.open(other)
    text = tmp_path / "notes.txt"
    text.write_text("not a database at all, just some words in a file\n" * 40)
    with pytest.raises(SchemaError, match="not an SQLite registry"):
        Registry.open(text)
    with pytest.raises(InstanceError, match="no such registry"):
        Registry.open(tmp_path / "missing.sqlite", create=False)
    with pytest.raises(UsageError, match="synchronous"):
        Registry.open(tmp_path / "x.sqlite", synchronous="OFF")


def test_schema_errors_are_input_errors() -> None:
    # The CLI exits 2 on an InstanceError: a newer or foreign file is bad input, not a failure.
    assert issubclass(SchemaError, InstanceError) and issubclass(SchemaError, RegistryError)


# ---------------------------------------------------------------- append-only
@pytest.fixture
def drawn(tmp_path: Path) -> Registry:
    reg = open_registry(tmp_path)
    b = make_batch("w1", 12)
    record(reg, b)
    reg.record_events(
        "w1",
        pd.DataFrame(
            {"request_id": [b.requests.request_id[0]], "slot_id": ["S0"], "event": ["confirmed"]}
        ),
    )
    yield reg
    reg.close()


@pytest.mark.parametrize("table", APPEND_ONLY)
@pytest.mark.parametrize("op", ["UPDATE", "DELETE"])
def test_append_only_tables_refuse_update_and_delete(drawn: Registry, table: str, op: str) -> None:
    c = drawn.connection
    col = c.execute(f"SELECT * FROM {table} LIMIT 1").description[0][0]
    assert c.execute(f"SELECT count(*) FROM {table}").fetchone()[0] > 0
    sql = f"UPDATE {table} SET {col} = {col}" if op == "UPDATE" else f"DELETE FROM {table}"
    with pytest.raises(sqlite3.IntegrityError, match=f"{table} is append-only: {op} refused"):
        c.execute(sql)


# ---------------------------------------------------------------- registering
def test_receipts_form_a_chain_with_the_documented_hashes(tmp_path: Path) -> None:
    b = make_batch("w1", 30, ranked=True)
    with open_registry(tmp_path) as reg:
        out = reg.register("w1", b.requests, b.request_slots)
        stored = reg.receipts()
    assert list(out.columns) == ["request_id", "receipt_hash", "prev_hash"]
    assert out["request_id"].tolist() == b.requests["request_id"].tolist()
    assert out["prev_hash"].iloc[0] == GENESIS
    assert out["prev_hash"].iloc[1:].tolist() == out["receipt_hash"].iloc[:-1].tolist()
    for i, row in enumerate(stored.itertuples()):
        req = b.requests.iloc[i]
        slots = b.request_slots[b.request_slots.request_id == req.request_id]
        pairs = [
            (s, None if pd.isna(k) else int(k))
            for s, k in zip(slots.slot_id, slots["rank"], strict=True)
        ]
        d = request_digest(
            "w1", req.request_id, req.identity_key_hash, int(req.registered_at), 1, 0, pairs
        )
        assert row.seq == i + 1 and row.request_digest == d
        h = receipt_hash(
            row.seq,
            "w1",
            req.request_id,
            req.identity_key_hash,
            int(req.registered_at),
            d,
            row.prev_hash,
        )
        assert row.receipt_hash == h == out["receipt_hash"].iloc[i]


def test_bulk_and_single_registrations_give_the_same_receipts(tmp_path: Path) -> None:
    # Unicode ids (code-point order of slots), ranks and unranked slots, no slots at all.
    req = pd.DataFrame(
        {
            "request_id": ["é-1", "a-2", "Z-3"],
            "identity_key_hash": [identity(1), identity(2), identity(3)],
            "registered_at": [T0 + 5, T0 + 1, T0 + 9],
            "priority_tier": [1, 0, 2],
            "carry_over": [0, 3, 1],
        }
    )
    acc = pd.DataFrame(
        {
            "request_id": ["é-1", "é-1", "a-2", "é-1"],
            "slot_id": ["s-ü", "s-a", "s-b", "S-Z"],
            "rank": pd.array([2, None, 1, 1], dtype="Int64"),
        }
    )
    with Registry.open(tmp_path / "bulk.sqlite") as reg:
        bulk = reg.register("b", req, acc)
    with Registry.open(tmp_path / "one.sqlite") as reg:
        single = []
        for r in req.itertuples():
            mine = acc[acc.request_id == r.request_id]
            slots = [
                (s, None if pd.isna(k) else int(k))
                for s, k in zip(mine.slot_id, mine["rank"], strict=True)
            ]
            single.append(
                reg.register_one(
                    "b",
                    r.request_id,
                    r.identity_key_hash,
                    r.registered_at,
                    priority_tier=r.priority_tier,
                    carry_over=r.carry_over,
                    slots=slots,
                )
            )
    assert bulk["receipt_hash"].tolist() == [s.receipt_hash for s in single]
    assert single[0].recomputed_hash() == single[0].receipt_hash


def test_registering_again_is_idempotent_and_changes_are_refused(tmp_path: Path) -> None:
    b = make_batch("w1", 10)
    with open_registry(tmp_path) as reg:
        first = reg.register("w1", b.requests, b.request_slots)
        again = reg.register("w1", b.requests.iloc[::-1], b.request_slots)
        assert again["receipt_hash"].tolist() == first["receipt_hash"].tolist()[::-1]
        assert len(reg.receipts()) == 10
        changed = b.requests.copy()
        changed.loc[3, "priority_tier"] = 0
        with pytest.raises(RegistryError, match="registered before .* other content"):
            reg.register("w1", changed, b.request_slots)
        # The same request id in another batch is another request (carried over).
        reg.register("w2", b.requests.iloc[:2], b.request_slots.iloc[:0])
        assert len(reg.receipts()) == 12


def test_a_registration_that_repeats_some_requests_chains_only_the_new_ones(
    tmp_path: Path,
) -> None:
    b = make_batch("w1", 10)
    req, acc = b.requests, b.request_slots

    def slots_of(part: pd.DataFrame) -> pd.DataFrame:
        return acc[acc.request_id.isin(part.request_id)]

    with Registry.open(tmp_path / "once.sqlite") as reg:
        once = reg.register("w1", req, acc)
    with Registry.open(tmp_path / "twice.sqlite") as reg:
        first = reg.register("w1", req.iloc[:4], slots_of(req.iloc[:4]))
        # requests 2..3 again, then 4..9 new: only the new ones get links 5..10
        both = reg.register("w1", req.iloc[2:], slots_of(req.iloc[2:]))
        stored = reg.receipts()
    assert both["receipt_hash"].tolist()[:2] == first["receipt_hash"].tolist()[2:]
    assert stored["seq"].tolist() == list(range(1, 11))
    assert stored["receipt_hash"].tolist() == once["receipt_hash"].tolist()
    assert both["prev_hash"].tolist() == once["prev_hash"].tolist()[2:]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r, a: (r.drop(columns="carry_over"), a), "missing column"),
        (lambda r, a: (pd.concat([r, r.iloc[:1]]), a), "appears twice"),
        (lambda r, a: (r.assign(identity_key_hash="ABC"), a), "not 64 lowercase hex"),
        (lambda r, a: (r.assign(identity_key_hash="A" * 64), a), "not 64 lowercase hex"),
        # lengths 63 and 65 add up to 2 x 64: each value's own length is checked
        (
            lambda r, a: (
                r.assign(identity_key_hash=["a" * 63, "a" * 65, *r.identity_key_hash[2:]]),
                a,
            ),
            "'a{63}' is not 64 lowercase hex",
        ),
        (lambda r, a: (r.assign(priority_tier=-1), a), ">= 0"),
        (lambda r, a: (r.assign(request_id=[""] + r.request_id[1:].tolist()), a), "non-empty"),
        (lambda r, a: (r.assign(request_id=["R\0"] + r.request_id[1:].tolist()), a), "NUL"),
        (lambda r, a: (r, a.assign(slot_id=["S\0"] + a.slot_id[1:].tolist())), "NUL"),
        (lambda r, a: (r, pd.concat([a, a.iloc[:1]])), "twice"),
        (lambda r, a: (r, a.assign(request_id="nobody")), "not in requests"),
        (lambda r, a: (r, a.assign(rank=pd.array([0] * len(a), dtype="Int64"))), "rank"),
        (lambda r, a: (r.assign(registered_at="soon"), a), "integers"),
    ],
)
def test_bad_registrations_are_usage_errors(tmp_path: Path, change, message: str) -> None:
    b = make_batch("w1", 5)
    req, acc = change(b.requests.copy(), b.request_slots.copy())
    with open_registry(tmp_path) as reg:
        with pytest.raises(UsageError, match=message):
            reg.register("w1", req, acc)
        assert reg.receipts().empty


# ---------------------------------------------------------------- commitments and draws
def test_commit_once(tmp_path: Path) -> None:
    with open_registry(tmp_path) as reg:
        reg.commit("w1", "A" * 64, None)  # normalised to lower case
        reg.commit("w1", "a" * 64, None)  # the same again: fine
        with pytest.raises(RegistryError, match="never replaced"):
            reg.commit("w1", "b" * 64, None)
        with pytest.raises(UsageError, match="64 hex"):
            reg.commit("w2", "xyz", None)
        assert reg.commitment("w1")["chain_seq"] == 0


def test_a_draw_without_commitment_or_with_another_secret_is_refused(tmp_path: Path) -> None:
    b = make_batch("w1", 10)
    inputs, result, secret = run_draw(b)
    kwargs = dict(mechanism="uniform", params={}, context="batch-w1", inputs=inputs, result=result)
    with open_registry(tmp_path) as reg:
        reg.register("w1", b.requests, b.request_slots)
        with pytest.raises(RegistryError, match="no commitment"):
            reg.record_draw("w1", secret=secret, public=b"", **kwargs)
        reg.commit("w1", commitment(replay_secret(99, "w1")), None)
        with pytest.raises(RegistryError, match="does not match commitment"):
            reg.record_draw("w1", secret=secret, public=b"", **kwargs)
        assert reg.finished() == set()
    with Registry.open(tmp_path / "b.sqlite") as reg:
        reg.commit("w1", commitment(secret), None)
        with pytest.raises(RegistryError, match="not with draw_seed"):
            reg.record_draw("w1", secret=secret, public=b"beacon", **kwargs)
        reg.record_draw("w1", secret=secret, public=b"", **kwargs)
        reg.record_draw("w1", secret=secret, public=b"", **kwargs)  # the same again: no-op
        assert reg.connection.execute("SELECT count(*) FROM draws").fetchone()[0] == 1
        assert len(reg.allocations("w1")) == 10
        with pytest.raises(RegistryError, match="never replaced"):
            reg.commit("w1", "d" * 64, None)
        other = run_draw(b, mechanism="fcfs")[1]
        with pytest.raises(RegistryError, match="drawn before with another result"):
            reg.record_draw("w1", secret=secret, public=b"", **(kwargs | {"result": other}))


def test_stored_draw_round_trips(tmp_path: Path) -> None:
    b = make_batch("w1", 25, ranked=True)
    with open_registry(tmp_path) as reg:
        result = record(reg, b, mechanism="weighted", rule="doubling")
        d = reg.draw("w1")
        inputs = reg.draw_inputs("w1")
        alloc = reg.allocations("w1").set_index("request_id")
    assert d["mechanism"] == "weighted" and d["params"] == {"rule": "doubling"}
    assert d["seed"] == result.seed and d["n_allocated"] == result.n_allocated
    ids = inputs["requests"]["request_id"].tolist()
    assert sorted(ids) == sorted(b.requests["request_id"])
    order = np.argsort(result.lottery_position)
    first = run_draw(b, mechanism="weighted", rule="doubling")[0]["requests"]["request_id"]
    assert alloc.loc[first.iloc[order[0]], "lottery_position"] == 1
    assert int(alloc["slot_id"].notna().sum()) == result.n_allocated


def test_events_are_recorded_once(tmp_path: Path) -> None:
    ev = pd.DataFrame(
        {
            "request_id": ["R1", "R2"],
            "slot_id": ["S0", None],
            "event": ["confirmed", "unconfirmed"],
            "after": pd.array([3600, None], dtype="Int64"),
        }
    )
    with open_registry(tmp_path) as reg:
        reg.record_events("w1", ev)
        reg.record_events("w1", ev)
        assert len(reg.events("w1")) == 2
        with pytest.raises(RegistryError, match="is recorded with"):
            reg.record_events("w1", ev.assign(after=pd.array([60, None], dtype="Int64")))
        with pytest.raises(UsageError, match="missing column"):
            reg.record_events("w1", ev.drop(columns="event"))


def test_every_table_and_column_is_documented(tmp_path: Path, repo: Path) -> None:
    doc = (repo / "docs" / "audit.md").read_text()
    with open_registry(tmp_path) as reg:
        c = reg.connection
        tables = [r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        assert sorted(tables) == sorted(TABLES)
        for t in tables:
            head = f"#### `{t}`"
            assert head in doc, f"docs/audit.md has no section {head}"
            section = doc.split(head, 1)[1].split("\n#### ", 1)[0]
            for col in (r[1] for r in c.execute(f"PRAGMA table_info({t})")):
                assert f"| `{col}` |" in section, f"docs/audit.md: {t}.{col} is not documented"
        views = doc.split("#### Views", 1)[1].split("\n### ", 1)[0]
        for v in VIEWS:
            assert f"`{v}`" in views
            for col in (r[1] for r in c.execute(f"PRAGMA table_info({v})")):
                assert f"`{col}`" in views, f"docs/audit.md: view {v}.{col} is not documented"


def test_frames_read_column_by_column_equal_the_row_wise_frames(drawn: Registry) -> None:
    # Registry._frame builds its DataFrame from columns (fast at a million rows); pandas must
    # infer the same dtypes as from the rows, None/NaN columns included.
    c = drawn.connection
    for sql in (
        "SELECT * FROM requests",
        "SELECT * FROM draw_requests",
        "SELECT * FROM draw_slots",
        "SELECT * FROM events",
        "SELECT * FROM draws",
    ):
        cur = c.execute(sql)
        rowwise = pd.DataFrame(cur.fetchall(), columns=[d[0] for d in cur.description])
        assert not rowwise.empty
        pd.testing.assert_frame_equal(drawn._frame(sql), rowwise)


def test_the_published_draw_reads_what_the_readers_read(drawn: Registry) -> None:
    # published_draw reads draw_requests once; its frames equal draw_inputs() and allocations().
    pub = drawn.published_draw("w1")
    inputs = drawn.draw_inputs("w1")
    pd.testing.assert_frame_equal(pub.requests, inputs["requests"])
    pd.testing.assert_frame_equal(pub.request_slots, inputs["request_slots"])
    pd.testing.assert_frame_equal(pub.slots, inputs["slots"])
    pd.testing.assert_frame_equal(pub.allocation, drawn.allocations("w1"))
    assert pub.allocation["lottery_position"].tolist() == list(range(1, 13))


def test_registered_reads_the_columns_asked_for(drawn: Registry) -> None:
    req, acc = drawn.registered("w1", columns=("request_id", "carry_over"))
    assert list(req.columns) == ["request_id", "carry_over"] and len(acc) > 0
    full, _ = drawn.registered("w1")
    assert "identity_key_hash" in full.columns and len(full) == len(req)
    with pytest.raises(UsageError, match="must include request_id"):
        drawn.registered("w1", columns=("carry_over",))
    with pytest.raises(UsageError, match="be among"):
        drawn.registered("w1", columns=("request_id", "slots; DROP TABLE requests"))
