"""Rolling batches: one draw per period, and what happens to its slots and requests afterwards.

Each period, in order of its window:

1. **Slots.** The batch holds the slots released in the period plus every appointment freed
   since the last draw (cancelled by the applicant, offered but not confirmed, or not allocated),
   as long as the slot is still usable (``usable_until``). A freed appointment never goes back
   online: it waits for the next draw.
2. **Requests.** Those registered inside the window, plus, when ``carry_over`` is on, the
   unsuccessful requests of the previous batch, plus the applicants whose appointment the provider
   cancelled (tier 0, i.e. first, when ``provider_cancel_priority``; Arnosti 2021, footnote 3).
   Identities barred after a no-show (``no_show_bar`` periods) or already holding an appointment
   are excluded, and duplicates of one identity are merged (:mod:`slotopt.engines.batch.identity`);
   both are reported.
3. **Draw.** The commitment to the batch's secret (``replay_secret(seed, period)``) is published
   to the recorder first; the lottery seed is ``draw_seed(secret, public_randomness)`` and the
   context ``"batch-<period_id>"``.
4. **Afterwards.** A winner must confirm within ``confirmation_window`` seconds (when set);
   an unconfirmed offer goes to the next batch (default) or down the batch's waitlist. Then a
   request's events apply once each: a cancellation frees the appointment for the next batch, a
   provider cancellation sends the applicant to the next batch with priority, a no-show bars the
   identity for ``no_show_bar`` periods.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from slotopt.batch.recorder import Recorder
from slotopt.engines.batch import BatchRequests, BatchSlots, draw, requests_to_frames
from slotopt.engines.batch.identity import deduplicate, identity_key_hash
from slotopt.engines.commitment import commitment, draw_seed, replay_secret
from slotopt.errors import UsageError
from slotopt.instance.batch import BatchInstance, check_params

__all__ = ["context_of", "run"]


def context_of(period_id: str) -> str:
    """The lottery context of a period's draw."""
    return f"batch-{period_id}"


@dataclass
class _Request:
    request_id: str
    identity: str
    registered_at: int
    tier: int
    group: Any
    row: int
    kinds: list[tuple[str, str, int]]  # (site, slot_type, rank or -1)


def _requests(inst: BatchInstance) -> dict[str, _Request]:
    kinds: dict[str, list[tuple[str, str, int]]] = {}
    rs = inst.request_slots
    for rid, site, st, rank in zip(
        rs["request_id"], rs["site"], rs["slot_type"], rs["rank"], strict=True
    ):
        kinds.setdefault(str(rid), []).append(
            (str(site), str(st), -1 if pd.isna(rank) else int(rank))
        )
    rq = inst.requests
    out = {}
    for rid, at, doc, dob, tier, group, row in zip(
        rq["request_id"],
        rq["registered_at"],
        rq["document_number"],
        rq["date_of_birth"],
        rq["priority_tier"],
        rq["group"],
        rq["row"],
        strict=True,
    ):
        rid = str(rid)
        out[rid] = _Request(
            rid,
            identity_key_hash(str(doc), str(dob)),
            int(at),
            int(tier),
            None if pd.isna(group) else str(group),
            int(row),
            kinds.get(rid, []),
        )
    return out


def _events(inst: BatchInstance) -> dict[str, dict[str, int | None]]:
    out: dict[str, dict[str, int | None]] = {}
    ev = inst.events
    for rid, kind, after in zip(ev["request_id"], ev["event"], ev["after"], strict=True):
        out.setdefault(str(rid), {})[str(kind)] = None if pd.isna(after) else int(after)
    return out


def run(
    instance: BatchInstance,
    *,
    seed: int | None = None,
    recorder: Recorder | None = None,
    mechanism: str | None = None,
    params: Mapping[str, Any] | None = None,
) -> Any:
    """Replay every period of a batch instance.

    Parameters
    ----------
    instance
        A validated ``kind: "batch"`` instance (``slotopt.load_instance``).
    seed
        Master seed of the replay (each batch's secret derives from it and the period id); None
        uses the instance's ``seed``, else draws one (recorded in the result).
    recorder
        Receives registrations, commitments, draws and events (the registry, or
        :class:`slotopt.batch.MemoryRecorder`). Batches it reports as finished are recomputed
        but not recorded again.
    mechanism, params
        Override the instance's mechanism (e.g. ``"fcfs"`` for the status-quo baseline).

    Returns
    -------
    BatchRunResult
        Per-period tables, figures and a summary (``slotopt.run.batch_result``).

    Raises
    ------
    UsageError
        Unknown mechanism or parameters, or a negative seed.
    """
    from slotopt.run.batch_result import BatchRunResult

    if seed is None:
        seed = instance.seed if instance.seed is not None else secrets.randbelow(2**31)
    if isinstance(seed, bool) or int(seed) < 0:
        raise UsageError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    mech = instance.mechanism if mechanism is None else mechanism
    raw_params = dict(instance.params if params is None and mechanism is None else params or {})
    used, problems = check_params(mech, raw_params)
    if problems:
        raise UsageError("; ".join(problems))
    done = recorder.finished() if recorder is not None else set()

    reqs = _requests(instance)
    events = _events(instance)
    periods = instance.periods
    pids = [str(p) for p in periods["period_id"]]
    p_index = {p: i for i, p in enumerate(pids)}
    opens = periods["opens_at"].to_numpy(dtype=np.int64)
    closes = periods["closes_at"].to_numpy(dtype=np.int64)
    public_col = periods.get("public_randomness")
    sl = instance.slots
    slot_kind = {
        str(s): (str(a), str(b))
        for s, a, b in zip(sl["slot_id"], sl["site"], sl["slot_type"], strict=True)
    }
    last = len(pids) - 1
    slot_until = {
        str(s): last if pd.isna(u) else p_index[str(u)]
        for s, u in zip(sl["slot_id"], sl["usable_until"], strict=True)
    }
    released: list[dict[str, int]] = [{} for _ in pids]
    for s, p, c in zip(sl["slot_id"], sl["period_id"], sl["capacity"], strict=True):
        if int(c) > 0:
            released[p_index[str(p)]][str(s)] = int(c)

    # which window each request falls in
    new_in: list[list[str]] = [[] for _ in pids]
    excluded: list[tuple[str, str, int, str]] = []
    for r in reqs.values():
        k = int(np.searchsorted(opens, r.registered_at, side="right")) - 1
        if k >= 0 and r.registered_at < closes[k]:
            new_in[k].append(r.request_id)
        else:
            excluded.append(("", r.request_id, r.row, "outside_window"))

    pool: dict[str, int] = {}  # freed appointments waiting for the next draw
    carried: dict[str, int] = {}  # request id -> tier it re-enters with
    barred_until: dict[str, int] = {}
    holding: set[str] = set()
    failures: dict[str, int] = {}
    first_period: dict[str, int] = {}
    served_period: dict[str, int] = {}
    consumed: set[tuple[str, str]] = set()

    draw_rows: list[dict[str, Any]] = []
    period_rows: list[dict[str, Any]] = []
    demand_rows: list[dict[str, Any]] = []
    merge_frames: list[pd.DataFrame] = []
    event_rows: list[dict[str, Any]] = []
    commit_rows: list[dict[str, Any]] = []
    draws: dict[str, Any] = {}

    for b, pid in enumerate(pids):
        # 1. slots of the batch
        units: dict[str, int] = dict(pool)
        carried_units = sum(pool.values())
        for s, c in released[b].items():
            units[s] = units.get(s, 0) + c
        pool = {}
        slot_ids = sorted(s for s, c in units.items() if c > 0)
        # 2. requests of the batch
        candidates: dict[str, int] = {rid: reqs[rid].tier for rid in new_in[b]}
        n_carried_in = 0
        for rid, tier in carried.items():
            n_carried_in += 1
            candidates[rid] = min(tier, candidates.get(rid, tier))
        carried = {}
        eligible = []
        for rid in sorted(candidates):
            who = reqs[rid].identity
            if barred_until.get(who, -1) >= b:
                excluded.append((pid, rid, reqs[rid].row, "barred_no_show"))
            elif who in holding:
                excluded.append((pid, rid, reqs[rid].row, "has_appointment"))
            else:
                eligible.append(rid)
        frame = pd.DataFrame(
            {
                "request_id": eligible,
                "registered_at": [reqs[r].registered_at for r in eligible],
                "identity_key_hash": [reqs[r].identity for r in eligible],
                "row": [reqs[r].row for r in eligible],
            }
        )
        kept, merges = deduplicate(frame)
        best_tier: dict[str, int] = {}
        for rid in eligible:
            who = reqs[rid].identity
            best_tier[who] = min(best_tier.get(who, candidates[rid]), candidates[rid])
        if len(merges):
            merge_frames.append(merges.assign(period_id=pid))
        in_draw = sorted(kept["request_id"].tolist())
        # 3. the draw's inputs
        s_pos = {s: i for i, s in enumerate(slot_ids)}
        by_kind: dict[tuple[str, str], list[str]] = {}
        for s in slot_ids:
            by_kind.setdefault(slot_kind[s], []).append(s)
        indptr, acc_slot, acc_rank = [0], [], []
        for rid in in_draw:
            for site, st, rank in reqs[rid].kinds:
                for s in by_kind.get((site, st), []):
                    acc_slot.append(s_pos[s])
                    acc_rank.append(rank)
            indptr.append(len(acc_slot))
        tiers = np.array([best_tier[reqs[r].identity] for r in in_draw], dtype=np.int64)
        carry = np.array([failures.get(reqs[r].identity, 0) for r in in_draw], dtype=np.int64)
        breq = BatchRequests(
            request_id=np.array(in_draw, dtype=object),
            priority_tier=tiers,
            carry_over=carry,
            registered_at=np.array([reqs[r].registered_at for r in in_draw], dtype=np.int64),
            acc_indptr=np.array(indptr, dtype=np.int64),
            acc_slot=np.array(acc_slot, dtype=np.int64),
            acc_rank=np.array(acc_rank, dtype=np.int64),
        )
        bslots = BatchSlots(
            slot_id=np.array(slot_ids, dtype=object),
            capacity=np.array([units[s] for s in slot_ids], dtype=np.int64),
        )
        secret = replay_secret(seed, pid)
        public_text = None
        if public_col is not None and not pd.isna(public_col.iloc[b]):
            public_text = str(public_col.iloc[b])
        public = b"" if public_text is None else public_text.encode()
        published = commitment(secret)
        context = context_of(pid)
        record = recorder is not None and pid not in done
        if record:
            req_df, acc_df, slots_df = requests_to_frames(breq, bslots)
            reg = req_df[["request_id"]].assign(
                identity_key_hash=pd.array([reqs[r].identity for r in in_draw], dtype="string"),
                registered_at=req_df["registered_at"],
                priority_tier=req_df["priority_tier"],
                carry_over=req_df["carry_over"],
            )
            recorder.register(pid, reg, acc_df)  # type: ignore[union-attr]
            recorder.commit(pid, published, public_text)  # type: ignore[union-attr]
        lottery_seed = draw_seed(secret, public)
        result = draw(mech, breq, bslots, seed=lottery_seed, context=context, **used)
        draws[pid] = (breq, bslots, result)
        if record:
            recorder.record_draw(  # type: ignore[union-attr]
                pid,
                mechanism=mech,
                params=dict(used),
                context=context,
                inputs={"requests": req_df, "request_slots": acc_df, "slots": slots_df},
                result=result,
                secret=secret,
                public=public,
            )
        commit_rows.append(
            {
                "period_id": pid,
                "context": context,
                "commitment": published,
                "public_randomness": public_text,
                "secret": secret.hex(),
                "lottery_seed": str(lottery_seed),
            }
        )
        # 4. afterwards
        slot_of = result.slot_of_request.tolist()
        free = bslots.capacity.astype(np.int64).copy()
        for s in slot_of:
            if s >= 0:
                free[s] -= 1
        waitlist = [int(i) for i in result.waitlist]
        offered = set()
        outcome: dict[int, str] = {}
        via: dict[int, str] = {}
        holder: dict[int, int] = {i: s for i, s in enumerate(slot_of) if s >= 0}
        batch_events: list[dict[str, Any]] = []
        queue = sorted(holder, key=lambda i: int(result.lottery_position[i]))
        for i in queue:
            via[i] = "draw"
        counts = {
            k: 0
            for k in (
                "served",
                "unconfirmed",
                "cancelled_by_applicant",
                "cancelled_by_provider",
                "no_show",
            )
        }
        while queue:
            i = queue.pop(0)
            s = holder[i]
            rid = in_draw[i]
            who = reqs[rid].identity
            sid = slot_ids[s]
            ev = events.get(rid, {})
            first_period.setdefault(who, b)
            if instance.confirmation_window is not None:
                t = ev.get("confirm")
                if t is None or t > instance.confirmation_window:
                    outcome[i] = "unconfirmed"
                    batch_events.append(_event(rid, sid, "unconfirmed", None))
                    nxt = None
                    if instance.unconfirmed == "waitlist":
                        nxt = next(
                            (
                                w
                                for w in waitlist
                                if w not in offered and s in breq.slots_of(w).tolist()
                            ),
                            None,
                        )
                    if nxt is None:
                        pool[sid] = pool.get(sid, 0) + 1
                    else:
                        offered.add(nxt)
                        holder[nxt] = s
                        via[nxt] = "waitlist"
                        queue.insert(0, nxt)
                    continue
                batch_events.append(_event(rid, sid, "confirmed", t))
            if "provider_cancel" in ev and (rid, "provider_cancel") not in consumed:
                consumed.add((rid, "provider_cancel"))
                outcome[i] = "cancelled_by_provider"
                batch_events.append(_event(rid, sid, outcome[i], ev["provider_cancel"]))
                carried[rid] = 0 if instance.provider_cancel_priority else reqs[rid].tier
            elif "cancel" in ev and (rid, "cancel") not in consumed:
                consumed.add((rid, "cancel"))
                outcome[i] = "cancelled_by_applicant"
                batch_events.append(_event(rid, sid, outcome[i], ev["cancel"]))
                pool[sid] = pool.get(sid, 0) + 1
            elif "no_show" in ev and (rid, "no_show") not in consumed:
                consumed.add((rid, "no_show"))
                outcome[i] = "no_show"
                batch_events.append(_event(rid, sid, outcome[i], ev["no_show"]))
                if instance.no_show_bar > 0:
                    barred_until[who] = b + instance.no_show_bar
            else:
                outcome[i] = "served"
                holding.add(who)
                served_period[who] = b
        for o in outcome.values():
            counts[o] += 1
        for i, rid in enumerate(in_draw):
            who = reqs[rid].identity
            first_period.setdefault(who, b)
            if i not in holder:
                failures[who] = failures.get(who, 0) + 1
                if instance.carry_over and rid not in carried:
                    carried[rid] = reqs[rid].tier
        for s, c in enumerate(free.tolist()):
            if c > 0:
                pool[slot_ids[s]] = pool.get(slot_ids[s], 0) + c
        expired = 0
        for s in list(pool):
            if slot_until[s] < b + 1:
                expired += pool.pop(s)
        for i, rid in enumerate(in_draw):
            s = holder.get(i, -1)
            draw_rows.append(
                {
                    "period_id": pid,
                    "request_id": rid,
                    "identity_key_hash": reqs[rid].identity,
                    "group": reqs[rid].group,
                    "priority_tier": int(breq.priority_tier[i]),
                    "carry_over": int(breq.carry_over[i]),
                    "tickets": int(result.tickets[i]) if result.tickets is not None else 1,
                    "lottery_position": int(result.lottery_position[i]),
                    "slot_id": slot_ids[s] if s >= 0 else None,
                    "site": slot_kind[slot_ids[s]][0] if s >= 0 else None,
                    "slot_type": slot_kind[slot_ids[s]][1] if s >= 0 else None,
                    "via": via.get(i),
                    "outcome": outcome.get(i, "not_allocated"),
                }
            )
        if record:
            recorder.record_events(pid, _events_frame(batch_events))  # type: ignore[union-attr]
        event_rows.extend(dict(e, period_id=pid) for e in batch_events)
        # demand per (site, slot_type): requests accepting the kind, appointments, allocated
        kind_units: dict[tuple[str, str], int] = {}
        for s in slot_ids:
            kind_units[slot_kind[s]] = kind_units.get(slot_kind[s], 0) + units[s]
        kind_req: dict[tuple[str, str], int] = {}
        for rid in in_draw:
            for site, st, _ in reqs[rid].kinds:
                kind_req[(site, st)] = kind_req.get((site, st), 0) + 1
        kind_alloc: dict[tuple[str, str], int] = {}
        for s in holder.values():
            kind_alloc[slot_kind[slot_ids[s]]] = kind_alloc.get(slot_kind[slot_ids[s]], 0) + 1
        for key in sorted(set(kind_units) | set(kind_req)):
            demand_rows.append(
                {
                    "period_id": pid,
                    "site": key[0],
                    "slot_type": key[1],
                    "requests": kind_req.get(key, 0),
                    "appointments": kind_units.get(key, 0),
                    "allocated": kind_alloc.get(key, 0),
                }
            )
        n_excl = sum(1 for e in excluded if e[0] == pid)
        period_rows.append(
            {
                "period_id": pid,
                "opens_at": int(opens[b]),
                "closes_at": int(closes[b]),
                "appointments_released": sum(released[b].values()),
                "appointments_carried_in": carried_units,
                "appointments": int(bslots.capacity.sum()),
                "requests_new": len(new_in[b]),
                "requests_carried_in": n_carried_in,
                "excluded": n_excl,
                "merged": len(merges),
                "in_draw": len(in_draw),
                "allocated": len(holder),
                **counts,
                "unmet": len(in_draw) - len(holder),
                "appointments_unallocated": int(free.sum()),
                "expired": expired,
            }
        )

    waiting_rows = []
    groups: dict[str, Any] = {}
    for r in sorted(reqs.values(), key=lambda r: (r.registered_at, r.request_id)):
        groups.setdefault(r.identity, r.group)
    for who in sorted(first_period):
        f = first_period[who]
        sp = served_period.get(who)
        waiting_rows.append(
            {
                "identity_key_hash": who,
                "group": groups.get(who),
                "first_period": pids[f],
                "served_period": None if sp is None else pids[sp],
                "periods_waited": None if sp is None else sp - f,
            }
        )
    excluded_df = pd.DataFrame(excluded, columns=["period_id", "request_id", "row", "reason"])
    excluded_df["period_id"] = excluded_df["period_id"].replace("", None)
    merges_df = (
        pd.concat(merge_frames, ignore_index=True)
        if merge_frames
        else pd.DataFrame(
            columns=[
                "identity_key_hash",
                "kept_request_id",
                "kept_row",
                "dropped_request_id",
                "dropped_row",
                "period_id",
            ]
        )
    )
    merges_df = merges_df[
        [
            "period_id",
            "identity_key_hash",
            "kept_request_id",
            "kept_row",
            "dropped_request_id",
            "dropped_row",
        ]
    ]
    return BatchRunResult(
        instance=instance,
        mechanism=mech,
        params=dict(used),
        seed=seed,
        periods=pd.DataFrame(period_rows),
        draws=_frame(
            draw_rows,
            [
                "period_id",
                "request_id",
                "identity_key_hash",
                "group",
                "priority_tier",
                "carry_over",
                "tickets",
                "lottery_position",
                "slot_id",
                "site",
                "slot_type",
                "via",
                "outcome",
            ],
        ),
        demand=_frame(
            demand_rows, ["period_id", "site", "slot_type", "requests", "appointments", "allocated"]
        ),
        waiting=_frame(
            waiting_rows,
            ["identity_key_hash", "group", "first_period", "served_period", "periods_waited"],
        ),
        merges=merges_df.reset_index(drop=True),
        excluded=excluded_df,
        events=_frame(event_rows, ["period_id", "request_id", "slot_id", "event", "after"]),
        commitments=pd.DataFrame(commit_rows),
        batch_draws=draws,
    )


def _event(rid: str, sid: str, event: str, after: int | None) -> dict[str, Any]:
    return {"request_id": rid, "slot_id": sid, "event": event, "after": after}


def _events_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    df = _frame(rows, ["request_id", "slot_id", "event", "after"])
    df["after"] = df["after"].astype("Int64")
    return df


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns)


def solve_batch(
    instance: BatchInstance,
    *,
    method: str | None = None,
    seed: int | None = None,
    verify: bool = False,
    **options: Any,
) -> Any:
    """``slotopt.solve()`` for ``kind: "batch"``: :func:`run`, with ``method`` naming the
    mechanism (default: the instance's) and ``verify`` re-checking every draw
    (:func:`slotopt.batch.checks.check_draws`)."""
    from slotopt.batch.checks import check_draws
    from slotopt.errors import VerificationError

    unknown = sorted(set(options) - {"recorder", "params"})
    if unknown:
        raise UsageError(
            f"kind 'batch' takes no option {', '.join(unknown)} (accepted: recorder, params)"
        )
    result = run(instance, seed=seed, mechanism=method, **options)
    if verify:
        problems = check_draws(result)
        if problems:
            raise VerificationError("; ".join(problems), report=problems)
    return result
