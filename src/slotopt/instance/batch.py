"""The ``kind: "batch"`` instance: request windows, slot releases, registrations and what
applicants do after a draw (docs/instance-format.md, section "kind: batch").

Files: ``instance.json`` (policy), ``periods.csv`` (request windows), ``slots.csv`` (slots released
per period), ``requests.csv`` (registrations with identity fields), ``request_slots.csv`` (the
(site, slot_type) kinds of slot each request accepts, optionally ranked) and, optionally,
``events.csv`` (confirmations, cancellations, no-shows). :func:`batch_from_frames` is the single
validator; every problem is collected and names file, 1-based row and column.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from slotopt.instance._tables import (
    Problems,
    check_ids,
    check_unique,
    integer_column,
    read_table,
    sha256_of,
)
from slotopt.instance.provenance import HasProvenance, Provenance

__all__ = [
    "EVENT_KINDS",
    "MECHANISMS",
    "UNCONFIRMED",
    "WEIGHT_RULES",
    "BatchInstance",
    "batch_from_frames",
    "check_params",
    "load_batch",
]

#: The draw mechanisms (slotopt.engines.batch.mechanisms documents each).
MECHANISMS: tuple[str, ...] = ("uniform", "serial_dictatorship", "priority", "weighted", "fcfs")
WEIGHT_RULES: tuple[str, ...] = ("constant", "linear", "doubling")
#: Most tickets one request may hold (slotopt.engines.lottery.MAX_TICKETS).
MAX_TICKETS = 2**20
DEFAULT_CAP = 2**10
#: Where an offer nobody confirmed goes: into the next batch (the brief's rule) or to the
#: batch's waitlist.
UNCONFIRMED: tuple[str, ...] = ("next_batch", "waitlist")
EVENT_KINDS: tuple[str, ...] = ("confirm", "cancel", "provider_cancel", "no_show")
PERIODS, SLOTS, REQUESTS, REQUEST_SLOTS, EVENTS = (
    "periods",
    "slots",
    "requests",
    "request_slots",
    "events",
)
REQUIRED: dict[str, tuple[str, ...]] = {
    PERIODS: ("period_id", "opens_at", "closes_at"),
    SLOTS: ("slot_id", "period_id", "capacity", "site", "slot_type"),
    REQUESTS: ("request_id", "registered_at", "document_number", "date_of_birth"),
    REQUEST_SLOTS: ("request_id", "site", "slot_type"),
    EVENTS: ("request_id", "event"),
}
KNOWN_KEYS = {
    "kind",
    "name",
    "seed",
    "mechanism",
    "params",
    "carry_over",
    "confirmation_window",
    "unconfirmed",
    "no_show_bar",
    "provider_cancel_priority",
}


def check_params(mechanism: str, params: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A mechanism's parameters with defaults filled in, and the problems found (messages)."""
    if mechanism not in MECHANISMS:
        return {}, [f"mechanism must be one of {', '.join(MECHANISMS)}, got {mechanism!r}"]
    defaults: dict[str, Any] = (
        {"rule": "linear", "cap": DEFAULT_CAP} if mechanism == "weighted" else {}
    )
    problems = []
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        allowed = ", ".join(defaults) or "none"
        problems.append(
            f"mechanism {mechanism!r} takes no parameter {', '.join(map(str, unknown))} "
            f"(accepted: {allowed})"
        )
    used = defaults | {k: v for k, v in params.items() if k in defaults}
    if mechanism == "weighted":
        if used["rule"] not in WEIGHT_RULES:
            problems.append(
                f"weighted rule must be one of {', '.join(WEIGHT_RULES)}, got {used['rule']!r}"
            )
        cap = used["cap"]
        if (
            isinstance(cap, bool)
            or not isinstance(cap, int | np.integer)
            or not 1 <= int(cap) <= MAX_TICKETS
        ):
            problems.append(f"weighted cap is an integer from 1 to {MAX_TICKETS}, got {cap!r}")
        else:
            used["cap"] = int(cap)
    return used, problems


@dataclass(frozen=True, eq=False)
class BatchInstance(HasProvenance):
    """A validated batch instance. Build it with :func:`batch_from_frames` or
    :func:`slotopt.load_instance`.

    Attributes
    ----------
    periods : DataFrame
        ``period_id``, ``opens_at``, ``closes_at`` (int64), optional ``public_randomness``;
        sorted by ``opens_at``.
    slots : DataFrame
        ``slot_id``, ``period_id`` (released in), ``capacity``, ``site``, ``slot_type``,
        ``usable_until`` (a period id, NA = until the last period).
    requests : DataFrame
        ``request_id``, ``registered_at``, ``document_number``, ``date_of_birth``,
        ``priority_tier`` (default 1), ``group`` (NA when absent), ``row`` (1-based file row).
    request_slots : DataFrame
        ``request_id``, ``site``, ``slot_type``, ``rank`` (nullable Int64).
    events : DataFrame
        ``request_id``, ``event`` (one of :data:`EVENT_KINDS`), ``after`` (nullable Int64 seconds
        after the draw that allocated the slot).
    mechanism, params, carry_over, confirmation_window, unconfirmed, no_show_bar,
    provider_cancel_priority
        The policy from ``instance.json``.
    """

    name: str
    periods: pd.DataFrame
    slots: pd.DataFrame
    requests: pd.DataFrame
    request_slots: pd.DataFrame
    events: pd.DataFrame
    mechanism: str = "uniform"
    params: Mapping[str, Any] = field(default_factory=dict)
    carry_over: bool = False
    confirmation_window: int | None = None
    unconfirmed: str = "next_batch"
    no_show_bar: int = 0
    provider_cancel_priority: bool = True
    provenance: Provenance = field(default_factory=Provenance)

    kind = "batch"

    @property
    def period_ids(self) -> list[str]:
        return [str(p) for p in self.periods["period_id"]]

    def describe(self) -> str:
        return (
            f"batch instance {self.name!r}: {len(self.periods)} periods, "
            f"{int(self.slots['capacity'].sum())} appointments released, "
            f"{len(self.requests)} requests, mechanism {self.mechanism}"
        )


def _policy(spec: Mapping[str, Any], problems: Problems) -> dict[str, Any]:
    out: dict[str, Any] = {}

    def where(key: str) -> str:
        return f"instance.json, key {key}"

    seed = spec.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        problems.add(where("seed"), f"expected a non-negative integer, got {seed!r}")
    out["seed"] = seed
    mechanism = spec.get("mechanism", "uniform")
    params = spec.get("params", {})
    if not isinstance(params, dict):
        problems.add(where("params"), f"expected a JSON object, got {params!r}")
        params = {}
    used, msgs = check_params(str(mechanism), params)
    for m in msgs:
        problems.add(where("mechanism" if m.startswith("mechanism must") else "params"), m)
    out["mechanism"], out["params"] = str(mechanism), used
    for key, default in (("carry_over", False), ("provider_cancel_priority", True)):
        v = spec.get(key, default)
        if not isinstance(v, bool):
            problems.add(where(key), f"expected true or false, got {v!r}")
            v = default
        out[key] = v
    window = spec.get("confirmation_window")
    if window is not None and (
        isinstance(window, bool) or not isinstance(window, int) or window < 0
    ):
        problems.add(
            where("confirmation_window"),
            f"expected null (no confirmation needed) or an integer >= 0 (seconds), got {window!r}",
        )
        window = None
    out["confirmation_window"] = window
    unconfirmed = spec.get("unconfirmed", "next_batch")
    if unconfirmed not in UNCONFIRMED:
        problems.add(
            where("unconfirmed"), f"expected one of {', '.join(UNCONFIRMED)}, got {unconfirmed!r}"
        )
        unconfirmed = "next_batch"
    out["unconfirmed"] = unconfirmed
    bar = spec.get("no_show_bar", 0)
    if isinstance(bar, bool) or not isinstance(bar, int) or bar < 0:
        problems.add(where("no_show_bar"), f"expected an integer >= 0 (periods), got {bar!r}")
        bar = 0
    out["no_show_bar"] = bar
    return out


def _strings(df: pd.DataFrame, cols: tuple[str, ...]) -> None:
    for c in cols:
        if c in df.columns:
            df[c] = df[c].astype("string").str.strip()


def _require_strings(df: pd.DataFrame, file: str, cols: tuple[str, ...], p: Problems) -> None:
    for c in cols:
        bad = (df[c].isna() | (df[c] == "")).to_numpy(dtype=bool)
        p.extend_rows(file, c, np.flatnonzero(bad), "expected a non-empty value")


def _refs(
    df: pd.DataFrame, file: str, col: str, known: pd.Index, target: str, p: Problems
) -> np.ndarray:
    code = known.get_indexer(df[col])
    present = df[col].notna().to_numpy(dtype=bool)
    p.extend_rows(
        file, col, np.flatnonzero((code < 0) & present), f"not a {col} listed in {target}"
    )
    return code


def _dates(df: pd.DataFrame, file: str, col: str, p: Problems) -> None:
    bad = []
    for i, v in enumerate(df[col].tolist()):
        try:
            if v is pd.NA or v is None or len(str(v)) != 10:
                raise ValueError
            dt.date.fromisoformat(str(v))
        except ValueError:
            bad.append(i)
    p.extend_rows(file, col, bad, "expected a date as YYYY-MM-DD")


def batch_from_frames(
    spec: Mapping[str, Any],
    periods: pd.DataFrame,
    slots: pd.DataFrame,
    requests: pd.DataFrame,
    request_slots: pd.DataFrame,
    events: pd.DataFrame | None = None,
    *,
    source: Path | None = None,
    input_sha256: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
) -> BatchInstance:
    """Validate a batch instance given as ``instance.json``'s object and five tables.

    Raises
    ------
    InstanceError
        Every problem (first 20 shown), each naming file, 1-based data row and column (or the
        JSON key) and what was expected.
    """
    names = {k: f"{k}.csv" for k in (PERIODS, SLOTS, REQUESTS, REQUEST_SLOTS, EVENTS)}
    names |= dict(labels or {})
    fpe, fsl, frq, frs, fev = (names[k] for k in (PERIODS, SLOTS, REQUESTS, REQUEST_SLOTS, EVENTS))
    p = Problems()
    policy = _policy(spec, p)
    name = spec.get("name", source.name if source is not None else "unnamed")
    if not isinstance(name, str) or not name.strip():
        p.add("instance.json, key name", f"expected a non-empty string, got {name!r}")
        name = "unnamed"
    if events is None:
        events = pd.DataFrame({"request_id": [], "event": [], "after": []})
    frames = {fpe: periods, fsl: slots, frq: requests, frs: request_slots, fev: events}
    for stem, label in (
        (PERIODS, fpe),
        (SLOTS, fsl),
        (REQUESTS, frq),
        (REQUEST_SLOTS, frs),
        (EVENTS, fev),
    ):
        missing = [c for c in REQUIRED[stem] if c not in frames[label].columns]
        if missing:
            p.add(label, f"missing column(s) {', '.join(missing)}")
    p.raise_if_any()
    pe, sl, rq, rs, ev = (frames[k].reset_index(drop=True).copy() for k in frames)

    # periods: unique ids, integer windows, opens < closes, windows in order, no overlap
    check_ids(pe, fpe, "period_id", p)
    check_unique(pe, fpe, "period_id", p)
    _strings(pe, ("public_randomness",))
    opens = integer_column(pe, fpe, "opens_at", p, what="an integer time")
    closes = integer_column(pe, fpe, "closes_at", p, what="an integer time")
    if opens is not None and closes is not None:
        p.extend_rows(
            fpe, "closes_at", np.flatnonzero(closes <= opens), "expected a time after opens_at"
        )
        order = np.argsort(opens, kind="stable")
        prev_close = None
        for i in order.tolist():
            if prev_close is not None and opens[i] < prev_close:
                p.add(
                    f"{fpe} row {i + 1}, column opens_at",
                    "request windows may not overlap (opens before the previous window closes)",
                )
            prev_close = closes[i]
        pe["opens_at"], pe["closes_at"] = opens, closes
    if len(pe) == 0:
        p.add(fpe, "expected at least one period")

    # slots
    _strings(sl, ("slot_id", "period_id", "site", "slot_type", "usable_until"))
    check_ids(sl, fsl, "slot_id", p)
    check_unique(sl, fsl, "slot_id", p)
    _require_strings(sl, fsl, ("period_id", "site", "slot_type"), p)
    cap = integer_column(sl, fsl, "capacity", p, minimum=0, what="an integer >= 0")
    pidx = pd.Index(pe["period_id"])
    released = _refs(sl, fsl, "period_id", pidx, fpe, p) if pidx.is_unique else None
    if "usable_until" not in sl.columns:
        sl["usable_until"] = pd.array([pd.NA] * len(sl), dtype="string")
    until = _refs(sl, fsl, "usable_until", pidx, fpe, p) if pidx.is_unique else None
    if cap is not None:
        sl["capacity"] = cap

    # requests
    _strings(rq, ("request_id", "document_number", "date_of_birth", "group"))
    check_ids(rq, frq, "request_id", p)
    check_unique(rq, frq, "request_id", p)
    _require_strings(rq, frq, ("document_number", "date_of_birth"), p)
    _dates(rq, frq, "date_of_birth", p)
    reg = integer_column(rq, frq, "registered_at", p, what="an integer time")
    if "priority_tier" in rq.columns:
        tier = integer_column(
            rq,
            frq,
            "priority_tier",
            p,
            minimum=1,
            what="an integer >= 1 (1 = served first; 0 is kept for provider cancellations)",
            allow_missing=True,
        )
        if tier is not None:
            rq["priority_tier"] = np.where(tier < 0, 1, tier).astype(np.int64)
    else:
        rq["priority_tier"] = np.ones(len(rq), dtype=np.int64)
    if "group" not in rq.columns:
        rq["group"] = pd.array([pd.NA] * len(rq), dtype="string")
    if reg is not None:
        rq["registered_at"] = reg
    rq["row"] = np.arange(1, len(rq) + 1, dtype=np.int64)

    # request_slots: known request, known (site, slot_type), listed once, rank >= 1
    _strings(rs, ("request_id", "site", "slot_type"))
    check_ids(rs, frs, "request_id", p)
    _require_strings(rs, frs, ("site", "slot_type"), p)
    ridx = pd.Index(rq["request_id"])
    r_code = _refs(rs, frs, "request_id", ridx, frq, p) if ridx.is_unique else None
    kinds = set(zip(sl["site"].tolist(), sl["slot_type"].tolist(), strict=True))
    for i, (s, t) in enumerate(zip(rs["site"].tolist(), rs["slot_type"].tolist(), strict=True)):
        if s is not pd.NA and t is not pd.NA and (s, t) not in kinds:
            p.add(
                f"{frs} row {i + 1}, column slot_type",
                f"no slot of {fsl} has site {s!r} and slot_type {t!r}",
            )
    dup = rs.duplicated(["request_id", "site", "slot_type"]).to_numpy(dtype=bool)
    p.extend_rows(frs, "slot_type", np.flatnonzero(dup), "this request already lists this kind")
    if "rank" in rs.columns:
        rank = integer_column(
            rs,
            frs,
            "rank",
            p,
            minimum=1,
            what="an integer >= 1 (1 = most preferred) or empty",
            allow_missing=True,
        )
        if rank is not None:
            rs["rank"] = pd.arrays.IntegerArray(rank, rank < 0)
    else:
        rs["rank"] = pd.array([pd.NA] * len(rs), dtype="Int64")
    if r_code is not None:
        listed = np.zeros(len(rq), dtype=bool)
        listed[r_code[r_code >= 0]] = True
        p.extend_rows(
            frq,
            "request_id",
            np.flatnonzero(~listed),
            f"this request accepts no slot (list at least one site and slot_type in {frs})",
        )

    # events
    _strings(ev, ("request_id", "event"))
    check_ids(ev, fev, "request_id", p)
    if ridx.is_unique:
        _refs(ev, fev, "request_id", ridx, frq, p)
    bad_kind = ~ev["event"].isin(list(EVENT_KINDS)).to_numpy(dtype=bool)
    p.extend_rows(
        fev, "event", np.flatnonzero(bad_kind), f"expected one of {', '.join(EVENT_KINDS)}"
    )
    if "after" in ev.columns:
        after = integer_column(
            ev,
            fev,
            "after",
            p,
            minimum=0,
            what="an integer >= 0 (seconds after the draw)",
            allow_missing=True,
        )
        if after is not None:
            needs = ev["event"].isin(["confirm", "cancel", "provider_cancel"]).to_numpy(dtype=bool)
            p.extend_rows(
                fev,
                "after",
                np.flatnonzero(needs & (after < 0)),
                "expected the seconds after the draw (required for confirm and cancellations)",
            )
            ev["after"] = pd.arrays.IntegerArray(after, after < 0)
    else:
        needs = ev["event"].isin(["confirm", "cancel", "provider_cancel"]).to_numpy(dtype=bool)
        if needs.any():
            p.add(fev, "missing column after (required for confirm and cancellations)")
        ev["after"] = pd.array([pd.NA] * len(ev), dtype="Int64")
    dup_ev = ev.duplicated(["request_id", "event"]).to_numpy(dtype=bool)
    p.extend_rows(fev, "event", np.flatnonzero(dup_ev), "this request already has this event")
    p_order = np.argsort(pe["opens_at"].to_numpy(), kind="stable")
    if released is not None and until is not None and opens is not None:
        rank_of_period = np.empty(len(pe), dtype=np.int64)
        rank_of_period[p_order] = np.arange(len(pe))
        ok = (released >= 0) & (until >= 0)
        late = np.zeros(len(sl), dtype=bool)
        late[ok] = rank_of_period[until[ok]] < rank_of_period[released[ok]]
        p.extend_rows(
            fsl,
            "usable_until",
            np.flatnonzero(late),
            "expected a period at or after the slot's release period",
        )
    p.raise_if_any()
    pe = pe.iloc[p_order].reset_index(drop=True)
    return BatchInstance(
        name=name,
        periods=pe,
        slots=sl,
        requests=rq,
        request_slots=rs[["request_id", "site", "slot_type", "rank"]],
        events=ev[["request_id", "event", "after"]],
        mechanism=policy["mechanism"],
        params=policy["params"],
        carry_over=policy["carry_over"],
        confirmation_window=policy["confirmation_window"],
        unconfirmed=policy["unconfirmed"],
        no_show_bar=policy["no_show_bar"],
        provider_cancel_priority=policy["provider_cancel_priority"],
        provenance=Provenance(
            seed=policy["seed"],
            source=source,
            input_sha256=dict(input_sha256 or {}),
            meta={k: v for k, v in spec.items() if k not in KNOWN_KEYS},
        ),
    )


def load_batch(folder: Path, spec: Mapping[str, Any], json_sha: str) -> BatchInstance:
    """Loader registered in :data:`slotopt.instance.KINDS` for ``kind: "batch"``."""
    problems = Problems()
    strings = {
        PERIODS: ("period_id", "public_randomness"),
        SLOTS: ("slot_id", "period_id", "site", "slot_type", "usable_until"),
        REQUESTS: ("request_id", "document_number", "date_of_birth", "group"),
        REQUEST_SLOTS: ("request_id", "site", "slot_type"),
        EVENTS: ("request_id", "event"),
    }
    tables: dict[str, pd.DataFrame | None] = {}
    labels: dict[str, str] = {}
    hashes = {"instance.json": json_sha}
    for stem in (PERIODS, SLOTS, REQUESTS, REQUEST_SLOTS, EVENTS):
        if stem == EVENTS and not any(
            (folder / f"{EVENTS}{s}").is_file() for s in (".csv", ".parquet")
        ):
            tables[stem] = None
            continue
        df, path = read_table(
            folder,
            stem,
            required=REQUIRED[stem],
            string_columns=strings[stem],
            problems=problems,
        )
        if path is not None:
            labels[stem] = path.name
            hashes[path.name] = sha256_of(path)
        tables[stem] = df
    problems.raise_if_any()
    return batch_from_frames(
        spec,
        cast(pd.DataFrame, tables[PERIODS]),
        cast(pd.DataFrame, tables[SLOTS]),
        cast(pd.DataFrame, tables[REQUESTS]),
        cast(pd.DataFrame, tables[REQUEST_SLOTS]),
        tables[EVENTS],
        source=folder,
        input_sha256=hashes,
        labels=labels,
    )
