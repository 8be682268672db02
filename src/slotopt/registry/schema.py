"""The registry's SQLite schema, its version, and the list of migrations.

The schema version lives in two places: ``PRAGMA user_version`` (read before anything else, so a
file written by a newer slotopt is refused before any table is touched) and the ``schema`` table
(one row per version applied, with when and why). :data:`MIGRATIONS` is the documented list:
entry ``k`` turns a version ``k - 1`` file into version ``k``; version 0 is an empty file. A
migration runs inside one transaction with the version bump, so a file is always at exactly one
version. docs/audit.md describes every table and column. A request's acceptable slots are one JSON
column (``[["slot_id", rank or null], ...]`` in slot-id order), not a row each: a million-request
batch then writes a million rows instead of three million.

Append-only tables carry two triggers each, ``<table>_no_update`` and ``<table>_no_delete``,
that abort any ``UPDATE`` or ``DELETE``: what was registered, committed, drawn and allocated can
only be added to. (Whoever can write the file can drop a trigger; the receipt chain and the
published commitments are what catch that, see :mod:`slotopt.registry.integrity`.)
"""

from __future__ import annotations

__all__ = ["APPEND_ONLY", "MIGRATIONS", "SCHEMA_VERSION", "TABLES", "VIEWS", "append_only_triggers"]

_V1_TABLES = """
CREATE TABLE schema (
    version     INTEGER PRIMARY KEY,
    applied_at  TEXT NOT NULL,
    description TEXT NOT NULL
) STRICT;

CREATE TABLE requests (
    seq               INTEGER PRIMARY KEY,
    batch             TEXT NOT NULL,
    request_id        TEXT NOT NULL,
    identity_key_hash TEXT NOT NULL,
    registered_at     INTEGER NOT NULL,
    priority_tier     INTEGER NOT NULL CHECK (priority_tier >= 0),
    carry_over        INTEGER NOT NULL CHECK (carry_over >= 0),
    slots             TEXT NOT NULL,
    request_digest    TEXT NOT NULL,
    prev_hash         TEXT NOT NULL,
    receipt_hash      TEXT NOT NULL,
    UNIQUE (batch, request_id)
) STRICT;

CREATE TABLE commitments (
    batch             TEXT PRIMARY KEY,
    commitment        TEXT NOT NULL CHECK (length(commitment) = 64),
    public_randomness TEXT,
    chain_seq         INTEGER NOT NULL,
    chain_head        TEXT NOT NULL
) STRICT;

CREATE TABLE draws (
    batch         TEXT PRIMARY KEY REFERENCES commitments (batch),
    mechanism     TEXT NOT NULL,
    params        TEXT NOT NULL,
    context       TEXT NOT NULL,
    secret        TEXT NOT NULL,
    public        TEXT NOT NULL,
    seed          TEXT NOT NULL,
    n_requests    INTEGER NOT NULL,
    n_slots       INTEGER NOT NULL,
    n_allocated   INTEGER NOT NULL,
    chain_seq     INTEGER NOT NULL,
    chain_head    TEXT NOT NULL,
    result_digest TEXT NOT NULL
) STRICT;

CREATE TABLE draw_requests (
    batch             TEXT NOT NULL,
    request_id        TEXT NOT NULL,
    priority_tier     INTEGER NOT NULL,
    carry_over        INTEGER NOT NULL,
    registered_at     INTEGER NOT NULL,
    slots             TEXT NOT NULL,
    slot_id           TEXT,
    lottery_position  INTEGER NOT NULL,
    waitlist_position INTEGER,
    tickets           INTEGER NOT NULL,
    PRIMARY KEY (batch, request_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE draw_slots (
    batch    TEXT NOT NULL,
    slot_id  TEXT NOT NULL,
    capacity INTEGER NOT NULL CHECK (capacity >= 0),
    PRIMARY KEY (batch, slot_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE events (
    seq        INTEGER PRIMARY KEY,
    batch      TEXT NOT NULL,
    request_id TEXT NOT NULL,
    slot_id    TEXT,
    event      TEXT NOT NULL,
    after      INTEGER,
    UNIQUE (batch, request_id, event)
) STRICT;

CREATE VIEW receipts AS
    SELECT seq, batch, request_id, identity_key_hash, registered_at, request_digest,
           prev_hash, receipt_hash
    FROM requests;

CREATE VIEW allocations AS
    SELECT batch, request_id, slot_id, lottery_position, waitlist_position, tickets
    FROM draw_requests
"""

#: Tables that only ever grow (UPDATE and DELETE abort).
APPEND_ONLY: tuple[str, ...] = (
    "schema",
    "requests",
    "commitments",
    "draws",
    "draw_requests",
    "draw_slots",
    "events",
)


def append_only_triggers(tables: tuple[str, ...]) -> tuple[str, ...]:
    """One ``CREATE TRIGGER`` statement per table and operation (UPDATE, DELETE)."""
    return tuple(
        f"CREATE TRIGGER {t}_no_{op.lower()} BEFORE {op} ON {t} BEGIN "
        f"SELECT RAISE(ABORT, '{t} is append-only: {op} refused'); END"
        for t in tables
        for op in ("UPDATE", "DELETE")
    )


def _statements(script: str) -> tuple[str, ...]:
    # Table DDL has no semicolon inside a statement (triggers are built separately).
    return tuple(s.strip() for s in script.split(";") if s.strip())


#: ``MIGRATIONS[k - 1] = (k, description, statements)`` turns a version ``k - 1`` file into
#: version ``k``; the statements run in one transaction with the version bump.
MIGRATIONS: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (
        1,
        "receipts chain over the requests (acceptable slots as JSON), commitments, draws with "
        "their exact inputs and allocations, events; append-only triggers",
        _statements(_V1_TABLES) + append_only_triggers(APPEND_ONLY),
    ),
)

SCHEMA_VERSION = MIGRATIONS[-1][0]

#: Every table of the current schema (docs/audit.md documents each column).
TABLES: tuple[str, ...] = APPEND_ONLY

#: Read-only views with the names an auditor looks for.
VIEWS: tuple[str, ...] = ("receipts", "allocations")
