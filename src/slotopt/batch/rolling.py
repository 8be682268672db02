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

from slotopt.batch.recorder import Outcome, Recorder
from slotopt.engines.batch import BatchRequests, BatchSlots, DrawResult, draw, requests_to_frames
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


@dataclass
class _Settlement:
    """What happens to one batch's allocations after the draw."""

    requests: BatchRequests
    waitlist: list[int]
    holder: dict[int, int]  # request index -> slot index
    via: dict[int, str]
    queue: list[int]
    offered: set[int]
    tag: str

    def reoffer(self, s: int) -> bool:
        """Offer a freed appointment to the first waitlisted request that accepts it."""
        for w in self.waitlist:
            if w not in self.offered and s in self.requests.slots_of(w).tolist():
                self.offered.add(w)
                self.holder[w] = s
                self.via[w] = self.tag
                self.queue.insert(0, w)
                return True
        return False


class _Replay:
    """The state carried from one period to the next, and one method per step."""

    def __init__(self, inst: BatchInstance, mechanism: str, params: dict[str, Any]) -> None:
        self.inst, self.mechanism, self.params = inst, mechanism, params
        # The status quo books at once (no confirmation step) and puts a freed appointment
        # straight back online, where the first in arrival order (the bots) takes it; the batch
        # system asks winners to confirm and keeps freed appointments for the next draw.
        self.back_online = mechanism == "fcfs"
        self.reqs = _requests(inst)
        self.events = _events(inst)
        periods = inst.periods
        self.pids = [str(p) for p in periods["period_id"]]
        p_index = {p: i for i, p in enumerate(self.pids)}
        self.opens = periods["opens_at"].to_numpy(dtype=np.int64)
        self.closes = periods["closes_at"].to_numpy(dtype=np.int64)
        col = periods.get("public_randomness")
        self.public = [
            None if col is None or pd.isna(v) else str(v)
            for v in (col if col is not None else [None] * len(periods))
        ]
        sl = inst.slots
        self.slot_kind = {
            str(s): (str(a), str(b))
            for s, a, b in zip(sl["slot_id"], sl["site"], sl["slot_type"], strict=True)
        }
        last = len(self.pids) - 1
        self.slot_until = {
            str(s): last if pd.isna(u) else p_index[str(u)]
            for s, u in zip(sl["slot_id"], sl["usable_until"], strict=True)
        }
        self.released: list[dict[str, int]] = [{} for _ in self.pids]
        for s, p, c in zip(sl["slot_id"], sl["period_id"], sl["capacity"], strict=True):
            if int(c) > 0:
                self.released[p_index[str(p)]][str(s)] = int(c)
        self.new_in: list[list[str]] = [[] for _ in self.pids]
        self.excluded: list[tuple[str | None, str, int, str]] = []
        for r in sorted(self.reqs.values(), key=lambda r: r.row):
            k = int(np.searchsorted(self.opens, r.registered_at, side="right")) - 1
            if k >= 0 and r.registered_at < self.closes[k]:
                self.new_in[k].append(r.request_id)
            else:
                self.excluded.append((None, r.request_id, r.row, "outside_window"))
        self.pool: dict[str, int] = {}  # freed appointments waiting for the next draw
        self.carried: dict[str, int] = {}  # request id -> tier it re-enters with
        self.barred_until: dict[str, int] = {}
        self.holding: set[str] = set()
        self.failures: dict[str, int] = {}
        self.first_period: dict[str, int] = {}
        self.served_period: dict[str, int] = {}
        self.consumed: set[tuple[str, str]] = set()
        self.rows: dict[str, list[dict[str, Any]]] = {
            k: [] for k in ("draws", "periods", "demand", "events", "commitments")
        }
        self.merges: list[pd.DataFrame] = []
        self.draws: dict[str, tuple[BatchRequests, BatchSlots, DrawResult]] = {}

    # 1. slots -------------------------------------------------------------------------------
    def batch_slots(self, b: int) -> tuple[BatchSlots, int]:
        units = dict(self.pool)
        carried_in = sum(self.pool.values())
        for s, c in self.released[b].items():
            units[s] = units.get(s, 0) + c
        self.pool = {}
        ids = sorted(s for s, c in units.items() if c > 0)
        slots = BatchSlots(
            slot_id=np.array(ids, dtype=object),
            capacity=np.array([units[s] for s in ids], dtype=np.int64),
        )
        return slots, carried_in

    # 2. requests ----------------------------------------------------------------------------
    def batch_requests(self, b: int, slots: BatchSlots) -> tuple[BatchRequests, int, int]:
        pid = self.pids[b]
        reqs = self.reqs
        candidates = {rid: reqs[rid].tier for rid in self.new_in[b]}
        for rid, tier in self.carried.items():
            candidates[rid] = min(tier, candidates.get(rid, tier))
        n_carried_in = len(self.carried)
        self.carried = {}
        eligible = []
        for rid in sorted(candidates):
            who = reqs[rid].identity
            if self.barred_until.get(who, -1) >= b:
                self.excluded.append((pid, rid, reqs[rid].row, "barred_no_show"))
            elif who in self.holding:
                self.excluded.append((pid, rid, reqs[rid].row, "has_appointment"))
            else:
                eligible.append(rid)
        kept, merges = deduplicate(
            pd.DataFrame(
                {
                    "request_id": eligible,
                    "registered_at": [reqs[r].registered_at for r in eligible],
                    "identity_key_hash": [reqs[r].identity for r in eligible],
                    "row": [reqs[r].row for r in eligible],
                }
            )
        )
        if len(merges):
            self.merges.append(merges.assign(period_id=pid))
        best_tier: dict[str, int] = {}  # a merged identity keeps its best tier
        for rid in eligible:
            who = reqs[rid].identity
            best_tier[who] = min(best_tier.get(who, candidates[rid]), candidates[rid])
        in_draw = sorted(kept["request_id"].tolist())
        s_pos = {s: i for i, s in enumerate(slots.slot_id.tolist())}
        by_kind: dict[tuple[str, str], list[str]] = {}
        for s in slots.slot_id.tolist():
            by_kind.setdefault(self.slot_kind[s], []).append(s)
        indptr, acc_slot, acc_rank = [0], [], []
        for rid in in_draw:
            for site, st, rank in reqs[rid].kinds:
                for s in by_kind.get((site, st), []):
                    acc_slot.append(s_pos[s])
                    acc_rank.append(rank)
            indptr.append(len(acc_slot))
        requests = BatchRequests(
            request_id=np.array(in_draw, dtype=object),
            priority_tier=np.array([best_tier[reqs[r].identity] for r in in_draw], dtype=np.int64),
            carry_over=np.array(
                [self.failures.get(reqs[r].identity, 0) for r in in_draw], dtype=np.int64
            ),
            registered_at=np.array([reqs[r].registered_at for r in in_draw], dtype=np.int64),
            acc_indptr=np.array(indptr, dtype=np.int64),
            acc_slot=np.array(acc_slot, dtype=np.int64),
            acc_rank=np.array(acc_rank, dtype=np.int64),
        )
        return requests, n_carried_in, len(merges)

    # 3. commitment and draw -----------------------------------------------------------------
    def draw_batch(
        self,
        b: int,
        requests: BatchRequests,
        slots: BatchSlots,
        seed: int,
        recorder: Recorder | None,
    ) -> DrawResult:
        pid = self.pids[b]
        secret = replay_secret(seed, pid)
        public_text = self.public[b]
        public = b"" if public_text is None else public_text.encode()
        published = commitment(secret)
        context = context_of(pid)
        inputs = dict(
            zip(
                ("requests", "request_slots", "slots"),
                requests_to_frames(requests, slots),
                strict=True,
            )
        )
        if recorder is not None:
            reg = inputs["requests"][["request_id"]].assign(
                identity_key_hash=pd.array(
                    [self.reqs[r].identity for r in requests.request_id], dtype="string"
                ),
                registered_at=inputs["requests"]["registered_at"],
                priority_tier=inputs["requests"]["priority_tier"],
                carry_over=inputs["requests"]["carry_over"],
            )
            recorder.register(pid, reg, inputs["request_slots"])
            recorder.commit(pid, published, public_text)
        lottery_seed = draw_seed(secret, public)
        result = draw(
            self.mechanism, requests, slots, seed=lottery_seed, context=context, **self.params
        )
        if recorder is not None:
            recorder.record_draw(
                pid,
                mechanism=self.mechanism,
                params=dict(self.params),
                context=context,
                inputs=inputs,
                result=result,
                secret=secret,
                public=public,
            )
        self.draws[pid] = (requests, slots, result)
        self.rows["commitments"].append(
            {
                "period_id": pid,
                "context": context,
                "commitment": published,
                "public_randomness": public_text,
                "secret": secret.hex(),
                "lottery_seed": str(lottery_seed),
            }
        )
        return result

    # 4. afterwards --------------------------------------------------------------------------
    def settle(
        self, b: int, requests: BatchRequests, slots: BatchSlots, result: DrawResult
    ) -> tuple[_Settlement, dict[int, Outcome], list[dict[str, Any]]]:
        inst, reqs = self.inst, self.reqs
        slot_of = result.slot_of_request.tolist()
        holder = {i: s for i, s in enumerate(slot_of) if s >= 0}
        queue = sorted(holder, key=lambda i: int(result.lottery_position[i]))
        st = _Settlement(
            requests=requests,
            waitlist=[int(i) for i in result.waitlist],
            holder=holder,
            via=dict.fromkeys(queue, "draw"),
            queue=queue,
            offered=set(),
            tag="back_online" if self.back_online else "waitlist",
        )
        outcome: dict[int, Outcome] = {}
        log: list[dict[str, Any]] = []
        while st.queue:
            i = st.queue.pop(0)
            s = st.holder[i]
            rid = str(requests.request_id[i])
            who, sid = reqs[rid].identity, str(slots.slot_id[s])
            ev = self.events.get(rid, {})
            if inst.confirmation_window is not None and not self.back_online:
                t = ev.get("confirm")
                if t is None or t > inst.confirmation_window:
                    outcome[i] = Outcome.UNCONFIRMED
                    log.append(_event(rid, sid, Outcome.UNCONFIRMED, None))
                    to_waitlist = self.back_online or inst.unconfirmed == "waitlist"
                    if not (to_waitlist and st.reoffer(s)):
                        self.pool[sid] = self.pool.get(sid, 0) + 1
                    continue
                log.append(_event(rid, sid, "confirmed", t))
            happened = next(
                (
                    k
                    for k in ("provider_cancel", "cancel", "no_show")
                    if k in ev and (rid, k) not in self.consumed
                ),
                None,
            )
            if happened is not None:
                self.consumed.add((rid, happened))
            if happened == "provider_cancel":
                outcome[i] = Outcome.CANCELLED_BY_PROVIDER
                self.carried[rid] = 0 if inst.provider_cancel_priority else reqs[rid].tier
            elif happened == "cancel":
                outcome[i] = Outcome.CANCELLED_BY_APPLICANT
                if not (self.back_online and st.reoffer(s)):
                    self.pool[sid] = self.pool.get(sid, 0) + 1
            elif happened == "no_show":
                outcome[i] = Outcome.NO_SHOW
                if inst.no_show_bar > 0:
                    self.barred_until[who] = b + inst.no_show_bar
            else:
                outcome[i] = Outcome.SERVED
                self.holding.add(who)
                self.served_period[who] = b
            if happened is not None:
                log.append(_event(rid, sid, outcome[i], ev[happened]))
        for i, rid in enumerate(requests.request_id.tolist()):
            who = reqs[rid].identity
            self.first_period.setdefault(who, b)
            if i not in st.holder:
                self.failures[who] = self.failures.get(who, 0) + 1
                if inst.carry_over and rid not in self.carried:
                    self.carried[rid] = reqs[rid].tier
        return st, outcome, log

    def close_batch(self, b: int, slots: BatchSlots, st: _Settlement) -> tuple[int, int]:
        """Unallocated appointments join the pool; those no longer usable expire."""
        free = slots.capacity.astype(np.int64).copy()
        for s in st.holder.values():
            free[s] -= 1
        for s, c in enumerate(free.tolist()):
            if c > 0:
                sid = str(slots.slot_id[s])
                self.pool[sid] = self.pool.get(sid, 0) + c
        expired = 0
        for sid in sorted(self.pool):
            if self.slot_until[sid] < b + 1:
                expired += self.pool.pop(sid)
        return int(free.sum()), expired

    def tabulate(
        self,
        b: int,
        requests: BatchRequests,
        slots: BatchSlots,
        result: DrawResult,
        st: _Settlement,
        outcome: dict[int, Outcome],
        counts: dict[str, Any],
    ) -> None:
        pid, reqs, kind = self.pids[b], self.reqs, self.slot_kind
        for i, rid in enumerate(requests.request_id.tolist()):
            s = st.holder.get(i, -1)
            sid = str(slots.slot_id[s]) if s >= 0 else None
            self.rows["draws"].append(
                {
                    "period_id": pid,
                    "request_id": rid,
                    "identity_key_hash": reqs[rid].identity,
                    "group": reqs[rid].group,
                    "priority_tier": int(requests.priority_tier[i]),
                    "carry_over": int(requests.carry_over[i]),
                    "tickets": 1 if result.tickets is None else int(result.tickets[i]),
                    "lottery_position": int(result.lottery_position[i]),
                    "slot_id": sid,
                    "site": kind[sid][0] if sid else None,
                    "slot_type": kind[sid][1] if sid else None,
                    "via": st.via.get(i),
                    "outcome": str(outcome.get(i, Outcome.NOT_ALLOCATED)),
                }
            )
        units: dict[tuple[str, str], int] = {}
        for sid, c in zip(slots.slot_id.tolist(), slots.capacity.tolist(), strict=True):
            units[kind[sid]] = units.get(kind[sid], 0) + c
        wanted: dict[tuple[str, str], int] = {}
        for rid in requests.request_id.tolist():
            for site, stype, _ in reqs[rid].kinds:
                wanted[(site, stype)] = wanted.get((site, stype), 0) + 1
        got: dict[tuple[str, str], int] = {}
        for s in st.holder.values():
            k = kind[str(slots.slot_id[s])]
            got[k] = got.get(k, 0) + 1
        for k in sorted(set(units) | set(wanted)):
            self.rows["demand"].append(
                {
                    "period_id": pid,
                    "site": k[0],
                    "slot_type": k[1],
                    "requests": wanted.get(k, 0),
                    "appointments": units.get(k, 0),
                    "allocated": got.get(k, 0),
                }
            )
        self.rows["periods"].append(
            {"period_id": pid, "opens_at": int(self.opens[b]), "closes_at": int(self.closes[b])}
            | counts
        )


OUTCOMES = tuple(o for o in Outcome if o is not Outcome.NOT_ALLOCATED)


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
        Override the instance's mechanism (e.g. ``"fcfs"`` for the status-quo baseline, which
        books at once, without the confirmation step, and puts every freed appointment straight
        back online: the first request in arrival order that accepts it takes it).

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
    rp = _Replay(instance, mech, used)
    for b, pid in enumerate(rp.pids):
        slots, units_in = rp.batch_slots(b)
        requests, requests_in, merged = rp.batch_requests(b, slots)
        rec = recorder if pid not in done else None
        result = rp.draw_batch(b, requests, slots, seed, rec)
        st, outcome, log = rp.settle(b, requests, slots, result)
        if rec is not None:
            rec.record_events(pid, _events_frame(log))
        rp.rows["events"].extend(dict(e, period_id=pid) for e in log)
        unallocated, expired = rp.close_batch(b, slots, st)
        counts = {
            "appointments_released": sum(rp.released[b].values()),
            "appointments_carried_in": units_in,
            "appointments": int(slots.capacity.sum()),
            "requests_new": len(rp.new_in[b]),
            "requests_carried_in": requests_in,
            "excluded": sum(1 for e in rp.excluded if e[0] == pid),
            "merged": merged,
            "in_draw": requests.n_requests,
            "allocated": len(st.holder),
            **{str(k): sum(1 for o in outcome.values() if o is k) for k in OUTCOMES},
            "unmet": requests.n_requests - len(st.holder),
            "appointments_unallocated": unallocated,
            "expired": expired,
        }
        rp.tabulate(b, requests, slots, result, st, outcome, counts)
    return BatchRunResult(
        instance=instance,
        mechanism=mech,
        params=dict(used),
        seed=seed,
        periods=pd.DataFrame(rp.rows["periods"]),
        draws=_frame(rp.rows["draws"], DRAW_COLUMNS),
        demand=_frame(
            rp.rows["demand"],
            ["period_id", "site", "slot_type", "requests", "appointments", "allocated"],
        ),
        waiting=_waiting(rp),
        merges=_merges(rp.merges),
        excluded=pd.DataFrame(rp.excluded, columns=["period_id", "request_id", "row", "reason"]),
        events=_frame(rp.rows["events"], ["period_id", "request_id", "slot_id", "event", "after"]),
        commitments=pd.DataFrame(rp.rows["commitments"]),
        batch_draws=rp.draws,
    )


DRAW_COLUMNS = [
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
]
MERGE_COLUMNS = [
    "period_id",
    "identity_key_hash",
    "kept_request_id",
    "kept_row",
    "dropped_request_id",
    "dropped_row",
]


def _merges(frames: list[pd.DataFrame]) -> pd.DataFrame:
    if not frames:
        return pd.DataFrame(columns=MERGE_COLUMNS)
    return pd.concat(frames, ignore_index=True)[MERGE_COLUMNS]


def _waiting(rp: _Replay) -> pd.DataFrame:
    group: dict[str, Any] = {}
    for r in sorted(rp.reqs.values(), key=lambda r: (r.registered_at, r.request_id)):
        group.setdefault(r.identity, r.group)
    rows = []
    for who in sorted(rp.first_period):
        f, sp = rp.first_period[who], rp.served_period.get(who)
        rows.append(
            {
                "identity_key_hash": who,
                "group": group.get(who),
                "first_period": rp.pids[f],
                "served_period": None if sp is None else rp.pids[sp],
                "periods_waited": None if sp is None else sp - f,
            }
        )
    return _frame(
        rows, ["identity_key_hash", "group", "first_period", "served_period", "periods_waited"]
    )


def _event(rid: str, sid: str, event: str, after: int | None) -> dict[str, Any]:
    return {"request_id": rid, "slot_id": sid, "event": str(event), "after": after}


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
