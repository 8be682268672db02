"""The registry: one SQLite file holding every registration, receipt, commitment, draw and event.

:class:`Registry` implements the batch run's :class:`~slotopt.batch.Recorder` and the readers the
audit and the receipts need. Choices (docs/audit.md explains them for an operator):

* **One file, WAL journal.** Readers (an auditor, a receipt lookup) never block the writer and
  see a consistent snapshot; writers take turns.
* **``synchronous=FULL`` by default.** Every committed transaction is on disk before the call
  returns, so a receipt that was handed out survives a power cut. ``NORMAL`` is faster for live
  single registrations (no ``fsync`` per commit) and still never corrupts the file, but the last
  transactions before a power cut (not a process crash) may be lost; it is offered for replays
  and benchmarks, where everything can be recomputed.
* **Writers take the lock first.** Every write is one ``BEGIN IMMEDIATE`` transaction: reading
  the chain head and appending after it cannot interleave with another process doing the same,
  and ``busy_timeout`` makes a second writer wait instead of failing.
* **Idempotent.** Registering a request again with the same content returns its receipt;
  recording a batch's draw again with the same result does nothing; either with different content
  is refused. A crash inside a transaction leaves nothing of it behind, so a re-run after a crash
  gives the same result without duplicate rows.
"""

from __future__ import annotations

import itertools
import json
import re
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from slotopt.engines.batch.codes import locate, object_array
from slotopt.engines.batch.gcpause import without_gc
from slotopt.engines.batch.types import DrawResult
from slotopt.engines.commitment import draw_seed, reveal_matches
from slotopt.errors import InstanceError, SlotoptError, UsageError
from slotopt.registry.bulk import (
    GroupedSlots,
    chain_hashes,
    digest_tails,
    group_slots,
    parse_slot_texts,
    request_digests,
    slots_json,
)
from slotopt.registry.chain import GENESIS, Receipt, allocation_digest, request_digest
from slotopt.registry.schema import MIGRATIONS, SCHEMA_VERSION

if TYPE_CHECKING:
    from slotopt.verify.audit import PublishedDraw

__all__ = ["Registry", "RegistryError", "SchemaError"]

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
#: Columns of ``requests`` that :meth:`Registry.registered` reads by default, in this order.
REGISTERED_COLUMNS = (
    "request_id",
    "identity_key_hash",
    "registered_at",
    "priority_tier",
    "carry_over",
    "seq",
)
#: What a published draw carries of the registrations: the draw's inputs, nothing more.
AUDITED_COLUMNS = ("request_id", "priority_tier", "carry_over", "registered_at")
SYNCHRONOUS = ("FULL", "NORMAL")


class RegistryError(SlotoptError):
    """The registry refused an operation that would make it inconsistent (a draw without a
    matching commitment, a request registered again with other content, ...)."""


class SchemaError(RegistryError, InstanceError):
    """The file is not a registry this slotopt can read (newer schema, or another database)."""


@dataclass(frozen=True)
class ChainHead:
    """The last link of the receipt chain: ``seq`` 0 and 64 zeros when there is none."""

    seq: int
    receipt_hash: str


def _check_text(value: object, what: str) -> str:
    text = str(value)
    if not text or "\0" in text:
        raise UsageError(f"{what} must be a non-empty string without NUL characters: {value!r}")
    return text


def _int_array(df: pd.DataFrame, col: str, what: str) -> np.ndarray:
    s = df[col]
    if s.isna().any():
        raise UsageError(f"{what}: column {col} has missing values")
    try:
        return s.to_numpy(dtype=np.int64)
    except (TypeError, ValueError):
        raise UsageError(f"{what}: column {col} must hold integers") from None


def _int_list(df: pd.DataFrame, col: str, what: str) -> list[int]:
    return _int_array(df, col, what).tolist()


def _params_json(params: Mapping[str, Any]) -> str:
    return json.dumps(dict(params), sort_keys=True, separators=(",", ":"), default=int)


class Registry:
    """An open registry file. Use :meth:`open`, ideally as a context manager.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "registry.sqlite"
    >>> with Registry.open(path) as reg:
    ...     r = reg.register_one("b1", "R1", "ab" * 32, 1_700_000_000, slots=[("S1", None)])
    ...     (r.seq, r.prev_hash == "0" * 64, reg.chain_head().receipt_hash == r.receipt_hash)
    (1, True, True)
    """

    def __init__(
        self,
        path: str | Path,
        *,
        create: bool = True,
        synchronous: str = "FULL",
        busy_timeout: float = 60.0,
    ) -> None:
        """``Registry(path)`` is :meth:`Registry.open` (same arguments)."""
        self.path = Path(path)
        self._conn = self._connect(self.path, create, synchronous, busy_timeout)

    # ---------------------------------------------------------------- opening and closing
    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        create: bool = True,
        synchronous: str = "FULL",
        busy_timeout: float = 60.0,
    ) -> Registry:
        """Open (and with ``create``, make or migrate) the registry at ``path``.

        Parameters
        ----------
        path
            The SQLite file.
        create
            Make a new registry when the file does not exist; False makes a missing file an
            error (auditing and receipt checks never create one).
        synchronous
            ``"FULL"`` (default, durable against power loss) or ``"NORMAL"`` (module docstring).
        busy_timeout
            Seconds a writer waits for another process's transaction before giving up.

        Raises
        ------
        SchemaError
            The file was written by a newer slotopt, or is a database that is not a registry.
        InstanceError
            ``create=False`` and the file does not exist.
        """
        return cls(path, create=create, synchronous=synchronous, busy_timeout=busy_timeout)

    @classmethod
    def _connect(
        cls, path: Path, create: bool, synchronous: str, busy_timeout: float
    ) -> sqlite3.Connection:
        if synchronous not in SYNCHRONOUS:
            raise UsageError(f"synchronous must be one of {', '.join(SYNCHRONOUS)}")
        if not create and not path.is_file():
            raise InstanceError(f"{path}: no such registry file")
        try:
            conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise InstanceError(f"{path}: cannot open as a registry ({exc})") from None
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            version = cls._read_version(conn, path)
            if version < SCHEMA_VERSION:
                if not create:
                    raise SchemaError(
                        f"{path}: registry schema version {version} is older than this "
                        f"slotopt's {SCHEMA_VERSION}; open it once with create=True to migrate"
                    )
                cls._migrate(conn, path)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {synchronous}")
            conn.execute("PRAGMA foreign_keys = ON")
            # 64 MiB of page cache: a million-row registration touches the (batch, request_id)
            # index all over; the default 2 MiB makes it re-read pages.
            conn.execute("PRAGMA cache_size = -65536")
        except BaseException:
            conn.close()
            raise
        return conn

    @staticmethod
    def _read_version(conn: sqlite3.Connection, path: Path) -> int:
        try:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise SchemaError(f"{path}: not an SQLite registry file ({exc})") from None
        if version > SCHEMA_VERSION:
            raise SchemaError(
                f"{path}: registry schema version {version} was written by a newer slotopt; "
                f"this slotopt reads versions up to {SCHEMA_VERSION} — upgrade slotopt to open it"
            )
        if version == 0 and tables:
            raise SchemaError(f"{path}: an SQLite database that is not a slotopt registry")
        return version

    @staticmethod
    def _migrate(conn: sqlite3.Connection, path: Path) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-read under the lock: another process may have migrated meanwhile.
            version = Registry._read_version(conn, path)
            for target, description, statements in MIGRATIONS:
                if target <= version:
                    continue
                for stmt in statements:
                    conn.execute(stmt)
                conn.execute(
                    "INSERT INTO schema (version, applied_at, description) "
                    "VALUES (?, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), ?)",
                    (target, description),
                )
                conn.execute(f"PRAGMA user_version = {int(target)}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction that holds the lock from its first statement."""
        c = self._conn
        c.execute("BEGIN IMMEDIATE")
        try:
            yield c
        except BaseException:
            c.execute("ROLLBACK")
            raise
        c.execute("COMMIT")

    @property
    def connection(self) -> sqlite3.Connection:
        """The underlying connection (read-only use: audits, exports)."""
        return self._conn

    @property
    def schema_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    # ---------------------------------------------------------------- the chain
    @staticmethod
    def _head(c: sqlite3.Connection) -> ChainHead:
        row = c.execute(
            "SELECT seq, receipt_hash FROM requests ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        return ChainHead(0, GENESIS) if row is None else ChainHead(int(row[0]), str(row[1]))

    def chain_head(self) -> ChainHead:
        """The last receipt of the chain (publish it with every draw)."""
        return self._head(self._conn)

    # ---------------------------------------------------------------- registering
    def register_one(
        self,
        batch: str,
        request_id: str,
        identity_key_hash: str,
        registered_at: int,
        *,
        priority_tier: int = 1,
        carry_over: int = 0,
        slots: Sequence[tuple[str, int | None]] = (),
    ) -> Receipt:
        """Register one request in its own transaction (the live path) and return its receipt.

        ``slots`` are ``(slot_id, rank)`` pairs, ``rank`` None when unranked.
        """
        batch = _check_text(batch, "batch")
        what = f"register(batch {batch!r})"
        rid = _check_text(request_id, "request_id")
        ikh = str(identity_key_hash)
        if not _HEX64.match(ikh):
            raise UsageError(f"{what}: identity_key_hash {ikh!r} is not 64 lowercase hex digits")
        values = [int(registered_at), int(priority_tier), int(carry_over)]
        if values[1] < 0 or values[2] < 0:
            raise UsageError(f"{what}: priority_tier and carry_over must be >= 0")
        pairs = sorted((_check_text(s, "slot_id"), None if k is None else int(k)) for s, k in slots)
        if any(k is not None and k < 1 for _, k in pairs):
            raise UsageError(f"{what}: a rank must be >= 1 (or empty)")
        if len({s for s, _ in pairs}) != len(pairs):
            raise UsageError(f"{what}: request {rid!r} lists one slot twice")
        digest = request_digest(batch, rid, ikh, values[0], values[1], values[2], pairs)
        prepared = _Prepared(
            batch,
            [rid],
            [ikh],
            [values[0]],
            [values[1]],
            [values[2]],
            [digest],
            [_slots_json(pairs)],
        )
        seqs, hashes, prevs = self._append(prepared)
        return Receipt(seqs[0], batch, rid, ikh, values[0], digest, prevs[0], hashes[0])

    @without_gc
    def register(
        self, batch: str, requests: pd.DataFrame, request_slots: pd.DataFrame
    ) -> pd.DataFrame:
        """Register a batch's requests in one transaction; one receipt per request.

        Parameters
        ----------
        batch
            The batch the requests enter.
        requests
            ``request_id``, ``identity_key_hash`` (64 lowercase hex), ``registered_at``,
            ``priority_tier``, ``carry_over``.
        request_slots
            ``request_id``, ``slot_id``, ``rank`` (nullable): the acceptable slots.

        Returns
        -------
        DataFrame
            ``request_id``, ``receipt_hash``, ``prev_hash`` in the order of ``requests``.
            Requests registered before with the same content keep their receipts.

        Raises
        ------
        RegistryError
            A request of this batch was registered before with other content.
        UsageError
            Missing columns, duplicate request ids, bad hashes or values.
        """
        prepared = _prepare(_check_text(batch, "batch"), requests, request_slots)
        _, hashes, prevs = self._append(prepared)
        return pd.DataFrame(
            {"request_id": prepared.rid, "receipt_hash": hashes, "prev_hash": prevs},
            dtype=object,
        )

    def _append(self, p: _Prepared) -> tuple[list[int], list[str], list[str]]:
        """Append the prepared requests to the chain in one transaction (idempotent)."""
        what = f"register(batch {p.batch!r})"
        n = len(p.rid)
        with self._write() as c:
            stored = self._stored_receipts(c, p.batch, p.rid)
            head = self._head(c)
            if stored:
                seqs, hashes, prevs = [0] * n, [""] * n, [""] * n
                new = []
                for i, r in enumerate(p.rid):
                    old = stored.get(r)
                    if old is None:
                        new.append(i)
                        continue
                    if old.request_digest != p.digest[i]:
                        raise RegistryError(
                            f"{what}: request {r!r} was registered before (receipt {old.seq}) "
                            "with other content; a registered request cannot change"
                        )
                    seqs[i], hashes[i], prevs[i] = old.seq, old.receipt_hash, old.prev_hash
                fresh = p.subset(new)
            else:
                new, fresh = list(range(n)), p
            first = head.seq + 1
            chained = chain_hashes(
                first, head.receipt_hash, p.batch, fresh.rid, fresh.ikh, fresh.reg, fresh.digest
            )
            before = [head.receipt_hash, *chained[:-1]] if chained else []
            c.executemany(
                "INSERT INTO requests VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                zip(
                    range(first, first + len(new)),
                    itertools.repeat(p.batch),
                    fresh.rid,
                    fresh.ikh,
                    fresh.reg,
                    fresh.tier,
                    fresh.carry,
                    fresh.slots,
                    fresh.digest,
                    before,
                    chained,
                    strict=False,  # repeat() is endless; the other columns have len(new) rows
                ),
            )
        if not stored:
            return list(range(first, first + n)), chained, before
        for k, i in enumerate(new):
            seqs[i], hashes[i], prevs[i] = first + k, chained[k], before[k]
        return seqs, hashes, prevs

    @staticmethod
    def _stored_receipts(
        c: sqlite3.Connection, batch: str, rid: Sequence[str]
    ) -> dict[str, Receipt]:
        sql = (
            "SELECT seq, batch, request_id, identity_key_hash, registered_at, request_digest, "
            "prev_hash, receipt_hash FROM requests WHERE batch = ?"
        )
        if len(rid) == 1:
            rows = c.execute(sql + " AND request_id = ?", (batch, rid[0])).fetchall()
        else:
            rows = c.execute(sql, (batch,)).fetchall()
        return {str(row[2]): Receipt(*row) for row in rows}

    # ---------------------------------------------------------------- commitments and draws
    def finished(self) -> set[str]:
        """Batches whose draw is recorded."""
        return {str(r[0]) for r in self._conn.execute("SELECT batch FROM draws")}

    def commit(self, batch: str, commitment: str, public_randomness: str | None) -> None:
        """Store the commitment to ``batch``'s secret (and the announced public randomness).

        The same commitment again is a no-op; another one is refused (a draw always has one).
        The chain head at this moment is stored with it, which shows how many registrations
        preceded the commitment.
        """
        batch = _check_text(batch, "batch")
        com = str(commitment).strip().lower()
        if not _HEX64.match(com):
            raise UsageError(f"commitment {commitment!r} is not 64 hex digits (SHA-256)")
        with self._write() as c:
            row = c.execute(
                "SELECT commitment, public_randomness FROM commitments WHERE batch = ?", (batch,)
            ).fetchone()
            if row is not None:
                if (row[0], row[1]) != (com, public_randomness):
                    raise RegistryError(
                        f"batch {batch!r} already has commitment {row[0]}; a commitment is "
                        "published once and never replaced"
                    )
                return
            head = self._head(c)
            c.execute(
                "INSERT INTO commitments VALUES (?, ?, ?, ?, ?)",
                (batch, com, public_randomness, head.seq, head.receipt_hash),
            )

    @without_gc
    def record_draw(
        self,
        batch: str,
        *,
        mechanism: str,
        params: Mapping[str, Any],
        context: str,
        inputs: Mapping[str, pd.DataFrame],
        result: DrawResult,
        secret: bytes,
        public: bytes,
    ) -> None:
        """Store one draw — its exact inputs, result, revealed secret — in one transaction.

        Raises
        ------
        RegistryError
            No commitment for the batch; the secret does not match it; the result was not drawn
            with ``draw_seed(secret, public)``; or the batch was drawn before with another result.
        """
        batch = _check_text(batch, "batch")
        for key in ("requests", "request_slots", "slots"):
            if key not in inputs:
                raise UsageError(f"record_draw(batch {batch!r}): inputs lacks {key!r}")
        req, acc, sl = inputs["requests"], inputs["request_slots"], inputs["slots"]
        n = len(req)
        if len(result.slot_of_request) != n or len(result.lottery_position) != n:
            raise UsageError(
                f"record_draw(batch {batch!r}): the result has {len(result.slot_of_request)} "
                f"requests, the inputs {n}"
            )
        seed = draw_seed(bytes(secret), bytes(public))
        if int(result.seed) != seed:
            raise RegistryError(
                f"batch {batch!r}: the result was drawn with seed {result.seed}, not with "
                "draw_seed(secret, public); refusing a draw nobody could recompute"
            )
        alloc = self._draw_rows(batch, req, acc, sl, result)
        digest = allocation_digest(alloc)
        params_text = _params_json(params)
        with self._write() as c:
            row = c.execute(
                "SELECT mechanism, params, context, secret, public, result_digest FROM draws "
                "WHERE batch = ?",
                (batch,),
            ).fetchone()
            if row is not None:
                now = (mechanism, params_text, context, secret.hex(), public.hex(), digest)
                if tuple(row) != now:
                    raise RegistryError(
                        f"batch {batch!r} was drawn before with another result; a draw is final"
                    )
                return
            com = c.execute(
                "SELECT commitment FROM commitments WHERE batch = ?", (batch,)
            ).fetchone()
            if com is None:
                raise RegistryError(
                    f"batch {batch!r} has no commitment; publish one before the window closes"
                )
            if not reveal_matches(str(com[0]), bytes(secret)):
                raise RegistryError(
                    f"batch {batch!r}: the revealed secret does not match commitment {com[0]}"
                )
            head = self._head(c)
            c.execute(
                "INSERT INTO draws VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    batch,
                    mechanism,
                    params_text,
                    context,
                    secret.hex(),
                    public.hex(),
                    str(seed),
                    n,
                    len(sl),
                    int(result.n_allocated),
                    head.seq,
                    head.receipt_hash,
                    digest,
                ),
            )
            self._insert_slots(c, batch, sl)
            self._insert_draw_requests(c, alloc)

    @staticmethod
    def _draw_rows(
        batch: str, req: pd.DataFrame, acc: pd.DataFrame, sl: pd.DataFrame, result: DrawResult
    ) -> list[tuple[Any, ...]]:
        """One ``draw_requests`` row per request: its inputs and its outcome, by request id."""
        what = f"record_draw(batch {batch!r})"
        rid = _text_column(req["request_id"], what, "request_id")
        n = len(rid)
        docs = slots_json(_group_slots(rid, acc, what))
        slot_ids = np.array([*sl["slot_id"].astype(str).tolist(), None], dtype=object)
        wait = np.zeros(n, dtype=np.int64)
        wait[result.waitlist] = np.arange(1, len(result.waitlist) + 1)
        tickets = result.tickets if result.tickets is not None else np.ones(n, dtype=np.int64)
        # Rows by request id (code points), as SQL's ORDER BY request_id returns them.
        order = np.array(sorted(range(n), key=rid.__getitem__), dtype=np.int64)

        def ordered(values: Sequence[Any]) -> list[Any]:
            return np.asarray(values, dtype=object)[order].tolist() if n else []

        waiting = wait[order]
        return list(
            zip(
                itertools.repeat(batch, n),
                ordered(rid),
                _int_array(req, "priority_tier", what)[order].tolist(),
                _int_array(req, "carry_over", what)[order].tolist(),
                _int_array(req, "registered_at", what)[order].tolist(),
                ordered(docs),
                slot_ids[result.slot_of_request[order]].tolist(),
                result.lottery_position[order].tolist(),
                [w or None for w in waiting.tolist()],
                np.asarray(tickets, dtype=np.int64)[order].tolist(),
                strict=True,
            )
        )

    @staticmethod
    def _insert_slots(c: sqlite3.Connection, batch: str, sl: pd.DataFrame) -> None:
        what = f"record_draw(batch {batch!r})"
        c.executemany(
            "INSERT INTO draw_slots VALUES (?, ?, ?)",
            zip(
                [batch] * len(sl),
                sl["slot_id"].astype(str).tolist(),
                _int_list(sl, "capacity", what),
                strict=True,
            ),
        )

    @staticmethod
    def _insert_draw_requests(c: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
        c.executemany("INSERT INTO draw_requests VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    # ---------------------------------------------------------------- events
    def record_events(self, batch: str, events: pd.DataFrame) -> None:
        """Store what happened to a batch's allocations (confirmations, cancellations, no-shows).

        One row per (request, event); recording the same rows again is a no-op, a different
        slot or time for a stored (request, event) is refused.
        """
        batch = _check_text(batch, "batch")
        missing = [c for c in ("request_id", "event") if c not in events.columns]
        if missing:
            raise UsageError(f"record_events(batch {batch!r}): missing column(s) {missing}")
        n = len(events)
        rid = [_check_text(x, "request_id") for x in events["request_id"].tolist()]
        kind = [_check_text(x, "event") for x in events["event"].tolist()]
        slot = (
            [None if pd.isna(x) else str(x) for x in events["slot_id"].tolist()]
            if "slot_id" in events.columns
            else [None] * n
        )
        after = _nullable_ints(events["after"]) if "after" in events.columns else [None] * n
        with self._write() as c:
            stored = {
                (str(r[0]), str(r[1])): (r[2], r[3])
                for r in c.execute(
                    "SELECT request_id, event, slot_id, after FROM events WHERE batch = ?",
                    (batch,),
                )
            }
            new = []
            for i in range(n):
                key = (rid[i], kind[i])
                old = stored.get(key)
                if old is not None:
                    if old != (slot[i], after[i]):
                        raise RegistryError(
                            f"batch {batch!r}: event {kind[i]!r} of request {rid[i]!r} is "
                            f"recorded with slot/after {old}, not {(slot[i], after[i])}"
                        )
                    continue
                stored[key] = (slot[i], after[i])
                new.append((batch, rid[i], slot[i], kind[i], after[i]))
            c.executemany(
                "INSERT INTO events (batch, request_id, slot_id, event, after) "
                "VALUES (?, ?, ?, ?, ?)",
                new,
            )

    # ---------------------------------------------------------------- readers
    def _frame(self, sql: str, args: Iterable[Any] = ()) -> pd.DataFrame:
        cur = self._conn.execute(sql, tuple(args))
        cols = [d[0] for d in cur.description]
        rows = cur.fetchall()
        if not rows:
            return pd.DataFrame(rows, columns=cols)
        # Column by column: a million rows of tuples would go through pandas' row-wise path.
        columns = (list(c) for c in zip(*rows, strict=True))
        return pd.DataFrame(dict(zip(cols, columns, strict=True)))

    def batches(self) -> list[str]:
        """Every batch the registry knows, in the order of its first receipt or commitment."""
        rows = self._conn.execute(
            "SELECT batch, min(k) FROM ("
            " SELECT batch, min(seq) AS k FROM requests GROUP BY batch"
            " UNION ALL SELECT batch, chain_seq + 0.5 FROM commitments"
            ") GROUP BY batch ORDER BY min(k), batch"
        ).fetchall()
        return [str(r[0]) for r in rows]

    def receipts(self, batch: str | None = None) -> pd.DataFrame:
        """The receipt chain (of one batch, or all), in chain order."""
        if batch is None:
            return self._frame("SELECT * FROM receipts ORDER BY seq")
        return self._frame("SELECT * FROM receipts WHERE batch = ? ORDER BY seq", (batch,))

    @without_gc
    def registered(
        self, batch: str, *, columns: Sequence[str] = REGISTERED_COLUMNS
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """``(requests, request_slots)`` as registered in ``batch``, in chain order.

        ``columns`` of ``requests`` to read (``slots`` is read always and becomes
        ``request_slots``); an audit needs only the draw's inputs, not the identity hashes.
        """
        unknown = [c for c in columns if c not in REGISTERED_COLUMNS]
        if unknown or "request_id" not in columns:
            allowed = ", ".join(REGISTERED_COLUMNS)
            raise UsageError(
                f"registered(): columns must include request_id and be among {allowed}; "
                f"got {list(columns)}"
            )
        req = self._frame(
            f"SELECT {', '.join(columns)}, slots FROM requests WHERE batch = ? ORDER BY seq",
            (batch,),
        )
        if req.empty:
            req = pd.DataFrame(columns=[*columns, "slots"])
        acc = _slot_frame(req["request_id"].tolist(), req.pop("slots").tolist())
        return req, acc

    def commitment(self, batch: str) -> dict[str, Any] | None:
        row = self._frame("SELECT * FROM commitments WHERE batch = ?", (batch,))
        return None if row.empty else row.iloc[0].to_dict()

    def draw(self, batch: str) -> dict[str, Any] | None:
        """The ``draws`` row of ``batch`` (secret and public as bytes, seed as int)."""
        row = self._frame("SELECT * FROM draws WHERE batch = ?", (batch,))
        if row.empty:
            return None
        d = row.iloc[0].to_dict()
        d["secret"] = bytes.fromhex(d["secret"])
        d["public"] = bytes.fromhex(d["public"])
        d["seed"] = int(d["seed"])
        d["params"] = json.loads(d["params"])
        return d

    @without_gc
    def draw_inputs(self, batch: str) -> dict[str, pd.DataFrame]:
        """The exact inputs of ``batch``'s draw: ``requests``, ``request_slots``, ``slots``."""
        req = self._frame(
            "SELECT request_id, priority_tier, carry_over, registered_at, slots "
            "FROM draw_requests WHERE batch = ? ORDER BY request_id",
            (batch,),
        )
        acc = _slot_frame(req["request_id"].tolist(), req.pop("slots").tolist())
        sl = self._frame(
            "SELECT slot_id, capacity FROM draw_slots WHERE batch = ? ORDER BY slot_id", (batch,)
        )
        return {"requests": req, "request_slots": acc, "slots": sl}

    def allocations(self, batch: str) -> pd.DataFrame:
        """``request_id``, ``slot_id`` (None when not allocated), ``lottery_position``,
        ``waitlist_position``, ``tickets``, by lottery position."""
        return self._frame(
            "SELECT request_id, slot_id, lottery_position, waitlist_position, tickets "
            "FROM draw_requests WHERE batch = ? ORDER BY lottery_position",
            (batch,),
        )

    def _draw_frames(self, batch: str) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
        """:meth:`draw_inputs` and :meth:`allocations` from one read of ``draw_requests``."""
        rows = self._conn.execute(
            "SELECT request_id, priority_tier, carry_over, registered_at, slots, slot_id, "
            "lottery_position, waitlist_position, tickets "
            "FROM draw_requests WHERE batch = ? ORDER BY request_id",
            (batch,),
        ).fetchall()
        if not rows:
            return self.draw_inputs(batch), self.allocations(batch)
        cols = [list(c) for c in zip(*rows, strict=True)]
        del rows
        first = ["request_id", "priority_tier", "carry_over", "registered_at"]
        req = pd.DataFrame(dict(zip(first, cols[:4], strict=True)))
        sl = self._frame(
            "SELECT slot_id, capacity FROM draw_slots WHERE batch = ? ORDER BY slot_id", (batch,)
        )
        inputs = {"requests": req, "request_slots": _slot_frame(cols[0], cols[4]), "slots": sl}
        by_position = np.argsort(np.asarray(cols[6], dtype=np.int64), kind="stable")
        names = ["request_id", "slot_id", "lottery_position", "waitlist_position", "tickets"]
        picked = [cols[0], *cols[5:]]
        allocation = pd.DataFrame(
            {
                name: np.asarray(values, dtype=object)[by_position].tolist()
                for name, values in zip(names, picked, strict=True)
            }
        )
        return inputs, allocation

    @without_gc
    def published_draw(self, batch: str) -> PublishedDraw:
        """What an auditor needs to recompute ``batch``'s draw, with its registrations.

        Raises
        ------
        UsageError
            The batch has not been drawn (the message lists those that have).
        """
        from slotopt.verify.audit import PublishedDraw  # scipy is slow to import; audits only

        d = self.draw(batch)
        if d is None:
            drawn = sorted(self.finished())
            raise UsageError(
                f"batch {batch!r} has no recorded draw in {self.path}; drawn batches: "
                f"{', '.join(drawn) or 'none'}"
            )
        com = self.commitment(batch)
        inputs, allocation = self._draw_frames(batch)
        registered, registered_slots = self.registered(batch, columns=AUDITED_COLUMNS)
        return PublishedDraw(
            batch=batch,
            mechanism=str(d["mechanism"]),
            params=d["params"],
            context=str(d["context"]),
            commitment=None if com is None else str(com["commitment"]),
            secret=d["secret"],
            public=d["public"],
            seed=d["seed"],
            requests=inputs["requests"],
            request_slots=inputs["request_slots"],
            slots=inputs["slots"],
            allocation=allocation,
            registered=registered,
            registered_slots=registered_slots,
            source=str(self.path),
        )

    def events(self, batch: str | None = None) -> pd.DataFrame:
        if batch is None:
            return self._frame("SELECT * FROM events ORDER BY seq")
        return self._frame("SELECT * FROM events WHERE batch = ? ORDER BY seq", (batch,))


@dataclass(frozen=True)
class _Prepared:
    """Validated requests of one registration call: digests computed, and each request's
    acceptable slots as the JSON stored in ``requests.slots``."""

    batch: str
    rid: list[str]
    ikh: list[str]
    reg: list[int]
    tier: list[int]
    carry: list[int]
    digest: list[str]
    slots: list[str]

    def subset(self, keep: list[int]) -> _Prepared:
        """The requests at positions ``keep``, in that order."""

        def pick(values: list[Any]) -> list[Any]:
            return [values[i] for i in keep]

        return _Prepared(
            self.batch,
            pick(self.rid),
            pick(self.ikh),
            pick(self.reg),
            pick(self.tier),
            pick(self.carry),
            pick(self.digest),
            pick(self.slots),
        )


def _text_column(s: pd.Series, what: str, col: str) -> list[str]:
    text = s.astype(str).tolist()
    if text and (min(map(len, text)) == 0 or "\0" in "".join(text)):
        first = next(i for i, t in enumerate(text) if not t or "\0" in t)
        raise UsageError(
            f"{what}: {col} {s.iloc[first]!r} must be a non-empty string without NUL characters"
        )
    return text


def _nullable_ints(s: pd.Series) -> list[int | None]:
    arr = pd.array(s, dtype="Int64")
    values = arr.to_numpy(dtype=np.int64, na_value=0).tolist()
    return [None if m else v for v, m in zip(values, arr.isna().tolist(), strict=True)]


def _ranks(request_slots: pd.DataFrame, what: str) -> np.ndarray:
    """The ``rank`` column as int64, -1 where unranked (or no column); a rank below 1 is refused."""
    if "rank" not in request_slots.columns:
        return np.full(len(request_slots), -1, dtype=np.int64)
    arr = pd.array(request_slots["rank"], dtype="Int64")
    missing = arr.isna()
    values = arr.to_numpy(dtype=np.int64, na_value=-1)
    if bool((values[~missing] < 1).any()):
        raise UsageError(f"{what}: a rank must be >= 1 (or empty)")
    return values


_HEX_DIGITS = b"0123456789abcdef"


def _check_hashes(values: list[str], what: str) -> None:
    """Every value is 64 lowercase hex digits (checked on the joined text, then located)."""
    joined = "".join(values)
    if (
        len(joined) == 64 * len(values)
        and joined.isascii()
        and not joined.encode().translate(None, _HEX_DIGITS)
        and all(len(v) == 64 for v in values)
    ):
        return
    bad = next(v for v in values if not _HEX64.match(v) or len(v) != 64)
    raise UsageError(f"{what}: identity_key_hash {bad!r} is not 64 lowercase hex digits")


def _prepare(batch: str, requests: pd.DataFrame, request_slots: pd.DataFrame) -> _Prepared:
    what = f"register(batch {batch!r})"
    need = ["request_id", "identity_key_hash", "registered_at", "priority_tier", "carry_over"]
    missing = [c for c in need if c not in requests.columns]
    missing += [
        f"request_slots.{c}" for c in ("request_id", "slot_id") if c not in request_slots.columns
    ]
    if missing:
        raise UsageError(f"{what}: missing column(s) {', '.join(missing)}")
    rid = _text_column(requests["request_id"], what, "request_id")
    if len(set(rid)) != len(rid):
        rid_s = pd.Series(rid, dtype=object)
        raise UsageError(f"{what}: request_id {rid_s[rid_s.duplicated()].iloc[0]!r} appears twice")
    ikh = requests["identity_key_hash"].astype(str).tolist()
    _check_hashes(ikh, what)
    reg = _int_list(requests, "registered_at", what)
    tier = _int_list(requests, "priority_tier", what)
    carry = _int_list(requests, "carry_over", what)
    if min(tier, default=0) < 0 or min(carry, default=0) < 0:
        raise UsageError(f"{what}: priority_tier and carry_over must be >= 0")
    grouped = _group_slots(rid, request_slots, what)
    digest = request_digests(batch, rid, ikh, reg, tier, carry, digest_tails(grouped))
    return _Prepared(batch, rid, ikh, reg, tier, carry, digest, slots_json(grouped))


def _group_slots(rid: list[str], request_slots: pd.DataFrame, what: str) -> GroupedSlots:
    """The acceptable slots of requests ``rid``, validated and in stored order."""
    acc_code = locate(
        object_array(request_slots["request_id"].astype(str)), np.asarray(rid, dtype=object)
    )
    if (acc_code < 0).any():
        stray = request_slots["request_id"].iloc[int(np.flatnonzero(acc_code < 0)[0])]
        raise UsageError(f"{what}: request_slots names request {stray!r}, not in requests")
    sid = _text_column(request_slots["slot_id"], what, "slot_id")
    g = group_slots(len(rid), acc_code, np.asarray(sid, dtype=object), _ranks(request_slots, what))
    owner = np.repeat(np.arange(len(rid), dtype=np.int64), np.diff(g.indptr))
    twice = np.flatnonzero((owner[1:] == owner[:-1]) & (g.slot_code[1:] == g.slot_code[:-1]))
    if len(twice):
        k = int(g.order[twice[0]])
        raise UsageError(f"{what}: request {rid[acc_code[k]]!r} lists slot {sid[k]!r} twice")
    return g


def _slots_json(pairs: Sequence[tuple[str, int | None]]) -> str:
    """The stored JSON of sorted ``(slot_id, rank)`` pairs (same text as :func:`slots_json`)."""
    return "[" + ",".join(f"[{json.dumps(s)},{'null' if k is None else k}]" for s, k in pairs) + "]"


def _slot_frame(rid: list[str], slots: list[str]) -> pd.DataFrame:
    """``request_id``, ``slot_id``, ``rank`` (nullable) from stored ``slots`` columns."""
    if len(rid) != len(slots):
        raise ValueError(f"{len(rid)} request ids for {len(slots)} slots columns")
    counts, sid, rank = parse_slot_texts(slots)
    ranks = np.array(rank, dtype=object)
    unranked = np.array([k is None for k in rank], dtype=bool)
    values = np.where(unranked, 0, ranks).astype(np.int64) if len(ranks) else np.zeros(0, np.int64)
    return pd.DataFrame(
        {
            "request_id": pd.Series(np.repeat(np.array(rid, dtype=object), counts), dtype=object),
            "slot_id": pd.Series(np.array(sid, dtype=object), dtype=object),
            "rank": pd.arrays.IntegerArray(values, unranked.astype(bool)),
        }
    )
