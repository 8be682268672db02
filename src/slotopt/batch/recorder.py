"""What the rolling batch run tells the outside world, and an in-memory implementation.

:func:`slotopt.batch.run` calls a :class:`Recorder` for each batch, in order:

1. ``finished()`` once, before the first batch: batches already drawn are skipped (a re-run
   after a crash resumes; their results are recomputed from the instance, never re-recorded);
2. ``register(batch, requests, request_slots)``: the batch's de-duplicated requests, returning
   one receipt per request;
3. ``commit(batch, commitment, public_randomness)``: the commitment to the batch's secret,
   published before the draw;
4. ``record_draw(batch, ...)``: the draw's exact inputs, its result, the revealed secret and the
   public randomness (one transaction in a registry);
5. ``record_events(batch, events)``: what happened to the batch's allocations afterwards
   (confirmations, cancellations by applicant or provider, no-shows, expiry of unconfirmed
   offers).

Frames passed in (columns, in this order):

``requests``
    ``request_id`` (string), ``identity_key_hash`` (hex SHA-256 of the normalised identity key,
    :func:`slotopt.engines.batch.identity.identity_key_hash`), ``registered_at`` (int64),
    ``priority_tier`` (int64), ``carry_over`` (int64).
``request_slots``
    ``request_id``, ``slot_id``, ``rank`` (nullable Int64): the acceptable slots of the batch
    (the second argument of ``register``, not ``DataFrame.attrs``).
``inputs`` of ``record_draw``
    ``{"requests": ..., "request_slots": ..., "slots": ...}``, exactly
    :func:`slotopt.engines.batch.requests_to_frames` of the draw's inputs, so
    :func:`slotopt.engines.batch.requests_from_frames` rebuilds them.
``events``
    ``request_id``, ``slot_id``, ``event`` (``"confirmed"``, ``"unconfirmed"``,
    ``"cancelled_by_applicant"``, ``"cancelled_by_provider"``, ``"no_show"``), ``after``
    (seconds after the draw, int64; NA for ``"unconfirmed"``).
``register``'s return value
    ``request_id``, ``receipt_hash``, ``prev_hash`` (the receipt chain).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

import pandas as pd

from slotopt.engines.batch.types import DrawResult

__all__ = ["EVENTS", "MemoryRecorder", "Outcome", "Recorder"]


class Outcome(StrEnum):
    """What became of one request in one draw (the ``outcome`` column of ``draws.csv``)."""

    SERVED = "served"
    UNCONFIRMED = "unconfirmed"
    CANCELLED_BY_APPLICANT = "cancelled_by_applicant"
    CANCELLED_BY_PROVIDER = "cancelled_by_provider"
    NO_SHOW = "no_show"
    NOT_ALLOCATED = "not_allocated"


EVENTS: tuple[str, ...] = (
    "confirmed",
    "unconfirmed",
    "cancelled_by_applicant",
    "cancelled_by_provider",
    "no_show",
)


@runtime_checkable
class Recorder(Protocol):
    """Where a rolling run publishes registrations, commitments, draws and events."""

    def finished(self) -> set[str]: ...

    def register(
        self, batch: str, requests: pd.DataFrame, request_slots: pd.DataFrame
    ) -> pd.DataFrame: ...

    def commit(self, batch: str, commitment: str, public_randomness: str | None) -> None: ...

    def record_draw(
        self,
        batch: str,
        *,
        mechanism: str,
        params: dict[str, Any],
        context: str,
        inputs: dict[str, pd.DataFrame],
        result: DrawResult,
        secret: bytes,
        public: bytes,
    ) -> None: ...

    def record_events(self, batch: str, events: pd.DataFrame) -> None: ...


@dataclass
class MemoryRecorder:
    """A :class:`Recorder` that keeps everything in dictionaries (tests, notebooks).

    Receipts here are a plain SHA-256 chain over ``batch``, ``request_id``,
    ``identity_key_hash`` and ``registered_at``; the registry's receipts are the real ones.
    ``calls`` lists ``(method, batch)`` in call order.
    """

    done: set[str] = field(default_factory=set)
    registered: dict[str, tuple[pd.DataFrame, pd.DataFrame]] = field(default_factory=dict)
    commitments: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    draws: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: dict[str, pd.DataFrame] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    _head: str = "0" * 64

    def finished(self) -> set[str]:
        return set(self.done)

    def register(
        self, batch: str, requests: pd.DataFrame, request_slots: pd.DataFrame
    ) -> pd.DataFrame:
        self.calls.append(("register", batch))
        self.registered[batch] = (requests.copy(), request_slots.copy())
        rows = []
        for rid, key, at in zip(
            requests["request_id"],
            requests["identity_key_hash"],
            requests["registered_at"],
            strict=True,
        ):
            prev = self._head
            text = f"{prev}\0{batch}\0{rid}\0{key}\0{int(at)}".encode()
            self._head = hashlib.sha256(text).hexdigest()
            rows.append((rid, self._head, prev))
        return pd.DataFrame(rows, columns=["request_id", "receipt_hash", "prev_hash"])

    def commit(self, batch: str, commitment: str, public_randomness: str | None) -> None:
        self.calls.append(("commit", batch))
        self.commitments[batch] = (commitment, public_randomness)

    def record_draw(
        self,
        batch: str,
        *,
        mechanism: str,
        params: dict[str, Any],
        context: str,
        inputs: dict[str, pd.DataFrame],
        result: DrawResult,
        secret: bytes,
        public: bytes,
    ) -> None:
        self.calls.append(("record_draw", batch))
        self.draws[batch] = {
            "mechanism": mechanism,
            "params": dict(params),
            "context": context,
            "inputs": {k: v.copy() for k, v in inputs.items()},
            "result": result,
            "secret": bytes(secret),
            "public": bytes(public),
        }
        self.done.add(batch)

    def record_events(self, batch: str, events: pd.DataFrame) -> None:
        self.calls.append(("record_events", batch))
        self.events[batch] = events.copy()
